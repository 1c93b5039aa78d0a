/*
 * Proleptic Gregorian calendar arithmetic: days since 1970-01-01 <-> civil
 * dates (the era / day-of-era decomposition, exact for every int32 day
 * count). Shared by the timestamp parser (stages), Delta stats rendering
 * and the demo generator.
 */
#ifndef KS_BASE_CIVIL_H
#define KS_BASE_CIVIL_H

#include <stdint.h>

/* The Gregorian leap-year rule, the one every calendar check uses. */
static inline int ks_civil_is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t ks_days_from_civil(int64_t y, unsigned m, unsigned d);
void ks_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
