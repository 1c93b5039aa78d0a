#include "stages/flush.h"
#include "base/log.h"
#include "stages/commit.h"
#include "stages/dlq.h"
#include "stages/errfile.h"
#include "stages/rewind.h"
#include "storage/delta/delta.h"
#include "storage/ostream.h"
#include "storage/parquet/writer.h"

#include <stdio.h>
#include <string.h>

/* A closed batch on its way: its file is completing in storage, then its
 * flushed set goes to the committer. Kept in a FIFO so sets reach the
 * committer in batch order even when uploads finish out of order. */
typedef struct pending {
  struct pending *next;
  ks_table_writer *tw;
  ks_flushed_set *fs;
  int ready;
  ks_dlq_wait *dlq; /* the batch's dead letters, acknowledged first */
} pending;

struct ks_table_writer {
  ks_worker *w;
  ks_table *t;
  ks_rowgroup rg;
  ks_decoder *dec;

  /* open batch */
  int batch_open;
  uint64_t batch_records; /* consumed records, valid or not */
  uint64_t file_rows;     /* rows in the open file, incl. the row group */
  uint64_t batch_ms;      /* monotonic: the batch's first record consumed */
  ks_pq_writer *pq;
  ks_ostream *os;
  char *file_name; /* relative to the table root */
  uv_timer_t age_timer;

  pending *head, *tail;
  ks_dlq_wait *dlq; /* dead letters of the open batch */
  ks_errfiles *ef;  /* errors.deadletter.path, or NULL */
  int uncommitted;  /* sets at the committer */
  uint64_t seq;
  uint64_t rejects_logged;
};

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

static void file_gone(ks_table_writer *tw);

static void on_age(uv_timer_t *t) {
  ks_table_writer *tw = ks_container_of(t, ks_table_writer, age_timer);
  ks_table_writer_flush(tw, "interval");
}

ks_table_writer *ks_table_writer_new(ks_worker *w, ks_table *t) {
  ks_table_writer *tw = ks_calloc(1, sizeof *tw);
  tw->w = w;
  tw->t = t;
  ks_rowgroup_init_schema(&tw->rg, t->pq);
  tw->dec = ks_decoder_new(t->schema, &tw->rg, 0);
  uv_timer_init(&w->loop, &tw->age_timer);
  if (t->conf->deadletter_path && t->conf->errors_tolerate_all)
    tw->ef = ks_errfiles_new(&w->loop, w->storage, t->conf->deadletter_path,
                             &w->tc[t->index].deadletter_records);
  return tw;
}

static void on_timer_closed(uv_handle_t *h) {
  ks_table_writer *tw =
      ks_container_of((uv_timer_t *)h, ks_table_writer, age_timer);
  ks_free(tw);
}

void ks_table_writer_close(ks_table_writer *tw) {
  if (tw->os) {
    ks_ostream_abort(tw->os);
    file_gone(tw);
  }
  if (tw->pq)
    ks_pq_writer_free(tw->pq);
  ks_free(tw->file_name);
  ks_errfiles_close(tw->ef);
  ks_dlq_wait_release(tw->dlq);
  for (pending *pd = tw->head, *next; pd; pd = next) {
    next = pd->next;
    ks_dlq_wait_release(pd->dlq);
  }
  ks_decoder_free(tw->dec);
  ks_rowgroup_free(&tw->rg);
  uv_close((uv_handle_t *)&tw->age_timer, on_timer_closed);
}

int ks_table_writer_idle(const ks_table_writer *tw) {
  return !tw->batch_open && tw->head == NULL && tw->uncommitted == 0;
}

size_t ks_table_writer_buffered(const ks_table_writer *tw) {
  return ks_rowgroup_bytes(&tw->rg);
}

size_t ks_table_writer_error_bytes(const ks_table_writer *tw) {
  return tw->ef ? ks_errfiles_bytes(tw->ef) : 0;
}

