/* Partition values: PROTOCOL.md serialization, Hive path escaping, the
 * add.path URI layer, derived values and path_format layouts, and the
 * start-up checks of partition_by. */
#include "conf/conf.h"
#include "stages/record/schema.h"
#include "stages/table/partitioner.h"
#include "storage/parquet/schema_tree.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static char *str_of(ks_buf *b) {
  ks_buf_cstr(b);
  return (char *)b->data;
}

static void escape_is(const char *in, const char *want) {
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_partition_escape(&b, in, strlen(in)), 0);
  assert_string_equal(str_of(&b), want);
  ks_buf_free(&b);
}

static void uri_is(const char *in, const char *want) {
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_partition_uri_encode(&b, in, strlen(in)), 0);
  assert_string_equal(str_of(&b), want);
  ks_buf_free(&b);
}

static void test_escape(void **state) {
  (void)state;
  escape_is("a/b", "a%2Fb");
  escape_is("x=y", "x%3Dy");
  escape_is("100%", "100%25");
  escape_is("with space", "with space");
  escape_is("caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5");
  escape_is("a:b?c#d*e'f\"g\\h{i[j]k^l",
            "a%3Ab%3Fc%23d%2Ae%27f%22g%5Ch%7Bi%5Bj%5Dk%5El");
  escape_is("tab\there\n\x7f", "tab%09here%0A%7F");
  escape_is("keep-_.~!@$&()+,;<>|}", "keep-_.~!@$&()+,;<>|}");
}

static void test_uri(void **state) {
  (void)state;
  uri_is("k=a%2Fb/part-0.parquet", "k=a%252Fb/part-0.parquet");
  uri_is("k=with space/f", "k=with%20space/f");
  uri_is("k=caf\xc3\xa9/f", "k=caf%C3%A9/f");
  uri_is("k=__HIVE_DEFAULT_PARTITION__/f", "k=__HIVE_DEFAULT_PARTITION__/f");
}

static void value_is(ks_coltype t, const void *v, size_t n, const char *want) {
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_partition_value(&b, t, v, n), 0);
  assert_string_equal(str_of(&b), want);
  ks_buf_free(&b);
}

static void test_values(void **state) {
  (void)state;
  int32_t i32 = -42, days = 19723; /* 2024-01-01 */
  int64_t i64 = INT64_C(9007199254740993);
  uint8_t yes = 1, no = 0;
  value_is(KS_COL_INT32, &i32, 4, "-42");
  value_is(KS_COL_INT64, &i64, 8, "9007199254740993");
  value_is(KS_COL_BOOLEAN, &yes, 1, "true");
  value_is(KS_COL_BOOLEAN, &no, 1, "false");
  value_is(KS_COL_STRING, "a/b", 3, "a/b");
  value_is(KS_COL_DATE, &days, 4, "2024-01-01");
  days = -1;
  value_is(KS_COL_DATE, &days, 4, "1969-12-31");
  int64_t ts = INT64_C(1704067200000000) + INT64_C(3723000000); /* 01:02:03 */
  value_is(KS_COL_TIMESTAMP, &ts, 8, "2024-01-01 01:02:03");
  ts += 123456;
  value_is(KS_COL_TIMESTAMP, &ts, 8, "2024-01-01 01:02:03.123456");
  ts = -1; /* one microsecond before the epoch */
  value_is(KS_COL_TIMESTAMP, &ts, 8, "1969-12-31 23:59:59.999999");
}

/* A config with one table over a schema, for ks_partitioner_new. */
static const char *schema_json =
    "{\"type\":\"object\",\"properties\":{"
    "\"k\":{\"type\":[\"string\",\"null\"]},"
    "\"n\":{\"type\":\"integer\"},"
    "\"ts\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"d\":{\"type\":\"number\"},"
    "\"o\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}}}"
    "}}";

typedef struct fixture {
  ks_conf *conf;
  ks_schema *schema;
  ks_pq_schema *pq;
  size_t ndata;
} fixture;

static const ks_colspec meta[] = {
    {"_kafka_topic", KS_COL_STRING, 0},
    {"_kafka_partition", KS_COL_INT32, 0},
    {"_kafka_offset", KS_COL_INT64, 0},
    {"_kafka_timestamp", KS_COL_TIMESTAMP, 1},
};

