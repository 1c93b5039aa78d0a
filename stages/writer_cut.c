/*
 * The table writer's recorded cuts (parquet, jsonl; stages/table/cuts.h):
 * each flushed batch of a Kafka partition claims its cut with a
 * put-if-absent marker before its held files may appear, one claim at a
 * time in flush order; a cut recorded by another writer is adopted.
 */
#include "base/backoff.h"
#include "base/log.h"
#include "stages/source.h"
#include "stages/table/cuts.h"
#include "stages/writer_int.h"

#include <stdio.h>
#include <string.h>


/* Lets b's held files appear (store = 1) or abandons them. A release may
 * call on_file_done at once: b is kept alive over the loop. */
void ks__tw_release_held(ks__batch *b, int store) {
  b->files_pending++;
  for (size_t i = 0; i < b->nheld; i++)
    ks_ostream_release(b->held[i], store);
  b->nheld = 0;
  b->files_pending--;
}

/* A claim in flight. The writer may close meanwhile: then tw is NULL and
 * the storage callback only frees this. */
struct ks__claim {
  ks_table_writer *tw;
  ks__batch *b;
  ks_buf key, body;
};

static void claim_free(ks__claim *c) {
  ks_buf_free(&c->key);
  ks_buf_free(&c->body);
  ks_free(c);
}

static void sweep_cuts(ks_table_writer *tw, const ks_partition *p);

/* The batch is recorded: its held files may appear now. */
static void claim_done(ks_table_writer *tw, ks__batch *b) {
  b->claim = KS__CLAIM_DONE;
  b->kp->claimed = b->last;
  tw->claim_attempt = 0;
  ks__tw_release_held(b, 1);
  sweep_cuts(tw, b->kp);
}

/* Another cut with this first offset is recorded: the batch and every
 * later flushed batch of its partition are dropped (their files never
 * appear) and come back as refused, so the lane rewinds the writer; the
 * partition is read again from the recorded first offset and cut exactly
 * at the recorded last (ks_partition.cut_at). */
static void claim_refused(ks_table_writer *tw, ks__batch *b, const ks_cut *c) {
  ks_partition *p = b->kp;
  ks_log_warn("table %s: %s[%d]: the cut [%lld, %lld] is recorded (writer "
              "%s, %s); ours was [%lld, %lld]: adopting it -- the records are "
              "read again from %lld and cut at %lld; no file is replaced",
              tw->t->conf->name, p->topic, (int)p->partition,
              (long long)c->first, (long long)c->last,
              c->writer ? c->writer : "?", c->reason ? c->reason : "?",
              (long long)b->first, (long long)b->last, (long long)c->first,
              (long long)c->last);
  p->cut_at = c->last;
  for (ks__batch *x = b; x; x = x->next) {
    if (x->kp != p || x->claim == KS__CLAIM_DONE)
      continue;
    x->claim = KS__CLAIM_REFUSED;
    if (x->status == 0)
      x->status = KS_EZOMBIE;
    ks__tw_release_held(x, 0);
  }
}

static void claim_start(ks_table_writer *tw, ks__batch *b);

static void on_claim_retry(uv_timer_t *t) {
  ks_table_writer *tw = t->data;
  ks__tw_claim_next(tw);
}

/* Storage did not answer: the same claim again after a delay (a claim is
 * never skipped; the table's later cuts wait). */
static void claim_later(ks_table_writer *tw, ks__batch *b, const char *what,
                        int status) {
  uint64_t d = ks_backoff_ms(tw->claim_attempt++, 100, 30000);
  ks_log_warn("table %s: %s[%d]: recording the cut at %lld: %s: %s; retrying "
              "in %llu ms", tw->t->conf->name, b->kp->topic,
              (int)b->kp->partition, (long long)b->first, what,
              ks_strerror(status), (unsigned long long)d);
  b->claim = KS__CLAIM_WANTED;
  uv_timer_start(&tw->claim_timer, on_claim_retry, d, 0);
}

