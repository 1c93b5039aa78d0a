/*
 * The Kafka side of the control thread: the consumer (the process's one
 * group member), an optional in-process mock cluster, and the rebalance
 * callback that seeks each assigned partition to its Delta txn version + 1
 * and forwards its queue to the owning worker.
 */
#ifndef KS_REACTOR_KAFKA_H
#define KS_REACTOR_KAFKA_H

#include "reactor/pipeline.h"

/* Creates p->rk (and the mock cluster for bootstrap.servers "mock"),
 * subscribed to every table's topics. */
int ks_kafka_open(ks_pipeline *p, char *err, size_t errlen);
/* Subscribes to every table's topics. */
int ks_kafka_subscribe(ks_pipeline *p);
/* Leaves the group (revoking everything) and destroys the consumer. */
void ks_kafka_close(ks_pipeline *p);
/* The pace of those wakes: the wait before the next look, given the sum
 * of the assigned partitions' positions (taken) and whether some
 * partition has records still to fetch (behind). base_ms while records
 * are being taken; a look that finds none taken since the last while
 * still behind doubles it, up to a second. */
typedef struct ks_kafka_wake_pacer {
  int64_t taken;
  unsigned idle;
  int started;
} ks_kafka_wake_pacer;
uint64_t ks_kafka_wake_pace(ks_kafka_wake_pacer *w, int64_t taken,
                            int behind, int base_ms);
/* Stops the thread that wakes librdkafka's fetchers (before 2.2.0; see
 * reactor/kafka.c); ks_kafka_close does it too. Idempotent. */
void ks_kafka_waker_stop(ks_pipeline *p);
/* Serves the consumer queue: rebalances, errors, commit results. */
void ks_kafka_serve(ks_pipeline *p);
/* The worker that owns a partition: a stable hash, so a partition lands
 * on the same worker whenever it comes back. */
int ks_kafka_owner(const ks_pipeline *p, const char *topic, int32_t part);
/* librdkafka's prefetch sized from reactor.memory_budget (per worker) and
 * the worker count: queued.max.messages.kbytes (each worker's queue: an
 * eighth of its budget, 4..64 MiB) and fetch.max.bytes (a sixteenth of all
 * workers' budgets, 1..50 MiB). Once a queue is full librdkafka looks at it
 * again only after fetch.queue.backoff.ms (librdkafka 2.2.0 and later;
 * before, when its broker thread next wakes, up to a second): 20 ms where
 * librdkafka_version (rd_kafka_version()) has the key, so a small queue
 * refills as soon as it drains; 0 where it does not, and wake_ms 20
 * instead: ksink wakes the fetchers itself (reactor/kafka.c). kafka.* keys
 * in the config override the sizes. */
typedef struct ks_kafka_prefetch {
  int64_t queued_kbytes, fetch_bytes;
  int queue_backoff_ms; /* 0: the key is not there to set */
  /* Where it is not: how often the fetchers are woken instead, while a
   * partition has records still to fetch (0: no waking needed) */
  int wake_ms;
} ks_kafka_prefetch;
#define KS_KAFKA_QUEUE_BACKOFF_VERSION 0x020200ff /* 2.2.0 */
void ks_kafka_prefetch_sizes(int64_t budget, int workers,
                             int librdkafka_version, ks_kafka_prefetch *out);
/* Table index consuming a topic, or -1. */
int ks_kafka_table_of(const ks_pipeline *p, const char *topic);

#endif
