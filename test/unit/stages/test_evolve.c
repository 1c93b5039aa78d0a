/* Schema evolution: a table's schemaString read back, compared with the
 * tree a new JSON Schema maps to (allowed and refused changes, with their
 * messages), and the new schema's columns put in the table's order so a
 * record of it lands in the right leaves. */
#include "base/buf.h"
#include "base/ks.h"
#include "stages/record/decode.h"
#include "stages/record/schema.h"
#include "stages/table/evolve.h"
#include "storage/delta/delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../support/storage_env.h"

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
       "\"struct\",\"fields\":[{\"name\":\"f\",\"type\":\"variant\","
       "\"nullable\":true}]},\"nullable\":true}]}",
       "the table's schemaString: field a.f: type \"variant\" is not one ksink "
       "writes"},
      {"{\"type\":\"struct\",\"fields\":[{\"name\":\"m\",\"type\":{\"type\":"
       "\"map\",\"keyType\":\"long\",\"valueType\":\"string\","
       "\"valueContainsNull\":true},\"nullable\":true}]}",
       "the table's schemaString: field m: a map whose keys are not strings"},
      {"{\"type\":\"struct\",\"fields\":[{\"type\":\"long\"}]}",
       "the table's schemaString: a field without a name"},
      {"{\"type\":\"struct\",\"fields\":[{\"name\":\"s\",\"type\":{\"type\":"
       "\"struct\",\"fields\":[{\"name\":\"Id\",\"type\":\"long\"},{\"name\":"
       "\"id\",\"type\":\"string\"}]},\"nullable\":true}]}",
       "the table's schemaString: field s.id: a second field of that name "
       "(Delta names are case-insensitive)"},
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

/* ---- at start-up: ks_evolve_table on a real log ---- */

static int columns(ks_table *t, char *err, size_t errlen) {
  ks_pq_schema *pq =
      ks_schema_table_tree(t->schema, meta, KS_ARRAY_SIZE(meta), err, errlen);
  if (pq == NULL)
    return KS_ESCHEMA;
  ks_pq_schema_free(t->pq);
  t->pq = pq;
  ks_free(t->schema_string);
  t->schema_string = schema_string(pq);
  return 0;
}

static const char v2[] =
    "{\"type\":\"object\",\"required\":[\"user_id\"],\"properties\":{"
    "\"email\":{\"type\":\"string\"},"
    "\"user_id\":{\"type\":\"integer\"},"
    "\"name\":{\"type\":\"string\"},"
    "\"profile\":{\"type\":\"object\",\"properties\":{"
    "\"age\":{\"type\":\"integer\"}}},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"a\":{\"type\":\"string\"}}}},"
    "\"price\":{\"type\":\"number\",\"multipleOf\":0.01,\"minimum\":0,"
    "\"maximum\":1000}}}";

typedef struct evo_fx {
  ks_storage_env env;
  ks_conf_table conf;
  ks_table t;
  int calls, status;
} evo_fx;

static void table_init(evo_fx *f, const char *json, int add_columns) {
  memset(&f->conf, 0, sizeof f->conf);
  f->conf.name = (char *)"events";
  f->conf.path = (char *)"events";
  f->conf.schema_path = (char *)"v.json";
  f->conf.add_columns = add_columns;
  memset(&f->t, 0, sizeof f->t);
  f->t.conf = &f->conf;
  f->t.schema = load(json);
  char err[256];
  assert_int_equal(columns(&f->t, err, sizeof err), 0);
}

static void table_done(evo_fx *f) {
  ks_schema_free(f->t.schema);
  ks_pq_schema_free(f->t.pq);
  ks_free(f->t.schema_string);
  ks_free(f->t.checks_sig);
  ks_free(f->t.layout_sig);
}

static void on_commit(void *arg, int status, int64_t version) {
  evo_fx *f = arg;
  (void)version;
  f->calls++;
  f->status = status;
}

