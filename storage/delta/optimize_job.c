/*
 * The optimize run (optimize.h): bins written one after another, then one
 * commit. A state machine; job_state() is the only place the state
 * changes:
 *
 *   WRITING (bin by bin: get each input, concatenate into the ostream,
 *     |      close) -> COMMITTING -> DONE
 *     |                  | KS_ECONFLICT: bins whose inputs another commit
 *     |                  v   removed are abandoned, the rest committed again
 *     +---> CLEANUP (delete the new files that will not be committed)
 *
 * Bins are written sequentially so that at most one output file and one
 * input are in memory at a time (plus the stream's parts in flight: past
 * that the job waits for storage before reading the next input).
 *
 * A new file is deleted only when it is certain no commit references it:
 * its bin was abandoned before any commit, or the commit reported a
 * conflict (nothing written). After any other commit failure the entry
 * may exist, so new files are left for vacuum.
 */
#include "storage/delta/optimize.h"

#include "base/ks.h"
#include "base/log.h"
#include "storage/delta/delta_int.h"
#include "storage/parquet/concat.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum bin_state { BIN_PLANNED, BIN_WRITTEN, BIN_ABANDONED, BIN_COMMITTED };

typedef enum job_state {
  JOB_WRITING,
  JOB_COMMITTING,
  JOB_CLEANUP,
  JOB_DONE
} job_state;

static const char *const state_names[] = {"WRITING", "COMMITTING", "CLEANUP",
                                          "DONE"};

struct ks_delta_optimize {
  ks_delta_table *t;
  ks_storage *st;
  const char *root;
  ks_delta_optimize_opts o;
  char *engine_info;
  ks_delta_optimize_report_cb report;
  ks_delta_optimize_done_cb done;
  void *arg;
  job_state state;
  int status; /* the run's outcome */
  uint64_t started_ms;

  ks_delta_bin *bins;
  size_t nbins, cur;
  ks_pq_concat *cat;
  ks_ostream *os;
  size_t wait_bytes; /* stream bytes in memory before reading on */
  uv_timer_t timer;
  /* the current bin's inputs: fetched ahead, appended in order */
  struct fetch *fetches;
  size_t nfetches, input, next_fetch;
  int inflight;
  int64_t ahead_bytes;
  int draining;
  void (*after_drain)(struct ks_delta_optimize *j);
  int fail_status;
  int canceled;

  /* commit */
  ks_delta_add *adds;
  ks_delta_remove *removes;
  size_t nadds, nremoves;
  ks_delta_commit_req req;
  /* cleanup: keys to delete, then finish */
  char **dels;
  size_t ndels, next_del;
  ks_delta_optimize_result res;
};

static void job_state_set(ks_delta_optimize *j, job_state to) {
  ks_log_debug("optimize %s: %s -> %s (bin %zu of %zu)", j->root,
               state_names[j->state], state_names[to], j->cur, j->nbins);
  j->state = to;
}

static void report(ks_delta_optimize *j, ks_delta_optimize_event ev,
                   const ks_delta_bin *b, const char *path, const char *msg) {
  if (j->report)
    j->report(j->arg, ev, b, path, msg);
}

static char *key_of(const ks_delta_optimize *j, const char *path) {
  char *rel = ks_delta_path_decode(path);
  size_t a = strlen(j->root), b = strlen(rel);
  char *key = ks_malloc(a + b + 1);
  memcpy(key, j->root, a);
  memcpy(key + a, rel, b + 1);
  ks_free(rel);
  return key;
}

static void on_timer_closed(uv_handle_t *h) {
  ks_delta_optimize *j =
      ks_container_of((uv_timer_t *)h, ks_delta_optimize, timer);
  ks_delta_optimize_bins_free(j->bins, j->nbins);
  for (size_t i = 0; i < j->nremoves; i++)
    ks__delta_remove_free(&j->removes[i]);
  ks_free(j->removes);
  ks_free(j->adds); /* shallow: the bins own the adds */
  for (size_t i = 0; i < j->ndels; i++)
    ks_free(j->dels[i]);
  ks_free(j->dels);
  ks_free(j->engine_info);
  ks_free(j);
}

