/* Schema evolution: a table's schemaString read back, compared with the
 * tree a new JSON Schema maps to (allowed and refused changes, with their
 * messages), and the new schema's columns put in the table's order so a
 * record of it lands in the right leaves. */
#include "base/buf.h"
#include "base/ks.h"
#include "stages/decode.h"
#include "stages/schema.h"
#include "storage/delta/delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const ks_colspec meta[] = {
    {"_kafka_topic", KS_COL_STRING, 0},
    {"_kafka_offset", KS_COL_INT64, 0},
};

static const char v1[] =
    "{\"type\":\"object\",\"required\":[\"user_id\"],\"properties\":{"
    "\"user_id\":{\"type\":\"integer\"},"
    "\"name\":{\"type\":\"string\"},"
    "\"profile\":{\"type\":\"object\",\"properties\":{"
    "\"age\":{\"type\":\"integer\"}}},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"a\":{\"type\":\"string\"}}}},"
    "\"price\":{\"type\":\"number\",\"multipleOf\":0.01,\"minimum\":0,"
    "\"maximum\":1000}}}";

static ks_schema *load(const char *json) {
  ks_schema *s = NULL;
  char err[512];
  if (ks_schema_load_string(json, strlen(json), "t.json", &s, err, sizeof err))
    fail_msg("schema: %s", err);
  return s;
}

static ks_pq_schema *table_tree(const ks_schema *s) {
  char err[256];
  ks_pq_schema *t =
      ks_schema_table_tree(s, meta, KS_ARRAY_SIZE(meta), err, sizeof err);
  if (t == NULL)
    fail_msg("table tree: %s", err);
  return t;
}

static char *schema_string(const ks_pq_schema *t) {
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_delta_schema_string_tree(&b, t), 0);
  ks_buf_cstr(&b);
  return (char *)ks_buf_steal(&b, NULL);
}

/* The v1 table as its log has it: schemaString -> tree. */
static ks_pq_schema *v1_table(char **text) {
  ks_schema *s = load(v1);
  ks_pq_schema *t = table_tree(s);
  *text = schema_string(t);
  ks_pq_schema *back = NULL;
  char err[256];
  assert_int_equal(ks_delta_schema_parse(*text, &back, err, sizeof err), 0);
  ks_pq_schema_free(t);
  ks_schema_free(s);
  return back;
}

static void test_parse_round_trip(void **state) {
  (void)state;
  char *text;
  ks_pq_schema *t = v1_table(&text);
  char *again = schema_string(t);
  assert_string_equal(again, text);
  assert_int_equal(ks_pq_schema_nleaves(t), 7);
  ks_free(again);
  ks_free(text);
  ks_pq_schema_free(t);
}

static void test_parse_errors(void **state) {
  (void)state;
  static const struct {
    const char *text, *msg;
  } cases[] = {
      {"{\"type\":\"struct\",\"fields\":[", "the table's schemaString is not "
                                            "JSON: "},
      {"{\"type\":\"array\"}", "the table's schemaString: the root is not a "
                               "struct"},
      {"{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
       "\"struct\",\"fields\":[{\"name\":\"f\",\"type\":\"float\","
       "\"nullable\":true}]},\"nullable\":true}]}",
       "the table's schemaString: field a.f: type \"float\" is not one ksink "
       "writes"},
      {"{\"type\":\"struct\",\"fields\":[{\"name\":\"m\",\"type\":{\"type\":"
       "\"map\",\"keyType\":\"long\",\"valueType\":\"string\","
       "\"valueContainsNull\":true},\"nullable\":true}]}",
       "the table's schemaString: field m: a map whose keys are not strings"},
      {"{\"type\":\"struct\",\"fields\":[{\"type\":\"long\"}]}",
       "the table's schemaString: a field without a name"},
      {"{\"type\":\"struct\",\"fields\":[{\"name\":\"s\",\"type\":{\"type\":"
       "\"struct\",\"fields\":[]},\"nullable\":true}]}",
       "the table's schemaString: not a valid Parquet schema (an empty "
       "struct, or nested too deep)"},
  };
  for (size_t i = 0; i < KS_ARRAY_SIZE(cases); i++) {
    ks_pq_schema *t = (ks_pq_schema *)1;
    char err[512];
    assert_int_equal(ks_delta_schema_parse(cases[i].text, &t, err, sizeof err),
                     KS_ECORRUPT);
    assert_null(t);
    if (strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
      fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].msg);
  }
}

/* Finds the column whose leaf is `name` under a parent named `parent`. */
static const ks_column *col(const ks_rowgroup *rg, const char *parent,
                            const char *name) {
  for (size_t i = 0; i < rg->ncols; i++) {
    const ks_pq_node *n = rg->cols[i].node;
    if (strcmp(n->name, name) == 0 && strcmp(n->parent->name, parent) == 0)
      return &rg->cols[i];
  }
  fail_msg("no column %s.%s", parent, name);
  return NULL;
}

