/* The draft-07 validator through the decoder: values that stream and
 * values recorded on the tape reach the same verdicts and messages, a
 * buffered root still shreds into its columns, and schemas that recurse
 * without consuming input end in an error instead of a stack overflow. */
#include "base/ks.h"
#include "jsonschema/jsonschema.h"
#include "stages/record/decode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static ks_schema *load(const char *json, int table) {
  ks_schema_opts o = {.table = table, .format_assertion = 1};
  ks_schema *s = NULL;
  char err[512] = "";
  int r = ks_schema_load_opts(json, strlen(json), "t.json", &o, &s, err,
                              sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  return s;
}

/* "" when valid, else the reject message. */
static const char *verdict(const ks_schema *s, const char *json) {
  static ks_reject rej;
  if (ks_schema_validate(s, (const uint8_t *)json, strlen(json), &rej) == 0)
    return "";
  return rej.message;
}

static void streamed_and_buffered_agree(void **state) {
  /* the same checks, once on a streamed node, once under anyOf (recorded
   * on the tape): the same message and path */
  ks_schema *a = load("{\"properties\": {\"o\": {\"properties\": {\"n\": "
                      "{\"maximum\": 3}}}}}",
                      0);
  ks_schema *b = load("{\"properties\": {\"o\": {\"anyOf\": [true], "
                      "\"properties\": {\"n\": {\"maximum\": 3}}}}}",
                      0);
  const char *rec = "{\"o\": {\"x\": [1, {}], \"n\": 4}}";
  char want[512];
  snprintf(want, sizeof want, "%s", verdict(a, rec));
  assert_string_equal(want, "/o/n: 4 is greater than the maximum 3");
  assert_string_equal(verdict(b, rec), want);
  ks_schema_free(a);
  ks_schema_free(b);
}

static void keywords_report_pointer_and_keyword(void **state) {
  ks_schema *s =
      load("{\"type\": \"object\", \"propertyNames\": {\"maxLength\": 3},"
           " \"patternProperties\": {\"^a\": {\"type\": \"integer\"}, \"b$\": "
           "{\"minimum\": 10}},"
           " \"properties\": {\"l\": {\"items\": [{\"type\": \"string\"}], "
           "\"additionalItems\": false, \"uniqueItems\": true},"
           "  \"c\": {\"contains\": {\"const\": {\"k\": [1]}}}},"
           " \"dependencies\": {\"x\": [\"y\"]}}",
           0);
  assert_string_equal(verdict(s, "{\"ab\": 12}"), "");
  /* "ab" matches both patterns: both schemas apply */
  assert_string_equal(verdict(s, "{\"ab\": 9}"),
                      "/ab: 9 is less than the minimum 10");
  assert_string_equal(verdict(s, "{\"long\": 1}"),
                      "/long: property name \"long\" does not match "
                      "propertyNames");
  assert_string_equal(verdict(s, "{\"l\": [\"a\", 1]}"),
                      "/l/1: no value is allowed here (the schema is false)");
  assert_string_equal(verdict(s, "{\"c\": [{\"k\": [1.0]}]}"), "");
  assert_string_equal(verdict(s, "{\"c\": [{\"k\": [2]}]}"),
                      "/c: no item matches the contains schema");
  assert_string_equal(verdict(s, "{\"x\": 1}"),
                      ": property \"x\" requires property \"y\"");
  ks_schema_free(s);
  ks_schema *u = load("{\"uniqueItems\": true}", 0);
  assert_string_equal(verdict(u, "[{\"a\": 1, \"b\": 2}, 3, {\"b\": 2, "
                                 "\"a\": 1.0}]"),
                      ": items 0 and 2 are equal");
  ks_schema_free(u);
}

/* A root that must be recorded (dependencies) still fills its columns. */
/* Which containers are opaque (nothing inside them is looked at, so a
 * decoder may pass over their members): free-form objects and arrays, and
 * those whose subschemas accept everything, also through a $ref cycle;
 * not one with a keyword on its members, items or their count, nor one
 * with a subschema that asserts anything at any depth. */
