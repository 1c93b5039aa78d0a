/* schemaString and add.stats for nested schema trees: exact JSON, and the
 * same bytes as the flat functions for a flat tree. */
#include "base/buf.h"
#include "base/ks.h"
#include "storage/delta/delta.h"
#include "storage/parquet/schema_tree.h"

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

/* What a reader does first: parse it. Returns the tree (caller frees). */
static yajl_val parse(void) {
  char err[128];
  yajl_val v = yajl_tree_parse(text(), err, sizeof err);
  if (v == NULL)
    fail_msg("not JSON (%s): %s", err, text());
  return v;
}

static void assert_valid_json(void) {
  yajl_tree_free(parse());
}

static void set_str(ks_buf *b, const char *s) {
  ks_buf_init(b, 0);
  ks_buf_append_str(b, s);
}

/* A DECIMAL > 18 digits bound as the writer keeps it: 16 bytes, LE. */
static void set_i128(ks_buf *b, ks_int128 v) {
  unsigned __int128 u = (unsigned __int128)v;
  ks_buf_init(b, 0);
  for (int i = 0; i < 16; i++) {
    uint8_t byte = (uint8_t)(u >> (8 * i));
    ks_buf_append(b, &byte, 1);
  }
}

static void free_stats(ks_pq_colstats *st, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ks_buf_free(&st[i].min_s);
    ks_buf_free(&st[i].max_s);
  }
}

/* ---- flat trees: the bytes existing tables compare on start-up -------- */

static ks_colspec flat_cols[] = {
    {"id", KS_COL_INT64, 0},     {"n", KS_COL_INT32, 1},
    {"score", KS_COL_DOUBLE, 1}, {"ok", KS_COL_BOOLEAN, 1},
    {"name", KS_COL_STRING, 1},  {"ts", KS_COL_TIMESTAMP, 1},
    {"day", KS_COL_DATE, 1},     {"we\"ird", KS_COL_STRING, 1},
};

/* The same columns built as a tree by hand, as the shredder would. */
static ks_pq_schema *flat_tree(void) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  for (size_t i = 0; i < KS_ARRAY_SIZE(flat_cols); i++)
    assert_non_null(
        ks_pq_add_leaf(root, flat_cols[i].name,
                       flat_cols[i].nullable ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED,
                       flat_cols[i].type));
  assert_int_equal(ks_pq_schema_finish(s), 0);
  return s;
}

static void test_flat_tree_schema_string(void **state) {
  ks_pq_schema *s = flat_tree();
  assert_int_equal(ks_delta_schema_string_tree(&buf, s), 0);
  /* the bytes the flat-only implementation wrote (test_actions.c) */
  const char *expect =
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
      "\"metadata\":{}}]}";
  assert_string_equal(text(), expect);

  ks_buf flat;
  ks_buf_init(&flat, 0);
  assert_int_equal(
      ks_delta_schema_string(&flat, flat_cols, KS_ARRAY_SIZE(flat_cols)), 0);
  assert_int_equal(flat.len, buf.len);
  assert_memory_equal(flat.data, buf.data, buf.len);
  ks_buf_free(&flat);

  /* no columns at all */
  ks_buf_reset(&buf);
  assert_int_equal(ks_delta_schema_string(&buf, NULL, 0), 0);
  assert_string_equal(text(), "{\"type\":\"struct\",\"fields\":[]}");
  ks_pq_schema_free(s);
}

