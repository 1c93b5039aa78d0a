/* Schema loading, compilation errors and the column mapping. */
#include "base/ks.h"
#include "demo/events.h"
#include "stages/record/decode.h"
#include "stages/record/schema.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char seed[] =
    "{\"$schema\": \"http://json-schema.org/draft-07/schema#\","
    " \"title\": \"user event\", \"type\": \"object\","
    " \"properties\": {"
    "  \"user_id\": {\"type\": \"integer\"},"
    "  \"event_type\": {\"type\": \"string\"},"
    "  \"timestamp\": {\"type\": \"string\", \"format\": \"date-time\"},"
    "  \"properties\": {\"type\": \"object\"}},"
    " \"required\": [\"user_id\", \"event_type\", \"timestamp\"],"
    " \"additionalProperties\": false}";

static ks_schema *load_ok(const char *json) {
  ks_schema *s = NULL;
  char err[512] = "";
  int r =
      ks_schema_load_string(json, strlen(json), "t.json", &s, err, sizeof err);
  if (r != 0)
    print_error("unexpected load failure: %s\n", err);
  assert_int_equal(r, 0);
  assert_non_null(s);
  return s;
}

static void load_fails(const char *json, const char *want) {
  ks_schema *s = (ks_schema *)1;
  char err[512] = "";
  int r =
      ks_schema_load_string(json, strlen(json), "t.json", &s, err, sizeof err);
  assert_int_equal(r, KS_ESCHEMA);
  assert_null(s);
  assert_string_equal(err, want);
}

static void check_col(const ks_colspec *c, const char *name, ks_coltype t,
                      int nullable) {
  assert_string_equal(c->name, name);
  assert_int_equal(c->type, t);
  assert_int_equal(c->nullable, nullable);
}

static void seed_schema_columns(void **state) {
  ks_schema *s = load_ok(seed);
  assert_int_equal(ks_schema_ncolumns(s), 4);
  const ks_colspec *c = ks_schema_columns(s);
  check_col(&c[0], "user_id", KS_COL_INT64, 0);
  check_col(&c[1], "event_type", KS_COL_STRING, 0);
  check_col(&c[2], "timestamp", KS_COL_TIMESTAMP, 0);
  check_col(&c[3], "properties", KS_COL_STRING, 1);
  ks_schema_free(s);
}

static void every_type_maps(void **state) {
  ks_schema *s = load_ok(
      "{\"type\": \"object\", \"properties\": {"
      " \"i\": {\"type\": \"integer\", \"minimum\": 0},"
      " \"n\": {\"type\": \"number\"},"
      " \"b\": {\"type\": \"boolean\"},"
      " \"s\": {\"type\": \"string\", \"maxLength\": 10},"
      " \"ts\": {\"type\": \"string\", \"format\": \"date-time\"},"
      " \"d\": {\"type\": \"string\", \"format\": \"date\"},"
      " \"o\": {\"type\": \"object\", \"properties\": {\"x\": true}},"
      " \"a\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}},"
      " \"sn\": {\"type\": [\"string\", \"null\"]},"
      " \"mixed\": {\"type\": [\"string\", \"integer\"]},"
      " \"num2\": {\"type\": [\"integer\", \"number\"]},"
      " \"any\": {},"
      " \"t\": true,"
      " \"e\": {\"enum\": [\"red\", \"green\"]},"
      " \"in\": {\"type\": [\"null\", \"integer\"]}},"
      " \"required\": [\"i\", \"n\", \"b\", \"s\", \"ts\", \"d\", \"o\", \"a\","
      "  \"sn\", \"mixed\", \"any\", \"e\", \"in\"]}");
  assert_int_equal(ks_schema_ncolumns(s), 15);
  const ks_colspec *c = ks_schema_columns(s);
  check_col(&c[0], "i", KS_COL_INT64, 0);
  check_col(&c[1], "n", KS_COL_DOUBLE, 0);
  check_col(&c[2], "b", KS_COL_BOOLEAN, 0);
  check_col(&c[3], "s", KS_COL_STRING, 0);
  check_col(&c[4], "ts", KS_COL_TIMESTAMP, 0);
  check_col(&c[5], "d", KS_COL_DATE, 0);
  check_col(&c[6], "o.x", KS_COL_STRING, 1); /* struct<x: json text> */
  check_col(&c[7], "a.list.element", KS_COL_INT64, 1);
  check_col(&c[8], "sn", KS_COL_STRING, 1);
  check_col(&c[9], "mixed", KS_COL_STRING, 0);
  check_col(&c[10], "num2", KS_COL_DOUBLE, 1); /* not required */
  check_col(&c[11], "any", KS_COL_STRING, 1);  /* no type: null allowed */
  check_col(&c[12], "t", KS_COL_STRING, 1);
  check_col(&c[13], "e", KS_COL_STRING, 0); /* kinds from enum */
  check_col(&c[14], "in", KS_COL_INT64, 1);
  ks_schema_free(s);
}

