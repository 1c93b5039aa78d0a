#include "base/log.h"
#include "stages/writer_int.h"
#include "stages/record/transform.h"
#include "stages/table/partitioner.h"
#include "stages/source.h"
#include "stages/table/schemaless.h"
#include "storage/delta/delta.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *codec_ext(ks_codec c) {
  switch (c) {
  case KS_CODEC_SNAPPY:
    return ".snappy";
  case KS_CODEC_ZSTD:
    return ".zstd";
  case KS_CODEC_GZIP:
    return ".gz";
  default:
    return "";
  }
}

static int sink(void *arg, const uint8_t *data, size_t len) {
  ks__pfile *f = arg;
  f->emitted += len;
  f->b->tw->file_bytes += len;
  return ks_ostream_write(f->os, data, len);
}

/* Stage column of each file column: the stage's leaves minus those under
 * a top-level field the file leaves out (a Delta partition column). */
static void build_colmap(ks_table_writer *tw) {
  const ks_table *t = tw->t;
  size_t n = ks_pq_schema_nleaves(tw->pq);
  tw->colmap = ks_calloc(n, sizeof *tw->colmap);
  const ks_pq_node *root = ks_pq_schema_root((ks_pq_schema *)tw->pq);
  for (size_t i = 0; i < n; i++) {
    const ks_pq_node *top = ks_pq_schema_leaf(tw->pq, i);
    while (top->parent != root)
      top = top->parent;
    int skipped = 0;
    for (size_t k = 0; tw->file_pq != tw->pq && k < t->npartition_columns; k++)
      skipped |= strcasecmp(top->name, t->partition_physical
                                           ? t->partition_physical[k]
                                           : t->partition_columns[k]) == 0;
    if (!skipped)
      tw->colmap[tw->ncolmap++] = i;
  }
}

static void file_unlink(ks__pfile *f) {
  ks__batch *b = f->b;
  if (f->prev)
    f->prev->next = f->next;
  else
    b->files = f->next;
  if (f->next)
    f->next->prev = f->prev;
  f->next = f->prev = NULL;
}

static void file_push_front(ks__pfile *f) {
  ks__batch *b = f->b;
  f->next = b->files;
  f->prev = NULL;
  if (b->files)
    b->files->prev = f;
  b->files = f;
}

static void file_free(ks_table_writer *tw, ks__pfile *f) {
  if (f->rg == &f->own)
    ks_rowgroup_free(&f->own);
  size_t np = tw->t->partitioner ? ks_partitioner_ncols(tw->t->partitioner) : 0;
  for (size_t i = 0; f->values && i < np; i++)
    ks_free(f->values[i]);
  ks_free(f->values);
  ks_free(f->dir);
  ks_free(f->rel);
  ks_free(f);
}

/* The file's name under the table. Delta: Spark's part-<worker>-<uuid>
 * (never reused); parquet/jsonl: <topic>+<partition>+<first offset>, the
 * same in every run that writes the same records. */
static void name_file(ks_table_writer *tw, ks__pfile *f, ks_partition *p) {
  const ks_conf_table *tc = tw->t->conf;
  ks_buf rel;
  ks_buf_init(&rel, 0);
  if (f->dir[0])
    ks_buf_appendf(&rel, "%s/", f->dir);
  if (tw->format == KS_FORMAT_DELTA) {
    char uuid[37];
    ks_delta_uuid(uuid);
    ks_buf_appendf(&rel, "part-%05d-%s-c%03llu%s.parquet", tw->w->id, uuid,
                   (unsigned long long)(tw->seq++ % 1000),
                   codec_ext(tw->t->codec));
  } else {
    ks_buf_appendf(&rel, "%s+%d+%010" PRId64 "%s", p->topic, (int)p->partition,
                   f->first_offset,
                   tw->format == KS_FORMAT_JSONL ? ks_jsonl_ext(tc->codec)
                                                 : ".parquet");
  }
  ks_buf_cstr(&rel);
  f->rel = (char *)ks_buf_steal(&rel, NULL);
}