/* Loads a config of one table t with the given extra table keys. */
static int load_conf(const char *table_extra, ks_conf **out, char *err,
                     size_t errlen) {
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "storage: {url: \"file:///tmp/x\"}\n"
           "kafka: {bootstrap.servers: mock}\n"
           "tables:\n"
           "  - name: t\n"
           "    topics: [t]\n"
           "%s",
           table_extra);
  return ks_conf_load_string(yaml, strlen(yaml), "test.yaml", out, err, errlen);
}

static int setup_conf(fixture *fx, const char *table_extra) {
  char err[512];
  int r = load_conf(table_extra, &fx->conf, err, sizeof err);
  if (r)
    print_message("%s\n", err);
  assert_int_equal(r, 0);
  assert_int_equal(ks_schema_load_string(schema_json, strlen(schema_json),
                                         "s.json", &fx->schema, err,
                                         sizeof err),
                   0);
  fx->pq = ks_schema_table_tree(fx->schema, meta, 4, err, sizeof err);
  assert_non_null(fx->pq);
  fx->ndata = ks_schema_ncolumns(fx->schema);
  return 0;
}

static void teardown_conf(fixture *fx) {
  ks_pq_schema_free(fx->pq);
  ks_schema_free(fx->schema);
  ks_conf_free(fx->conf);
}

static void refused(const char *extra, const char *want) {
  fixture fx;
  char err[512] = "";
  ks_partitioner *pt = NULL;
  setup_conf(&fx, extra);
  assert_int_equal(ks_partitioner_new(fx.conf->file, &fx.conf->tables[0], 0,
                                      fx.pq, fx.ndata, &pt, err, sizeof err),
                   KS_ECONFIG);
  if (strstr(err, want) == NULL)
    fail_msg("error \"%s\" lacks \"%s\"", err, want);
  assert_non_null(strstr(err, "test.yaml:"));
  teardown_conf(&fx);
}

static void test_startup_checks(void **state) {
  (void)state;
  refused("    partition_by: [nope]\n", "\"nope\" is neither");
  refused("    partition_by: [o]\n", "struct, list or map");
  refused("    partition_by: [d]\n", "fraction");
  refused("    partition_by: [_kafka_partition]\n", "_kafka_*");
  refused("    partition_by: [day]\n    derive: {day: {from: k, as: date}}\n",
          "not a timestamp");
  refused("    partition_by: [k]\n    derive: {h: {from: ts, as: hour}}\n",
          "list it in partition_by");
}

/* Stages one row: k, n, ts (data), then the meta columns. */
static void stage(ks_rowgroup *rg, const char *k, int64_t n, int64_t ts,
                  int64_t kafka_ts) {
  ks_rowgroup_reset(rg);
  ks_rowgroup_mark_row(rg);
  /* leaves: k, n, ts, d, o.x, topic, partition, offset, timestamp */
  if (k)
    ks_column_append_str(&rg->cols[0], k, strlen(k));
  else
    ks_column_append_null(&rg->cols[0]);
  ks_column_append_i64(&rg->cols[1], n);
  ks_column_append_i64(&rg->cols[2], ts);
  ks_column_append_null(&rg->cols[3]);
  ks_column_append_levels(&rg->cols[4], 0, 0);
  ks_column_append_str(&rg->cols[5], "t", 1);
  ks_column_append_i32(&rg->cols[6], 0);
  ks_column_append_i64(&rg->cols[7], 0);
  ks_column_append_i64(&rg->cols[8], kafka_ts);
  ks_rowgroup_commit_row(rg);
}

static void test_route(void **state) {
  (void)state;
  fixture fx;
  char err[512];
  ks_partitioner *pt;
  setup_conf(&fx, "    partition_by: [k, day, hr]\n"
                  "    derive: {day: {from: ts, as: date}, hr: {from: ts, "
                  "as: hour}}\n");
  assert_int_equal(ks_partitioner_new(fx.conf->file, &fx.conf->tables[0], 0,
                                      fx.pq, fx.ndata, &pt, err, sizeof err),
                   0);
  assert_int_equal(ks_partitioner_ncols(pt), 3);
  assert_int_equal(ks_partitioner_col_type(pt, 1), KS_COL_DATE);
  assert_int_equal(ks_partitioner_col_type(pt, 2), KS_COL_INT32);
  assert_true(ks_partitioner_col_is_field(pt, 0));
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, fx.pq);
  ks_buf dir, vals;
  ks_buf_init(&dir, 0);
  ks_buf_init(&vals, 0);
  uint8_t isnull[3];
  int64_t ts = INT64_C(1704067200000000) + INT64_C(5) * 3600000000;
  stage(&rg, "x=y/z", 1, ts, 0);
  assert_int_equal(ks_partitioner_route(pt, &rg, &dir, &vals, isnull), 0);
  assert_string_equal(str_of(&dir), "k=x%3Dy%2Fz/day=2024-01-01/hr=5");
  assert_string_equal((char *)vals.data, "x=y/z");
  assert_false(isnull[0]);
  ks_buf_reset(&dir);
  ks_buf_reset(&vals);
  stage(&rg, NULL, 1, ts, 0);
  assert_int_equal(ks_partitioner_route(pt, &rg, &dir, &vals, isnull), 0);
  assert_string_equal(str_of(&dir),
                      "k=__HIVE_DEFAULT_PARTITION__/day=2024-01-01/hr=5");
  assert_true(isnull[0]);
  ks_buf_reset(&dir);
  ks_buf_reset(&vals);
  stage(&rg, "", 1, ts, 0); /* "" is null, as Spark stores it */
  assert_int_equal(ks_partitioner_route(pt, &rg, &dir, &vals, isnull), 0);
  assert_true(isnull[0]);
  ks_partitioner_free(pt);
  ks_rowgroup_free(&rg);
  ks_buf_free(&dir);
  ks_buf_free(&vals);
  teardown_conf(&fx);
}

