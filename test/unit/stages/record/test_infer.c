/* Column inference for schemaless tables: what a record teaches the tree
 * (types, nesting, what teaches nothing), what it must not (type
 * conflicts, names that cannot be columns, with their messages), the
 * JSON Schema the tree compiles to (the columns a record then shreds
 * into, nothing dropped), the round trip through a schemaString, and the
 * union of two writers' trees. */
#include "base/buf.h"
#include "base/ks.h"
#include "stages/record/decode.h"
#include "stages/record/infer.h"
#include "stages/record/schema.h"
#include "storage/delta/delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *const reserved[] = {"_kafka_topic", "_kafka_offset"};

/* Learns one record; returns its status, *changed set. */
static int learn(ks_infer_node *root, const char *json, int *changed,
                 ks_reject *rej) {
  return ks_infer_learn(root, (const uint8_t *)json, strlen(json), reserved,
                        2, changed, rej);
}

/* The tree's columns as Delta types: "a:long,b:struct<c:string>". */
static void describe(const ks_infer_node *n, ks_buf *out) {
  static const char *const kinds[] = {"long",      "double", "string",
                                      "boolean",   "timestamp", "date"};
  if (n->kind == KS_INF_STRUCT) {
    ks_buf_append_str(out, "struct<");
    for (size_t i = 0; i < n->nkids; i++) {
      ks_buf_appendf(out, "%s%s:", i ? "," : "", n->kids[i]->name);
      describe(n->kids[i], out);
    }
    ks_buf_append_str(out, ">");
  } else if (n->kind == KS_INF_ARRAY || n->kind == KS_INF_MAP) {
    ks_buf_append_str(out, n->kind == KS_INF_ARRAY ? "array<" : "map<");
    describe(n->kids[0], out);
    ks_buf_append_str(out, ">");
  } else {
    ks_buf_append_str(out, kinds[n->kind]);
  }
}

static void assert_tree(const ks_infer_node *root, const char *want) {
  ks_buf b;
  ks_buf_init(&b, 0);
  describe(root, &b);
  ks_buf_cstr(&b);
  assert_string_equal((const char *)b.data, want);
  ks_buf_free(&b);
}

static void test_learns_types_and_nesting(void **state) {
  (void)state;
  ks_infer_node *t = ks_infer_root();
  int changed;
  ks_reject rej;
  assert_int_equal(learn(t,
                         "{\"id\":1,\"score\":2.5,\"e\":1e3,\"name\":\"x\","
                         "\"ok\":true,\"tags\":[\"a\"],\"p\":{\"age\":3,"
                         "\"geo\":{\"lat\":1.5}},\"items\":[{\"sku\":\"k\"},"
                         "{\"qty\":2}],\"m\":[[1],[2,3]]}",
                         &changed, &rej),
                   0);
  assert_true(changed);
  assert_tree(t, "struct<id:long,score:double,e:double,name:string,"
                 "ok:boolean,tags:array<string>,p:struct<age:long,"
                 "geo:struct<lat:double>>,items:array<struct<sku:string,"
                 "qty:long>>,m:array<array<long>>>");
  /* the same fields again teach nothing; a double column takes integers */
  assert_int_equal(learn(t, "{\"id\":7,\"score\":3,\"p\":{\"age\":1}}",
                         &changed, &rej),
                   0);
  assert_false(changed);
  /* a new field inside an existing struct and array element */
  assert_int_equal(learn(t, "{\"p\":{\"geo\":{\"lon\":2.0}},"
                            "\"items\":[{\"price\":1.25}]}",
                         &changed, &rej),
                   0);
  assert_true(changed);
  assert_tree(t, "struct<id:long,score:double,e:double,name:string,"
                 "ok:boolean,tags:array<string>,p:struct<age:long,"
                 "geo:struct<lat:double,lon:double>>,items:array<struct<"
                 "sku:string,qty:long,price:double>>,m:array<array<long>>>");
  ks_infer_free(t);
}

