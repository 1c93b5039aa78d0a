/* Delta log actions, schema string and add.stats: exact JSON. */
#include "base/buf.h"
#include "base/ks.h"
#include "storage/delta/delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include <cmocka.h>

static ks_buf buf;

static int setup(void **state) {
  ks_buf_init(&buf, 0);
  return 0;
}

static int teardown(void **state) {
  ks_buf_free(&buf);
  return 0;
}

static const char *text(void) {
  ks_buf_cstr(&buf);
  return (const char *)buf.data;
}

static void test_protocol(void **state) {
  assert_int_equal(ks_delta_write_protocol(&buf, 1, 2), 0);
  assert_string_equal(
      text(), "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n");
}

static void test_metadata(void **state) {
  char *parts[] = {"day"};
  char *ck[] = {"delta.appendOnly", "k\"q"};
  char *cv[] = {"true", "a\\b"};
  ks_delta_metadata m = {.id = "5f0c1d5e-0000-4000-8000-000000000001",
                         .schema_string = "{\"type\":\"struct\"}",
                         .partition_columns = parts,
                         .npartition_columns = 1,
                         .created_time = 1700000000123,
                         .conf_keys = ck,
                         .conf_values = cv,
                         .nconf = 2};
  assert_int_equal(ks_delta_write_metadata(&buf, &m), 0);
  assert_string_equal(
      text(),
      "{\"metaData\":{\"id\":\"5f0c1d5e-0000-4000-8000-000000000001\","
      "\"format\":{\"provider\":\"parquet\",\"options\":{}},"
      "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\"}\","
      "\"partitionColumns\":[\"day\"],"
      "\"configuration\":{\"delta.appendOnly\":\"true\",\"k\\\"q\":\"a\\\\b\"},"
      "\"createdTime\":1700000000123}}\n");

  ks_buf_reset(&buf);
  ks_delta_metadata empty = {.id = "x", .schema_string = "s"};
  assert_int_equal(ks_delta_write_metadata(&buf, &empty), 0);
  assert_string_equal(text(),
                      "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":"
                      "\"parquet\",\"options\":{}},\"schemaString\":\"s\","
                      "\"partitionColumns\":[],\"configuration\":{}}}\n");
}

static void test_add(void **state) {
  char *names[] = {"day", "region"};
  char *values[] = {"2026-11-21", NULL};
  ks_delta_add a = {.path = "day=2026-11-21/part-0\t\"x\".parquet",
                    .size = 1234,
                    .modification_time = 1795257413123,
                    .num_records = 3,
                    .stats = "{\"numRecords\":3}",
                    .part_names = names,
                    .part_values = values,
                    .nparts = 2};
  assert_int_equal(ks_delta_write_add(&buf, &a), 0);
  assert_string_equal(
      text(),
      "{\"add\":{\"path\":\"day=2026-11-21/part-0\\t\\\"x\\\".parquet\","
      "\"partitionValues\":{\"day\":\"2026-11-21\",\"region\":null},"
      "\"size\":1234,\"modificationTime\":1795257413123,\"dataChange\":true,"
      "\"stats\":\"{\\\"numRecords\\\":3}\"}}\n");

  ks_buf_reset(&buf);
  ks_delta_add b = {.path = "p.parquet", .size = 0, .modification_time = 5};
  assert_int_equal(ks_delta_write_add(&buf, &b), 0);
  assert_string_equal(text(), "{\"add\":{\"path\":\"p.parquet\","
                              "\"partitionValues\":{},\"size\":0,"
                              "\"modificationTime\":5,\"dataChange\":true}}\n");
}

static void test_txn_and_commit_info(void **state) {
  ks_delta_txn t = {.app_id = "ksink-user_events-3", .version = 41,
                    .last_updated = 1795257413000};
  assert_int_equal(ks_delta_write_txn(&buf, &t), 0);
  t.last_updated = 0;
  t.app_id = "a\x01";
  assert_int_equal(ks_delta_write_txn(&buf, &t), 0);
  assert_int_equal(ks_delta_write_commit_info(&buf, 1795257413000,
                                              "STREAMING UPDATE", "ksink/0.1.0",
                                              1),
                   0);
  assert_string_equal(
      text(),
      "{\"txn\":{\"appId\":\"ksink-user_events-3\",\"version\":41,"
      "\"lastUpdated\":1795257413000}}\n"
      "{\"txn\":{\"appId\":\"a\\u0001\",\"version\":41}}\n"
      "{\"commitInfo\":{\"timestamp\":1795257413000,\"operation\":"
      "\"STREAMING UPDATE\",\"operationParameters\":{},\"engineInfo\":"
      "\"ksink/0.1.0\",\"isBlindAppend\":true}}\n");
}

static void test_failed_action_leaves_buffer_unchanged(void **state) {
  ks_buf small;
  ks_buf_init(&small, 40);
  assert_int_equal(ks_delta_write_protocol(&small, 1, 2), KS_ETOOBIG);
  ks_buf_append_str(&small, "x");
  ks_delta_add a = {.path = "a-long-path-that-does-not-fit.parquet"};
  assert_int_equal(ks_delta_write_add(&small, &a), KS_ETOOBIG);
  assert_int_equal(small.len, 1);
  ks_buf_free(&small);
}

static ks_colspec cols[] = {
    {"id", KS_COL_INT64, 0},     {"n", KS_COL_INT32, 1},
    {"score", KS_COL_DOUBLE, 1}, {"ok", KS_COL_BOOLEAN, 1},
    {"name", KS_COL_STRING, 1},  {"ts", KS_COL_TIMESTAMP, 1},
    {"day", KS_COL_DATE, 1},     {"we\"ird", KS_COL_STRING, 1},
};

