#include "reactor/kafka.h"
#include "base/backoff.h"
#include "base/log.h"
#include "reactor/worker.h"
#include "stages/source.h"
#include "stages/table/cuts.h"
#include "stages/table/snapshot.h"

#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint32_t fnv1a(const char *s, uint32_t h) {
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

int ks_kafka_owner(const ks_pipeline *p, const char *topic, int32_t part) {
  uint32_t h = fnv1a(topic, 2166136261u);
  h = (h ^ (uint32_t)part) * 16777619u;
  return (int)(h % (uint32_t)p->nworkers);
}

int ks_kafka_table_of(const ks_pipeline *p, const char *topic) {
  return ks_conf_table_of(p->conf, topic);
}

/* ---- assignment --------------------------------------------------------- */

typedef struct txn_lookup {
  rd_kafka_topic_partition_list_t *parts;
  const ks_pipeline *p;
  int table;
  char **legacy; /* per partition: its older appId if it can be ours */
} txn_lookup;

/* Seeks each partition of the table to its txn version + 1; partitions
 * the log does not know start from the committed Kafka offset (then
 * auto.offset.reset). opaque carries the txn version to the worker. */
static void seek_from_snapshot(void *arg, const ks_delta_snapshot *s) {
  txn_lookup *tl = arg;
  for (int i = 0; i < tl->parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &tl->parts->elems[i];
    if (ks_kafka_table_of(tl->p, tp->topic) != tl->table)
      continue;
    char *app_id =
        ks_table_app_id(tl->p->conf->app_id, tp->topic, tp->partition);
    char *legacy = ks_table_legacy_app_id_in(s, tl->p->conf->app_id,
                                             tp->topic, tp->partition);
    int64_t txn = ks_delta_snapshot_txn_or(s, app_id, legacy);
    ks_free(app_id);
    tl->legacy[i] = legacy; /* goes with the assignment, or NULL */
    tp->offset = txn >= 0 ? txn + 1 : RD_KAFKA_OFFSET_STORED;
    tp->opaque = (void *)(intptr_t)(txn + 2); /* 0 = not looked up */
  }
}

static void forward(ks_pipeline *p, const rd_kafka_topic_partition_t *tp) {
  ks_worker *w = p->workers[ks_kafka_owner(p, tp->topic, tp->partition)];
  rd_kafka_queue_t *pq =
      rd_kafka_queue_get_partition(p->env.rk, tp->topic, tp->partition);
  if (pq) {
    rd_kafka_queue_forward(pq, w->lane.rkq);
    rd_kafka_queue_destroy(pq);
  }
}

/* parquet/jsonl keep no log: their recorded cuts say where each
 * partition resumes (stages/table/cuts.h), the group's committed offset
 * (moved only once a batch's files are stored) tells which cuts need no
 * look. A partition without cuts starts from the committed offset. */
static void resume_from_cuts(ks_pipeline *p, size_t t,
                             rd_kafka_topic_partition_list_t *parts,
                             int64_t *cut_at) {
  const ks_table *tab = &p->env.tables[t];
  rd_kafka_topic_partition_list_t *mine = rd_kafka_topic_partition_list_new(8);
  for (int i = 0; i < parts->cnt; i++)
    if (ks_kafka_table_of(p, parts->elems[i].topic) == (int)t)
      rd_kafka_topic_partition_list_add(mine, parts->elems[i].topic,
                                        parts->elems[i].partition);
  rd_kafka_resp_err_t e = rd_kafka_committed(p->env.rk, mine, 10000);
  if (e)
    ks_log_warn("kafka: reading the committed offsets of table %s: %s "
                "(every recorded cut is looked at)", tab->conf->name,
                rd_kafka_err2str(e));
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &parts->elems[i];
    if (ks_kafka_table_of(p, tp->topic) != (int)t)
      continue;
    rd_kafka_topic_partition_t *c =
        rd_kafka_topic_partition_list_find(mine, tp->topic, tp->partition);
    int64_t done = !e && c && !c->err && c->offset >= 0 ? c->offset : -1;
    ks_cut_resume res;
    char err[512];
    unsigned attempt = 0;
    /* Seeking without the cuts could duplicate records: wait for storage
     * (the control thread only; workers keep running). */
    while (ks_cuts_resume(p->conf, tab->conf->path, tp->topic, tp->partition,
                          done, &res, err, sizeof err) != 0) {
      uint64_t d = ks_backoff_ms(attempt++, 200, 10000);
      ks_log_warn("assignment waits for storage: %s (retry in %llu ms)", err,
                  (unsigned long long)d);
      usleep((useconds_t)(d * 1000));
    }
    if (res.offset > done && res.cut_at < 0)
      ks_log_info("kafka: %s[%d]: recorded cuts hold its records up to "
                  "%lld, beyond the group's committed offset %lld: it "
                  "starts at %lld", tp->topic, (int)tp->partition,
                  (long long)res.offset - 1, (long long)done,
                  (long long)res.offset);
    tp->offset = res.offset >= 0 ? res.offset : RD_KAFKA_OFFSET_STORED;
    /* txn: the newest recorded offset before the resume point */
    int64_t txn = res.offset >= 0 ? res.offset - 1 : -1;
    tp->opaque = (void *)(intptr_t)(txn + 2);
    cut_at[i] = res.cut_at;
  }
  rd_kafka_topic_partition_list_destroy(mine);
}

