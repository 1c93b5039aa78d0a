/*
 * Backpressure: when a worker stops fetching from Kafka, and when it
 * starts again. Three reasons, kept as bits of the lane's pause_why so that one
 * never resumes what another paused:
 *  - admin: an operator paused the connector over the REST API
 *    (p->admin_paused, http/connect.c);
 *  - storage: an S3 circuit breaker is open, nothing can be stored;
 *  - memory: the worker holds more than 90% of reactor.memory_budget in
 *    column buffers plus file bytes waiting for storage. It pauses its
 *    partitions and flushes its largest table (rows become compressed
 *    file bytes, several times smaller, that leave as uploads finish); it
 *    resumes under 60%. The gap keeps it from flapping on every record.
 *
 * Callers: reactor/worker, after each drain turn (growth stops within one
 * turn's records) and on a 200 ms timer (finished uploads let it resume).
 */
#ifndef KS_REACTOR_BACKPRESSURE_H
#define KS_REACTOR_BACKPRESSURE_H

#include "reactor/worker.h"

#define KS_PAUSE_STORAGE 1u
#define KS_PAUSE_MEMORY 2u
#define KS_PAUSE_ADMIN 4u

/* High- and low-water marks, percent of reactor.memory_budget. Past the
 * flush mark the largest table is flushed without a pause (its rows
 * become smaller file bytes) so that a steady stream rarely reaches the
 * high mark: a pause stops fetching, and librdkafka drops what it had
 * prefetched when the partitions resume. */
#define KS_MEMORY_HIGH_PCT 90
#define KS_MEMORY_FLUSH_PCT 75
#define KS_MEMORY_LOW_PCT 60

/* The decision, apart from its inputs (unit-tested on its own). */
typedef struct ks_bp_input {
  int admin;        /* an operator asked for a pause */
  int storage_open; /* a storage breaker is open: 1/0; -1 not looked at */
  uint64_t used;    /* bytes held against the budget */
  uint64_t budget;  /* reactor.memory_budget; 0: memory not judged */
  int stopping;     /* shutdown flushing: memory not judged */
} ks_bp_input;
typedef struct ks_bp_decision {
  unsigned pause_why; /* KS_PAUSE_* bits to apply */
  int flush;          /* flush the largest table: 1 over the budget
                         (paused), 2 past the flush mark (not paused) */
} ks_bp_decision;
ks_bp_decision ks_backpressure_decide(unsigned pause_why,
                                      const ks_bp_input *in);

/* Bytes worker w holds against its budget (its loop only): rows (with the
 * file they become), file bytes waiting for storage, error lines. */
size_t ks_worker_memory(const ks_worker *w);
/* Re-evaluates both reasons and applies the result to the partitions.
 * `tick`: also re-checks the storage breakers and re-pauses (covering
 * partitions assigned since the last call). */
void ks_backpressure_check(ks_worker *w, int tick);

#endif
