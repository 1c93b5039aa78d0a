/* Java SimpleDateFormat patterns (datefmt.h): a pattern compiles to a
 * short list of fields and literals; parse and format walk it. */
#include "base/datefmt.h"
#include "base/civil.h"
#include "base/ks.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef enum field {
  F_LIT,
  F_YEAR,
  F_YEAR2,
  F_MONTH,
  F_MONTH_NAME,
  F_DAY,
  F_HOUR,
  F_HOUR12,
  F_AMPM,
  F_MINUTE,
  F_SECOND,
  F_FRACTION,
  F_ZONE_RFC822, /* Z: +0000 */
  F_ZONE_ISO     /* X: Z or +00 / +0000 / +00:00 */
} field;

typedef struct item {
  field f;
  int width; /* letters in the run */
  char lit[64];
  size_t litlen;
} item;

struct ks_datefmt {
  item *items;
  size_t n;
};

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static item *push(ks_datefmt *f) {
  f->items = ks_realloc(f->items, (f->n + 1) * sizeof *f->items);
  item *it = &f->items[f->n++];
  memset(it, 0, sizeof *it);
  return it;
}

static void lit_char(ks_datefmt *f, char c) {
  item *it = f->n && f->items[f->n - 1].f == F_LIT &&
                     f->items[f->n - 1].litlen < sizeof it->lit
                 ? &f->items[f->n - 1]
                 : NULL;
  if (it == NULL)
    it = push(f);
  it->f = F_LIT;
  it->lit[it->litlen++] = c;
}

ks_datefmt *ks_datefmt_compile(const char *p, char *err, size_t errlen) {
  ks_datefmt *f = ks_calloc(1, sizeof *f);
  size_t i = 0, len = strlen(p);
  while (i < len) {
    char c = p[i];
    if (c == '\'') {
      if (i + 1 < len && p[i + 1] == '\'') {
        lit_char(f, '\'');
        i += 2;
        continue;
      }
      size_t j = i + 1;
      for (;;) {
        if (j >= len) {
          snprintf(err, errlen, "unterminated quote at %zu", i + 1);
          ks_datefmt_free(f);
          return NULL;
        }
        if (p[j] == '\'' && j + 1 < len && p[j + 1] == '\'') {
          lit_char(f, '\'');
          j += 2;
        } else if (p[j] == '\'') {
          break;
        } else {
          lit_char(f, p[j++]);
        }
      }
      i = j + 1;
      continue;
    }
    if (!is_letter(c)) {
      lit_char(f, c);
      i++;
      continue;
    }
    size_t j = i;
    while (j < len && p[j] == c)
      j++;
    int w = (int)(j - i);
    field fl;
    switch (c) {
    case 'y':
      fl = w == 2 ? F_YEAR2 : F_YEAR;
      break;
    case 'M':
      fl = w >= 3 ? F_MONTH_NAME : F_MONTH;
      break;
    case 'd':
      fl = F_DAY;
      break;
    case 'H':
      fl = F_HOUR;
      break;
    case 'h':
      fl = F_HOUR12;
      break;
    case 'a':
      fl = F_AMPM;
      break;
    case 'm':
      fl = F_MINUTE;
      break;
    case 's':
      fl = F_SECOND;
      break;
    case 'S':
      fl = F_FRACTION;
      break;
    case 'Z':
      fl = F_ZONE_RFC822;
      break;
    case 'X':
      fl = F_ZONE_ISO;
      break;
    default:
      snprintf(err, errlen,
               "unsupported pattern letter '%c' at %zu (supported: y M d H h "
               "a m s S Z X and quoted text)",
               c, i + 1);
      ks_datefmt_free(f);
      return NULL;
    }
    if ((fl == F_FRACTION && w > 9) || (fl == F_ZONE_ISO && w > 3)) {
      snprintf(err, errlen, "too many '%c' at %zu", c, i + 1);
      ks_datefmt_free(f);
      return NULL;
    }
    item *it = push(f);
    it->f = fl;
    it->width = w;
    i = j;
  }
  if (f->n == 0) {
    snprintf(err, errlen, "empty pattern");
    ks_datefmt_free(f);
    return NULL;
  }
  return f;
}