static void test_flat_tree_stats(void **state) {
  ks_pq_schema *s = flat_tree();
  ks_pq_colstats st[KS_ARRAY_SIZE(flat_cols)];
  memset(st, 0, sizeof st);
  st[0] = (ks_pq_colstats){.has_minmax = 1, .min.i = -5, .max.i = 42};
  st[1] = (ks_pq_colstats){.null_count = 10};
  st[2] = (ks_pq_colstats){.null_count = 1,
                           .has_minmax = 1,
                           .min.d = -0.0,
                           .max.d = 1.0 / 0.0}; /* no JSON form */
  st[3] = (ks_pq_colstats){.has_minmax = 1, .min.i = 0, .max.i = 1};
  st[4] = (ks_pq_colstats){.null_count = 2, .has_minmax = 1};
  set_str(&st[4].min_s, "alpha");
  set_str(&st[4].max_s, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
  st[5] =
      (ks_pq_colstats){.has_minmax = 1, .min.i = -1, .max.i = 1795257413123456};
  st[6] = (ks_pq_colstats){.has_minmax = 1, .min.i = -25508, .max.i = 20778};
  st[7] = (ks_pq_colstats){.null_count = 3, .has_minmax = 1};
  set_str(&st[7].min_s, "");
  set_str(&st[7].max_s, "\xc3\xa9t\xc3\xa9");

  assert_int_equal(ks_delta_stats_json_tree(&buf, 10, s, st), 0);
  assert_string_equal(
      text(),
      "{\"numRecords\":10,"
      "\"minValues\":{\"id\":-5,\"ok\":false,\"name\":\"alpha\","
      "\"ts\":\"1969-12-31T23:59:59.999Z\",\"day\":\"1900-03-01\","
      "\"we\\\"ird\":\"\"},"
      "\"maxValues\":{\"id\":42,\"ok\":true,"
      "\"name\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\xf4\x8f\xbf\xbf\","
      "\"ts\":\"2026-11-21T10:36:53.123Z\",\"day\":\"2026-11-21\","
      "\"we\\\"ird\":\"\xc3\xa9t\xc3\xa9\"},"
      "\"nullCount\":{\"id\":0,\"n\":10,\"score\":1,\"ok\":0,\"name\":2,"
      "\"ts\":0,\"day\":0,\"we\\\"ird\":3}}");
  assert_valid_json();

  ks_buf flat;
  ks_buf_init(&flat, 0);
  assert_int_equal(
      ks_delta_stats_json(&flat, 10, flat_cols, KS_ARRAY_SIZE(flat_cols), st),
      0);
  assert_int_equal(flat.len, buf.len);
  assert_memory_equal(flat.data, buf.data, buf.len);
  ks_buf_free(&flat);
  free_stats(st, KS_ARRAY_SIZE(st));
  ks_pq_schema_free(s);
}

/* ---- nested schema strings -------------------------------------------- */

/* The example table of PROTOCOL.md's "Schema Serialization Format". */
static void test_schema_protocol_example(void **state) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_add_leaf(root, "a", KS_PQ_REQUIRED, KS_COL_INT32);
  ks_pq_node *b = ks_pq_add_struct(root, "b", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(b, "d", KS_PQ_REQUIRED, KS_COL_INT32);
  ks_pq_node *c = ks_pq_add_list(root, "c", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(c, "element", KS_PQ_REQUIRED, KS_COL_INT32);
  ks_pq_node *e = ks_pq_add_list(root, "e", KS_PQ_OPTIONAL);
  ks_pq_node *ee = ks_pq_add_struct(e, "element", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(ee, "d", KS_PQ_REQUIRED, KS_COL_INT32);
  ks_pq_node *f = ks_pq_add_map(root, "f", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(f, "value", KS_PQ_OPTIONAL, KS_COL_STRING);
  assert_int_equal(ks_pq_schema_finish(s), 0);

  assert_int_equal(ks_delta_schema_string_tree(&buf, s), 0);
  assert_string_equal(
      text(),
      "{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"a\",\"type\":\"integer\",\"nullable\":false,"
      "\"metadata\":{}},"
      "{\"name\":\"b\",\"type\":{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"d\",\"type\":\"integer\",\"nullable\":false,"
      "\"metadata\":{}}]},\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"c\",\"type\":{\"type\":\"array\",\"elementType\":"
      "\"integer\",\"containsNull\":false},\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"e\",\"type\":{\"type\":\"array\",\"elementType\":"
      "{\"type\":\"struct\",\"fields\":[{\"name\":\"d\",\"type\":"
      "\"integer\",\"nullable\":false,\"metadata\":{}}]},"
      "\"containsNull\":true},\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"f\",\"type\":{\"type\":\"map\",\"keyType\":\"string\","
      "\"valueType\":\"string\",\"valueContainsNull\":true},"
      "\"nullable\":true,\"metadata\":{}}]}");
  assert_valid_json();
  ks_pq_schema_free(s);
}

static void test_schema_decimals_and_deep_nesting(void **state) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_add_decimal(root, "price", KS_PQ_OPTIONAL, 9, 2);
  ks_pq_add_decimal(root, "qty", KS_PQ_REQUIRED, 18, 0);
  ks_pq_add_decimal(root, "big", KS_PQ_OPTIONAL, 38, 10);
  /* map<string, array<decimal(20,4)>> inside a required struct */
  ks_pq_node *o = ks_pq_add_struct(root, "o", KS_PQ_REQUIRED);
  ks_pq_node *m = ks_pq_add_map(o, "m", KS_PQ_REQUIRED);
  ks_pq_node *v = ks_pq_add_list(m, "value", KS_PQ_REQUIRED);
  ks_pq_add_decimal(v, "element", KS_PQ_OPTIONAL, 20, 4);
  /* array<array<timestamp>> */
  ks_pq_node *l = ks_pq_add_list(o, "ll", KS_PQ_OPTIONAL);
  ks_pq_node *inner = ks_pq_add_list(l, "element", KS_PQ_REQUIRED);
  ks_pq_add_leaf(inner, "element", KS_PQ_REQUIRED, KS_COL_TIMESTAMP);
  ks_pq_add_leaf(o, "day", KS_PQ_OPTIONAL, KS_COL_DATE);
  assert_int_equal(ks_pq_schema_finish(s), 0);

  assert_int_equal(ks_delta_schema_string_tree(&buf, s), 0);
  assert_string_equal(
      text(),
      "{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"price\",\"type\":\"decimal(9,2)\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"qty\",\"type\":\"decimal(18,0)\",\"nullable\":false,"
      "\"metadata\":{}},"
      "{\"name\":\"big\",\"type\":\"decimal(38,10)\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"o\",\"type\":{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"keyType\":\"string\","
      "\"valueType\":{\"type\":\"array\",\"elementType\":\"decimal(20,4)\","
      "\"containsNull\":true},\"valueContainsNull\":false},"
      "\"nullable\":false,\"metadata\":{}},"
      "{\"name\":\"ll\",\"type\":{\"type\":\"array\",\"elementType\":"
      "{\"type\":\"array\",\"elementType\":\"timestamp\","
      "\"containsNull\":false},\"containsNull\":false},\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"day\",\"type\":\"date\",\"nullable\":true,"
      "\"metadata\":{}}]},\"nullable\":false,\"metadata\":{}}]}");
  assert_valid_json();
  ks_pq_schema_free(s);
}

/* Delta has no bare repeated field: refused, and nothing is appended. */
static void test_schema_bare_repeated_refused(void **state) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_add_leaf(root, "a", KS_PQ_OPTIONAL, KS_COL_INT64);
  ks_pq_node *g = ks_pq_add_struct(root, "g", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(g, "r", KS_PQ_REPEATED, KS_COL_INT64);
  assert_int_equal(ks_pq_schema_finish(s), 0);
  ks_buf_append_str(&buf, "x");
  assert_int_equal(ks_delta_schema_string_tree(&buf, s), KS_ESCHEMA);
  assert_string_equal(text(), "x");
  ks_pq_schema_free(s);
}

/* ---- nested stats ----------------------------------------------------- */

static void test_stats_nested_structs(void **state) {
  /* id long, user struct<name string, addr struct<zip int, geo
   * struct<lat double>>, tags array<string>>, gone struct<x long> */
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_node *id = ks_pq_add_leaf(root, "id", KS_PQ_REQUIRED, KS_COL_INT64);
  ks_pq_node *user = ks_pq_add_struct(root, "user", KS_PQ_OPTIONAL);
  ks_pq_node *name =
      ks_pq_add_leaf(user, "name", KS_PQ_OPTIONAL, KS_COL_STRING);
  ks_pq_node *addr = ks_pq_add_struct(user, "addr", KS_PQ_OPTIONAL);
  ks_pq_node *zip = ks_pq_add_leaf(addr, "zip", KS_PQ_OPTIONAL, KS_COL_INT32);
  ks_pq_node *geo = ks_pq_add_struct(addr, "geo", KS_PQ_REQUIRED);
  ks_pq_node *lat = ks_pq_add_leaf(geo, "lat", KS_PQ_OPTIONAL, KS_COL_DOUBLE);
  ks_pq_node *tags = ks_pq_add_list(user, "tags", KS_PQ_OPTIONAL);
  ks_pq_node *tag =
      ks_pq_add_leaf(tags, "element", KS_PQ_OPTIONAL, KS_COL_STRING);
  ks_pq_node *gone = ks_pq_add_struct(root, "gone", KS_PQ_OPTIONAL);
  ks_pq_node *x = ks_pq_add_leaf(gone, "x", KS_PQ_OPTIONAL, KS_COL_INT64);
  assert_int_equal(ks_pq_schema_finish(s), 0);
  assert_int_equal(ks_pq_schema_nleaves(s), 6);

  ks_pq_colstats st[6];
  memset(st, 0, sizeof st);
  st[id->leaf] = (ks_pq_colstats){.has_minmax = 1, .min.i = 1, .max.i = 7};
  st[name->leaf] = (ks_pq_colstats){.null_count = 2, .has_minmax = 1};
  set_str(&st[name->leaf].min_s, "ann");
  set_str(&st[name->leaf].max_s, "zoe");
  st[zip->leaf] = (ks_pq_colstats){
      .null_count = 3, .has_minmax = 1, .min.i = -10, .max.i = 99950};
  /* lat is null in every row: no bounds, so geo has no min/max member */
  st[lat->leaf] = (ks_pq_colstats){.null_count = 7};
  st[tag->leaf] = (ks_pq_colstats){.null_count = 4, .has_minmax = 1};
  set_str(&st[tag->leaf].min_s, "a");
  set_str(&st[tag->leaf].max_s, "z");
  st[x->leaf] = (ks_pq_colstats){.null_count = 7};

  assert_int_equal(ks_delta_stats_json_tree(&buf, 7, s, st), 0);
  assert_string_equal(
      text(), "{\"numRecords\":7,"
              "\"minValues\":{\"id\":1,\"user\":{\"name\":\"ann\","
              "\"addr\":{\"zip\":-10}}},"
              "\"maxValues\":{\"id\":7,\"user\":{\"name\":\"zoe\","
              "\"addr\":{\"zip\":99950}}},"
              "\"nullCount\":{\"id\":0,\"user\":{\"name\":2,"
              "\"addr\":{\"zip\":3,\"geo\":{\"lat\":7}}},\"gone\":{\"x\":7}}}");

  /* a reader finds each value at the path of its column */
  yajl_val v = parse();
  const char *zmax[] = {"maxValues", "user", "addr", "zip", NULL};
  yajl_val n = yajl_tree_get(v, zmax, yajl_t_number);
  assert_non_null(n);
  assert_int_equal(YAJL_GET_INTEGER(n), 99950);
  const char *lnull[] = {"nullCount", "user", "addr", "geo", "lat", NULL};
  n = yajl_tree_get(v, lnull, yajl_t_number);
  assert_non_null(n);
  assert_int_equal(YAJL_GET_INTEGER(n), 7);
  const char *tagp[] = {"nullCount", "user", "tags", NULL};
  assert_null(yajl_tree_get(v, tagp, yajl_t_any));
  const char *gonep[] = {"minValues", "gone", NULL};
  assert_null(yajl_tree_get(v, gonep, yajl_t_any));
  yajl_tree_free(v);
  free_stats(st, KS_ARRAY_SIZE(st));
  ks_pq_schema_free(s);
}

/* Arrays and maps: no min/max inside them and no nullCount (what a leaf
 * counts under a LIST is not what Delta's nullCount means); a struct
 * holding only those is left out of all three objects. */
static void test_stats_lists_and_maps_excluded(void **state) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_node *l = ks_pq_add_list(root, "nums", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(l, "element", KS_PQ_OPTIONAL, KS_COL_INT64);
  ks_pq_node *m = ks_pq_add_map(root, "attrs", KS_PQ_OPTIONAL);
  ks_pq_node *mv = ks_pq_add_struct(m, "value", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(mv, "n", KS_PQ_OPTIONAL, KS_COL_INT32);
  ks_pq_node *only = ks_pq_add_struct(root, "only", KS_PQ_OPTIONAL);
  ks_pq_node *ol = ks_pq_add_list(only, "xs", KS_PQ_REQUIRED);
  ks_pq_add_leaf(ol, "element", KS_PQ_REQUIRED, KS_COL_STRING);
  ks_pq_node *k = ks_pq_add_leaf(root, "k", KS_PQ_OPTIONAL, KS_COL_INT64);
  assert_int_equal(ks_pq_schema_finish(s), 0);
  size_t n = ks_pq_schema_nleaves(s);
  assert_int_equal(n, 5); /* element, key, n, element, k */

  ks_pq_colstats st[5];
  memset(st, 0, sizeof st);
  for (size_t i = 0; i < n; i++) {
    st[i] = (ks_pq_colstats){
        .null_count = 1, .has_minmax = 1, .min.i = 1, .max.i = 2};
    set_str(&st[i].min_s, "a");
    set_str(&st[i].max_s, "b");
  }
  assert_int_equal(ks_delta_stats_json_tree(&buf, 3, s, st), 0);
  (void)k;
  assert_string_equal(text(), "{\"numRecords\":3,"
                              "\"minValues\":{\"k\":1},"
                              "\"maxValues\":{\"k\":2},"
                              "\"nullCount\":{\"k\":1}}");
  assert_valid_json();
  free_stats(st, KS_ARRAY_SIZE(st));
  ks_pq_schema_free(s);
}

static void test_stats_decimals(void **state) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_node *d32 = ks_pq_add_decimal(root, "d32", KS_PQ_OPTIONAL, 9, 2);
  ks_pq_node *d64 = ks_pq_add_decimal(root, "d64", KS_PQ_OPTIONAL, 18, 4);
  ks_pq_node *i64 = ks_pq_add_decimal(root, "i64", KS_PQ_OPTIONAL, 18, 0);
  ks_pq_node *w = ks_pq_add_struct(root, "w", KS_PQ_OPTIONAL);
  ks_pq_node *d128 = ks_pq_add_decimal(w, "d128", KS_PQ_OPTIONAL, 38, 10);
  ks_pq_node *frac = ks_pq_add_decimal(w, "frac", KS_PQ_OPTIONAL, 38, 38);
  ks_pq_node *none = ks_pq_add_decimal(w, "none", KS_PQ_OPTIONAL, 20, 2);
  assert_int_equal(ks_pq_schema_finish(s), 0);

  ks_pq_colstats st[6];
  memset(st, 0, sizeof st);
  st[d32->leaf] = (ks_pq_colstats){.has_minmax = 1, .min.i = -5, .max.i = 1234};
  st[d64->leaf] = (ks_pq_colstats){.null_count = 1,
                                   .has_minmax = 1,
                                   .min.i = -999999999999999999,
                                   .max.i = 10000};
  st[i64->leaf] = (ks_pq_colstats){.has_minmax = 1, .min.i = 0, .max.i = 42};
  /* +/- (10^38 - 1): the widest DECIMAL(38) values */
  ks_int128 max38 = 0;
  for (int i = 0; i < 38; i++)
    max38 = max38 * 10 + 9;
  st[d128->leaf] = (ks_pq_colstats){.has_minmax = 1};
  set_i128(&st[d128->leaf].min_s, -max38);
  set_i128(&st[d128->leaf].max_s, (ks_int128)123456789 * 10000000000 + 1);
  st[frac->leaf] = (ks_pq_colstats){.has_minmax = 1};
  set_i128(&st[frac->leaf].min_s, -1);
  set_i128(&st[frac->leaf].max_s, max38);
  st[none->leaf] = (ks_pq_colstats){.null_count = 2};

  assert_int_equal(ks_delta_stats_json_tree(&buf, 2, s, st), 0);
  assert_string_equal(
      text(), "{\"numRecords\":2,"
              "\"minValues\":{\"d32\":-0.05,\"d64\":-99999999999999.9999,"
              "\"i64\":0,\"w\":{\"d128\":"
              "-9999999999999999999999999999.9999999999,"
              "\"frac\":-0.00000000000000000000000000000000000001}},"
              "\"maxValues\":{\"d32\":12.34,\"d64\":1.0000,\"i64\":42,"
              "\"w\":{\"d128\":123456789.0000000001,"
              "\"frac\":0.99999999999999999999999999999999999999}},"
              "\"nullCount\":{\"d32\":0,\"d64\":1,\"i64\":0,"
              "\"w\":{\"d128\":0,\"frac\":0,\"none\":2}}}");

  /* numbers, not strings, with the value the scale says */
  yajl_val v = parse();
  const char *p[] = {"maxValues", "d32", NULL};
  yajl_val n = yajl_tree_get(v, p, yajl_t_number);
  assert_non_null(n);
  assert_true(YAJL_GET_DOUBLE(n) == 12.34);
  const char *q[] = {"minValues", "w", "d128", NULL};
  n = yajl_tree_get(v, q, yajl_t_number);
  assert_non_null(n);
  assert_true(YAJL_GET_DOUBLE(n) < -9.99e27);
  yajl_tree_free(v);

  /* the most negative 128-bit value still prints (its magnitude does not
   * fit a signed 128-bit integer) */
  ks_buf_reset(&buf);
  ks_buf_free(&st[d128->leaf].min_s);
  set_i128(&st[d128->leaf].min_s, (ks_int128)((unsigned __int128)1 << 127));
  assert_int_equal(ks_delta_stats_json_tree(&buf, 2, s, st), 0);
  assert_non_null(
      strstr(text(), "\"d128\":-17014118346046923173168730371.5884105728,"));
  assert_valid_json();
  free_stats(st, KS_ARRAY_SIZE(st));
  ks_pq_schema_free(s);
}

static void test_stats_errors_leave_buffer_unchanged(void **state) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_node *g = ks_pq_add_struct(root, "g", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(g, "a_rather_long_column_name", KS_PQ_OPTIONAL, KS_COL_INT64);
  ks_pq_colstats st = {.has_minmax = 1, .min.i = 1, .max.i = 2};

  /* not finished: leaves have no numbers yet */
  ks_buf_append_str(&buf, "x");
  assert_int_equal(ks_delta_stats_json_tree(&buf, 1, s, &st), KS_EINVAL);
  assert_string_equal(text(), "x");

  assert_int_equal(ks_pq_schema_finish(s), 0);
  ks_buf small;
  ks_buf_init(&small, 64);
  ks_buf_append_str(&small, "x");
  assert_int_equal(ks_delta_stats_json_tree(&small, 1, s, &st), KS_ETOOBIG);
  assert_int_equal(small.len, 1);
  assert_int_equal(ks_delta_schema_string_tree(&small, s), KS_ETOOBIG);
  assert_int_equal(small.len, 1);
  ks_buf_free(&small);
  ks_pq_schema_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_flat_tree_schema_string, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flat_tree_stats, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schema_protocol_example, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_schema_decimals_and_deep_nesting,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_schema_bare_repeated_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stats_nested_structs, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stats_lists_and_maps_excluded, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stats_decimals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stats_errors_leave_buffer_unchanged,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
