/*
 * Time zones (tz.h). A zone is a sorted list of transitions (UTC instant
 * -> offset) followed by an optional POSIX rule for later instants; a
 * fixed zone is a rule with no DST. The TZif reader takes the version 2+
 * body only (64-bit times: the 32-bit v1 body stops in 2038) and checks
 * every count against the file's length before reading, since the file
 * is outside input as far as this parser knows.
 */
#include "base/tz.h"

#include "base/civil.h"
#include "base/file.h"
#include "base/ks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A POSIX rule's DST change: a day of the year and a local time. */
typedef struct tz_date {
  char form;     /* 'J': Jn (1..365, no leap day); 'D': n (0..365); 'M' */
  int n, m, w, d; /* J/D: n; M: month, week (1..5), weekday (0 Sunday) */
  int32_t secs;  /* local time of the change (may be < 0 or > 24 h) */
} tz_date;

typedef struct tz_rule {
  int32_t std_off, dst_off; /* seconds east of UTC */
  int has_dst;
  tz_date start, end;
} tz_rule;

struct ks_tz {
  int64_t *at;     /* transition instants, ascending */
  int32_t *off;    /* offset from at[i] on */
  size_t n;
  int32_t before;  /* offset before the first transition */
  int has_rule;    /* after the last transition: the rule (else off[n-1]) */
  tz_rule rule;
};

static int tz_fail(char *err, size_t errlen, int code, const char *what) {
  if (err && errlen)
    snprintf(err, errlen, "%s", what);
  return code;
}

void ks_tz_free(ks_tz *tz) {
  if (tz == NULL)
    return;
  ks_free(tz->at);
  ks_free(tz->off);
  ks_free(tz);
}

int ks_tz_is_fixed(const ks_tz *tz) {
  return tz->n == 0 && (!tz->has_rule || !tz->rule.has_dst);
}

/* ---- POSIX TZ rules ------------------------------------------------------- */

/* [+-]hh[:mm[:ss]], hours up to max; *p advanced. */
static int parse_hms(const char **p, int max_hours, int32_t *out) {
  const char *s = *p;
  int sign = 1;
  if (*s == '+' || *s == '-')
    sign = *s++ == '-' ? -1 : 1;
  if (*s < '0' || *s > '9')
    return -1;
  int32_t h = 0, m = 0, sec = 0;
  while (*s >= '0' && *s <= '9' && h <= max_hours)
    h = h * 10 + (*s++ - '0');
  if (h > max_hours)
    return -1;
  if (*s == ':') {
    s++;
    if (s[0] < '0' || s[0] > '5' || s[1] < '0' || s[1] > '9')
      return -1;
    m = (s[0] - '0') * 10 + (s[1] - '0');
    s += 2;
    if (*s == ':') {
      s++;
      if (s[0] < '0' || s[0] > '5' || s[1] < '0' || s[1] > '9')
        return -1;
      sec = (s[0] - '0') * 10 + (s[1] - '0');
      s += 2;
    }
  }
  *out = sign * (h * 3600 + m * 60 + sec);
  *p = s;
  return 0;
}

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static int parse_name(const char **p) {
  const char *s = *p;
  size_t n = 0;
  if (*s == '<') {
    s++;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
           (*s >= '0' && *s <= '9') || *s == '+' || *s == '-') {
      s++;
      n++;
    }
    if (*s++ != '>')
      return -1;
  } else {
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
      s++;
      n++;
    }
  }
  if (n < 3)
    return -1;
  *p = s;
  return 0;
}

static int parse_num(const char **p, int lo, int hi, int *out) {
  const char *s = *p;
  int v = 0;
  if (*s < '0' || *s > '9')
    return -1;
  while (*s >= '0' && *s <= '9' && v <= hi)
    v = v * 10 + (*s++ - '0');
  if (v < lo || v > hi)
    return -1;
  *out = v;
  *p = s;
  return 0;
}

