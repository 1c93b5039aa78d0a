/* Delta table load/commit on the fs backend in a temp directory, with two
 * table instances on one directory standing in for two writers. */
#include "base/buf.h"
#include "base/ks.h"
#include "storage/delta/constraint.h"
#include "storage/delta/delta.h"
#include "storage/storage.h"

#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../support/storage_env.h"

typedef struct fx {
  ks_storage_env env;
  int calls;
  int status;
  int64_t version;
} fx;

/* metaData.schemaString of a table {id: long not null, name: string} */
static const char schema2[] =
    "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\","
    "\"nullable\":false,\"metadata\":{}},{\"name\":\"name\",\"type\":"
    "\"string\",\"nullable\":true,\"metadata\":{}}]}";

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  ks_storage_env_open(&f->env, "delta", NULL);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ks_storage_env_close(&f->env);
  free(f);
  return 0;
}

static void on_load(void *arg, int status) {
  fx *f = arg;
  f->calls++;
  f->status = status;
}

static void on_commit(void *arg, int status, int64_t version) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  f->version = version;
}

static int load(fx *f, ks_delta_table *t) {
  f->calls = 0;
  assert_int_equal(ks_delta_table_load(t, on_load, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  return f->status;
}

/* One file and one txn per commit; returns the status, f->version has the
 * committed version. */
static int commit(fx *f, ks_delta_table *t, const char *path,
                  const char *app, int64_t expected, int64_t version) {
  ks_delta_add add = {.path = (char *)path, .size = 10,
                      .modification_time = 1000, .num_records = 2,
                      .stats = "{\"numRecords\":2}"};
  ks_delta_txn_update txn = {.app_id = app, .expected = expected,
                             .version = version};
  ks_delta_commit_req req = {.adds = &add, .nadds = 1, .txns = &txn,
                             .ntxns = 1, .schema_string = schema2,
                             .operation = "STREAMING UPDATE",
                             .engine_info = "ksink/test"};
  f->calls = 0;
  f->version = -2;
  int rc = ks_delta_commit(t, &req, on_commit, f);
  if (rc)
    return rc;
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  return f->status;
}

static char *read_log(fx *f, const char *table, int64_t v) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s/_delta_log/%020lld.json", f->env.dir, table,
           (long long)v);
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return NULL;
  char *buf = calloc(1, 1 << 16);
  size_t n = fread(buf, 1, (1 << 16) - 1, fp);
  buf[n] = 0;
  fclose(fp);
  return buf;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

static int log_entries(fx *f, const char *table) {
  int n = 0;
  char *s;
  while ((s = read_log(f, table, n))) {
    free(s);
    n++;
  }
  return n;
}

static void test_create_then_sequential_commits(void **state) {
  fx *f = *state;
  ks_delta_table *t = ks_delta_table_new(f->env.st, "events");
  assert_int_equal(load(f, t), 0); /* no table yet */
  assert_int_equal(ks_delta_table_snapshot(t)->version, -1);

  assert_int_equal(commit(f, t, "a.parquet", "app-ev-0", -1, 9), 0);
  assert_int_equal(f->version, 0);
  char *v0 = read_log(f, "events", 0);
  assert_non_null(v0);
  assert_int_equal(count(v0, "{\"protocol\":{\"minReaderVersion\":1,"
                             "\"minWriterVersion\":2}}\n"), 1);
  assert_int_equal(count(v0, "{\"metaData\":"), 1);
  assert_int_equal(count(v0, "\"schemaString\":\"{\\\"type\\\":\\\"struct"
                             "\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\","
                             "\\\"type\\\":\\\"long\\\""), 1);
  assert_int_equal(count(v0, "\"partitionColumns\":[],\"configuration\":{}"),
                   1);
  assert_int_equal(count(v0, "{\"add\":{\"path\":\"a.parquet\""), 1);
  assert_int_equal(count(v0, "{\"txn\":{\"appId\":\"app-ev-0\",\"version\":9,"),
                   1);
  assert_int_equal(count(v0, "\"engineInfo\":\"ksink/test\""), 1);
  assert_int_equal(count(v0, "\n"), 5);
  free(v0);

  assert_int_equal(commit(f, t, "b.parquet", "app-ev-0", 9, 19), 0);
  assert_int_equal(f->version, 1);
  assert_int_equal(commit(f, t, "c.parquet", "app-ev-0", 19, 29), 0);
  assert_int_equal(f->version, 2);
  char *v2 = read_log(f, "events", 2);
  assert_int_equal(count(v2, "protocol"), 0);
  assert_int_equal(count(v2, "metaData"), 0);
  free(v2);

  const ks_delta_snapshot *s = ks_delta_table_snapshot(t);
  assert_int_equal(s->version, 2);
  assert_int_equal(s->nfiles, 3);
  assert_int_equal(ks_delta_snapshot_txn(s, "app-ev-0"), 29);

  /* an independent reader sees the same table */
  ks_delta_table *r = ks_delta_table_new(f->env.st, "events/");
  assert_int_equal(load(f, r), 0);
  const ks_delta_snapshot *rs = ks_delta_table_snapshot(r);
  assert_int_equal(rs->version, 2);
  assert_int_equal(rs->nfiles, 3);
  assert_string_equal(rs->files[2].path, "c.parquet");
  assert_int_equal(ks_delta_snapshot_rows(rs), 6);
  assert_int_equal(ks_delta_snapshot_txn(rs, "app-ev-0"), 29);
  assert_string_equal(rs->metadata.id, s->metadata.id);
  assert_int_equal(strlen(rs->metadata.id), 36);
  /* loading again finds nothing new */
  assert_int_equal(load(f, r), 0);
  assert_int_equal(ks_delta_table_snapshot(r)->version, 2);
  ks_delta_table_free(r);
  ks_delta_table_free(t);
}

static void test_two_writers_conflict_then_retry(void **state) {
  fx *f = *state;
  ks_delta_table *w1 = ks_delta_table_new(f->env.st, "t");
  ks_delta_table *w2 = ks_delta_table_new(f->env.st, "t");
  assert_int_equal(load(f, w1), 0);
  assert_int_equal(load(f, w2), 0);

  /* both try to create the table; w2 loses v0 and lands at v1 without a
   * second protocol/metaData */
  assert_int_equal(commit(f, w1, "w1-a.parquet", "app-t-0", -1, 5), 0);
  assert_int_equal(f->version, 0);
  char *v0 = read_log(f, "t", 0);
  assert_int_equal(commit(f, w2, "w2-a.parquet", "app-t-1", -1, 7), 0);
  assert_int_equal(f->version, 1);
  char *v0_after = read_log(f, "t", 0);
  assert_string_equal(v0, v0_after); /* never overwritten */
  char *v1 = read_log(f, "t", 1);
  assert_int_equal(count(v1, "protocol"), 0);
  assert_int_equal(count(v1, "metaData"), 0);
  assert_int_equal(count(v1, "w2-a.parquet"), 1);

  /* w1 is stale at v0; partition 0's txn is untouched by w2 */
  assert_int_equal(commit(f, w1, "w1-b.parquet", "app-t-0", 5, 8), 0);
  assert_int_equal(f->version, 2);
  char *v1_after = read_log(f, "t", 1);
  assert_string_equal(v1, v1_after);
  const ks_delta_snapshot *s1 = ks_delta_table_snapshot(w1);
  assert_int_equal(s1->version, 2);
  assert_int_equal(s1->nfiles, 3); /* it saw w2's file while reloading */
  assert_int_equal(ks_delta_snapshot_txn(s1, "app-t-1"), 7);
  assert_int_equal(ks_delta_snapshot_txn(s1, "app-t-0"), 8);
  assert_int_equal(log_entries(f, "t"), 3);
  free(v0);
  free(v0_after);
  free(v1);
  free(v1_after);
  ks_delta_table_free(w1);
  ks_delta_table_free(w2);
}

/* A commit with row tracking that loses the race is rebuilt on the
 * winner's snapshot: its row ids start above the winner's high-water mark
 * and its in-commit timestamp above the winner's. */
static int commit_tracked(fx *f, ks_delta_table *t, const char *path,
                          const char *app, int64_t expected,
                          int64_t version) {
  static const char *const features[] = {"rowTracking", "inCommitTimestamp"};
  ks_delta_add add = {.path = (char *)path, .size = 10,
                      .modification_time = 1000, .num_records = 2,
                      .stats = "{\"numRecords\":2}"};
  ks_delta_txn_update txn = {.app_id = app, .expected = expected,
                             .version = version};
  ks_delta_commit_req req = {.adds = &add, .nadds = 1, .txns = &txn,
                             .ntxns = 1, .schema_string = schema2,
                             .table_features = features,
                             .ntable_features = 2,
                             .engine_info = "ksink/test"};
  f->calls = 0;
  int rc = ks_delta_commit(t, &req, on_commit, f);
  if (rc)
    return rc;
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  return f->status;
}

static int64_t ict_of(const char *entry) {
  const char *p = strstr(entry, "\"inCommitTimestamp\":");
  return p ? strtoll(p + 20, NULL, 10) : -1;
}

static void test_row_ids_after_lost_race(void **state) {
  fx *f = *state;
  ks_delta_table *w1 = ks_delta_table_new(f->env.st, "rt");
  ks_delta_table *w2 = ks_delta_table_new(f->env.st, "rt");
  assert_int_equal(load(f, w1), 0);
  assert_int_equal(commit_tracked(f, w1, "a.parquet", "app-0", -1, 1), 0);
  char *v0 = read_log(f, "rt", 0);
  assert_int_equal(strncmp(v0, "{\"commitInfo\":{\"inCommitTimestamp\":", 33), 0);
  assert_non_null(strstr(v0, "\"baseRowId\":0,\"defaultRowCommitVersion\":0"));
  assert_non_null(strstr(v0, "\\\"rowIdHighWaterMark\\\":1}"));
  assert_int_equal(load(f, w2), 0); /* w2 at v0 */
  assert_int_equal(commit_tracked(f, w1, "b.parquet", "app-0", 1, 2), 0);
  assert_int_equal(commit_tracked(f, w2, "c.parquet", "app-1", -1, 9), 0);
  assert_int_equal(f->version, 2); /* lost v1, retried at v2 */
  char *v1 = read_log(f, "rt", 1), *v2 = read_log(f, "rt", 2);
  assert_non_null(strstr(v1, "\"baseRowId\":2,\"defaultRowCommitVersion\":1"));
  assert_non_null(strstr(v2, "\"baseRowId\":4,\"defaultRowCommitVersion\":2"));
  assert_non_null(strstr(v2, "\\\"rowIdHighWaterMark\\\":5}"));
  assert_true(ict_of(v1) > ict_of(v0));
  assert_true(ict_of(v2) > ict_of(v1));
  assert_int_equal(ks_delta_row_id_high_water_mark(ks_delta_table_snapshot(w2)),
                   5);
  /* a table loaded from a checkpoint at the newest version still knows
   * the last in-commit timestamp (from that version's entry) */
  f->calls = 0;
  assert_int_equal(ks_delta_table_checkpoint(w2, on_load, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, 0);
  ks_delta_table *w3 = ks_delta_table_new(f->env.st, "rt");
  assert_int_equal(load(f, w3), 0);
  assert_int_equal(ks_delta_table_last_checkpoint(w3), 2);
  assert_int_equal(ks_delta_table_snapshot(w3)->last_ict, ict_of(v2));
  assert_int_equal(ks_delta_row_id_high_water_mark(ks_delta_table_snapshot(w3)),
                   5);
  ks_delta_table_free(w3);
  free(v0);
  free(v1);
  free(v2);
  ks_delta_table_free(w1);
  ks_delta_table_free(w2);
}

static void test_zombie(void **state) {
  fx *f = *state;
  ks_delta_table *w1 = ks_delta_table_new(f->env.st, "z");
  ks_delta_table *w2 = ks_delta_table_new(f->env.st, "z");
  assert_int_equal(commit(f, w1, "a.parquet", "app-z-0", -1, 10), 0);
  assert_int_equal(load(f, w2), 0);
  assert_int_equal(ks_delta_snapshot_txn(ks_delta_table_snapshot(w2),
                                         "app-z-0"), 10);

  /* w1 (new owner after a rebalance) moves partition 0 past 10 */
  assert_int_equal(commit(f, w1, "b.parquet", "app-z-0", 10, 20), 0);
  char *v1 = read_log(f, "z", 1);

  /* w2 still believes it owns partition 0 from offset 11: a zombie. It
   * hits EEXIST at v1, reloads, sees 20 and gives up without writing. */
  assert_int_equal(commit(f, w2, "zombie.parquet", "app-z-0", 10, 30),
                   KS_EZOMBIE);
  assert_non_null(strstr(ks_delta_table_error(w2), "app-z-0"));
  assert_int_equal(log_entries(f, "z"), 2);
  char *v1_after = read_log(f, "z", 1);
  assert_string_equal(v1, v1_after);
  assert_int_equal(ks_delta_table_snapshot(w2)->version, 1);

  /* again from an up-to-date snapshot: refused after a refresh */
  assert_int_equal(commit(f, w2, "zombie.parquet", "app-z-0", 10, 30),
                   KS_EZOMBIE);
  assert_int_equal(log_entries(f, "z"), 2);

  /* other partitions of w2 are fine */
  assert_int_equal(commit(f, w2, "c.parquet", "app-z-1", -1, 3), 0);
  assert_int_equal(f->version, 2);

  /* a stale snapshot behind the caller's expected refreshes and commits */
  ks_delta_table *w3 = ks_delta_table_new(f->env.st, "z");
  assert_int_equal(commit(f, w3, "d.parquet", "app-z-0", 20, 25), 0);
  assert_int_equal(f->version, 3);
  assert_int_equal(log_entries(f, "z"), 4);
  free(v1);
  free(v1_after);
  ks_delta_table_free(w1);
  ks_delta_table_free(w2);
  ks_delta_table_free(w3);
}

static void test_gap_is_corrupt(void **state) {
  fx *f = *state;
  ks_delta_table *t = ks_delta_table_new(f->env.st, "g");
  assert_int_equal(commit(f, t, "a.parquet", "app-g-0", -1, 1), 0);
  assert_int_equal(commit(f, t, "b.parquet", "app-g-0", 1, 2), 0);
  /* v2 goes missing, v3 exists; unrelated files in _delta_log are ignored */
  char path[256];
  snprintf(path, sizeof path, "%s/g/_delta_log/%020d.json", f->env.dir, 3);
  FILE *fp = fopen(path, "w");
  fputs("{\"txn\":{\"appId\":\"x\",\"version\":1}}\n", fp);
  fclose(fp);
  snprintf(path, sizeof path, "%s/g/_delta_log/_last_checkpoint", f->env.dir);
  fp = fopen(path, "w");
  fclose(fp);
  ks_delta_table *r = ks_delta_table_new(f->env.st, "g");
  assert_int_equal(load(f, r), KS_ECORRUPT);
  assert_non_null(strstr(ks_delta_table_error(r),
                         "00000000000000000002.json is missing"));
  ks_delta_table_free(r);

  /* a malformed entry names its version and line */
  snprintf(path, sizeof path, "%s/g/_delta_log/%020d.json", f->env.dir, 2);
  fp = fopen(path, "w");
  fputs("{\"commitInfo\":{}}\n{\"add\":{oops}}\n", fp);
  fclose(fp);
  r = ks_delta_table_new(f->env.st, "g");
  assert_int_equal(load(f, r), KS_ECORRUPT);
  assert_non_null(strstr(ks_delta_table_error(r), "version 2 line 2"));
  assert_int_equal(ks_delta_table_snapshot(r)->version, 1);
  ks_delta_table_free(r);
  ks_delta_table_free(t);
}

static void test_busy_and_bad_requests(void **state) {
  fx *f = *state;
  ks_delta_table *t = ks_delta_table_new(f->env.st, "b");
  ks_delta_commit_req empty = {0};
  /* creating a table needs columns */
  assert_int_equal(ks_delta_commit(t, &empty, on_commit, f), KS_EINVAL);
  f->calls = 0;
  assert_int_equal(ks_delta_table_load(t, on_load, f), 0);
  assert_int_equal(ks_delta_table_load(t, on_load, f), KS_EINVAL);
  ks_delta_commit_req req = {.schema_string = schema2};
  assert_int_equal(ks_delta_commit(t, &req, on_commit, f), KS_EINVAL);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  /* a txn that does not move forward is a caller bug */
  ks_delta_txn_update txn = {.app_id = "a", .expected = 5, .version = 5};
  req.txns = &txn;
  req.ntxns = 1;
  assert_int_equal(ks_delta_commit(t, &req, on_commit, f), KS_EINVAL);
  ks_delta_table_free(t);
}

/* A storage double (through the vtable) whose put_if_absent always loses
 * the race: the commit gives up after a bounded number of attempts. */
typedef struct lose_storage {
  ks_storage base;
  ks_storage *inner;
  int puts;
  ks_storage_cb cb;
  void *arg;
} lose_storage;

static void lose_after_get(void *arg, int status, const uint8_t *d, size_t n) {
  lose_storage *ls = arg;
  ls->cb(ls->arg, KS_EEXIST);
}

static int lose_put_if_absent(ks_storage *s, const char *key, const void *d,
                              size_t n, ks_storage_cb cb, void *arg) {
  lose_storage *ls = (lose_storage *)s;
  ls->puts++;
  ls->cb = cb;
  ls->arg = arg;
  return ks_storage_get(ls->inner, key, lose_after_get, ls); /* async */
}

static int lose_list(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
                     void *arg) {
  return ks_storage_list(((lose_storage *)s)->inner, prefix, cb, arg);
}

static int lose_get(ks_storage *s, const char *key, ks_storage_get_cb cb,
                    void *arg) {
  return ks_storage_get(((lose_storage *)s)->inner, key, cb, arg);
}

static void test_bounded_retries(void **state) {
  fx *f = *state;
  ks_storage_vtable vt = {.name = "lose",
                          .put_if_absent = lose_put_if_absent,
                          .get = lose_get,
                          .list = lose_list};
  lose_storage ls = {.base = {.vt = &vt, .loop = &f->env.loop}, .inner = f->env.st};
  ks_delta_table *t = ks_delta_table_new(&ls.base, "r");
  assert_int_equal(commit(f, t, "a.parquet", "app-r-0", -1, 1),
                   KS_ECONFLICT);
  assert_int_equal(ls.puts, 100);
  ks_delta_table_free(t);
}

/* A metaData-only commit replaces the schemaString and keeps the rest of
 * metaData; a writer that computed its change from an older schema is
 * refused once it sees the new one, and writes nothing. */
static void test_schema_change(void **state) {
  fx *f = *state;
  static const char schema3[] =
      "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\","
      "\"nullable\":false,\"metadata\":{}},{\"name\":\"name\",\"type\":"
      "\"string\",\"nullable\":true,\"metadata\":{}},{\"name\":\"email\","
      "\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";
  ks_delta_table *w1 = ks_delta_table_new(f->env.st, "e");
  ks_delta_table *w2 = ks_delta_table_new(f->env.st, "e");
  assert_int_equal(load(f, w1), 0);
  assert_int_equal(commit(f, w1, "a.parquet", "app-e-0", -1, 3), 0);
  assert_int_equal(load(f, w2), 0);
  ks_delta_metadata before = ks_delta_table_snapshot(w1)->metadata;
  char *id = ks_strdup(before.id);
  int64_t created = before.created_time;

  ks_delta_commit_req req = {.new_schema_string = schema3,
                             .schema_from = schema2,
                             .operation = "ADD COLUMNS",
                             .engine_info = "ksink/test"};
  f->calls = 0;
  assert_int_equal(ks_delta_commit(w1, &req, on_commit, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->version, 1);
  char *v1 = read_log(f, "e", 1);
  assert_int_equal(count(v1, "\"metaData\""), 1);
  assert_int_equal(count(v1, "\"add\""), 0);
  assert_int_equal(count(v1, "\"protocol\""), 0);
  assert_int_equal(count(v1, "ADD COLUMNS"), 1);
  const ks_delta_snapshot *s = ks_delta_table_snapshot(w1);
  assert_string_equal(s->metadata.schema_string, schema3);
  assert_string_equal(s->metadata.id, id);
  assert_int_equal(s->metadata.created_time, created);
  assert_int_equal(s->nfiles, 1);
  assert_int_equal(ks_delta_snapshot_txn(s, "app-e-0"), 3);

  /* w2 still believes the schema is schema2: its put at v1 loses, the
   * reload shows schema3, and it is refused */
  ks_delta_table *w3 = ks_delta_table_new(f->env.st, "e");
  assert_int_equal(load(f, w3), 0);
  assert_string_equal(ks_delta_table_snapshot(w3)->metadata.schema_string,
                      schema3);
  req.new_schema_string = "{\"type\":\"struct\",\"fields\":[]}";
  f->calls = 0;
  assert_int_equal(ks_delta_commit(w2, &req, on_commit, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, KS_ECONFLICT);
  assert_non_null(
      strstr(ks_delta_table_error(w2), "changed the table's schema"));
  assert_int_equal(log_entries(f, "e"), 2);
  /* a fresh writer that sees schema3 already is refused at once */
  req.schema_from = schema2;
  assert_int_equal(ks_delta_commit(w3, &req, on_commit, f), KS_ECONFLICT);
  assert_int_equal(log_entries(f, "e"), 2);
  free(v1);
  ks_free(id);
  ks_delta_table_free(w1);
  ks_delta_table_free(w2);
  ks_delta_table_free(w3);
}

/* Rows are committed only under the constraints they were checked against:
 * another writer adds a CHECK constraint (as ALTER TABLE ... ADD
 * CONSTRAINT writes it: protocol 1/3, the metaData with
 * delta.constraints.<name>); a writer that checked its batch against none
 * is refused -- whether it learns of the change from a lost put or from its
 * snapshot -- and nothing is written; a batch checked against the new set
 * commits. */
static int commit_checked(fx *f, ks_delta_table *t, const char *path,
                          const char *sig) {
  ks_delta_add add = {.path = (char *)path, .size = 10,
                      .modification_time = 1000, .num_records = 2,
                      .stats = "{\"numRecords\":2}"};
  ks_delta_commit_req req = {.adds = &add, .nadds = 1,
                             .schema_string = schema2,
                             .operation = "STREAMING UPDATE",
                             .engine_info = "ksink/test",
                             .constraints_sig = sig};
  f->calls = 0;
  int rc = ks_delta_commit(t, &req, on_commit, f);
  if (rc)
    return rc;
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  return f->status;
}

static void test_constraint_added_meanwhile(void **state) {
  fx *f = *state;
  ks_delta_table *w1 = ks_delta_table_new(f->env.st, "c");
  assert_int_equal(load(f, w1), 0);
  assert_int_equal(commit_checked(f, w1, "a.parquet", NULL), 0);
  assert_int_equal(f->version, 0);
  const ks_delta_snapshot *s = ks_delta_table_snapshot(w1);

  /* the other writer's v1 */
  ks_buf e;
  ks_buf_init(&e, 0);
  ks_buf_appendf(&e,
                 "{\"commitInfo\":{\"timestamp\":2,\"operation\":\"ADD "
                 "CONSTRAINT\"}}\n{\"protocol\":{\"minReaderVersion\":1,"
                 "\"minWriterVersion\":3}}\n{\"metaData\":{\"id\":\"%s\","
                 "\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                 "\"schemaString\":\"",
                 s->metadata.id);
  for (const char *c = schema2; *c; c++)
    ks_buf_appendf(&e, *c == '"' ? "\\\"" : "%c", *c);
  ks_buf_appendf(&e, "\",\"partitionColumns\":[],\"configuration\":{"
                     "\"delta.constraints.pos\":\"id > 0\"},"
                     "\"createdTime\":1}}\n");
  char path[512];
  snprintf(path, sizeof path, "%s/c/_delta_log/%020d.json", f->env.dir, 1);
  FILE *fp = fopen(path, "wx");
  assert_non_null(fp);
  assert_int_equal(fwrite(e.data, 1, e.len, fp), e.len);
  assert_int_equal(fclose(fp), 0);
  ks_buf_free(&e);

  /* w1 still at v0: its put at v1 loses, and the reload shows the
   * constraint */
  int rc = commit_checked(f, w1, "b.parquet", NULL);
  assert_true(rc == KS_ECONFLICT || rc == KS_EUNSUPPORTED);
  assert_int_equal(log_entries(f, "c"), 2);

  /* a writer that loaded v1 but checked its rows against no constraint */
  ks_delta_table *w2 = ks_delta_table_new(f->env.st, "c");
  assert_int_equal(load(f, w2), 0);
  assert_int_equal(ks_delta_table_snapshot(w2)->version, 1);
  assert_int_equal(commit_checked(f, w2, "b.parquet", NULL), KS_EUNSUPPORTED);
  assert_non_null(strstr(ks_delta_table_error(w2), "CHECK constraints"));
  assert_int_equal(log_entries(f, "c"), 2);

  /* checked against the table's set: committed */
  const ks_delta_metadata *m = &ks_delta_table_snapshot(w2)->metadata;
  ks_delta_constraints cs;
  char why[200];
  assert_int_equal(ks_delta_constraints_of(m->schema_string, m->conf_keys,
                                           m->conf_values, m->nconf, &cs, why,
                                           sizeof why),
                   0);
  assert_int_equal(cs.n, 1);
  char *sig = ks_delta_constraints_sig(&cs);
  ks_delta_constraints_free(&cs);
  assert_int_equal(commit_checked(f, w2, "b.parquet", sig), 0);
  assert_int_equal(f->version, 2);
  assert_int_equal(ks_delta_table_snapshot(w2)->nfiles, 2);
  ks_free(sig);
  ks_delta_table_free(w1);
  ks_delta_table_free(w2);
}

/* Another writer's entry at version v of table dir, as written. */
static void put_entry(fx *f, const char *dir, int v, const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s/_delta_log/%020d.json", f->env.dir, dir,
           v);
  FILE *fp = fopen(path, "wx");
  assert_non_null(fp);
  assert_int_equal(fputs(text, fp) >= 0, 1);
  assert_int_equal(fclose(fp), 0);
}

/* schema2's metaData with this id, partition columns and configuration */
static char *meta_entry(const char *id, const char *parts, const char *conf) {
  ks_buf e;
  ks_buf_init(&e, 0);
  ks_buf_appendf(&e,
                 "{\"metaData\":{\"id\":\"%s\",\"format\":{\"provider\":"
                 "\"parquet\",\"options\":{}},\"schemaString\":\"",
                 id);
  for (const char *c = schema2; *c; c++)
    ks_buf_appendf(&e, *c == '"' ? "\\\"" : "%c", *c);
  ks_buf_appendf(&e,
                 "\",\"partitionColumns\":[%s],\"configuration\":{%s},"
                 "\"createdTime\":1}}\n",
                 parts, conf);
  ks_buf_append_byte(&e, 0);
  return (char *)e.data;
}

/* Files are written for one table, partitioning and column mapping: when
 * another writer replaces the table under the same path, partitions it
 * otherwise or turns column mapping on while a writer's put loses the
 * race, that writer's commit is refused and nothing is written (its files
 * would have the wrong partition values or column names). A changed
 * property leaves the files valid: that commit goes on. */
static void test_layout_changed_meanwhile(void **state) {
  fx *f = *state;
  static const struct {
    const char *dir, *id, *parts, *conf, *protocol;
    int refused;
  } cases[] = {
      {"l1", "another-table", "", "", NULL, 1},
      {"l2", NULL, "\"name\"", "", NULL, 1},
      {"l3", NULL, "",
       "\"delta.columnMapping.mode\":\"name\","
       "\"delta.columnMapping.maxColumnId\":\"2\"",
       "{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}\n", 1},
      {"l4", NULL, "", "\"delta.logRetentionDuration\":\"interval 9 days\"",
       NULL, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ks_delta_table *w = ks_delta_table_new(f->env.st, cases[i].dir);
    assert_int_equal(load(f, w), 0);
    assert_int_equal(commit(f, w, "a.parquet", "app", -1, 1), 0);
    const char *id = ks_delta_table_snapshot(w)->metadata.id;
    char *meta = meta_entry(cases[i].id ? cases[i].id : id, cases[i].parts,
                            cases[i].conf);
    char text[4096];
    snprintf(text, sizeof text, "%s%s",
             cases[i].protocol ? cases[i].protocol : "", meta);
    put_entry(f, cases[i].dir, 1, text);
    free(meta);
    int rc = commit(f, w, "b.parquet", "app", 1, 2);
    if (cases[i].refused) {
      assert_int_equal(rc, KS_EUNSUPPORTED);
      assert_non_null(strstr(ks_delta_table_error(w), "replaced the table"));
      assert_int_equal(log_entries(f, cases[i].dir), 2);
      /* opened anew, the table as it is: files written for it commit */
      ks_delta_table *again = ks_delta_table_new(f->env.st, cases[i].dir);
      assert_int_equal(load(f, again), 0);
      if (cases[i].parts[0] == 0)
        assert_int_equal(commit(f, again, "c.parquet", "app", 1, 2), 0);
      ks_delta_table_free(again);
    } else {
      assert_int_equal(rc, 0);
      assert_int_equal(f->version, 2);
    }
    ks_delta_table_free(w);
  }
}

/* The layout a writer's files were made for comes from the snapshot it
 * opened the table with (ks_delta_layout_sig at start-up), not from the
 * committer's table object, which loads the log only at its first
 * commit: a table replaced in between is refused too. */
static void test_layout_from_start_up(void **state) {
  fx *f = *state;
  ks_delta_table *w0 = ks_delta_table_new(f->env.st, "s");
  assert_int_equal(load(f, w0), 0);
  assert_null(ks_delta_layout_sig(ks_delta_table_snapshot(w0)));
  assert_int_equal(commit(f, w0, "a.parquet", "app", -1, 1), 0);
  char *sig = ks_delta_layout_sig(ks_delta_table_snapshot(w0));
  assert_non_null(sig);
  char *meta = meta_entry("replaced", "", "");
  put_entry(f, "s", 1, meta);
  free(meta);

  ks_delta_table *w = ks_delta_table_new(f->env.st, "s");
  assert_int_equal(load(f, w), 0); /* the replaced table, at its first use */
  ks_delta_add add = {.path = "b.parquet",
                      .size = 10,
                      .modification_time = 1000,
                      .num_records = 2,
                      .stats = "{\"numRecords\":2}"};
  ks_delta_commit_req req = {.adds = &add,
                             .nadds = 1,
                             .schema_string = schema2,
                             .operation = "STREAMING UPDATE",
                             .engine_info = "ksink/test",
                             .layout_sig = sig};
  assert_int_equal(ks_delta_commit(w, &req, on_commit, f), KS_EUNSUPPORTED);
  assert_non_null(strstr(ks_delta_table_error(w), "replaced the table"));
  assert_int_equal(log_entries(f, "s"), 2);
  /* without the start-up layout the table object has only the new one */
  req.layout_sig = NULL;
  f->calls = 0;
  assert_int_equal(ks_delta_commit(w, &req, on_commit, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->status, 0);
  ks_free(sig);
  ks_delta_table_free(w);
  ks_delta_table_free(w0);
}

/* A rewrite (optimize) read a file without a deletion vector; another
 * writer then deletes rows from it (remove, and add of the same path with
 * a vector). Removing the path would drop the vector with it while the
 * rewrite holds the deleted rows again: the rewrite is refused. */
static void test_rewrite_after_rows_deleted(void **state) {
  fx *f = *state;
  static const char protocol[] =
      "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
      "\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":["
      "\"deletionVectors\"]}}\n";
  static const char add_a[] =
      "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":10,"
      "\"modificationTime\":1,\"dataChange\":true,\"stats\":"
      "\"{\\\"numRecords\\\":10}\"}}\n";
  static const char delete_a[] =
      "{\"remove\":{\"path\":\"a.parquet\",\"deletionTimestamp\":2,"
      "\"dataChange\":true}}\n"
      "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":10,"
      "\"modificationTime\":1,\"dataChange\":true,\"stats\":"
      "\"{\\\"numRecords\\\":10}\",\"deletionVector\":{\"storageType\":"
      "\"u\",\"pathOrInlineDv\":\"ab^-aqEH.-t@S}K{vb[*k^\",\"offset\":1,"
      "\"sizeInBytes\":36,\"cardinality\":3}}}\n";
  char *meta = meta_entry("dv-table", "", "");
  char v0[4096];
  snprintf(v0, sizeof v0, "%s%s%s", protocol, meta, add_a);
  free(meta);
  char dir[512];
  snprintf(dir, sizeof dir, "%s/r", f->env.dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  snprintf(dir, sizeof dir, "%s/r/_delta_log", f->env.dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  put_entry(f, "r", 0, v0);
  ks_delta_table *w = ks_delta_table_new(f->env.st, "r");
  assert_int_equal(load(f, w), 0);
  assert_int_equal(ks_delta_table_snapshot(w)->nfiles, 1);
  put_entry(f, "r", 1, delete_a);

  ks_delta_remove rm = {.path = "a.parquet",
                        .deletion_timestamp = 3,
                        .data_change = 0,
                        .size = -1};
  ks_delta_add merged = {.path = "merged.parquet",
                         .size = 10,
                         .modification_time = 3,
                         .num_records = 10,
                         .stats = "{\"numRecords\":10}",
                         .no_data_change = 1};
  ks_delta_commit_req req = {.adds = &merged,
                             .nadds = 1,
                             .removes = &rm,
                             .nremoves = 1,
                             .operation = "OPTIMIZE",
                             .engine_info = "ksink/test"};
  f->calls = 0;
  assert_int_equal(ks_delta_commit(w, &req, on_commit, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, KS_ECONFLICT);
  assert_non_null(strstr(ks_delta_table_error(w), "another deletion vector"));
  assert_int_equal(log_entries(f, "r"), 2);
  ks_delta_table_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_create_then_sequential_commits,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_writers_conflict_then_retry,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_zombie, setup, teardown),
      cmocka_unit_test_setup_teardown(test_row_ids_after_lost_race, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gap_is_corrupt, setup, teardown),
      cmocka_unit_test_setup_teardown(test_busy_and_bad_requests, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bounded_retries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schema_change, setup, teardown),
      cmocka_unit_test_setup_teardown(test_layout_changed_meanwhile, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_layout_from_start_up, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rewrite_after_rows_deleted, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_constraint_added_meanwhile, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
