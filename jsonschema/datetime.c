/*
 * RFC 3339 section 5.6, the one parser of the engine: the "date-time",
 * "date" and "time" format assertions (formats.c) and the column values
 * callers derive from the same text (date-time -> microseconds since the
 * epoch, full-date -> days since the epoch). The calendar is base/civil's.
 */
#include "jsonschema/jsonschema.h"

#include "base/civil.h"

static int digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

static int days_in_month(int y, int m) {
  static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && ks_civil_is_leap(y) ? 29 : dim[m - 1];
}

/* full-date: YYYY-MM-DD */
static int parse_date(const char *s, int *y, int *m, int *d) {
  if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' ||
      digits(s + 8, 2, d))
    return -1;
  if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
    return -1;
  return 0;
}

/* full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM), n bytes. *minute_utc is
 * the minute of the day in UTC (may fall outside 0..1439), *frac the
 * microseconds (digits past six truncated). */
static int parse_time(const char *s, size_t n, int64_t *minute_utc, int *sec,
                      int64_t *frac_us) {
  int hh, mm, ss;
  if (n < 9 || digits(s, 2, &hh) || s[2] != ':' || digits(s + 3, 2, &mm) ||
      s[5] != ':' || digits(s + 6, 2, &ss))
    return -1;
  if (hh > 23 || mm > 59 || ss > 60)
    return -1;
  size_t i = 8;
  int64_t frac = 0;
  if (s[i] == '.') {
    size_t start = ++i;
    int scale = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (scale < 6) {
        frac = frac * 10 + (s[i] - '0');
        scale++;
      }
      i++;
    }
    if (i == start)
      return -1;
    while (scale++ < 6)
      frac *= 10;
  }
  if (i >= n)
    return -1;
  int off = 0; /* minutes east of UTC */
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != n)
      return -1;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    if (i + 6 != n || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
        digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
      return -1;
    off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
  } else {
    return -1;
  }
  int64_t m_utc = (int64_t)hh * 60 + mm - off;
  /* a leap second only where UTC 23:59:60 falls */
  if (ss == 60 && ((m_utc % 1440) + 1440) % 1440 != 23 * 60 + 59)
    return -1;
  *minute_utc = m_utc;
  *sec = ss;
  *frac_us = frac;
  return 0;
}

int ks_date_parse(const char *s, size_t n, int32_t *days) {
  int y, m, d;
  if (n != 10 || parse_date(s, &y, &m, &d))
    return -1;
  *days = (int32_t)ks_days_from_civil(y, (unsigned)m, (unsigned)d);
  return 0;
}

int ks_time_parse(const char *s, size_t n) {
  int64_t minute, frac;
  int sec;
  return parse_time(s, n, &minute, &sec, &frac);
}

int ks_datetime_parse(const char *s, size_t n, int64_t *us) {
  int y, mo, d, ss;
  int64_t minute_utc, frac;
  if (n < 20 || parse_date(s, &y, &mo, &d) || (s[10] != 'T' && s[10] != 't') ||
      parse_time(s + 11, n - 11, &minute_utc, &ss, &frac))
    return -1;
  int64_t days = ks_days_from_civil(y, (unsigned)mo, (unsigned)d);
  int64_t secs = days * 86400 + minute_utc * 60 + ss;
  *us = secs * 1000000 + frac;
  return 0;
}
