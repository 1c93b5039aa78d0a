/*
 * What the operator endpoints (http/) may read of the layers under the
 * reactor, in one face: the process-wide storage and S3 statistics
 * (lock-free atomics kept by storage/), whether storage is reachable and
 * how many S3 circuit breakers are open. http/ includes this and
 * reactor/worker.h, never storage/ or stages/ directly, so the layers it
 * reads can change behind the reactor.
 */
#ifndef KS_REACTOR_OBSERVE_H
#define KS_REACTOR_OBSERVE_H

#include "reactor/worker.h"
#include "storage/s3/s3.h"
#include "storage/storage.h"

/* Storage answered the last look (breakers closed, no fault streak). */
static inline int ks_observe_storage_reachable(void) {
  return ks_storage_reachable();
}
/* Storage refusals in a row that no retry heals (0: none since the last
 * accepted write); the newest one's text into why. */
static inline int ks_observe_storage_refused(char *why, size_t n) {
  return ks_storage_refused(why, n);
}
/* S3 endpoints whose circuit breaker is open now. */
static inline int ks_observe_breakers_open(void) {
  return ks_s3_breakers_open();
}
/* Requests by operation and outcome, and their latency histogram. */
static inline const ks_s3_stats *ks_observe_s3_stats(void) {
  return &ks_s3_stats_g;
}
/* Bytes uploaded and writes in flight, every backend. */
static inline const ks_storage_stats *ks_observe_storage_stats(void) {
  return &ks_storage_stats_g;
}

#endif
