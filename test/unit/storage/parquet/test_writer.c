/*
 * Parquet writer round trips: files written by ks_pq_writer are read back
 * by DuckDB (test/tools/pq_read.mjs, run with node) and its view -- column
 * types, schema annotations, every value, the statistics of every column
 * chunk, file metadata -- must equal what the test computes on its own.
 * The page structure is walked independently to count pages. No node, no
 * pass: a missing reader fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/parquet/writer.h"

#include "pq_roundtrip.c"

static tresult run_case(const char *name, const tcase *tc, const char *kv) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s.parquet", tmpdir, name);
  filesink fs = {fopen(path, "wb"), 0, -1};
  assert_non_null(fs.f);
  /* these cases check the PLAIN path and full string bounds; dictionary
   * encoding and truncation are covered by test/conformance */
  ks_pq_options opt = tc->opt;
  opt.no_dictionary = 1;
  opt.stats_bytes = 4096;
  ks_pq_writer *w = ks_pq_writer_new(tc->specs, tc->ncols, &opt, sink_file, &fs);
  ks_rowgroup rg;
  ks_rowgroup_init(&rg, tc->specs, tc->ncols);
  size_t g0 = 0;
  for (size_t r = 0; r < tc->nrg; r++) {
    fill_rowgroup(tc, &rg, g0, tc->rg_rows[r]);
    assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), 0);
    ks_rowgroup_reset(&rg);
    assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), 0); /* skipped */
    g0 += tc->rg_rows[r];
    assert_int_equal(ks_pq_writer_rows(w), (int64_t)g0);
  }
  if (kv)
    assert_int_equal(ks_pq_writer_add_kv(w, kv, "v=1"), 0);
  assert_int_equal(ks_pq_writer_close(w), 0);
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), KS_EINVAL);
  assert_int_equal(fclose(fs.f), 0);
  check_file_stats(tc, w, g0);

  ks_buf file, got, want;
  ks_buf_init(&file, 0);
  ks_buf_init(&got, 0);
  ks_buf_init(&want, 0);
  read_file(path, &file);
  assert_int_equal(ks_pq_writer_bytes(w), file.len);
  tresult res = {count_pages(tc, file.data, file.len), fs.max_call, file.len};

  expected_text(tc, &want);
  if (kv)
    ks_buf_appendf(&want, "kv\t%s\tv=1\n", kv);
  read_back(path, &got);
  assert_same_text(&got, &want);

  ks_buf_free(&file);
  ks_buf_free(&got);
  ks_buf_free(&want);
  ks_rowgroup_free(&rg);
  ks_pq_writer_free(w);
  unlink(path);
  return res;
}

/* ---- cases ------------------------------------------------------------ */

static const ks_colspec opt_specs[] = {
    {"b", KS_COL_BOOLEAN, 1}, {"i", KS_COL_INT32, 1},
    {"l", KS_COL_INT64, 1},   {"d", KS_COL_DOUBLE, 1},
    {"s", KS_COL_STRING, 1},  {"ts", KS_COL_TIMESTAMP, 1},
    {"dt", KS_COL_DATE, 1}};
static const ks_colspec req_specs[] = {
    {"b", KS_COL_BOOLEAN, 0}, {"i", KS_COL_INT32, 0},
    {"l", KS_COL_INT64, 0},   {"d", KS_COL_DOUBLE, 0},
    {"s", KS_COL_STRING, 0},  {"ts", KS_COL_TIMESTAMP, 0},
    {"dt", KS_COL_DATE, 0}};
static const int some_nulls[] = {NULLS_SOME, NULLS_SOME, NULLS_SOME, NULLS_SOME,
                                 NULLS_SOME, NULLS_SOME, NULLS_SOME};
static const int mixed_nulls[] = {NULLS_RUNS, NULLS_SOME, NULLS_RUNS,
                                  NULLS_SOME, NULLS_RUNS, NULLS_RUNS,
                                  NULLS_SOME};
static const int no_nulls[] = {NULLS_NONE, NULLS_NONE, NULLS_NONE, NULLS_NONE,
                               NULLS_NONE, NULLS_NONE, NULLS_NONE};

static void test_types_nullable(void **state) {
  (void)state;
  const size_t rows[] = {50};
  tcase tc = {opt_specs, some_nulls, 7, rows, 1, {KS_CODEC_NONE, 0, 0, NULL},
              NULL,      0};
  tresult r = run_case("nullable", &tc, "ksink.test");
  assert_int_equal(r.pages, 7);
}

/* Required columns, three row groups, small pages. */
static void test_types_required_pages(void **state) {
  (void)state;
  const size_t rows[] = {400, 1, 700};
  tcase tc = {req_specs, no_nulls, 7,
              rows,      3,        {KS_CODEC_NONE, 0, 256, "ksink test"},
              NULL,      0};
  tresult r = run_case("required", &tc, NULL);
  /* int64 alone: 1100 values * 8 bytes / 256 = 35 pages or so */
  assert_true(r.pages > 100);
  assert_true(r.max_sink < r.size / 4); /* streamed, not held whole */
}

/* A column of only nulls and a nullable column without any null, for
 * every type, over two row groups. */
