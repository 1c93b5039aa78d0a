/*
 * Java SimpleDateFormat patterns, the ones Kafka Connect's
 * TimestampConverter is given in practice: compiled once (conf/ checks
 * them at start-up), then used to parse and format timestamps in UTC.
 * Callers: conf/record.c (check), stages/record/transform.c.
 *
 * Letters: yyyy yy (year), M MM (month), MMM (Jan..Dec), d dd, H HH,
 * h hh with a (AM/PM), m mm, s ss, S.. (fraction: as many digits as S's),
 * Z (+0000), X XX XXX (Z, +00, +0000, +00:00), '...' literals ('' is a
 * quote); every other non-letter is itself. Other letters are refused.
 */
#ifndef KS_BASE_DATEFMT_H
#define KS_BASE_DATEFMT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_datefmt ks_datefmt;

/* NULL with err ("unsupported pattern letter 'E' at 3") on failure. */
ks_datefmt *ks_datefmt_compile(const char *pattern, char *err, size_t errlen);
void ks_datefmt_free(ks_datefmt *f);

/* Text -> microseconds since the epoch (UTC unless the text has a zone).
 * 0, or -1 when the whole text does not follow the pattern. */
int ks_datefmt_parse(const ks_datefmt *f, const char *s, size_t n, int64_t *us);
/* Microseconds -> text in UTC; the length written (< cap), or 0. */
size_t ks_datefmt_format(const ks_datefmt *f, int64_t us, char *out,
                         size_t cap);

#endif