/* The op came back: 1 when the writer still waits for it. */
static int claim_back(ks__claim *c) {
  ks_table_writer *tw = c->tw;
  if (tw == NULL || c->b->discarded) {
    if (c->b->discarded) {
      c->b->claim = KS__CLAIM_REFUSED;
      ks__tw_free_discarded(c->b);
    }
    if (tw)
      tw->claiming = NULL;
    claim_free(c);
    if (tw)
      ks__tw_claim_next(tw);
    return 0;
  }
  tw->claiming = NULL;
  return 1;
}

static void on_claim_read(void *arg, int status, const uint8_t *data,
                          size_t len) {
  ks__claim *c = arg;
  if (!claim_back(c))
    return;
  ks_table_writer *tw = c->tw;
  ks__batch *b = c->b;
  ks_cut cut;
  if (status == KS_ENOENT) {
    b->claim = KS__CLAIM_WANTED; /* gone meanwhile: claim it after all */
  } else if (status) {
    claim_later(tw, b, "reading the recorded cut", status);
  } else if (ks_cut_parse(data, len, &cut) != 0) {
    /* never overwritten: an operator must look at it */
    ks_log_error("table %s: %s is not a recorded cut; the partition's "
                 "batches wait until it is removed", tw->t->conf->name,
                 (char *)c->key.data);
    claim_later(tw, b, "a foreign object under the cut's key", KS_EPARSE);
  } else {
    if (ks_cut_same(&cut, b->first, b->last, b->forced_to)) {
      ks_log_info("table %s: %s[%d]: the cut [%lld, %lld] was recorded "
                  "before (%s): its files are kept", tw->t->conf->name,
                  b->kp->topic, (int)b->kp->partition, (long long)b->first,
                  (long long)b->last, cut.writer ? cut.writer : "?");
      claim_done(tw, b);
    } else {
      claim_refused(tw, b, &cut);
    }
    ks_cut_clear(&cut);
  }
  claim_free(c);
  ks__tw_claim_next(tw);
  ks__tw_send_ready(tw);
}

static void on_claim_put(void *arg, int status) {
  ks__claim *c = arg;
  if (!claim_back(c))
    return;
  ks_table_writer *tw = c->tw;
  ks__batch *b = c->b;
  if (status == KS_EEXIST) {
    tw->claiming = c; /* one more trip: what is recorded there? */
    int r = ks_storage_get(tw->w->storage, (char *)c->key.data, on_claim_read,
                           c);
    if (r)
      on_claim_read(c, r, NULL, 0);
    return;
  }
  if (status)
    claim_later(tw, b, "storing the marker", status);
  else
    claim_done(tw, b);
  claim_free(c);
  ks__tw_claim_next(tw);
  ks__tw_send_ready(tw);
}

static void claim_start(ks_table_writer *tw, ks__batch *b) {
  const ks_conf_table *tc = tw->t->conf;
  ks__claim *c = ks_calloc(1, sizeof *c);
  c->tw = tw;
  c->b = b;
  ks_buf_init(&c->key, 0);
  ks_buf_init(&c->body, 0);
  ks_cut_key(&c->key, tc->path, b->kp->topic, b->kp->partition, b->first);
  char writer[256];
  snprintf(writer, sizeof writer, "%s/%d", tw->w->env->conf->app_id,
           tw->w->id);
  char **files = ks_calloc(b->nadds ? b->nadds : 1, sizeof *files);
  for (size_t i = 0; i < b->nadds; i++)
    files[i] = b->adds[i].path;
  ks_cut cut = {b->first, b->last, files, b->nadds, (char *)b->why, writer};
  ks_cut_json(&c->body, &cut);
  ks_free(files);
  b->claim = KS__CLAIM_PENDING;
  tw->claiming = c;
  int r = ks_storage_put_if_absent(tw->w->storage, (char *)c->key.data,
                                   c->body.data, c->body.len, on_claim_put, c);
  if (r)
    on_claim_put(c, r);
}

/* Claims go one at a time, in flush order: a partition's cut is recorded
 * only after the one before it, so a refused cut never has a recorded
 * successor of ours. */