void ks_table_writer_release(ks_table_writer *tw) {
  if (tw->rg.nrows)
    return;
  for (size_t i = 0; i < tw->rg.ncols; i++) {
    ks_column *c = &tw->rg.cols[i];
    ks_buf_free(&c->values);
    ks_buf_free(&c->lens);
    ks_buf_free(&c->defs);
    ks_buf_free(&c->reps);
  }
}

int ks_table_writer_inflight(const ks_table_writer *tw) {
  int n = tw->uncommitted;
  for (const pending *pd = tw->head; pd; pd = pd->next)
    n++;
  return n;
}

void ks_table_writer_discard(ks_table_writer *tw) {
  uv_timer_stop(&tw->age_timer);
  if (tw->pq)
    ks_pq_writer_free(tw->pq);
  tw->pq = NULL;
  if (tw->os) {
    ks_ostream_abort(tw->os);
    file_gone(tw);
  }
  tw->os = NULL;
  ks_free(tw->file_name);
  tw->file_name = NULL;
  ks_rowgroup_reset(&tw->rg);
  /* dead letters already sent for the discarded records are sent again
   * when the records are read again (at least once) */
  ks_dlq_wait_release(tw->dlq);
  tw->dlq = NULL;
  if (tw->ef)
    ks_errfiles_discard(tw->ef);
  tw->batch_open = 0;
  tw->batch_records = tw->file_rows = 0;
  for (ks_partition *p = tw->w->partitions; p; p = p->next)
    if (p->tw == tw)
      p->batch_first = p->batch_last = -1;
}

/* ---- encode ------------------------------------------------------------- */

static int sink(void *arg, const uint8_t *data, size_t len) {
  return ks_ostream_write(arg, data, len);
}

static void open_file(ks_table_writer *tw) {
  const ks_conf *conf = tw->w->p->conf;
  const ks_conf_table *tc = tw->t->conf;
  char uuid[37], name[160];
  ks_delta_uuid(uuid);
  snprintf(name, sizeof name, "part-%05d-%s-c%03llu%s.parquet", tw->w->id, uuid,
           (unsigned long long)(tw->seq++ % 1000), codec_ext(tc->codec));
  tw->file_name = ks_strdup(name);
  ks_buf key;
  ks_buf_init(&key, 0);
  ks_buf_appendf(&key, "%s/%s", tc->path, name);
  ks_buf_cstr(&key);
  ks_ostream_options oo = {.part_size = (size_t)conf->s3.part_size,
                           .max_in_flight = conf->s3.max_parts_in_flight};
  tw->os = ks_ostream_new(tw->w->storage, (char *)key.data, &oo);
  ks_buf_free(&key);
  ks_pq_options po = {.codec = tc->codec,
                      .zstd_level = tc->zstd_level,
                      .rowgroup_bytes = (size_t)tc->rowgroup_bytes};
  tw->pq = ks_pq_writer_new_schema(tw->t->pq, &po, sink, tw->os);
  atomic_fetch_add_explicit(&tw->w->tc[tw->t->index].files_open, 1,
                            memory_order_relaxed);
}

static void file_gone(ks_table_writer *tw) {
  atomic_fetch_sub_explicit(&tw->w->tc[tw->t->index].files_open, 1,
                            memory_order_relaxed);
}

static int encode_rowgroup(ks_table_writer *tw) {
  if (tw->rg.nrows == 0)
    return 0;
  if (tw->pq == NULL)
    open_file(tw);
  int r = ks_pq_writer_write_rowgroup(tw->pq, &tw->rg);
  ks_rowgroup_reset(&tw->rg);
  return r;
}

/* ---- records ------------------------------------------------------------ */

static int append_meta(ks_table_writer *tw, const rd_kafka_message_t *m,
                       const char *topic) {
  ks_column *c = &tw->rg.cols[tw->t->ndata];
  int r;
  if ((r = ks_column_append_str(&c[0], topic, strlen(topic))) ||
      (r = ks_column_append_i32(&c[1], m->partition)) ||
      (r = ks_column_append_i64(&c[2], m->offset)))
    return r;
  rd_kafka_timestamp_type_t tt;
  int64_t ts = rd_kafka_message_timestamp(m, &tt);
  if (ts < 0)
    return ks_column_append_null(&c[3]);
  return ks_column_append_i64(&c[3], ts * 1000);
}

