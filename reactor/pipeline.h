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

#include "base/mailbox.h"
#include "conf/conf.h"
#include "stages/lane.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <uv.h>

typedef struct ks_pipeline ks_pipeline;
typedef struct ks_worker ks_worker;

struct ks_pipeline {
  const ks_conf *conf;
  /* what the lanes share: tables, topics, the consumer, the stop flags */
  ks_lane_env env;
  ks_worker **workers;
  int nworkers;
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

  int workers_started; /* their threads run (ks_pipeline_run) */
  int workers_closed;  /* closed without having run */
  int signals;             /* signals received */
  int drained;             /* workers that finished flushing */
  int exit_code;
  atomic_int assigned;     /* partitions assigned to this process */
  atomic_int joined;       /* the group gave us an assignment at least once */
  atomic_int admin_paused; /* PUT /connectors/<app_id>/pause (http/) */
  atomic_int admin_stopped; /* PUT .../stop: paused, reported STOPPED */

  /* Revoke handshake: the control thread waits until workers flushed. */
  uv_mutex_t revoke_lock;
  uv_cond_t revoke_cond;
  int revoke_pending;
  int revoke_gen;              /* which revoke the answers belong to */
  atomic_int revoke_timeouts;  /* revokes that passed their deadline */

  /* librdkafka before 2.2.0: the thread that wakes its fetchers
   * (reactor/kafka.c, fetch_waker) */
  uv_thread_t waker;
  uv_mutex_t waker_lock;
  uv_cond_t waker_cond;
  int waker_ms;   /* 0: not needed (the library has fetch.queue.backoff.ms) */
  int waker_on;   /* the thread runs */
  int waker_stop; /* under waker_lock */
  atomic_uint_fast64_t fetch_wakes; /* rounds of requests sent to wake */

  ks_counters total; /* table-wide counters not owned by one worker */
  uv_timer_t tick;
  uint64_t tick_ms;
  void (*tick_fn)(ks_pipeline *p, void *arg);
  void *tick_arg;
  uint64_t started_ms;
  uint64_t stop_ms; /* monotonic: when the graceful stop began; 0: none */
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

/* Control thread, inside the rebalance callback: every worker flushes
 * (or, when the assignment was lost, drops) the batches of the revoked
 * partitions and waits until they are committed (stages/source.h);
 * returns when every worker is done, or at a deadline (the partitions are
 * then treated as lost). */
void ks_pipeline_revoke_and_wait(ks_pipeline *p,
                                 const rd_kafka_topic_partition_list_t *parts,
                                 int lost);
/* Worker side: the worker's part of revoke `gen` has settled. */
void ks_pipeline_revoke_settled(ks_pipeline *p, int gen);
/* Thread-safe: worker `task` (-1: every worker) drops what it buffered
 * and continues from the tables' logs (Connect's task restart). 0 or the
 * first worker's error. */
int ks_pipeline_restart(ks_pipeline *p, int task);
/* The Kafka cluster id the consumer learnt from the brokers, into buf
 * ("" while unknown); never waits. Thread-safe. */
void ks_pipeline_cluster_id(ks_pipeline *p, char *buf, size_t n);
/* Bootstrap address of the in-process mock cluster, or NULL. */
const char *ks_pipeline_mock_bootstraps(const ks_pipeline *p);
/* Sums a counter over workers. */
typedef struct ks_totals {
  uint64_t consumed, consumed_bytes, written, rejected, files, commits;
  uint64_t paused, memory_pauses, zombie_sets, rewinds;
  uint64_t offset_commit_failures;
  uint64_t fetch_wakes; /* rounds of requests that woke the fetchers */
  uint64_t timestamps_out_of_range; /* written as null */
  uint64_t deadletter_pending;      /* dead letters not yet stored */
  uint64_t dlq_unavailable_since_ms; /* oldest transient DLQ failure streak
                                        start (monotonic); 0: none */
  uint64_t oldest_heartbeat_ms; /* the least recent worker heartbeat */
  uint64_t rejected_by[KS_REASON_COUNT];
  int64_t delta_version;
} ks_totals;
void ks_pipeline_totals(const ks_pipeline *p, ks_totals *t);
/* The schema registry did not answer the last time a worker asked it
 * (records wait, their partitions paused): 1 and why, else 0. Any thread. */
int ks_pipeline_registry_down(const ks_pipeline *p, char *why, size_t n);
/* Index of topic in p->topics, or -1. */
int ks_pipeline_topic_index(const ks_pipeline *p, const char *topic);
/* One table's counters summed over workers. */
typedef struct ks_table_totals {
  uint64_t written, files, commits, conflicts, rejected, deadletter_records;
  uint64_t skipped; /* null_values: ignore, filters, Debezium deletes */
  uint64_t rejected_by[KS_REASON_COUNT];
  uint64_t schema_keyword[KS_KEYWORD_COUNT];
  int64_t delta_version;
  int64_t last_commit_unix_ms;
  int64_t newest_record_unix_ms; /* newest Kafka timestamp visible; 0 none */
  uint64_t oldest_uncommitted_ms; /* when the oldest flushed-or-open batch
                                     not yet committed started (monotonic
                                     ms); 0: none */
  int files_open;
  uint64_t deadletter_failures[KS_DLF_COUNT]; /* by ks_dlf_reason */
  /* Delta commit durations: per bucket of ks_commit_bounds (not
   * cumulative; last: +Inf), their sum in microseconds */
  uint64_t commit_duration[KS_COMMIT_BUCKETS + 1];
  uint64_t commit_duration_sum_us;
} ks_table_totals;
void ks_pipeline_table_totals(const ks_pipeline *p, size_t table,
                              ks_table_totals *t);
/* Optional hook run on the control loop every interval (progress). */
void ks_pipeline_set_tick(ks_pipeline *p, uint64_t interval_ms,
                          void (*fn)(ks_pipeline *p, void *arg), void *arg);

#endif
