/*
 * Logging: one JSON object per line on stderr, or plain text when stderr
 * is a terminal. Never log a secret (credentials are redacted by conf/
 * before anything reaches here).
 */
#ifndef KS_BASE_LOG_H
#define KS_BASE_LOG_H

enum ks_log_level { KS_LOG_DEBUG, KS_LOG_INFO, KS_LOG_WARN, KS_LOG_ERROR };

void ks_log_set_level(enum ks_log_level lvl);
/* Force the format: 1 json, 0 plain, -1 auto (isatty). */
void ks_log_set_json(int json);
void ks_log(enum ks_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define ks_log_debug(...) ks_log(KS_LOG_DEBUG, __VA_ARGS__)
#define ks_log_info(...) ks_log(KS_LOG_INFO, __VA_ARGS__)
#define ks_log_warn(...) ks_log(KS_LOG_WARN, __VA_ARGS__)
#define ks_log_error(...) ks_log(KS_LOG_ERROR, __VA_ARGS__)

#endif
