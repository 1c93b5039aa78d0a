#include "stages/source.h"
#include "base/log.h"
#include "stages/rewind.h"
#include "stages/table/table.h"
#include "stages/writer.h"

#include <string.h>

ks_partition *ks_source_find(ks_lane *w, const char *topic, int32_t part) {
  for (ks_partition *p = w->partitions; p; p = p->next)
    if (p->partition == part && !p->revoked && strcmp(p->topic, topic) == 0)
      return p;
  return NULL;
}

typedef struct assign_msg {
  ks_msg msg;
  ks_lane *w;
  char *topic;
  int32_t part;
  int table;
  int64_t start, txn, cut_at;
  char *legacy;
} assign_msg;

static void on_assign(ks_msg *m) {
  assign_msg *a = ks_container_of(m, assign_msg, msg);
  ks_lane *w = a->w;
  ks_partition *p = ks_source_find(w, a->topic, a->part);
  if (p == NULL) {
    p = ks_calloc(1, sizeof *p);
    p->topic = a->topic;
    a->topic = NULL;
    p->partition = a->part;
    p->app_id = ks_table_app_id(w->env->conf->app_id, p->topic, p->partition);
    p->legacy_app_id = a->legacy;
    a->legacy = NULL;
    p->tw = w->writers[a->table];
    p->topic_index = ks_lane_topic_index(w->env, p->topic);
    p->next = w->partitions;
    w->partitions = p;
    atomic_fetch_add(&w->counters.partitions, 1);
  }
  p->start = a->start;
  p->position = a->start >= 0 ? a->start : -1;
  p->committed = p->acked = a->txn;
  p->claimed = a->txn;
  p->cut_at = a->cut_at;
  p->kafka_committed = p->commit_retry = -1;
  p->batch_first = p->batch_last = -1;
  p->origin = -1;
  /* A writer that is rewinding seeks all its partitions once it has read
   * the log again; until then this one's records wait too. */
  p->rewinding = ks_rewind_active(w, a->table);
  if (a->cut_at >= 0)
    ks_log_info("worker %d: assigned %s[%d] from offset %lld, reading the "
                "recorded cut up to %lld again", w->id, p->topic,
                (int)p->partition, (long long)a->start, (long long)a->cut_at);
  else
    ks_log_info("worker %d: assigned %s[%d] from offset %lld (txn %lld)",
                w->id, p->topic, (int)p->partition, (long long)a->start,
                (long long)a->txn);
  ks_free(a->topic);
  ks_free(a->legacy);
  ks_free(a);
}

ks_msg *ks_source_assign_msg(ks_lane *w, const char *topic, int32_t part,
                             int table, int64_t start, int64_t txn,
                             int64_t cut_at, const char *legacy_app_id) {
  assign_msg *a = ks_calloc(1, sizeof *a);
  a->msg.fn = on_assign;
  a->w = w;
  a->topic = ks_strdup(topic);
  a->part = part;
  a->table = table;
  a->start = start;
  a->txn = txn;
  a->cut_at = cut_at;
  a->legacy = legacy_app_id ? ks_strdup(legacy_app_id) : NULL;
  return &a->msg;
}


/* ---- records waiting for the schema registry ----
 * A record whose schema the writer is still asking the registry for
 * (KS_EAGAIN) is kept, with every later record of its partition that was
 * already handed to us, and the partition is paused: librdkafka resumes
 * it from after the last record handed over, so the held ones are all
 * that sits between. Replayed in order once the registry answered. */

static void pause_one(ks_lane *w, ks_partition *p, int pause);

static void hold(ks_lane *w, ks_partition *p, rd_kafka_message_t *m) {
  if (p->nheld == p->held_cap) {
    p->held_cap = p->held_cap ? p->held_cap * 2 : 64;
    p->held = ks_realloc(p->held, p->held_cap * sizeof *p->held);
  }
  p->held[p->nheld++] = m;
  if (!p->paused)
    pause_one(w, p, 1);
}

/* Hands m to its table writer: 0 (m is done with), 1 (m is held). */
static int deliver(ks_lane *w, ks_partition *p, rd_kafka_message_t *m) {
  int r = ks_table_writer_add(p->tw, p, m);
  if (r == KS_EAGAIN) {
    hold(w, p, m);
    return 1;
  }
  atomic_fetch_add_explicit(&w->counters.consumed, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&w->counters.consumed_bytes, m->len,
                            memory_order_relaxed);
  if (p->topic_index >= 0)
    atomic_fetch_add_explicit(&w->topic_consumed[p->topic_index], 1,
                              memory_order_relaxed);
  if (r) {
    char why[160];
    snprintf(why, sizeof why,
             r == KS_ESTOPPED
                 ? "%s[%d] offset %lld is a tombstone and null_values is fail"
                 : "%s[%d] offset %lld rejected and errors.tolerance is none",
             p->topic, (int)m->partition, (long long)m->offset);
    ks_lane_fatal(w, why);
  }
  return 0;
}