static void test_add_columns_in_table_order(void **state) {
  (void)state;
  char *text;
  ks_pq_schema *old = v1_table(&text);
  /* v2 declares its properties in another order and adds a top-level
   * field, one in a nested struct and one in the list's element struct */
  ks_schema *s =
      load("{\"type\":\"object\",\"required\":[\"user_id\"],\"properties\":{"
           "\"email\":{\"type\":\"string\"},"
           "\"profile\":{\"type\":\"object\",\"properties\":{"
           "\"city\":{\"type\":[\"string\",\"null\"]},"
           "\"age\":{\"type\":\"integer\"}}},"
           "\"name\":{\"type\":\"string\"},"
           "\"price\":{\"type\":\"number\",\"multipleOf\":0.01,\"minimum\":0,"
           "\"maximum\":1000},"
           "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
           "\"properties\":{\"b\":{\"type\":\"boolean\"},"
           "\"a\":{\"type\":\"string\"}}}},"
           "\"user_id\":{\"type\":\"integer\"}}}");
  ks_pq_schema *next = table_tree(s);
  ks_delta_schema_change d;
  assert_int_equal(ks_delta_schema_diff(old, next, 1, &d), 0);
  assert_int_equal(d.added, 3);
  assert_string_equal(d.first_added, "profile.city");
  assert_int_equal(ks_delta_schema_diff(old, next, 0, &d), KS_ESCHEMA);
  assert_string_equal(d.reason, "column profile.city: not in the table (new "
                                "columns need schema_evolution: add_columns)");

  char err[256];
  assert_int_equal(ks_schema_conform(s, old, err, sizeof err), 0);
  ks_pq_schema_free(next);
  next = table_tree(s);
  char *evolved = schema_string(next);
  /* the table's columns first in the table's order, then the new ones;
   * the _kafka_* columns stay last */
  const char *order[] = {"\"user_id\"",
                         "\"name\"",
                         "\"profile\"",
                         "\"age\"",
                         "\"city\"",
                         "\"tags\"",
                         "\"a\"",
                         "\"b\"",
                         "\"price\"",
                         "\"email\"",
                         "\"_kafka_topic\"",
                         "\"_kafka_offset\""};
  const char *at = evolved;
  for (size_t i = 0; i < KS_ARRAY_SIZE(order); i++) {
    const char *p = strstr(at, order[i]);
    if (p == NULL)
      fail_msg("%s not after %zu in %s", order[i], i, evolved);
    at = p;
  }
  /* the evolved tree keeps the old one as its prefix at every level */
  assert_int_equal(ks_delta_schema_diff(old, next, 1, &d), 0);
  assert_int_equal(d.added, 3);

  /* a v2 record lands in the leaves the new schemaString names */
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, next);
  ks_decoder *dec = ks_decoder_new(s, &rg, 0);
  static const char rec[] =
      "{\"email\":\"e@x\",\"profile\":{\"city\":\"Oslo\",\"age\":3},"
      "\"name\":\"n\",\"tags\":[{\"a\":\"x\",\"b\":true}],\"user_id\":7,"
      "\"price\":1.25}";
  ks_reject rej;
  assert_int_equal(
      ks_decoder_feed(dec, (const uint8_t *)rec, strlen(rec), &rej), 0);
  const ks_column *c = col(&rg, "schema", "user_id");
  assert_int_equal(*(const int64_t *)c->values.data, 7);
  c = col(&rg, "profile", "age");
  assert_int_equal(*(const int64_t *)c->values.data, 3);
  c = col(&rg, "profile", "city");
  assert_memory_equal(c->values.data, "Oslo", 4);
  c = col(&rg, "schema", "email");
  assert_memory_equal(c->values.data, "e@x", 3);
  c = col(&rg, "schema", "name");
  assert_memory_equal(c->values.data, "n", 1);
  c = col(&rg, "element", "b");
  assert_int_equal(c->nvalues, 1);
  c = col(&rg, "schema", "price");
  assert_int_equal(*(const int32_t *)c->values.data, 125);
  /* the leaves are numbered in the file's order */
  for (size_t i = 0; i < rg.ncols; i++)
    assert_int_equal(rg.cols[i].node->leaf, i);
  ks_decoder_free(dec);
  ks_rowgroup_free(&rg);
  ks_free(evolved);
  ks_free(text);
  ks_pq_schema_free(next);
  ks_pq_schema_free(old);
  ks_schema_free(s);
}

/* The v2 schema text is refused against the table with this reason. */
static void expect_refused(const ks_pq_schema *old, const char *json,
                           const char *reason) {
  ks_schema *s = load(json);
  ks_pq_schema *next = table_tree(s);
  ks_delta_schema_change d;
  assert_int_equal(ks_delta_schema_diff(old, next, 1, &d), KS_ESCHEMA);
  if (strcmp(d.reason, reason) != 0)
    fail_msg("%s: got \"%s\", want \"%s\"", json, d.reason, reason);
  ks_pq_schema_free(next);
  ks_schema_free(s);
}

