/* Time zones: fixed offsets and names, and a named zone's offset at any
 * instant against glibc's reading of the same tzdata (localtime_r under
 * TZ), over 1900..2150 -- transitions from the file and, past the last
 * one, the footer's POSIX rule -- for zones with half-hour DST, southern
 * hemisphere DST, 45-minute offsets and none at all. Damaged TZif files
 * are refused, never read past their end. */
#include "base/ks.h"
#include "base/tz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static const char *const zones[] = {
    "America/New_York", "Europe/Berlin",    "Australia/Lord_Howe",
    "Asia/Kolkata",     "Pacific/Chatham",  "America/Santiago",
    "Europe/London",    "Asia/Tokyo",       "America/Sao_Paulo",
    "Africa/Casablanca", "Australia/Sydney", "Pacific/Apia"};

static int have_tzdata(void) {
  FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
  if (f)
    fclose(f);
  return f != NULL;
}

static void test_fixed(void **state) {
  (void)state;
  static const struct {
    const char *spec;
    int32_t off;
  } ok[] = {{"UTC", 0},        {"Z", 0},          {"Etc/UTC", 0},
            {"+02:00", 7200},  {"-0530", -19800}, {"+05", 18000},
            {"-18:00", -64800}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    ks_tz *tz = NULL;
    char err[256];
    assert_int_equal(ks_tz_load(ok[i].spec, NULL, &tz, err, sizeof err), 0);
    assert_true(ks_tz_is_fixed(tz));
    assert_int_equal(ks_tz_offset(tz, 0), ok[i].off);
    assert_int_equal(ks_tz_offset(tz, 4102444800), ok[i].off);
    ks_tz_free(tz);
  }
  static const char *const bad[] = {"",      "+2",       "+02:60", "+19:00",
                                    "../etc/passwd", "Europe/../Berlin",
                                    "/etc/localtime", "Europe//Berlin",
                                    "a b", "Europe/Berlin/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ks_tz *tz = NULL;
    char err[256];
    assert_int_equal(ks_tz_load(bad[i], NULL, &tz, err, sizeof err),
                     KS_EINVAL);
    assert_non_null(strstr(err, "zone name like Europe/Berlin"));
  }
  ks_tz *tz = NULL;
  char err[256];
  assert_int_equal(ks_tz_load("Mars/Olympus_Mons", NULL, &tz, err, sizeof err),
                   KS_ENOENT);
  assert_non_null(strstr(err, "no time zone Mars/Olympus_Mons"));
}

static int32_t libc_offset(int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  localtime_r(&tt, &tm);
  return (int32_t)tm.tm_gmtoff;
}

static void test_named_against_libc(void **state) {
  (void)state;
  if (!have_tzdata())
    skip();
  uint64_t seed = 12345;
  size_t checked = 0;
  for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
    ks_tz *tz = NULL;
    char err[256];
    assert_int_equal(ks_tz_load(zones[z], NULL, &tz, err, sizeof err), 0);
    char env[128];
    snprintf(env, sizeof env, ":%s", zones[z]);
    setenv("TZ", env, 1);
    tzset();
    /* every ~3 days from 1900 to 2150, and around each hour of the
     * changes: a random second within each step */
    for (int64_t t = -2208988800; t < 5680281600; t += 250000) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      int64_t at = t + (int64_t)((seed >> 33) % 250000);
      int32_t want = libc_offset(at), got = ks_tz_offset(tz, at);
      if (want != got)
        fail_msg("%s at %lld: offset %d, glibc says %d", zones[z],
                 (long long)at, got, want);
      checked++;
    }
    ks_tz_free(tz);
  }
  unsetenv("TZ");
  tzset();
  assert_true(checked > 300000);
}

/* Exactly at and one second before each DST change of the footer rule,
 * years past the file's transitions. */
static void test_rule_edges(void **state) {
  (void)state;
  ks_tz *tz = NULL;
  char err[256];
  assert_int_equal(
      ks_tz_parse_posix("CET-1CEST,M3.5.0,M10.5.0/3", &tz, err, sizeof err),
      0);
  /* 2100-03-28 01:00 UTC: CEST begins (last Sunday of March, 02:00 CET) */
  assert_int_equal(ks_tz_offset(tz, 4109878800 - 1), 3600);
  assert_int_equal(ks_tz_offset(tz, 4109878800), 7200);
  /* 2100-10-31 01:00 UTC: back to CET (03:00 CEST) */
  assert_int_equal(ks_tz_offset(tz, 4128627600 - 1), 7200);
  assert_int_equal(ks_tz_offset(tz, 4128627600), 3600);
  ks_tz_free(tz);
  /* southern hemisphere: DST across the new year */
  assert_int_equal(ks_tz_parse_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", &tz, err,
                                     sizeof err),
                   0);
  assert_int_equal(ks_tz_offset(tz, 4102444800), 11 * 3600); /* 2100-01-01 */
  assert_int_equal(ks_tz_offset(tz, 4118000000), 10 * 3600); /* 2100-06-30 */
  ks_tz_free(tz);
  static const char *const bad[] = {"", "CE", "CET", "CET-1CEST,M3.5.0",
                                    "CET-1CEST,M13.5.0,M10.5.0",
                                    "CET-1CEST,M3.6.0,M10.5.0",
                                    "<+03>-3x", "CET-1CEST,J0,J365"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(ks_tz_parse_posix(bad[i], &tz, err, sizeof err),
                     KS_EINVAL);
}

static void test_damaged_tzif(void **state) {
  (void)state;
  if (!have_tzdata())
    skip();
  FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
  uint8_t buf[8192];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ks_tz *tz = NULL;
  char err[256];
  assert_int_equal(ks_tz_parse_tzif(buf, n, &tz, err, sizeof err), 0);
  ks_tz_free(tz);
  /* every truncation is refused or read within bounds (ASan checks) */
  for (size_t len = 0; len < n; len++) {
    uint8_t *copy = ks_malloc(len ? len : 1);
    memcpy(copy, buf, len);
    int r = ks_tz_parse_tzif(copy, len, &tz, err, sizeof err);
    if (r == 0)
      ks_tz_free(tz);
    else
      assert_int_equal(r, KS_ECORRUPT);
    ks_free(copy);
  }
  buf[4] = '1'; /* a version 1 file */
  assert_int_equal(ks_tz_parse_tzif(buf, n, &tz, err, sizeof err),
                   KS_ECORRUPT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixed),
      cmocka_unit_test(test_named_against_libc),
      cmocka_unit_test(test_rule_edges),
      cmocka_unit_test(test_damaged_tzif),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