void ks_datefmt_free(ks_datefmt *f) {
  if (f == NULL)
    return;
  ks_free(f->items);
  ks_free(f);
}

/* Digits at s[*i]: at least min, at most max; -1 when fewer. A field
 * followed directly by another numeric field reads exactly its width. */
static int64_t digits(const char *s, size_t n, size_t *i, int min, int max) {
  int64_t v = 0;
  int k = 0;
  while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
    v = v * 10 + (s[*i] - '0');
    (*i)++;
    k++;
  }
  return k >= min ? v : -1;
}

static int numeric(field f) {
  return f != F_LIT && f != F_MONTH_NAME && f != F_AMPM && f != F_ZONE_RFC822 &&
         f != F_ZONE_ISO;
}

static int zone(const char *s, size_t n, size_t *i, int64_t *off) {
  if (*i < n && s[*i] == 'Z') {
    (*i)++;
    *off = 0;
    return 0;
  }
  if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
    return -1;
  int sign = s[(*i)++] == '-' ? -1 : 1;
  int64_t hh = digits(s, n, i, 2, 2), mm = 0;
  if (hh < 0)
    return -1;
  if (*i < n && s[*i] == ':')
    (*i)++;
  if (*i < n && s[*i] >= '0' && s[*i] <= '9' &&
      (mm = digits(s, n, i, 2, 2)) < 0)
    return -1;
  if (hh > 23 || mm > 59)
    return -1;
  *off = sign * (hh * 3600 + mm * 60);
  return 0;
}

int ks_datefmt_parse(const ks_datefmt *f, const char *s, size_t n,
                     int64_t *us) {
  int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, se = 0, frac = 0, off = 0;
  int pm = -1, h12 = 0;
  size_t i = 0;
  for (size_t k = 0; k < f->n; k++) {
    const item *it = &f->items[k];
    int next_num = k + 1 < f->n && numeric(f->items[k + 1].f);
    int64_t v = 0;
    if (numeric(it->f) && it->f != F_FRACTION) {
      /* beside another number a field is exactly its width (yyyyMMdd);
       * elsewhere it takes one digit up (Java's lenient widths) */
      int wide = it->f == F_YEAR ? 9 : 2;
      int min = next_num ? it->width : (it->f == F_YEAR2 ? 2 : 1);
      int max = next_num ? it->width : (it->width > wide ? it->width : wide);
      if ((v = digits(s, n, &i, min, max)) < 0)
        return -1;
    }
    switch (it->f) {
    case F_LIT:
      if (n - i < it->litlen || memcmp(s + i, it->lit, it->litlen) != 0)
        return -1;
      i += it->litlen;
      break;
    case F_YEAR:
      y = v;
      break;
    case F_YEAR2: { /* SimpleDateFormat: within 80 years before and 20
                       years after now */
      time_t now = time(NULL);
      struct tm tm;
      gmtime_r(&now, &tm);
      int64_t cur = tm.tm_year + 1900;
      y = cur / 100 * 100 + v;
      if (y > cur + 20)
        y -= 100;
      else if (y <= cur - 80)
        y += 100;
      break;
    }
    case F_MONTH:
      mo = v;
      break;
    case F_MONTH_NAME: {
      int found = 0;
      for (int m = 0; m < 12 && !found; m++)
        if (n - i >= 3 && strncasecmp(s + i, months[m], 3) == 0) {
          mo = m + 1;
          i += 3;
          found = 1;
        }
      if (!found)
        return -1;
      break;
    }
    case F_DAY:
      d = v;
      break;
    case F_HOUR:
      h = v;
      break;
    case F_HOUR12:
      h = v;
      h12 = 1;
      break;
    case F_AMPM:
      if (n - i >= 2 && strncasecmp(s + i, "AM", 2) == 0)
        pm = 0;
      else if (n - i >= 2 && strncasecmp(s + i, "PM", 2) == 0)
        pm = 1;
      else
        return -1;
      i += 2;
      break;
    case F_MINUTE:
      mi = v;
      break;
    case F_SECOND:
      se = v;
      break;
    case F_FRACTION: {
      size_t start = i;
      /* SSS reads a number of milliseconds as Java does; more digits
       * than S's are taken as a decimal fraction (microseconds kept) */
      int64_t fv = digits(s, n, &i, 1, next_num ? it->width : 9);
      if (fv < 0)
        return -1;
      int nd = (int)(i - start);
      if (it->width <= 3 && nd <= 3) {
        frac = fv * 1000;
      } else {
        while (nd < 6) {
          fv *= 10;
          nd++;
        }
        while (nd > 6) {
          fv /= 10;
          nd--;
        }
        frac = fv;
      }
      break;
    }
    case F_ZONE_RFC822:
    case F_ZONE_ISO:
      if (zone(s, n, &i, &off))
        return -1;
      break;
    }
  }
  if (i != n)
    return -1;
  if (h12) {
    if (h < 1 || h > 12)
      return -1;
    h = h % 12 + (pm == 1 ? 12 : 0);
  }
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
    return -1;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int dim = mdays[mo - 1] + (mo == 2 && ks_civil_is_leap(y));
  if (d > dim || y > 9999)
    return -1;
  int64_t days = ks_days_from_civil(y, (unsigned)mo, (unsigned)d);
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - off;
  *us = secs * 1000000 + frac;
  return 0;
}

