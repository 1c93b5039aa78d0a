#include "stages/rewind.h"
#include "base/log.h"
#include "stages/writer.h"
#include "stages/source.h"
#include "storage/delta/delta.h"
#include "base/backoff.h"

#include <string.h>

/* A rewind's steps; set_state() is the one place that changes them:
 *
 *   IDLE -> DRAINING -> LOADING -> IDLE          (partitions sought)
 *              |           | load failed
 *              |           v
 *              |        BACKOFF -> LOADING ...
 *              +-> IDLE                        (nothing left to seek)
 */
typedef enum rewind_state {
  RW_IDLE,
  RW_DRAINING, /* waiting for the writer's sets in flight to come back */
  RW_LOADING,  /* reading the log */
  RW_BACKOFF   /* the read failed; retrying after a delay */
} rewind_state;

static const char *const state_names[] = {"IDLE", "DRAINING", "LOADING",
                                          "BACKOFF"};

struct ks_rewind {
  ks_lane *w;
  int table;
  rewind_state state;
  int closing; /* the worker closes: free once the load returns */
  unsigned attempt;
  uint64_t started_ms;
  ks_delta_table *dt; /* kept across rewinds: later loads are incremental */
  uv_timer_t retry;
};

static void set_state(ks_rewind *rw, rewind_state s) {
  ks_log_debug("worker %d: table %s: rewind %s -> %s", rw->w->id,
               rw->w->env->tables[rw->table].conf->name, state_names[rw->state],
               state_names[s]);
  rw->state = s;
}

static ks_rewind *get(ks_lane *w, int table) {
  ks_rewind *rw = w->rewinds[table];
  if (rw == NULL) {
    rw = ks_calloc(1, sizeof *rw);
    rw->w = w;
    rw->table = table;
    uv_timer_init(w->loop, &rw->retry);
    w->rewinds[table] = rw;
  }
  return rw;
}

int ks_rewind_active(const ks_lane *w, int table) {
  return w->rewinds && w->rewinds[table] &&
         w->rewinds[table]->state != RW_IDLE;
}

void ks_rewind_start(ks_lane *w, int table, const char *why) {
  ks_rewind *rw = get(w, table);
  if (rw->state != RW_IDLE)
    return;
  ks_table_writer *tw = w->writers[table];
  set_state(rw, RW_DRAINING);
  rw->started_ms = ks_mono_ms();
  int n = 0;
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (p->tw == tw) {
      p->rewinding = 1;
      n++;
    }
  }
  atomic_fetch_add_explicit(&w->counters.rewinds, 1, memory_order_relaxed);
  ks_log_warn("worker %d: table %s: %s: dropping what is buffered for its "
              "%d partitions; those still assigned are read again from %s",
              w->id, w->env->tables[table].conf->name, why, n,
              w->env->tables[table].conf->format == KS_FORMAT_DELTA
                  ? "the Delta log's txn versions"
                  : "their recorded cuts");
  ks_table_writer_discard(tw);
  ks_rewind_check(w, table);
}

/* Done: every partition the writer still owns continues from the log's
 * txn.version + 1, or, when the log has none for it, from the first
 * offset it was given (nothing of it was committed by anyone). */
