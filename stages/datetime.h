/*
 * RFC 3339 timestamps for JSON Schema's "date-time" and "date" formats, and
 * their column values: date-time -> microseconds since the epoch (UTC),
 * full-date -> days since the epoch. Used by the validator (format
 * assertion) and the shredder (TIMESTAMP/DATE columns) from one parse, and
 * by transform stages that derive partition values.
 */
#ifndef KS_STAGES_DATETIME_H
#define KS_STAGES_DATETIME_H

#include <stddef.h>
#include "base/civil.h"

#include <stdint.h>

/* "1985-04-12T23:20:50.52Z", "1996-12-19T16:39:57-08:00": 0 and *us, or -1.
 * 'T' and 'Z' may be lower case; digits past microseconds are truncated; a
 * leap second (:60) is accepted only at 23:59:60 UTC and counts as the
 * next second. */
int ks_datetime_parse(const char *s, size_t n, int64_t *us);
/* "1985-04-12": 0 and *days, or -1. */
int ks_date_parse(const char *s, size_t n, int32_t *days);

#endif
