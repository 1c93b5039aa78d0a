#include "base/log.h"
#include "base/buf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = KS_LOG_INFO;
static atomic_int json_mode = -1;
static _Thread_local int log_worker = -1;
static const char *names[] = {"debug", "info", "warn", "error"};

void ks_log_set_level(enum ks_log_level lvl) {
  atomic_store(&min_level, lvl);
}
void ks_log_set_json(int json) {
  atomic_store(&json_mode, json);
}
void ks_log_set_worker(int worker) {
  log_worker = worker;
}

int ks_log_enabled(enum ks_log_level lvl) {
  return (int)lvl >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

/* A log line never reaches PIPE_BUF (4096 on Linux): one write(2) of
 * it to a pipe is atomic, so lines of threads and processes sharing the
 * log pipe never interleave. */
#define LINE_MAX_BYTES 4000

size_t ks_log_redact_userinfo(char *s) {
  /* scheme://user:password@host -> scheme://<redacted>@host, in place
   * (the marker is never longer than what it replaces: shorter userinfo
   * becomes as many '*') */
  size_t removed = 0;
  for (char *p = strstr(s, "://"); p; p = strstr(p, "://")) {
    char *u = p + 3, *e = u;
    while (*e && *e != '@' && *e != '/' && *e != ' ' && *e != '"' &&
           *e != '\'' && *e != '?' && *e != '#')
      e++;
    if (*e != '@' || e == u) {
      p = u;
      continue;
    }
    size_t ul = (size_t)(e - u);
    if (ul < 10) {
      memset(u, '*', ul);
      p = e;
      continue;
    }
    memcpy(u, "<redacted>", 10);
    memmove(u + 10, e, strlen(e) + 1);
    removed += ul - 10;
    p = u + 10;
  }
  return removed;
}

static void emit(enum ks_log_level lvl, const ks_log_field *f, size_t n,
                 const char *fmt, va_list ap) {
  char msg[2048];
  vsnprintf(msg, sizeof msg, fmt, ap);
  ks_log_redact_userinfo(msg);

  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[64];
  snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (long)(tv.tv_usec / 1000) % 1000);

  int mode = atomic_load_explicit(&json_mode, memory_order_relaxed);
  int json = mode >= 0 ? mode : !isatty(STDERR_FILENO);
  ks_buf b;
  ks_buf_init(&b, 0);
again:
  ks_buf_reset(&b);
  if (!json) {
    ks_buf_appendf(&b, "%s %-5s ", ts, names[lvl]);
    if (log_worker >= 0)
      ks_buf_appendf(&b, "[w%d] ", log_worker);
    ks_buf_append_str(&b, msg);
    for (size_t i = 0; i < n; i++)
      ks_buf_appendf(&b, " %s=%s", f[i].key, f[i].value ? f[i].value : "");
    ks_buf_append_byte(&b, '\n');
  } else {
    ks_buf_appendf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",", ts, names[lvl]);
    if (log_worker >= 0)
      ks_buf_appendf(&b, "\"worker\":%d,", log_worker);
    ks_buf_append_str(&b, "\"msg\":");
    ks_buf_append_json_str(&b, msg, strlen(msg));
    for (size_t i = 0; i < n; i++) {
      ks_buf_append_byte(&b, ',');
      ks_buf_append_json_str(&b, f[i].key, strlen(f[i].key));
      ks_buf_append_byte(&b, ':');
      const char *v = f[i].value ? f[i].value : "";
      if (f[i].num && *v)
        ks_buf_append_str(&b, v);
      else
        ks_buf_append_json_str(&b, v, strlen(v));
    }
    ks_buf_append_str(&b, "}\n");
  }
  size_t ml = strlen(msg);
  if (b.len > LINE_MAX_BYTES && ml > 32) {
    /* escaping can grow the message sixfold: cut it and try again */
    size_t over = b.len - LINE_MAX_BYTES;
    size_t keep = ml > over + 40 ? ml - over - 40 : ml / 2;
    while (keep > 0 && ((unsigned char)msg[keep] & 0xc0) == 0x80)
      keep--; /* never split a UTF-8 sequence */
    snprintf(msg + keep, sizeof msg - keep, "...(cut)");
    goto again;
  }
  /* One write per line, so lines of concurrent threads never interleave. */
  ssize_t w = write(STDERR_FILENO, b.data, b.len);
  (void)w;
  ks_buf_free(&b);
}

void ks_log(enum ks_log_level lvl, const char *fmt, ...) {
  if (!ks_log_enabled(lvl))
    return;
  va_list ap;
  va_start(ap, fmt);
  emit(lvl, NULL, 0, fmt, ap);
  va_end(ap);
}

void ks_log_fields(enum ks_log_level lvl, const ks_log_field *f, size_t n,
                   const char *fmt, ...) {
  if (!ks_log_enabled(lvl))
    return;
  va_list ap;
  va_start(ap, fmt);
  emit(lvl, f, n, fmt, ap);
  va_end(ap);
}
