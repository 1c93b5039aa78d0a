/* Snapshot replay of a multi-version log. */
#include "base/buf.h"
#include "base/jsontree.h"
#include "base/ks.h"
#include "storage/delta/delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *V0 =
    "{\"commitInfo\":{\"timestamp\":1,\"operation\":\"WRITE\"}}\n"
    "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
    "{\"metaData\":{\"id\":\"m1\",\"format\":{\"provider\":\"parquet\","
    "\"options\":{}},\"schemaString\":\"s0\",\"partitionColumns\":[\"p\"],"
    "\"configuration\":{},\"createdTime\":7}}\n"
    "{\"add\":{\"path\":\"p=1/a.parquet\",\"partitionValues\":{\"p\":\"1\"},"
    "\"size\":100,\"modificationTime\":11,\"dataChange\":true,"
    "\"stats\":\"{\\\"numRecords\\\":5}\"}}\n"
    "{\"add\":{\"path\":\"p=__HIVE_DEFAULT_PARTITION__/b.parquet\","
    "\"partitionValues\":{\"p\":null},\"size\":200,\"modificationTime\":12,"
    "\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":6}\"}}\n"
    "{\"txn\":{\"appId\":\"app-t-0\",\"version\":10,\"lastUpdated\":5}}\n";

static const char *V1 =
    "{\"add\":{\"path\":\"p=2/c.parquet\",\"partitionValues\":{\"p\":\"2\"},"
    "\"size\":300,\"modificationTime\":13,\"dataChange\":true}}\r\n"
    "{\"remove\":{\"path\":\"p=1/a.parquet\",\"deletionTimestamp\":14,"
    "\"dataChange\":true}}\n"
    "\n"
    "{\"txn\":{\"appId\":\"app-t-0\",\"version\":20}}\n"
    "{\"txn\":{\"appId\":\"app-t-1\",\"version\":3}}";

static const char *V2 =
    "{\"metaData\":{\"id\":\"m1\",\"format\":{\"provider\":\"parquet\","
    "\"options\":{}},\"schemaString\":\"s1\",\"partitionColumns\":[],"
    "\"configuration\":{\"delta.appendOnly\":\"true\",\"x\":null}}}\n"
    "{\"add\":{\"path\":\"p=__HIVE_DEFAULT_PARTITION__/b.parquet\","
    "\"partitionValues\":{\"p\":null},\"size\":222,\"modificationTime\":15,"
    "\"dataChange\":false,\"stats\":\"{\\\"numRecords\\\":7}\"}}\n"
    "{\"cdc\":{\"path\":\"_change_data/x.parquet\",\"partitionValues\":{},"
    "\"size\":1,\"dataChange\":false}}\n"
    "{\"domainMetadata\":{\"domain\":\"d\",\"configuration\":\"{}\","
    "\"removed\":false}}\n"
    "{\"someFutureAction\":[1,2,3]}\n";

static int apply(ks_delta_snapshot *s, int64_t v, const char *json, char *err,
                 size_t errlen) {
  return ks_delta_snapshot_apply(s, v, (const uint8_t *)json, strlen(json),
                                 err, errlen);
}

static void load3(ks_delta_snapshot *s) {
  char err[256];
  assert_int_equal(apply(s, 0, V0, err, sizeof err), 0);
  assert_int_equal(apply(s, 1, V1, err, sizeof err), 0);
  assert_int_equal(apply(s, 2, V2, err, sizeof err), 0);
}

