#include "reactor/pipeline.h"
#include "stages/registry.h"
#include "base/log.h"
#include "reactor/kafka.h"
#include "reactor/sweep.h"
#include "reactor/worker.h"
#include "stages/source.h"
#include "stages/table/table.h"
#include "storage/s3/s3.h"

#include <fcntl.h>
#include <librdkafka/rdkafka_mock.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Time limits of the stale-upload sweeps (reactor/sweep.c). */
#define KS_SWEEP_START_MS 15000
#define KS_SWEEP_STOP_MS 4000

int ks_pipeline_topic_index(const ks_pipeline *p, const char *topic) {
  return ks_lane_topic_index(&p->env, topic);
}

static void collect_topics(ks_pipeline *p) {
  const ks_conf *conf = p->conf;
  size_t n = 0;
  for (size_t i = 0; i < conf->ntables; i++)
    n += conf->tables[i].ntopics;
  p->env.topics = ks_calloc(n ? n : 1, sizeof *p->env.topics);
  for (size_t i = 0; i < conf->ntables; i++)
    for (size_t j = 0; j < conf->tables[i].ntopics; j++)
      if (ks_pipeline_topic_index(p, conf->tables[i].topics[j]) < 0)
        p->env.topics[p->env.ntopics++] = conf->tables[i].topics[j];
}

/* The columns of a table that takes them from the registry. An
 * unreachable registry is asked again (1 s doubling to 30 s) for as long
 * as it takes: nothing is consumed meanwhile, and the log says why. */