/* The table as generation 1 left it: v0 with the v1 columns and a file. */
static void create_v1(evo_fx *f) {
  table_init(f, v1, 0);
  ks_delta_table *dt = ks_delta_table_new(f->env.st, "events");
  ks_delta_add add = {.path = (char *)"a.parquet",
                      .size = 10,
                      .modification_time = 1000,
                      .num_records = 2,
                      .stats = (char *)"{\"numRecords\":2}"};
  ks_delta_commit_req req = {.adds = &add,
                             .nadds = 1,
                             .schema_string = f->t.schema_string,
                             .engine_info = "ksink/test"};
  f->calls = 0;
  assert_int_equal(ks_delta_commit(dt, &req, on_commit, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, 0);
  ks_delta_table_free(dt);
  table_done(f);
}

static int log_entries(evo_fx *f) {
  int n = 0;
  for (;; n++) {
    char path[256];
    snprintf(path, sizeof path, "%s/events/_delta_log/%020d.json", f->env.dir,
             n);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
      return n;
    fclose(fp);
  }
}

static int evolve(evo_fx *f, ks_storage *st, char *err, size_t errlen) {
  err[0] = 0;
  return ks_evolve_table(&f->env.loop, st, "file:///lake", &f->t, columns, err,
                         errlen);
}

/* The schemaString of the newest version, read back through the log. */
static void on_load(void *arg, int status) {
  on_commit(arg, status, -1);
}

/* The table as the log has it now (caller frees). */
static ks_delta_table *log_table(evo_fx *f) {
  ks_delta_table *dt = ks_delta_table_new(f->env.st, "events");
  f->calls = 0;
  assert_int_equal(ks_delta_table_load(dt, on_load, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, 0);
  return dt;
}

static char *table_schema(evo_fx *f) {
  ks_delta_table *dt = log_table(f);
  char *s = ks_strdup(ks_delta_table_snapshot(dt)->metadata.schema_string);
  ks_delta_table_free(dt);
  return s;
}

static int evo_setup(void **state) {
  evo_fx *f = calloc(1, sizeof *f);
  ks_storage_env_open(&f->env, "evolve", NULL);
  create_v1(f);
  *state = f;
  return 0;
}

static int evo_teardown(void **state) {
  evo_fx *f = *state;
  ks_storage_env_close(&f->env);
  free(f);
  return 0;
}

static void test_start_adds_once(void **state) {
  evo_fx *f = *state;
  char err[1024];
  /* with none the same change is refused and nothing is written */
  table_init(f, v2, 0);
  assert_int_equal(evolve(f, f->env.st, err, sizeof err), KS_ECONFIG);
  assert_string_equal(
      err, "table events: the Delta table at file:///lake/events (version 0) "
           "has a different schema than v.json: column email: not in the "
           "table (new columns need schema_evolution: add_columns); point "
           "the table at a new path or change the schema back");
  assert_int_equal(log_entries(f), 1);
  table_done(f);

  table_init(f, v2, 1);
  assert_int_equal(evolve(f, f->env.st, err, sizeof err), 0);
  assert_int_equal(log_entries(f), 2);
  char *s = table_schema(f);
  assert_string_equal(s, f->t.schema_string);
  /* email, declared first, comes after the table's columns */
  assert_true(strstr(s, "\"price\"") < strstr(s, "\"email\""));
  assert_true(strstr(s, "\"email\"") < strstr(s, "\"_kafka_topic\""));
  ks_free(s);
  table_done(f);

  /* the next start finds the columns there: nothing to commit */
  table_init(f, v2, 1);
  assert_int_equal(evolve(f, f->env.st, err, sizeof err), 0);
  assert_int_equal(log_entries(f), 2);
  table_done(f);
  /* and v1 is refused now: the table has a column it lacks */
  table_init(f, v1, 1);
  assert_int_equal(evolve(f, f->env.st, err, sizeof err), KS_ECONFIG);
  assert_non_null(strstr(err, "column email: in the table but not in the "
                              "schema (a column cannot be dropped)"));
  table_done(f);
}

static void test_start_refuses_other_partitioning(void **state) {
  evo_fx *f = *state;
  char err[1024];
  /* the table has no partition columns; this config partitions by user_id
   * and would add columns: refused before anything is committed */
  table_init(f, v2, 1);
  char *cols[] = {(char *)"user_id"};
  f->t.partition_columns = cols;
  f->t.npartition_columns = 1;
  assert_int_equal(evolve(f, f->env.st, err, sizeof err), KS_ECONFIG);
  assert_string_equal(
      err, "table events: the Delta table at file:///lake/events (version 0) "
           "has other partition columns than tables[0].partition_by; point "
           "the table at a new path or keep its partitioning");
  assert_int_equal(log_entries(f), 1);
  f->t.partition_columns = NULL;
  f->t.npartition_columns = 0;
  table_done(f);
}

/* A storage double: the first log entry we write loses to `rival`, which
 * lands at the same key just before ours (another process evolving the
 * table at the same moment). */
typedef struct race_storage {
  ks_storage base;
  ks_storage *inner;
  const char *rival;
  int raced;
  char key[512];
  const void *data;
  size_t len;
  ks_storage_cb cb;
  void *arg;
} race_storage;

static void race_ours(void *arg, int status) {
  race_storage *rs = arg;
  rs->cb(rs->arg, status);
}

static void race_rival_done(void *arg, int status) {
  race_storage *rs = arg;
  assert_int_equal(status, 0);
  assert_int_equal(ks_storage_put_if_absent(rs->inner, rs->key, rs->data,
                                            rs->len, race_ours, rs),
                   0);
}

static int race_put_if_absent(ks_storage *s, const char *key, const void *d,
                              size_t n, ks_storage_cb cb, void *arg) {
  race_storage *rs = (race_storage *)s;
  if (rs->raced++ || strstr(key, "_delta_log/") == NULL)
    return ks_storage_put_if_absent(rs->inner, key, d, n, cb, arg);
  snprintf(rs->key, sizeof rs->key, "%s", key);
  rs->data = d, rs->len = n, rs->cb = cb, rs->arg = arg;
  return ks_storage_put_if_absent(rs->inner, key, rs->rival, strlen(rs->rival),
                                  race_rival_done, rs);
}

static int race_get(ks_storage *s, const char *key, ks_storage_get_cb cb,
                    void *arg) {
  return ks_storage_get(((race_storage *)s)->inner, key, cb, arg);
}

static int race_list(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
                     void *arg) {
  return ks_storage_list(((race_storage *)s)->inner, prefix, cb, arg);
}

/* The rival's entry: the v1 table's metaData with `schema`. */
static char *rival_entry(evo_fx *f, const char *schema) {
  ks_delta_table *dt = log_table(f);
  ks_delta_metadata m = ks_delta_table_snapshot(dt)->metadata;
  m.schema_string = (char *)schema;
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_delta_write_metadata(&b, &m), 0);
  ks_buf_cstr(&b);
  ks_delta_table_free(dt);
  return (char *)ks_buf_steal(&b, NULL);
}

static void race(evo_fx *f, const char *rival_json, int want, const char *msg) {
  static const ks_storage_vtable vt = {.name = "race",
                                       .put_if_absent = race_put_if_absent,
                                       .get = race_get,
                                       .list = race_list};
  /* what the rival wrote: its schema conformed to the table, as ours is */
  char *text;
  ks_pq_schema *old = v1_table(&text);
  table_init(f, rival_json, 1);
  char err[1024];
  assert_int_equal(ks_schema_conform(f->t.schema, old, err, sizeof err), 0);
  assert_int_equal(columns(&f->t, err, sizeof err), 0);
  char *rival = rival_entry(f, f->t.schema_string);
  table_done(f);
  ks_pq_schema_free(old);
  ks_free(text);

  race_storage rs = {.base = {.vt = &vt, .loop = &f->env.loop},
                     .inner = f->env.st,
                     .rival = rival};
  table_init(f, v2, 1);
  assert_int_equal(evolve(f, &rs.base, err, sizeof err), want);
  assert_int_equal(rs.raced, 1); /* we wrote once, lost, and never again */
  assert_int_equal(log_entries(f), 2);
  if (msg && strstr(err, msg) == NULL)
    fail_msg("got \"%s\", want \"%s\" in it", err, msg);
  table_done(f);
  ks_free(rival);
}

/* Another process adds the same columns first: we find them there. */
static void test_race_same_change(void **state) {
  evo_fx *f = *state;
  race(f, v2, 0, NULL);
  char *s = table_schema(f);
  assert_non_null(strstr(s, "\"email\""));
  ks_free(s);
  /* and the next start has nothing to do */
  table_init(f, v2, 1);
  char err[256];
  assert_int_equal(evolve(f, f->env.st, err, sizeof err), 0);
  assert_int_equal(log_entries(f), 2);
  table_done(f);
}

/* Another process adds another column first: ours no longer fits. */
static void test_race_other_change(void **state) {
  evo_fx *f = *state;
  char *phone = ks_strdup(v1);
  phone[strlen(phone) - 2] = 0; /* drop the closing "}}" */
  ks_buf b;
  ks_buf_init(&b, 0);
  ks_buf_appendf(&b, "%s,\"phone\":{\"type\":\"string\"}}}", phone);
  ks_buf_cstr(&b);
  race(f, (const char *)b.data, KS_ECONFIG,
       "(version 1) has a different schema than v.json: column phone: in the "
       "table but not in the schema (a column cannot be dropped)");
  ks_buf_free(&b);
  ks_free(phone);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_round_trip),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_add_columns_in_table_order),
      cmocka_unit_test(test_refused_changes),
      cmocka_unit_test(test_same_schema),
      cmocka_unit_test_setup_teardown(test_start_adds_once, evo_setup,
                                      evo_teardown),
      cmocka_unit_test_setup_teardown(test_start_refuses_other_partitioning,
                                      evo_setup, evo_teardown),
      cmocka_unit_test_setup_teardown(test_race_same_change, evo_setup,
                                      evo_teardown),
      cmocka_unit_test_setup_teardown(test_race_other_change, evo_setup,
                                      evo_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