/* A record for the log: printable ASCII as is, other bytes as \xHH, at
 * most 256 input bytes (the log must stay one valid line). */
static void show_record(char *out, size_t cap, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, i = 0;
  for (; i < n && i < 256 && o + 5 < cap; i++) {
    if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
      out[o++] = (char)s[i];
    } else {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[s[i] >> 4];
      out[o++] = hex[s[i] & 15];
    }
  }
  if (i < n && o + 4 < cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = 0;
}

static void count_reject(ks_table_writer *tw, const ks_partition *p,
                         const rd_kafka_message_t *m, const ks_reject *rej) {
  const ks_conf_table *tc = tw->t->conf;
  int reason = ks_reason_from_label(rej->reason);
  uint64_t n = atomic_fetch_add_explicit(&tw->w->counters.rejected[reason], 1,
                                         memory_order_relaxed);
  atomic_fetch_add_explicit(&tw->w->tc[tw->t->index].rejected[reason], 1,
                            memory_order_relaxed);
  if (reason == KS_REASON_SCHEMA)
    atomic_fetch_add_explicit(
        &tw->w->tc[tw->t->index]
             .schema_keyword[ks_keyword_from_name(rej->keyword)],
        1, memory_order_relaxed);
  /* errors.log.enable logs every reject (with the record when
   * errors.log.include.messages); otherwise the first rejects of a worker
   * are logged in full and then one line per 10,000, so the log stays
   * readable at any input rate. */
  if (tc->errors_log || tw->rejects_logged < 5 || (n + 1) % 10000 == 0) {
    tw->rejects_logged++;
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", (int)p->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    ks_log_field f[] = {{"table", tc->name, 0},
                        {"topic", p->topic, 0},
                        {"partition", part, 1},
                        {"offset", off, 1},
                        {"reason", rej->reason, 0}};
    if (tc->errors_log_messages && m->payload) {
      char shown[1100];
      show_record(shown, sizeof shown, m->payload, m->len);
      ks_log_fields(KS_LOG_WARN, f, KS_ARRAY_SIZE(f),
                    "table %s: rejected %s[%d]@%lld (%s): %s; record %s",
                    tc->name, p->topic, (int)p->partition, (long long)m->offset,
                    rej->reason, rej->message, shown);
    } else {
      ks_log_fields(KS_LOG_WARN, f, KS_ARRAY_SIZE(f),
                    "table %s: rejected %s[%d]@%lld (%s): %s", tc->name,
                    p->topic, (int)p->partition, (long long)m->offset,
                    rej->reason, rej->message);
    }
  }
  if (tw->ef) {
    ks_errfile_rec er = ks_errfile_rec_of(p->topic, m);
    ks_errfiles_add(tw->ef, &er, rej);
  }
  if (tc->dlq_topic && tc->errors_tolerate_all && tw->w->dlq)
    ks_dlq_send(tw->w->dlq, tc->dlq_topic, m, rej, tc->dlq_context_headers,
                &tw->dlq);
}

