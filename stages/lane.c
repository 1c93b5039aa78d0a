#include "stages/lane.h"
#include "base/log.h"
#include "stages/commit.h"
#include "stages/dlq.h"
#include "stages/rewind.h"
#include "stages/source.h"
#include "stages/writer.h"

#include <stdio.h>
#include <string.h>

const double ks_commit_bounds[KS_COMMIT_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const char *const ks_dlf_reason_names[KS_DLF_COUNT] = {
    "dlq_queue",    "dlq_delivery", "dlq_too_large",
    "dlq_refused",  "file_write",   "file_foreign"};

/* The DLQ producer could not queue or deliver a record for topic: counted
 * against every table that sends its dead letters there. */
static void on_dlq_failure(void *arg, const char *topic, ks_dlf_reason why) {
  ks_lane *l = arg;
  for (size_t i = 0; i < l->env->ntables; i++) {
    const char *t = l->env->tables[i].conf->dlq_topic;
    if (t && strcmp(t, topic) == 0)
      atomic_fetch_add_explicit(&l->tc[i].deadletter_failures[why], 1,
                                memory_order_relaxed);
  }
}

/* One dead-letter producer per lane, when any table names a DLQ topic. */
static int open_dlq(ks_lane *l) {
  const ks_lane_env *env = l->env;
  const ks_conf *conf = env->conf;
  int any = 0;
  for (size_t i = 0; i < env->ntables; i++)
    any |= env->tables[i].conf->dlq_topic != NULL;
  if (!any)
    return 0;
  const char **keys = ks_calloc(conf->nkafka + 1, sizeof *keys);
  const char **vals = ks_calloc(conf->nkafka + 1, sizeof *vals);
  for (size_t i = 0; i < conf->nkafka; i++) {
    keys[i] = conf->kafka[i].key;
    vals[i] = conf->kafka[i].value;
  }
  char err[512];
  ks_dlq_origin origin = {conf->app_id, l->id};
  /* a quarter of the worker's memory budget, at least 16 MiB */
  size_t qkb = conf->memory_budget > 0 ? (size_t)conf->memory_budget / 4 / 1024
                                       : 0;
  if (qkb && qkb < 16 * 1024)
    qkb = 16 * 1024;
  int r = ks_dlq_new(l->loop, keys, vals, conf->nkafka, env->dlq_bootstrap,
                     origin, qkb, &l->dlq, err, sizeof err);
  ks_free(keys);
  ks_free(vals);
  if (r == 0 && l->id == 0) {
    /* a DLQ that can never take a record is a configuration error: say
     * so at start-up rather than at the first reject */
    for (size_t i = 0; i < env->ntables && r == 0; i++) {
      const char *t = env->tables[i].conf->dlq_topic;
      if (t && (r = ks_dlq_check_topic(l->dlq, t, 10000, err, sizeof err)))
        ks_log_error("table %s: %s", env->tables[i].conf->name, err);
    }
    if (r)
      return r;
  }
  if (r)
    ks_log_error("worker %d: %s", l->id, err);
  else
    ks_dlq_on_failure(l->dlq, on_dlq_failure, l);
  return r;
}

void ks_lane_observe(ks_lane *l) {
  for (size_t i = 0; i < l->env->ntables; i++)
    if (l->writers && l->writers[i])
      atomic_store_explicit(&l->tc[i].oldest_uncommitted_ms,
                            ks_table_writer_oldest_ms(l->writers[i]),
                            memory_order_relaxed);
  atomic_store_explicit(&l->counters.deadletter_pending,
                        ks_dlq_pending(l->dlq), memory_order_relaxed);
  atomic_store_explicit(&l->counters.dlq_unavailable_ms,
                        ks_dlq_unavailable_since(l->dlq), memory_order_relaxed);
}

/* A flushed set came back to the writer that sent it: what it means for
 * the lane's partitions (committed: acknowledged; refused as a zombie: the
 * writer rewinds; any other failure: the process stops). */
static void on_set_returned(ks_lane *l, ks_table_writer *tw,
                            const ks_flushed_set *fs) {
  if (fs->status == 0) {
    for (size_t i = 0; i < fs->nparts; i++)
      ks_source_acked(l, fs->parts[i].topic, fs->parts[i].partition,
                      fs->parts[i].version);
  } else if (fs->status == KS_EZOMBIE) {
    ks_rewind_start(l, fs->table,
                    "a batch was refused because another "
                    "writer committed its partitions");
  } else {
    char why[256];
    snprintf(why, sizeof why, "table %s: batch not committed: %s",
             l->env->tables[fs->table].conf->name, ks_strerror(fs->status));
    ks_lane_fatal(l, why);
  }
}

int ks_lane_open(ks_lane *l, uv_loop_t *loop) {
  const ks_lane_env *env = l->env;
  size_t nt = env->ntables;
  l->loop = loop;
  atomic_store(&l->counters.delta_version, -1);
  l->writers = ks_calloc(nt ? nt : 1, sizeof *l->writers);
  l->committers = ks_calloc(nt ? nt : 1, sizeof *l->committers);
  l->rewinds = ks_calloc(nt ? nt : 1, sizeof *l->rewinds);
  l->tc = ks_calloc(nt ? nt : 1, sizeof *l->tc);
  for (size_t i = 0; i < nt; i++)
    atomic_store(&l->tc[i].delta_version, -1);
  l->topic_consumed =
      ks_calloc(env->ntopics ? env->ntopics : 1, sizeof *l->topic_consumed);
  int r = ks_storage_open(loop, env->conf->storage_url, &env->conf->s3,
                          &l->storage);
  if (r == 0)
    r = open_dlq(l);
  if (r)
    return r;
  for (size_t i = 0; i < nt; i++) {
    l->writers[i] = ks_table_writer_new(l, &env->tables[i], on_set_returned);
    if (env->tables[i].committer == l->id)
      l->committers[i] = ks_committer_new(l, &env->tables[i]);
  }
  return 0;
}

int ks_lane_drained(ks_lane *l) {
  size_t nt = l->env->ntables;
  for (size_t i = 0; i < nt; i++)
    ks_rewind_check(l, (int)i);
  if (!l->stopping)
    return 0;
  for (size_t i = 0; i < nt; i++)
    if (!ks_table_writer_idle(l->writers[i]) || ks_rewind_active(l, (int)i))
      return 0;
  for (size_t i = 0; i < nt; i++)
    if (l->committers[i] && !ks_committer_settle(l->committers[i]))
      return 0;
  return 1;
}

void ks_lane_flush_all(ks_lane *l, const char *why) {
  l->stopping = 1;
  l->ops->consume(l, 0);
  for (size_t i = 0; i < l->env->ntables; i++)
    ks_table_writer_flush(l->writers[i], why);
}

void ks_lane_close(ks_lane *l) {
  ks_rewind_close_all(l);
  for (size_t i = 0; l->writers && i < l->env->ntables; i++) {
    if (l->writers[i])
      ks_table_writer_close(l->writers[i]);
    l->writers[i] = NULL;
    if (l->committers[i]) {
      ks_committer_close(l->committers[i]);
      l->committers[i] = NULL;
    }
  }
  /* the table writers waited for their dead letters before committing:
   * nothing the log or Kafka counts as done is still in flight here */
  ks_dlq_free(l->dlq, 2000);
  l->dlq = NULL;
}

void ks_lane_free(ks_lane *l) {
  if (l->storage) {
    ks_storage_close(l->storage); /* its close callbacks need the loop */
    l->storage = NULL;
  }
  while (l->partitions) {
    ks_partition *p = l->partitions;
    l->partitions = p->next;
    ks_source_drop_held(p);
    ks_free(p->topic);
    ks_free(p->app_id);
    ks_free(p->legacy_app_id);
    ks_free(p);
  }
  l->last = NULL;
  ks_free(l->writers);
  ks_free(l->committers);
  ks_free(l->rewinds);
  ks_free(l->tc);
  ks_free(l->topic_consumed);
  l->writers = NULL;
  l->committers = NULL;
  l->rewinds = NULL;
  l->tc = NULL;
  l->topic_consumed = NULL;
}