static void open_stream(ks_table_writer *tw, ks__pfile *f) {
  const ks_conf *conf = tw->w->env->conf;
  const ks_conf_table *tc = tw->t->conf;
  ks_buf key;
  ks_buf_init(&key, 0);
  ks_buf_appendf(&key, "%s/%s", tc->path, f->rel);
  ks_buf_cstr(&key);
  ks_ostream_options oo = {.part_size = (size_t)conf->s3.part_size,
                           .max_in_flight = conf->s3.max_parts_in_flight,
                           .if_absent = tw->format != KS_FORMAT_DELTA,
                           .hold = tw->format != KS_FORMAT_DELTA};
  f->os = ks_ostream_new(tw->w->storage, (char *)key.data, &oo);
  ks_buf_free(&key);
  if (tw->format == KS_FORMAT_JSONL) {
    f->jl = ks_jsonl_new(tc->codec, tc->zstd_level, sink, f);
  } else {
    ks_pq_options po = {.codec = tw->t->codec,
                        .zstd_level = tc->zstd_level,
                        .rowgroup_bytes = (size_t)tc->rowgroup_bytes};
    f->pq = ks_pq_writer_new_schema(tw->file_pq, &po, sink, f);
  }
  atomic_fetch_add_explicit(&tw->w->tc[tw->t->index].files_open, 1,
                            memory_order_relaxed);
}

void ks__tw_file_gone(ks_table_writer *tw) {
  atomic_fetch_sub_explicit(&tw->w->tc[tw->t->index].files_open, 1,
                            memory_order_relaxed);
}

static void free_batch(ks__batch *b) {
  for (size_t i = 0; i < b->nadds; i++)
    ks_delta_add_clear(&b->adds[i]);
  ks_free(b->adds);
  ks_free(b->held);
  ks_free(b);
}

/* A dropped batch goes once nothing of it is in flight any more. */
void ks__tw_free_discarded(ks__batch *b) {
  if (b->files_pending == 0 && b->claim != KS__CLAIM_PENDING)
    free_batch(b);
}

static void finish_file(ks_table_writer *tw, ks__pfile *f);

ks__pfile *ks__tw_file(ks_table_writer *tw, ks__batch *b, ks_partition *p,
                       const char *dir, int64_t offset) {
  /* most recently used first: a run of rows for one directory finds its
   * file at once, and the scan is bounded by max_open_partitions */
  for (ks__pfile *f = b->files; f; f = f->next) {
    if (strcmp(f->dir, dir) == 0) {
      if (f != b->files) {
        file_unlink(f);
        file_push_front(f);
      }
      return f;
    }
  }
  if (b->nfiles >= (size_t)tw->t->conf->max_open_partitions) {
    ks__pfile *lru = b->files;
    while (lru->next)
      lru = lru->next;
    ks_log_debug("table %s: %zu partition files open: finishing %s first",
                 tw->t->conf->name, b->nfiles, lru->dir);
    finish_file(tw, lru);
  }
  if (tw->colmap == NULL)
    build_colmap(tw);
  ks__pfile *f = ks_calloc(1, sizeof *f);
  f->b = b;
  f->dir = ks_strdup(dir);
  f->first_offset = offset;
  if (tw->direct) {
    f->rg = &tw->stage;
  } else {
    ks_rowgroup_init_schema(&f->own, tw->file_pq);
    f->rg = &f->own;
  }
  size_t np = tw->t->partitioner ? ks_partitioner_ncols(tw->t->partitioner) : 0;
  if (tw->format == KS_FORMAT_DELTA && np) {
    f->values = ks_calloc(np, sizeof *f->values);
    const char *v = (const char *)tw->vals.data;
    for (size_t i = 0; i < np; i++) {
      if (!tw->isnull[i])
        f->values[i] = ks_strdup(v);
      v += strlen(v) + 1;
    }
  }
  name_file(tw, f, p);
  open_stream(tw, f);
  b->nfiles++;
  file_push_front(f);
  return f;
}

/* Appends the staged row's entries to the file's columns; the bytes they
 * took in *bytes. */
static int copy_row(ks_table_writer *tw, ks_rowgroup *dst, size_t *bytes) {
  int r = 0;
  size_t n = 0;
  ks_rowgroup_mark_row(dst);
  for (size_t j = 0; r == 0 && j < tw->ncolmap; j++) {
    const ks_column *s = &tw->stage.cols[tw->colmap[j]];
    ks_column *d = &dst->cols[j];
    if ((r = ks_buf_append(&d->values, s->values.data, s->values.len)) ||
        (r = ks_buf_append(&d->lens, s->lens.data, s->lens.len)) ||
        (r = ks_buf_append(&d->defs, s->defs.data, s->defs.len)) ||
        (r = ks_buf_append(&d->reps, s->reps.data, s->reps.len)))
      break;
    d->nvalues += s->nvalues;
    n += s->values.len + s->lens.len + s->defs.len + s->reps.len;
  }
  if (r) {
    ks_rowgroup_rollback_row(dst);
    return r;
  }
  ks_rowgroup_commit_row(dst);
  *bytes = n;
  return 0;
}