static void finish(ks_delta_optimize *j) {
  job_state_set(j, JOB_DONE);
  j->res.seconds = (double)(ks_mono_ms() - j->started_ms) / 1000.0;
  for (size_t i = 0; i < j->nbins; i++)
    j->res.abandoned += j->bins[i].state == BIN_ABANDONED;
  j->done(j->arg, j->status, &j->res);
  uv_close((uv_handle_t *)&j->timer, on_timer_closed);
}

/* ---- cleanup ------------------------------------------------------------ */

static void queue_delete(ks_delta_optimize *j, const char *path) {
  if (j->dels == NULL)
    j->dels = ks_calloc(j->nbins ? j->nbins : 1, sizeof *j->dels);
  j->dels[j->ndels++] = key_of(j, path); /* at most one per bin */
}

static void delete_next(ks_delta_optimize *j);

static void on_deleted(void *arg, int status) {
  ks_delta_optimize *j = arg;
  if (status && status != KS_ENOENT)
    ks_log_warn("optimize: deleting %s: %s (vacuum removes it later)",
                j->dels[j->next_del - 1], ks_strerror(status));
  delete_next(j);
}

static void delete_next(ks_delta_optimize *j) {
  if (j->next_del == j->ndels) {
    finish(j);
    return;
  }
  const char *key = j->dels[j->next_del++];
  int rc = ks_storage_del(j->st, key, on_deleted, j);
  if (rc)
    on_deleted(j, rc);
}

/* Deletes the queued files (no commit references them), then finishes. */
static void end(ks_delta_optimize *j) {
  job_state_set(j, JOB_CLEANUP);
  delete_next(j);
}

/* Gives up every written bin that is not committed: its file is deleted. */
static void cleanup(ks_delta_optimize *j, int status) {
  if (j->status == 0)
    j->status = status;
  for (size_t i = 0; i < j->nbins; i++) {
    ks_delta_bin *b = &j->bins[i];
    if (b->state != BIN_WRITTEN)
      continue;
    b->state = BIN_ABANDONED;
    queue_delete(j, b->out.path);
  }
  end(j);
}

/* ---- commit ------------------------------------------------------------- */

static void commit(ks_delta_optimize *j);

static void committed(ks_delta_optimize *j, int64_t version) {
  j->res.version = version;
  for (size_t i = 0; i < j->nbins; i++) {
    ks_delta_bin *b = &j->bins[i];
    if (b->state != BIN_WRITTEN)
      continue;
    b->state = BIN_COMMITTED;
    j->res.added++;
    j->res.added_bytes += b->out.size;
    j->res.removed += b->ninputs;
    j->res.removed_bytes += b->bytes;
    j->res.rows += b->out.num_records;
  }
  end(j);
}

/* After a conflict (nothing was written): bins whose inputs are all still
 * active, as they were read (no rows deleted since), are committed again;
 * the others are given up. When every bin still stands the conflict was
 * metaData or protocol: all are given up. */
static void after_conflict(ks_delta_optimize *j) {
  const ks_delta_snapshot *s = ks_delta_table_snapshot(j->t);
  size_t kept = 0, dropped = 0;
  for (size_t i = 0; i < j->nbins; i++) {
    ks_delta_bin *b = &j->bins[i];
    if (b->state != BIN_WRITTEN)
      continue;
    int active = 1;
    for (size_t k = 0; k < b->ninputs && active; k++)
      active = ks__delta_same_file(ks_delta_snapshot_file(s, b->inputs[k].path),
                                   b->inputs[k].dv_id);
    if (active) {
      kept++;
      continue;
    }
    b->state = BIN_ABANDONED;
    report(j, KS_OPT_BIN_ABANDONED, b, b->out.path,
           "another commit removed one of its files or deleted rows from "
           "it");
    queue_delete(j, b->out.path);
    dropped++;
  }
  if (dropped == 0) {
    ks_log_warn("optimize %s: %s; giving up", j->root,
                ks_delta_table_error(j->t));
    for (size_t i = 0; i < j->nbins; i++)
      if (j->bins[i].state == BIN_WRITTEN)
        report(j, KS_OPT_BIN_ABANDONED, &j->bins[i], j->bins[i].out.path,
               "the table's metaData or protocol changed");
    cleanup(j, 0);
    return;
  }
  if (kept == 0 || j->canceled) {
    cleanup(j, j->canceled ? KS_ECANCELED : 0);
    return;
  }
  commit(j);
}