static void test_refused_changes(void **state) {
  (void)state;
  static const char head[] =
      "{\"type\":\"object\",\"required\":[\"user_id\"],\"properties\":{";
  static const char profile[] =
      "\"profile\":{\"type\":\"object\",\"properties\":{"
      "\"age\":{\"type\":\"integer\"}}},";
  static const char tags[] =
      "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
      "\"properties\":{\"a\":{\"type\":\"string\"}}}},";
  static const char price[] =
      "\"price\":{\"type\":\"number\",\"multipleOf\":0.01,\"minimum\":0,"
      "\"maximum\":1000}";
  static const struct {
    const char *props, *reason;
  } cases[] = {
      /* a string where the table has long */
      {"\"user_id\":{\"type\":\"string\"},\"name\":{\"type\":\"string\"},",
       "column user_id: the table has long, the schema gives string"},
      /* even widening is refused: old files hold longs */
      {"\"user_id\":{\"type\":\"number\"},\"name\":{\"type\":\"string\"},",
       "column user_id: the table has long, the schema gives double"},
      {"\"user_id\":{\"type\":\"integer\"},",
       "column name: in the table but not in the schema (a column cannot be "
       "dropped)"},
      {"\"user_id\":{\"type\":\"integer\"},\"Name\":{\"type\":\"string\"},",
       "column name: the schema spells it \"Name\" (Delta names are "
       "case-insensitive and a column cannot be renamed)"},
      {"\"user_id\":{\"type\":[\"integer\",\"null\"]},"
       "\"name\":{\"type\":\"string\"},",
       "column user_id: required in the table, nullable in the schema"},
      {"\"user_id\":{\"type\":\"integer\"},\"name\":{\"type\":\"object\","
       "\"properties\":{\"first\":{\"type\":\"string\"}}},",
       "column name: the table has string, the schema gives struct"},
  };
  char *text;
  ks_pq_schema *old = v1_table(&text);
  ks_buf b;
  ks_buf_init(&b, 0);
  for (size_t i = 0; i < KS_ARRAY_SIZE(cases); i++) {
    ks_buf_reset(&b);
    ks_buf_appendf(&b, "%s%s%s%s%s}}", head, cases[i].props, profile, tags,
                   price);
    ks_buf_cstr(&b);
    expect_refused(old, (const char *)b.data, cases[i].reason);
  }
  /* nested changes name their path: each case replaces one piece */
  static const struct {
    const char *profile, *tags, *price, *reason;
  } nested[] = {
      {"\"profile\":{\"type\":\"object\",\"properties\":{"
       "\"age\":{\"type\":\"number\"}}},",
       tags, price,
       "column profile.age: the table has long, the schema gives double"},
      {"\"profile\":{\"type\":\"object\",\"required\":[\"zip\"],"
       "\"properties\":{\"age\":{\"type\":\"integer\"},"
       "\"zip\":{\"type\":\"string\"}}},",
       tags, price,
       "column profile.zip: new and required; a column added to a table "
       "that has rows must be nullable"},
      {profile,
       "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},", price,
       "column tags.element: the table has struct, the schema gives string"},
      {profile, tags,
       "\"price\":{\"type\":\"number\",\"multipleOf\":0.001,"
       "\"minimum\":0,\"maximum\":1000}",
       "column price: the table has decimal(6,2), the schema gives "
       "decimal(7,3)"},
  };
  for (size_t i = 0; i < KS_ARRAY_SIZE(nested); i++) {
    ks_buf_reset(&b);
    ks_buf_appendf(&b,
                   "%s\"user_id\":{\"type\":\"integer\"},"
                   "\"name\":{\"type\":\"string\"},%s%s%s}}",
                   head, nested[i].profile, nested[i].tags, nested[i].price);
    ks_buf_cstr(&b);
    expect_refused(old, (const char *)b.data, nested[i].reason);
  }
  ks_buf_free(&b);
  ks_free(text);
  ks_pq_schema_free(old);
}

/* With no change at all the comparison says so, in either mode. */
static void test_same_schema(void **state) {
  (void)state;
  char *text;
  ks_pq_schema *old = v1_table(&text);
  ks_schema *s = load(v1);
  ks_pq_schema *next = table_tree(s);
  ks_delta_schema_change d;
  assert_int_equal(ks_delta_schema_diff(old, next, 0, &d), 0);
  assert_int_equal(d.added, 0);
  ks_pq_schema_free(next);
  ks_schema_free(s);
  ks_free(text);
  ks_pq_schema_free(old);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_round_trip),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_add_columns_in_table_order),
      cmocka_unit_test(test_refused_changes),
      cmocka_unit_test(test_same_schema),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