int ks__tw_route_row(ks_table_writer *tw, ks__batch *b, ks_partition *p,
                     const rd_kafka_message_t *m) {
  int r = 0;
  ks_buf_reset(&tw->dir);
  ks_buf_reset(&tw->vals);
  if (tw->t->partitioner)
    r = ks_partitioner_route(tw->t->partitioner, &tw->stage, &tw->dir,
                             &tw->vals, tw->isnull);
  if (r == 0)
    r = ks_buf_cstr(&tw->dir);
  if (r == 0)
    r = ks_partition_dir_check((const char *)tw->dir.data, tw->dir.len,
                               tw->route_err, sizeof tw->route_err);
  ks__pfile *f =
      r ? NULL : ks__tw_file(tw, b, p, (char *)tw->dir.data, m->offset);
  if (f && f->jl && tw->t->conf->ntransforms) {
    /* the line is the record the table validated: transformed */
    ks_xf_meta meta = {p->topic, p->partition, m->offset,
                       rd_kafka_message_timestamp(m, NULL)};
    ks_buf text;
    ks_buf_init(&text, 0);
    r = ks_xf_render(tw->t->conf->transforms, tw->t->conf->ntransforms,
                     m->payload, m->len, &meta, &text);
    if (r == 0)
      r = ks_jsonl_write(f->jl, text.data, text.len);
    else
      r = KS_EINVALID;
    ks_buf_free(&text);
  } else if (f && f->jl) {
    r = ks_jsonl_write(f->jl, m->payload, m->len);
  } else if (f) {
    size_t copied = 0;
    r = copy_row(tw, f->rg, &copied);
    tw->rows_bytes += copied;
  }
  ks_rowgroup_reset(&tw->stage);
  if (r)
    return r;
  f->rows++;
  if (f->pq &&
      ks_rowgroup_bytes_approx(f->rg) >= (size_t)tw->t->conf->rowgroup_bytes)
    ks__tw_encode(tw, f);
  return 0;
}

void ks__tw_encode(ks_table_writer *tw, ks__pfile *f) {
  if (f->pq == NULL || f->rg->nrows == 0)
    return;
  size_t held = f->rg == &f->own ? ks_rowgroup_bytes(f->rg) : 0;
  int r = ks_pq_writer_write_rowgroup(f->pq, f->rg);
  if (r) {
    /* Encoding in-memory buffers cannot fail short of a bug: refuse to
     * commit anything rather than lose rows silently. */
    ks_log_error("table %s: encoding failed: %s", tw->t->conf->name,
                 ks_strerror(r));
    if (f->b->status == 0)
      f->b->status = r;
  }
  tw->rows_bytes -= held;
  ks_rowgroup_reset(f->rg);
}


typedef struct file_done {
  ks__batch *b;
  size_t add;
} file_done;

static void on_file_done(void *arg, int status, const ks_storage_obj *obj) {
  file_done *fd = arg;
  ks__batch *b = fd->b;
  ks_delta_add *a = &b->adds[fd->add];
  ks_free(fd);
  b->files_pending--;
  if (b->discarded) {
    /* dropped by a rewind or revoke; its writer may be gone already */
    ks__tw_free_discarded(b);
    return;
  }
  ks_table_writer *tw = b->tw;
  ks__tw_file_gone(tw);
  if (status == KS_EEXIST) {
    /* The batch's cut is recorded (claimed by this writer or adopted), so
     * the file under this key holds exactly these records: another member
     * or an earlier run wrote it and stopped before committing offsets.
     * It is kept, never replaced, and counts as written. */
    ks_log_info("table %s: %s already exists (the same cut, written before)",
                tw->t->conf->name, a->path);
    status = 0;
  }
  if (status == KS_ENOENT) {
    /* the upload was aborted under the file (a stale-upload sweep took it
     * for a crashed writer's): the batch is read again through a rewind;
     * a recorded cut of it is read again exactly */
    ks_log_warn("table %s: %s was lost before it was stored; the batch is "
                "read again", tw->t->conf->name, a->path);
    if (b->kp && b->claim == KS__CLAIM_DONE) {
      if (b->kp->claimed >= b->first)
        b->kp->claimed = b->first - 1;
      b->kp->cut_at = b->last;
    }
    if (b->status == 0)
      b->status = KS_EZOMBIE;
    status = 0;
  } else if (status == KS_ECANCELED && b->claim == KS__CLAIM_REFUSED) {
    status = 0; /* held, and let go: another cut holds these records */
  } else if (status) {
    /* The stream retries storage faults itself; a failure here means the
     * file was abandoned, which only happens on shutdown paths. */
    ks_log_error("table %s: file %s failed: %s", tw->t->conf->name, a->path,
                 ks_strerror(status));
    if (b->status == 0)
      b->status = status;
  } else if (obj) {
    a->size = (int64_t)obj->size;
    a->modification_time = obj->mtime_ms;
  }
  if (b->flushed)
    ks__tw_send_ready(tw);
}