static void on_committed(void *arg, int status, int64_t version) {
  ks_delta_optimize *j = arg;
  if (status == 0) {
    committed(j, version);
  } else if (status == KS_ECONFLICT) {
    after_conflict(j);
  } else {
    /* the entry may or may not exist: leave the new files to vacuum */
    ks_log_error("optimize %s: commit failed: %s", j->root,
                 ks_delta_table_error(j->t));
    j->status = status;
    end(j);
  }
}

static void commit(ks_delta_optimize *j) {
  job_state_set(j, JOB_COMMITTING);
  for (size_t i = 0; i < j->nremoves; i++)
    ks__delta_remove_free(&j->removes[i]);
  j->nadds = j->nremoves = 0;
  size_t nin = 0;
  for (size_t i = 0; i < j->nbins; i++)
    nin += j->bins[i].ninputs;
  ks_free(j->adds);
  ks_free(j->removes);
  j->adds = ks_calloc(j->nbins ? j->nbins : 1, sizeof *j->adds);
  j->removes = ks_calloc(nin ? nin : 1, sizeof *j->removes);
  int64_t now_ms = ks_now_us() / 1000;
  for (size_t i = 0; i < j->nbins; i++) {
    ks_delta_bin *b = &j->bins[i];
    if (b->state != BIN_WRITTEN)
      continue;
    j->adds[j->nadds++] = b->out;
    for (size_t k = 0; k < b->ninputs; k++) {
      const ks_delta_add *in = &b->inputs[k];
      ks_delta_remove *r = &j->removes[j->nremoves++];
      r->path = ks_strdup(in->path);
      r->deletion_timestamp = now_ms;
      r->extended_file_metadata = 1;
      r->size = in->size;
      r->nparts = in->nparts;
      r->part_names = ks_calloc(in->nparts ? in->nparts : 1, sizeof(char *));
      r->part_values = ks_calloc(in->nparts ? in->nparts : 1, sizeof(char *));
      for (size_t p = 0; p < in->nparts; p++) {
        r->part_names[p] = ks_strdup(in->part_names[p]);
        r->part_values[p] =
            in->part_values[p] ? ks_strdup(in->part_values[p]) : NULL;
      }
    }
  }
  j->req = (ks_delta_commit_req){.adds = j->adds,
                                 .nadds = j->nadds,
                                 .removes = j->removes,
                                 .nremoves = j->nremoves,
                                 .operation = "OPTIMIZE",
                                 .engine_info = j->engine_info};
  int rc = ks_delta_commit(j->t, &j->req, on_committed, j);
  if (rc == KS_ECONFLICT) /* found at once: nothing written either */
    after_conflict(j);
  else if (rc)
    cleanup(j, rc); /* nothing started: the files are ours to delete */
}

/* ---- writing the bins --------------------------------------------------- */

/* Inputs are fetched ahead of the one being appended (storage latency,
 * not bandwidth, bounds a bin of many small files), at most this many at
 * once and, beyond the first, this many bytes (by their add.size). */
#define FETCH_AHEAD 8
#define FETCH_AHEAD_BYTES ((int64_t)64 << 20)

enum fetch_state { FETCH_IDLE, FETCH_INFLIGHT, FETCH_READY };

typedef struct fetch {
  ks_delta_optimize *j;
  int state;
  int status;
  int skip; /* refused by the concatenation: stays where it is */
  ks_buf data;
} fetch;

static void start_bin(ks_delta_optimize *j);
static void pump(ks_delta_optimize *j);

static int sink(void *arg, const uint8_t *data, size_t len) {
  return ks_ostream_write(arg, data, len);
}

static void fetches_free(ks_delta_optimize *j) {
  for (size_t i = 0; i < j->nfetches; i++)
    ks_buf_free(&j->fetches[i].data);
  ks_free(j->fetches);
  j->fetches = NULL;
  j->nfetches = 0;
}

/* Stops the current bin: once no fetch is in flight (their callbacks
 * point into the fetch array), then() goes on. */
