/*
 * stages/record/transform: each transform over JSON records, read back as
 * the JSON text its events spell (a yajl_gen sink), so field order, nested
 * values, missing fields and the envelope shapes are checked exactly.
 * Also the SimpleDateFormat patterns (base/datefmt), the key and header
 * encodings (keyhdr) and the config errors of the new keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yajl/yajl_gen.h>

#include "base/datefmt.h"
#include "conf/conf.h"
#include "stages/record/keyhdr.h"
#include "stages/record/transform.h"

static ks_conf *conf_with(const char *table_keys) {
  char doc[4096];
  snprintf(doc, sizeof doc,
           "storage:\n  url: file:///tmp/ks-xf\ntables:\n  - name: t\n"
           "    topics: [orders]\n%skafka:\n  bootstrap.servers: mock\n",
           table_keys);
  ks_conf *c = NULL;
  char err[512] = "";
  int r = ks_conf_load_string(doc, strlen(doc), "t.yaml", &c, err, sizeof err);
  if (r)
    print_error("config: %s\n", err);
  assert_int_equal(r, 0);
  return c;
}

static const char *conf_error(const char *table_keys, char *err, size_t n) {
  char doc[4096];
  snprintf(doc, sizeof doc,
           "storage:\n  url: file:///tmp/ks-xf\ntables:\n  - name: t\n%s"
           "kafka:\n  bootstrap.servers: mock\n",
           table_keys);
  ks_conf *c = NULL;
  int r = ks_conf_load_string(doc, strlen(doc), "t.yaml", &c, err, n);
  assert_int_equal(r, KS_ECONFIG);
  return err;
}

/* Runs the table's transforms over in: returns the status, the output
 * JSON in out. */
static int run(const ks_conf *c, const char *in, char *out, size_t cap) {
  const ks_conf_table *t = &c->tables[0];
  yajl_gen g = yajl_gen_alloc(NULL);
  ks_xf *x = ks_xf_new(t->transforms, t->ntransforms, ks_xf_gen_callbacks(), g);
  assert_non_null(x);
  ks_xf_meta meta = {"orders", 3, 42, 1700000000123};
  ks_xf_begin(x, &meta);
  yajl_handle h = yajl_alloc(ks_xf_callbacks(), NULL, ks_xf_entry(x));
  yajl_status st = yajl_parse(h, (const unsigned char *)in, strlen(in));
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  int status = ks_xf_status(x);
  if (status == 0)
    assert_int_equal(st, yajl_status_ok);
  if (status == KS_XF_FAILED)
    snprintf(out, cap, "error: %s", ks_xf_error(x));
  else {
    const unsigned char *buf;
    size_t len;
    yajl_gen_get_buf(g, &buf, &len);
    snprintf(out, cap, "%.*s", (int)len, buf);
  }
  yajl_free(h);
  ks_xf_free(x);
  yajl_gen_free(g);
  return status;
}

static void expect(const ks_conf *c, const char *in, const char *want) {
  char out[2048];
  run(c, in, out, sizeof out);
  if (strcmp(out, want) != 0)
    print_error("in:   %s\nwant: %s\ngot:  %s\n", in, want, out);
  assert_string_equal(out, want);
}

/* ---- extract_field ---- */

static void test_extract_field(void **state) {
  (void)state;
  ks_conf *c = conf_with("    transforms:\n      - extract_field: payload\n");
  /* before and after the field, nested values, the field's own nesting */
  expect(c,
         "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"a\":[1,{}]}]},"
         "\"payload\":{\"id\":1,\"tags\":[\"x\",{\"y\":null}],\"o\":{\"p\":"
         "true}},\"more\":[1,2]}",
         "{\"id\":1,\"tags\":[\"x\",{\"y\":null}],\"o\":{\"p\":true}}");
  expect(c, "{\"payload\":{}}", "{}");
  expect(c, "{\"a\":1}",
         "error: transforms[extract_field]: the record has no field "
         "\"payload\"");
  expect(c, "[1]",
         "error: transforms[extract_field]: the record is not an object");
  /* a repeated field: the first is the value */
  expect(c, "{\"payload\":{\"a\":1},\"payload\":{\"a\":2}}", "{\"a\":1}");
  /* a nested "payload" is not the field */
  expect(c, "{\"x\":{\"payload\":{\"a\":1}}}",
         "error: transforms[extract_field]: the record has no field "
         "\"payload\"");
  ks_conf_free(c);
}