static int parse_date(const char **p, tz_date *d) {
  const char *s = *p;
  memset(d, 0, sizeof *d);
  d->secs = 2 * 3600;
  if (*s == 'J') {
    s++;
    d->form = 'J';
    if (parse_num(&s, 1, 365, &d->n))
      return -1;
  } else if (*s == 'M') {
    s++;
    d->form = 'M';
    if (parse_num(&s, 1, 12, &d->m) || *s++ != '.' ||
        parse_num(&s, 1, 5, &d->w) || *s++ != '.' ||
        parse_num(&s, 0, 6, &d->d))
      return -1;
  } else {
    d->form = 'D';
    if (parse_num(&s, 0, 365, &d->n))
      return -1;
  }
  if (*s == '/') { /* RFC 8536 allows -167..167 hours */
    s++;
    if (parse_hms(&s, 167, &d->secs))
      return -1;
  }
  *p = s;
  return 0;
}

static int parse_rule(const char *s, tz_rule *r) {
  memset(r, 0, sizeof *r);
  int32_t off;
  if (parse_name(&s) || parse_hms(&s, 24, &off))
    return -1;
  r->std_off = -off; /* POSIX offsets are west of UTC */
  if (*s == 0)
    return 0;
  if (parse_name(&s))
    return -1;
  r->has_dst = 1;
  r->dst_off = r->std_off + 3600;
  if (*s != ',' && *s != 0) {
    if (parse_hms(&s, 24, &off))
      return -1;
    r->dst_off = -off;
  }
  if (*s == 0) { /* no rule given: the US rule, as glibc and tzcode do */
    const char *us = "M3.2.0,M11.1.0";
    parse_date(&us, &r->start);
    us++;
    parse_date(&us, &r->end);
    return 0;
  }
  if (*s++ != ',' || parse_date(&s, &r->start) || *s++ != ',' ||
      parse_date(&s, &r->end) || *s != 0)
    return -1;
  return 0;
}

static int is_leap(int64_t y) {
  return ks_civil_is_leap(y);
}

/* Local seconds since the epoch at which the change happens in year y. */
static int64_t change_local(const tz_date *d, int64_t y) {
  int64_t day; /* days since the epoch */
  int64_t jan1 = ks_days_from_civil(y, 1, 1);
  if (d->form == 'J') {
    day = jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
  } else if (d->form == 'D') {
    day = jan1 + d->n;
  } else {
    static const int mdays[] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    int64_t first = ks_days_from_civil(y, (unsigned)d->m, 1);
    int wd = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was Thursday */
    int64_t dom = 1 + ((d->d - wd) % 7 + 7) % 7 + 7 * (d->w - 1);
    int len = mdays[d->m - 1] + (d->m == 2 && is_leap(y));
    while (dom > len)
      dom -= 7;
    day = first + dom - 1;
  }
  return day * 86400 + d->secs;
}

static int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

static int32_t rule_offset(const tz_rule *r, int64_t t) {
  if (!r->has_dst)
    return r->std_off;
  int64_t y;
  unsigned m, d;
  ks_civil_from_days(floor_div(t + r->std_off, 86400), &y, &m, &d);
  /* DST begins at the start's local standard time and ends at the end's
   * local daylight time */
  int64_t start = change_local(&r->start, y) - r->std_off;
  int64_t end = change_local(&r->end, y) - r->dst_off;
  int dst = start < end ? t >= start && t < end : !(t >= end && t < start);
  return dst ? r->dst_off : r->std_off;
}

int ks_tz_parse_posix(const char *rule, ks_tz **out, char *err,
                      size_t errlen) {
  tz_rule r;
  if (parse_rule(rule, &r))
    return tz_fail(err, errlen, KS_EINVAL, "not a POSIX TZ rule");
  ks_tz *tz = ks_calloc(1, sizeof *tz);
  tz->has_rule = 1;
  tz->rule = r;
  tz->before = r.std_off;
  *out = tz;
  return 0;
}