static void drain(ks_delta_optimize *j, void (*then)(ks_delta_optimize *)) {
  ks_pq_concat_free(j->cat);
  j->cat = NULL;
  if (j->os)
    ks_ostream_abort(j->os);
  j->os = NULL;
  j->draining = 1;
  j->after_drain = then;
  pump(j);
}

static void next_bin(ks_delta_optimize *j) {
  j->cur++;
  start_bin(j);
}

static void drop_bin(ks_delta_optimize *j, ks_delta_bin *b, const char *why) {
  b->state = BIN_ABANDONED;
  report(j, KS_OPT_BIN_ABANDONED, b, NULL, why);
  drain(j, next_bin);
}

static void cleanup_failed(ks_delta_optimize *j) {
  cleanup(j, j->fail_status);
}

/* The run cannot go on (storage failed after its retries). */
static void fail(ks_delta_optimize *j, int status) {
  j->fail_status = status;
  drain(j, cleanup_failed);
}

static void on_bin_closed(void *arg, int status, const ks_storage_obj *obj) {
  ks_delta_optimize *j = arg;
  ks_delta_bin *b = &j->bins[j->cur];
  j->os = NULL;
  if (status == KS_EEXIST) { /* a fresh UUID name taken: give up the bin */
    b->state = BIN_ABANDONED;
    report(j, KS_OPT_BIN_ABANDONED, b, b->out.path, "its new name exists");
    ks__delta_add_free(&b->out);
  } else if (status) {
    ks__delta_add_free(&b->out);
    fail(j, status);
    return;
  } else {
    b->out.size = (int64_t)obj->size;
    b->out.modification_time = obj->mtime_ms;
    b->state = BIN_WRITTEN;
    report(j, KS_OPT_BIN_WRITTEN, b, b->out.path, NULL);
  }
  next_bin(j);
}

/* Every input is in: leave out the refused ones, check the row count,
 * write the footer, close. */
static void finish_bin(ks_delta_optimize *j) {
  ks_delta_bin *b = &j->bins[j->cur];
  size_t kept = 0;
  for (size_t k = 0; k < b->ninputs; k++) {
    if (j->fetches[k].skip) {
      b->bytes -= b->inputs[k].size;
      ks__delta_add_free(&b->inputs[k]);
    } else {
      b->inputs[kept++] = b->inputs[k];
    }
  }
  b->ninputs = kept;
  fetches_free(j);
  if (b->ninputs < 2) {
    drop_bin(j, b, "fewer than two of its files can be concatenated");
    return;
  }
  int64_t want = 0;
  const char **stats = ks_calloc(b->ninputs, sizeof *stats);
  for (size_t k = 0; k < b->ninputs; k++) {
    stats[k] = b->inputs[k].stats;
    want = want >= 0 && b->inputs[k].num_records >= 0
               ? want + b->inputs[k].num_records
               : -1;
  }
  int64_t rows = ks_pq_concat_rows(j->cat);
  if (want >= 0 && rows != want) {
    ks_free(stats);
    drop_bin(j, b, "its files hold other row counts than their stats say");
    return;
  }
  int rc = ks_pq_concat_finish(j->cat);
  ks_pq_concat_free(j->cat);
  j->cat = NULL;
  if (rc) {
    ks_free(stats);
    fail(j, rc);
    return;
  }
  ks_buf sj;
  ks_buf_init(&sj, 0);
  if (ks_delta_stats_merge(&sj, stats, b->ninputs) == 0) {
    ks_buf_cstr(&sj);
    b->out.stats = (char *)ks_buf_steal(&sj, NULL);
  }
  ks_buf_free(&sj);
  ks_free(stats);
  b->out.num_records = rows;
  ks_ostream *os = j->os;
  ks_ostream_close(os, on_bin_closed, j);
}

static void on_fetched(void *arg, int status, const uint8_t *data, size_t len) {
  fetch *f = arg;
  ks_delta_optimize *j = f->j;
  j->inflight--;
  if (!j->draining) {
    f->state = FETCH_READY;
    f->status = status;
    if (status == 0 && (f->status = ks_buf_append(&f->data, data, len)))
      ks_buf_free(&f->data);
  }
  pump(j);
}

/* Appends input k (fetched): 0 to go on, else the bin or run was given
 * up. */
