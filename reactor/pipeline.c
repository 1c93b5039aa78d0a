#include "reactor/pipeline.h"
#include "base/log.h"
#include "http/server.h"
#include "reactor/kafka.h"
#include "reactor/sweep.h"
#include "reactor/worker.h"
#include "stages/commit.h"
#include "stages/evolve.h"
#include "stages/flush.h"
#include "stages/route.h"
#include "stages/schemaless.h"
#include "storage/delta/delta.h"

#include <fcntl.h>
#include <librdkafka/rdkafka_mock.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

/* Time limits of the stale-upload sweeps (reactor/sweep.c). */
#define KS_SWEEP_START_MS 15000
#define KS_SWEEP_STOP_MS 4000

const double ks_latency_bounds[KS_LATENCY_BUCKETS] = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800};

int ks_pipeline_topic_index(const ks_pipeline *p, const char *topic) {
  for (size_t i = 0; i < p->ntopics; i++)
    if (strcmp(p->topics[i], topic) == 0)
      return (int)i;
  return -1;
}

static void collect_topics(ks_pipeline *p) {
  const ks_conf *conf = p->conf;
  size_t n = 0;
  for (size_t i = 0; i < conf->ntables; i++)
    n += conf->tables[i].ntopics;
  p->topics = ks_calloc(n ? n : 1, sizeof *p->topics);
  for (size_t i = 0; i < conf->ntables; i++)
    for (size_t j = 0; j < conf->tables[i].ntopics; j++)
      if (ks_pipeline_topic_index(p, conf->tables[i].topics[j]) < 0)
        p->topics[p->ntopics++] = conf->tables[i].topics[j];
}

/* The _kafka_* columns every row carries after the schema's columns. */
static const ks_colspec meta_cols[] = {
    {"_kafka_topic", KS_COL_STRING, 0},
    {"_kafka_partition", KS_COL_INT32, 0},
    {"_kafka_offset", KS_COL_INT64, 0},
    {"_kafka_timestamp", KS_COL_TIMESTAMP, 1},
};

/* The table's tree (data columns, then _kafka_*) and its schemaString;
 * run again when schema evolution reorders the data columns. */
static int table_columns(ks_table *t, char *err, size_t errlen) {
  ks_pq_schema *pq = ks_schema_table_tree(
      t->schema, meta_cols, KS_ARRAY_SIZE(meta_cols), err, errlen);
  if (pq == NULL)
    return KS_ESCHEMA;
  ks_route_table_free(t); /* before the tree its file columns may share */
  ks_pq_schema_free(t->pq);
  t->pq = pq;
  t->ncols = ks_pq_schema_nleaves(t->pq);
  t->ndata = ks_schema_ncolumns(t->schema);
  ks_free(t->schema_string);
  t->schema_string = NULL;
  /* partitioning, the files' columns and the schemaString */
  return ks_route_table_setup(t->conf_file, t, err, errlen);
}

typedef struct schema_look {
  char *schema_string; /* the table's, NULL: no table yet */
  char *partitioned;   /* its first partition column, NULL: none */
} schema_look;

static void look_at_schema(void *arg, const ks_delta_snapshot *s) {
  schema_look *l = arg;
  if (s->version >= 0 && s->has_metadata) {
    l->schema_string = ks_strdup(s->metadata.schema_string);
    if (s->metadata.npartition_columns)
      l->partitioned = ks_strdup(s->metadata.partition_columns[0]);
  }
}

/* Schemaless (no schema file): the table's columns so far, learnt by
 * earlier runs, become the first generation. */
