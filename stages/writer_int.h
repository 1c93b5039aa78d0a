/*
 * Internals of the table writer shared by flush.c (records, triggers) and
 * flush_file.c (partition files, batches, their way to the committer).
 *
 * A batch is what one commit covers: for delta the table writer's records
 * since the last flush, over every Kafka partition and partition
 * directory; for parquet and jsonl one Kafka partition's records (so that
 * record-count cuts fall on the same offsets in every run). A batch has up
 * to max_open_partitions open files, one per partition directory; the
 * least recently used one is finished first when a new directory would
 * pass the bound. Finished files upload while the batch goes on; the
 * batch's set goes out once it is flushed and all its files are stored.
 */
#ifndef KS_STAGES_WRITER_INT_H
#define KS_STAGES_WRITER_INT_H

#include "stages/commit.h"
#include "stages/dlq.h"
#include "stages/errfile.h"
#include "stages/writer.h"
#include "storage/jsonl/jsonl.h"
#include "storage/ostream.h"
#include "storage/parquet/writer.h"

typedef struct ks__batch ks__batch;
typedef struct ks__claim ks__claim;

/* ks__batch.claim */
enum {
  KS__CLAIM_NONE,    /* delta: the log records the batch */
  KS__CLAIM_WANTED,  /* flushed, waiting for its turn */
  KS__CLAIM_PENDING, /* the marker's put (or read-back) is in flight */
  KS__CLAIM_DONE,    /* recorded: its files may appear */
  KS__CLAIM_REFUSED  /* another cut was recorded: the batch is dropped */
};
typedef struct ks__pfile ks__pfile;

struct ks__pfile {
  ks__pfile *next, *prev; /* b->files, most recently used first */
  ks__batch *b;
  char *dir;       /* escaped partition directory, "" when none */
  char **values;   /* delta: partitionValues (NULL entries: null) */
  ks_rowgroup own; /* routed rows (parquet, partitioned delta) */
  ks_rowgroup *rg; /* &own, or the stage (direct) */
  ks_pq_writer *pq;
  ks_jsonl *jl;
  ks_ostream *os;
  char *rel; /* the file's path under the table */
  int64_t first_offset;
  uint64_t rows;
  uint64_t emitted; /* file bytes handed to the stream */
};

struct ks__batch {
  ks__batch *next;      /* FIFO of flushed batches */
  ks__batch *open_next; /* tw->open_list */
  ks_table_writer *tw;
  ks_partition *kp;   /* parquet/jsonl: its Kafka partition */
  uint64_t records;   /* consumed, valid or not */
  uint64_t rows;      /* in its finished files */
  ks__pfile *files;   /* open files, most recently used first */
  size_t nfiles;      /* open files */
  ks_delta_add *adds; /* finished files */
  size_t nadds, capadds;
  int files_pending; /* finished files storage has not acknowledged */
  int status;        /* first file failure */
  int flushed, discarded;
  ks_flushed_set *fs;
  /* parquet/jsonl: the batch's recorded cut (stages/table/cuts.h). Its
   * files are held (ks_ostream hold) until the cut is claimed. */
  int claim;                 /* KS__CLAIM_* */
  int64_t first, last;       /* the Kafka partition's offsets */
  int64_t forced_to;         /* cut at a recorded last, or -1 */
  const char *why;           /* what cut it (static) */
  ks_ostream **held;
  size_t nheld, capheld;
  ks_dlq_wait *dlq;     /* the batch's dead letters, acknowledged first */
  uint64_t consumed_ms; /* monotonic: its first record consumed */
  int64_t newest_ts_ms; /* Kafka timestamp (Unix ms) of its newest record */
};

