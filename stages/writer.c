#include "stages/writer.h"
#include "base/log.h"
#include "stages/commit.h"
#include "stages/dlq.h"
#include "stages/errfile.h"
#include "stages/record/keyhdr.h"
#include "stages/record/wire.h"
#include "stages/writer_int.h"
#include "stages/table/partitioner.h"
#include "stages/table/schemaless.h"

#include <stdio.h>
#include <string.h>

static void on_age(uv_timer_t *t) {
  ks_table_writer *tw = ks_container_of(t, ks_table_writer, age_timer);
  ks_table_writer_flush(tw, "interval");
  /* batches reading a recorded cut again stay open: the clock goes on
   * for the batches that open next to them */
  if (tw->nopen > 0)
    uv_timer_start(&tw->age_timer, on_age,
                   (uint64_t)tw->t->conf->flush_interval_ms, 0);
}

/* Schemaless: the columns of generation ls (a reference taken over). */
static void set_columns(ks_table_writer *tw, ks_table_schema *ls) {
  ks_table_schema_unref(tw->ls);
  tw->ls = ls;
  tw->schema = ls->schema;
  tw->pq = tw->file_pq = ls->pq;
  tw->ndata = ls->ndata;
}

/* The stage and its decoder, for the writer's current columns. */
static void open_stage(ks_table_writer *tw) {
  ks_rowgroup_init_schema(&tw->stage, tw->pq);
  tw->dec = ks_decoder_new(tw->schema, &tw->stage, 0);
  ks_decoder_set_max_record(tw->dec, (size_t)tw->t->conf->max_record_bytes);
  ks_decoder_set_refuse_dropped(tw->dec, tw->t->schemaless);
  ks_decoder_set_caller_marks(tw->dec, 1); /* ks_table_writer_add marks */
  ks_decoder_set_transforms(tw->dec, tw->t->conf->transforms,
                            tw->t->conf->ntransforms);
}

/* Schemaless: moves to the table's newest generation. The open batch is
 * finished first -- its files keep the columns they were opened with and
 * commit with them -- and the next record starts a batch of new files. */
static void use_newest(ks_table_writer *tw) {
  while (tw->open_list) {
    ks__batch *b = tw->open_list;
    if (b->records)
      ks__tw_flush_batch(tw, b, "schema");
    else
      ks__tw_drop_batch(tw, b); /* its file has no row yet */
  }
  ks_free(tw->colmap);
  tw->colmap = NULL;
  tw->ncolmap = 0;
  ks_decoder_free(tw->dec);
  ks_rowgroup_free(&tw->stage);
  set_columns(tw, ks_schemaless_current(tw->t));
  open_stage(tw);
}

ks_table_writer *ks_table_writer_new(ks_lane *w, ks_table *t,
                                     ks_set_returned_fn returned) {
  ks_table_writer *tw = ks_calloc(1, sizeof *tw);
  tw->w = w;
  tw->returned = returned;
  tw->t = t;
  tw->format = t->conf->format;
  /* The common case, an unpartitioned Delta table, shreds straight into
   * its one file's row group; every other layout stages each row and
   * moves it to its partition's file. */
  tw->direct = tw->format == KS_FORMAT_DELTA && t->partitioner == NULL;
  tw->schema = t->schema;
  tw->pq = t->pq;
  tw->file_pq = t->file_pq;
  tw->ndata = t->ndata;
  if (atomic_load(&t->live)) /* schemaless, or following the registry */
    set_columns(tw, ks_schemaless_current(t));
  open_stage(tw);
  size_t np = t->partitioner ? ks_partitioner_ncols(t->partitioner) : 0;
  tw->isnull = ks_calloc(np ? np : 1, 1);
  ks_buf_init(&tw->dir, 0);
  ks_buf_init(&tw->vals, 0);
  uv_timer_init(w->loop, &tw->age_timer);
  uv_timer_init(w->loop, &tw->claim_timer);
  tw->age_timer.data = tw->claim_timer.data = tw;
  tw->open_handles = 2;
  if (t->conf->deadletter_path && t->conf->errors_tolerate_all)
    tw->ef = ks_errfiles_new(w->loop, w->storage, t->conf->deadletter_path,
                             &w->tc[t->index].deadletter_records,
                             w->tc[t->index].deadletter_failures);
  return tw;
}

