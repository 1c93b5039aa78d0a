/* The helpers every backend calls (reachability, bytes stored). Backends
 * include storage.h, so nothing here may include a backend: the factory
 * that does (ks_storage_open) is storage/open.c. */
#include "storage/storage.h"

#include "base/ks.h"

#include <pthread.h>
#include <stdio.h>

ks_storage_stats ks_storage_stats_g;

/* The refusal streak: a count any thread reads, and the newest refusal's
 * text under a lock (written once per refused request: rare). */
static atomic_int refused_streak;
static pthread_mutex_t refused_mu = PTHREAD_MUTEX_INITIALIZER;
static char refused_why[384];

void ks_storage_note_refused(const char *what) {
  pthread_mutex_lock(&refused_mu);
  snprintf(refused_why, sizeof refused_why, "%s", what);
  pthread_mutex_unlock(&refused_mu);
  atomic_fetch_add_explicit(&refused_streak, 1, memory_order_relaxed);
}

void ks_storage_note_accepted(void) {
  if (atomic_load_explicit(&refused_streak, memory_order_relaxed))
    atomic_store_explicit(&refused_streak, 0, memory_order_relaxed);
}

int ks_storage_refused(char *why, size_t n) {
  int k = atomic_load_explicit(&refused_streak, memory_order_relaxed);
  if (k && why && n) {
    pthread_mutex_lock(&refused_mu);
    snprintf(why, n, "%s", refused_why);
    pthread_mutex_unlock(&refused_mu);
  }
  return k;
}

void ks_storage_note(int reachable, uint64_t bytes) {
  ks_storage_stats *st = &ks_storage_stats_g;
  if (bytes)
    atomic_fetch_add_explicit(&st->bytes_uploaded, bytes, memory_order_relaxed);
  atomic_store_explicit(reachable ? &st->last_ok_ms : &st->last_fail_ms,
                        ks_mono_ms(), memory_order_relaxed);
}

int ks_storage_reachable(void) {
  const ks_storage_stats *st = &ks_storage_stats_g;
  return atomic_load_explicit(&st->last_fail_ms, memory_order_relaxed) <=
         atomic_load_explicit(&st->last_ok_ms, memory_order_relaxed);
}
