/*
 * The pipeline: one process, one Kafka consumer (the group member), N
 * workers (one uv loop per core). The control thread runs its own small
 * loop for signals, the consumer's rebalance events and progress; workers
 * own partitions, column buffers, open files and uploads outright, and
 * talk to each other only through mailboxes.
 *
 * Callers: cli/ (run, demo). Stages (stages/) run on the workers.
 */
#ifndef KS_REACTOR_PIPELINE_H
#define KS_REACTOR_PIPELINE_H

#include "conf/conf.h"
#include "base/mailbox.h"
#include "stages/schema.h"
#include "storage/parquet/column.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <uv.h>

typedef struct ks_pipeline ks_pipeline;
typedef struct ks_worker ks_worker;
typedef struct ks_http ks_http;

/* Reject reasons counted per table (metric label order). */
#define KS_REASON_MAP(XX)                                                      \
  XX(MALFORMED_JSON, "malformed_json")                                         \
  XX(INVALID_UTF8, "invalid_utf8")                                             \
  XX(SCHEMA, "schema")                                                         \
  XX(TOO_LARGE, "too_large")                                                   \
  XX(NULL_VALUE, "null_value")                                                 \
  XX(TYPE_CONFLICT, "type_conflict")                                           \
  XX(NEW_FIELD, "new_field")
#define KS_REASON_ENUM_(n, s) KS_REASON_##n,
enum ks_reason { KS_REASON_MAP(KS_REASON_ENUM_) KS_REASON_COUNT };
#undef KS_REASON_ENUM_
const char *ks_reason_name(int reason);
int ks_reason_from_label(const char *label);

/* The JSON Schema keyword a schema reject failed on (ks_reject.keyword),
 * counted per table: every draft-07 assertion, "$ref" (a reference that
 * recursed without consuming input), "false" (a false schema), "maxDepth"
 * (nesting past the validator's limit), and "other" for a reject with no
 * keyword (a value its column cannot store). */
#define KS_KEYWORD_MAP(XX)                                                     \
  XX(TYPE, "type")                                                             \
  XX(ENUM, "enum")                                                             \
  XX(CONST, "const")                                                           \
  XX(MULTIPLE_OF, "multipleOf")                                                \
  XX(MAXIMUM, "maximum")                                                       \
  XX(EXCLUSIVE_MAXIMUM, "exclusiveMaximum")                                    \
  XX(MINIMUM, "minimum")                                                       \
  XX(EXCLUSIVE_MINIMUM, "exclusiveMinimum")                                    \
  XX(MAX_LENGTH, "maxLength")                                                  \
  XX(MIN_LENGTH, "minLength")                                                  \
  XX(PATTERN, "pattern")                                                       \
  XX(ITEMS, "items")                                                           \
  XX(ADDITIONAL_ITEMS, "additionalItems")                                      \
  XX(MAX_ITEMS, "maxItems")                                                    \
  XX(MIN_ITEMS, "minItems")                                                    \
  XX(UNIQUE_ITEMS, "uniqueItems")                                              \
  XX(CONTAINS, "contains")                                                     \
  XX(MAX_PROPERTIES, "maxProperties")                                          \
  XX(MIN_PROPERTIES, "minProperties")                                          \
  XX(REQUIRED, "required")                                                     \
  XX(PROPERTIES, "properties")                                                 \
  XX(PATTERN_PROPERTIES, "patternProperties")                                  \
  XX(ADDITIONAL_PROPERTIES, "additionalProperties")                            \
  XX(DEPENDENCIES, "dependencies")                                             \
  XX(PROPERTY_NAMES, "propertyNames")                                          \
  XX(IF, "if")                                                                 \
  XX(THEN, "then")                                                             \
  XX(ELSE, "else")                                                             \
  XX(ALL_OF, "allOf")                                                          \
  XX(ANY_OF, "anyOf")                                                          \
  XX(ONE_OF, "oneOf")                                                          \
  XX(NOT, "not")                                                               \
  XX(FORMAT, "format")                                                         \
  XX(REF, "$ref")                                                              \
  XX(FALSE, "false")                                                           \
  XX(MAX_DEPTH, "maxDepth")                                                    \
  XX(OTHER, "other")
