/* The helpers every backend calls (reachability, bytes stored). Backends
 * include storage.h, so nothing here may include a backend: the factory
 * that does (ks_storage_open) is storage/open.c. */
#include "storage/storage.h"

#include "base/ks.h"

ks_storage_stats ks_storage_stats_g;

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