struct ks_table_writer {
  ks_lane *w;
  ks_set_returned_fn returned; /* the lane's consequence of a commit */
  ks_table *t;
  ks_format format;
  int direct;        /* unpartitioned delta: the stage is the file's rows */
  ks_rowgroup stage; /* the decoder's row group */
  ks_decoder *dec;
  /* the columns the stage, the decoder and new files use: the table's,
   * or (schemaless) those of generation ls, which the open files were
   * opened with */
  ks_table_schema *ls;
  const ks_schema *schema;
  const ks_pq_schema *pq, *file_pq;
  size_t ndata;
  size_t *colmap; /* file column j <- stage column colmap[j] */
  size_t ncolmap;
  ks__batch *open_list;
  int nopen;
  size_t rows_bytes;   /* routed rows held in the files' row groups */
  uint64_t file_bytes; /* bytes the open files have emitted */
  uv_timer_t age_timer;
  ks__batch *head, *tail;
  ks_errfiles *ef; /* errors.deadletter.path, or NULL */
  ks__claim *claiming; /* the cut being claimed (one at a time: a
                          partition's cuts are claimed in order) */
  uv_timer_t claim_timer; /* retries of a claim storage refused */
  unsigned claim_attempt;
  int open_handles;       /* age_timer, claim_timer: freed at 0 */
  struct ks__sweep *sweep; /* removing old recorded cuts, or NULL */
  uint64_t swept_ms;       /* when the last sweep started (monotonic) */
  int uncommitted; /* sets at the committer */
  /* each set at the committer: its consumed_ms and estimated size */
  struct ks__sent {
    uint64_t ms, bytes;
    const void *fs;
  } *sent;
  size_t nsent, capsent;
  uint64_t sent_bytes; /* their sum */
  uint64_t seq;
  uint64_t rejects_logged;
  ks_buf dir, vals; /* the current row's partition */
  char route_err[256]; /* why the current row has no partition (a value
                          that cannot be a path), for its reject */
  uint8_t *isnull;
  struct ks__tw_wire *wire; /* value_format json_schema/avro, else NULL */
};

/* ---- writer_wire.c: Schema Registry records (value_format) ---- */
/* Decodes m's value through its wire prefix and registry schema into the
 * stage: 0, KS_EINVALID with rej, or KS_EAGAIN while the schema is being
 * fetched (the caller holds m and the partition; the lane replays them
 * once the registry has answered). */
int ks__tw_feed_wire(ks_table_writer *tw, const rd_kafka_message_t *m,
                     ks_reject *rej);
void ks__tw_wire_free(ks_table_writer *tw);

/* The open file of batch b for directory dir (opened, first record at
 * offset, when there is none). NULL only when storage refused to start. */
ks__pfile *ks__tw_file(ks_table_writer *tw, ks__batch *b, ks_partition *p,
                       const char *dir, int64_t offset);
/* Moves the staged row to its partition's file (and empties the stage). */
int ks__tw_route_row(ks_table_writer *tw, ks__batch *b, ks_partition *p,
                     const rd_kafka_message_t *m);
/* Encodes the file's buffered rows as a row group. */
void ks__tw_encode(ks_table_writer *tw, ks__pfile *f);
/* Finishes every file of b and queues its set. */
void ks__tw_flush_batch(ks_table_writer *tw, ks__batch *b, const char *why);
/* A file stream ended (stored or abandoned): the files_open gauge. */
void ks__tw_file_gone(ks_table_writer *tw);
/* Abandons an open batch and its open files (a revoke of its Kafka
 * partition, a rewind); finished files still uploading end on their own. */
void ks__tw_drop_batch(ks_table_writer *tw, ks__batch *b);
/* Abandons every open batch (rewind, close). */
void ks__tw_drop_files(ks_table_writer *tw);
/* Writer close: batches still waiting for their claim or files are
 * abandoned (their held files never appear). */
void ks__tw_abandon_flushed(ks_table_writer *tw);
/* Hands every flushed batch that is ready (files stored, dead letters
 * acknowledged, cut recorded) to its way out, in order. */
void ks__tw_send_ready(ks_table_writer *tw);
/* Frees a dropped batch once nothing of it is in flight. */
void ks__tw_free_discarded(ks__batch *b);
/* Recorded cuts (writer_cut.c): starts the next claim when none is in
 * flight; lets a batch's held files appear (store) or abandons them. */
void ks__tw_claim_next(ks_table_writer *tw);
void ks__tw_release_held(ks__batch *b, int store);

#endif