static void assign(ks_pipeline *p, rd_kafka_topic_partition_list_t *parts,
                   int incremental) {
  int64_t *cut_at = ks_calloc(parts->cnt ? (size_t)parts->cnt : 1,
                              sizeof *cut_at);
  char **legacy = ks_calloc(parts->cnt ? (size_t)parts->cnt : 1,
                            sizeof *legacy);
  for (int i = 0; i < parts->cnt; i++)
    cut_at[i] = -1;
  for (size_t t = 0; t < p->env.ntables; t++) {
    txn_lookup tl = {parts, p, (int)t, legacy};
    if (p->env.tables[t].conf->format != KS_FORMAT_DELTA) {
      resume_from_cuts(p, t, parts, cut_at);
      continue;
    }
    char err[512];
    unsigned attempt = 0;
    /* Seeking without the log could duplicate or skip records: wait for
     * storage instead (the control thread only; workers keep running). */
    while (ks_table_with_snapshot(p->conf, &p->env.tables[t],
                                  seek_from_snapshot, &tl, err,
                                  sizeof err) != 0) {
      uint64_t d = ks_backoff_ms(attempt++, 200, 10000);
      ks_log_warn("assignment waits for storage: %s (retry in %llu ms)", err,
                  (unsigned long long)d);
      usleep((useconds_t)(d * 1000));
    }
  }
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &parts->elems[i];
    int table = ks_kafka_table_of(p, tp->topic);
    int64_t txn = (int64_t)(intptr_t)tp->opaque - 2;
    tp->opaque = NULL;
    ks_worker *w = p->workers[ks_kafka_owner(p, tp->topic, tp->partition)];
    ks_msg *m =
        ks_source_assign_msg(&w->lane, tp->topic, tp->partition, table,
                             txn >= 0 ? txn + 1 : 0, txn, cut_at[i],
                             legacy[i]);
    ks_free(legacy[i]);
    if (ks_worker_post(w, m))
      ks_source_msg_free(m);
    forward(p, tp);
  }
  rd_kafka_error_t *e = NULL;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (incremental)
    e = rd_kafka_incremental_assign(p->env.rk, parts);
  else
    err = rd_kafka_assign(p->env.rk, parts);
  if (e) {
    ks_log_error("kafka: incremental assign: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  } else if (err) {
    ks_log_error("kafka: assign: %s", rd_kafka_err2str(err));
  }
  /* A partition queue may only exist once assigned: forward again. */
  for (int i = 0; i < parts->cnt; i++)
    forward(p, &parts->elems[i]);
  ks_free(cut_at);
  ks_free(legacy);
  atomic_fetch_add(&p->assigned, parts->cnt);
  atomic_store(&p->joined, 1);
  ks_log_info("kafka: assigned %d partitions", parts->cnt);
}

