/*
 * lane: one worker's run-time stages behind one face. A lane owns what
 * the record path of one core holds -- its partitions (stages/source.h),
 * one table writer per table (stages/writer.h), the committers of the
 * tables hashed to it (stages/commit.h), their rewinds, its storage and
 * dead-letter producer -- and the counters those stages keep.
 *
 * The reactor (reactor/worker.c) creates the lane, runs its loop and
 * drives it; stages never name a worker or the pipeline. What they need
 * of the runtime goes through the lane's ops, which the reactor supplies:
 * post a message to another lane, report a fatal error, say "maybe
 * drained", start or stop consuming. A unit test supplies its own ops
 * (a fake host) and runs a lane's stages without Kafka or a pipeline.
 *
 * Everything here runs on the lane's loop unless a comment says otherwise.
 */
#ifndef KS_STAGES_LANE_H
#define KS_STAGES_LANE_H

#include "base/mailbox.h"
#include "conf/conf.h"
#include "stages/dlq.h"
#include "stages/record/reject.h"
#include "stages/table/table.h"
#include "storage/storage.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <uv.h>

typedef struct ks_lane ks_lane;
typedef struct ks_partition ks_partition;
typedef struct ks_table_writer ks_table_writer;
typedef struct ks_committer ks_committer;
typedef struct ks_rewind ks_rewind;
struct ks_dlq;

/* Upper bounds (seconds) of the per-table Delta commit duration histogram:
 * from a commit's first attempt to the version landing. */
#define KS_COMMIT_BUCKETS 12
extern const double ks_commit_bounds[KS_COMMIT_BUCKETS];

/* Per table, per lane: what that lane did for the table. The lane
 * writes, anyone reads (relaxed atomics); readers sum over lanes, so
 * every table's numbers carry its label however many tables there are. */
typedef struct ks_table_counters {
  atomic_uint_fast64_t written, files;
  atomic_uint_fast64_t skipped; /* tombstones ignored, records filtered or
                                   dropped by a transform */
  atomic_uint_fast64_t rejected[KS_REASON_COUNT];
  atomic_uint_fast64_t schema_keyword[KS_KEYWORD_COUNT]; /* "schema" rejects */
  atomic_uint_fast64_t commits, conflicts; /* the committer's lane */
  atomic_int_fast64_t delta_version;       /* the committer's lane */
  atomic_int_fast64_t last_commit_unix_ms; /* the committer's; 0: none */
  atomic_int files_open;                   /* files being written now */
  atomic_uint_fast64_t deadletter_records; /* lines in stored error files */
  atomic_uint_fast64_t deadletter_failures[KS_DLF_COUNT];
  /* the committer's: commit durations (the renderer makes the buckets
   * cumulative) and the newest Kafka record timestamp a commit made
   * visible (Unix ms; 0: none yet) */
  atomic_uint_fast64_t commit_duration[KS_COMMIT_BUCKETS + 1]; /* last: +Inf */
  atomic_uint_fast64_t commit_duration_sum_us;
  atomic_int_fast64_t newest_record_unix_ms;
  /* the writer's: monotonic ms the oldest batch not yet committed took
   * its first record (0: none) */
  atomic_uint_fast64_t oldest_uncommitted_ms;
} ks_table_counters;

/* Upper bounds (seconds) of the commit latency histogram: consumed ->
 * visible in the table, which flush.interval dominates. */
#define KS_LATENCY_BUCKETS 14
extern const double ks_latency_bounds[KS_LATENCY_BUCKETS];

/* The newest record timestamp a table keeps (Unix ms of
 * 9999-12-31T23:59:59.999Z): past it _kafka_timestamp is null, since the
 * microseconds Parquet stores would overflow or no reader could take it. */
#define KS_TIMESTAMP_MAX_MS INT64_C(253402300799999)

/* Counters a lane writes and anyone reads without locks. */
typedef struct ks_counters {
  atomic_uint_fast64_t consumed, consumed_bytes, written, files, commits;
  atomic_uint_fast64_t rejected[KS_REASON_COUNT];
  atomic_int_fast64_t delta_version;
  atomic_uint_fast64_t heartbeat_ms;   /* monotonic; the loop turns */
  atomic_int partitions;               /* owned now */
  atomic_int paused;                   /* partitions paused now */
  atomic_uint_fast64_t memory_bytes;   /* held against reactor.memory_budget */
  atomic_uint_fast64_t memory_pauses;  /* times the budget paused us */
  atomic_uint_fast64_t zombie_sets;    /* flushed sets refused as zombies */
  atomic_uint_fast64_t rewinds;        /* writers rewound to the log */
  atomic_uint_fast64_t offset_commit_failures; /* Kafka offset commits
                                                  the group refused */
  atomic_uint_fast64_t timestamps_out_of_range; /* record timestamps past
                                                   KS_TIMESTAMP_MAX_MS,
                                                   written as null */
  atomic_uint_fast64_t deadletter_pending; /* dead letters sent, not yet
                                              acknowledged or retried */
  atomic_uint_fast64_t dlq_unavailable_ms; /* monotonic start of a run of
                                              transient DLQ failures; 0:
                                              none */
  atomic_uint_fast64_t buffered_bytes; /* rows in column buffers, file
                                          bytes not yet acknowledged, error
                                          lines not yet stored */
  /* commit latency of the sets this lane's committers committed; the
   * renderer makes the buckets cumulative */
  atomic_uint_fast64_t latency[KS_LATENCY_BUCKETS + 1]; /* last: +Inf */
  atomic_uint_fast64_t latency_sum_us;
} ks_counters;

