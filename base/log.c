#include "base/log.h"
#include "base/buf.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum ks_log_level min_level = KS_LOG_INFO;
static int json_mode = -1;
static const char *names[] = {"debug", "info", "warn", "error"};

void ks_log_set_level(enum ks_log_level lvl) { min_level = lvl; }
void ks_log_set_json(int json) { json_mode = json; }

void ks_log(enum ks_log_level lvl, const char *fmt, ...) {
  if (lvl < min_level)
    return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[64];
  snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000) % 1000);

  int json = json_mode >= 0 ? json_mode : !isatty(STDERR_FILENO);
  if (!json) {
    fprintf(stderr, "%s %-5s %s\n", ts, names[lvl], msg);
    return;
  }
  ks_buf b;
  ks_buf_init(&b, 0);
  ks_buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
                 names[lvl]);
  ks_buf_append_json_str(&b, msg, strlen(msg));
  ks_buf_append_str(&b, "}\n");
  fwrite(b.data, 1, b.len, stderr);
  ks_buf_free(&b);
}
