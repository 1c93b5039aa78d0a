/*
 * Rewind, end to end in one process: the pipeline (in-process mock Kafka,
 * one partition fed, fs storage, files of 50 records) commits offsets
 * 0..99; then another writer commits the partition's txn up to 139, as a
 * new owner would have after taking records 100..139. The pipeline's next
 * batches (100..149, 150..199) are refused as zombies; the worker drops
 * what it buffered, reads the log again, seeks to 140 and goes on. The
 * table must then hold offsets 0..99 and 140..199 and nothing of 100..139
 * (add stats say which offsets each file holds), and the txn must end at
 * 199.
 */
#include "conf/conf.h"
#include "reactor/pipeline.h"
#include "stages/commit.h"
#include "stages/record/schema.h"
#include "stages/table/snapshot.h"
#include "storage/delta/delta.h"

#include <librdkafka/rdkafka.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include <cmocka.h>

#include "../../support/storage_env.h"

static const char schema[] =
    "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}}}";

typedef struct fx {
  ks_storage_env env;
  ks_conf *conf;
  ks_pipeline *p;
  uv_thread_t runner;
  int code;
  rd_kafka_t *producer;
} fx;

static void run_pipeline(void *arg) {
  fx *f = arg;
  f->code = ks_pipeline_run(f->p);
}

static void produce(fx *f, int from, int to) {
  char v[64];
  for (int i = from; i < to; i++) {
    int n = snprintf(v, sizeof v, "{\"id\":%d}", i);
    assert_int_equal(rd_kafka_producev(f->producer, RD_KAFKA_V_TOPIC("x"),
                                       RD_KAFKA_V_PARTITION(0),
                                       RD_KAFKA_V_VALUE(v, (size_t)n),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_END),
                     0);
  }
  assert_int_equal(rd_kafka_flush(f->producer, 10000), 0);
}

/* ---- reading the log ---------------------------------------------------- */

typedef struct seen {
  int64_t txn;
  int64_t rows;
  int bad_files; /* files holding an offset in 100..139 */
  int64_t version;
} seen;

static int64_t stat_offset(yajl_val stats, const char *which) {
  const char *path[] = {which, "_kafka_offset", NULL};
  yajl_val v = yajl_tree_get(stats, path, yajl_t_number);
  assert_non_null(v);
  return YAJL_GET_INTEGER(v);
}

static void look(void *arg, const ks_delta_snapshot *s) {
  seen *sn = arg;
  sn->version = s->version;
  sn->txn = ks_delta_snapshot_txn(s, "rw/x/0");
  sn->rows = 0;
  sn->bad_files = 0;
  for (size_t i = 0; i < s->nfiles; i++) {
    char err[128];
    yajl_val st = yajl_tree_parse(s->files[i].stats, err, sizeof err);
    assert_non_null(st);
    int64_t lo = stat_offset(st, "minValues"), hi = stat_offset(st, "maxValues");
    if (!(hi < 100 || lo >= 140))
      sn->bad_files++;
    sn->rows += s->files[i].num_records;
    yajl_tree_free(st);
  }
}

static seen read_log(fx *f) {
  seen sn = {-1, 0, 0, -1};
  char err[256];
  assert_int_equal(ks_table_with_snapshot(f->conf, &f->p->env.tables[0], look,
                                          &sn, err, sizeof err),
                   0);
  return sn;
}

static void wait_txn(fx *f, int64_t want) {
  for (int i = 0; i < 600; i++) {
    if (read_log(f).txn >= want)
      return;
    usleep(50 * 1000);
  }
  fail_msg("txn did not reach %lld", (long long)want);
}

/* ---- the other writer --------------------------------------------------- */

static void on_other(void *arg, int status, int64_t version) {
  *(int *)arg = status;
}

static void other_writer(fx *f, int64_t expected, int64_t version) {
  ks_delta_table *dt = ks_delta_table_new(f->env.st, "t");
  int status = 1;
  ks_delta_txn_update u = {"rw/x/0", expected, version};
  ks_delta_commit_req req = {.txns = &u, .ntxns = 1,
                             .schema_string = f->p->env.tables[0].schema_string,
                             .operation = "STREAMING UPDATE",
                             .engine_info = "other"};
  assert_int_equal(ks_delta_commit(dt, &req, on_other, &status), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(status, 0);
  ks_delta_table_free(dt);
}

static void test_zombie_batch_rewinds_and_seeks(void **state) {
  fx f;
  memset(&f, 0, sizeof f);
  ks_storage_env_open(&f.env, "rewind", NULL);
  char yaml[512], err[512];
  snprintf(yaml, sizeof yaml,
           "app_id: rw\n"
           "kafka: { bootstrap.servers: mock, group.id: rw }\n"
           "reactor: { workers: 2 }\n"
           "storage: { url: \"file://%s\" }\n"
           "tables:\n"
           "  - name: t\n"
           "    topics: [x]\n"
           "    flush: { records: 50, interval: 60s }\n"
           "http: { listen: \"off\" }\n",
           f.env.dir);
  int r = ks_conf_load_string(yaml, strlen(yaml), "test", &f.conf, err,
                              sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  ks_schema *schemas[1] = {NULL};
  assert_int_equal(ks_schema_load_string(schema, strlen(schema), "s",
                                         &schemas[0], err, sizeof err),
                   0);
  assert_int_equal(ks_pipeline_new(f.conf, schemas, &f.p, err, sizeof err), 0);
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  rd_kafka_conf_set(kc, "bootstrap.servers", ks_pipeline_mock_bootstraps(f.p),
                    err, sizeof err);
  rd_kafka_conf_set(kc, "log_level", "3", err, sizeof err);
  f.producer = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof err);
  assert_non_null(f.producer);
  assert_int_equal(uv_thread_create(&f.runner, run_pipeline, &f), 0);

  produce(&f, 0, 100);
  wait_txn(&f, 99);
  /* Another member took 100..139 and committed them. */
  other_writer(&f, 99, 139);
  produce(&f, 100, 200);
  /* After the seek: 140..189 fill a file; 190..199 wait for the stop. */
  wait_txn(&f, 189);

  ks_pipeline_stop(f.p);
  uv_thread_join(&f.runner);
  assert_int_equal(f.code, 0);
  seen sn = read_log(&f);
  assert_int_equal(sn.txn, 199);
  assert_int_equal(sn.rows, 160); /* 0..99 and 140..199 */
  assert_int_equal(sn.bad_files, 0);
  ks_totals t;
  ks_pipeline_totals(f.p, &t);
  assert_true(t.zombie_sets >= 1);
  assert_true(t.rewinds >= 1);

  rd_kafka_destroy(f.producer);
  ks_pipeline_free(f.p);
  ks_conf_free(f.conf);
  ks_storage_env_close(&f.env);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_zombie_batch_rewinds_and_seeks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