/* What every lane of the process shares, read-only while lanes run (but
 * for the two flags, which the host sets). */
typedef struct ks_lane_env {
  const ks_conf *conf;
  ks_table *tables;
  size_t ntables;
  char **topics; /* every configured topic once (metric label order) */
  size_t ntopics;
  rd_kafka_t *rk; /* the consumer: seeks, pauses, offset commits */
  ks_lane **lanes;
  int nlanes;
  const char *dlq_bootstrap; /* overrides bootstrap.servers (mock), or NULL */
  struct ks_registry *registry; /* schema_registry, or NULL */
  atomic_int stopping;       /* the process is shutting down */
  atomic_int fatal;          /* a fatal error was reported */
} ks_lane_env;

/* What the host does for its lanes. Each is called on the calling lane's
 * loop, with that lane. */
typedef struct ks_lane_ops {
  /* Runs m on lane `to`'s loop. KS_ESTOPPED once that lane has closed
   * (m stays the caller's). */
  int (*post)(ks_lane *from, int to, ks_msg *m);
  /* Something the process cannot go on from: stop it (exit 1). */
  void (*fatal)(ks_lane *l, const char *why);
  /* A set came back, a flush or a rewind ended: the host re-checks what
   * waits for the lane (revoke, shutdown). */
  void (*maybe_drained)(ks_lane *l);
  /* Start (on = 1) or stop reading the lane's Kafka queue. */
  void (*consume)(ks_lane *l, int on);
} ks_lane_ops;

struct ks_lane {
  int id;
  uv_loop_t *loop;
  const ks_lane_ops *ops;
  ks_lane_env *env;
  rd_kafka_queue_t *rkq; /* the lane's partitions forward here */
  ks_storage *storage;
  struct ks_dlq *dlq;        /* dead-letter producer, when a table has a DLQ */
  ks_table_writer **writers; /* one per table */
  ks_committer **committers; /* one per table this lane commits */
  ks_rewind **rewinds;       /* per table, created when first needed */
  ks_partition *partitions;  /* owned partitions (list) */
  ks_partition *last;        /* the partition of the last record handled:
                                the next one is most often its neighbour
                                (revoked ones are skipped; cleared when
                                the partition is freed) */
  unsigned pause_why;        /* why fetching is paused (0: it is not) */
  int consuming;             /* the host reads the Kafka queue */
  int revoking;              /* waiting for revoked partitions to commit */
  int revoke_gen;            /* the revoke being waited for (the host's) */
  int stopping;              /* flushing for shutdown */
  ks_counters counters;
  ks_table_counters *tc;                /* per table */
  atomic_uint_fast64_t *topic_consumed; /* per env->topics */
};

/* Sets up l's stages on loop (storage, DLQ producer, writers,
 * committers); l->id, ops and env set by the caller. 0 or an error; on
 * either, ks_lane_close + ks_lane_free undo what was opened. */
int ks_lane_open(ks_lane *l, uv_loop_t *loop);
/* On the lane's loop: closes the stages' handles (rewinds, writers,
 * committers, the DLQ producer). */
void ks_lane_close(ks_lane *l);
/* After the loop ended: closes storage (run the loop once more for its
 * close callbacks) and frees what ks_lane_open allocated. */
void ks_lane_free(ks_lane *l);

/* Every writer idle, no rewind active, every committer settled: shutdown
 * flushing is complete. Also moves rewinds on. */
int ks_lane_drained(ks_lane *l);
/* Shutdown: stop consuming and flush every table. */
void ks_lane_flush_all(ks_lane *l, const char *why);
/* Publishes what the operator endpoints read of the lane's stages (the
 * oldest uncommitted batch per table, pending dead letters); the host
 * calls it about once a second. */
void ks_lane_observe(ks_lane *l);

/* Shorthands for the ops. */
static inline void ks_lane_fatal(ks_lane *l, const char *why) {
  l->ops->fatal(l, why);
}
static inline void ks_lane_maybe_drained(ks_lane *l) {
  l->ops->maybe_drained(l);
}
static inline int ks_lane_post(ks_lane *l, int to, ks_msg *m) {
  return l->ops->post(l, to, m);
}

/* Index of topic in env->topics, or -1. */
static inline int ks_lane_topic_index(const ks_lane_env *env,
                                      const char *topic) {
  for (size_t i = 0; i < env->ntopics; i++)
    if (strcmp(env->topics[i], topic) == 0)
      return (int)i;
  return -1;
}

#endif