static void test_path_format(void **state) {
  (void)state;
  fixture fx;
  char err[512];
  ks_partitioner *pt;
  setup_conf(&fx, "    format: parquet\n"
                  "    path_format: \"'year'=YYYY/'month'=MM/'day'=dd/'hour'="
                  "HH\"\n"
                  "    timezone: \"+02:00\"\n");
  assert_int_equal(ks_partitioner_new(fx.conf->file, &fx.conf->tables[0], 0,
                                      fx.pq, fx.ndata, &pt, err, sizeof err),
                   0);
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, fx.pq);
  ks_buf dir, vals;
  ks_buf_init(&dir, 0);
  ks_buf_init(&vals, 0);
  /* 2024-12-31 23:30 UTC is 2025-01-01 01:30 at +02:00; the Kafka
   * timestamp (no timestamp_field) decides */
  int64_t kts = INT64_C(1735687800000000);
  stage(&rg, "a", 1, 0, kts);
  assert_int_equal(ks_partitioner_route(pt, &rg, &dir, &vals, NULL), 0);
  assert_string_equal(str_of(&dir), "year=2025/month=01/day=01/hour=01");
  ks_partitioner_free(pt);
  teardown_conf(&fx);
  /* a named zone: the offset in force at each instant (CET, CEST) */
  setup_conf(&fx, "    format: parquet\n"
                  "    path_format: \"YYYY-MM-dd/HH\"\n"
                  "    timezone: Europe/Berlin\n");
  assert_int_equal(ks_partitioner_new(fx.conf->file, &fx.conf->tables[0], 0,
                                      fx.pq, fx.ndata, &pt, err, sizeof err),
                   0);
  static const struct {
    int64_t utc_s;
    const char *dir;
  } berlin[] = {
      {1735687800, "2025-01-01/00"}, /* 2024-12-31 23:30 UTC, CET */
      {1751326200, "2025-07-01/01"}, /* 2025-06-30 23:30 UTC, CEST */
      {1743296399, "2025-03-30/01"}, /* 00:59:59 UTC, a second before CEST */
      {1743296400, "2025-03-30/03"}, /* 01:00 UTC: 02:00 CET is 03:00 CEST */
      {1761440400, "2025-10-26/02"}, /* 01:00 UTC: 03:00 CEST is 02:00 CET */
  };
  for (size_t i = 0; i < sizeof berlin / sizeof berlin[0]; i++) {
    ks_buf_reset(&dir);
    ks_rowgroup_reset(&rg);
    stage(&rg, "a", 1, 0, berlin[i].utc_s * 1000000);
    assert_int_equal(ks_partitioner_route(pt, &rg, &dir, &vals, NULL), 0);
    assert_string_equal(str_of(&dir), berlin[i].dir);
  }
  ks_partitioner_free(pt);
  teardown_conf(&fx);
  setup_conf(&fx, "    format: jsonl\n    path_format: \"YYYY/MM/dd\"\n"
                  "    timestamp_field: ts\n");
  assert_int_equal(ks_partitioner_new(fx.conf->file, &fx.conf->tables[0], 0,
                                      fx.pq, fx.ndata, &pt, err, sizeof err),
                   0);
  ks_buf_reset(&dir);
  stage(&rg, "a", 1, 0, kts); /* ts = the epoch */
  assert_int_equal(ks_partitioner_route(pt, &rg, &dir, &vals, NULL), 0);
  assert_string_equal(str_of(&dir), "1970/01/01");
  ks_partitioner_free(pt);
  teardown_conf(&fx);
  refused("    format: jsonl\n    path_format: \"YYYY/QQ\"\n", "expected a "
                                                               "layout");
  ks_rowgroup_free(&rg);
  ks_buf_free(&dir);
  ks_buf_free(&vals);
}