static void test_replay(void **state) {
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  assert_int_equal(s.version, -1);
  char err[256];
  assert_int_equal(apply(&s, 0, V0, err, sizeof err), 0);
  assert_int_equal(s.version, 0);
  assert_true(s.has_protocol && s.has_metadata);
  assert_int_equal(s.min_reader, 1);
  assert_int_equal(s.min_writer, 2);
  assert_string_equal(s.metadata.schema_string, "s0");
  assert_int_equal(s.metadata.npartition_columns, 1);
  assert_int_equal(s.nfiles, 2);
  assert_int_equal(ks_delta_snapshot_rows(&s), 11);
  assert_int_equal(ks_delta_snapshot_txn(&s, "app-t-0"), 10);
  assert_int_equal(ks_delta_snapshot_txn(&s, "app-t-1"), -1);
  assert_string_equal(s.files[1].part_names[0], "p");
  assert_null(s.files[1].part_values[0]);

  assert_int_equal(apply(&s, 1, V1, err, sizeof err), 0);
  assert_int_equal(s.nfiles, 2);
  assert_string_equal(s.files[0].path,
                      "p=__HIVE_DEFAULT_PARTITION__/b.parquet");
  assert_string_equal(s.files[1].path, "p=2/c.parquet");
  assert_int_equal(s.files[1].num_records, -1); /* no stats */
  assert_int_equal(ks_delta_snapshot_txn(&s, "app-t-0"), 20);
  assert_int_equal(ks_delta_snapshot_txn(&s, "app-t-1"), 3);

  assert_int_equal(apply(&s, 2, V2, err, sizeof err), 0);
  assert_int_equal(s.version, 2);
  assert_string_equal(s.metadata.schema_string, "s1"); /* replaced */
  assert_int_equal(s.metadata.npartition_columns, 0);
  assert_int_equal(s.metadata.nconf, 2);
  assert_string_equal(s.metadata.conf_keys[0], "delta.appendOnly");
  assert_string_equal(s.metadata.conf_values[0], "true");
  assert_null(s.metadata.conf_values[1]);
  /* b re-added: replaced in place, no duplicate */
  assert_int_equal(s.nfiles, 2);
  assert_int_equal(s.files[0].size, 222);
  assert_int_equal(s.files[0].num_records, 7);
  assert_int_equal(ks_delta_snapshot_rows(&s), 7);
  ks_delta_snapshot_free(&s);
  assert_int_equal(s.version, -1);
}

static void test_version_gap(void **state) {
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  char err[256];
  assert_int_equal(apply(&s, 1, V1, err, sizeof err), KS_ECORRUPT);
  assert_non_null(strstr(err, "version 1"));
  load3(&s);
  assert_int_equal(apply(&s, 4, V1, err, sizeof err), KS_ECORRUPT);
  assert_non_null(strstr(err, "expected version 3"));
  assert_int_equal(apply(&s, 2, V1, err, sizeof err), KS_ECORRUPT);
  assert_int_equal(s.version, 2);
  ks_delta_snapshot_free(&s);
}

static void test_malformed_rejected_whole(void **state) {
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  load3(&s);
  char err[256];
  /* line 2 is not JSON: nothing of the entry is applied, not even line 1 */
  const char *bad = "{\"add\":{\"path\":\"new.parquet\",\"size\":1,"
                    "\"modificationTime\":1,\"partitionValues\":{}}}\n"
                    "{\"txn\":{\"appId\":\"app-t-0\",\"version\":\n";
  assert_int_equal(apply(&s, 3, bad, err, sizeof err), KS_ECORRUPT);
  assert_non_null(strstr(err, "version 3 line 2"));
  assert_int_equal(s.version, 2);
  assert_int_equal(s.nfiles, 2);

  struct {
    const char *json, *msg;
  } cases[] = {
      {"{\"add\":{\"size\":1}}", "version 3 line 1: add.path"},
      {"{\"add\":{\"path\":\"x\",\"size\":\"1\"}}", "add.size"},
      {"{\"add\":{\"path\":\"x\",\"size\":1,\"partitionValues\":{\"p\":1}}}",
       "add.partitionValues"},
      {"{\"txn\":{\"appId\":\"a\",\"version\":1.5}}", "txn.version"},
      {"{\"txn\":{\"version\":1}}", "txn.appId"},
      {"{\"remove\":{}}", "remove.path"},
      {"{\"protocol\":{\"minReaderVersion\":1}}",
       "protocol.minWriterVersion"},
      {"{\"metaData\":{\"id\":\"x\",\"schemaString\":\"s\"}}",
       "metaData.partitionColumns"},
      {"[1,2]", "expected a JSON object"},
      {"{\"add\":{\"path\":\"x\"", "version 3 line 1"},
      /* outside tables: paths leaving the table, JSON too deep */
      {"{\"add\":{\"path\":\"../t2/x.parquet\",\"size\":1}}", "add.path"},
      {"{\"add\":{\"path\":\"p=1/%2E%2E/%2e%2E/x\",\"size\":1}}",
       "add.path"},
      {"{\"add\":{\"path\":\"s3://other/x.parquet\",\"size\":1}}",
       "add.path"},
      {"{\"add\":{\"path\":\"file:/etc/passwd\",\"size\":1}}", "add.path"},
      {"{\"add\":{\"path\":\"/etc/passwd\",\"size\":1}}", "add.path"},
      {"{\"add\":{\"path\":\"x\",\"size\":1,\"stats\":\"{\\\"a\\\":"
       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
       "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
       "}\"}}",
       "add.stats: JSON nested too deep"},
  };
  for (size_t i = 0; i < KS_ARRAY_SIZE(cases); i++) {
    err[0] = 0;
    assert_int_equal(apply(&s, 3, cases[i].json, err, sizeof err),
                     KS_ECORRUPT);
    if (strstr(err, cases[i].msg) == NULL)
      fail_msg("case %zu: '%s' does not mention '%s'", i, err, cases[i].msg);
  }
  assert_int_equal(s.version, 2);
  assert_int_equal(s.nfiles, 2);
  assert_int_equal(ks_delta_snapshot_txn(&s, "app-t-0"), 20);
  ks_delta_snapshot_free(&s);
}