static int start_schemaless(ks_pipeline *p, ks_table *t, char *err,
                            size_t errlen) {
  const ks_conf_table *tc = t->conf;
  const char *why = NULL;
  if (tc->format != KS_FORMAT_DELTA)
    why = "schemaless mode (no schema: columns learnt from the records) "
          "writes Delta tables; format parquet and jsonl need a JSON Schema";
  else if (!tc->add_columns)
    why = "without a schema the columns are learnt from the records, which "
          "needs schema_evolution: add_columns (new fields add columns)";
  else if (tc->npartition_by || tc->nderive)
    why = "schemaless tables are not partitioned (partition_by and derive "
          "need a schema that declares their fields)";
  if (why) {
    snprintf(err, errlen, "%s:%d: tables[%d].schema: %s", t->conf_file,
             tc->line, t->index, why);
    return KS_ECONFIG;
  }
  schema_look l = {0};
  int r = ks_committer_with_snapshot(p, t, look_at_schema, &l, err, errlen);
  if (r == 0 && l.partitioned) {
    snprintf(err, errlen,
             "%s:%d: tables[%d] (%s): the table at %s is partitioned by %s; "
             "schemaless tables are not partitioned: give the table its "
             "schema and partition_by",
             t->conf_file, tc->line, t->index, tc->name, tc->path,
             l.partitioned);
    r = KS_ECONFIG;
  }
  if (r == 0)
    r = ks_schemaless_start(t, l.schema_string, err, errlen);
  ks_free(l.schema_string);
  ks_free(l.partitioned);
  if (r)
    return r;
  t->schemaless = 1;
  /* the first generation's columns are the table's starting columns */
  const ks_table_schema *g = atomic_load(&t->live);
  return ks_infer_compile(g->tree, tc->name, &t->schema, err, errlen);
}