/* ---- replace_field ---- */

static void test_replace_field(void **state) {
  (void)state;
  ks_conf *c = conf_with("    transforms:\n      - replace_field: { exclude: "
                         "[password, nested], rename: { uid: user_id, a: b } "
                         "}\n");
  expect(c,
         "{\"uid\":7,\"password\":\"s3cret\",\"nested\":{\"uid\":1,\"x\":[1]},"
         "\"keep\":{\"uid\":2,\"password\":3},\"a\":[{\"a\":1}]}",
         "{\"user_id\":7,\"keep\":{\"uid\":2,\"password\":3},\"b\":[{\"a\":1}"
         "]}");
  ks_conf_free(c);
  c = conf_with("    transforms:\n      - replace_field: { include: [id, "
                "name] }\n");
  expect(c, "{\"id\":1,\"x\":{\"id\":9},\"name\":\"n\",\"y\":[1,2]}",
         "{\"id\":1,\"name\":\"n\"}");
  expect(c, "{\"x\":1}", "{}");
  ks_conf_free(c);
}

/* ---- insert_field ---- */

static void test_insert_field(void **state) {
  (void)state;
  ks_conf *c = conf_with(
      "    transforms:\n      - insert_field: { static: { source: web, "
      "v: \"2\" }, timestamp: ingested_at, topic: t, partition: p, offset: "
      "o }\n");
  expect(c, "{\"id\":1,\"source\":\"old\",\"n\":{\"source\":1}}",
         "{\"id\":1,\"n\":{\"source\":1},\"source\":\"web\",\"v\":\"2\","
         "\"ingested_at\":\"2023-11-14T22:13:20.123000Z\",\"t\":\"orders\","
         "\"p\":3,\"o\":42}");
  ks_conf_free(c);
}

/* ---- timestamp_converter ---- */

static void test_timestamp_converter(void **state) {
  (void)state;
  ks_conf *c = conf_with("    transforms:\n      - timestamp_converter: { "
                         "field: created_at, format: \"yyyy-MM-dd HH:mm:ss\", "
                         "target: timestamp }\n");
  expect(c, "{\"id\":1,\"created_at\":\"2024-02-29 13:04:05\",\"z\":2}",
         "{\"id\":1,\"created_at\":\"2024-02-29T13:04:05.000000Z\",\"z\":2}");
  /* epoch milliseconds, null, nested fields of that name untouched */
  expect(c, "{\"created_at\":1700000000123,\"o\":{\"created_at\":\"x\"}}",
         "{\"created_at\":\"2023-11-14T22:13:20.123000Z\",\"o\":{"
         "\"created_at\":\"x\"}}");
  expect(c, "{\"created_at\":null}", "{\"created_at\":null}");
  expect(c, "{}", "{}");
  expect(c, "{\"created_at\":\"2024-02-30 00:00:00\"}",
         "error: transforms[timestamp_converter]: field \"created_at\": "
         "2024-02-30 00:00:00 does not follow \"yyyy-MM-dd HH:mm:ss\"");
  expect(c, "{\"created_at\":{\"a\":1}}",
         "error: transforms[timestamp_converter]: field \"created_at\" is an "
         "object, not a time");
  ks_conf_free(c);
  c = conf_with("    transforms:\n      - timestamp_converter: { field: ts, "
                "target: unix }\n      - timestamp_converter: { field: d, "
                "target: date }\n      - timestamp_converter: { field: s, "
                "format: \"dd/MMM/yyyy:HH:mm:ss.SSS Z\", target: string }\n");
  expect(
      c,
      "{\"ts\":\"2024-01-02T03:04:05.5+01:00\",\"d\":\"2024-01-02T23:59:59Z\""
      ",\"s\":1704164645500}",
      "{\"ts\":1704161045500,\"d\":\"2024-01-02\",\"s\":\"02/Jan/2024:03:04:"
      "05.500 +0000\"}");
  ks_conf_free(c);
}

/* ---- debezium_unwrap ---- */