int ks_table_writer_add(ks_table_writer *tw, ks_partition *p,
                        const rd_kafka_message_t *m) {
  const ks_conf_table *tc = tw->t->conf;
  ks_reject rej;
  int r;
  ks_rowgroup_mark_row(&tw->rg);
  if (m->payload == NULL) {
    memset(&rej, 0, sizeof rej);
    rej.code = KS_EINVALID;
    rej.reason = "null_value";
    snprintf(rej.message, sizeof rej.message,
             ": record value is null (tombstone)");
    r = KS_EINVALID;
  } else {
    r = ks_decoder_feed(tw->dec, m->payload, m->len, &rej);
    if (r == 0 && (r = append_meta(tw, m, p->topic)) != 0) {
      ks_rowgroup_rollback_row(&tw->rg);
      memset(&rej, 0, sizeof rej);
      rej.code = r;
      rej.reason = "too_large";
      snprintf(rej.message, sizeof rej.message,
               ": row does not fit the row group buffers (%s)", ks_strerror(r));
    }
  }
  if (r == 0) {
    ks_rowgroup_commit_row(&tw->rg);
    tw->file_rows++;
  } else {
    count_reject(tw, p, m, &rej);
    if (!tc->errors_tolerate_all)
      return r;
  }
  if (!tw->batch_open) {
    tw->batch_open = 1;
    tw->batch_ms = ks_mono_ms();
    uv_timer_start(&tw->age_timer, on_age, (uint64_t)tc->flush_interval_ms, 0);
  }
  if (p->batch_first < 0)
    p->batch_first = m->offset;
  p->batch_last = m->offset;
  tw->batch_records++;

  if (ks_rowgroup_bytes(&tw->rg) >= (size_t)tc->rowgroup_bytes &&
      (r = encode_rowgroup(tw)) != 0)
    ks_log_error("table %s: encoding failed: %s", tc->name, ks_strerror(r));
  uint64_t bytes =
      ks_rowgroup_bytes(&tw->rg) + (tw->pq ? ks_pq_writer_bytes(tw->pq) : 0);
  if (tw->batch_records >= (uint64_t)tc->flush_records)
    ks_table_writer_flush(tw, "records");
  else if (bytes >= (uint64_t)tc->flush_bytes)
    ks_table_writer_flush(tw, "bytes");
  return 0;
}

/* ---- flush -------------------------------------------------------------- */

static void on_committed(ks_msg *m) {
  ks_flushed_set *fs = ks_container_of(m, ks_flushed_set, msg);
  ks_table_writer *tw = fs->tw;
  ks_worker *w = tw->w;
  tw->uncommitted--;
  if (fs->status == 0) {
    for (size_t i = 0; i < fs->nparts; i++)
      ks_source_acked(w, fs->parts[i].topic, fs->parts[i].partition,
                      fs->parts[i].version);
    ks_table_counters *tc = &w->tc[tw->t->index];
    atomic_fetch_add_explicit(&w->counters.written, fs->rows,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&tc->written, fs->rows, memory_order_relaxed);
    if (fs->has_file) {
      atomic_fetch_add_explicit(&w->counters.files, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&tc->files, 1, memory_order_relaxed);
    }
  } else if (fs->status == KS_EZOMBIE) {
    ks_rewind_start(w, tw->t->index,
                    "a batch was refused because another "
                    "writer committed its partitions");
  } else {
    ks_log_error("table %s: batch not committed: %s", tw->t->conf->name,
                 ks_strerror(fs->status));
    atomic_store(&w->p->fatal, 1);
    ks_worker_consume_stop(w);
    ks_pipeline_stop(w->p);
  }
  ks_flushed_set_free(fs);
  ks_worker_check_drained(w);
}

static void send_ready(ks_table_writer *tw) {
  while (tw->head && tw->head->ready &&
         (tw->head->dlq == NULL || tw->head->dlq->pending == 0)) {
    pending *pd = tw->head;
    ks_dlq_wait_release(pd->dlq);
    tw->head = pd->next;
    if (tw->head == NULL)
      tw->tail = NULL;
    tw->uncommitted++;
    ks_committer_send(tw->w->p, pd->fs, on_committed);
    ks_free(pd);
  }
}

static void on_dlq_drained(void *arg) {
  pending *pd = arg;
  send_ready(pd->tw);
}

static void on_file_done(void *arg, int status, const ks_storage_obj *obj) {
  pending *pd = arg;
  ks_table_writer *tw = pd->tw;
  file_gone(tw);
  /* The stream retries storage faults itself; a failure here means the
   * file was abandoned, which only happens on shutdown paths. */
  if (status) {
    ks_log_error("table %s: file %s failed: %s", tw->t->conf->name,
                 pd->fs->add.path, ks_strerror(status));
    pd->fs->status = status;
  } else {
    pd->fs->add.size = (int64_t)obj->size;
    pd->fs->add.modification_time = obj->mtime_ms;
  }
  pd->ready = 1;
  send_ready(tw);
}