static void stats_of(ks_table_writer *tw, ks__pfile *f, ks_delta_add *a) {
  const ks_pq_schema *s = tw->file_pq;
  size_t n = ks_pq_schema_nleaves(s);
  ks_pq_colstats *stats = ks_calloc(n ? n : 1, sizeof *stats);
  for (size_t i = 0; i < n; i++)
    stats[i] = *ks_pq_writer_stats(f->pq, i);
  ks_buf sj;
  ks_buf_init(&sj, 0);
  ks_delta_stats_json_tree(&sj, (int64_t)f->rows, s, stats);
  ks_free(stats);
  a->stats = (char *)ks_buf_steal(&sj, NULL);
}

static void finish_file(ks_table_writer *tw, ks__pfile *f) {
  ks__batch *b = f->b;
  file_unlink(f);
  b->nfiles--;
  if (f->rows == 0) {
    /* only rejected records: no file */
    if (f->pq)
      ks_pq_writer_free(f->pq);
    ks_jsonl_free(f->jl);
    ks_ostream_abort(f->os);
    ks__tw_file_gone(tw);
    tw->file_bytes -= f->emitted;
    if (f->rg == &tw->stage)
      ks_rowgroup_reset(&tw->stage);
    file_free(tw, f);
    return;
  }
  int r;
  if (f->jl) {
    r = ks_jsonl_finish(f->jl);
  } else {
    ks__tw_encode(tw, f);
    r = ks_pq_writer_close(f->pq);
  }
  if (r) {
    ks_log_error("table %s: cannot finish file %s: %s", tw->t->conf->name,
                 f->rel, ks_strerror(r));
    if (b->status == 0)
      b->status = r;
  }
  if (b->nadds == b->capadds) {
    b->capadds = b->capadds ? b->capadds * 2 : 4;
    b->adds = ks_realloc(b->adds, b->capadds * sizeof *b->adds);
  }
  ks_delta_add *a = &b->adds[b->nadds];
  memset(a, 0, sizeof *a);
  a->num_records = (int64_t)f->rows;
  if (tw->format == KS_FORMAT_DELTA) {
    ks_buf path;
    ks_buf_init(&path, 0);
    ks_partition_uri_encode(&path, f->rel, strlen(f->rel));
    ks_buf_cstr(&path);
    a->path = (char *)ks_buf_steal(&path, NULL);
    stats_of(tw, f, a);
    size_t np = tw->t->npartition_columns;
    if (np) {
      a->nparts = np;
      a->part_names = ks_calloc(np, sizeof(char *));
      a->part_values = f->values;
      f->values = NULL;
      for (size_t i = 0; i < np; i++) /* column mapping: physical names */
        a->part_names[i] = ks_strdup(tw->t->partition_physical
                                         ? tw->t->partition_physical[i]
                                         : tw->t->partition_columns[i]);
    }
  } else {
    a->path = ks_strdup(f->rel);
  }
  b->rows += f->rows;
  b->nadds++;
  b->files_pending++;
  if (f->pq)
    ks_pq_writer_free(f->pq);
  ks_jsonl_free(f->jl);
  tw->file_bytes -= f->emitted;
  file_done *fd = ks_calloc(1, sizeof *fd);
  fd->b = b;
  fd->add = b->nadds - 1;
  ks_ostream *os = f->os;
  file_free(tw, f);
  if (tw->format != KS_FORMAT_DELTA) {
    if (b->nheld == b->capheld) {
      b->capheld = b->capheld ? b->capheld * 2 : 4;
      b->held = ks_realloc(b->held, b->capheld * sizeof *b->held);
    }
    b->held[b->nheld++] = os; /* appears once the cut is claimed */
  }
  ks_ostream_close(os, on_file_done, fd);
}

