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
/* Serves the consumer queue: rebalances, errors, commit results. */
void ks_kafka_serve(ks_pipeline *p);
/* The worker that owns a partition: a stable hash, so a partition lands
 * on the same worker whenever it comes back. */
int ks_kafka_owner(const ks_pipeline *p, const char *topic, int32_t part);
/* librdkafka's prefetch sized from reactor.memory_budget (per worker) and
 * the worker count: queued.max.messages.kbytes (each worker's queue: a
 * quarter of its budget, 4..64 MiB) and fetch.max.bytes (a sixteenth of all
 * workers' budgets, 1..50 MiB). Once a queue is full librdkafka looks at it
 * again only after fetch.queue.backoff.ms (librdkafka 2.2.0 and later;
 * before, a fixed second): 20 ms where librdkafka_version (rd_kafka_version())
 * has the key, so a small queue refills as soon as it drains; 0 where it
 * does not. kafka.* keys in the config override them. */
typedef struct ks_kafka_prefetch {
  int64_t queued_kbytes, fetch_bytes;
  int queue_backoff_ms; /* 0: the key is not there to set */
} ks_kafka_prefetch;
#define KS_KAFKA_QUEUE_BACKOFF_VERSION 0x020200ff /* 2.2.0 */
void ks_kafka_prefetch_sizes(int64_t budget, int workers,
                             int librdkafka_version, ks_kafka_prefetch *out);
/* Table index consuming a topic, or -1. */
int ks_kafka_table_of(const ks_pipeline *p, const char *topic);

#endif
