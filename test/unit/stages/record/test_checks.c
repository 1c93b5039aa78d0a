/* Constraint expressions: what parses and what is refused with a reason,
 * SQL's three-valued logic, a table's invariants (both stored forms),
 * CHECK constraints and generated columns, and the per-record check of a
 * decoder: a record that breaks one is rejected as `constraint`, its row
 * rolled back. */
#include "base/buf.h"
#include "base/ks.h"
#include "stages/record/avro.h"
#include "stages/record/decode.h"
#include "stages/record/schema.h"
#include "storage/delta/constraint.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static ks_delta_value I(int64_t i) {
  ks_delta_value v = {KS_DV_INT, i, 0, NULL, 0};
  return v;
}
static ks_delta_value S(const char *s) {
  ks_delta_value v = {KS_DV_STRING, 0, 0, s, strlen(s)};
  return v;
}
static ks_delta_value N(void) {
  ks_delta_value v = {KS_DV_NULL, 0, 0, NULL, 0};
  return v;
}

/* 1 TRUE, 0 not; the expression reads columns a, b (in first-use order) */
static int holds(const char *sql, ks_delta_value a, ks_delta_value b) {
  ks_delta_expr *e;
  char err[256];
  if (ks_delta_expr_parse(sql, &e, err, sizeof err))
    fail_msg("%s: %s", sql, err);
  ks_delta_value v[2] = {a, b};
  int r = ks_delta_expr_holds(e, v);
  ks_delta_expr_free(e);
  return r;
}

static void test_evaluate(void **state) {
  (void)state;
  assert_int_equal(holds("a < 3", I(2), N()), 1);
  assert_int_equal(holds("a < 3", I(3), N()), 0);
  assert_int_equal(holds("a < 3", N(), N()), 0); /* NULL: a violation */
  assert_int_equal(holds("a IS NULL OR a < 3", N(), N()), 1);
  assert_int_equal(holds("a IS NOT NULL AND b <> 'x'", I(1), S("y")), 1);
  assert_int_equal(holds("a IS NOT NULL AND b <> 'x'", I(1), S("x")), 0);
  assert_int_equal(holds("a IN (1, 2, 3)", I(2), N()), 1);
  assert_int_equal(holds("a NOT IN (1, 2, 3)", I(2), N()), 0);
  assert_int_equal(holds("a IN (1, NULL)", I(5), N()), 0); /* NULL */
  assert_int_equal(holds("a BETWEEN 1 AND 10", I(10), N()), 1);
  assert_int_equal(holds("a NOT BETWEEN 1 AND 10", I(11), N()), 1);
  assert_int_equal(holds("`a` <=> (b + 1)", I(5), I(4)), 1);
  assert_int_equal(holds("`a` <=> (b + 1)", I(5), I(5)), 0);
  assert_int_equal(holds("`a` <=> (b + 1)", N(), N()), 1);
  assert_int_equal(holds("`a` <=> (b + 1)", I(1), N()), 0);
  assert_int_equal(holds("NOT (a = 1) OR FALSE", I(1), N()), 0);
  assert_int_equal(holds("a * 2 - 1 >= 2.5", I(2), N()), 1);
  assert_int_equal(holds("a > 9223372036854775807 - 1 + 1", I(1), N()), 0);
  assert_int_equal(holds("b >= 'b'", S("bb"), N()), 1);
}

static void test_refused(void **state) {
  (void)state;
  static const char *const bad[] = {
      "length(a) > 3", "a LIKE 'x%'", "s.x > 1", "a / 2 > 1", "a <",
      "a < 3 )",       "'open",        "CAST(a AS INT) > 1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ks_delta_expr *e = NULL;
    char err[256] = "";
    if (ks_delta_expr_parse(bad[i], &e, err, sizeof err) != KS_EUNSUPPORTED)
      fail_msg("%s parsed", bad[i]);
    assert_true(err[0] != 0);
  }
  ks_delta_expr *e;
  char err[256];
  assert_int_equal(ks_delta_expr_parse("a < 'x'", &e, err, sizeof err), 0);
  ks_delta_vkind k[] = {KS_DV_INT};
  assert_int_equal(ks_delta_expr_check(e, k, err, sizeof err),
                   KS_EUNSUPPORTED);
  assert_non_null(strstr(err, "comparison of a number with a string"));
  ks_delta_expr_free(e);
}