static int registry_columns(ks_registry *reg, const ks_conf_table *tc,
                            ks_schema **out, const ks_registry_schema **rs,
                            char *err, size_t errlen) {
  for (unsigned ms = 1000;; ms = ms * 2 > 30000 ? 30000 : ms * 2) {
    int r = ks_registry_table_schema(reg, tc, out, rs, err, errlen);
    if (r != KS_EIO)
      return r;
    ks_log_warn("%s; start-up waits, asking again in %u s", err, ms / 1000);
    uv_sleep(ms);
  }
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
  p->env.conf = conf;
  p->mock_partitions = 16;
  p->nworkers =
      conf->workers > 0 ? conf->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (p->nworkers < 1)
    p->nworkers = 1;
  p->env.ntables = conf->ntables;
  p->env.tables = ks_calloc(p->env.ntables, sizeof *p->env.tables);
  uv_mutex_init(&p->revoke_lock);
  uv_cond_init(&p->revoke_cond);
  atomic_store(&p->total.delta_version, -1);
  collect_topics(p);
  int r;
  const ks_registry_schema **latest =
      ks_calloc(p->env.ntables ? p->env.ntables : 1, sizeof *latest);
  if (conf->nregistry_urls)
    p->env.registry = ks_registry_new(
        conf->registry_urls, conf->nregistry_urls, conf->registry_basic_auth,
        conf->registry_bearer_token);
  for (size_t i = 0; i < p->env.ntables; i++) {
    ks_schema *given = schemas ? schemas[i] : NULL;
    if (schemas)
      schemas[i] = NULL; /* the pipeline owns it now */
    if (given == NULL && conf->tables[i].schema_path == NULL &&
        conf->tables[i].value_format != KS_VALUE_FORMAT_JSON &&
        (r = registry_columns(p->env.registry, &conf->tables[i], &given,
                              &latest[i], err, errlen)))
      goto fail;
    if ((r = ks_table_open(conf, i, given, p->nworkers, &p->env.tables[i],
                           err, errlen)))
      goto fail;
  }
  /* An existing table must have the partition columns and the columns
   * this config produces, or gain the columns by schema evolution: one
   * read of each table's log. */
  for (size_t i = 0; i < p->env.ntables; i++)
    if ((r = ks_table_evolve(conf, &p->env.tables[i], err, errlen)) ||
        (r = ks_table_check_app_ids(conf, &p->env.tables[i], err, errlen)) ||
        (latest[i] &&
         (r = ks_table_follow_registry(&p->env.tables[i],
                                       latest[i]->json_schema,
                                       latest[i]->json_schema_len, err,
                                       errlen))))
      goto fail;
  ks_free(latest);
  latest = NULL;
  /* The Delta log needs a store that refuses a second put-if-absent:
   * check it once before anything is written. */
  if (conf->s3.conditional_writes_probe &&
      strncmp(conf->storage_url, "s3://", 5) == 0 &&
      (r = ks_s3_probe_conditional_writes(conf->storage_url, &conf->s3, err,
                                          errlen)))
    goto fail;
  /* Before anything consumes: clear what a killed run left behind. A
   * failure only delays that to the next sweep. */
  ks_sweep_stale_uploads(conf, KS_SWEEP_START_MS);
  if ((r = ks_kafka_open(p, err, errlen)))
    goto fail;
  p->env.dlq_bootstrap = p->mock_bootstraps;
  p->workers = ks_calloc((size_t)p->nworkers, sizeof *p->workers);
  p->env.lanes = ks_calloc((size_t)p->nworkers, sizeof *p->env.lanes);
  p->env.nlanes = p->nworkers;
  for (int i = 0; i < p->nworkers; i++) {
    int core = (size_t)i < conf->ncores ? conf->cores[i] : -1;
    if ((r = ks_worker_new(p, i, core, &p->workers[i]))) {
      snprintf(err, errlen, "worker %d: %s", i, ks_strerror(r));
      goto fail;
    }
    p->env.lanes[i] = &p->workers[i]->lane;
  }
  *out = p;
  return 0;
fail:
  ks_free(latest);
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
  ks_worker_flush_all(w);
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
  if (atomic_load(&p->env.stopping))
    return;
  atomic_store(&p->env.stopping, 1);
  p->stop_ms = ks_mono_ms();
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

/* A second SIGINT/SIGTERM exits at once in every state, even while the
 * control loop is blocked (a revoke waiting for storage, inside
 * librdkafka's rebalance callback): this handler runs before libuv's,
 * which it then calls, so the first signal still starts a graceful stop. */
static struct sigaction uv_sigint, uv_sigterm;
static atomic_int raw_signals;

static void on_raw_signal(int sig, siginfo_t *info, void *uc) {
  if (atomic_fetch_add(&raw_signals, 1) >= 1) {
    static const char msg[] =
        "ksink: second signal: exiting without flushing\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
  }
  const struct sigaction *next = sig == SIGINT ? &uv_sigint : &uv_sigterm;
  if (next->sa_flags & SA_SIGINFO)
    next->sa_sigaction(sig, info, uc);
  else if (next->sa_handler != SIG_DFL && next->sa_handler != SIG_IGN)
    next->sa_handler(sig);
}

static void chain_signal(int sig, struct sigaction *saved) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigaction(sig, NULL, saved);
  sa.sa_sigaction = on_raw_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
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

/* A graceful stop waits for every batch to commit, but a fault that no
 * retry heals (storage refusing writes, storage or the DLQ down) would
 * hold it forever: after STOP_STUCK_MS with such a fault the process
 * exits without committing. Nothing is lost: the uncommitted records
 * were not acknowledged and are read again at the next start. */
#define STOP_STUCK_MS 3000

static const char *stop_stuck_on(const ks_pipeline *p, char *why, size_t n) {
  char refusal[256];
  int refused = ks_storage_refused(refusal, sizeof refusal);
  if (refused && refused >= p->env.conf->storage_unready_after) {
    snprintf(why, n, "storage refuses writes (%s)", refusal);
    return why;
  }
  if (ks_s3_breakers_open() > 0)
    return "a storage circuit breaker is open";
  if (!ks_storage_reachable())
    return "storage is unreachable";
  ks_totals t;
  ks_pipeline_totals(p, &t);
  if (t.dlq_unavailable_since_ms &&
      ks_mono_ms() - t.dlq_unavailable_since_ms >= STOP_STUCK_MS) {
    snprintf(why, n, "the dead-letter queue is unavailable (%llu pending)",
             (unsigned long long)t.deadletter_pending);
    return why;
  }
  return NULL;
}

static void check_stop_stuck(ks_pipeline *p) {
  char why[384];
  const char *stuck;
  if (!p->stop_ms || ks_mono_ms() - p->stop_ms < STOP_STUCK_MS ||
      (stuck = stop_stuck_on(p, why, sizeof why)) == NULL)
    return;
  ks_log_error("stopping: %s; exiting without committing what is left (it "
               "is read again at the next start)",
               stuck);
  _exit(1);
}

static void on_tick(uv_timer_t *t) {
  ks_pipeline *p = ks_container_of(t, ks_pipeline, tick);
  check_stop_stuck(p);
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
  for (int i = 0; !p->workers_closed && i < p->nworkers; i++)
    if (p->workers[i])
      ks_worker_close(p->workers[i]);
  p->workers_closed = 1;
}

int ks_pipeline_run(ks_pipeline *p) {
  p->started_ms = ks_mono_ms();
  uv_loop_init(&p->ctl_loop);
  ks_mailbox_init(&p->ctl_loop, &p->ctl_mailbox);
  uv_signal_init(&p->ctl_loop, &p->sigint);
  uv_signal_init(&p->ctl_loop, &p->sigterm);
  p->sigint.data = p->sigterm.data = p;
  uv_signal_start(&p->sigint, on_signal, SIGINT);
  uv_signal_start(&p->sigterm, on_signal, SIGTERM);
  atomic_store(&raw_signals, 0);
  chain_signal(SIGINT, &uv_sigint);
  chain_signal(SIGTERM, &uv_sigterm);
  if (pipe2(p->consumer_fds, O_NONBLOCK | O_CLOEXEC)) {
    close_unstarted_workers(p);
    return 1;
  }
  p->consumer_q = rd_kafka_queue_get_consumer(p->env.rk);
  rd_kafka_queue_io_event_enable(p->consumer_q, p->consumer_fds[1], "1", 1);
  uv_poll_init(&p->ctl_loop, &p->consumer_poll, p->consumer_fds[0]);
  uv_poll_start(&p->consumer_poll, UV_READABLE, on_consumer);
  uv_timer_init(&p->ctl_loop, &p->tick);
  uv_timer_start(&p->tick, on_tick, p->tick_ms ? p->tick_ms : 1000,
                 p->tick_ms ? p->tick_ms : 1000);

  p->workers_started = 1;
  for (int i = 0; i < p->nworkers; i++)
    ks_worker_start(p->workers[i]);
  if (ks_kafka_subscribe(p)) {
    atomic_store(&p->env.fatal, 1);
    begin_stop(p);
  }
  uv_run(&p->ctl_loop, UV_RUN_DEFAULT);
  for (int i = 0; i < p->nworkers; i++)
    ks_worker_join(p->workers[i]);
  /* Everything is committed and no writer of ours is left: sweep again, so
   * a graceful stop leaves no upload behind, even those of earlier crashes
   * that were too young at start-up. Bounded: a slow S3 must not hold the
   * stop up. After a fatal error storage may be what failed: skip. */
  if (!atomic_load(&p->env.fatal))
    ks_sweep_stale_uploads(p->conf, KS_SWEEP_STOP_MS);
  rd_kafka_queue_io_event_enable(p->consumer_q, -1, NULL, 0);
  rd_kafka_queue_destroy(p->consumer_q);
  p->consumer_q = NULL;
  close(p->consumer_fds[0]);
  close(p->consumer_fds[1]);
  uv_loop_close(&p->ctl_loop);
  return atomic_load(&p->env.fatal) ? 1 : 0;
}

/* How long a revoke waits for the workers' commits before it treats the
 * partitions as lost: within max.poll.interval.ms (the group throws a
 * member out that stays in its rebalance callback longer), at most a
 * minute. */
static uint64_t revoke_deadline_ms(const ks_pipeline *p) {
  uint64_t ms = 60000;
  const char *v = ks_conf_kafka_get(p->conf, "max.poll.interval.ms");
  long long poll = v ? atoll(v) : 300000;
  if (poll > 0 && (uint64_t)poll / 2 < ms)
    ms = (uint64_t)poll / 2;
  return ms;
}

/* Control thread, inside the rebalance callback: each worker flushes the
 * batches of the revoked partitions and waits until they are committed,
 * then drops the partitions (stages/source.h); returns when every worker
 * is done, or at the deadline: then the partitions are treated as lost
 * (each worker drops what it still holds of them and rewinds), which the
 * Delta log's txn fence and the recorded cuts make safe. A late answer of
 * a timed-out revoke is told apart by its generation. */
void ks_pipeline_revoke_and_wait(ks_pipeline *p,
                                 const rd_kafka_topic_partition_list_t *parts,
                                 int lost) {
  uv_mutex_lock(&p->revoke_lock);
  p->revoke_pending = 0;
  int gen = ++p->revoke_gen;
  uv_mutex_unlock(&p->revoke_lock);
  for (int i = 0; i < p->nworkers; i++) {
    ks_msg *m = ks_source_revoke_msg(&p->workers[i]->lane, parts, lost, gen);
    uv_mutex_lock(&p->revoke_lock);
    p->revoke_pending++;
    uv_mutex_unlock(&p->revoke_lock);
    if (ks_worker_post(p->workers[i], m)) {
      ks_source_msg_free(m);
      uv_mutex_lock(&p->revoke_lock);
      p->revoke_pending--;
      uv_mutex_unlock(&p->revoke_lock);
    }
  }
  ks_log_info("revoke: %d partitions; waiting up to %llu ms for the workers "
              "to %s", parts->cnt, (unsigned long long)revoke_deadline_ms(p),
              lost ? "drop them" : "commit their batches");
  uint64_t deadline = ks_mono_ms() + revoke_deadline_ms(p);
  int timed_out = 0;
  uv_mutex_lock(&p->revoke_lock);
  while (p->revoke_pending > 0) {
    uint64_t now = ks_mono_ms();
    if (now >= deadline) {
      timed_out = p->revoke_pending;
      break;
    }
    uint64_t wait = deadline - now < 10000 ? deadline - now : 10000;
    if (uv_cond_timedwait(&p->revoke_cond, &p->revoke_lock,
                          wait * 1000 * 1000) == UV_ETIMEDOUT &&
        p->revoke_pending > 0)
      ks_log_warn("revoke: waiting for %d workers to commit their batches",
                  p->revoke_pending);
  }
  uv_mutex_unlock(&p->revoke_lock);
  if (timed_out == 0 || lost)
    return;
  atomic_fetch_add(&p->revoke_timeouts, 1);
  ks_log_error("revoke: %d workers did not commit the revoked partitions' "
               "batches within %llu ms: treating the partitions as lost",
               timed_out, (unsigned long long)revoke_deadline_ms(p));
  for (int i = 0; i < p->nworkers; i++) {
    ks_msg *m = ks_source_revoke_msg(&p->workers[i]->lane, parts, 1, 0);
    if (ks_worker_post(p->workers[i], m))
      ks_source_msg_free(m);
  }
}

void ks_pipeline_revoke_settled(ks_pipeline *p, int gen) {
  uv_mutex_lock(&p->revoke_lock);
  if (gen == p->revoke_gen && p->revoke_pending > 0) {
    p->revoke_pending--;
    uv_cond_signal(&p->revoke_cond);
  }
  uv_mutex_unlock(&p->revoke_lock);
}

int ks_pipeline_restart(ks_pipeline *p, int task) {
  int r = 0;
  for (int i = 0; i < p->nworkers; i++)
    if (task < 0 || i == task)
      if ((r = ks_worker_restart(p->workers[i])) != 0)
        break;
  return r;
}

void ks_pipeline_cluster_id(ks_pipeline *p, char *buf, size_t n) {
  buf[0] = 0;
  char *id = p->env.rk ? rd_kafka_clusterid(p->env.rk, 0) : NULL;
  if (id) {
    snprintf(buf, n, "%s", id);
    rd_kafka_mem_free(p->env.rk, id);
  }
}

const char *ks_pipeline_mock_bootstraps(const ks_pipeline *p) {
  return p->mock_bootstraps;
}

void ks_pipeline_totals(const ks_pipeline *p, ks_totals *t) {
  memset(t, 0, sizeof *t);
  t->delta_version = -1;
  t->fetch_wakes = atomic_load_explicit(&p->fetch_wakes, memory_order_relaxed);
  t->oldest_heartbeat_ms = UINT64_MAX;
  for (int i = 0; i < p->nworkers; i++) {
    const ks_counters *c = &p->workers[i]->lane.counters;
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
    t->offset_commit_failures += atomic_load_explicit(
        &c->offset_commit_failures, memory_order_relaxed);
    t->timestamps_out_of_range += atomic_load_explicit(
        &c->timestamps_out_of_range, memory_order_relaxed);
    t->deadletter_pending +=
        atomic_load_explicit(&c->deadletter_pending, memory_order_relaxed);
    uint64_t since =
        atomic_load_explicit(&c->dlq_unavailable_ms, memory_order_relaxed);
    if (since && (t->dlq_unavailable_since_ms == 0 ||
                  since < t->dlq_unavailable_since_ms))
      t->dlq_unavailable_since_ms = since;
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
  t->delta_version = table < p->env.ntables ? p->env.tables[table].start_version : -1;
  for (int i = 0; i < p->nworkers; i++) {
    const ks_table_counters *c = p->workers[i]->lane.tc;
    if (c == NULL || table >= p->env.ntables)
      continue;
    c += table;
    t->written += atomic_load_explicit(&c->written, memory_order_relaxed);
    t->files += atomic_load_explicit(&c->files, memory_order_relaxed);
    t->commits += atomic_load_explicit(&c->commits, memory_order_relaxed);
    t->conflicts += atomic_load_explicit(&c->conflicts, memory_order_relaxed);
    t->deadletter_records +=
        atomic_load_explicit(&c->deadletter_records, memory_order_relaxed);
    t->skipped += atomic_load_explicit(&c->skipped, memory_order_relaxed);
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
    uint64_t old =
        atomic_load_explicit(&c->oldest_uncommitted_ms, memory_order_relaxed);
    if (old && (t->oldest_uncommitted_ms == 0 || old < t->oldest_uncommitted_ms))
      t->oldest_uncommitted_ms = old;
    int64_t ts =
        atomic_load_explicit(&c->newest_record_unix_ms, memory_order_relaxed);
    if (ts > t->newest_record_unix_ms)
      t->newest_record_unix_ms = ts;
    for (int r = 0; r < KS_DLF_COUNT; r++)
      t->deadletter_failures[r] += atomic_load_explicit(
          &c->deadletter_failures[r], memory_order_relaxed);
    for (int b = 0; b <= KS_COMMIT_BUCKETS; b++)
      t->commit_duration[b] +=
          atomic_load_explicit(&c->commit_duration[b], memory_order_relaxed);
    t->commit_duration_sum_us += atomic_load_explicit(
        &c->commit_duration_sum_us, memory_order_relaxed);
  }
}

void ks_pipeline_free(ks_pipeline *p) {
  if (p == NULL)
    return;
  if (p->workers && !p->workers_started) /* never run: not even ks_pipeline_run */
    close_unstarted_workers(p);
  for (int i = 0; p->workers && i < p->nworkers; i++)
    ks_worker_free(p->workers[i]);
  ks_free(p->workers);
  ks_free(p->env.lanes);
  ks_kafka_waker_stop(p);
  if (p->env.rk)
    rd_kafka_destroy(p->env.rk);
  if (p->mock_cluster)
    rd_kafka_mock_cluster_destroy(p->mock_cluster);
  if (p->mock_rk)
    rd_kafka_destroy(p->mock_rk);
  ks_free(p->mock_bootstraps);
  for (size_t i = 0; i < p->env.ntables; i++)
    ks_table_close(&p->env.tables[i]);
  ks_free(p->env.tables);
  ks_free(p->env.topics);
  ks_registry_free(p->env.registry);
  uv_mutex_destroy(&p->revoke_lock);
  uv_cond_destroy(&p->revoke_cond);
  ks_free(p);
}

int ks_pipeline_registry_down(const ks_pipeline *p, char *why, size_t n) {
  if (p->env.registry == NULL)
    return 0;
  char e[256];
  ks_registry_last_error(p->env.registry, e, sizeof e);
  if (e[0] == 0)
    return 0;
  snprintf(why, n, "schema registry unreachable, partitions paused until it "
                   "answers: %s", e);
  return 1;
}