#define KS_KEYWORD_ENUM_(n, s) KS_KEYWORD_##n,
enum ks_keyword { KS_KEYWORD_MAP(KS_KEYWORD_ENUM_) KS_KEYWORD_COUNT };
#undef KS_KEYWORD_ENUM_
const char *ks_keyword_name(int keyword);
/* KS_KEYWORD_OTHER for NULL or a name not in the map. */
int ks_keyword_from_name(const char *name);

typedef struct ks_table_schema ks_table_schema; /* stages/schemaless.h */

/* A configured table, read-only once the pipeline runs (but for `live`). */
typedef struct ks_table {
  int index;
  const ks_conf_table *conf;
  ks_schema *schema;     /* owned */
  ks_pq_schema *pq;      /* owned: the data columns, then the _kafka_* ones */
  size_t ncols, ndata;   /* leaves: all, and the data columns' */
  int committer;         /* worker that runs this table's committer */
  char *schema_string;   /* Delta schemaString of cols */
  int64_t start_version; /* Delta version found at start-up (-1: none) */
  const char *conf_file; /* the config file, for messages */
  /* partitioning (stages/partition.h); NULL: none */
  struct ks_partitioner *partitioner;
  char **partition_columns; /* Delta metaData.partitionColumns */
  size_t npartition_columns;
  /* the columns of the table's files: pq without the partition columns
   * (delta), else pq itself (not owned then) */
  ks_pq_schema *file_pq;
  /* the _kafka_* columns every row carries after the data columns */
  const ks_colspec *meta;
  size_t nmeta;
  /* schemaless (no schema file): columns learnt from the records. The
   * fields above hold the first generation; `live` the newest, changed
   * only under live_lock (stages/schemaless.h) */
  int schemaless;
  _Atomic(ks_table_schema *) live;
  uv_mutex_t live_lock;
} ks_table;

/* Per table, per worker: what that worker did for the table. The worker
 * writes, anyone reads (relaxed atomics); http/ sums over workers, so
 * every table's numbers carry its label however many tables there are. */
typedef struct ks_table_counters {
  atomic_uint_fast64_t written, files;
  atomic_uint_fast64_t rejected[KS_REASON_COUNT];
  atomic_uint_fast64_t schema_keyword[KS_KEYWORD_COUNT]; /* "schema" rejects */
  atomic_uint_fast64_t commits, conflicts; /* the committer's worker */
  atomic_int_fast64_t delta_version;       /* the committer's worker */
  atomic_int_fast64_t last_commit_unix_ms; /* the committer's; 0: none */
  atomic_int files_open;                   /* files being written now */
  atomic_uint_fast64_t deadletter_records; /* lines in stored error files */
} ks_table_counters;

/* Upper bounds (seconds) of the commit latency histogram: consumed ->
 * visible in the table, which flush.interval dominates. */
#define KS_LATENCY_BUCKETS 14
extern const double ks_latency_bounds[KS_LATENCY_BUCKETS];

/* Counters a worker writes and anyone reads without locks. */
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
  atomic_uint_fast64_t buffered_bytes; /* rows in column buffers, file
                                          bytes not yet acknowledged, error
                                          lines not yet stored */
  /* commit latency of the sets this worker's committers committed; the
   * renderer makes the buckets cumulative */
  atomic_uint_fast64_t latency[KS_LATENCY_BUCKETS + 1]; /* last: +Inf */
  atomic_uint_fast64_t latency_sum_us;
} ks_counters;