static void reposition(ks_rewind *rw, const ks_delta_snapshot *s,
                       int claims) {
  ks_lane *w = rw->w;
  ks_table_writer *tw = w->writers[rw->table];
  int consume = !w->stopping && !atomic_load(&w->env->stopping);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (p->tw != tw)
      continue;
    p->rewinding = 0;
    p->batch_first = p->batch_last = -1;
    if (p->revoked || (s == NULL && !claims)) {
      /* Nothing of it is in flight any more and what was dropped will
       * never be acknowledged: a pending revoke must not wait for it. */
      p->committed = p->acked;
      continue;
    }
    /* parquet/jsonl: the newest cut recorded for it, which a cut being
     * read again (cut_at) continues from */
    int64_t txn = claims ? p->claimed
                         : ks_delta_snapshot_txn_or(s, p->app_id,
                                                    p->legacy_app_id);
    int64_t target = txn >= 0 ? txn + 1 : p->origin;
    p->committed = p->acked = txn;
    if (claims)
      p->claimed = txn;
    if (target < 0)
      continue; /* nothing was delivered: nothing to read again */
    p->start = target;
    rd_kafka_topic_partition_t *tp =
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    tp->offset = target;
    ks_log_info("worker %d: %s[%d]: continuing from offset %lld (txn %lld)",
                w->id, p->topic, (int)p->partition, (long long)target,
                (long long)txn);
  }
  /* The seek raises librdkafka's fetch version at once, on this thread:
   * no record fetched before it reaches us afterwards, so the partition
   * state set above and the records that follow agree. */
  if (consume && l->cnt > 0) {
    rd_kafka_error_t *e = rd_kafka_seek_partitions(w->env->rk, l, 0);
    if (e) {
      ks_log_error("worker %d: seek: %s", w->id, rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    for (int i = 0; i < l->cnt; i++)
      if (l->elems[i].err && l->elems[i].err != RD_KAFKA_RESP_ERR__IN_PROGRESS)
        ks_log_warn("worker %d: seek %s[%d]: %s (it is no longer assigned "
                    "here)", w->id, l->elems[i].topic,
                    (int)l->elems[i].partition,
                    rd_kafka_err2str(l->elems[i].err));
  }
  ks_log_info("worker %d: table %s: rewind done in %llu ms (%d partitions "
              "sought)", w->id, w->env->tables[rw->table].conf->name,
              (unsigned long long)(ks_mono_ms() - rw->started_ms),
              consume ? l->cnt : 0);
  rd_kafka_topic_partition_list_destroy(l);
  set_state(rw, RW_IDLE);
}

static void free_rewind_closed(uv_handle_t *h) {
  ks_free(ks_container_of((uv_timer_t *)h, ks_rewind, retry));
}

static void free_rewind(ks_rewind *rw) {
  if (rw->dt)
    ks_delta_table_free(rw->dt);
  uv_close((uv_handle_t *)&rw->retry, free_rewind_closed);
}

static void load(ks_rewind *rw);

static void on_retry(uv_timer_t *t) {
  ks_rewind *rw = ks_container_of(t, ks_rewind, retry);
  set_state(rw, RW_DRAINING); /* nothing is in flight: straight on */
  ks_rewind_check(rw->w, rw->table);
}

static void on_loaded(void *arg, int status) {
  ks_rewind *rw = arg;
  ks_lane *w = rw->w;
  if (rw->closing) {
    free_rewind(rw);
    return;
  }
  if (status) {
    uint64_t d = ks_backoff_ms(rw->attempt++, 100, 30000);
    ks_log_warn("worker %d: table %s: reading the log to rewind failed (%s%s"
                "%s); retrying in %llu ms", w->id,
                w->env->tables[rw->table].conf->name, ks_strerror(status),
                ks_delta_table_error(rw->dt)[0] ? ": " : "",
                ks_delta_table_error(rw->dt), (unsigned long long)d);
    set_state(rw, RW_BACKOFF);
    uv_timer_start(&rw->retry, on_retry, d, 0);
    ks_lane_maybe_drained(w); /* shutting down, it waits for nothing */
    return;
  }
  rw->attempt = 0;
  reposition(rw, ks_delta_table_snapshot(rw->dt), 0);
  ks_lane_maybe_drained(w);
}

static void load(ks_rewind *rw) {
  ks_lane *w = rw->w;
  if (rw->dt == NULL)
    rw->dt = ks_delta_table_new(w->storage,
                                w->env->tables[rw->table].conf->path);
  set_state(rw, RW_LOADING);
  int r = ks_delta_table_load(rw->dt, on_loaded, rw);
  if (r)
    on_loaded(rw, r);
}

void ks_rewind_check(ks_lane *w, int table) {
  ks_rewind *rw = w->rewinds ? w->rewinds[table] : NULL;
  if (rw == NULL || rw->closing)
    return;
  int stopping = w->stopping || atomic_load(&w->env->stopping) ||
                 atomic_load(&w->env->fatal);
  if (rw->state == RW_BACKOFF && stopping) {
    uv_timer_stop(&rw->retry);
    set_state(rw, RW_DRAINING);
  }
  if (rw->state != RW_DRAINING)
    return;
  /* A set still on its way may yet commit: the log is read after it. */
  if (ks_table_writer_inflight(w->writers[table]) > 0)
    return;
  /* Shutting down nothing is consumed again, and partitions no longer
   * ours are read by their next owner: without a partition to seek there
   * is no need to read the log. */
  int owned = 0;
  for (ks_partition *p = w->partitions; p; p = p->next)
    owned += p->tw == w->writers[table] && !p->revoked;
  if (owned == 0 || stopping) {
    reposition(rw, NULL, 0);
    return;
  }
  if (w->env->tables[table].conf->format != KS_FORMAT_DELTA) {
    /* no log to read: the writer knows each partition's recorded cuts */
    reposition(rw, NULL, 1);
    return;
  }
  load(rw);
}

void ks_rewind_close_all(ks_lane *w) {
  for (size_t i = 0; w->rewinds && i < w->env->ntables; i++) {
    ks_rewind *rw = w->rewinds[i];
    w->rewinds[i] = NULL;
    if (rw == NULL)
      continue;
    uv_timer_stop(&rw->retry);
    if (rw->state == RW_LOADING)
      rw->closing = 1; /* on_loaded frees it */
    else
      free_rewind(rw);
  }
}