static void leaf_is(const ks_schema *s, size_t i, const char *path, int def,
                    int rep, int precision, int scale) {
  assert_string_equal(ks_schema_columns(s)[i].name, path);
  const ks_pq_node *n = ks_pq_schema_leaf(ks_schema_tree(s), i);
  assert_int_equal(n->max_def, def);
  assert_int_equal(n->max_rep, rep);
  assert_int_equal(n->precision, precision);
  assert_int_equal(n->scale, scale);
}

/* Structs, lists, maps, DECIMAL and what stays JSON text. */
static void nested_types_map(void **state) {
  ks_schema *s = load_ok(
      "{\"type\": \"object\", \"properties\": {"
      " \"st\": {\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
      "\"integer\"}, \"b\": {\"type\": \"array\", \"items\": {\"type\": "
      "[\"string\", \"null\"]}}}, \"required\": [\"a\"]},"
      " \"m\": {\"type\": \"object\", \"additionalProperties\": {\"type\": "
      "\"number\"}},"
      " \"d1\": {\"type\": \"number\", \"multipleOf\": 0.01, \"minimum\": 0, "
      "\"exclusiveMaximum\": 1000},"
      " \"d2\": {\"type\": \"number\", \"multipleOf\": 1e-4, \"minimum\": "
      "-99999999999999.9999, \"maximum\": 5},"
      " \"d3\": {\"type\": \"number\", \"multipleOf\": 0.5, \"minimum\": 0, "
      "\"maximum\": 5},"
      " \"d4\": {\"type\": \"number\", \"multipleOf\": 0.01},"
      " \"tuple\": {\"type\": \"array\", \"items\": [{\"type\": \"integer\"}]},"
      " \"pm\": {\"type\": \"object\", \"patternProperties\": {\"^x\": "
      "{\"type\": \"integer\"}}, \"additionalProperties\": {\"type\": "
      "\"string\"}},"
      " \"tree\": {\"$ref\": \"#/definitions/node\"}},"
      " \"required\": [\"st\"],"
      " \"definitions\": {\"node\": {\"type\": \"object\", \"properties\": {"
      "\"kids\": {\"type\": \"array\", \"items\": {\"$ref\": "
      "\"#/definitions/node\"}}}}}}");
  leaf_is(s, 0, "st.a", 0, 0, 0, 0);
  leaf_is(s, 1, "st.b.list.element", 3, 1, 0, 0);
  leaf_is(s, 2, "m.key_value.key", 2, 1, 0, 0);
  leaf_is(s, 3, "m.key_value.value", 2, 1, 0, 0);
  leaf_is(s, 4, "d1", 1, 0, 5, 2);  /* < 1000: 3 integer digits */
  leaf_is(s, 5, "d2", 1, 0, 18, 4); /* 14 integer digits */
  leaf_is(s, 6, "d3", 1, 0, 0, 0);  /* 0.5 is no power of ten: double */
  leaf_is(s, 7, "d4", 1, 0, 0, 0);  /* no bounds: double */
  assert_int_equal(ks_schema_columns(s)[6].type, KS_COL_DOUBLE);
  leaf_is(s, 8, "tuple", 1, 0, 0, 0); /* JSON text */
  leaf_is(s, 9, "pm", 1, 0, 0, 0);
  /* a recursive schema: the recursion is JSON text */
  leaf_is(s, 10, "tree.kids.list.element", 3, 1, 0, 0);
  assert_int_equal(ks_schema_columns(s)[10].type, KS_COL_STRING);
  assert_int_equal(ks_schema_ncolumns(s), 11);
  ks_schema_free(s);
  load_fails("{\"type\": \"object\", \"properties\": {\"x\": {\"type\": "
             "\"number\", \"multipleOf\": 1e-10, \"minimum\": 0, \"maximum\": "
             "1e30}}}",
             "t.json: /properties/x/multipleOf: multipleOf 1e-10 with these "
             "bounds needs DECIMAL(41,10); Parquet and Delta decimals hold "
             "at most 38 digits");
  load_fails("{\"type\": \"object\", \"properties\": {\"o\": {\"type\": "
             "\"object\", \"properties\": {\"Id\": true, \"id\": true}}}}",
             "t.json: /properties/o/properties/id: \"Id\" and \"id\" differ "
             "only in case: Delta column names are case-insensitive");
}

