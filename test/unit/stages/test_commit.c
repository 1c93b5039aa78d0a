/*
 * The committer against a Delta table on the fs backend, run by a lane
 * on a fake host (test/support/fake_host.h: no pipeline, no worker
 * thread, no broker): flushed sets whose partitions another
 * writer has moved are refused as zombies -- with every set whose txn
 * chain they break -- and the others still commit, in order, with their
 * txn versions. Nothing refused reaches the log.
 */
#include "stages/commit.h"
#include "storage/delta/delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../support/fake_host.h"
#include "../../support/storage_env.h"

static const char schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}}}";

typedef struct fx {
  ks_storage_env env; /* the "other writer" and the checks */
  ks_fake_host host; /* the lane that runs the committer */
  int back;         /* sets returned */
  int status[8];    /* by set index */
  int64_t version[8];
} fx;

typedef struct set_ref {
  ks_flushed_set fs;
  fx *f;
  int index;
} set_ref;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  ks_storage_env_open(&f->env, "commit", NULL);
  char yaml[512];
  snprintf(yaml, sizeof yaml,
           "app_id: zt\n"
           "kafka: { bootstrap.servers: mock, group.id: zt }\n"
           "reactor: { workers: 1 }\n"
           "storage: { url: \"file://%s\" }\n"
           "tables:\n"
           "  - name: t\n"
           "    topics: [x]\n"
           "http: { listen: \"off\" }\n",
           f->env.dir);
  const char *schemas[] = {schema};
  ks_fake_host_open(&f->host, yaml, schemas);
  assert_non_null(f->host.lane.committers[0]);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ks_fake_host_close(&f->host);
  ks_storage_env_close(&f->env);
  free(f);
  return 0;
}

/* ---- the other writer ------------------------------------------------- */

static void on_other(void *arg, int status, int64_t version) {
  *(int *)arg = status;
}

