/*
 * Durations and byte sizes as people write them in configs. Strict on
 * purpose: a unit is required (except for a bare 0 duration), no signs,
 * no fractions, no spaces, case matters ("mb" could mean bits), and
 * anything that would overflow int64 is rejected rather than wrapped.
 */
#include "conf/conf.h"

#include <string.h>

typedef struct unit {
  const char *name;
  int64_t mult;
} unit;

/* Leading decimal digits of s into *v; returns the rest, or NULL when
 * there are none or they overflow. */
static const char *digits(const char *s, int64_t *v) {
  int64_t x = 0;
  const char *p = s;
  while (*p >= '0' && *p <= '9') {
    int d = *p - '0';
    if (x > (INT64_MAX - d) / 10)
      return NULL;
    x = x * 10 + d;
    p++;
  }
  if (p == s)
    return NULL;
  *v = x;
  return p;
}

static int scale(const char *s, const unit *units, size_t nunits,
                 int64_t *out) {
  int64_t v;
  const char *rest;
  if (s == NULL || (rest = digits(s, &v)) == NULL)
    return KS_EINVAL;
  for (size_t i = 0; i < nunits; i++) {
    if (strcmp(rest, units[i].name) == 0) {
      if (v > INT64_MAX / units[i].mult)
        return KS_EINVAL;
      *out = v * units[i].mult;
      return 0;
    }
  }
  return KS_EINVAL;
}

int ks_conf_parse_duration(const char *s, int64_t *ms) {
  static const unit units[] = {{"ms", 1},
                               {"s", 1000},
                               {"m", 60 * 1000},
                               {"h", 3600 * 1000},
                               {"d", INT64_C(86400) * 1000}};
  if (s != NULL && strcmp(s, "0") == 0) {
    *ms = 0;
    return 0;
  }
  return scale(s, units, KS_ARRAY_SIZE(units), ms);
}

int ks_conf_parse_size(const char *s, int64_t *bytes) {
  static const unit units[] = {{"", 1},
                               {"B", 1},
                               {"KiB", INT64_C(1) << 10},
                               {"MiB", INT64_C(1) << 20},
                               {"GiB", INT64_C(1) << 30},
                               {"TiB", INT64_C(1) << 40},
                               {"KB", INT64_C(1000)},
                               {"MB", INT64_C(1000000)},
                               {"GB", INT64_C(1000000000)},
                               {"TB", INT64_C(1000000000000)}};
  return scale(s, units, KS_ARRAY_SIZE(units), bytes);
}