/* 300,000 levels in commitInfo: refused by depth, no stack overflow; a
 * tree that deep (built by yajl directly) is freed without recursion. */
static void test_deep_json(void **state) {
  (void)state;
  enum { DEPTH = 300000 };
  ks_buf b;
  ks_buf_init(&b, 0);
  ks_buf_append_str(&b, "{\"commitInfo\":{\"x\":");
  for (int i = 0; i < DEPTH; i++)
    ks_buf_append_byte(&b, '[');
  for (int i = 0; i < DEPTH; i++)
    ks_buf_append_byte(&b, ']');
  ks_buf_append_str(&b, "}}\n");
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  load3(&s);
  char err[256];
  assert_int_equal(ks_delta_snapshot_apply(&s, 3, b.data, b.len, err,
                                           sizeof err),
                   KS_ECORRUPT);
  assert_non_null(strstr(err, "nested more than 256 levels"));
  assert_int_equal(s.version, 2);
  ks_delta_snapshot_free(&s);
  ks_buf_cstr(&b);
  char *just = ks_strndup((const char *)b.data + strlen("{\"commitInfo\":{\"x\":"),
                          2 * DEPTH);
  yajl_val v = yajl_tree_parse(just, NULL, 0);
  assert_non_null(v);
  ks_json_tree_free(v);
  ks_free(just);
  ks_buf_free(&b);
}

static void test_first_entry_needs_protocol_and_metadata(void **state) {
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  char err[256];
  assert_int_equal(apply(&s, 0, V1, err, sizeof err), KS_ECORRUPT);
  assert_non_null(strstr(err, "version 0"));
  assert_int_equal(s.version, -1);
  assert_int_equal(s.nfiles, 0);
  ks_delta_snapshot_free(&s);
}

/* Many files: the path index survives growth and removals. */
static void test_many_files(void **state) {
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  char err[256];
  assert_int_equal(apply(&s, 0, V0, err, sizeof err), 0);
  ks_buf b;
  ks_buf_init(&b, 0);
  for (int i = 0; i < 1000; i++)
    ks_buf_appendf(&b,
                   "{\"add\":{\"path\":\"f%d.parquet\",\"partitionValues\":{},"
                   "\"size\":%d,\"modificationTime\":1,\"dataChange\":true,"
                   "\"stats\":\"{\\\"numRecords\\\":1}\"}}\n",
                   i, i);
  assert_int_equal(ks_delta_snapshot_apply(&s, 1, b.data, b.len, err,
                                           sizeof err), 0);
  assert_int_equal(s.nfiles, 1002);
  ks_buf_reset(&b);
  for (int i = 0; i < 1000; i += 2)
    ks_buf_appendf(&b, "{\"remove\":{\"path\":\"f%d.parquet\"}}\n", i);
  ks_buf_append_str(&b, "{\"remove\":{\"path\":\"never-added.parquet\"}}\n");
  assert_int_equal(ks_delta_snapshot_apply(&s, 2, b.data, b.len, err,
                                           sizeof err), 0);
  assert_int_equal(s.nfiles, 502);
  assert_int_equal(ks_delta_snapshot_rows(&s), 5 + 6 + 500);
  /* order kept: a, b, f1, f3, ... */
  assert_string_equal(s.files[2].path, "f1.parquet");
  assert_string_equal(s.files[501].path, "f999.parquet");
  /* re-adding an odd file replaces it in place */
  const char *re = "{\"add\":{\"path\":\"f501.parquet\",\"partitionValues\":{},"
                   "\"size\":9,\"modificationTime\":1}}\n";
  assert_int_equal(apply(&s, 3, re, err, sizeof err), 0);
  assert_int_equal(s.nfiles, 502);
  assert_int_equal(s.files[2 + 250].size, 9);
  ks_buf_free(&b);
  ks_delta_snapshot_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replay),
      cmocka_unit_test(test_version_gap),
      cmocka_unit_test(test_malformed_rejected_whole),
      cmocka_unit_test(test_first_entry_needs_protocol_and_metadata),
      cmocka_unit_test(test_deep_json),
      cmocka_unit_test(test_many_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