static int append_input(ks_delta_optimize *j, size_t k) {
  ks_delta_bin *b = &j->bins[j->cur];
  fetch *f = &j->fetches[k];
  const char *path = b->inputs[k].path;
  if (f->status == KS_ENOENT) {
    ks_log_warn("optimize %s: %s is gone from storage", j->root, path);
    drop_bin(j, b, "one of its files is missing from storage");
    return 1;
  }
  if (f->status) {
    ks_log_error("optimize %s: reading %s: %s", j->root, path,
                 ks_strerror(f->status));
    fail(j, f->status);
    return 1;
  }
  char err[256] = "";
  int rc = ks_pq_concat_add(j->cat, f->data.data, f->data.len, err, sizeof err);
  ks_buf_free(&f->data);
  j->ahead_bytes -= b->inputs[k].size;
  if (rc == KS_ESCHEMA || rc == KS_ECORRUPT || rc == KS_EUNSUPPORTED) {
    /* left where it is, still active: only this bin does without it */
    f->skip = 1;
    report(j, KS_OPT_INPUT_SKIPPED, b, path, err);
  } else if (rc) {
    fail(j, rc);
    return 1;
  }
  return 0;
}

static void on_wait(uv_timer_t *timer) {
  pump(ks_container_of(timer, ks_delta_optimize, timer));
}

/* Starts fetches up to the window, appends what arrived in order, and
 * finishes the bin when everything is in. */
static void pump(ks_delta_optimize *j) {
  if (j->draining) {
    if (j->inflight)
      return;
    j->draining = 0;
    j->ahead_bytes = 0;
    fetches_free(j);
    j->after_drain(j);
    return;
  }
  if (j->state != JOB_WRITING || j->fetches == NULL)
    return; /* a wait that ended after its bin did */
  if (j->canceled) {
    fail(j, KS_ECANCELED);
    return;
  }
  ks_delta_bin *b = &j->bins[j->cur];
  for (;;) {
    while (
        j->next_fetch < b->ninputs && j->inflight < FETCH_AHEAD &&
        (j->ahead_bytes == 0 ||
         j->ahead_bytes + b->inputs[j->next_fetch].size <= FETCH_AHEAD_BYTES)) {
      size_t k = j->next_fetch++;
      fetch *f = &j->fetches[k];
      f->state = FETCH_INFLIGHT;
      j->inflight++;
      j->ahead_bytes += b->inputs[k].size;
      char *key = key_of(j, b->inputs[k].path);
      int rc = ks_storage_get(j->st, key, on_fetched, f);
      ks_free(key);
      if (rc) {
        j->inflight--;
        f->state = FETCH_READY;
        f->status = rc;
      }
    }
    if (j->input == b->ninputs || j->fetches[j->input].state != FETCH_READY)
      break;
    /* the stream's parts in flight bound the memory: wait for storage */
    if (ks_ostream_buffered(j->os) > j->wait_bytes) {
      uv_timer_start(&j->timer, on_wait, 20, 0);
      return;
    }
    if (append_input(j, j->input++))
      return; /* given up: draining */
  }
  if (j->input == b->ninputs && j->inflight == 0)
    finish_bin(j);
}

