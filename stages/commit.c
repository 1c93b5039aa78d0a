#include "stages/commit.h"
#include "base/backoff.h"
#include "base/log.h"
#include "storage/delta/optimize.h"
#include "stages/table/schemaless.h"

#include <string.h>

/* Between two looks at whether an automatic optimize is due (the look
 * sorts every active file), and after a run that could not finish. */
#define OPTIMIZE_CHECK_MS 10000
#define OPTIMIZE_BACKOFF_MS 60000

/* An automatic optimize in flight. It has a table object of its own, so
 * the committer's data commits never wait for it: the two meet in the log
 * like two writers (put-if-absent, conflict reload), which is the path
 * `ksink optimize` against a running writer takes too. */
typedef struct auto_opt {
  ks_committer *c; /* NULL once the committer is closed */
  ks_delta_table *dt;
  ks_delta_optimize *job;
} auto_opt;

struct ks_committer {
  ks_lane *w;
  ks_table *t;
  ks_delta_table *dt;
  int loaded;
  int busy;
  /* sets waiting for the next commit, then the ones in it */
  ks_flushed_set **queue;
  size_t nqueue, capqueue;
  ks_flushed_set **batch;
  size_t nbatch, capbatch;
  /* the request of the commit in flight */
  ks_delta_commit_req req;
  ks_delta_add *adds;
  ks_delta_txn_update *txns;
  unsigned attempt;
  uv_timer_t retry;
  int closing;
  uint64_t conflicts_seen; /* ks_delta_table_conflicts at the last look */
  auto_opt *ao;
  uint64_t optimize_not_before; /* ks_mono_ms */
  /* schemaless: the columns the commit in flight installs (NULL: none),
   * the schemaString it replaces, and plans redone after another writer
   * changed the table's schema */
  ks_table_schema *meta_schema;
  char *schema_from;
  unsigned replans;
  uint64_t commit_started_ms; /* ks_mono_ms of the first attempt; 0: none */
};

const double ks_latency_bounds[KS_LATENCY_BUCKETS] = {
    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800};

static void kick(ks_committer *c);
static int plan_schema(ks_committer *c);

ks_committer *ks_committer_new(ks_lane *w, ks_table *t) {
  ks_committer *c = ks_calloc(1, sizeof *c);
  c->w = w;
  c->t = t;
  c->dt = ks_delta_table_new(w->storage, t->conf->path);
  uv_timer_init(w->loop, &c->retry);
  return c;
}

static void on_retry_closed(uv_handle_t *h) {
  ks_committer *c = ks_container_of((uv_timer_t *)h, ks_committer, retry);
  ks_delta_table_free(c->dt);
  ks_free(c->queue);
  ks_free(c->batch);
  ks_free(c->adds);
  ks_free(c->txns);
  ks_table_schema_unref(c->meta_schema);
  ks_free(c->schema_from);
  ks_free(c);
}

void ks_committer_close(ks_committer *c) {
  c->closing = 1;
  if (c->ao) { /* finishes on its own, without the committer */
    c->ao->c = NULL;
    if (c->ao->job)
      ks_delta_optimize_cancel(c->ao->job);
    c->ao = NULL;
  }
  uv_close((uv_handle_t *)&c->retry, on_retry_closed);
}

int ks_committer_idle(const ks_committer *c) {
  return !c->busy && c->nqueue == 0;
}

int ks_committer_settle(ks_committer *c) {
  if (c->ao == NULL)
    return 1;
  if (c->ao->job)
    ks_delta_optimize_cancel(c->ao->job);
  return 0;
}

/* ---- automatic optimize ------------------------------------------------- */

static ks_delta_optimize_opts optimize_opts(const ks_committer *c) {
  const ks_conf_table *tc = c->t->conf;
  ks_delta_optimize_opts o = {
      .target_size = tc->optimize_target_size,
      .min_files = (size_t)tc->optimize_min_files,
      .ostream = {.part_size = (size_t)c->w->env->conf->s3.part_size,
                  .max_in_flight = c->w->env->conf->s3.max_parts_in_flight},
      .engine_info = "ksink/" KS_VERSION};
  return o;
}

