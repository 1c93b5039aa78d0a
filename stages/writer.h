/*
 * Table writer (transform -> route -> encode -> upload -> flush): one per
 * table per worker. It owns the rows under construction, the open files
 * streaming to storage (one per partition directory, at most
 * max_open_partitions per batch) and the files already closed but not yet
 * committed. When a flush trigger fires (records, bytes, age, shutdown,
 * revoke) the batch's files are finished and its "flushed set" -- the
 * files plus each Kafka partition's offset range -- goes to the table's
 * committer (delta), or has its Kafka offsets committed once every file is
 * stored (parquet, jsonl), in order. flush_int.h has the details.
 */
#ifndef KS_STAGES_WRITER_H
#define KS_STAGES_WRITER_H

#include "stages/commit.h"
#include "stages/lane.h"
#include "stages/record/decode.h"
#include "stages/source.h"

#include <librdkafka/rdkafka.h>

/* What the lane does when one of the writer's flushed sets comes back
 * from its commit (fs->status says how it went); the writer has done its
 * own bookkeeping and frees the set afterwards. */
typedef void (*ks_set_returned_fn)(ks_lane *l, ks_table_writer *tw,
                                   const ks_flushed_set *fs);
ks_table_writer *ks_table_writer_new(ks_lane *w, ks_table *t,
                                     ks_set_returned_fn returned);
/* Closes timers; the writer must be idle. Frees itself. */
void ks_table_writer_close(ks_table_writer *tw);

/* Processes one Kafka message of partition p. Returns 0, or KS_EINVALID /
 * KS_EPARSE when the record was rejected and errors.tolerance is none
 * (the pipeline must stop; the record is not covered by any batch). */
int ks_table_writer_add(ks_table_writer *tw, ks_partition *p,
                        const rd_kafka_message_t *m);

/* Finishes the open file (if any) and queues its flushed set. */
void ks_table_writer_flush(ks_table_writer *tw, const char *why);

/* Partition p is revoked: delta flushes the writer (the partition's rows
 * share its files and commit now); parquet/jsonl drop p's open batch, so
 * the next owner reads it again from the committed offset and cuts the
 * same files (a flush here would cut them elsewhere). */
void ks_table_writer_revoke(ks_table_writer *tw, ks_partition *p);

/* Nothing buffered, no file open, every flushed set committed. */
int ks_table_writer_idle(const ks_table_writer *tw);
/* Bytes of rows buffered in column buffers (encoded file bytes waiting
 * for storage are counted by the storage: ks_storage.held). */
size_t ks_table_writer_buffered(const ks_table_writer *tw);
/* Bytes of error lines (errors.deadletter.path) not yet stored. */
size_t ks_table_writer_error_bytes(const ks_table_writer *tw);
/* Gives the column buffers' memory back when no row is buffered (they
 * are otherwise kept for the next row group): after a flush for the
 * memory budget. */
void ks_table_writer_release(ks_table_writer *tw);
/* Flushed sets not yet back from the committer (uploading or committing). */
int ks_table_writer_inflight(const ks_table_writer *tw);
/* Bytes the flushed sets at the committer hold (their add actions and
 * stats, estimated), for the memory budget. */
uint64_t ks_table_writer_uncommitted_bytes(const ks_table_writer *tw);
/* Monotonic ms at which the oldest batch not yet committed (open,
 * flushing or at the committer) took its first record; 0: none. */
uint64_t ks_table_writer_oldest_ms(const ks_table_writer *tw);
/* Drops the open batch -- buffered rows and the open file -- without
 * committing it (a rewind: stages/rewind.h). */
void ks_table_writer_discard(ks_table_writer *tw);

#endif