/* ---- TZif ----------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int64_t be64(const uint8_t *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct tzif_counts {
  uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

/* The header at p; its body's length with 4- or 8-byte times. */
static int tzif_header(const uint8_t *p, size_t avail, int tsize,
                       tzif_counts *c, size_t *body) {
  if (avail < 44 || memcmp(p, "TZif", 4) != 0)
    return -1;
  c->isut = be32(p + 20);
  c->isstd = be32(p + 24);
  c->leap = be32(p + 28);
  c->time = be32(p + 32);
  c->type = be32(p + 36);
  c->chars = be32(p + 40);
  if (c->type == 0 || c->type > 256 || c->time > 100000 ||
      c->chars > 100000 || c->leap > 100000 || c->isut > c->type ||
      c->isstd > c->type)
    return -1;
  *body = (size_t)c->time * (size_t)(tsize + 1) + (size_t)c->type * 6 +
          c->chars + (size_t)c->leap * (size_t)(tsize + 4) + c->isstd +
          c->isut;
  return avail - 44 < *body ? -1 : 0;
}

int ks_tz_parse_tzif(const uint8_t *data, size_t len, ks_tz **out, char *err,
                     size_t errlen) {
  tzif_counts c1, c;
  size_t body1, body;
  if (tzif_header(data, len, 4, &c1, &body1))
    return tz_fail(err, errlen, KS_ECORRUPT, "not a TZif file");
  if (data[4] < '2')
    return tz_fail(err, errlen, KS_ECORRUPT,
                   "a version 1 TZif file (no 64-bit times)");
  const uint8_t *p = data + 44 + body1;
  size_t avail = len - 44 - body1;
  if (tzif_header(p, avail, 8, &c, &body))
    return tz_fail(err, errlen, KS_ECORRUPT, "TZif: damaged version 2 part");
  if (c.leap)
    return tz_fail(err, errlen, KS_EUNSUPPORTED,
                   "a zone with leap seconds (a \"right/\" zone)");
  const uint8_t *times = p + 44;
  const uint8_t *idx = times + (size_t)c.time * 8;
  const uint8_t *types = idx + c.time;
  const uint8_t *footer = p + 44 + body;
  size_t flen = (size_t)(data + len - footer);

  ks_tz *tz = ks_calloc(1, sizeof *tz);
  tz->at = ks_calloc(c.time ? c.time : 1, sizeof *tz->at);
  tz->off = ks_calloc(c.time ? c.time : 1, sizeof *tz->off);
  int bad = 0;
  for (uint32_t i = 0; i < c.time && !bad; i++) {
    int64_t at = be64(times + (size_t)i * 8);
    uint8_t ti = idx[i];
    if (ti >= c.type || (i && at <= tz->at[i - 1]))
      bad = 1;
    else {
      tz->at[i] = at;
      tz->off[i] = (int32_t)be32(types + (size_t)ti * 6);
    }
  }
  tz->n = c.time;
  int32_t off0 = (int32_t)be32(types);
  tz->before = off0;
  for (uint32_t i = 0; i < c.type && !bad; i++) {
    int32_t o = (int32_t)be32(types + (size_t)i * 6);
    if (o < -25 * 3600 || o > 26 * 3600 || o == INT32_MIN)
      bad = 1;
  }
  /* footer: "\n<rule>\n", the rule possibly empty */
  if (!bad && flen > 0) {
    if (flen < 2 || footer[0] != '\n' || footer[flen - 1] != '\n' ||
        flen > 128) {
      bad = 1;
    } else if (flen > 2) {
      char rule[128];
      memcpy(rule, footer + 1, flen - 2);
      rule[flen - 2] = 0;
      if (memchr(rule, 0, flen - 2) || parse_rule(rule, &tz->rule))
        bad = 1;
      else
        tz->has_rule = 1;
    }
  }
  if (bad) {
    ks_tz_free(tz);
    return tz_fail(err, errlen, KS_ECORRUPT,
                   "TZif: damaged transitions, offsets or footer");
  }
  *out = tz;
  return 0;
}