static void declaration_order_kept(void **state) {
  ks_schema *s = load_ok("{\"type\": \"object\", \"properties\": {"
                         "\"zeta\": {\"type\": \"integer\"},"
                         "\"alpha\": {\"type\": \"integer\"},"
                         "\"mid\": {\"type\": \"integer\"}}}");
  const ks_colspec *c = ks_schema_columns(s);
  assert_string_equal(c[0].name, "zeta");
  assert_string_equal(c[1].name, "alpha");
  assert_string_equal(c[2].name, "mid");
  assert_int_equal(c[0].nullable, 1);
  ks_schema_free(s);
}

/* Every draft-07 keyword compiles; malformed keyword values and refs that
 * cannot resolve fail with the schema path. */
static void keywords_compile_or_fail_with_path(void **state) {
  ks_schema *s = load_ok(
      "{\"type\": \"object\", \"properties\": {"
      " \"a\": {\"oneOf\": [{\"type\": \"string\"}, {\"const\": 1}]},"
      " \"b\": {\"type\": \"string\", \"pattern\": \"^x\", \"format\": "
      "\"email\"},"
      " \"c\": {\"items\": [true], \"additionalItems\": false, \"contains\":"
      " {\"enum\": [{\"x\": 1}]}, \"uniqueItems\": true},"
      " \"d\": {\"$ref\": \"#/definitions/d\"}},"
      " \"definitions\": {\"d\": {\"type\": \"integer\", \"multipleOf\": 2}},"
      " \"patternProperties\": {\"^p\": {\"not\": {\"type\": \"null\"}}},"
      " \"dependencies\": {\"a\": [\"b\"], \"b\": {\"required\": [\"c\"]}},"
      " \"propertyNames\": {\"maxLength\": 8},"
      " \"if\": {\"required\": [\"a\"]}, \"then\": {\"minProperties\": 2}}");
  ks_schema_free(s);
  load_fails("{\"type\": \"object\", \"properties\": {\"a\": {\"anyOf\": []}}}",
             "t.json: /properties/a/anyOf: expected a non-empty array of "
             "schemas");
  load_fails("{\"type\": \"object\", \"properties\": {\"a\": {\"pattern\": "
             "\"(\"}}}",
             "t.json: /properties/a/pattern: invalid regular expression "
             "\"(\": missing closing parenthesis");
  load_fails("{\"type\": \"object\", \"properties\": {\"a\": {\"$ref\": "
             "\"#/definitions/nope\"}}}",
             "t.json: /properties/a/$ref: $ref \"#/definitions/nope\" does "
             "not point at a schema");
  load_fails("{\"type\": \"object\", \"properties\": {\"a\": {\"$ref\": "
             "\"http://example.com/s.json\"}}}",
             "t.json: /properties/a/$ref: cannot resolve "
             "\"http://example.com/s.json\" (remote schemas are read only "
             "from --remote-dir, never fetched)");
  load_fails("{\"definitions\": {\"a\": {\"$ref\": \"#/definitions/b\"},"
             " \"b\": {\"$ref\": \"#/definitions/a\"}}, \"$ref\": "
             "\"#/definitions/a\"}",
             "t.json: (root): $ref cycle: the reference never "
             "reaches a schema");
  load_fails("{\"type\": \"object\", \"properties\": {\"a\": {\"multipleOf\": "
             "0}}}",
             "t.json: /properties/a/multipleOf: expected a number greater "
             "than 0");
}

