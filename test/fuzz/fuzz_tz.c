/*
 * libFuzzer target for the time-zone readers (base/tz.h): any bytes as a
 * TZif file and, up to the first NUL, as a POSIX TZ rule. A zone that
 * loads must answer an offset within +-26 hours at every instant asked,
 * never read outside the input, and keep it constant when it says it is
 * fixed.
 */
#include "base/tz.h"

#include <stdlib.h>
#include <string.h>

static void probe(const ks_tz *tz) {
  static const int64_t at[] = {INT64_MIN / 2, -2208988800, -1, 0,
                               1743296400,    4102444800,  67767976233532799,
                               INT64_MAX / 2};
  int32_t first = ks_tz_offset(tz, at[0]);
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    int32_t o = ks_tz_offset(tz, at[i]);
    if (o < -26 * 3600 || o > 26 * 3600)
      abort();
    if (ks_tz_is_fixed(tz) && o != first)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ks_tz *tz = NULL;
  char err[256];
  if (ks_tz_parse_tzif(data, size, &tz, err, sizeof err) == 0) {
    probe(tz);
    ks_tz_free(tz);
  }
  char rule[129];
  size_t n = size < 128 ? size : 128;
  memcpy(rule, data, n);
  rule[n] = 0;
  if (ks_tz_parse_posix(rule, &tz, err, sizeof err) == 0) {
    probe(tz);
    ks_tz_free(tz);
  }
  return 0;
}