static void test_table_constraints(void **state) {
  (void)state;
  const char *schema =
      "{\"type\":\"struct\",\"fields\":["
      "{\"name\":\"x\",\"type\":\"integer\",\"nullable\":true,\"metadata\":"
      "{\"delta.invariants\":\"{\\\"expression\\\":{\\\"expression\\\":"
      "\\\"x < 3\\\"}}\"}},"
      "{\"name\":\"y\",\"type\":\"long\",\"nullable\":false,\"metadata\":"
      "{\"delta.invariants\":\"y > 0\"}},"
      "{\"name\":\"z\",\"type\":\"long\",\"nullable\":true,\"metadata\":"
      "{\"delta.generationExpression\":\"y + 1\"}},"
      "{\"name\":\"s\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}"
      "]}";
  char *keys[] = {"delta.constraints.s_known", "delta.appendOnly"};
  char *vals[] = {"s IN ('a', 'b') OR s IS NULL", "true"};
  ks_delta_constraints c;
  char err[256];
  assert_int_equal(
      ks_delta_constraints_of(schema, keys, vals, 2, &c, err, sizeof err), 0);
  assert_int_equal(c.n, 4);
  assert_string_equal(c.names[0], "CHECK constraint s_known");
  assert_string_equal(c.sqls[1], "x < 3");
  assert_string_equal(c.features[1], "invariants");
  assert_string_equal(c.sqls[2], "y > 0");
  assert_string_equal(c.sqls[3], "`z` <=> (y + 1)");
  assert_string_equal(c.features[3], "generatedColumns");

  /* a decoder of these columns checks every record */
  const char *js =
      "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":[\"integer\","
      "\"null\"]},\"y\":{\"type\":\"integer\"},\"z\":{\"type\":[\"integer\","
      "\"null\"]},\"s\":{\"type\":[\"string\",\"null\"]}},"
      "\"required\":[\"y\"]}";
  ks_schema *s;
  assert_int_equal(
      ks_schema_load_string(js, strlen(js), "t", &s, err, sizeof err), 0);
  assert_int_equal(ks_schema_set_checks(s, &c, err, sizeof err), 0);
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, ks_schema_tree(s));
  ks_decoder *d = ks_decoder_new(s, &rg, 0);
  static const struct {
    const char *rec;
    int ok;
    const char *why;
  } cases[] = {
      {"{\"x\":2,\"y\":5,\"z\":6,\"s\":\"a\"}", 1, NULL},
      {"{\"y\":5,\"z\":6}", 0, "invariant of column x"}, /* x NULL */
      {"{\"x\":3,\"y\":5,\"z\":6}", 0, "invariant of column x"},
      {"{\"x\":1,\"y\":0,\"z\":1}", 0, "invariant of column y"},
      {"{\"x\":1,\"y\":5,\"z\":7}", 0, "generated column z"},
      {"{\"x\":1,\"y\":5}", 0, "generated column z"},
      {"{\"x\":1,\"y\":5,\"z\":6,\"s\":\"c\"}", 0, "CHECK constraint s_known"},
      {"{\"x\":0,\"y\":9,\"z\":10}", 1, NULL},
  };
  size_t rows = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ks_reject rej;
    ks_rowgroup_mark_row(&rg);
    int rc = ks_decoder_feed(d, (const uint8_t *)cases[i].rec,
                             strlen(cases[i].rec), &rej);
    if ((rc == 0) != cases[i].ok)
      fail_msg("%s: rc %d (%s)", cases[i].rec, rc, rej.message);
    if (rc == 0) {
      ks_rowgroup_commit_row(&rg);
      rows++;
    } else {
      assert_int_equal(rej.reason, KS_REASON_CONSTRAINT);
      assert_string_equal(ks_reason_name(rej.reason), "constraint");
      if (!strstr(rej.message, cases[i].why))
        fail_msg("%s: %s", cases[i].rec, rej.message);
    }
  }
  /* rejected rows left nothing behind */
  for (size_t i = 0; i < rg.ncols; i++)
    assert_int_equal(rg.cols[i].defs.len, rows);

  /* Avro records reach the same columns through the decoder's events and
   * are held to the same constraints */
  const char *avsc =
      "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
      "{\"name\":\"x\",\"type\":[\"null\",\"long\"]},"
      "{\"name\":\"y\",\"type\":\"long\"},"
      "{\"name\":\"z\",\"type\":[\"null\",\"long\"]},"
      "{\"name\":\"s\",\"type\":[\"null\",\"string\"]}]}";
  size_t avsc_len = strlen(avsc);
  ks_avro_schema *w = NULL;
  assert_int_equal(
      ks_avro_schema_parse(&avsc, &avsc_len, 1, &w, err, sizeof err), 0);
  ks_avro_decoder *a = ks_avro_decoder_new(d);
  /* zigzag longs: union branch 1 is 0x02; x, y, z, s in turn */
  static const struct {
    uint8_t b[8];
    int ok;
    const char *why;
  } av[] = {
      {{0x02, 0x04, 0x0a, 0x02, 0x0c, 0x02, 0x02, 'a'}, 1, NULL}, /* 2 5 6 a */
      {{0x02, 0x06, 0x0a, 0x02, 0x0c, 0x02, 0x02, 'a'}, 0,
       "invariant of column x"},                                  /* x 3 */
      {{0x02, 0x02, 0x0a, 0x02, 0x0c, 0x02, 0x02, 'c'}, 0,
       "CHECK constraint s_known"},                               /* s c */
      {{0x02, 0x02, 0x0a, 0x02, 0x0e, 0x02, 0x02, 'b'}, 0,
       "generated column z"},                                     /* z 7 */
  };
  for (size_t i = 0; i < sizeof av / sizeof *av; i++) {
    ks_reject rej;
    ks_rowgroup_mark_row(&rg);
    int rc = ks_avro_decoder_feed(a, ks_avro_schema_root(w), av[i].b,
                                  sizeof av[i].b, &rej);
    if ((rc == 0) != av[i].ok)
      fail_msg("avro record %zu: rc %d (%s)", i, rc, rej.message);
    if (rc == 0) {
      ks_rowgroup_commit_row(&rg);
      rows++;
    } else {
      assert_int_equal(rej.reason, KS_REASON_CONSTRAINT);
      if (!strstr(rej.message, av[i].why))
        fail_msg("avro record %zu: %s", i, rej.message);
    }
  }
  for (size_t i = 0; i < rg.ncols; i++)
    assert_int_equal(rg.cols[i].defs.len, rows);
  ks_avro_decoder_free(a);
  ks_avro_schema_free(w);
  ks_decoder_free(d);
  ks_rowgroup_free(&rg);

  /* a constraint over a column that is not there, or of another type */
  char *k2[] = {"delta.constraints.bad"};
  char *v2[] = {"nope > 1"};
  ks_delta_constraints c2;
  assert_int_equal(
      ks_delta_constraints_of(NULL, k2, v2, 1, &c2, err, sizeof err), 0);
  assert_int_equal(ks_schema_set_checks(s, &c2, err, sizeof err),
                   KS_EUNSUPPORTED);
  assert_non_null(strstr(err, "table feature checkConstraints: the CHECK "
                              "constraint bad (nope > 1): column nope is not "
                              "a top-level column"));
  ks_delta_constraints_free(&c2);
  ks_schema_free(s);
  ks_delta_constraints_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_evaluate),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_table_constraints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