/* Commits txn app_id := version (from expected) as another process would. */
static void other_writer(fx *f, const char *app_id, int64_t expected,
                         int64_t version) {
  ks_delta_table *dt = ks_delta_table_new(f->env.st, "t");
  int status = 1;
  ks_delta_txn_update u = {app_id, expected, version};
  ks_delta_commit_req req = {.txns = &u, .ntxns = 1,
                             .schema_string = f->host.tables[0].schema_string,
                             .operation = "STREAMING UPDATE",
                             .engine_info = "other"};
  assert_int_equal(ks_delta_commit(dt, &req, on_other, &status), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(status, 0);
  ks_delta_table_free(dt);
}

static void on_other_load(void *arg, int status) { *(int *)arg = status; }

static int64_t log_txn(fx *f, const char *app_id) {
  ks_delta_table *dt = ks_delta_table_new(f->env.st, "t");
  int status = 1;
  assert_int_equal(ks_delta_table_load(dt, on_other_load, &status),
                   0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(status, 0);
  int64_t v = ks_delta_snapshot_txn(ks_delta_table_snapshot(dt), app_id);
  ks_delta_table_free(dt);
  return v;
}

/* ---- sets through the committer --------------------------------------- */

static void on_back(ks_msg *m) {
  ks_flushed_set *fs = ks_container_of(m, ks_flushed_set, msg);
  set_ref *ref = ks_container_of(fs, set_ref, fs);
  ref->f->back++;
  ref->f->status[ref->index] = fs->status;
  ref->f->version[ref->index] = fs->version;
  /* The parts were allocated with the set; free them like the writer. */
  for (size_t i = 0; i < fs->nparts; i++) {
    ks_free(fs->parts[i].topic);
    ks_free(fs->parts[i].app_id);
  }
  for (size_t i = 0; i < fs->nparts; i++)
    ks_free(fs->parts[i].legacy_app_id);
  ks_free(fs->parts);
  ks_free(ref);
}

/* A txn-only set (no file) of partitions "x-P" moving expected -> version,
 * given as triples {P, expected, version}. */
static void send_set(fx *f, int index, const int64_t (*parts)[3],
                     size_t n) {
  set_ref *ref = ks_calloc(1, sizeof *ref);
  ref->f = f;
  ref->index = index;
  ks_flushed_set *fs = &ref->fs;
  fs->origin = &f->host.lane;
  fs->table = 0;
  fs->parts = ks_calloc(n, sizeof *fs->parts);
  fs->nparts = n;
  for (size_t i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "zt-x-%d", (int)parts[i][0]);
    fs->parts[i].topic = ks_strdup("x");
    fs->parts[i].partition = (int32_t)parts[i][0];
    fs->parts[i].app_id = ks_strdup(id);
    fs->parts[i].expected = parts[i][1];
    fs->parts[i].version = parts[i][2];
  }
  ks_committer_send(fs, on_back);
}

/* A set of partition 0 in the new appId spelling ("zt/x/0") on a table
 * whose txn has the older one ("zt-x-0"). */
static void send_migrating(fx *f, int index, int64_t expected,
                           int64_t version) {
  set_ref *ref = ks_calloc(1, sizeof *ref);
  ref->f = f;
  ref->index = index;
  ks_flushed_set *fs = &ref->fs;
  fs->origin = &f->host.lane;
  fs->table = 0;
  fs->parts = ks_calloc(1, sizeof *fs->parts);
  fs->nparts = 1;
  fs->parts[0].topic = ks_strdup("x");
  fs->parts[0].partition = 0;
  fs->parts[0].app_id = ks_strdup("zt/x/0");
  fs->parts[0].legacy_app_id = ks_strdup("zt-x-0");
  fs->parts[0].expected = expected;
  fs->parts[0].version = version;
  ks_committer_send(fs, on_back);
}

static void run_until_back(fx *f, int n) {
  while (f->back < n)
    uv_run(&f->host.loop, UV_RUN_ONCE);
}

static void test_zombie_sets_refused_others_commit(void **state) {
  fx *f = *state;
  /* Partition 0 was ours up to 50; another member took it and committed
   * up to 100. */
  other_writer(f, "zt-x-0", -1, 50);
  other_writer(f, "zt-x-0", 50, 100);
  /* All queued before the committer's first turn: one batch. */
  static const int64_t a[][3] = {{0, 50, 120}, {2, -1, 5}}; /* zombie */
  static const int64_t b[][3] = {{2, 5, 9}};  /* continues a's chain */
  static const int64_t c[][3] = {{1, -1, 10}}; /* independent */
  static const int64_t d[][3] = {{3, -1, 7}, {1, 10, 12}};
  send_set(f, 0, a, 2);
  send_set(f, 1, b, 1);
  send_set(f, 2, c, 1);
  send_set(f, 3, d, 2);
  run_until_back(f, 4);
  assert_int_equal(f->status[0], KS_EZOMBIE);
  assert_int_equal(f->status[1], KS_EZOMBIE);
  assert_int_equal(f->status[2], 0);
  assert_int_equal(f->status[3], 0);
  assert_true(f->version[2] >= 2 && f->version[3] >= f->version[2]);
  /* The refused sets left no trace; the kept ones landed whole. */
  assert_int_equal(log_txn(f, "zt-x-0"), 100);
  assert_int_equal(log_txn(f, "zt-x-2"), -1);
  assert_int_equal(log_txn(f, "zt-x-1"), 12);
  assert_int_equal(log_txn(f, "zt-x-3"), 7);
  assert_int_equal(atomic_load(&f->host.lane.counters.zombie_sets), 2);
}

static void test_chain_continues_after_refusal(void **state) {
  fx *f = *state;
  other_writer(f, "zt-x-0", -1, 40);
  /* Our view: 0 at 30. Refused; the writer rewinds to the log's 40, and
   * its next set, continuing from there, commits. */
  static const int64_t a[][3] = {{0, 30, 45}};
  send_set(f, 0, a, 1);
  run_until_back(f, 1);
  assert_int_equal(f->status[0], KS_EZOMBIE);
  static const int64_t b[][3] = {{0, 40, 47}};
  send_set(f, 1, b, 1);
  run_until_back(f, 2);
  assert_int_equal(f->status[1], 0);
  assert_int_equal(log_txn(f, "zt-x-0"), 47);
  /* a refusal is the writer's to handle (a rewind), not the process's */
  assert_int_equal(f->host.fatal, 0);
}

/* A table written with the older appId spelling goes on where it was: its
 * txn is read under the old name until the first commit writes the new
 * one, and an older writer that moved the old name still fences us. */
static void test_legacy_app_id_migrates(void **state) {
  fx *f = *state;
  other_writer(f, "zt-x-0", -1, 50);
  send_migrating(f, 0, 50, 60);
  run_until_back(f, 1);
  assert_int_equal(f->status[0], 0);
  assert_int_equal(log_txn(f, "zt/x/0"), 60);
  assert_int_equal(log_txn(f, "zt-x-0"), 50); /* left as it was */
  send_migrating(f, 1, 60, 70); /* the new name is read from now on */
  run_until_back(f, 2);
  assert_int_equal(f->status[1], 0);
  assert_int_equal(log_txn(f, "zt/x/0"), 70);
}

static void test_legacy_app_id_fences(void **state) {
  fx *f = *state;
  other_writer(f, "zt-x-0", -1, 50);
  other_writer(f, "zt-x-0", 50, 80); /* an older writer went on meanwhile */
  send_migrating(f, 0, 50, 60);
  run_until_back(f, 1);
  assert_int_equal(f->status[0], KS_EZOMBIE);
  assert_int_equal(log_txn(f, "zt/x/0"), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_zombie_sets_refused_others_commit,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_chain_continues_after_refusal,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_legacy_app_id_migrates, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_legacy_app_id_fences, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
