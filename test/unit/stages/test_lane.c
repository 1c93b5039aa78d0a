/*
 * A lane's stages on a fake host (test/support/fake_host.h): no pipeline,
 * no worker thread, no broker. Assignment and revoke arrive as messages
 * through the lane's ops; a revoke settles once nothing of its partitions
 * is in flight and says so once; shutdown stops consuming and reports the
 * lane drained; a rewind reads the table's log and continues each
 * partition from the txn another writer committed.
 */
#include "stages/rewind.h"
#include "stages/source.h"
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
  ks_storage_env env;
  ks_fake_host host;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  ks_storage_env_open(&f->env, "lane", NULL);
  char yaml[512];
  snprintf(yaml, sizeof yaml,
           "app_id: zt\n"
           "kafka: { bootstrap.servers: mock, group.id: zt }\n"
           "storage: { url: \"file://%s\" }\n"
           "tables:\n"
           "  - name: t\n"
           "    topics: [x]\n"
           "http: { listen: \"off\" }\n",
           f->env.dir);
  const char *schemas[] = {schema};
  ks_fake_host_open(&f->host, yaml, schemas);
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

static void assign(fx *f, int32_t part, int64_t start, int64_t txn) {
  ks_lane *l = &f->host.lane;
  char legacy[32];
  snprintf(legacy, sizeof legacy, "zt-x-%d", (int)part);
  ks_msg *m = ks_source_assign_msg(l, "x", part, 0, start, txn, -1, legacy);
  assert_int_equal(ks_lane_post(l, l->id, m), 0);
  uv_run(&f->host.loop, UV_RUN_NOWAIT);
}

static void test_assign_then_revoke_settles_once(void **state) {
  fx *f = *state;
  ks_lane *l = &f->host.lane;
  assign(f, 3, 11, 10);
  ks_partition *p = ks_source_find(l, "x", 3);
  assert_non_null(p);
  assert_string_equal(p->app_id, "zt/x/3");
  assert_string_equal(p->legacy_app_id, "zt-x-3");
  assert_int_equal(p->start, 11);
  assert_int_equal(p->committed, 10);
  assert_int_equal(atomic_load(&l->counters.partitions), 1);
  /* a message to a lane that does not exist is refused, not lost */
  ks_msg *bad = ks_source_assign_msg(l, "x", 4, 0, 0, -1, -1, NULL);
  assert_int_equal(ks_lane_post(l, 7, bad), KS_EINVAL);
  ks_source_msg_free(bad);

  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, "x", 3);
  int before = f->host.maybe_drained;
  ks_msg *m = ks_source_revoke_msg(l, parts, 0, 1);
  rd_kafka_topic_partition_list_destroy(parts);
  assert_int_equal(ks_lane_post(l, l->id, m), 0);
  uv_run(&f->host.loop, UV_RUN_NOWAIT);
  /* the lane asked its host to look; nothing of x[3] was in flight */
  assert_true(f->host.maybe_drained > before);
  assert_int_equal(ks_source_revoke_settled(l), 1);
  assert_int_equal(ks_source_revoke_settled(l), 0); /* once per revoke */
  assert_null(ks_source_find(l, "x", 3));
  assert_int_equal(atomic_load(&l->counters.partitions), 0);
  assert_int_equal(f->host.fatal, 0);
}

static void answer(fx *f, int32_t part, int64_t offset, int err) {
  ks_lane *l = &f->host.lane;
  ks_msg *m = ks_source_committed_msg(l, "x", part, offset, err);
  assert_int_equal(ks_lane_post(l, l->id, m), 0);
  uv_run(&f->host.loop, UV_RUN_NOWAIT);
}

/* The group's answers to offset commits: a success is recorded, a refusal
 * while the group rebalances (or a stale generation while the assignment
 * is still ours) is counted and sent again, never taken as done. */
static void test_offset_commit_answers(void **state) {
  fx *f = *state;
  ks_lane *l = &f->host.lane;
  assign(f, 2, 0, -1);
  ks_partition *p = ks_source_find(l, "x", 2);
  answer(f, 2, 100, 0);
  assert_int_equal(p->kafka_committed, 100);
  assert_int_equal(p->commit_retry, -1);
  answer(f, 2, 150, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS);
  assert_int_equal(p->kafka_committed, 100);
  assert_int_equal(p->commit_retry, 150);
  answer(f, 2, 170, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
  assert_int_equal(p->commit_retry, 170);
  assert_int_equal(atomic_load(&l->counters.offset_commit_failures), 2);
  assert_int_equal(ks_rewind_active(l, 0), 0); /* the assignment holds */
  /* the retry goes out; its success clears it */
  ks_source_retry_commits(l);
  answer(f, 2, 170, 0);
  assert_int_equal(p->kafka_committed, 170);
  assert_int_equal(p->commit_retry, -1);
  /* an answer for a partition no longer here is dropped */
  answer(f, 9, 5, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
  assert_int_equal(atomic_load(&l->counters.offset_commit_failures), 2);
}

static void test_flush_all_drains(void **state) {
  fx *f = *state;
  ks_lane *l = &f->host.lane;
  f->host.consuming = 1;
  l->consuming = 1;
  assert_int_equal(ks_lane_drained(l), 0); /* not stopping: never drained */
  ks_lane_flush_all(l, "shutdown");
  assert_int_equal(f->host.consuming, 0);
  assert_int_equal(ks_lane_drained(l), 1);
}

static void on_done(void *arg, int status, int64_t version) {
  *(int *)arg = status;
}

static void test_rewind_continues_from_the_log(void **state) {
  fx *f = *state;
  ks_lane *l = &f->host.lane;
  assign(f, 0, 0, -1);
  /* another writer committed x[0] up to offset 41 meanwhile */
  ks_delta_table *dt = ks_delta_table_new(f->env.st, "t");
  int status = 1;
  ks_delta_txn_update u = {"zt/x/0", -1, 41};
  ks_delta_commit_req req = {.txns = &u, .ntxns = 1,
                             .schema_string = f->host.tables[0].schema_string,
                             .operation = "STREAMING UPDATE",
                             .engine_info = "other"};
  assert_int_equal(ks_delta_commit(dt, &req, on_done, &status), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(status, 0);
  ks_delta_table_free(dt);

  ks_rewind_start(l, 0, "test");
  assert_int_equal(ks_rewind_active(l, 0), 1);
  for (int i = 0; i < 2000 && ks_rewind_active(l, 0); i++)
    uv_run(&f->host.loop, UV_RUN_ONCE);
  assert_int_equal(ks_rewind_active(l, 0), 0);
  ks_partition *p = ks_source_find(l, "x", 0);
  assert_non_null(p);
  assert_int_equal(p->committed, 41);
  assert_int_equal(p->acked, 41);
  assert_int_equal(p->start, 42);
  assert_int_equal(p->rewinding, 0);
  assert_int_equal(atomic_load(&l->counters.rewinds), 1);
  assert_int_equal(f->host.fatal, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_assign_then_revoke_settles_once,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_flush_all_drains, setup, teardown),
      cmocka_unit_test_setup_teardown(test_offset_commit_answers, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rewind_continues_from_the_log,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