static const char *const DBZ_SCHEMA =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"struct\",\"fields\":[{"
    "\"type\":\"int32\",\"field\":\"id\"}],\"field\":\"before\"}]}";

static void test_debezium_unwrap(void **state) {
  (void)state;
  char in[2048];
  ks_conf *c =
      conf_with("    transforms:\n      - debezium_unwrap: { deletes: drop, "
                "add_fields: [op, source.ts_ms, table] }\n");
  /* schemas.enable false: insert, update, delete */
  expect(
      c,
      "{\"before\":null,\"after\":{\"id\":1,\"name\":\"a\",\"o\":{\"k\":[1]}"
      "},\"source\":{\"version\":\"2.1\",\"ts_ms\":1700000000000,\"table\":"
      "\"orders\",\"x\":{\"ts_ms\":5}},\"op\":\"c\",\"ts_ms\":1700000000500}",
      "{\"id\":1,\"name\":\"a\",\"o\":{\"k\":[1]},\"__op\":\"c\","
      "\"__source_ts_ms\":1700000000000,\"__table\":\"orders\"}");
  expect(c,
         "{\"before\":{\"id\":1,\"name\":\"a\"},\"after\":{\"id\":1,\"name\":"
         "\"b\"},\"source\":{\"ts_ms\":1700000001000},\"op\":\"u\"}",
         "{\"id\":1,\"name\":\"b\",\"__op\":\"u\",\"__source_ts_ms\":"
         "1700000001000,\"__table\":null}");
  char out[1024];
  assert_int_equal(run(c,
                       "{\"before\":{\"id\":1},\"after\":null,\"source\":{"
                       "\"ts_ms\":1},\"op\":\"d\"}",
                       out, sizeof out),
                   KS_XF_DROPPED);
  assert_string_equal(out, "");
  /* op before after, source first: the order of members does not matter */
  expect(c,
         "{\"op\":\"r\",\"source\":{\"table\":\"t\",\"ts_ms\":3},\"after\":{"
         "\"id\":2}}",
         "{\"id\":2,\"__op\":\"r\",\"__source_ts_ms\":3,\"__table\":\"t\"}");
  /* schemas.enable true */
  snprintf(in, sizeof in,
           "{\"schema\":%s,\"payload\":{\"before\":null,\"after\":{\"id\":3}"
           ",\"source\":{\"ts_ms\":9},\"op\":\"c\"}}",
           DBZ_SCHEMA);
  expect(c, in,
         "{\"id\":3,\"__op\":\"c\",\"__source_ts_ms\":9,\"__table\":null}");
  snprintf(in, sizeof in,
           "{\"payload\":{\"before\":{\"id\":3},\"after\":null,\"op\":\"d\"},"
           "\"schema\":%s}",
           DBZ_SCHEMA);
  assert_int_equal(run(c, in, out, sizeof out), KS_XF_DROPPED);
  expect(c, "{\"before\":null,\"source\":{}}",
         "error: transforms[debezium_unwrap]: not a Debezium change event (no "
         "\"after\" row)");
  expect(c, "{\"after\":[1],\"op\":\"c\"}",
         "error: transforms[debezium_unwrap]: \"after\" is not an object");
  ks_conf_free(c);

  c = conf_with("    transforms:\n      - debezium_unwrap: { deletes: "
                "rewrite, add_fields: [op] }\n");
  expect(
      c,
      "{\"before\":{\"id\":1,\"n\":{\"a\":[1,2]}},\"after\":null,\"source\":"
      "{\"ts_ms\":1},\"op\":\"d\"}",
      "{\"id\":1,\"n\":{\"a\":[1,2]},\"__op\":\"d\",\"__deleted\":\"true\"}");
  expect(c, "{\"before\":null,\"after\":{\"id\":1},\"op\":\"c\"}",
         "{\"id\":1,\"__op\":\"c\",\"__deleted\":\"false\"}");
  snprintf(in, sizeof in,
           "{\"schema\":%s,\"payload\":{\"before\":{\"id\":4},\"after\":null,"
           "\"source\":{\"ts_ms\":9},\"op\":\"d\"}}",
           DBZ_SCHEMA);
  expect(c, in, "{\"id\":4,\"__op\":\"d\",\"__deleted\":\"true\"}");
  ks_conf_free(c);

  /* chained: unwrap, then rename and convert the unwrapped row */
  c = conf_with(
      "    transforms:\n      - debezium_unwrap: { add_fields: [op] }\n"
      "      - replace_field: { rename: { id: order_id }, exclude: [secret] "
      "}\n      - timestamp_converter: { field: created, target: timestamp "
      "}\n");
  expect(c,
         "{\"after\":{\"id\":5,\"secret\":\"x\",\"created\":1000},\"op\":\"c\""
         "}",
         "{\"order_id\":5,\"created\":\"1970-01-01T00:00:01.000000Z\","
         "\"__op\":\"c\"}");
  ks_conf_free(c);
}