void ks_source_drop_held(ks_partition *p) {
  for (size_t i = 0; i < p->nheld; i++)
    rd_kafka_message_destroy(p->held[i]);
  ks_free(p->held);
  p->held = NULL;
  p->nheld = p->held_cap = 0;
}

void ks_source_replay(ks_lane *w) {
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (p->nheld == 0)
      continue;
    if (p->revoked || p->rewinding || !w->consuming) {
      /* the next owner, or the rewind's seek, reads them */
      ks_source_drop_held(p);
      if (!p->revoked && p->paused && w->pause_why == 0)
        pause_one(w, p, 0);
      continue;
    }
    rd_kafka_message_t **held = p->held;
    size_t n = p->nheld, i = 0;
    p->held = NULL;
    p->nheld = p->held_cap = 0;
    for (; i < n; i++) {
      if (p->nheld) { /* held again: the rest waits behind it */
        hold(w, p, held[i]);
        continue;
      }
      if (deliver(w, p, held[i]) == 0)
        rd_kafka_message_destroy(held[i]);
    }
    ks_free(held);
    if (p->nheld == 0 && p->paused && w->pause_why == 0)
      pause_one(w, p, 0);
  }
}

/* 0: m is done with (the caller destroys it); 1: held. */
static int handle(ks_lane *w, rd_kafka_message_t *m) {
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
      return 0;
    /* Broker-side faults are retried by librdkafka itself; what reaches us
     * here is informational unless it is fatal to the client. */
    ks_log_warn("worker %d: kafka: %s", w->id, rd_kafka_message_errstr(m));
    return 0;
  }
  const char *topic = rd_kafka_topic_name(m->rkt);
  ks_partition *p = w->last;
  if (p == NULL || p->partition != m->partition || p->revoked ||
      strcmp(p->topic, topic) != 0)
    p = w->last = ks_source_find(w, topic, m->partition);
  if (p == NULL || m->offset < p->start) {
    /* Not ours (revoked) or from before the seek: the owner re-reads it. */
    return 0;
  }
  if (p->origin < 0)
    p->origin = m->offset;
  p->position = m->offset + 1;
  if (p->rewinding)
    return 0; /* the rewind's seek delivers it again */
  /* Offsets only move forward within an assignment; a record at or below
   * what this partition already batched or flushed would be written twice
   * (and a txn that does not advance is refused by the commit). */
  if (m->offset <= p->batch_last || m->offset <= p->committed) {
    ks_log_warn("worker %d: %s[%d] redelivered offset %lld (already at "
                "%lld); skipped",
                w->id, topic, (int)m->partition, (long long)m->offset,
                (long long)(p->batch_last > p->committed ? p->batch_last
                                                         : p->committed));
    return 0;
  }
  if (p->nheld) { /* it waits behind the held ones, in order */
    if (m->offset <= p->held[p->nheld - 1]->offset)
      return 0;
    hold(w, p, m);
    return 1;
  }
  return deliver(w, p, m);
}

int ks_source_drain(ks_lane *w) {
  rd_kafka_message_t *batch[256];
  int total = 0;
  while (w->consuming && total < KS_SOURCE_BUDGET) {
    ssize_t n =
        rd_kafka_consume_batch_queue(w->rkq, 0, batch, KS_ARRAY_SIZE(batch));
    if (n <= 0)
      return 0;
    for (ssize_t i = 0; i < n; i++) {
      if (!w->consuming || !handle(w, batch[i]))
        rd_kafka_message_destroy(batch[i]);
    }
    total += (int)n;
    if ((size_t)n < KS_ARRAY_SIZE(batch))
      return 0;
  }
  return w->consuming;
}

static void pause_list(ks_lane *w, rd_kafka_topic_partition_list_t *l,
                       int pause) {
  if (l->cnt == 0)
    return;
  rd_kafka_resp_err_t e = pause ? rd_kafka_pause_partitions(w->env->rk, l)
                                : rd_kafka_resume_partitions(w->env->rk, l);
  if (e)
    ks_log_warn("worker %d: %s partitions: %s", w->id,
                pause ? "pausing" : "resuming", rd_kafka_err2str(e));
}