static void on_timer_closed(uv_handle_t *h) {
  ks_table_writer *tw = h->data;
  if (--tw->open_handles == 0)
    ks_free(tw);
}

void ks_table_writer_close(ks_table_writer *tw) {
  ks__tw_drop_files(tw);
  ks_errfiles_close(tw->ef);
  ks__tw_abandon_flushed(tw);
  ks__tw_wire_free(tw);
  ks_decoder_free(tw->dec);
  ks_rowgroup_free(&tw->stage);
  ks_table_schema_unref(tw->ls);
  ks_free(tw->isnull);
  ks_free(tw->sent);
  ks_buf_free(&tw->dir);
  ks_buf_free(&tw->vals);
  uv_close((uv_handle_t *)&tw->age_timer, on_timer_closed);
  uv_close((uv_handle_t *)&tw->claim_timer, on_timer_closed);
}

int ks_table_writer_idle(const ks_table_writer *tw) {
  return tw->nopen == 0 && tw->head == NULL && tw->uncommitted == 0;
}

size_t ks_table_writer_buffered(const ks_table_writer *tw) {
  size_t n = ks_rowgroup_bytes(&tw->stage);
  for (const ks__batch *b = tw->open_list; b; b = b->open_next)
    for (const ks__pfile *f = b->files; f; f = f->next)
      if (f->rg != &tw->stage)
        n += ks_rowgroup_bytes(f->rg);
  return n;
}

size_t ks_table_writer_error_bytes(const ks_table_writer *tw) {
  return tw->ef ? ks_errfiles_bytes(tw->ef) : 0;
}

static void release_rowgroup(ks_rowgroup *rg) {
  if (rg->nrows)
    return;
  for (size_t i = 0; i < rg->ncols; i++) {
    ks_column *c = &rg->cols[i];
    ks_buf_free(&c->values);
    ks_buf_free(&c->lens);
    ks_buf_free(&c->defs);
    ks_buf_free(&c->reps);
  }
}

void ks_table_writer_release(ks_table_writer *tw) {
  release_rowgroup(&tw->stage);
  for (ks__batch *b = tw->open_list; b; b = b->open_next)
    for (ks__pfile *f = b->files; f; f = f->next)
      release_rowgroup(f->rg);
}

int ks_table_writer_inflight(const ks_table_writer *tw) {
  int n = tw->uncommitted;
  for (const ks__batch *b = tw->head; b; b = b->next)
    n++;
  return n;
}

uint64_t ks_table_writer_uncommitted_bytes(const ks_table_writer *tw) {
  return tw ? tw->sent_bytes : 0;
}

uint64_t ks_table_writer_oldest_ms(const ks_table_writer *tw) {
  uint64_t oldest = 0;
#define KS__OLDER(ms)                                                          \
  if ((ms) && (oldest == 0 || (ms) < oldest))                                  \
    oldest = (ms);
  for (const ks__batch *b = tw->open_list; b; b = b->open_next)
    if (b->records)
      KS__OLDER(b->consumed_ms)
  for (const ks__batch *b = tw->head; b; b = b->next)
    KS__OLDER(b->consumed_ms)
  for (size_t i = 0; i < tw->nsent; i++)
    KS__OLDER(tw->sent[i].ms)
#undef KS__OLDER
  return oldest;
}

void ks_table_writer_discard(ks_table_writer *tw) {
  uv_timer_stop(&tw->age_timer);
  ks__tw_drop_files(tw);
  ks_rowgroup_reset(&tw->stage);
  if (tw->ef)
    ks_errfiles_discard(tw->ef);
  for (ks_partition *p = tw->w->partitions; p; p = p->next)
    if (p->tw == tw) {
      p->batch_first = p->batch_last = -1;
      p->batch = NULL;
    }
}