static void drop_file(ks_table_writer *tw, ks__pfile *f) {
  file_unlink(f);
  f->b->nfiles--;
  tw->file_bytes -= f->emitted;
  if (f->rg == &f->own)
    tw->rows_bytes -= ks_rowgroup_bytes(&f->own);
  if (f->pq)
    ks_pq_writer_free(f->pq);
  ks_jsonl_free(f->jl);
  ks_ostream_abort(f->os);
  ks__tw_file_gone(tw);
  file_free(tw, f);
}

void ks__tw_drop_batch(ks_table_writer *tw, ks__batch *b) {
  while (b->files)
    drop_file(tw, b->files);
  for (ks__batch **pp = &tw->open_list; *pp; pp = &(*pp)->open_next)
    if (*pp == b) {
      *pp = b->open_next;
      break;
    }
  if (--tw->nopen == 0)
    uv_timer_stop(&tw->age_timer);
  /* dead letters already sent for the dropped records are sent again
   * when the records are read again (at least once) */
  ks_dlq_wait_release(b->dlq);
  b->dlq = NULL;
  if (b->kp)
    b->kp->batch = NULL;
  b->discarded = 1;
  /* freed when its last upload ends, which then touches nothing of tw */
  for (int i = 0; i < b->files_pending; i++)
    ks__tw_file_gone(tw);
  /* files finished early (another directory needed the slot) were held
   * for the cut: they never appear */
  ks__tw_release_held(b, 0);
  ks__tw_free_discarded(b);
}

void ks__tw_drop_files(ks_table_writer *tw) {
  while (tw->open_list)
    ks__tw_drop_batch(tw, tw->open_list);
  ks_free(tw->colmap);
  tw->colmap = NULL;
  tw->ncolmap = 0;
}

/* ---- the set's way out -------------------------------------------------- */

/* What a flushed set holds until it is committed: its add actions with
 * their paths and stats (about a KiB each) and its partitions' ranges. */
static uint64_t set_bytes(const ks_flushed_set *fs) {
  return sizeof *fs + (uint64_t)fs->nadds * 1024 + (uint64_t)fs->nparts * 64;
}

/* One completion, one consequence: the writer counts what it wrote and
 * lets go of the set; the lane decides what the result means. */
static void on_committed(ks_msg *m) {
  ks_flushed_set *fs = ks_container_of(m, ks_flushed_set, msg);
  ks_table_writer *tw = fs->tw;
  ks_lane *w = tw->w;
  tw->uncommitted--;
  for (size_t i = 0; i < tw->nsent; i++)
    if (tw->sent[i].fs == fs) {
      tw->sent_bytes -= tw->sent[i].bytes;
      tw->sent[i] = tw->sent[--tw->nsent];
      break;
    }
  if (fs->status == 0) {
    ks_table_counters *tc = &w->tc[tw->t->index];
    atomic_fetch_add_explicit(&w->counters.written, fs->rows,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&tc->written, fs->rows, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->counters.files, fs->nadds,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&tc->files, fs->nadds, memory_order_relaxed);
    /* freshness: the newest record now visible in the table */
    if (fs->newest_ts_ms > atomic_load_explicit(&tc->newest_record_unix_ms,
                                                memory_order_relaxed))
      atomic_store_explicit(&tc->newest_record_unix_ms, fs->newest_ts_ms,
                            memory_order_relaxed);
  }
  tw->returned(w, tw, fs);
  ks_flushed_set_free(fs);
  ks_lane_maybe_drained(w);
}