/* ---- filter ---- */

static int hdr(void *arg, const char *name) {
  return strcmp(name, (const char *)arg) == 0;
}

static void test_filter(void **state) {
  (void)state;
  ks_conf *c = conf_with(
      "    transforms:\n      - filter: { predicate: { header: test-event } "
      "}\n      - filter: { predicate: { topic: \"orders\\\\.internal.*\" } "
      "}\n      - filter: { predicate: { tombstone: true } }\n");
  const ks_conf_table *t = &c->tables[0];
  assert_int_equal(
      ks_xf_keep(t->transforms, t->ntransforms, "orders", 0, hdr, "other"), 1);
  assert_int_equal(
      ks_xf_keep(t->transforms, t->ntransforms, "orders", 0, hdr, "test-event"),
      0);
  assert_int_equal(ks_xf_keep(t->transforms, t->ntransforms,
                              "orders.internal.x", 0, hdr, "other"),
                   0);
  /* the whole name must match */
  assert_int_equal(ks_xf_keep(t->transforms, t->ntransforms,
                              "x.orders.internal", 0, hdr, "other"),
                   1);
  assert_int_equal(
      ks_xf_keep(t->transforms, t->ntransforms, "orders", 1, hdr, "other"), 0);
  /* filters do not make a streaming chain */
  assert_null(
      ks_xf_new(t->transforms, t->ntransforms, ks_xf_gen_callbacks(), NULL));
  ks_conf_free(c);
  c = conf_with("    transforms:\n      - filter: { predicate: { header: "
                "keep }, negate: true }\n");
  t = &c->tables[0];
  assert_int_equal(
      ks_xf_keep(t->transforms, t->ntransforms, "orders", 0, hdr, "keep"), 1);
  assert_int_equal(
      ks_xf_keep(t->transforms, t->ntransforms, "orders", 0, hdr, "nope"), 0);
  ks_conf_free(c);
}

/* ---- SimpleDateFormat ---- */

static int64_t parse(const char *pat, const char *s) {
  char err[128];
  ks_datefmt *f = ks_datefmt_compile(pat, err, sizeof err);
  assert_non_null(f);
  int64_t us = 0;
  int r = ks_datefmt_parse(f, s, strlen(s), &us);
  ks_datefmt_free(f);
  return r ? INT64_MIN : us;
}