/* ---- records ------------------------------------------------------------ */

#define KS_MAX_HEADERS 256

/* The key column; a json_schema key may name its schema in the
 * __key_schema_id header instead of a prefix. */
static int append_key(ks_column *c, ks_key_format f,
                      const rd_kafka_message_t *m, ks_reject *rej) {
  rd_kafka_headers_t *hs = NULL;
  const void *h = NULL;
  size_t hl = 0;
  if (f == KS_KEY_JSON_SCHEMA &&
      (rd_kafka_message_headers(m, &hs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
       rd_kafka_header_get_last(hs, KS_WIRE_KEY_HEADER, &h, &hl) !=
           RD_KAFKA_RESP_ERR_NO_ERROR))
    h = NULL;
  return ks_keyhdr_append_key(c, f, m->key, m->key_len, h, hl, rej);
}

/* The _kafka_* columns of m's row: topic, partition, offset, timestamp,
 * then the key and headers columns when the table has them. rej says
 * why a key or header was refused (KS_EINVALID). */
static int append_meta(ks_table_writer *tw, const rd_kafka_message_t *m,
                       const char *topic, ks_reject *rej) {
  const ks_conf_table *tc = tw->t->conf;
  ks_column *c = &tw->stage.cols[tw->ndata];
  int r;
  if ((r = ks_column_append_str(&c[0], topic, strlen(topic))) ||
      (r = ks_column_append_i32(&c[1], m->partition)) ||
      (r = ks_column_append_i64(&c[2], m->offset)))
    return r;
  rd_kafka_timestamp_type_t tt;
  int64_t ts = rd_kafka_message_timestamp(m, &tt);
  if (ts < 0) {
    r = ks_column_append_null(&c[3]);
  } else if (ts > KS_TIMESTAMP_MAX_MS) {
    /* a producer's clock or a crafted record: microseconds would overflow
     * (and no reader takes a year past 9999), so the column says "unknown" */
    atomic_fetch_add_explicit(&tw->w->counters.timestamps_out_of_range, 1,
                              memory_order_relaxed);
    r = ks_column_append_null(&c[3]);
  } else {
    r = ks_column_append_i64(&c[3], ts * 1000);
  }
  c += 4;
  if (r == 0 && tc->key_format != KS_KEY_NONE)
    r = append_key(c++, tc->key_format, m, rej);
  if (r == 0 && tc->headers_column) {
    ks_header h[KS_MAX_HEADERS];
    size_t n = 0;
    rd_kafka_headers_t *hs = NULL;
    if (rd_kafka_message_headers(m, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR)
      while (n < KS_MAX_HEADERS &&
             rd_kafka_header_get_all(hs, n, &h[n].name, &h[n].value,
                                     &h[n].len) == RD_KAFKA_RESP_ERR_NO_ERROR)
        n++;
    if (n == KS_MAX_HEADERS && hs && rd_kafka_header_cnt(hs) > n) {
      ks_reject_clear(rej);
      rej->code = r = KS_EINVALID;
      rej->reason = KS_REASON_TOO_LARGE;
      snprintf(rej->message, sizeof rej->message,
               "the record has %zu headers; the headers column holds at "
               "most %d",
               rd_kafka_header_cnt(hs), KS_MAX_HEADERS);
    } else {
      r = ks_keyhdr_append_headers(c, h, n, rej);
    }
  }
  return r;
}

static int has_header(void *arg, const char *name) {
  const rd_kafka_message_t *m = arg;
  rd_kafka_headers_t *hs = NULL;
  const void *v;
  size_t n;
  return rd_kafka_message_headers(m, &hs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
         rd_kafka_header_get_last(hs, name, &v, &n) ==
             RD_KAFKA_RESP_ERR_NO_ERROR;
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
                         const rd_kafka_message_t *m, const ks_reject *rej,
                         ks_dlq_wait **dlq) {
  const ks_conf_table *tc = tw->t->conf;
  int reason = rej->reason != KS_REASON_NONE ? rej->reason : KS_REASON_SCHEMA;
  uint64_t n = atomic_fetch_add_explicit(&tw->w->counters.rejected[reason], 1,
                                         memory_order_relaxed);
  atomic_fetch_add_explicit(&tw->w->tc[tw->t->index].rejected[reason], 1,
                            memory_order_relaxed);
  if (reason == KS_REASON_SCHEMA)
    atomic_fetch_add_explicit(
        &tw->w->tc[tw->t->index]
             .schema_keyword[rej->keyword != KS_KEYWORD_NONE ? rej->keyword
                                                             : KS_KEYWORD_OTHER],
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
                        {"reason", ks_reason_name(reason), 0}};
    if (tc->errors_log_messages && m->payload) {
      char shown[1100];
      show_record(shown, sizeof shown, m->payload, m->len);
      ks_log_fields(KS_LOG_WARN, f, KS_ARRAY_SIZE(f),
                    "table %s: rejected %s[%d]@%lld (%s): %s; record %s",
                    tc->name, p->topic, (int)p->partition, (long long)m->offset,
                    ks_reason_name(reason), rej->message, shown);
    } else {
      ks_log_fields(KS_LOG_WARN, f, KS_ARRAY_SIZE(f),
                    "table %s: rejected %s[%d]@%lld (%s): %s", tc->name,
                    p->topic, (int)p->partition, (long long)m->offset,
                    ks_reason_name(reason), rej->message);
    }
  }
  if (tw->ef) {
    ks_errfile_rec er = ks_errfile_rec_of(p->topic, m);
    ks_errfiles_add(tw->ef, &er, rej);
  }
  if (tc->dlq_topic && tc->errors_tolerate_all && tw->w->dlq)
    ks_dlq_send(tw->w->dlq, tc->dlq_topic, m, rej, tc->dlq_context_headers,
                dlq);
}

/* Schemaless: learns the fields of m's record as the table sees it,
 * after its transforms. */
static int learn(ks_table_writer *tw, const rd_kafka_message_t *m,
                 const ks_xf_meta *meta, ks_reject *rej) {
  const ks_conf_table *tc = tw->t->conf;
  if (tc->ntransforms == 0)
    return ks_schemaless_learn(tw->t, tw->ls, m->payload, m->len, rej);
  ks_buf text;
  ks_buf_init(&text, 0);
  int r = ks_xf_render(tc->transforms, tc->ntransforms, m->payload, m->len,
                       meta, &text);
  if (r == 0)
    r = ks_schemaless_learn(tw->t, tw->ls, text.data, text.len, rej);
  else { /* the decoder's pass got through these transforms: not expected */
    ks_reject_clear(rej);
    rej->code = r = KS_EINVALID;
    rej->reason = KS_REASON_TRANSFORM;
    snprintf(rej->message, sizeof rej->message,
             "the transforms did not give the record again for learning");
  }
  ks_buf_free(&text);
  return r;
}

/* The batch record m of partition p belongs to, opened on first use:
 * the table's one batch (delta), or p's own (parquet, jsonl). */
static ks__batch *batch_for(ks_table_writer *tw, ks_partition *p) {
  ks__batch *b = tw->format == KS_FORMAT_DELTA ? tw->open_list : p->batch;
  if (b)
    return b;
  b = ks_calloc(1, sizeof *b);
  b->tw = tw;
  b->kp = tw->format == KS_FORMAT_DELTA ? NULL : p;
  b->open_next = tw->open_list;
  tw->open_list = b;
  if (b->kp)
    p->batch = b;
  b->consumed_ms = ks_mono_ms();
  b->forced_to = -1;
  if (tw->nopen++ == 0)
    uv_timer_start(&tw->age_timer, on_age,
                   (uint64_t)tw->t->conf->flush_interval_ms, 0);
  return b;
}

static void reject_row(ks_reject *rej, int code, ks_reason reason,
                       const char *what) {
  ks_reject_clear(rej);
  rej->code = code;
  rej->reason = reason;
  snprintf(rej->message, sizeof rej->message, "%s", what);
}

int ks_table_writer_add(ks_table_writer *tw, ks_partition *p,
                        const rd_kafka_message_t *m) {
  const ks_conf_table *tc = tw->t->conf;
  ks_reject rej;
  int r, learnt = 0;
  if (tw->ls && atomic_load_explicit(&tw->t->live, memory_order_acquire) !=
                    tw->ls)
    use_newest(tw);
  if (p->cut_at >= 0 && m->offset > p->cut_at) {
    /* a recorded cut read again whose last record is gone (compacted):
     * it ends at what is left of it */
    if (p->batch && p->batch->records) {
      p->batch->forced_to = p->cut_at;
      ks__tw_flush_batch(tw, p->batch, "recorded cut");
    }
    p->cut_at = -1;
  }
again:;
  ks__batch *b = batch_for(tw, p);
  ks__pfile *f = NULL;
  /* direct: the batch's one file holds the stage (its row group) */
  if (tw->direct && (f = ks__tw_file(tw, b, p, "", m->offset)) == NULL)
    return KS_EIO;
  ks_rowgroup_mark_row(&tw->stage);
  int skip = 0;
  if (tc->ntransforms &&
      !ks_xf_keep(tc->transforms, tc->ntransforms, p->topic, m->payload == NULL,
                  has_header, (void *)m)) {
    skip = 1; /* a filter transform dropped it */
    r = 0;
  } else if (m->payload == NULL && tc->null_values == KS_NULLS_IGNORE) {
    skip = 1;
    r = 0;
  } else if (m->payload == NULL) {
    reject_row(&rej, KS_EINVALID, KS_REASON_NULL_VALUE,
               ": record value is null (tombstone)");
    r = KS_EINVALID;
    if (tc->null_values == KS_NULLS_FAIL) {
      ks_log_error("table %s: %s[%d]@%lld is a tombstone (null value) and "
                   "null_values is fail: stopping (set null_values: ignore "
                   "to skip tombstones, or dlq to reject them)",
                   tc->name, p->topic, (int)p->partition,
                   (long long)m->offset);
      return KS_ESTOPPED;
    }
  } else {
    ks_xf_meta meta = {p->topic, p->partition, m->offset,
                       rd_kafka_message_timestamp(m, NULL)};
    if (tc->value_format != KS_VALUE_FORMAT_JSON) {
      r = ks__tw_feed_wire(tw, m, &meta, &rej);
      if (r == KS_EAGAIN) { /* the lane holds m until the registry answers */
        ks_rowgroup_rollback_row(&tw->stage);
        return r;
      }
    } else {
      r = ks_decoder_feed_meta(tw->dec, m->payload, m->len, &meta, &rej);
    }
    if (r == KS_DECODE_SKIPPED) {
      skip = 1; /* a transform dropped it (a Debezium delete) */
      r = 0;
    }
    if (r == KS_ENEWFIELD) {
      /* Each pass installs a newer generation or meets one another
       * worker installed; a record that still has fields outside the
       * columns after a few is refused rather than looping. */
      if (learnt++ < 4 && (r = learn(tw, m, &meta, &rej)) == 0) {
        use_newest(tw);
        goto again;
      }
      if (r == KS_ENEWFIELD) {
        r = rej.code = KS_EINVALID;
        rej.reason = KS_REASON_NEW_FIELD;
      }
    } else if (r == KS_EINVALID && tw->t->schemaless &&
               rej.reason == KS_REASON_SCHEMA &&
               rej.keyword != KS_KEYWORD_REQUIRED) {
      /* the columns' types are all a learnt schema asserts */
      rej.reason = KS_REASON_TYPE_CONFLICT;
    }
    if (r == 0 && !skip && (r = append_meta(tw, m, p->topic, &rej)) != 0) {
      ks_rowgroup_rollback_row(&tw->stage);
      if (r != KS_EINVALID) {
        reject_row(&rej, r, KS_REASON_TOO_LARGE, "");
        snprintf(rej.message, sizeof rej.message,
                 ": row does not fit the row group buffers (%s)",
                 ks_strerror(r));
      }
    }
  }
  if (skip) {
    ks_rowgroup_rollback_row(&tw->stage);
    /* counted, and its offset moves on with the batch like any other */
    atomic_fetch_add_explicit(&tw->w->tc[tw->t->index].skipped, 1,
                              memory_order_relaxed);
  } else if (r == 0) {
    ks_rowgroup_commit_row(&tw->stage);
    if (!tw->direct)
      r = ks__tw_route_row(tw, b, p, m);
    else
      f->rows++;
    if (r == KS_EINVALID) {
      reject_row(&rej, r, KS_REASON_PARTITION_VALUE, tw->route_err);
    } else if (r) {
      reject_row(&rej, r, KS_REASON_TOO_LARGE, "");
      snprintf(rej.message, sizeof rej.message,
               ": row does not fit its partition's buffers (%s)",
               ks_strerror(r));
    }
  }
  if (r) {
    count_reject(tw, p, m, &rej, &b->dlq);
    if (!tc->errors_tolerate_all)
      return r;
  }
  if (p->batch_first < 0)
    p->batch_first = m->offset;
  p->batch_last = m->offset;
  b->records++;
  int64_t ts = rd_kafka_message_timestamp(m, NULL);
  if (ts > b->newest_ts_ms && ts <= KS_TIMESTAMP_MAX_MS)
    b->newest_ts_ms = ts;

  size_t staged = tw->direct ? ks_rowgroup_bytes_approx(&tw->stage) : 0;
  if (tw->direct && staged >= (size_t)tc->rowgroup_bytes) {
    ks__tw_encode(tw, f);
    staged = 0;
  }
  if (b->kp && p->cut_at >= 0) {
    /* reading a recorded cut again: it ends where it was recorded, and
     * nothing else cuts it (stages/table/cuts.h) */
    if (m->offset >= p->cut_at) {
      b->forced_to = p->cut_at;
      p->cut_at = -1;
      ks__tw_flush_batch(tw, b, "recorded cut");
    }
    return 0;
  }
  uint64_t bytes =
      (tw->direct ? staged : tw->rows_bytes) + tw->file_bytes;
  /* Record counts cut one Kafka partition's batch at the same offsets in
   * every run (parquet, jsonl: see the README's exactly-once section). */
  if (b->records >= (uint64_t)tc->flush_records) {
    if (b->kp)
      ks__tw_flush_batch(tw, b, "records");
    else
      ks_table_writer_flush(tw, "records");
  } else if (bytes >= (uint64_t)tc->flush_bytes) {
    ks_table_writer_flush(tw, "bytes");
  }
  return 0;
}

/* ---- flush -------------------------------------------------------------- */

void ks_table_writer_revoke(ks_table_writer *tw, ks_partition *p) {
  if (tw->format == KS_FORMAT_DELTA) {
    if (p->batch_last >= 0)
      ks_table_writer_flush(tw, "revoke");
    return;
  }
  if (p->batch)
    ks__tw_drop_batch(tw, p->batch);
  p->batch_first = p->batch_last = -1;
}

void ks_table_writer_flush(ks_table_writer *tw, const char *why) {
  int stop = strcmp(why, "shutdown") == 0;
  ks__batch *b = tw->open_list;
  while (b) {
    ks__batch *next = b->open_next;
    if (b->kp && b->kp->cut_at >= 0) {
      /* a recorded cut read again ends only at its recorded last; a stop
       * drops it, and the next run reads it again */
      if (stop) {
        b->kp->batch_first = b->kp->batch_last = -1;
        ks__tw_drop_batch(tw, b);
      }
    } else {
      ks__tw_flush_batch(tw, b, why);
    }
    b = next;
  }
}