static void test_empty_values_teach_nothing(void **state) {
  (void)state;
  ks_infer_node *t = ks_infer_root();
  int changed;
  ks_reject rej;
  assert_int_equal(learn(t,
                         "{\"a\":null,\"b\":[],\"c\":{},\"d\":[null,[]],"
                         "\"e\":{\"f\":null}}",
                         &changed, &rej),
                   0);
  assert_false(changed);
  assert_int_equal(t->nkids, 0);
  /* an array learns its element once one arrives */
  assert_int_equal(learn(t, "{\"b\":[null,\"x\"]}", &changed, &rej), 0);
  assert_true(changed);
  assert_tree(t, "struct<b:array<string>>");
  ks_infer_free(t);
}

static void test_type_conflicts(void **state) {
  (void)state;
  ks_infer_node *t = ks_infer_root();
  int changed;
  ks_reject rej;
  assert_int_equal(learn(t, "{\"id\":1,\"p\":{\"a\":\"x\"},\"l\":[1]}",
                         &changed, &rej),
                   0);
  static const struct {
    const char *json, *message;
  } cases[] = {
      {"{\"id\":1.5}",
       "/id: column is long, the record has a fractional number: a column "
       "keeps its first type"},
      {"{\"id\":\"7\"}", "/id: column is long, the record has a string"},
      {"{\"p\":[1]}", "/p: column is struct, the record has an array"},
      {"{\"p\":{\"a\":{\"b\":1}}}",
       "/p/a: column is string, the record has an object"},
      {"{\"l\":[1,true]}", "/l/1: column is long, the record has a boolean"},
      {"{\"new\":[1,\"a\"]}", "/new/1: column is long, the record has a string"},
      {"{\"new\":[{\"x\":1},{\"x\":\"s\"}]}",
       "/new/1/x: column is long, the record has a string"},
      {"{\"new\":[{\"a\":1,\"b\":[1,\"x\"]}]}",
       "/new/0/b/1: column is long, the record has a string"},
      {"[1]", ": the record is an array; a table's record is an object"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(learn(t, cases[i].json, &changed, &rej), KS_EINVALID);
    assert_string_equal(ks_reason_name(rej.reason), "type_conflict");
    assert_non_null(strstr(rej.message, cases[i].message));
    assert_false(changed);
  }
  /* nothing of a failed record stays: "new" never became a column */
  assert_tree(t, "struct<id:long,p:struct<a:string>,l:array<long>>");
  ks_infer_free(t);
}

static void test_names_that_cannot_be_columns(void **state) {
  (void)state;
  ks_infer_node *t = ks_infer_root();
  int changed;
  ks_reject rej;
  assert_int_equal(learn(t, "{\"id\":1}", &changed, &rej), 0);
  static const struct {
    const char *json, *message;
  } cases[] = {
      {"{\"ID\":2}", "field \"ID\" and column \"id\" differ only in case"},
      {"{\"x\":1,\"X\":2}", "field \"X\" and column \"x\" differ only in case"},
      {"{\"a b\":1}", "field name \"a b\" cannot be a Delta column"},
      {"{\"p\":{\"k=v\":1}}", "/p/k=v: field name \"k=v\" cannot be"},
      {"{\"\":1}", "an empty name cannot be a column"},
      {"{\"deep\":[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]}",
       "a field nested in more than 24 objects and arrays cannot become a "
       "column"},
      {"{\"_KAFKA_Offset\":1}",
       "field \"_KAFKA_Offset\" clashes with ksink's column \"_kafka_offset\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(learn(t, cases[i].json, &changed, &rej), KS_EINVALID);
    assert_string_equal(ks_reason_name(rej.reason), "new_field");
    assert_non_null(strstr(rej.message, cases[i].message));
  }
  /* 300,000 levels: refused before a tree is built (freeing one that
   * deep recursively would overflow the stack) */
  size_t depth = 300000;
  char *deep = malloc(2 * depth + 16);
  size_t n = 0;
  n += (size_t)sprintf(deep, "{\"d\":");
  for (size_t i = 0; i < depth; i++)
    deep[n++] = '[';
  for (size_t i = 0; i < depth; i++)
    deep[n++] = ']';
  deep[n++] = '}';
  deep[n] = '\0';
  assert_int_equal(learn(t, deep, &changed, &rej), KS_EINVALID);
  assert_string_equal(ks_reason_name(rej.reason), "new_field");
  assert_non_null(strstr(rej.message, "nests more than 256"));
  free(deep);
  /* reserved names only clash at the top level */
  assert_int_equal(learn(t, "{\"s\":{\"_kafka_offset\":1}}", &changed, &rej),
                   0);
  assert_tree(t, "struct<id:long,s:struct<_kafka_offset:long>>");
  ks_infer_free(t);
}

/* The compiled JSON Schema shreds a record into the learnt columns with
 * nothing dropped, and refuses a conflicting one as the validator would. */
static void test_json_schema_compiles_to_the_columns(void **state) {
  (void)state;
  ks_infer_node *t = ks_infer_root();
  int changed;
  ks_reject rej;
  const char *rec = "{\"id\":1,\"name\":\"n\",\"tags\":[\"a\",null],"
                    "\"p\":{\"age\":3},\"items\":[{\"sku\":\"k\",\"q\":1.5}]}";
  assert_int_equal(learn(t, rec, &changed, &rej), 0);
  ks_schema *s = NULL;
  char err[256];
  assert_int_equal(ks_infer_compile(t, "t", &s, err, sizeof err), 0);
  static const char *const names[] = {
      "id", "name", "tags.list.element", "p.age", "items.list.element.sku",
      "items.list.element.q"};
  static const ks_coltype types[] = {KS_COL_INT64,  KS_COL_STRING,
                                     KS_COL_STRING, KS_COL_INT64,
                                     KS_COL_STRING, KS_COL_DOUBLE};
  assert_int_equal(ks_schema_ncolumns(s), 6);
  for (size_t i = 0; i < 6; i++) {
    assert_string_equal(ks_schema_columns(s)[i].name, names[i]);
    assert_int_equal(ks_schema_columns(s)[i].type, types[i]);
    assert_true(ks_schema_columns(s)[i].nullable);
  }
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, ks_schema_tree(s));
  ks_decoder *d = ks_decoder_new(s, &rg, 0);
  ks_decoder_set_refuse_dropped(d, 1);
  assert_int_equal(ks_decoder_feed(d, (const uint8_t *)rec, strlen(rec), &rej),
                   0);
  const char *more = "{\"id\":2,\"zzz\":1}";
  assert_int_equal(
      ks_decoder_feed(d, (const uint8_t *)more, strlen(more), &rej),
      KS_ENEWFIELD);
  assert_string_equal(ks_reason_name(rej.reason), "new_field");
  const char *nulls = "{\"id\":2,\"zzz\":null,\"yyy\":[],\"p\":{\"w\":{}}}";
  assert_int_equal(
      ks_decoder_feed(d, (const uint8_t *)nulls, strlen(nulls), &rej), 0);
  const char *bad = "{\"id\":\"x\"}";
  assert_int_equal(ks_decoder_feed(d, (const uint8_t *)bad, strlen(bad), &rej),
                   KS_EINVALID);
  assert_string_equal(ks_keyword_name(rej.keyword), "type");
  ks_decoder_free(d);
  ks_rowgroup_free(&rg);
  ks_schema_free(s);
  /* no columns yet: a schema with no data columns */
  ks_infer_node *empty = ks_infer_root();
  assert_int_equal(ks_infer_compile(empty, "t", &s, err, sizeof err), 0);
  assert_int_equal(ks_schema_ncolumns(s), 0);
  ks_schema_free(s);
  ks_infer_free(empty);
  ks_infer_free(t);
}

/* A table's schemaString back into a tree, leaving out ksink's columns;
 * timestamp, date, map and required columns come back as they were. */
static void test_from_schema_string(void **state) {
  (void)state;
  const char *ss =
      "{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"id\",\"type\":\"long\",\"nullable\":false,\"metadata\":{}},"
      "{\"name\":\"at\",\"type\":\"timestamp\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"day\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"keyType\":\"string\","
      "\"valueType\":\"double\",\"valueContainsNull\":true},\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"l\",\"type\":{\"type\":\"array\",\"elementType\":"
      "\"boolean\",\"containsNull\":false},\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"_kafka_offset\",\"type\":\"long\",\"nullable\":false,"
      "\"metadata\":{}}]}";
  ks_pq_schema *pq = NULL;
  char err[512];
  assert_int_equal(ks_delta_schema_parse(ss, &pq, err, sizeof err), 0);
  ks_infer_node *t = NULL;
  assert_int_equal(ks_infer_from_tree(pq, reserved, 2, &t, err, sizeof err),
                   0);
  assert_tree(t, "struct<id:long,at:timestamp,day:date,attrs:map<double>,"
                 "l:array<boolean>>");
  assert_false(t->kids[0]->nullable);
  assert_false(t->kids[4]->kids[0]->nullable);
  /* its JSON Schema maps back to the same schemaString */
  ks_buf doc;
  ks_buf_init(&doc, 0);
  ks_infer_json_schema(t, &doc);
  ks_schema *s = NULL;
  assert_int_equal(ks_schema_load_string((const char *)doc.data, doc.len, "t",
                                         &s, err, sizeof err),
                   0);
  ks_colspec extra = {"_kafka_offset", KS_COL_INT64, 0};
  ks_pq_schema *back = ks_schema_table_tree(s, &extra, 1, err, sizeof err);
  assert_non_null(back);
  ks_buf out;
  ks_buf_init(&out, 0);
  assert_int_equal(ks_delta_schema_string_tree(&out, back), 0);
  ks_buf_cstr(&out);
  assert_string_equal((const char *)out.data, ss);
  /* a timestamp column still asserts its format */
  ks_reject rej;
  const char *rec = "{\"id\":1,\"at\":\"yesterday\"}";
  assert_int_equal(ks_schema_validate(s, (const uint8_t *)rec, strlen(rec),
                                      &rej),
                   KS_EINVALID);
  ks_buf_free(&out);
  ks_pq_schema_free(back);
  ks_schema_free(s);
  ks_buf_free(&doc);
  ks_infer_free(t);
  ks_pq_schema_free(pq);
  /* the Delta types JSON has no kind of its own for: the same columns
   * come back, and each value is checked as its column needs */
  const char *typed =
      "{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"b\",\"type\":\"byte\",\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"s\",\"type\":\"short\",\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"f\",\"type\":\"float\",\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"bin\",\"type\":\"binary\",\"nullable\":true,\"metadata\":{}},"
      "{\"name\":\"d\",\"type\":\"decimal(10,2)\",\"nullable\":true,"
      "\"metadata\":{}},"
      "{\"name\":\"w\",\"type\":\"decimal(30,4)\",\"nullable\":false,"
      "\"metadata\":{}},"
      "{\"name\":\"n\",\"type\":\"timestamp_ntz\",\"nullable\":true,"
      "\"metadata\":{}}]}";
  assert_int_equal(ks_delta_schema_parse(typed, &pq, err, sizeof err), 0);
  assert_int_equal(ks_infer_from_tree(pq, reserved, 2, &t, err, sizeof err), 0);
  assert_int_equal(ks_infer_compile(t, "typed", &s, err, sizeof err), 0);
  back = ks_schema_table_tree(s, NULL, 0, err, sizeof err);
  assert_non_null(back);
  ks_buf_init(&out, 0);
  assert_int_equal(ks_delta_schema_string_tree(&out, back), 0);
  ks_buf_cstr(&out);
  assert_string_equal((const char *)out.data, typed);
  static const struct {
    const char *rec;
    int ok;
  } cases[] = {
      {"{\"w\":1,\"b\":127,\"s\":-32768}", 1},
      {"{\"w\":1,\"b\":128}", 0},
      {"{\"w\":1,\"s\":40000}", 0},
      {"{\"w\":1,\"f\":1.5}", 1},
      {"{\"w\":1,\"f\":1e39}", 0},
      {"{\"w\":1,\"bin\":\"AAH/\"}", 1},
      {"{\"w\":1,\"bin\":\"AAE\"}", 1},
      {"{\"w\":1,\"bin\":\"AAH\"}", 0},
      {"{\"w\":1,\"bin\":\"not base64!\"}", 0},
      {"{\"w\":1,\"d\":12.34}", 1},
      {"{\"w\":1,\"d\":\"-12.30\"}", 1},
      {"{\"w\":1,\"d\":12.345}", 0},
      {"{\"w\":1,\"d\":\"1.2.3\"}", 0},
      {"{\"w\":1,\"d\":123456789.1}", 0},
      {"{\"w\":\"12345678901234567890123456.0001\"}", 1},
      {"{\"w\":1,\"n\":\"2024-01-02T03:04:05.123456\"}", 1},
      {"{\"w\":1,\"n\":\"2024-01-02 03:04:05\"}", 1},
      {"{\"w\":1,\"n\":\"2024-01-02T03:04:05Z\"}", 0},
      {"{\"w\":1,\"n\":\"2024-01-02T03:04:05+01:00\"}", 0},
      {"{\"w\":1,\"n\":\"noon\"}", 0},
      {"{\"d\":1}", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int rc = ks_schema_validate(s, (const uint8_t *)cases[i].rec,
                                strlen(cases[i].rec), &rej);
    if ((rc == 0) != cases[i].ok)
      fail_msg("%s: rc %d", cases[i].rec, rc);
  }
  ks_buf_free(&out);
  ks_pq_schema_free(back);
  ks_schema_free(s);
  ks_infer_free(t);
  ks_pq_schema_free(pq);
}

static void test_union(void **state) {
  (void)state;
  ks_infer_node *a = ks_infer_root(), *b = ks_infer_root();
  int changed;
  ks_reject rej;
  assert_int_equal(learn(a, "{\"id\":1,\"p\":{\"x\":1}}", &changed, &rej), 0);
  assert_int_equal(learn(b, "{\"id\":1,\"p\":{\"y\":\"s\"},\"z\":true}",
                         &changed, &rej),
                   0);
  char err[256];
  assert_int_equal(ks_infer_union(a, b, &changed, err, sizeof err), 0);
  assert_true(changed);
  assert_tree(a, "struct<id:long,p:struct<x:long,y:string>,z:boolean>");
  assert_int_equal(ks_infer_union(a, b, &changed, err, sizeof err), 0);
  assert_false(changed);
  ks_infer_node *c = ks_infer_root();
  assert_int_equal(learn(c, "{\"p\":{\"x\":\"text\"}}", &changed, &rej), 0);
  assert_int_equal(ks_infer_union(a, c, &changed, err, sizeof err),
                   KS_ECONFLICT);
  assert_string_equal(err,
                      "column p.x is long here and string in the table");
  ks_infer_free(a);
  ks_infer_free(b);
  ks_infer_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_learns_types_and_nesting),
      cmocka_unit_test(test_empty_values_teach_nothing),
      cmocka_unit_test(test_type_conflicts),
      cmocka_unit_test(test_names_that_cannot_be_columns),
      cmocka_unit_test(test_json_schema_compiles_to_the_columns),
      cmocka_unit_test(test_from_schema_string),
      cmocka_unit_test(test_union),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