int32_t ks_tz_offset(const ks_tz *tz, int64_t t) {
  if (tz->n == 0 || t < tz->at[0])
    return tz->n == 0 && tz->has_rule ? rule_offset(&tz->rule, t)
                                      : tz->before;
  if (t >= tz->at[tz->n - 1])
    return tz->has_rule ? rule_offset(&tz->rule, t) : tz->off[tz->n - 1];
  size_t lo = 0, hi = tz->n - 1; /* at[lo] <= t < at[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->at[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  return tz->off[lo];
}

/* ---- names ---------------------------------------------------------------- */

/* UTC or [+-]hh[:]mm / [+-]hh: the offset in seconds. */
static int fixed_offset(const char *s, int32_t *out) {
  if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0 ||
      strcmp(s, "Etc/UTC") == 0 || strcmp(s, "GMT") == 0) {
    *out = 0;
    return 0;
  }
  if (s[0] != '+' && s[0] != '-')
    return -1;
  int sign = s[0] == '-' ? -1 : 1;
  const char *d = s + 1;
  int h = 0, m = 0;
  size_t n = strlen(d);
  if (n == 2 && d[0] >= '0' && d[0] <= '9' && d[1] >= '0' && d[1] <= '9') {
    h = (d[0] - '0') * 10 + (d[1] - '0');
  } else if ((n == 4 || (n == 5 && d[2] == ':')) && d[0] >= '0' &&
             d[0] <= '9' && d[1] >= '0' && d[1] <= '9') {
    const char *mm = d + (n == 5 ? 3 : 2);
    if (mm[0] < '0' || mm[0] > '5' || mm[1] < '0' || mm[1] > '9')
      return -1;
    h = (d[0] - '0') * 10 + (d[1] - '0');
    m = (mm[0] - '0') * 10 + (mm[1] - '0');
  } else {
    return -1;
  }
  if (h > 18 || (h == 18 && m))
    return -1;
  *out = sign * (h * 3600 + m * 60);
  return 0;
}

/* A zone name: letters, digits, '_', '-', '+' in '/'-separated parts,
 * none empty or "." / "..", so it stays under the zone directory. */
static int name_ok(const char *s) {
  size_t part = 0;
  if (*s == 0 || *s == '+' || *s == '-' || strlen(s) > 200)
    return 0; /* a leading sign is a malformed offset */
  for (const char *p = s;; p++) {
    if (*p == '/' || *p == 0) {
      if (part == 0 || (part <= 2 && p[-1] == '.' && (part == 1 || p[-2] == '.')))
        return 0;
      if (*p == 0)
        return 1;
      part = 0;
      continue;
    }
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
          (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '+' ||
          *p == '.'))
      return 0;
    part++;
  }
}

int ks_tz_load(const char *spec, const char *dir, ks_tz **out, char *err,
               size_t errlen) {
  int32_t off;
  if (fixed_offset(spec, &off) == 0) {
    ks_tz *tz = ks_calloc(1, sizeof *tz);
    tz->before = off;
    tz->has_rule = 1;
    tz->rule.std_off = off;
    *out = tz;
    return 0;
  }
  if (!name_ok(spec))
    return tz_fail(err, errlen, KS_EINVAL,
                   "expected UTC, a fixed offset like +02:00 or a zone name "
                   "like Europe/Berlin");
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir ? dir : "/usr/share/zoneinfo",
           spec);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err && errlen)
      snprintf(err, errlen, "no time zone %s (%s: %s)", spec, path,
               strerror(errno));
    return KS_ENOENT;
  }
  struct stat st;
  uint8_t *buf = NULL;
  size_t got = 0;
  int rr = KS_ECORRUPT;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    rr = ks_read_fd(fd, (1 << 20) - 1, &buf, &got);
  close(fd);
  if (rr || got == 0) {
    ks_free(buf);
    if (err && errlen)
      snprintf(err, errlen, "time zone %s: %s is not a readable TZif file",
               spec, path);
    return KS_ECORRUPT;
  }
  char why[160];
  int r = ks_tz_parse_tzif(buf, got, out, why, sizeof why);
  ks_free(buf);
  if (r && err && errlen)
    snprintf(err, errlen, "time zone %s (%s): %s", spec, path, why);
  return r;
}