static void test_datefmt(void **state) {
  (void)state;
  assert_int_equal(parse("yyyy-MM-dd HH:mm:ss", "1970-01-01 00:00:01"),
                   1000000);
  assert_int_equal(parse("yyyyMMddHHmmss", "19700101000002"), 2000000);
  assert_int_equal(
      parse("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "1970-01-01T01:00:00.250+01:00"),
      250000);
  assert_int_equal(parse("dd.MM.yy hh:mm a", "01.01.70 12:30 AM"),
                   30LL * 60 * 1000000);
  assert_int_equal(parse("MMM d, yyyy", "Jan 2, 1970"), 86400LL * 1000000);
  assert_int_equal(parse("yyyy-MM-dd", "2024-13-01"), INT64_MIN);
  assert_int_equal(parse("yyyy-MM-dd", "2024-01-01 "), INT64_MIN);
  assert_int_equal(parse("''yyyy''", "'1970'"), 0);
  char err[128];
  assert_null(ks_datefmt_compile("yyyy-MM-dd EEE", err, sizeof err));
  assert_non_null(strstr(err, "'E'"));
  assert_null(ks_datefmt_compile("yyyy 'oops", err, sizeof err));
  ks_datefmt *f =
      ks_datefmt_compile("yyyy-MM-dd'T'HH:mm:ss.SSS", err, sizeof err);
  char out[64];
  assert_int_equal(ks_datefmt_format(f, -1000, out, sizeof out), 23);
  assert_string_equal(out, "1969-12-31T23:59:59.999");
  ks_datefmt_free(f);
}

/* ---- keys and headers ---- */

static void test_keyhdr(void **state) {
  (void)state;
  char b[16];
  assert_int_equal(ks_keyhdr_base64(b, (const uint8_t *)"\xff\x00\x01", 3), 4);
  assert_memory_equal(b, "/wAB", 4);
  assert_int_equal(ks_keyhdr_base64(b, (const uint8_t *)"ab", 2), 4);
  assert_memory_equal(b, "YWI=", 4);
  ks_colspec specs[] = {{"k", KS_COL_STRING, 1, KS_SHAPE_FLAT}};
  ks_rowgroup rg;
  ks_rowgroup_init(&rg, specs, 1);
  ks_reject rej;
  assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_STRING, "\xc3(", 2,
                                        NULL, 0, &rej),
                   KS_EINVALID);
  assert_int_equal(rej.reason, KS_REASON_INVALID_UTF8);
  assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_JSON, "{\"a\":", 5,
                                        NULL, 0, &rej),
                   KS_EINVALID);
  assert_int_equal(rej.reason, KS_REASON_MALFORMED_JSON);
  assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_JSON, " {\"a\":1} ",
                                        9, NULL, 0, &rej),
                   0);
  assert_int_equal(rg.cols[0].values.len, 7);
  assert_memory_equal(rg.cols[0].values.data, "{\"a\":1}", 7);
  /* one JSON text: a token the key's end cuts off after it is not
   * whitespace (completing the parse let `"ab` through) */
  static const char *const not_one[] = {"{\"a\":1} \"ab", "\"x\"\"",
                                        "1 \"\\u00", "[] t", "2 3"};
  for (size_t i = 0; i < sizeof not_one / sizeof *not_one; i++) {
    assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_JSON, not_one[i],
                                          strlen(not_one[i]), NULL, 0, &rej),
                     KS_EINVALID);
    assert_int_equal(rej.reason, KS_REASON_MALFORMED_JSON);
  }
  assert_int_equal(rg.cols[0].values.len, 7);
  /* json_schema: the JSON after the 5-byte prefix, or after nothing when
   * the __key_schema_id header names the schema */
  assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_JSON_SCHEMA,
                                        "\0\0\0\0\7{\"b\": 2}", 13, NULL, 0,
                                        &rej),
                   0);
  static const uint8_t guid_hdr[17] = {1, 0xab};
  assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_JSON_SCHEMA,
                                        "\"k\"", 3, guid_hdr, 17, &rej),
                   0);
  assert_int_equal(rg.cols[0].values.len, 7 + 8 + 3);
  assert_memory_equal(rg.cols[0].values.data + 7, "{\"b\": 2}\"k\"", 11);
  assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_JSON_SCHEMA,
                                        "{\"b\":2}", 7, NULL, 0, &rej),
                   KS_EINVALID);
  assert_int_equal(rej.reason, KS_REASON_BAD_WIRE_FORMAT);
  assert_string_equal(rej.message, "the record key: first byte is 123, not "
                                   "the magic byte 0 of a Schema Registry "
                                   "serializer (7 bytes)");
  assert_int_equal(ks_keyhdr_append_key(&rg.cols[0], KS_KEY_JSON_SCHEMA,
                                        "\0\0\0\0\7{", 6, NULL, 0, &rej),
                   KS_EINVALID);
  assert_int_equal(rej.reason, KS_REASON_MALFORMED_JSON);
  ks_rowgroup_free(&rg);
}

/* ---- config ---- */