/* The config keys' own checks, before any schema is read. */
static void conf_refused(const char *extra, const char *want) {
  char err[512] = "";
  ks_conf *c = NULL;
  assert_int_equal(load_conf(extra, &c, err, sizeof err), KS_ECONFIG);
  if (strstr(err, want) == NULL)
    fail_msg("error \"%s\" lacks \"%s\"", err, want);
  assert_non_null(strstr(err, "test.yaml:"));
}

static void test_conf_checks(void **state) {
  (void)state;
  conf_refused("    format: jsonl\n    compression: snappy\n",
               "gzip, zstd or none");
  conf_refused("    path_format: \"YYYY\"\n", "for format parquet or jsonl");
  conf_refused("    format: parquet\n    partition_by: [k]\n"
               "    path_format: \"YYYY\"\n",
               "exclude each other");
  conf_refused("    format: parquet\n    path_format: \"YYYY\"\n"
               "    timezone: Europe/../Berlin\n",
               "expected UTC, a fixed offset like +02:00 or a zone name like "
               "Europe/Berlin, got \"Europe/../Berlin\"");
  conf_refused("    format: parquet\n    path_format: \"YYYY\"\n"
               "    timezone: Mars/Olympus_Mons\n",
               "no time zone Mars/Olympus_Mons");
  conf_refused("    timestamp_field: ts\n", "only used with path_format");
  conf_refused("    partition_by: [a, A]\n", "listed twice");
  conf_refused("    partition_by: []\n", "non-empty sequence");
  conf_refused("    derive: {d: {from: ts, as: week}}\n",
               "tables[0].derive.d.as");
  conf_refused("    derive: {d: {as: date}}\n", "from: missing");
  conf_refused("    max_open_partitions: 0\n", "max_open_partitions");
  /* jsonl defaults to no compression */
  char err[512];
  ks_conf *c = NULL;
  const char *ok = "storage: {url: \"file:///tmp/x\"}\n"
                   "kafka: {bootstrap.servers: mock}\n"
                   "tables:\n  - {name: t, topics: [t], format: jsonl}\n";
  assert_int_equal(
      ks_conf_load_string(ok, strlen(ok), "test.yaml", &c, err, sizeof err), 0);
  assert_int_equal(c->tables[0].codec, KS_CODEC_NONE);
  assert_int_equal(c->tables[0].max_open_partitions, 64);
  ks_conf_free(c);
}

static void dir_limits(void **state) {
  (void)state;
  char msg[256], dir[1200];
  assert_int_equal(ks_partition_dir_check("a=1/b=x", 7, msg, sizeof msg), 0);
  assert_int_equal(ks_partition_dir_check("", 0, msg, sizeof msg), 0);
  /* a 255-byte segment is the most a file system takes */
  int n = sprintf(dir, "d=1/region=");
  memset(dir + n, 'R', 255 - 7);
  n += 255 - 7;
  dir[n] = 0;
  assert_int_equal(ks_partition_dir_check(dir, (size_t)n, msg, sizeof msg), 0);
  dir[n++] = 'R';
  dir[n] = 0;
  assert_int_equal(ks_partition_dir_check(dir, (size_t)n, msg, sizeof msg),
                   KS_EINVALID);
  assert_string_equal(msg, ": partition column region: value makes a path "
                           "segment of 256 bytes (at most 255)");
  /* short segments, too long a path in all (S3 keys stop at 1,024) */
  n = 0;
  for (int i = 0; i < 8; i++)
    n += sprintf(dir + n, "%scol%d=%0100d", i ? "/" : "", i, 0);
  assert_int_equal(ks_partition_dir_check(dir, (size_t)n, msg, sizeof msg),
                   KS_EINVALID);
  assert_non_null(strstr(msg, "partition directory of 847 bytes"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(dir_limits),
      cmocka_unit_test(test_escape),      cmocka_unit_test(test_uri),
      cmocka_unit_test(test_values),      cmocka_unit_test(test_startup_checks),
      cmocka_unit_test(test_route),       cmocka_unit_test(test_path_format),
      cmocka_unit_test(test_conf_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