static void revoke_parts(ks_pipeline *p, rd_kafka_topic_partition_list_t *parts,
                   int incremental) {
  /* Lost: the group moved on without us (we missed heartbeats past the
   * session timeout); another member may already own these partitions. */
  int lost = rd_kafka_assignment_lost(p->env.rk);
  if (lost)
    ks_log_warn("kafka: assignment of %d partitions lost", parts->cnt);
  ks_pipeline_revoke_and_wait(p, parts, lost);
  atomic_fetch_sub(&p->assigned, parts->cnt);
  if (incremental) {
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(p->env.rk, parts);
    if (e) {
      ks_log_error("kafka: incremental unassign: %s",
                   rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else {
    rd_kafka_assign(p->env.rk, NULL);
  }
  ks_log_info("kafka: revoked %d partitions", parts->cnt);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
  ks_pipeline *p = opaque;
  int incremental =
      strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(p, parts, incremental);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    revoke_parts(p, parts, incremental);
  } else {
    ks_log_error("kafka: rebalance failed: %s", rd_kafka_err2str(err));
    rd_kafka_assign(rk, NULL);
  }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
  ks_pipeline *p = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    ks_log_error("kafka: fatal: %s", buf);
    atomic_store(&p->env.fatal, 1);
    ks_pipeline_stop(p);
    return;
  }
  /* Transient: librdkafka reconnects and retries on its own. */
  ks_log_warn("kafka: %s: %s", rd_kafka_err2name(err), reason);
}

/* The group's answers go to the lanes that own the partitions: they
 * record them, send refused commits again or fence the partition
 * (stages/source.h). Where to resume is never taken from these: the
 * Delta log and the recorded cuts say that. */
static void on_offsets_committed(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t *offsets,
                                 void *opaque) {
  ks_pipeline *p = opaque;
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    ks_log_warn("kafka: offset commit: %s", rd_kafka_err2str(err));
  for (int i = 0; offsets && i < offsets->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
    int e = tp->err ? (int)tp->err : (int)err;
    ks_worker *w = p->workers[ks_kafka_owner(p, tp->topic, tp->partition)];
    ks_msg *m = ks_source_committed_msg(&w->lane, tp->topic, tp->partition,
                                        tp->offset, e);
    if (ks_worker_post(w, m))
      ks_source_msg_free(m);
  }
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf) {
  if (level <= 3)
    ks_log_error("kafka: %s: %s", fac, buf);
  else if (level <= 4)
    ks_log_warn("kafka: %s: %s", fac, buf);
  else
    ks_log_debug("kafka: %s: %s", fac, buf);
}

/* ---- open/close --------------------------------------------------------- */

static int start_mock(ks_pipeline *p, char *err, size_t errlen) {
  rd_kafka_conf_t *mc = rd_kafka_conf_new();
  char e[256];
  rd_kafka_conf_set(mc, "log_level", "3", e, sizeof e);
  rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mc, e, sizeof e);
  if (mrk == NULL) {
    snprintf(err, errlen, "mock kafka: %s", e);
    return KS_EKAFKA;
  }
  rd_kafka_mock_cluster_t *cl = rd_kafka_mock_cluster_new(mrk, 1);
  if (cl == NULL) {
    snprintf(err, errlen, "mock kafka: cannot start the mock cluster");
    rd_kafka_destroy(mrk);
    return KS_EKAFKA;
  }
  for (size_t i = 0; i < p->env.ntables; i++)
    for (size_t j = 0; j < p->env.tables[i].conf->ntopics; j++)
      rd_kafka_mock_topic_create(cl, p->env.tables[i].conf->topics[j],
                                 p->mock_partitions, 1);
  p->mock_rk = mrk;
  p->mock_cluster = cl;
  p->mock_bootstraps = ks_strdup(rd_kafka_mock_cluster_bootstraps(cl));
  ks_log_info("kafka: in-process mock cluster at %s", p->mock_bootstraps);
  return 0;
}

void ks_kafka_prefetch_sizes(int64_t budget, int workers,
                             int librdkafka_version, ks_kafka_prefetch *out) {
  const int64_t mib = INT64_C(1) << 20;
  if (budget <= 0)
    budget = INT64_C(256) << 20;
  if (workers < 1)
    workers = 1;
  /* queued bytes: every worker's queue may hold an eighth of its budget,
   * between 4 MiB and librdkafka's default of 64 MiB */
  int64_t q = budget / 8;
  q = q < 4 * mib ? 4 * mib : q > 64 * mib ? 64 * mib : q;
  /* one fetch response in flight per broker: a sixteenth of the budget of
   * all workers, between 1 MiB (>= message.max.bytes' default) and
   * librdkafka's default of 50 MiB */
  int64_t f = budget / 16 * workers;
  f = f < mib ? mib : f > 50 * mib ? 50 * mib : f;
  out->queued_kbytes = q / 1024;
  out->fetch_bytes = f;
  out->queue_backoff_ms =
      librdkafka_version >= KS_KAFKA_QUEUE_BACKOFF_VERSION ? 20 : 0;
  out->wake_ms = out->queue_backoff_ms ? 0 : 20;
}