/* Validation-only keywords never change the table: the same columns with
 * and without them. */
static void validation_keywords_keep_mapping(void **state) {
  ks_schema *plain = load_ok(seed);
  ks_schema *rich = load_ok(
      "{\"type\": \"object\", \"properties\": {"
      "  \"user_id\": {\"type\": \"integer\", \"minimum\": 1, \"anyOf\": "
      "[{\"multipleOf\": 2}, {\"maximum\": 9}]},"
      "  \"event_type\": {\"type\": \"string\", \"pattern\": \"^[a-z]+$\"},"
      "  \"timestamp\": {\"type\": \"string\", \"format\": \"date-time\"},"
      "  \"properties\": {\"type\": \"object\", \"propertyNames\": "
      "{\"maxLength\": 3}}},"
      " \"required\": [\"user_id\", \"event_type\", \"timestamp\"],"
      " \"patternProperties\": {\"^x-\": true},"
      " \"additionalProperties\": false}");
  assert_int_equal(ks_schema_ncolumns(plain), ks_schema_ncolumns(rich));
  for (size_t i = 0; i < ks_schema_ncolumns(plain); i++) {
    const ks_colspec *a = &ks_schema_columns(plain)[i];
    const ks_colspec *b = &ks_schema_columns(rich)[i];
    check_col(b, a->name, a->type, a->nullable);
  }
  ks_schema_free(plain);
  ks_schema_free(rich);
  /* a $ref'd property maps like its target */
  ks_schema *r = load_ok("{\"type\": \"object\", \"definitions\": {\"ts\": "
                         "{\"type\": \"string\", \"format\": \"date\"}},"
                         " \"properties\": {\"d\": {\"$ref\": "
                         "\"#/definitions/ts\"}}}");
  check_col(&ks_schema_columns(r)[0], "d", KS_COL_DATE, 1);
  ks_schema_free(r);
}

static void annotations_ignored(void **state) {
  ks_schema *s =
      load_ok("{\"$schema\": \"x\", \"$id\": \"y\", \"$comment\": \"c\","
              " \"title\": \"t\", \"description\": \"d\", \"type\": \"object\","
              " \"definitions\": {\"x\": {\"oneOf\": []}},"
              " \"properties\": {\"a\": {\"type\": \"integer\", \"default\": 1,"
              " \"examples\": [1, 2]}}}");
  assert_int_equal(ks_schema_ncolumns(s), 1);
  ks_schema_free(s);
}

static void bad_roots_fail(void **state) {
  load_fails("{\"properties\": {\"a\": true}}",
             "t.json: /type: the root schema must have \"type\": \"object\" "
             "(a record is a JSON object)");
  load_fails("{\"type\": \"array\"}",
             "t.json: /type: the root schema must have \"type\": \"object\" "
             "(a record is a JSON object)");
  load_fails("{\"type\": \"object\"}",
             "t.json: /properties: the root schema must declare "
             "\"properties\" (one column per property)");
  load_fails("[1]", "t.json: (root): a schema must be an object or a boolean");
  load_fails("{\"type\": \"object\", \"properties\": {\"a\": {\"type\": "
             "\"int\"}}}",
             "t.json: /properties/a/type: unknown type \"int\" (expected one "
             "of null, boolean, integer, number, string, object, array)");
  load_fails("{\"type\": \"object\", \"properties\": {\"a\": {\"minLength\": "
             "-1}}}",
             "t.json: /properties/a/minLength: expected a non-negative "
             "integer");
}