static void start_bin(ks_delta_optimize *j) {
  if (j->canceled) {
    cleanup(j, KS_ECANCELED);
    return;
  }
  while (j->cur < j->nbins && j->bins[j->cur].state != BIN_PLANNED)
    j->cur++;
  if (j->cur == j->nbins) {
    size_t written = 0;
    for (size_t i = 0; i < j->nbins; i++)
      written += j->bins[i].state == BIN_WRITTEN;
    if (written)
      commit(j);
    else
      end(j);
    return;
  }
  ks_delta_bin *b = &j->bins[j->cur];
  const ks_delta_add *first = &b->inputs[0];
  /* same directory as the inputs: the partition's */
  const char *slash = strrchr(first->path, '/');
  size_t dir = slash ? (size_t)(slash - first->path) + 1 : 0;
  char uuid[37];
  ks_delta_uuid(uuid);
  ks_buf p;
  ks_buf_init(&p, 0);
  ks_buf_append(&p, first->path, dir);
  ks_buf_appendf(&p, "part-00000-%s-c000.parquet", uuid);
  ks_buf_cstr(&p);
  memset(&b->out, 0, sizeof b->out);
  b->out.path = (char *)ks_buf_steal(&p, NULL);
  b->out.no_data_change = 1;
  b->out.nparts = first->nparts;
  b->out.part_names =
      ks_calloc(first->nparts ? first->nparts : 1, sizeof(char *));
  b->out.part_values =
      ks_calloc(first->nparts ? first->nparts : 1, sizeof(char *));
  for (size_t i = 0; i < first->nparts; i++) {
    b->out.part_names[i] = ks_strdup(first->part_names[i]);
    b->out.part_values[i] =
        first->part_values[i] ? ks_strdup(first->part_values[i]) : NULL;
  }
  char *key = key_of(j, b->out.path);
  ks_ostream_options oo = j->o.ostream;
  oo.if_absent = 1;
  j->os = ks_ostream_new(j->st, key, &oo);
  ks_free(key);
  j->cat = ks_pq_concat_new(sink, j->os);
  j->nfetches = b->ninputs;
  j->fetches = ks_calloc(b->ninputs, sizeof *j->fetches);
  for (size_t i = 0; i < b->ninputs; i++) {
    j->fetches[i].j = j;
    ks_buf_init(&j->fetches[i].data, 0);
  }
  j->input = j->next_fetch = 0;
  pump(j);
}

static void on_kick(uv_timer_t *timer) {
  start_bin(ks_container_of(timer, ks_delta_optimize, timer));
}

static void on_dry_run(uv_timer_t *timer) {
  finish(ks_container_of(timer, ks_delta_optimize, timer));
}

void ks_delta_optimize_cancel(ks_delta_optimize *j) {
  j->canceled = 1;
  /* a wait for storage ends now; anything else notices at its next step */
  if (j->state == JOB_WRITING && uv_is_active((uv_handle_t *)&j->timer)) {
    uv_timer_stop(&j->timer);
    if (j->fetches) /* waiting for the stream */
      pump(j);
    else /* not started yet */
      start_bin(j);
  }
}

int ks_delta_optimize_start(ks_delta_table *t, const ks_delta_optimize_opts *o,
                            ks_delta_optimize_report_cb report_cb,
                            ks_delta_optimize_done_cb done, void *arg,
                            ks_delta_optimize **job) {
  const ks_delta_snapshot *s = ks_delta_table_snapshot(t);
  if (done == NULL || s->version < 0)
    return KS_EINVAL;
  char why[400];
  if (ks_delta_protocol_check(s, why, sizeof why))
    return KS_EUNSUPPORTED;
  /* rowTracking: rewritten rows keep their ids only through materialized
   * row-id columns, which ksink does not write */
  if (ks_delta_row_tracking(s))
    return KS_EUNSUPPORTED;
  ks_delta_optimize *j = ks_calloc(1, sizeof *j);
  j->t = t;
  j->st = ks__delta_table_storage(t);
  j->root = ks__delta_table_root(t);
  j->o = *o;
  j->o.where_names = j->o.where_values = NULL; /* used by the plan only */
  j->o.nwhere = 0;
  j->engine_info = o->engine_info ? ks_strdup(o->engine_info) : NULL;
  j->report = report_cb;
  j->done = done;
  j->arg = arg;
  j->started_ms = ks_mono_ms();
  j->res.version = -1;
  j->res.planned = s->version;
  size_t part = o->ostream.part_size ? o->ostream.part_size : 8u << 20;
  int inflight = o->ostream.max_in_flight > 0 ? o->ostream.max_in_flight : 4;
  j->wait_bytes = part * (size_t)(inflight + 1);
  uv_timer_init(j->st->loop, &j->timer);
  ks_delta_optimize_plan(s, o, &j->bins, &j->nbins);
  job_state_set(j, JOB_WRITING);
  if (o->dry_run)
    for (size_t i = 0; i < j->nbins; i++)
      report(j, KS_OPT_BIN_PLANNED, &j->bins[i], NULL, NULL);
  /* through the loop, like every other outcome: never re-entrant */
  uv_timer_start(&j->timer, o->dry_run ? on_dry_run : on_kick, 0, 0);
  if (job)
    *job = j;
  return 0;
}