static void auto_opt_end(auto_opt *ao, uint64_t pause_ms) {
  ks_committer *c = ao->c;
  ks_delta_table_free(ao->dt);
  ks_free(ao);
  if (c == NULL)
    return;
  c->ao = NULL;
  c->optimize_not_before = ks_mono_ms() + pause_ms;
  ks_lane_maybe_drained(c->w); /* a stop may be waiting for this */
}

static void on_optimized(void *arg, int status,
                         const ks_delta_optimize_result *r) {
  auto_opt *ao = arg;
  const char *name = ao->c ? ao->c->t->conf->name : "?";
  if (r->version >= 0)
    ks_log_info("table %s: optimized version %lld: %zu files (%lld bytes) "
                "-> %zu (%lld bytes) in %.1f s%s",
                name, (long long)r->version, r->removed,
                (long long)r->removed_bytes, r->added,
                (long long)r->added_bytes, r->seconds,
                r->abandoned ? "; some bins were given up" : "");
  else if (status && status != KS_ECANCELED)
    ks_log_warn("table %s: optimize failed: %s (tried again later; the "
                "table is unchanged)",
                name, ks_strerror(status));
  else if (r->abandoned)
    ks_log_info("table %s: optimize gave up %zu bins after conflicts", name,
                r->abandoned);
  auto_opt_end(ao, status || r->version < 0 ? OPTIMIZE_BACKOFF_MS
                                            : OPTIMIZE_CHECK_MS);
}

static void on_optimize_loaded(void *arg, int status) {
  auto_opt *ao = arg;
  if (ao->c == NULL || status) {
    if (status)
      ks_log_warn("table %s: optimize: loading the log: %s",
                  ao->c ? ao->c->t->conf->name : "?", ks_strerror(status));
    auto_opt_end(ao, OPTIMIZE_BACKOFF_MS);
    return;
  }
  ks_delta_optimize_opts o = optimize_opts(ao->c);
  int rc =
      ks_delta_optimize_start(ao->dt, &o, NULL, on_optimized, ao, &ao->job);
  if (rc) {
    ks_log_warn("table %s: optimize not started: %s", ao->c->t->conf->name,
                ks_strerror(rc));
    auto_opt_end(ao, OPTIMIZE_BACKOFF_MS);
  }
}

/* After a data commit: in the background, when some partition has
 * optimize.min_files files under the target. One at a time per table, on
 * the committer's worker only. */
static void maybe_optimize(ks_committer *c) {
  if (!c->t->conf->optimize_enabled || c->ao || c->closing || c->w->stopping)
    return;
  uint64_t now = ks_mono_ms();
  if (now < c->optimize_not_before)
    return;
  c->optimize_not_before = now + OPTIMIZE_CHECK_MS;
  ks_delta_optimize_opts o = optimize_opts(c);
  if (!ks_delta_optimize_due(ks_delta_table_snapshot(c->dt), &o))
    return;
  ks_log_info("table %s: optimize: a partition has %lld or more files under "
              "%lld bytes; rewriting them in the background",
              c->t->conf->name, (long long)c->t->conf->optimize_min_files,
              (long long)c->t->conf->optimize_target_size);
  auto_opt *ao = ks_calloc(1, sizeof *ao);
  ao->c = c;
  ao->dt = ks_delta_table_new(c->w->storage, c->t->conf->path);
  c->ao = ao;
  int rc = ks_delta_table_load(ao->dt, on_optimize_loaded, ao);
  if (rc)
    on_optimize_loaded(ao, rc);
}

void ks_flushed_set_free(ks_flushed_set *fs) {
  for (size_t i = 0; i < fs->nparts; i++) {
    ks_free(fs->parts[i].topic);
    ks_free(fs->parts[i].app_id);
    ks_free(fs->parts[i].legacy_app_id);
  }
  ks_free(fs->parts);
  for (size_t i = 0; i < fs->nadds; i++)
    ks_delta_add_clear(&fs->adds[i]);
  ks_free(fs->adds);
  ks_table_schema_unref(fs->schema);
  ks_free(fs);
}

/* ---- the trip to the committer and back --------------------------------- */

static void on_arrive(ks_msg *m) {
  ks_flushed_set *fs = ks_container_of(m, ks_flushed_set, msg);
  ks_lane *cl =
      fs->origin->env->lanes[fs->origin->env->tables[fs->table].committer];
  ks_committer *c = cl->committers[fs->table];
  if (c->nqueue == c->capqueue) {
    c->capqueue = c->capqueue ? c->capqueue * 2 : 16;
    c->queue = ks_realloc(c->queue, c->capqueue * sizeof *c->queue);
  }
  c->queue[c->nqueue++] = fs;
  kick(c);
}