static size_t put(char *out, size_t cap, size_t o, const char *fmt, int64_t v,
                  int w) {
  if (o >= cap)
    return o;
  int k = snprintf(out + o, cap - o, fmt, w, (long long)v);
  return k < 0 ? cap : o + (size_t)k;
}

size_t ks_datefmt_format(const ks_datefmt *f, int64_t us, char *out,
                         size_t cap) {
  int64_t secs = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs--;
  }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t y;
  unsigned mo, d;
  ks_civil_from_days(days, &y, &mo, &d);
  int64_t h = rem / 3600, mi = rem / 60 % 60, se = rem % 60;
  size_t o = 0;
  for (size_t k = 0; k < f->n && o < cap; k++) {
    const item *it = &f->items[k];
    switch (it->f) {
    case F_LIT:
      if (o + it->litlen >= cap)
        return 0;
      memcpy(out + o, it->lit, it->litlen);
      o += it->litlen;
      break;
    case F_YEAR:
      o = put(out, cap, o, "%0*lld", y, it->width);
      break;
    case F_YEAR2:
      o = put(out, cap, o, "%0*lld", ((y % 100) + 100) % 100, 2);
      break;
    case F_MONTH:
      o = put(out, cap, o, "%0*lld", mo, it->width);
      break;
    case F_MONTH_NAME:
      if (o + 3 >= cap)
        return 0;
      memcpy(out + o, months[mo - 1], 3);
      o += 3;
      break;
    case F_DAY:
      o = put(out, cap, o, "%0*lld", d, it->width);
      break;
    case F_HOUR:
      o = put(out, cap, o, "%0*lld", h, it->width);
      break;
    case F_HOUR12:
      o = put(out, cap, o, "%0*lld", h % 12 == 0 ? 12 : h % 12, it->width);
      break;
    case F_AMPM:
      if (o + 2 >= cap)
        return 0;
      memcpy(out + o, h < 12 ? "AM" : "PM", 2);
      o += 2;
      break;
    case F_MINUTE:
      o = put(out, cap, o, "%0*lld", mi, it->width);
      break;
    case F_SECOND:
      o = put(out, cap, o, "%0*lld", se, it->width);
      break;
    case F_FRACTION: {
      /* S..SSS: milliseconds (Java's meaning); more S's: the fraction to
       * that many digits */
      int64_t v = it->width <= 3 ? frac / 1000 : frac;
      int w = it->width;
      if (it->width > 3) {
        int nd = 6;
        while (nd > w) {
          v /= 10;
          nd--;
        }
        while (nd < w) {
          v *= 10;
          nd++;
        }
      }
      o = put(out, cap, o, "%0*lld", v, w);
      break;
    }
    case F_ZONE_RFC822:
      if (o + 5 >= cap)
        return 0;
      memcpy(out + o, "+0000", 5);
      o += 5;
      break;
    case F_ZONE_ISO:
      if (o + 1 >= cap)
        return 0;
      out[o++] = 'Z';
      break;
    }
  }
  if (o >= cap)
    return 0;
  out[o] = 0;
  return o;
}