static void test_schema_string(void **state) {
  assert_int_equal(ks_delta_schema_string(&buf, cols, KS_ARRAY_SIZE(cols)), 0);
  assert_string_equal(
      text(),
      "{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"id\",\"type\":\"long\",\"nullable\":false,\"metadata\":{}},"
      "{\"name\":\"n\",\"type\":\"integer\",\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"score\",\"type\":\"double\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"ok\",\"type\":\"boolean\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"ts\",\"type\":\"timestamp\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"day\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"we\\\"ird\",\"type\":\"string\",\"nullable\":true,"
      "\"metadata\":{}}]}");
  /* it is valid JSON */
  yajl_val v = yajl_tree_parse(text(), NULL, 0);
  assert_non_null(v);
  yajl_tree_free(v);
}

static void set_str(ks_buf *b, const char *s) {
  ks_buf_init(b, 0);
  ks_buf_append_str(b, s);
}

static void test_stats(void **state) {
  ks_pq_colstats st[KS_ARRAY_SIZE(cols)];
  memset(st, 0, sizeof st);
  st[0] = (ks_pq_colstats){.has_minmax = 1, .min.i = -5, .max.i = 42};
  st[1] = (ks_pq_colstats){.null_count = 10}; /* all null: no bounds */
  st[2] = (ks_pq_colstats){.null_count = 1, .has_minmax = 1, .min.d = 0.1,
                           .max.d = 2.5};
  st[3] = (ks_pq_colstats){.has_minmax = 1, .min.i = 0, .max.i = 1};
  st[4] = (ks_pq_colstats){.null_count = 2, .has_minmax = 1};
  set_str(&st[4].min_s, "alpha");
  /* 40 'z': cut to 32 and suffixed with U+10FFFF */
  set_str(&st[4].max_s, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
  st[5] = (ks_pq_colstats){.has_minmax = 1, .min.i = -1,
                           .max.i = 1795257413123456};
  st[6] = (ks_pq_colstats){.has_minmax = 1, .min.i = -25508, .max.i = 20778};
  /* 40 two-byte code points: min cut to 32 code points (64 bytes) */
  st[7] = (ks_pq_colstats){.has_minmax = 1};
  ks_buf_init(&st[7].min_s, 0);
  for (int i = 0; i < 40; i++)
    ks_buf_append_str(&st[7].min_s, "\xc3\xa9");
  set_str(&st[7].max_s, "short");

  assert_int_equal(
      ks_delta_stats_json(&buf, 10, cols, KS_ARRAY_SIZE(cols), st), 0);
  char e32[65];
  for (int i = 0; i < 32; i++)
    memcpy(e32 + 2 * i, "\xc3\xa9", 2);
  e32[64] = 0;
  char expect[2048];
  snprintf(expect, sizeof expect,
           "{\"numRecords\":10,"
           "\"minValues\":{\"id\":-5,\"score\":0.1,\"ok\":false,"
           "\"name\":\"alpha\",\"ts\":\"1969-12-31T23:59:59.999Z\","
           "\"day\":\"1900-03-01\",\"we\\\"ird\":\"%s\"},"
           "\"maxValues\":{\"id\":42,\"score\":2.5,\"ok\":true,"
           "\"name\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\xf4\x8f\xbf\xbf\","
           "\"ts\":\"2026-11-21T10:36:53.123Z\",\"day\":\"2026-11-21\","
           "\"we\\\"ird\":\"short\"},"
           "\"nullCount\":{\"id\":0,\"n\":10,\"score\":1,\"ok\":0,\"name\":2,"
           "\"ts\":0,\"day\":0,\"we\\\"ird\":0}}",
           e32);
  assert_string_equal(text(), expect);

  /* what a reader parses back: the truncated max still sorts >= the value */
  yajl_val v = yajl_tree_parse(text(), NULL, 0);
  assert_non_null(v);
  const char *path[] = {"maxValues", "name", NULL};
  yajl_val mx = yajl_tree_get(v, path, yajl_t_string);
  assert_non_null(mx);
  const char *got = YAJL_GET_STRING(mx);
  assert_non_null(got);
  ks_buf_cstr(&st[4].max_s);
  assert_true(strcmp(got, (char *)st[4].max_s.data) > 0);
  yajl_tree_free(v);
  for (size_t i = 0; i < KS_ARRAY_SIZE(cols); i++) {
    ks_buf_free(&st[i].min_s);
    ks_buf_free(&st[i].max_s);
  }
}

static void test_stats_non_finite_double(void **state) {
  ks_colspec c[] = {{"d", KS_COL_DOUBLE, 1}};
  ks_pq_colstats st = {.has_minmax = 1, .min.d = -1.0 / 0.0, .max.d = 3};
  assert_int_equal(ks_delta_stats_json(&buf, 2, c, 1, &st), 0);
  assert_string_equal(text(), "{\"numRecords\":2,\"minValues\":{},"
                              "\"maxValues\":{},\"nullCount\":{\"d\":0}}");
}

static void test_uuid(void **state) {
  char a[37], b[37];
  ks_delta_uuid(a);
  ks_delta_uuid(b);
  assert_int_equal(strlen(a), 36);
  assert_true(strcmp(a, b) != 0);
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      assert_int_equal(a[i], '-');
    else
      assert_non_null(strchr("0123456789abcdef", a[i]));
  }
  assert_int_equal(a[14], '4');
  assert_non_null(strchr("89ab", a[19]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_protocol, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
      cmocka_unit_test_setup_teardown(test_add, setup, teardown),
      cmocka_unit_test_setup_teardown(test_txn_and_commit_info, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_failed_action_leaves_buffer_unchanged, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schema_string, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stats_non_finite_double, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_uuid, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