static void test_conf(void **state) {
  (void)state;
  char err[512];
  conf_error("    topics: [\"^orders\\\\..*\"]\n", err, sizeof err);
  assert_string_equal(err, "t.yaml:5: tables[0].topics[0]: \"^orders\\\\..*\" "
                           "starts with ^, which Kafka clients read as a "
                           "regular expression; write it as topics_regex");
  conf_error("    topics_regex: \"orders(\"\n", err, sizeof err);
  assert_non_null(strstr(err, "t.yaml:5: tables[0].topics_regex: expected a "
                              "POSIX extended regular expression"));
  conf_error("    topics: [a]\n    transforms:\n      - extract_feild: x\n",
             err, sizeof err);
  assert_string_equal(err, "t.yaml:7: tables[0].transforms[0].extract_feild: "
                           "unknown key (did you mean \"extract_field\"?)");
  conf_error("    topics: [a]\n    transforms:\n      - timestamp_converter: "
             "{ field: a, format: \"yyyy-EEE\", target: string }\n",
             err, sizeof err);
  assert_non_null(strstr(err, "unsupported pattern letter 'E'"));
  conf_error("    topics: [a]\n    null_values: drop\n", err, sizeof err);
  assert_string_equal(err, "t.yaml:6: tables[0].null_values: expected dlq, "
                           "ignore or fail, got \"drop\"");
  conf_error("    topics: [a]\n    key: { format: avro }\n", err, sizeof err);
  assert_non_null(strstr(err, "tables[0].key.format: expected string, json, "
                              "bytes or json_schema"));
  conf_error("    topics: [a]\n    format: jsonl\n    schema: /dev/null\n"
             "    headers: {}\n",
             err, sizeof err);
  assert_string_equal(err, "t.yaml:8: tables[0]: jsonl files hold the record "
                           "values only; key and headers columns need "
                           "format delta or parquet");
  conf_error("    topics: [a]\n    format: jsonl\n    value_format: avro\n"
             "    transforms:\n      - debezium_unwrap: {}\n"
             "schema_registry:\n  url: http://127.0.0.1:1\n",
             err, sizeof err);
  assert_string_equal(err, "t.yaml:7: tables[0].value_format: avro needs "
                           "format delta or parquet (jsonl files hold each "
                           "value as the JSON text it came as)");
  conf_error("    topics: [a]\n    value_format: json_schema\n"
             "    transforms:\n      - extract_field: payload\n"
             "schema_registry:\n  url: http://127.0.0.1:1\n",
             err, sizeof err);
  assert_string_equal(err, "t.yaml:6: tables[0].value_format: json_schema "
                           "with transforms needs a schema file for the "
                           "transformed record (the registry's schema "
                           "describes the record before them)");
  ks_conf_free(conf_with("    value_format: avro\n    transforms:\n      - "
                         "filter: { predicate: { tombstone: true } }\n"
                         "schema_registry:\n  url: http://127.0.0.1:1\n"));
  conf_error("    topics: [a]\n    transforms:\n      - filter: { predicate: "
             "{ header: a, topic: b } }\n",
             err, sizeof err);
  assert_non_null(strstr(err, "expected exactly one of tombstone, topic, "
                              "header"));
  conf_error("    topics: [a]\n    transforms:\n      - replace_field: { "
             "include: [a], exclude: [b] }\n",
             err, sizeof err);
  assert_non_null(strstr(err, "include and exclude together"));

  ks_conf *c = conf_with("    topics_regex: \"orders\\\\..+\"\n    key: { "
                         "format: json }\n    headers: {}\n    null_values: "
                         "ignore\n");
  assert_int_equal(c->tables[0].key_format, KS_KEY_JSON);
  assert_string_equal(c->tables[0].key_column, "_kafka_key");
  assert_string_equal(c->tables[0].headers_column, "_kafka_headers");
  assert_int_equal(c->tables[0].null_values, KS_NULLS_IGNORE);
  assert_int_equal(ks_conf_table_of(c, "orders"), 0);
  assert_int_equal(ks_conf_table_of(c, "orders.eu"), 0);
  assert_int_equal(ks_conf_table_of(c, "orders."), -1);
  assert_int_equal(ks_conf_table_of(c, "x.orders.eu"), -1);
  ks_conf_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_extract_field),
      cmocka_unit_test(test_replace_field),
      cmocka_unit_test(test_insert_field),
      cmocka_unit_test(test_timestamp_converter),
      cmocka_unit_test(test_debezium_unwrap),
      cmocka_unit_test(test_filter),
      cmocka_unit_test(test_datefmt),
      cmocka_unit_test(test_keyhdr),
      cmocka_unit_test(test_conf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
