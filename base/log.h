/*
 * Logging: one JSON object per line on stderr ({"ts", "level", "worker"
 * when a worker thread logs, "msg", then the caller's fields), or plain
 * text ("<ts> <level> [w<N>] <msg> key=value ...") when stderr is a
 * terminal. Never log a secret (credentials are redacted by conf/ before
 * anything reaches here).
 */
#ifndef KS_BASE_LOG_H
#define KS_BASE_LOG_H

#include <stddef.h>

enum ks_log_level { KS_LOG_DEBUG, KS_LOG_INFO, KS_LOG_WARN, KS_LOG_ERROR };

void ks_log_set_level(enum ks_log_level lvl);
/* Force the format: 1 json, 0 plain, -1 auto (isatty). */
void ks_log_set_json(int json);
/* The worker the calling thread runs (-1, the default: none). */
void ks_log_set_worker(int worker);
int ks_log_enabled(enum ks_log_level lvl);
void ks_log(enum ks_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A structured field: its value goes out as a JSON string, or as a JSON
 * number when num is set (value then holds its decimal text). */
typedef struct ks_log_field {
  const char *key;
  const char *value;
  int num;
} ks_log_field;
void ks_log_fields(enum ks_log_level lvl, const ks_log_field *f, size_t n,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Replaces the userinfo of every "scheme://user:pass@host" in s (a
 * NUL-terminated message) with a marker, in place; every log line goes
 * through it. Returns the bytes removed. */
size_t ks_log_redact_userinfo(char *s);

#define ks_log_debug(...) ks_log(KS_LOG_DEBUG, __VA_ARGS__)
#define ks_log_info(...) ks_log(KS_LOG_INFO, __VA_ARGS__)
#define ks_log_warn(...) ks_log(KS_LOG_WARN, __VA_ARGS__)
#define ks_log_error(...) ks_log(KS_LOG_ERROR, __VA_ARGS__)

#endif
