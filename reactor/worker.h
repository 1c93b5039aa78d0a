/*
 * A worker: one thread, one uv loop, pinned to a core when configured. It
 * owns the partitions the control thread gives it, the table writers that
 * buffer their rows, and the committers of the tables hashed to it. Kafka
 * messages reach it through its own rd_kafka queue, whose io-event pipe
 * the loop watches: no thread ever blocks inside librdkafka.
 */
#ifndef KS_REACTOR_WORKER_H
#define KS_REACTOR_WORKER_H

#include "base/mailbox.h"
#include "reactor/pipeline.h"
#include "storage/storage.h"

#include <librdkafka/rdkafka.h>
#include <uv.h>

typedef struct ks_partition ks_partition;
typedef struct ks_table_writer ks_table_writer;
typedef struct ks_committer ks_committer;
typedef struct ks_rewind ks_rewind;

/* What /status and the lag metrics show of one partition. */
typedef struct ks_part_status {
  int topic; /* index in p->topics */
  int32_t partition;
  int64_t position;  /* next offset to consume, -1 unknown */
  int64_t committed; /* next offset after the last commit, -1 none */
  int64_t high;      /* high watermark librdkafka last saw, -1 unknown */
  int paused;
} ks_part_status;

/* An immutable list of the worker's partitions, published every second. */
typedef struct ks_part_snap {
  size_t n;
  ks_part_status parts[];
} ks_part_snap;

struct ks_worker {
  int id;
  int core; /* -1: not pinned */
  ks_pipeline *p;
  uv_loop_t loop;
  uv_thread_t thread;
  ks_mailbox mailbox;

  rd_kafka_queue_t *rkq; /* partition queues forward here */
  int fds[2];            /* io-event pipe of rkq */
  uv_poll_t kpoll;
  uv_idle_t kidle;         /* keeps draining while the queue may hold more */
  uv_timer_t beat;         /* heartbeat for /healthz */
  uv_timer_t backpressure; /* storage breakers and memory budget */
  unsigned pause_why;      /* KS_PAUSE_* bits (reactor/backpressure.h) */
  double *file_ratio;      /* per table: file bytes / row bytes, last seen */
  int consuming;

  ks_storage *storage;
  struct ks_dlq *dlq;        /* dead-letter producer, when a table has a DLQ */
  ks_table_writer **writers; /* one per table */
  ks_committer **committers; /* one per table this worker commits */
  ks_rewind **rewinds;       /* per table, created when first needed */
  ks_partition *partitions;  /* owned partitions (list) */

  int revoking;     /* waiting for revoked partitions to commit */
  int stopping;     /* flushing for shutdown */
  int drained_sent; /* told the control thread we are drained */
  ks_counters counters;
  ks_table_counters *tc;                /* per table */
  atomic_uint_fast64_t *topic_consumed; /* per p->topics */
  /* The partition list handed over without a lock: the worker swaps a new
   * snapshot in (freeing one nobody took), the one reader thread swaps it
   * out into snap_seen, which only the reader touches. */
  _Atomic(ks_part_snap *) snap_pub;
  ks_part_snap *snap_seen;
};

int ks_worker_new(ks_pipeline *p, int id, int core, ks_worker **out);
int ks_worker_start(ks_worker *w);
/* Thread-safe; returns KS_ESTOPPED after the worker closed. */
int ks_worker_post(ks_worker *w, ks_msg *m);
void ks_worker_join(ks_worker *w);
/* On the worker's loop: publishes the partition list (lag, offsets). */
void ks_worker_publish(ks_worker *w);
/* Reader side (one thread at a time: the HTTP server's): the newest
 * published partition list, or NULL before the first. Valid until the
 * next call for this worker. */
const ks_part_snap *ks_worker_part_snap(ks_worker *w);
void ks_worker_free(ks_worker *w);

/* On the worker's loop: start/stop reading the Kafka queue. */
void ks_worker_consume_start(ks_worker *w);
void ks_worker_consume_stop(ks_worker *w);
/* On the worker's loop: checks whether shutdown flushing is complete and,
 * once, tells the control thread. */
void ks_worker_check_drained(ks_worker *w);
/* On the worker's loop: close every handle so the loop ends. */
void ks_worker_close(ks_worker *w);

#endif