void ks__tw_claim_next(ks_table_writer *tw) {
  if (tw->claiming || uv_is_active((uv_handle_t *)&tw->claim_timer))
    return;
  for (ks__batch *b = tw->head; b; b = b->next)
    if (b->claim == KS__CLAIM_WANTED) {
      claim_start(tw, b);
      return;
    }
}

/* ---- retention ----------------------------------------------------------- */

/* Old recorded cuts go like an old Delta log: those older than
 * cut_retention, never a partition's newest (where it resumes). One
 * partition is swept at a time, the one whose cut was just recorded, at
 * most once per retention / 10 (and minute) per writer. */
typedef struct ks__sweep {
  ks_table_writer *tw; /* NULL once the writer closed */
  int pending;         /* deletes in flight (+1 while listing) */
  size_t removed;
} ks__sweep;

static void sweep_end(ks__sweep *sw) {
  if (--sw->pending > 0)
    return;
  if (sw->tw) {
    if (sw->removed)
      ks_log_debug("table %s: removed %zu recorded cuts older than the "
                   "retention", sw->tw->t->conf->name, sw->removed);
    sw->tw->sweep = NULL;
  }
  ks_free(sw);
}

static void on_swept_one(void *arg, int status) {
  ks__sweep *sw = arg;
  if (status == 0)
    sw->removed++;
  /* a failed delete is tried again by a later sweep */
  sweep_end(sw);
}

static void on_sweep_list(void *arg, int status, const ks_storage_obj *objs,
                          size_t n) {
  ks__sweep *sw = arg;
  if (status == 0 && sw->tw && n > 1) {
    ks_table_writer *tw = sw->tw;
    int64_t now = ks_now_us() / 1000;
    int64_t keep = tw->t->conf->cut_retention_ms;
    /* sorted by key, and keys sort by first offset: the last is newest */
    for (size_t i = 0; i + 1 < n; i++) {
      if (objs[i].mtime_ms <= 0 || now - objs[i].mtime_ms < keep)
        continue;
      sw->pending++;
      if (ks_storage_del(tw->w->storage, objs[i].key, on_swept_one, sw))
        sweep_end(sw);
    }
  }
  sweep_end(sw);
}

static void sweep_cuts(ks_table_writer *tw, const ks_partition *p) {
  uint64_t now = ks_mono_ms();
  uint64_t every = (uint64_t)tw->t->conf->cut_retention_ms / 10;
  if (every > 60000)
    every = 60000;
  if (tw->sweep || (tw->swept_ms && now - tw->swept_ms < every))
    return;
  tw->swept_ms = now;
  ks__sweep *sw = ks_calloc(1, sizeof *sw);
  sw->tw = tw;
  sw->pending = 1;
  tw->sweep = sw;
  ks_buf prefix;
  ks_buf_init(&prefix, 0);
  ks_cut_prefix(&prefix, tw->t->conf->path, p->topic, p->partition);
  ks_buf_cstr(&prefix);
  if (tw->w->storage->vt->list(tw->w->storage, (char *)prefix.data,
                               on_sweep_list, sw))
    sweep_end(sw);
  ks_buf_free(&prefix);
}

void ks__tw_abandon_flushed(ks_table_writer *tw) {
  if (tw->sweep) {
    tw->sweep->tw = NULL;
    tw->sweep = NULL;
  }
  uv_timer_stop(&tw->claim_timer);
  if (tw->claiming) {
    tw->claiming->tw = NULL;
    tw->claiming = NULL;
  }
  ks__batch *b = tw->head;
  tw->head = tw->tail = NULL;
  while (b) {
    ks__batch *next = b->next;
    ks_dlq_wait_release(b->dlq);
    b->dlq = NULL;
    if (b->fs)
      ks_flushed_set_free(b->fs);
    b->fs = NULL;
    b->discarded = 1;
    for (int i = 0; i < b->files_pending; i++)
      ks__tw_file_gone(tw);
    ks__tw_release_held(b, 0);
    ks__tw_free_discarded(b);
    b = next;
  }
}