struct ks_pipeline {
  const ks_conf *conf;
  ks_table *tables;
  size_t ntables;
  char **topics; /* every configured topic once (metric label order) */
  size_t ntopics;
  ks_worker **workers;
  int nworkers;
  rd_kafka_t *rk;
  void *mock_rk;      /* rd_kafka_t hosting an in-process mock cluster */
  void *mock_cluster; /* rd_kafka_mock_cluster_t */
  char *mock_bootstraps;
  int mock_partitions; /* partitions of topics created on the mock */

  uv_loop_t ctl_loop;
  ks_mailbox ctl_mailbox;
  uv_signal_t sigint, sigterm;
  uv_poll_t consumer_poll;
  int consumer_fds[2];
  rd_kafka_queue_t *consumer_q;

  int signals;         /* signals received */
  atomic_int stopping; /* shutdown begun (read by http/ and the demo) */
  int drained;         /* workers that finished flushing */
  int exit_code;
  atomic_int fatal;        /* a worker hit a fatal error */
  atomic_int assigned;     /* partitions assigned to this process */
  atomic_int joined;       /* the group gave us an assignment at least once */
  atomic_int admin_paused; /* PUT /connectors/<app_id>/pause (http/) */

  /* Revoke handshake: the control thread waits until workers flushed. */
  uv_mutex_t revoke_lock;
  uv_cond_t revoke_cond;
  int revoke_pending;

  ks_counters total; /* table-wide counters not owned by one worker */
  uv_timer_t tick;
  uint64_t tick_ms;
  void (*tick_fn)(ks_pipeline *p, void *arg);
  void *tick_arg;
  uint64_t started_ms;
  ks_http *http; /* operator endpoints; NULL when http.listen is off */
};

/* Builds the pipeline from a validated config: loads schemas, creates the
 * consumer (and a mock cluster for bootstrap.servers "mock"). `schemas`
 * may give a pre-loaded schema per table (NULL: load table->schema_path).
 * Returns 0 or a negative code with a message in err (exit 2 material). */
int ks_pipeline_new(const ks_conf *conf, ks_schema **schemas, ks_pipeline **out,
                    char *err, size_t errlen);
/* Runs until shutdown completes; returns the process exit code. */
int ks_pipeline_run(ks_pipeline *p);
/* Starts a graceful shutdown (thread-safe: posts to the control loop). */
void ks_pipeline_stop(ks_pipeline *p);
void ks_pipeline_free(ks_pipeline *p);

/* Called on worker w's loop once it has flushed and committed everything
 * after a stop. */
void ks_pipeline_worker_drained(ks_pipeline *p, ks_worker *w);

/* Bootstrap address of the in-process mock cluster, or NULL. */
const char *ks_pipeline_mock_bootstraps(const ks_pipeline *p);
/* Sums a counter over workers. */
typedef struct ks_totals {
  uint64_t consumed, consumed_bytes, written, rejected, files, commits;
  uint64_t paused, memory_pauses, zombie_sets, rewinds;
  uint64_t oldest_heartbeat_ms; /* the least recent worker heartbeat */
  uint64_t rejected_by[KS_REASON_COUNT];
  int64_t delta_version;
} ks_totals;
void ks_pipeline_totals(const ks_pipeline *p, ks_totals *t);
/* Index of topic in p->topics, or -1. */
int ks_pipeline_topic_index(const ks_pipeline *p, const char *topic);
/* One table's counters summed over workers. */
typedef struct ks_table_totals {
  uint64_t written, files, commits, conflicts, rejected, deadletter_records;
  uint64_t rejected_by[KS_REASON_COUNT];
  uint64_t schema_keyword[KS_KEYWORD_COUNT];
  int64_t delta_version;
  int64_t last_commit_unix_ms;
  int files_open;
} ks_table_totals;
void ks_pipeline_table_totals(const ks_pipeline *p, size_t table,
                              ks_table_totals *t);
/* Optional hook run on the control loop every interval (progress). */
void ks_pipeline_set_tick(ks_pipeline *p, uint64_t interval_ms,
                          void (*fn)(ks_pipeline *p, void *arg), void *arg);

#endif