static int build_table(ks_pipeline *p, size_t i, ks_schema *given, char *err,
                       size_t errlen) {
  const ks_conf *conf = p->conf;
  ks_table *t = &p->tables[i];
  t->index = (int)i;
  t->conf = &conf->tables[i];
  t->conf_file = conf->file;
  t->start_version = -1;
  t->meta = meta_cols;
  t->nmeta = KS_ARRAY_SIZE(meta_cols);
  int r;
  if (given) {
    t->schema = given;
  } else if (t->conf->schema_path == NULL) {
    if ((r = start_schemaless(p, t, err, errlen)))
      return r;
  } else if ((r = ks_schema_load_file(t->conf->schema_path, &t->schema, err,
                                      errlen))) {
    return r;
  }
  if ((r = table_columns(t, err, errlen)))
    return r;
  t->ndata = ks_schema_ncolumns(t->schema);
  uint32_t h = 2166136261u;
  for (const char *s = t->conf->name; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  t->committer = (int)(h % (uint32_t)p->nworkers);
  return 0;
}

int ks_pipeline_new(const ks_conf *conf, ks_schema **schemas, ks_pipeline **out,
                    char *err, size_t errlen) {
  /* Large buffers (column buffers, file parts) get their own mappings at
   * a fixed size threshold, so what a flush for the memory budget frees
   * goes back to the system at once. glibc's default threshold rises with
   * every large chunk freed, after which such buffers come from heaps that
   * keep their pages and resident memory drifts away from the budget. */
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ks_pipeline *p = ks_calloc(1, sizeof *p);
  p->conf = conf;
  p->mock_partitions = 16;
  p->nworkers =
      conf->workers > 0 ? conf->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (p->nworkers < 1)
    p->nworkers = 1;
  p->ntables = conf->ntables;
  p->tables = ks_calloc(p->ntables, sizeof *p->tables);
  uv_mutex_init(&p->revoke_lock);
  uv_cond_init(&p->revoke_cond);
  atomic_store(&p->total.delta_version, -1);
  collect_topics(p);
  int r;
  for (size_t i = 0; i < p->ntables; i++) {
    ks_schema *given = schemas ? schemas[i] : NULL;
    if (schemas)
      schemas[i] = NULL; /* the pipeline owns it now */
    if ((r = build_table(p, i, given, err, errlen)))
      goto fail;
  }
  /* An existing table must have the partition columns and the columns
   * this config produces, or gain the columns by schema evolution: one
   * read of each table's log. */
  for (size_t i = 0; i < p->ntables; i++) {
    ks_table *t = &p->tables[i];
    if (t->conf->format != KS_FORMAT_DELTA || t->schemaless)
      continue; /* no log, or columns taken from it */
    if ((r = ks_evolve_start(p, t, table_columns, err, errlen)))
      goto fail;
  }
  /* Before anything consumes: clear what a killed run left behind. A
   * failure only delays that to the next sweep. */
  ks_sweep_stale_uploads(conf, KS_SWEEP_START_MS);
  if ((r = ks_kafka_open(p, err, errlen)))
    goto fail;
  p->workers = ks_calloc((size_t)p->nworkers, sizeof *p->workers);
  for (int i = 0; i < p->nworkers; i++) {
    int core = (size_t)i < conf->ncores ? conf->cores[i] : -1;
    if ((r = ks_worker_new(p, i, core, &p->workers[i]))) {
      snprintf(err, errlen, "worker %d: %s", i, ks_strerror(r));
      goto fail;
    }
  }
  *out = p;
  return 0;
fail:
  ks_pipeline_free(p);
  return r;
}

/* ---- control loop ------------------------------------------------------- */

typedef struct ctl_msg {
  ks_msg msg;
  ks_pipeline *p;
  ks_worker *w;
} ctl_msg;

static void post_worker(ks_pipeline *p, ks_worker *w, ks_msg_fn fn) {
  ctl_msg *m = ks_calloc(1, sizeof *m);
  m->msg.fn = fn;
  m->p = p;
  m->w = w;
  if (ks_worker_post(w, &m->msg))
    ks_free(m);
}

static void on_worker_exit(ks_msg *m) {
  ctl_msg *cm = ks_container_of(m, ctl_msg, msg);
  ks_worker_close(cm->w);
  ks_free(cm);
}

static void on_worker_flush_all(ks_msg *m) {
  ctl_msg *cm = ks_container_of(m, ctl_msg, msg);
  ks_worker *w = cm->w;
  ks_free(cm);
  w->stopping = 1;
  ks_worker_consume_stop(w);
  for (size_t i = 0; i < w->p->ntables; i++)
    ks_table_writer_flush(w->writers[i], "shutdown");
  ks_worker_check_drained(w);
}

static void finish(ks_pipeline *p) {
  /* Everything is committed: leave the group, then stop the workers. */
  ks_kafka_close(p);
  for (int i = 0; i < p->nworkers; i++)
    post_worker(p, p->workers[i], on_worker_exit);
  uv_close((uv_handle_t *)&p->sigint, NULL);
  uv_close((uv_handle_t *)&p->sigterm, NULL);
  uv_close((uv_handle_t *)&p->consumer_poll, NULL);
  uv_close((uv_handle_t *)&p->tick, NULL);
  ks_mailbox_close(&p->ctl_mailbox);
}

static void on_drained(ks_msg *m) {
  ctl_msg *cm = ks_container_of(m, ctl_msg, msg);
  ks_pipeline *p = cm->p;
  ks_free(cm);
  if (++p->drained == p->nworkers)
    finish(p);
}

void ks_pipeline_worker_drained(ks_pipeline *p, ks_worker *w) {
  ctl_msg *m = ks_calloc(1, sizeof *m);
  m->msg.fn = on_drained;
  m->p = p;
  m->w = w;
  if (ks_mailbox_post(&p->ctl_mailbox, &m->msg))
    ks_free(m);
}

static void begin_stop(ks_pipeline *p) {
  if (atomic_load(&p->stopping))
    return;
  atomic_store(&p->stopping, 1);
  ks_log_info("stopping: flushing and committing what was consumed");
  for (int i = 0; i < p->nworkers; i++)
    post_worker(p, p->workers[i], on_worker_flush_all);
}

static void on_stop_msg(ks_msg *m) {
  ctl_msg *cm = ks_container_of(m, ctl_msg, msg);
  ks_pipeline *p = cm->p;
  ks_free(cm);
  begin_stop(p);
}

void ks_pipeline_stop(ks_pipeline *p) {
  ctl_msg *m = ks_calloc(1, sizeof *m);
  m->msg.fn = on_stop_msg;
  m->p = p;
  if (ks_mailbox_post(&p->ctl_mailbox, &m->msg))
    ks_free(m);
}

static void on_signal(uv_signal_t *h, int signum) {
  ks_pipeline *p = h->data;
  if (++p->signals > 1) {
    ks_log_warn("second signal: exiting without flushing");
    _exit(1);
  }
  ks_log_info("received %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
  begin_stop(p);
}

static void on_consumer(uv_poll_t *h, int status, int events) {
  ks_pipeline *p = ks_container_of(h, ks_pipeline, consumer_poll);
  char buf[256];
  while (read(p->consumer_fds[0], buf, sizeof buf) > 0)
    ;
  ks_kafka_serve(p);
}

static void on_tick(uv_timer_t *t) {
  ks_pipeline *p = ks_container_of(t, ks_pipeline, tick);
  /* The io-event pipe signals only the empty -> non-empty edge; serving
   * here too keeps a missed edge from stalling rebalances. */
  ks_kafka_serve(p);
  if (p->tick_fn)
    p->tick_fn(p, p->tick_arg);
}

void ks_pipeline_set_tick(ks_pipeline *p, uint64_t interval_ms,
                          void (*fn)(ks_pipeline *p, void *arg), void *arg) {
  p->tick_fn = fn;
  p->tick_arg = arg;
  p->tick_ms = interval_ms;
}

/* Workers that never started still hold their loops' handles; no thread
 * runs those loops yet, so close them from here and ks_pipeline_free can
 * end (its uv_run would otherwise wait on the mailbox forever). */
static void close_unstarted_workers(ks_pipeline *p) {
  for (int i = 0; i < p->nworkers; i++)
    ks_worker_close(p->workers[i]);
}

int ks_pipeline_run(ks_pipeline *p) {
  p->started_ms = ks_mono_ms();
  /* HTTP first: a busy port fails the run before any consumer joins. */
  const char *listen = p->conf->http_listen;
  if (listen && strcmp(listen, "off") != 0) {
    char err[512];
    if (ks_http_start(p, listen, &p->http, err, sizeof err)) {
      ks_log_error("%s", err);
      close_unstarted_workers(p);
      return 1;
    }
    ks_log_info("http: serving /healthz /readyz /metrics /status on %s "
                "(port %d)",
                listen, ks_http_port(p->http));
  }
  uv_loop_init(&p->ctl_loop);
  ks_mailbox_init(&p->ctl_loop, &p->ctl_mailbox);
  uv_signal_init(&p->ctl_loop, &p->sigint);
  uv_signal_init(&p->ctl_loop, &p->sigterm);
  p->sigint.data = p->sigterm.data = p;
  uv_signal_start(&p->sigint, on_signal, SIGINT);
  uv_signal_start(&p->sigterm, on_signal, SIGTERM);
  if (pipe2(p->consumer_fds, O_NONBLOCK | O_CLOEXEC)) {
    ks_http_stop(p->http);
    p->http = NULL;
    close_unstarted_workers(p);
    return 1;
  }
  p->consumer_q = rd_kafka_queue_get_consumer(p->rk);
  rd_kafka_queue_io_event_enable(p->consumer_q, p->consumer_fds[1], "1", 1);
  uv_poll_init(&p->ctl_loop, &p->consumer_poll, p->consumer_fds[0]);
  uv_poll_start(&p->consumer_poll, UV_READABLE, on_consumer);
  uv_timer_init(&p->ctl_loop, &p->tick);
  uv_timer_start(&p->tick, on_tick, p->tick_ms ? p->tick_ms : 1000,
                 p->tick_ms ? p->tick_ms : 1000);

  for (int i = 0; i < p->nworkers; i++)
    ks_worker_start(p->workers[i]);
  if (ks_kafka_subscribe(p)) {
    atomic_store(&p->fatal, 1);
    begin_stop(p);
  }
  uv_run(&p->ctl_loop, UV_RUN_DEFAULT);
  for (int i = 0; i < p->nworkers; i++)
    ks_worker_join(p->workers[i]);
  /* Everything is committed and no writer of ours is left: sweep again, so
   * a graceful stop leaves no upload behind, even those of earlier crashes
   * that were too young at start-up. Bounded: a slow S3 must not hold the
   * stop up. After a fatal error storage may be what failed: skip. */
  if (!atomic_load(&p->fatal))
    ks_sweep_stale_uploads(p->conf, KS_SWEEP_STOP_MS);
  ks_http_stop(p->http);
  p->http = NULL;
  rd_kafka_queue_io_event_enable(p->consumer_q, -1, NULL, 0);
  rd_kafka_queue_destroy(p->consumer_q);
  p->consumer_q = NULL;
  close(p->consumer_fds[0]);
  close(p->consumer_fds[1]);
  uv_loop_close(&p->ctl_loop);
  return atomic_load(&p->fatal) ? 1 : 0;
}

const char *ks_pipeline_mock_bootstraps(const ks_pipeline *p) {
  return p->mock_bootstraps;
}

void ks_pipeline_totals(const ks_pipeline *p, ks_totals *t) {
  memset(t, 0, sizeof *t);
  t->delta_version = -1;
  t->oldest_heartbeat_ms = UINT64_MAX;
  for (int i = 0; i < p->nworkers; i++) {
    const ks_counters *c = &p->workers[i]->counters;
    t->consumed += atomic_load_explicit(&c->consumed, memory_order_relaxed);
    t->consumed_bytes +=
        atomic_load_explicit(&c->consumed_bytes, memory_order_relaxed);
    t->written += atomic_load_explicit(&c->written, memory_order_relaxed);
    t->files += atomic_load_explicit(&c->files, memory_order_relaxed);
    t->commits += atomic_load_explicit(&c->commits, memory_order_relaxed);
    t->paused +=
        (uint64_t)atomic_load_explicit(&c->paused, memory_order_relaxed);
    t->memory_pauses +=
        atomic_load_explicit(&c->memory_pauses, memory_order_relaxed);
    t->zombie_sets +=
        atomic_load_explicit(&c->zombie_sets, memory_order_relaxed);
    t->rewinds += atomic_load_explicit(&c->rewinds, memory_order_relaxed);
    for (int r = 0; r < KS_REASON_COUNT; r++) {
      uint64_t n = atomic_load_explicit(&c->rejected[r], memory_order_relaxed);
      t->rejected_by[r] += n;
      t->rejected += n;
    }
    uint64_t hb = atomic_load_explicit(&c->heartbeat_ms, memory_order_relaxed);
    if (hb < t->oldest_heartbeat_ms)
      t->oldest_heartbeat_ms = hb;
    int64_t v = atomic_load_explicit(&c->delta_version, memory_order_relaxed);
    if (v > t->delta_version)
      t->delta_version = v;
  }
}

void ks_pipeline_table_totals(const ks_pipeline *p, size_t table,
                              ks_table_totals *t) {
  memset(t, 0, sizeof *t);
  t->delta_version = table < p->ntables ? p->tables[table].start_version : -1;
  for (int i = 0; i < p->nworkers; i++) {
    const ks_table_counters *c = p->workers[i]->tc;
    if (c == NULL || table >= p->ntables)
      continue;
    c += table;
    t->written += atomic_load_explicit(&c->written, memory_order_relaxed);
    t->files += atomic_load_explicit(&c->files, memory_order_relaxed);
    t->commits += atomic_load_explicit(&c->commits, memory_order_relaxed);
    t->conflicts += atomic_load_explicit(&c->conflicts, memory_order_relaxed);
    t->deadletter_records +=
        atomic_load_explicit(&c->deadletter_records, memory_order_relaxed);
    for (int r = 0; r < KS_REASON_COUNT; r++) {
      uint64_t n = atomic_load_explicit(&c->rejected[r], memory_order_relaxed);
      t->rejected_by[r] += n;
      t->rejected += n;
    }
    for (int k = 0; k < KS_KEYWORD_COUNT; k++)
      t->schema_keyword[k] +=
          atomic_load_explicit(&c->schema_keyword[k], memory_order_relaxed);
    int64_t v = atomic_load_explicit(&c->delta_version, memory_order_relaxed);
    if (v > t->delta_version)
      t->delta_version = v;
    int64_t at =
        atomic_load_explicit(&c->last_commit_unix_ms, memory_order_relaxed);
    if (at > t->last_commit_unix_ms)
      t->last_commit_unix_ms = at;
    t->files_open += atomic_load_explicit(&c->files_open, memory_order_relaxed);
  }
}

void ks_pipeline_free(ks_pipeline *p) {
  if (p == NULL)
    return;
  for (int i = 0; p->workers && i < p->nworkers; i++)
    ks_worker_free(p->workers[i]);
  ks_free(p->workers);
  if (p->rk)
    rd_kafka_destroy(p->rk);
  if (p->mock_cluster)
    rd_kafka_mock_cluster_destroy(p->mock_cluster);
  if (p->mock_rk)
    rd_kafka_destroy(p->mock_rk);
  ks_free(p->mock_bootstraps);
  for (size_t i = 0; i < p->ntables; i++) {
    ks_route_table_free(&p->tables[i]);
    ks_schemaless_free(&p->tables[i]);
    ks_schema_free(p->tables[i].schema);
    ks_pq_schema_free(p->tables[i].pq);
    ks_free(p->tables[i].schema_string);
  }
  ks_free(p->tables);
  ks_free(p->topics);
  uv_mutex_destroy(&p->revoke_lock);
  uv_cond_destroy(&p->revoke_cond);
  ks_free(p);
}