static int set(rd_kafka_conf_t *kc, const char *k, const char *v, char *err,
               size_t errlen, const ks_conf *conf) {
  char e[256];
  if (rd_kafka_conf_set(kc, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
    snprintf(err, errlen, "%s: kafka.%s: %s", conf->file, k, e);
    return KS_ECONFIG;
  }
  return 0;
}

int ks_kafka_open(ks_pipeline *p, char *err, size_t errlen) {
  const ks_conf *conf = p->conf;
  const char *bs = ks_conf_kafka_get(conf, "bootstrap.servers");
  int r;
  if (bs && strcmp(bs, "mock") == 0) {
    if ((r = start_mock(p, err, errlen)))
      return r;
    bs = p->mock_bootstraps;
  }
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  /* ksink decides when offsets move: after the Delta commit.
   * queued.min.messages: every partition of a worker forwards to the
   * worker's one queue, and librdkafka (2.0.2) checks its prefetch
   * thresholds against that shared queue; once one is crossed the broker
   * thread stops fetching and only looks again when it next wakes (see
   * fetch_waker below). A million records leaves queued.max.messages.kbytes,
   * sized from the budget, as the one bound: a count says nothing about
   * memory. */
  static const char *defaults[][2] = {{"enable.auto.commit", "false"},
                                      {"enable.auto.offset.store", "false"},
                                      {"auto.offset.reset", "earliest"},
                                      {"enable.partition.eof", "false"},
                                      {"queued.min.messages", "1000000"}};
  for (size_t i = 0; i < KS_ARRAY_SIZE(defaults); i++)
    if ((r = set(kc, defaults[i][0], defaults[i][1], err, errlen, conf)))
      goto fail;
  /* Prefetch follows reactor.memory_budget (kafka.* set below still wins):
   * records librdkafka holds are memory the budget does not see. */
  ks_kafka_prefetch pf;
  ks_kafka_prefetch_sizes(conf->memory_budget, p->nworkers, rd_kafka_version(),
                          &pf);
  char kb[32], fb[32], qb[32];
  snprintf(kb, sizeof kb, "%lld", (long long)pf.queued_kbytes);
  snprintf(fb, sizeof fb, "%lld", (long long)pf.fetch_bytes);
  snprintf(qb, sizeof qb, "%d", pf.queue_backoff_ms);
  if ((r = set(kc, "queued.max.messages.kbytes", kb, err, errlen, conf)) ||
      (r = set(kc, "fetch.max.bytes", fb, err, errlen, conf)) ||
      (pf.queue_backoff_ms &&
       (r = set(kc, "fetch.queue.backoff.ms", qb, err, errlen, conf))))
    goto fail;
  p->waker_ms = pf.wake_ms;
  if (pf.wake_ms)
    ks_log_info("kafka: librdkafka %s looks at a full prefetch queue again "
                "only when its broker thread wakes, up to a second later "
                "(fetch.queue.backoff.ms came in 2.2.0): every %d ms while "
                "a partition has records still to fetch, ksink asks their "
                "leaders for the partitions' end offsets, which wakes them",
                rd_kafka_version_str(), pf.wake_ms);
  /* topics_regex: a topic created later is found at the next metadata
   * refresh; librdkafka's default waits 5 minutes */
  for (size_t i = 0; i < conf->ntables; i++)
    if (conf->tables[i].topics_regex &&
        (r = set(kc, "topic.metadata.refresh.interval.ms", "30000", err,
                 errlen, conf)))
      goto fail;
  for (size_t i = 0; i < conf->nkafka; i++) {
    const ks_conf_kv *kv = &conf->kafka[i];
    const char *v = strcmp(kv->key, "bootstrap.servers") == 0 ? bs : kv->value;
    if (strcmp(kv->key, "enable.auto.commit") == 0 ||
        strcmp(kv->key, "enable.auto.offset.store") == 0) {
      snprintf(err, errlen,
               "%s:%d: kafka.%s: ksink commits offsets itself after each "
               "Delta commit; remove this key", conf->file, kv->line, kv->key);
      r = KS_ECONFIG;
      goto fail;
    }
    if ((r = set(kc, kv->key, v, err, errlen, conf)))
      goto fail;
  }
  rd_kafka_conf_set_opaque(kc, p);
  rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
  rd_kafka_conf_set_error_cb(kc, on_error);
  rd_kafka_conf_set_offset_commit_cb(kc, on_offsets_committed);
  rd_kafka_conf_set_log_cb(kc, on_log);
  char e[512];
  p->env.rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, e, sizeof e);
  if (p->env.rk == NULL) {
    snprintf(err, errlen, "kafka: %s", e);
    return KS_ECONFIG; /* rd_kafka_new destroys kc only on success */
  }
  rd_kafka_poll_set_consumer(p->env.rk);
  return 0;
fail:
  rd_kafka_conf_destroy(kc);
  return r;
}

