/* A table that follows the Schema Registry (stages/table/schemaless.h,
 * ks_schemaless_adopt): each new writer schema is compared with the
 * table's newest generation of columns. The same or an older schema
 * leaves it; one that adds nullable columns installs the next generation
 * under schema_evolution: add_columns, in the table's column order; a
 * type change, a new required column, or an added column without
 * add_columns is refused with the column named. */
#include "base/ks.h"
#include "stages/record/schema.h"
#include "stages/table/schemaless.h"
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

#define PROPS                                                                  \
  "\"id\":{\"type\":\"integer\"},"                                             \
  "\"addr\":{\"type\":\"object\",\"required\":[\"city\"],\"properties\":{"     \
  "\"city\":{\"type\":\"string\"}}}"

static const char v1[] = "{\"type\":\"object\",\"required\":[\"id\",\"addr\"],"
                         "\"properties\":{" PROPS "}}";
/* v2 adds a nullable top-level column and a nullable nested one */
static const char v2[] =
    "{\"type\":\"object\",\"required\":[\"id\",\"addr\"],\"properties\":{"
    "\"note\":{\"type\":[\"string\",\"null\"]},"
    "\"id\":{\"type\":\"integer\"},"
    "\"addr\":{\"type\":\"object\",\"required\":[\"city\"],\"properties\":{"
    "\"zip\":{\"type\":\"integer\"},"
    "\"city\":{\"type\":\"string\"}}}}}";
/* id becomes a string */
static const char v_type[] =
    "{\"type\":\"object\",\"required\":[\"id\",\"addr\"],\"properties\":{"
    "\"id\":{\"type\":\"string\"},"
    "\"addr\":{\"type\":\"object\",\"required\":[\"city\"],\"properties\":{"
    "\"city\":{\"type\":\"string\"}}}}}";
/* a new required column */
static const char v_required[] =
    "{\"type\":\"object\",\"required\":[\"id\",\"addr\",\"qty\"],"
    "\"properties\":{" PROPS ",\"qty\":{\"type\":\"integer\"}}}";

typedef struct fixture {
  ks_conf_table tc;
  ks_table t;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->tc.name = "orders";
  f->tc.format = KS_FORMAT_DELTA;
  f->tc.add_columns = 1;
  f->t.conf = &f->tc;
  f->t.meta = meta;
  f->t.nmeta = KS_ARRAY_SIZE(meta);
  char err[256];
  assert_int_equal(
      ks_schema_load_string(v1, sizeof v1 - 1, "v1", &f->t.schema, err,
                            sizeof err),
      0);
  f->t.pq = ks_schema_table_tree(f->t.schema, meta, KS_ARRAY_SIZE(meta), err,
                                 sizeof err);
  assert_non_null(f->t.pq);
  assert_int_equal(ks_schemaless_start_registry(&f->t, v1, sizeof v1 - 1,
                                                "v1", err, sizeof err),
                   0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  ks_schemaless_free(&f->t);
  ks_pq_schema_free(f->t.pq);
  ks_schema_free(f->t.schema);
  free(f);
  return 0;
}

static uint64_t gen(fixture *f) {
  ks_table_schema *s = ks_schemaless_current(&f->t);
  uint64_t g = s->gen;
  ks_table_schema_unref(s);
  return g;
}

static int adopt(fixture *f, const char *json, char *why, size_t n) {
  why[0] = 0;
  return ks_schemaless_adopt(&f->t, json, strlen(json), "schema id 7", why,
                             n);
}

static void test_same_and_older(void **state) {
  fixture *f = *state;
  char why[512];
  assert_int_equal(adopt(f, v1, why, sizeof why), 0);
  assert_int_equal(gen(f), 0);
  assert_int_equal(adopt(f, v2, why, sizeof why), 0);
  assert_int_equal(gen(f), 1);
  /* v1 after v2: an older writer, its records read null in note and zip */
  assert_int_equal(adopt(f, v1, why, sizeof why), 0);
  assert_int_equal(adopt(f, v2, why, sizeof why), 0);
  assert_int_equal(gen(f), 1);
}

static void test_adds_in_table_order(void **state) {
  fixture *f = *state;
  char why[512];
  assert_int_equal(adopt(f, v2, why, sizeof why), 0);
  ks_table_schema *s = ks_schemaless_current(&f->t);
  assert_int_equal(s->gen, 1);
  assert_int_equal(s->ndata, 4); /* id, addr.city, addr.zip, note */
  /* the table's columns first, in its order; the new ones after them;
   * the _kafka_* columns still last */
  const char *ss = s->schema_string;
  const char *id = strstr(ss, "\"id\""), *addr = strstr(ss, "\"addr\""),
             *city = strstr(ss, "\"city\""), *zip = strstr(ss, "\"zip\""),
             *note = strstr(ss, "\"note\""),
             *topic = strstr(ss, "\"_kafka_topic\"");
  assert_true(id && addr && city && zip && note && topic);
  assert_true(id < addr && addr < city && city < zip && zip < note &&
              note < topic);
  /* the generation's tree is a change Delta takes: nullable additions */
  ks_delta_schema_change d;
  assert_int_equal(ks_delta_schema_diff(f->t.pq, s->pq, 1, &d), 0);
  assert_int_equal(d.added, 2);
  ks_table_schema_unref(s);
}

static void test_refused(void **state) {
  fixture *f = *state;
  char why[512];
  assert_int_equal(adopt(f, v_type, why, sizeof why), KS_ESCHEMA);
  assert_non_null(strstr(why, "column id"));
  assert_non_null(strstr(why, "schema id 7"));
  assert_int_equal(adopt(f, v_required, why, sizeof why), KS_ESCHEMA);
  assert_non_null(strstr(why, "column qty"));
  assert_int_equal(adopt(f, "{\"type\":", why, sizeof why), KS_ESCHEMA);
  assert_non_null(strstr(why, "does not map to columns"));
  assert_int_equal(gen(f), 0); /* nothing installed */
}

static void test_without_add_columns(void **state) {
  fixture *f = *state;
  f->tc.add_columns = 0;
  char why[512];
  assert_int_equal(adopt(f, v2, why, sizeof why), KS_ESCHEMA);
  assert_non_null(strstr(why, "is new (schema_evolution: add_columns"));
  assert_int_equal(adopt(f, v1, why, sizeof why), 0);
  assert_int_equal(gen(f), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_same_and_older, setup, teardown),
      cmocka_unit_test_setup_teardown(test_adds_in_table_order, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_without_add_columns, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