static void opaque_containers(void **state) {
  static const struct {
    const char *schema;
    int is_array, opaque;
  } cases[] = {
      {"{\"type\": \"object\"}", 0, 1},
      {"true", 0, 1},
      {"{}", 1, 1},
      {"{\"additionalProperties\": {}}", 0, 1},
      {"{\"items\": true, \"additionalItems\": {}}", 1, 1},
      {"{\"definitions\": {\"a\": {\"additionalProperties\": "
       "{\"$ref\": \"#/definitions/a\"}}}, \"$ref\": \"#/definitions/a\"}",
       0, 1},
      {"{\"definitions\": {\"a\": {\"additionalProperties\": "
       "{\"$ref\": \"#/definitions/a\"}, \"maxProperties\": 3}}, "
       "\"$ref\": \"#/definitions/a\"}",
       0, 0},
      {"{\"maxProperties\": 1}", 0, 0},
      {"{\"properties\": {\"a\": {}}}", 0, 0},
      {"{\"required\": [\"a\"]}", 0, 0},
      {"{\"additionalProperties\": {\"type\": \"string\"}}", 0, 0},
      {"{\"additionalProperties\": {\"items\": {\"minimum\": 1}}}", 0, 0},
      {"{\"propertyNames\": {\"maxLength\": 3}}", 0, 0},
      {"{\"patternProperties\": {\"x\": {}}}", 0, 0},
      {"{\"items\": {\"format\": \"date\"}}", 1, 0},
      {"{\"items\": [{}]}", 1, 0},
      {"{\"contains\": {}}", 1, 0},
      {"{\"uniqueItems\": true}", 1, 0},
      {"{\"anyOf\": [{}, {}]}", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ks_js_schema *js = NULL;
    char err[256];
    assert_int_equal(ks_js_compile(cases[i].schema, strlen(cases[i].schema),
                                   "t", NULL, &js, err, sizeof err),
                     0);
    ks_js_validator v;
    ks_js_error e;
    ks_js_validator_init(&v, js);
    ks_js_validator_reset(&v, &e);
    assert_int_equal(ks_js_open(&v, cases[i].is_array), 0);
    if (ks_js_opaque(&v) != cases[i].opaque)
      print_error("%s: opaque %d\n", cases[i].schema, ks_js_opaque(&v));
    assert_int_equal(ks_js_opaque(&v) != 0, cases[i].opaque);
    ks_js_validator_free(&v);
    ks_js_free(js);
  }
}

static void buffered_root_still_shreds(void **state) {
  ks_schema *s = load("{\"type\": \"object\", \"properties\": {"
                      " \"i\": {\"type\": \"integer\"},"
                      " \"s\": {\"type\": \"string\"},"
                      " \"o\": {\"type\": \"object\"}},"
                      " \"required\": [\"i\"],"
                      " \"dependencies\": {\"s\": [\"o\"]}}",
                      1);
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, ks_schema_tree(s));
  ks_decoder *d = ks_decoder_new(s, &rg, 0);
  ks_reject rej;
  const char *ok = "{\"i\": 7, \"s\": \"x\", \"o\": {\"a\": [1]}}";
  assert_int_equal(ks_decoder_feed(d, (const uint8_t *)ok, strlen(ok), &rej),
                   0);
  ks_rowgroup_commit_row(&rg);
  const char *absent = "{\"i\": 8}";
  assert_int_equal(
      ks_decoder_feed(d, (const uint8_t *)absent, strlen(absent), &rej), 0);
  ks_rowgroup_commit_row(&rg);
  const char *bad = "{\"i\": 9, \"s\": \"x\"}";
  assert_int_equal(ks_decoder_feed(d, (const uint8_t *)bad, strlen(bad), &rej),
                   KS_EINVALID);
  assert_string_equal(ks_keyword_name(rej.keyword), "dependencies");
  assert_int_equal(rg.nrows, 2);
  for (size_t i = 0; i < rg.ncols; i++)
    assert_int_equal(ks_column_rows(&rg.cols[i]), 2);
  int64_t v[2];
  memcpy(v, rg.cols[0].values.data, sizeof v);
  assert_int_equal(v[0], 7);
  assert_int_equal(v[1], 8);
  ks_decoder_free(d);
  ks_rowgroup_free(&rg);
  ks_schema_free(s);
}