/* ---- waking the fetchers (librdkafka before 2.2.0) ---------------------
 *
 * Every partition of a worker forwards to the worker's queue, and
 * librdkafka checks its prefetch bounds against that queue. Once it is
 * full the broker thread stops fetching the worker's partitions and sleeps
 * until something wakes it: a request to send, a response, or a fixed
 * second (2.2.0 added fetch.queue.backoff.ms for this). A worker drains an
 * 8 MiB queue (64MiB budget) in about a fifth of that, so without a wake
 * it idled most of each second: a third of the rate (README, Benchmarks).
 *
 * librdkafka has no call that only wakes a broker thread, but every
 * request does. So while some partition has records past what the worker
 * has taken (the high watermark of its last fetch beyond its position),
 * this thread asks for the end offsets of those partitions
 * (rd_kafka_offsets_for_times: one ListOffsets request to each of their
 * leaders, the request a consumer's lag check sends). The woken broker
 * thread fetches what has room. Caught up, nothing is asked: the fetcher
 * is waiting on the broker then, not on its queue. */

/* The assigned partitions with records still to fetch, end offsets asked
 * for (NULL when none); *taken: the sum of their positions, which moves
 * when the worker takes records. */
static rd_kafka_topic_partition_list_t *behind(rd_kafka_t *rk,
                                               int64_t *taken) {
  rd_kafka_topic_partition_list_t *a = NULL, *b = NULL;
  *taken = 0;
  if (rd_kafka_assignment(rk, &a) || a == NULL)
    return NULL;
  if (a->cnt > 0 && rd_kafka_position(rk, a) == RD_KAFKA_RESP_ERR_NO_ERROR)
    for (int i = 0; i < a->cnt; i++) {
      const rd_kafka_topic_partition_t *tp = &a->elems[i];
      int64_t lo, hi;
      /* no position yet: its first fetch is librdkafka's own */
      if (tp->offset < 0)
        continue;
      *taken += tp->offset;
      if (rd_kafka_get_watermark_offsets(rk, tp->topic, tp->partition, &lo,
                                         &hi) ||
          hi <= tp->offset)
        continue;
      if (b == NULL)
        b = rd_kafka_topic_partition_list_new(a->cnt);
      rd_kafka_topic_partition_list_add(b, tp->topic, tp->partition)->offset =
          RD_KAFKA_OFFSET_END;
    }
  rd_kafka_topic_partition_list_destroy(a);
  return b;
}

uint64_t ks_kafka_wake_pace(ks_kafka_wake_pacer *w, int64_t taken,
                            int behind, int base_ms) {
  /* Records that never reach the worker keep a partition "behind" with
   * nothing to fetch: a transaction's commit marker at the end of the
   * log, an open transaction's records. Wakes that bring nothing back
   * off, doubling up to librdkafka's own second. */
  if (!w->started || taken != w->taken)
    w->idle = 0;
  else if (behind && w->idle < 16)
    w->idle++;
  w->started = 1;
  w->taken = taken;
  uint64_t ms = (uint64_t)base_ms << w->idle;
  return ms < 1000 ? ms : 1000;
}