static void pause_one(ks_lane *w, ks_partition *p, int pause) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
  pause_list(w, l, pause);
  rd_kafka_topic_partition_list_destroy(l);
  p->paused = pause;
  atomic_fetch_add(&w->counters.paused, pause ? 1 : -1);
}

void ks_source_sync_pause(ks_lane *w) {
  int want = w->pause_why != 0;
  rd_kafka_topic_partition_list_t *pause = rd_kafka_topic_partition_list_new(8);
  rd_kafka_topic_partition_list_t *resume =
      rd_kafka_topic_partition_list_new(8);
  int paused = 0;
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (p->revoked)
      continue;
    /* Resume only what we paused: a resume bumps librdkafka's fetch
     * version (prefetched records are dropped and fetching restarts from
     * the partition's recorded position) even when nothing was paused. */
    int keep = want || p->nheld; /* records wait for the registry */
    if (keep)
      rd_kafka_topic_partition_list_add(pause, p->topic, p->partition);
    else if (p->paused)
      rd_kafka_topic_partition_list_add(resume, p->topic, p->partition);
    p->paused = keep;
    paused += keep;
  }
  pause_list(w, pause, 1);
  pause_list(w, resume, 0);
  rd_kafka_topic_partition_list_destroy(pause);
  rd_kafka_topic_partition_list_destroy(resume);
  atomic_store(&w->counters.paused, paused);
}

/* ---- revoke ------------------------------------------------------------- */

typedef struct revoke_msg {
  ks_msg msg;
  ks_lane *w;
  rd_kafka_topic_partition_list_t *parts;
  int lost, gen;
} revoke_msg;

/* Like ks_source_find, revoked partitions included. */
static ks_partition *find_any(ks_lane *w, const char *topic, int32_t part) {
  for (ks_partition *p = w->partitions; p; p = p->next)
    if (p->partition == part && strcmp(p->topic, topic) == 0)
      return p;
  return NULL;
}

static void on_revoke(ks_msg *m) {
  revoke_msg *rm = ks_container_of(m, revoke_msg, msg);
  ks_lane *w = rm->w;
  int rewind = 0;
  for (int i = 0; i < rm->parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &rm->parts->elems[i];
    /* a revoke past its deadline (gen 0) finds them revoked already */
    ks_partition *p = rm->gen ? ks_source_find(w, tp->topic, tp->partition)
                              : find_any(w, tp->topic, tp->partition);
    if (p == NULL)
      continue;
    p->revoked = 1;
    if (rm->lost) {
      /* Another member may own the partition already: what we buffered
       * is stale, and committing it could only lose to that owner. */
      rewind = 1;
      continue;
    }
    /* delta: the partition's rows share files with other partitions of
     * the table, the whole writer flushes so the revoked range commits
     * now; parquet/jsonl drop the partition's open batch (flush.h) */
    ks_table_writer_revoke(p->tw, p);
  }
  for (size_t t = 0; rewind && t < w->env->ntables; t++) {
    for (int i = 0; i < rm->parts->cnt; i++) {
      rd_kafka_topic_partition_t *tp = &rm->parts->elems[i];
      ks_partition *p = find_any(w, tp->topic, tp->partition);
      if (p && p->tw == w->writers[t]) {
        ks_rewind_start(w, (int)t,
                        "the consumer group reports the "
                        "assignment lost (this member's "
                        "generation is stale)");
        break;
      }
    }
  }
  int gen = rm->gen;
  rd_kafka_topic_partition_list_destroy(rm->parts);
  ks_free(rm);
  if (gen) {
    w->revoking = 1;
    w->revoke_gen = gen;
  }
  ks_lane_maybe_drained(w);
}

ks_msg *ks_source_revoke_msg(ks_lane *w,
                             const rd_kafka_topic_partition_list_t *parts,
                             int lost, int gen) {
  revoke_msg *rm = ks_calloc(1, sizeof *rm);
  rm->msg.fn = on_revoke;
  rm->w = w;
  rm->parts = rd_kafka_topic_partition_list_copy(parts);
  rm->lost = lost;
  rm->gen = gen;
  return &rm->msg;
}

void ks_source_acked(ks_lane *w, const char *topic, int32_t part,
                     int64_t version) {
  for (ks_partition *p = w->partitions; p; p = p->next)
    if (p->partition == part && strcmp(p->topic, topic) == 0 &&
        version > p->acked)
      p->acked = version;
}