void ks_committer_send(ks_flushed_set *fs, ks_msg_fn on_committed) {
  ks_lane *l = fs->origin;
  fs->back = on_committed;
  fs->msg.fn = on_arrive;
  if (ks_lane_post(l, l->env->tables[fs->table].committer, &fs->msg)) {
    fs->status = KS_ESTOPPED;
    fs->msg.fn = on_committed;
    ks_lane_post(l, l->id, &fs->msg);
  }
}

static void return_sets(ks_committer *c, int status, int64_t version) {
  for (size_t i = 0; i < c->nbatch; i++) {
    ks_flushed_set *fs = c->batch[i];
    if (fs->status == 0)
      fs->status = status;
    fs->version = version;
    fs->msg.fn = fs->back;
    if (ks_lane_post(c->w, fs->origin->id, &fs->msg))
      ks_flushed_set_free(fs); /* origin is gone: shutdown after failure */
  }
  c->nbatch = 0;
}

/* ---- commit ------------------------------------------------------------- */

void ks_offsets_commit(rd_kafka_t *rk, const char *table,
                       ks_flushed_set *const *sets, size_t n) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
  for (size_t i = 0; i < n; i++) {
    const ks_flushed_set *fs = sets[i];
    for (size_t j = 0; j < fs->nparts; j++) {
      const ks_flushed_part *fp = &fs->parts[j];
      rd_kafka_topic_partition_t *tp =
          rd_kafka_topic_partition_list_find(l, fp->topic, fp->partition);
      if (tp == NULL)
        tp = rd_kafka_topic_partition_list_add(l, fp->topic, fp->partition);
      tp->offset = fp->version + 1;
    }
  }
  /* Lag tools read these; the Delta log stays the source of truth, so a
   * failed offset commit is only logged (by the consumer's callback). */
  if (l->cnt > 0) {
    rd_kafka_resp_err_t err = rd_kafka_commit(rk, l, 1);
    if (err)
      ks_log_warn("table %s: kafka offset commit: %s", table,
                  rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(l);
}

/* After a retried write the entry may have landed although the call
 * reported failure: the log then holds exactly our txn versions. */
static int already_committed(ks_committer *c) {
  const ks_delta_snapshot *s = ks_delta_table_snapshot(c->dt);
  if (c->req.ntxns == 0)
    return 0;
  for (size_t i = 0; i < c->req.ntxns; i++)
    if (ks_delta_snapshot_txn(s, c->req.txns[i].app_id) !=
        c->req.txns[i].version)
      return 0;
  return 1;
}

/* Index of app_id among the request's txns. */
static size_t txn_index(const ks_committer *c, const char *app_id) {
  size_t k = 0;
  while (k < c->req.ntxns && strcmp(c->txns[k].app_id, app_id) != 0)
    k++;
  return k;
}

/* Another writer moved the txn of some partition past where the batch
 * started: that writer committed those records (this process stalled and
 * the group gave the partition away, or we are the new owner and the old
 * one committed late). The sets holding such a partition go back to their
 * workers refused, and those workers rewind (stages/rewind.h). Refusing a
 * set breaks the txn chain of its other partitions too, so the rule is
 * applied until nothing changes; the sets left keep an unbroken chain per
 * partition and go back to the head of the queue for the next commit. */
static void drop_zombies(ks_committer *c) {
  const ks_delta_snapshot *s = ks_delta_table_snapshot(c->dt);
  size_t nt = c->req.ntxns;
  uint8_t *moved = ks_calloc(nt ? nt : 1, 1);
  uint8_t *drop = ks_calloc(c->nbatch ? c->nbatch : 1, 1);
  for (size_t k = 0; k < nt; k++) {
    int64_t cur = ks_delta_snapshot_txn_or(s, c->txns[k].app_id,
                                           c->txns[k].legacy_app_id);
    if (cur != c->txns[k].expected) {
      moved[k] = 1;
      ks_log_warn("table %s: txn %s is at %lld in version %lld, this batch "
                  "started after %lld: another writer committed those "
                  "records; the batch is dropped and read again",
                  c->t->conf->name, c->txns[k].app_id, (long long)cur,
                  (long long)s->version, (long long)c->txns[k].expected);
    }
  }
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t i = 0; i < c->nbatch; i++) {
      ks_flushed_set *fs = c->batch[i];
      if (drop[i])
        continue;
      for (size_t j = 0; j < fs->nparts && !drop[i]; j++)
        drop[i] = moved[txn_index(c, fs->parts[j].app_id)];
      if (!drop[i])
        continue;
      changed = 1;
      for (size_t j = 0; j < fs->nparts; j++)
        moved[txn_index(c, fs->parts[j].app_id)] = 1;
    }
  }
  size_t kept = 0, dropped = 0;
  for (size_t i = 0; i < c->nbatch; i++)
    kept += !drop[i];
  /* The log refused the batch, so something in it moved: if no set is
   * singled out, refusing them all is the only way not to retry forever. */
  if (kept == c->nbatch) {
    memset(drop, 1, c->nbatch);
    kept = 0;
  }
  /* The kept sets go first, then whatever queued meanwhile, in order. */
  if (kept) {
    size_t need = kept + c->nqueue;
    if (need > c->capqueue) {
      c->capqueue = need;
      c->queue = ks_realloc(c->queue, need * sizeof *c->queue);
    }
    memmove(c->queue + kept, c->queue, c->nqueue * sizeof *c->queue);
    size_t q = 0;
    for (size_t i = 0; i < c->nbatch; i++)
      if (!drop[i])
        c->queue[q++] = c->batch[i];
    c->nqueue += kept;
  }
  for (size_t i = 0; i < c->nbatch; i++) {
    if (!drop[i])
      continue;
    ks_flushed_set *fs = c->batch[i];
    dropped++;
    fs->status = KS_EZOMBIE;
    fs->version = -1;
    fs->msg.fn = fs->back;
    if (ks_lane_post(c->w, fs->origin->id, &fs->msg))
      ks_flushed_set_free(fs);
  }
  c->nbatch = 0;
  atomic_fetch_add_explicit(&c->w->counters.zombie_sets, dropped,
                            memory_order_relaxed);
  ks_log_warn("table %s: %zu flushed sets dropped as zombies, %zu kept for "
              "the next commit",
              c->t->conf->name, dropped, kept);
  ks_free(moved);
  ks_free(drop);
}