static void finish_file(ks_table_writer *tw, ks_flushed_set *fs, pending *pd) {
  const ks_table *t = tw->t;
  int r = encode_rowgroup(tw);
  if (r == 0)
    r = ks_pq_writer_close(tw->pq);
  if (r) {
    /* Encoding of in-memory buffers cannot fail short of a bug; refuse to
     * commit anything rather than lose rows silently. */
    ks_log_error("table %s: cannot finish file: %s", t->conf->name,
                 ks_strerror(r));
    fs->status = r;
  }
  ks_pq_colstats *stats = ks_calloc(t->ncols, sizeof *stats);
  for (size_t i = 0; i < t->ncols; i++)
    stats[i] = *ks_pq_writer_stats(tw->pq, i);
  ks_buf sj;
  ks_buf_init(&sj, 0);
  ks_delta_stats_json_tree(&sj, (int64_t)tw->file_rows, t->pq, stats);
  ks_free(stats);
  fs->has_file = 1;
  fs->add.path = tw->file_name;
  tw->file_name = NULL;
  fs->add.num_records = (int64_t)tw->file_rows;
  fs->add.stats = (char *)ks_buf_steal(&sj, NULL);
  ks_pq_writer_free(tw->pq);
  tw->pq = NULL;
  ks_ostream *os = tw->os;
  tw->os = NULL;
  ks_ostream_close(os, on_file_done, pd);
}

void ks_table_writer_flush(ks_table_writer *tw, const char *why) {
  if (!tw->batch_open)
    return;
  ks_worker *w = tw->w;
  uv_timer_stop(&tw->age_timer);
  ks_flushed_set *fs = ks_calloc(1, sizeof *fs);
  fs->origin = w;
  fs->tw = tw;
  fs->table = tw->t->index;
  fs->rows = tw->file_rows;
  fs->consumed_ms = tw->batch_ms;
  size_t n = 0;
  for (ks_partition *p = w->partitions; p; p = p->next)
    if (p->tw == tw && p->batch_last >= 0)
      n++;
  fs->parts = ks_calloc(n ? n : 1, sizeof *fs->parts);
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (p->tw != tw || p->batch_last < 0)
      continue;
    ks_flushed_part *fp = &fs->parts[fs->nparts++];
    fp->topic = ks_strdup(p->topic);
    fp->partition = p->partition;
    fp->app_id = ks_strdup(p->app_id);
    fp->expected = p->committed;
    fp->version = p->batch_last;
    /* The next batch continues from here, even before this one commits:
     * the committer applies sets in order. */
    p->committed = p->batch_last;
    p->batch_first = p->batch_last = -1;
  }
  ks_log_debug("table %s: flush (%s): %llu records, %llu rows, %zu "
               "partitions",
               tw->t->conf->name, why, (unsigned long long)tw->batch_records,
               (unsigned long long)tw->file_rows, fs->nparts);

  pending *pd = ks_calloc(1, sizeof *pd);
  pd->tw = tw;
  pd->fs = fs;
  if (tw->ef) /* the batch's error files gate it like its dead letters */
    ks_errfiles_flush(tw->ef, &tw->dlq);
  pd->dlq = tw->dlq;
  tw->dlq = NULL;
  if (pd->dlq) {
    pd->dlq->drained = on_dlq_drained;
    pd->dlq->arg = pd;
  }
  if (tw->tail)
    tw->tail->next = pd;
  else
    tw->head = pd;
  tw->tail = pd;

  int has_rows = tw->file_rows > 0;
  tw->batch_open = 0;
  tw->batch_records = 0;
  if (has_rows) {
    finish_file(tw, fs, pd); /* resets file_rows below */
  } else {
    pd->ready = 1;
  }
  tw->file_rows = 0;
  send_ready(tw);
}