static void malformed_schema_fails(void **state) {
  ks_schema *s = NULL;
  char err[512];
  const char *j = "{\"type\": \"object\",";
  assert_int_equal(
      ks_schema_load_string(j, strlen(j), "t.json", &s, err, sizeof err),
      KS_ESCHEMA);
  assert_null(s);
  assert_non_null(strstr(err, "t.json: (root): malformed JSON: "));
  assert_null(strchr(err, '\n'));
}

static void load_file_reads_and_names(void **state) {
  char path[] = "/tmp/ks_schema_testXXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, seed, strlen(seed)), (ssize_t)strlen(seed));
  close(fd);
  ks_schema *s = NULL;
  char err[512] = "";
  assert_int_equal(ks_schema_load_file(path, &s, err, sizeof err), 0);
  assert_int_equal(ks_schema_ncolumns(s), 4);
  ks_schema_free(s);

  const char *bad = "{\"type\": \"object\", \"properties\": {\"x\": "
                    "{\"anyOf\": []}}}";
  FILE *f = fopen(path, "w");
  fputs(bad, f);
  fclose(f);
  assert_int_equal(ks_schema_load_file(path, &s, err, sizeof err), KS_ESCHEMA);
  char want[512];
  snprintf(want, sizeof want,
           "%s: /properties/x/anyOf: expected a non-empty array of schemas",
           path);
  assert_string_equal(err, want);
  unlink(path);

  assert_int_equal(
      ks_schema_load_file("/nonexistent/s.json", &s, err, sizeof err),
      KS_ESCHEMA);
  assert_non_null(strstr(err, "/nonexistent/s.json: cannot open"));
}

/* The seed schema shipped in conf/ loads, when it is there. */
static void repo_seed_schema_loads(void **state) {
  char path[1024];
  snprintf(path, sizeof path, "%s/conf/schemas/user-events.json",
           KS_SOURCE_DIR);
  if (access(path, R_OK) != 0)
    skip();
  ks_schema *s = NULL;
  char err[512] = "";
  int r = ks_schema_load_file(path, &s, err, sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  const ks_colspec *c = ks_schema_columns(s);
  assert_string_equal(c[0].name, "user_id");
  assert_int_equal(c[0].type, KS_COL_INT64);
  /* the demo generator's events: every valid one shreds, every
   * deliberately invalid one is rejected */
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, ks_schema_tree(s));
  ks_decoder *d = ks_decoder_new(s, &rg, 0);
  ks_demo_gen g;
  ks_demo_gen_init(&g, 11, 100);
  ks_buf b;
  ks_buf_init(&b, 0);
  size_t valid = 0;
  for (int i = 0; i < 20000; i++) {
    ks_buf_reset(&b);
    char key[32];
    const char *kind;
    int inv = ks_demo_gen_next(&g, &b, key, &kind);
    ks_reject rej;
    int rc = ks_decoder_feed(d, b.data, b.len, &rej);
    if ((rc != 0) != (inv == 1))
      print_error("event %d (%s): %s: %.*s\n", i, kind ? kind : "valid",
                  rc ? rej.message : "accepted", (int)b.len,
                  (const char *)b.data);
    assert_int_equal(rc != 0, inv == 1);
    if (rc == 0) {
      ks_rowgroup_commit_row(&rg);
      valid++;
    }
  }
  assert_int_equal(rg.nrows, valid);
  for (size_t i = 0; i < rg.ncols; i++)
    assert_int_equal(ks_column_rows(&rg.cols[i]), valid);
  ks_buf_free(&b);
  ks_decoder_free(d);
  ks_rowgroup_free(&rg);
  ks_schema_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(seed_schema_columns),
      cmocka_unit_test(every_type_maps),
      cmocka_unit_test(nested_types_map),
      cmocka_unit_test(declaration_order_kept),
      cmocka_unit_test(keywords_compile_or_fail_with_path),
      cmocka_unit_test(validation_keywords_keep_mapping),
      cmocka_unit_test(annotations_ignored),
      cmocka_unit_test(bad_roots_fail),
      cmocka_unit_test(malformed_schema_fails),
      cmocka_unit_test(load_file_reads_and_names),
      cmocka_unit_test(repo_seed_schema_loads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