static void test_null_patterns(void **state) {
  (void)state;
  ks_colspec specs[14];
  int nulls[14];
  char names[14][8];
  for (int k = 0; k < 14; k++) {
    specs[k] = opt_specs[k / 2];
    snprintf(names[k], sizeof names[k], "%s_%s", opt_specs[k / 2].name,
             k % 2 ? "none" : "all");
    specs[k].name = names[k];
    nulls[k] = k % 2 ? NULLS_NONE : NULLS_ALL;
  }
  const size_t rows[] = {30, 20};
  tcase tc = {specs, nulls, 14, rows, 2, {KS_CODEC_SNAPPY, 0, 64, NULL},
              NULL,  0};
  run_case("nulls", &tc, NULL);
}

static void test_codecs(void **state) {
  (void)state;
  const size_t rows[] = {500, 333};
  for (ks_codec c = KS_CODEC_NONE; c <= KS_CODEC_GZIP; c++) {
    tcase tc = {opt_specs, mixed_nulls,        7,    rows,
                2,         {c, 5, 1024, NULL}, NULL, 0};
    char name[32];
    snprintf(name, sizeof name, "codec%d", (int)c);
    tresult r = run_case(name, &tc, NULL);
    assert_true(r.pages > 14);
  }
}

/* NaN is left out of min/max; zero bounds are -0.0 (min) and +0.0 (max);
 * a chunk of only NaN has no bounds. */
static void test_double_bounds(void **state) {
  (void)state;
  static const ks_colspec specs[] = {{"d", KS_COL_DOUBLE, 1}};
  static const int nulls[] = {NULLS_NONE};
  const size_t rows[] = {4, 3, 2, 4};
  const double v1[] = {NAN,
                       0.0,
                       2.5,
                       -0.0,
                       /* rg 0 */ -1.5,
                       0.0,
                       -0.0,
                       /* rg 1 */ NAN,
                       NAN,
                       /* rg 2 */ 1.0,
                       -0.0,
                       3.0,
                       0.25};
  tcase tc = {specs, nulls, 1, rows, 4, {KS_CODEC_ZSTD, 0, 0, NULL}, v1, 13};
  run_case("double", &tc, NULL);
}

/* Strings across several 1 MiB pages, and enough rows to matter. */
static void test_large(void **state) {
  (void)state;
  static const ks_colspec specs[] = {{"id", KS_COL_INT64, 0},
                                     {"s", KS_COL_STRING, 1},
                                     {"d", KS_COL_DOUBLE, 1}};
  static const int nulls[] = {NULLS_NONE, NULLS_SOME, NULLS_NONE};
  const size_t rows[] = {120000, 80000};
  tcase tc = {specs, nulls, 3, rows, 2, {KS_CODEC_SNAPPY, 0, 0, NULL}, NULL, 0};
  tresult r = run_case("large", &tc, NULL);
  assert_true(r.pages > 6);
}

static void test_empty_file(void **state) {
  (void)state;
  tcase tc = {opt_specs, some_nulls, 7, NULL, 0, {KS_CODEC_GZIP, 0, 0, NULL},
              NULL,      0};
  tresult r = run_case("empty", &tc, NULL);
  assert_int_equal(r.pages, 0);
}

static void test_errors(void **state) {
  (void)state;
  ks_rowgroup rg;
  filesink fs = {fopen("/dev/null", "wb"), 0, -1};
  /* a null in a REQUIRED column cannot be written */
  ks_pq_writer *w = ks_pq_writer_new(req_specs, 1, NULL, sink_file, &fs);
  ks_rowgroup_init(&rg, req_specs, 1);
  ks_column_append_bool(&rg.cols[0], 1);
  ks_column_append_null(&rg.cols[0]);
  rg.nrows = 2;
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), KS_EINVAL);
  /* refused before any byte went out: the file can still be finished */
  assert_int_equal(ks_pq_writer_bytes(w), 0);
  assert_int_equal(ks_pq_writer_close(w), 0);
  ks_rowgroup_free(&rg);
  ks_pq_writer_free(w);

  /* a row group of another schema */
  w = ks_pq_writer_new(req_specs, 2, NULL, sink_file, &fs);
  ks_rowgroup_init(&rg, opt_specs, 2);
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), KS_EINVAL);
  ks_rowgroup_free(&rg);
  ks_pq_writer_free(w);

  /* a sink failure sticks: later calls report it */
  fs.fail_after = 2;
  w = ks_pq_writer_new(opt_specs, 1, NULL, sink_file, &fs);
  ks_rowgroup_init(&rg, opt_specs, 1);
  ks_column_append_bool(&rg.cols[0], 1);
  rg.nrows = 1;
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), KS_EIO);
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), KS_EIO);
  assert_int_equal(ks_pq_writer_close(w), KS_EIO);
  ks_rowgroup_free(&rg);
  ks_pq_writer_free(w);
  fclose(fs.f);
}

static int group_setup(void **state) {
  (void)state;
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  char cmd[128]; /* a failed case leaves its file behind for a look */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types_nullable),
      cmocka_unit_test(test_types_required_pages),
      cmocka_unit_test(test_null_patterns),
      cmocka_unit_test(test_codecs),
      cmocka_unit_test(test_double_bounds),
      cmocka_unit_test(test_large),
      cmocka_unit_test(test_empty_file),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
