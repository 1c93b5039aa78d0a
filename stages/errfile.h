/*
 * Error files (tables[].errors.deadletter.path): rejected records written
 * to storage as JSON Lines, the file-based sibling of the Kafka
 * dead-letter queue (stages/dlq.h). Each line is one record: topic,
 * partition, offset, timestamp, key, value (a string when it is UTF-8,
 * else base64 with a flag), headers and the error (stage, class, reason,
 * the validator's pointer and message).
 *
 * One object per batch and partition, named
 * <path>/<topic>+<partition>+<first offset>.jsonl and written with
 * put-if-absent, and the batch (Delta txn, Kafka offsets) commits only
 * after its objects are durable -- through the same ks_dlq_wait the Kafka
 * dead letters use. A replay after a crash starts from the last commit,
 * so its first reject names the object the lost run wrote first: the name
 * exists, the object is read, the rejects it holds are skipped and the
 * rest goes on under the next name. Objects of one table writer are
 * written one at a time, in batch order, which is what makes that skip
 * exact: every error line lands exactly once.
 */
#ifndef KS_STAGES_ERRFILE_H
#define KS_STAGES_ERRFILE_H

#include "stages/record/decode.h"
#include "stages/dlq.h"
#include "storage/storage.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <uv.h>

typedef struct ks_errfiles ks_errfiles;

/* dir: the objects' directory under the storage root; records counts the
 * records of objects storage acknowledged (new ones, not the skipped);
 * failures[KS_DLF_COUNT] (stages/dlq.h) counts writes that must be tried
 * again, by reason. */
ks_errfiles *ks_errfiles_new(uv_loop_t *loop, ks_storage *st, const char *dir,
                             atomic_uint_fast64_t *records,
                             atomic_uint_fast64_t *failures);
/* What a line says about the record. */
typedef struct ks_errfile_rec {
  const char *topic;
  int32_t partition;
  int64_t offset;
  int64_t timestamp_ms;    /* -1: none */
  const void *key, *value; /* NULL: none */
  size_t key_len, value_len;
  const rd_kafka_headers_t *headers; /* NULL: none */
} ks_errfile_rec;
/* The record of a consumed message. */
ks_errfile_rec ks_errfile_rec_of(const char *topic,
                                 const rd_kafka_message_t *m);
/* Adds a rejected record to the open batch. */
void ks_errfiles_add(ks_errfiles *ef, const ks_errfile_rec *rec,
                     const ks_reject *rej);
/* Closes the open batch: its objects queue for writing, each counted in
 * *wait (allocated on first use) until storage has it. */
void ks_errfiles_flush(ks_errfiles *ef, ks_dlq_wait **wait);
/* Bytes of error lines held (open batch and objects not yet stored):
 * they count against reactor.memory_budget. */
size_t ks_errfiles_bytes(const ks_errfiles *ef);
/* Drops the open batch (a rewind reads its records again). */
void ks_errfiles_discard(ks_errfiles *ef);
/* Stops writing; what is not durable is dropped (its batches never
 * commit). Frees itself once the operation in flight has returned. */
void ks_errfiles_close(ks_errfiles *ef);

#endif