static void fetch_waker(void *arg) {
  ks_pipeline *p = arg;
  rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
  ks_kafka_wake_pacer pace = {0};
  uint64_t ms = (uint64_t)p->waker_ms;
  uv_mutex_lock(&p->waker_lock);
  while (!p->waker_stop) {
    uv_cond_timedwait(&p->waker_cond, &p->waker_lock, ms * 1000000);
    if (p->waker_stop)
      break;
    uv_mutex_unlock(&p->waker_lock);
    int64_t taken;
    rd_kafka_topic_partition_list_t *l = behind(p->env.rk, &taken);
    ms = ks_kafka_wake_pace(&pace, taken, l != NULL, p->waker_ms);
    if (l) {
      rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(p->env.rk, l, 1000);
      atomic_fetch_add_explicit(&p->fetch_wakes, 1, memory_order_relaxed);
      if (e && e != last) /* the wake is the request, not its answer */
        ks_log_debug("kafka: end offsets for the fetchers' wake: %s",
                     rd_kafka_err2str(e));
      last = e;
      rd_kafka_topic_partition_list_destroy(l);
    }
    uv_mutex_lock(&p->waker_lock);
  }
  uv_mutex_unlock(&p->waker_lock);
}

static void waker_start(ks_pipeline *p) {
  if (p->waker_ms <= 0 || p->waker_on)
    return;
  uv_mutex_init(&p->waker_lock);
  uv_cond_init(&p->waker_cond);
  p->waker_stop = 0;
  if (uv_thread_create(&p->waker, fetch_waker, p) == 0) {
    p->waker_on = 1;
    return;
  }
  ks_log_warn("kafka: no thread to wake the fetchers: a full prefetch "
              "queue is looked at again only after a second");
  uv_cond_destroy(&p->waker_cond);
  uv_mutex_destroy(&p->waker_lock);
}

void ks_kafka_waker_stop(ks_pipeline *p) {
  if (!p->waker_on)
    return;
  uv_mutex_lock(&p->waker_lock);
  p->waker_stop = 1;
  uv_cond_signal(&p->waker_cond);
  uv_mutex_unlock(&p->waker_lock);
  uv_thread_join(&p->waker);
  uv_cond_destroy(&p->waker_cond);
  uv_mutex_destroy(&p->waker_lock);
  p->waker_on = 0;
}

int ks_kafka_subscribe(ks_pipeline *p) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
  for (size_t i = 0; i < p->env.ntables; i++)
    for (size_t j = 0; j < p->env.tables[i].conf->ntopics; j++)
      rd_kafka_topic_partition_list_add(l, p->env.tables[i].conf->topics[j],
                                        RD_KAFKA_PARTITION_UA);
  /* librdkafka reads a name starting with ^ as a regex (POSIX extended,
   * searched): anchored at both ends it matches what routing matches */
  for (size_t i = 0; i < p->env.ntables; i++) {
    const char *re = p->env.tables[i].conf->topics_regex;
    if (re == NULL)
      continue;
    size_t n = strlen(re) + 5;
    char *full = ks_malloc(n);
    snprintf(full, n, "^(%s)$", re);
    rd_kafka_topic_partition_list_add(l, full, RD_KAFKA_PARTITION_UA);
    ks_free(full);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(p->env.rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (err) {
    ks_log_error("kafka: subscribe: %s", rd_kafka_err2str(err));
    return KS_EKAFKA;
  }
  waker_start(p);
  return 0;
}

void ks_kafka_serve(ks_pipeline *p) {
  rd_kafka_message_t *m;
  while ((m = rd_kafka_consumer_poll(p->env.rk, 0)) != NULL) {
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        ks_log_warn("kafka: %s", rd_kafka_message_errstr(m));
    } else {
      /* Every assigned partition is forwarded to its worker before it is
       * fetched; a record here would have no owner. Stop rather than guess:
       * the restart resumes from the Delta log, losing nothing. */
      ks_log_error("kafka: record of %s[%d]@%lld reached the consumer queue; "
                   "stopping", rd_kafka_topic_name(m->rkt), (int)m->partition,
                   (long long)m->offset);
      atomic_store(&p->env.fatal, 1);
      ks_pipeline_stop(p);
    }
    rd_kafka_message_destroy(m);
  }
}

void ks_kafka_close(ks_pipeline *p) {
  if (p->env.rk == NULL)
    return;
  ks_kafka_waker_stop(p);
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(p->env.rk);
  if (err)
    ks_log_warn("kafka: leaving the group: %s", rd_kafka_err2str(err));
}