static void start_commit(ks_committer *c);

/* Lost races for a version since the last look (the Delta table counts
 * them; each is another writer's commit landing first). */
static void count_conflicts(ks_committer *c) {
  uint64_t n = ks_delta_table_conflicts(c->dt);
  if (n > c->conflicts_seen)
    atomic_fetch_add_explicit(&c->w->tc[c->t->index].conflicts,
                              n - c->conflicts_seen, memory_order_relaxed);
  c->conflicts_seen = n;
}

static void count_commit(ks_committer *c, int64_t version) {
  ks_table_counters *tc = &c->w->tc[c->t->index];
  atomic_fetch_add_explicit(&tc->commits, 1, memory_order_relaxed);
  atomic_store_explicit(&tc->delta_version, version, memory_order_relaxed);
  atomic_store_explicit(&tc->last_commit_unix_ms, ks_unix_ms(),
                        memory_order_relaxed);
  /* Consumed -> visible: from each set's oldest record to now. */
  uint64_t now = ks_mono_ms();
  ks_counters *k = &c->w->counters;
  for (size_t i = 0; i < c->nbatch; i++) {
    uint64_t from = c->batch[i]->consumed_ms;
    uint64_t ms = from && now > from ? now - from : 0;
    double s = (double)ms / 1000.0;
    int b = 0;
    while (b < KS_LATENCY_BUCKETS && s > ks_latency_bounds[b])
      b++;
    atomic_fetch_add_explicit(&k->latency[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&k->latency_sum_us, ms * 1000,
                              memory_order_relaxed);
  }
  /* The commit itself: first attempt -> version landed, retries included */
  uint64_t ms = c->commit_started_ms && now > c->commit_started_ms
                    ? now - c->commit_started_ms
                    : 0;
  double s = (double)ms / 1000.0;
  int b = 0;
  while (b < KS_COMMIT_BUCKETS && s > ks_commit_bounds[b])
    b++;
  atomic_fetch_add_explicit(&tc->commit_duration[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&tc->commit_duration_sum_us, ms * 1000,
                            memory_order_relaxed);
  c->commit_started_ms = 0;
}

static void on_retry(uv_timer_t *t) {
  start_commit(ks_container_of(t, ks_committer, retry));
}

static void on_commit(void *arg, int status, int64_t version) {
  ks_committer *c = arg;
  count_conflicts(c);
  if (status == KS_EZOMBIE && c->attempt > 0 && already_committed(c)) {
    status = 0;
    version = ks_delta_table_snapshot(c->dt)->version;
  }
  if (status == 0) {
    c->attempt = 0;
    atomic_fetch_add_explicit(&c->w->counters.commits, 1, memory_order_relaxed);
    atomic_store(&c->w->counters.delta_version, version);
    count_commit(c, version);
    ks_log_info("table %s: committed version %lld (%zu files, %zu sets)",
                c->t->conf->name, (long long)version, c->req.nadds, c->nbatch);
    ks_offsets_commit(c->w->env->rk, c->t->conf->name, c->batch, c->nbatch);
    return_sets(c, 0, version);
    c->busy = 0;
    kick(c);
    maybe_optimize(c);
    return;
  }
  if (status == KS_EZOMBIE) {
    c->commit_started_ms = 0;
    drop_zombies(c);
    c->busy = 0;
    kick(c);
    return;
  }
  if (status == KS_ECONFLICT && c->meta_schema && c->replans++ < 16) {
    /* another writer changed the table's schema while this commit was
     * under way; the table's snapshot is the newer one now */
    int r = plan_schema(c);
    if (r == 0) {
      start_commit(c);
      return;
    }
    status = r;
  }
  /* Retrying cannot fix these: the log is damaged, or the table needs a
   * newer Delta protocol. */
  if (status == KS_ECORRUPT || status == KS_EUNSUPPORTED ||
      status == KS_EINVAL || status == KS_ECONFLICT) {
    ks_log_error("table %s: commit refused: %s%s%s", c->t->conf->name,
                 ks_strerror(status), ks_delta_table_error(c->dt) ? ": " : "",
                 ks_delta_table_error(c->dt) ? ks_delta_table_error(c->dt)
                                             : "");
    return_sets(c, status, -1);
    c->busy = 0;
    kick(c);
    return;
  }
  uint64_t d = ks_backoff_ms(c->attempt++, 100, 30000);
  ks_log_warn("table %s: commit failed (%s); retrying in %llu ms",
              c->t->conf->name, ks_strerror(status), (unsigned long long)d);
  uv_timer_start(&c->retry, on_retry, d, 0);
}

static void start_commit(ks_committer *c) {
  if (c->commit_started_ms == 0)
    c->commit_started_ms = ks_mono_ms();
  int r = ks_delta_commit(c->dt, &c->req, on_commit, c);
  if (r)
    on_commit(c, r, -1);
}

static void on_retry_load(uv_timer_t *t) {
  kick(ks_container_of(t, ks_committer, retry));
}

static void on_loaded(void *arg, int status) {
  ks_committer *c = arg;
  if (status) {
    uint64_t d = ks_backoff_ms(c->attempt++, 100, 30000);
    ks_log_warn("table %s: loading the log failed (%s); retrying in %llu ms",
                c->t->conf->name, ks_strerror(status), (unsigned long long)d);
    c->busy = 0;
    uv_timer_start(&c->retry, on_retry_load, d, 0);
    return;
  }
  c->attempt = 0;
  c->loaded = 1;
  c->busy = 0;
  kick(c);
}

/* Turns everything queued into one commit. Sets of one partition arrive in
 * batch order, so the merged txn runs from the first set's `expected` to
 * the last set's `version`. */
static void build_request(ks_committer *c) {
  size_t nadds = 0, nparts = 0;
  for (size_t i = 0; i < c->nbatch; i++) {
    nadds += c->batch[i]->nadds;
    nparts += c->batch[i]->nparts;
  }
  c->adds = ks_realloc(c->adds, (nadds ? nadds : 1) * sizeof *c->adds);
  c->txns = ks_realloc(c->txns, (nparts ? nparts : 1) * sizeof *c->txns);
  size_t na = 0, nt = 0;
  for (size_t i = 0; i < c->nbatch; i++) {
    ks_flushed_set *fs = c->batch[i];
    for (size_t j = 0; j < fs->nadds; j++)
      c->adds[na++] = fs->adds[j];
    for (size_t j = 0; j < fs->nparts; j++) {
      ks_flushed_part *fp = &fs->parts[j];
      size_t k = 0;
      while (k < nt && strcmp(c->txns[k].app_id, fp->app_id) != 0)
        k++;
      if (k == nt) {
        c->txns[nt].app_id = fp->app_id;
        c->txns[nt].legacy_app_id = fp->legacy_app_id;
        c->txns[nt].expected = fp->expected;
        nt++;
      }
      c->txns[k].version = fp->version;
    }
  }
  memset(&c->req, 0, sizeof c->req);
  c->req.adds = c->adds;
  c->req.nadds = na;
  c->req.txns = c->txns;
  c->req.ntxns = nt;
  c->req.schema_string = c->t->schema_string;
  c->req.partition_columns = (const char *const *)c->t->partition_columns;
  c->req.npartition_columns = c->t->npartition_columns;
  c->req.table_features = (const char *const *)c->t->conf->table_features;
  c->req.ntable_features = c->t->conf->ntable_features;
  c->req.conf_keys = c->t->prop_keys;
  c->req.conf_values = c->t->prop_values;
  c->req.nconf = c->t->nprops;
  c->req.operation = "STREAMING UPDATE";
  c->req.engine_info = "ksink/" KS_VERSION;
  c->req.constraints_sig = c->t->checks_sig;
  c->req.layout_sig = c->t->layout_sig;
}

/* Schemaless: the metaData the queued files need (ks_schemaless_plan):
 * the newest generation among the sets against the table's schemaString.
 * On a table that does not exist yet it is the first metaData; set as
 * new_schema_string too, so that losing the race to create the table
 * fails as a schema conflict and is planned again. */
static int plan_schema(ks_committer *c) {
  ks_table_schema_unref(c->meta_schema);
  c->meta_schema = NULL;
  ks_free(c->schema_from);
  c->schema_from = NULL;
  c->req.new_schema_string = c->req.schema_from = NULL;
  if (atomic_load(&c->t->live) == NULL) /* not schemaless nor following */
    return 0;                             /* the registry */
  ks_table_schema *files = NULL;
  for (size_t i = 0; i < c->nbatch; i++) {
    ks_table_schema *g = c->batch[i]->schema;
    if (g && (files == NULL || g->gen > files->gen))
      files = g;
  }
  const ks_delta_snapshot *s = ks_delta_table_snapshot(c->dt);
  const char *cur = s->version >= 0 && s->has_metadata
                        ? s->metadata.schema_string
                        : NULL;
  char err[1024];
  int r = ks_schemaless_plan(c->t, files, cur, &c->meta_schema, err,
                             sizeof err);
  if (r) {
    ks_log_error("table %s: %s", c->t->conf->name, err);
    return r;
  }
  if (c->meta_schema) {
    c->schema_from = cur ? ks_strdup(cur) : NULL;
    c->req.schema_string = c->meta_schema->schema_string;
    c->req.new_schema_string = c->meta_schema->schema_string;
    c->req.schema_from = c->schema_from;
    ks_log_info("table %s: the commit adds columns (schema generation %llu)",
                c->t->conf->name, (unsigned long long)c->meta_schema->gen);
  }
  return 0;
}

static void kick(ks_committer *c) {
  if (c->busy || c->closing || c->nqueue == 0)
    return;
  c->busy = 1;
  if (!c->loaded) {
    int r = ks_delta_table_load(c->dt, on_loaded, c);
    if (r)
      on_loaded(c, r);
    return;
  }
  /* Sets whose file failed are returned at once; the rest commit. */
  ks_flushed_set **tmp = c->batch;
  size_t cap = c->capbatch;
  c->batch = c->queue;
  c->capbatch = c->capqueue;
  c->nbatch = c->nqueue;
  c->queue = tmp;
  c->capqueue = cap;
  c->nqueue = 0;
  for (size_t i = 0; i < c->nbatch; i++) {
    if (c->batch[i]->status) {
      return_sets(c, c->batch[i]->status, -1);
      c->busy = 0;
      return;
    }
  }
  build_request(c);
  c->replans = 0;
  int r = plan_schema(c);
  if (r) {
    return_sets(c, r, -1);
    c->busy = 0;
    return;
  }
  start_commit(c);
}