void ks__tw_send_ready(ks_table_writer *tw) {
  while (tw->head && tw->head->files_pending == 0 &&
         (tw->head->dlq == NULL || tw->head->dlq->pending == 0) &&
         (tw->head->claim == KS__CLAIM_NONE ||
          tw->head->claim == KS__CLAIM_DONE ||
          tw->head->claim == KS__CLAIM_REFUSED)) {
    ks__batch *b = tw->head;
    ks_dlq_wait_release(b->dlq);
    tw->head = b->next;
    if (tw->head == NULL)
      tw->tail = NULL;
    ks_flushed_set *fs = b->fs;
    fs->adds = b->adds;
    fs->nadds = b->nadds;
    fs->rows = b->rows;
    fs->status = b->status;
    b->adds = NULL;
    b->nadds = 0;
    free_batch(b);
    tw->uncommitted++;
    if (tw->nsent == tw->capsent) {
      tw->capsent = tw->capsent ? 2 * tw->capsent : 8;
      tw->sent = ks_realloc(tw->sent, tw->capsent * sizeof *tw->sent);
    }
    struct ks__sent *sn = &tw->sent[tw->nsent++];
    sn->ms = fs->consumed_ms;
    sn->bytes = set_bytes(fs);
    sn->fs = fs;
    tw->sent_bytes += sn->bytes;
    if (tw->format == KS_FORMAT_DELTA) {
      ks_committer_send(fs, on_committed);
    } else {
      /* parquet/jsonl: every file of the set is stored, so its offsets
       * may move (a commit that fails only means the records are read
       * again and land on the same keys) */
      if (fs->status == 0)
        ks_offsets_commit(tw->w->env->rk, tw->t->conf->name, &fs, 1);
      on_committed(&fs->msg);
    }
  }
}

static void on_dlq_drained(void *arg) {
  ks__batch *b = arg;
  ks__tw_send_ready(b->tw);
}

static ks_flushed_part *add_part(ks_flushed_set *fs, ks_partition *p) {
  ks_flushed_part *fp = &fs->parts[fs->nparts++];
  fp->topic = ks_strdup(p->topic);
  fp->partition = p->partition;
  fp->app_id = ks_strdup(p->app_id);
  fp->legacy_app_id = p->legacy_app_id ? ks_strdup(p->legacy_app_id) : NULL;
  fp->expected = p->committed;
  fp->version = p->batch_last;
  /* The next batch continues from here, even before this one commits:
   * the committer applies sets in order. */
  p->committed = p->batch_last;
  p->batch_first = p->batch_last = -1;
  p->batch = NULL;
  return fp;
}

void ks__tw_flush_batch(ks_table_writer *tw, ks__batch *b, const char *why) {
  ks_lane *w = tw->w;
  for (ks__batch **pp = &tw->open_list; *pp; pp = &(*pp)->open_next)
    if (*pp == b) {
      *pp = b->open_next;
      break;
    }
  if (--tw->nopen == 0)
    uv_timer_stop(&tw->age_timer);
  while (b->files)
    finish_file(tw, b->files);
  if (b->kp) {
    b->first = b->kp->batch_first;
    b->last = b->kp->batch_last;
    b->why = why;
    b->claim = KS__CLAIM_WANTED;
  }
  ks_flushed_set *fs = ks_calloc(1, sizeof *fs);
  fs->origin = w;
  fs->tw = tw;
  fs->table = tw->t->index;
  size_t n = 0;
  for (ks_partition *p = w->partitions; p; p = p->next)
    if (p->tw == tw && p->batch_last >= 0 && (b->kp == NULL || p == b->kp))
      n++;
  fs->parts = ks_calloc(n ? n : 1, sizeof *fs->parts);
  for (ks_partition *p = w->partitions; p; p = p->next)
    if (p->tw == tw && p->batch_last >= 0 && (b->kp == NULL || p == b->kp))
      add_part(fs, p);
  ks_log_debug("table %s: flush (%s): %llu records, %zu files, %zu "
               "partitions",
               tw->t->conf->name, why, (unsigned long long)b->records, b->nadds,
               fs->nparts);
  fs->consumed_ms = b->consumed_ms;
  fs->newest_ts_ms = b->newest_ts_ms;
  fs->schema = ks_table_schema_ref(tw->ls);
  b->fs = fs;
  b->flushed = 1;
  if (tw->ef) /* the batch's error files gate it like its dead letters */
    ks_errfiles_flush(tw->ef, &b->dlq);
  if (b->dlq) {
    b->dlq->drained = on_dlq_drained;
    b->dlq->arg = b;
  }
  if (tw->tail)
    tw->tail->next = b;
  else
    tw->head = b;
  tw->tail = b;
  ks__tw_claim_next(tw);
  ks__tw_send_ready(tw);
}