static void endless_recursion_is_an_error(void **state) {
  ks_schema *s = load("{\"anyOf\": [{\"$ref\": \"#\"}]}", 0);
  ks_reject rej;
  assert_int_equal(ks_schema_validate(s, (const uint8_t *)"{}", 2, &rej),
                   KS_EINVALID);
  assert_string_equal(ks_keyword_name(rej.keyword), "$ref");
  ks_schema_free(s);
  /* deep instances against a recursive schema: an error, not a crash */
  ks_schema *t = load("{\"items\": {\"$ref\": \"#\"}, \"not\": {\"type\": "
                      "\"string\"}}",
                      0);
  char deep[400];
  memset(deep, '[', 100);
  memset(deep + 100, ']', 100);
  deep[200] = 0;
  assert_int_equal(ks_schema_validate(t, (const uint8_t *)deep, 200, &rej),
                   KS_ETOOBIG);
  ks_schema_free(t);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "[0,1,...,n-1]" plus "," extra when extra is not NULL. */
static char *int_array(int n, const char *extra) {
  char *out = malloc((size_t)n * 8 + 64), *o = out;
  *o++ = '[';
  for (int i = 0; i < n; i++)
    o += sprintf(o, i ? ",%d" : "%d", i);
  if (extra)
    o += sprintf(o, ",%s", extra);
  *o++ = ']';
  *o = 0;
  return out;
}

static void unique_items_is_hash_based(void **state) {
  ks_schema *s = load("{\"uniqueItems\": true}", 0);
  /* equality as before: by value, objects in any member order */
  assert_string_equal(verdict(s, "[1, 2, 1]"), ": items 0 and 2 are equal");
  assert_string_equal(verdict(s, "[{\"a\": 1, \"b\": [2]}, 3, "
                                 "{\"b\": [2], \"a\": 1}]"),
                      ": items 0 and 2 are equal");
  assert_string_equal(verdict(s, "[[1, 2], [2, 1], \"1\", 1, true, null]"), "");
  assert_string_equal(verdict(s, "[3, 1, 2, 1, 3]"),
                      ": items 0 and 4 are equal");
  /* 150,000 items: milliseconds, not minutes (it was O(n^2)) */
  char *ok = int_array(150000, NULL), *dup = int_array(150000, "0");
  double t0 = now_s();
  assert_string_equal(verdict(s, ok), "");
  assert_string_equal(verdict(s, dup), ": items 0 and 150000 are equal");
  double took = now_s() - t0;
  print_message("uniqueItems over 150,000 items twice: %.3f s\n", took);
  assert_true(took < 5.0);
  free(ok);
  free(dup);
  ks_schema_free(s);
}

static void budget_bounds_a_record(void **state) {
  ks_reject rej;
  /* a catastrophic pattern: the record is refused with keyword "budget" */
  ks_schema *s = load("{\"properties\": {\"c\": {\"pattern\": "
                      "\"^(a+)+$\"}}}",
                      0);
  const char *bad = "{\"c\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"}";
  double t0 = now_s();
  assert_int_equal(
      ks_schema_validate(s, (const uint8_t *)bad, strlen(bad), &rej),
      KS_EINVALID);
  assert_string_equal(ks_keyword_name(rej.keyword), "budget");
  assert_string_equal(verdict(s, "{\"c\": \"aaaa\"}"), "");
  assert_string_equal(verdict(s, "{\"c\": \"aab\"}"),
                      "/c: \"aab\" does not match the pattern \"^(a+)+$\"");
  ks_schema_free(s);
  /* under a combinator the budget still refuses the whole record: "not"
   * must not turn an over-budget branch into a success */
  s = load("{\"not\": {\"properties\": {\"c\": {\"pattern\": "
           "\"^(a+)+$\"}}}}",
           0);
  assert_int_equal(
      ks_schema_validate(s, (const uint8_t *)bad, strlen(bad), &rej),
      KS_EINVALID);
  assert_string_equal(ks_keyword_name(rej.keyword), "budget");
  ks_schema_free(s);
  /* many strings, each backtracking up to its limit: the record's budget
   * runs out instead of a worker's time */
  s = load("{\"items\": {\"pattern\": \"^(a|aa)+$\"}}", 0);
  char rec[64 * 40 + 8], *o = rec;
  *o++ = '[';
  for (int i = 0; i < 40; i++)
    o += sprintf(o, "%s\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\"",
                 i ? "," : "");
  *o++ = ']';
  *o = 0;
  assert_int_equal(ks_schema_validate(s, (const uint8_t *)rec, strlen(rec),
                                      &rej),
                   KS_EINVALID);
  assert_string_equal(ks_keyword_name(rej.keyword), "budget");
  ks_schema_free(s);
  /* patternProperties checked as keys stream */
  s = load("{\"patternProperties\": {\"^(a+)+$\": {\"type\": "
           "\"integer\"}}}",
           0);
  const char *keys = "{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\": 1}";
  assert_int_equal(
      ks_schema_validate(s, (const uint8_t *)keys, strlen(keys), &rej),
      KS_EINVALID);
  assert_string_equal(ks_keyword_name(rej.keyword), "budget");
  ks_schema_free(s);
  double took = now_s() - t0;
  print_message("over-budget records: %.3f s\n", took);
  assert_true(took < 10.0);
}

static void format_regex_verdicts(void **state) {
  ks_schema *s = load("{\"items\": {\"format\": \"regex\"}}", 0);
  /* the same pattern text many times: one compile, the same verdict */
  assert_string_equal(verdict(s, "[\"^a+$\", \"^a+$\", \"[a-z]\", \"^a+$\"]"),
                      "");
  const char *v = verdict(s, "[\"^a+$\", \"(\", \"^a+$\", \"(\"]");
  assert_non_null(strstr(v, "/1: "));
  ks_schema_free(s);
}

static void numbers_are_exact(void **state) {
  ks_schema *s = load("{\"multipleOf\": 0.1}", 0);
  assert_string_equal(verdict(s, "0.3"), "");
  assert_string_equal(verdict(s, "1e308"), "");
  assert_string_equal(verdict(s, "0.35"), ": 0.35 is not a multiple of 0.1");
  ks_schema_free(s);
  ks_schema *i = load("{\"type\": \"integer\", \"maximum\": "
                      "9007199254740992}",
                      0);
  assert_string_equal(verdict(i, "1.0"), "");
  assert_string_equal(verdict(i, "9007199254740993"),
                      ": 9007199254740993 is greater than the maximum "
                      "9007199254740992");
  ks_schema_free(i);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(streamed_and_buffered_agree),
      cmocka_unit_test(keywords_report_pointer_and_keyword),
      cmocka_unit_test(buffered_root_still_shreds),
      cmocka_unit_test(opaque_containers),
      cmocka_unit_test(endless_recursion_is_an_error),
      cmocka_unit_test(numbers_are_exact),
      cmocka_unit_test(unique_items_is_hash_based),
      cmocka_unit_test(budget_bounds_a_record),
      cmocka_unit_test(format_regex_verdicts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