int ks_source_revoke_settled(ks_lane *w) {
  if (!w->revoking)
    return 0;
  /* After a fatal error nothing more will commit: waiting for it would
   * hang the group leave that ends the shutdown. */
  int fatal = atomic_load(&w->env->fatal);
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (!p->revoked || fatal)
      continue;
    /* A rewinding writer dropped its batch: wait only for the sets it
     * had already sent, so none of them lands after the next owner read
     * the log. */
    if (p->rewinding ? ks_table_writer_inflight(p->tw) > 0
                     : p->batch_last >= 0 || p->acked != p->committed)
      return 0;
  }
  ks_partition **pp = &w->partitions;
  while (*pp) {
    ks_partition *p = *pp;
    if (p->revoked) {
      *pp = p->next;
      if (w->last == p)
        w->last = NULL;
      atomic_fetch_sub(&w->counters.partitions, 1);
      ks_source_drop_held(p);
      ks_free(p->topic);
      ks_free(p->app_id);
      ks_free(p->legacy_app_id);
      ks_free(p);
    } else {
      pp = &p->next;
    }
  }
  w->revoking = 0;
  return w->revoke_gen;
}

/* ---- offset commit answers ---------------------------------------------- */

typedef struct committed_msg {
  ks_msg msg;
  ks_lane *w;
  char *topic;
  int32_t part;
  int64_t offset;
  int err;
} committed_msg;

static int fenced(int err) {
  return err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
         err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
         err == RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID;
}

static void on_committed_answer(ks_msg *m) {
  committed_msg *cm = ks_container_of(m, committed_msg, msg);
  ks_lane *w = cm->w;
  ks_partition *p = ks_source_find(w, cm->topic, cm->part);
  if (p && cm->err == 0) {
    if (cm->offset > p->kafka_committed)
      p->kafka_committed = cm->offset;
    if (p->commit_retry >= 0 && p->commit_retry <= cm->offset)
      p->commit_retry = -1;
  } else if (p && cm->err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    atomic_fetch_add_explicit(&w->counters.offset_commit_failures, 1,
                              memory_order_relaxed);
    /* a stale generation while we still hold the assignment is a commit
     * that raced a rejoin: sent again with the new one */
    if (fenced(cm->err) && rd_kafka_assignment_lost(w->env->rk)) {
      ks_log_warn("worker %d: %s[%d]: offset commit refused (%s): this "
                  "member's generation is stale", w->id, p->topic,
                  (int)p->partition, rd_kafka_err2str(cm->err));
      if (!p->rewinding)
        for (size_t t = 0; t < w->env->ntables; t++)
          if (w->writers[t] == p->tw)
            ks_rewind_start(w, (int)t,
                            "the group fenced an offset commit (stale "
                            "generation)");
    } else {
      ks_log_warn("worker %d: %s[%d]: offset commit of %lld failed (%s); "
                  "it is sent again", w->id, p->topic, (int)p->partition,
                  (long long)cm->offset, rd_kafka_err2str(cm->err));
      if (cm->offset > p->commit_retry)
        p->commit_retry = cm->offset;
    }
  }
  ks_free(cm->topic);
  ks_free(cm);
}

ks_msg *ks_source_committed_msg(ks_lane *w, const char *topic, int32_t part,
                                int64_t offset, int err) {
  committed_msg *cm = ks_calloc(1, sizeof *cm);
  cm->msg.fn = on_committed_answer;
  cm->w = w;
  cm->topic = ks_strdup(topic);
  cm->part = part;
  cm->offset = offset;
  cm->err = err;
  return &cm->msg;
}

void ks_source_retry_commits(ks_lane *w) {
  rd_kafka_topic_partition_list_t *l = NULL;
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (p->revoked || p->commit_retry < 0 ||
        p->commit_retry <= p->kafka_committed)
      continue;
    if (l == NULL)
      l = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset =
        p->commit_retry;
  }
  if (l == NULL)
    return;
  rd_kafka_resp_err_t e = rd_kafka_commit(w->env->rk, l, 1);
  if (e)
    ks_log_warn("worker %d: offset commit retry: %s", w->id,
                rd_kafka_err2str(e));
  rd_kafka_topic_partition_list_destroy(l);
}

void ks_source_msg_free(ks_msg *m) {
  if (m->fn == on_assign) {
    assign_msg *a = ks_container_of(m, assign_msg, msg);
    ks_free(a->topic);
    ks_free(a->legacy);
    ks_free(a);
  } else if (m->fn == on_committed_answer) {
    committed_msg *cm = ks_container_of(m, committed_msg, msg);
    ks_free(cm->topic);
    ks_free(cm);
  } else if (m->fn == on_revoke) {
    revoke_msg *rm = ks_container_of(m, revoke_msg, msg);
    rd_kafka_topic_partition_list_destroy(rm->parts);
    ks_free(rm);
  }
}
