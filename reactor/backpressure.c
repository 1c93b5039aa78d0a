#include "reactor/backpressure.h"
#include "base/log.h"
#include "stages/flush.h"
#include "stages/source.h"
#include "storage/s3/s3.h"

#define MIB(n) ((double)(n) / (1024.0 * 1024.0))

size_t ks_worker_memory(const ks_worker *w) {
  size_t n = w->storage->held;
  for (size_t i = 0; i < w->p->ntables; i++)
    n += ks_table_writer_buffered(w->writers[i]);
  return n;
}

/* While an S3 circuit breaker is open nothing can be stored: stop fetching
 * instead of piling records up in memory, and resume once it closes. The
 * breaker is shared by every worker and lives in atomics: polled. */
static void check_storage(ks_worker *w) {
  int open = ks_s3_breakers_open() > 0 && !atomic_load(&w->p->stopping);
  int was = (w->pause_why & KS_PAUSE_STORAGE) != 0;
  if (open && !was) {
    ks_log_warn("worker %d: storage circuit breaker open: pausing %d "
                "partitions", w->id,
                (int)atomic_load(&w->counters.partitions));
    w->pause_why |= KS_PAUSE_STORAGE;
  } else if (!open && was) {
    ks_log_info("worker %d: storage reachable again: resuming partitions",
                w->id);
    w->pause_why &= ~KS_PAUSE_STORAGE;
  }
}

/* Rows only shrink into file bytes when flushed: the largest table goes
 * first. While paused nothing new arrives, so each table is flushed at
 * most once per pause. */
static void flush_largest(ks_worker *w) {
  ks_table_writer *best = NULL;
  size_t best_bytes = 0;
  int best_i = -1;
  for (size_t i = 0; i < w->p->ntables; i++) {
    size_t n = ks_table_writer_buffered(w->writers[i]);
    if (n > best_bytes) {
      best = w->writers[i];
      best_bytes = n;
      best_i = (int)i;
    }
  }
  if (best == NULL)
    return;
  ks_log_info("worker %d: flushing table %s (%.1f MiB of rows) to get under "
              "the memory budget", w->id, w->p->tables[best_i].conf->name,
              MIB(best_bytes));
  ks_table_writer_flush(best, "memory");
}

static void check_memory(ks_worker *w) {
  size_t used = ks_worker_memory(w);
  atomic_store_explicit(&w->counters.memory_bytes, used,
                        memory_order_relaxed);
  int64_t budget = w->p->conf->memory_budget;
  if (budget <= 0 || w->stopping)
    return;
  uint64_t high = (uint64_t)budget / 100 * KS_MEMORY_HIGH_PCT;
  uint64_t low = (uint64_t)budget / 100 * KS_MEMORY_LOW_PCT;
  if (!(w->pause_why & KS_PAUSE_MEMORY)) {
    if (used < high)
      return;
    w->pause_why |= KS_PAUSE_MEMORY;
    atomic_fetch_add_explicit(&w->counters.memory_pauses, 1,
                              memory_order_relaxed);
    ks_log_warn("worker %d: memory %.1f MiB of the %.1f MiB budget (file "
                "bytes waiting for storage %.1f MiB): pausing %d partitions",
                w->id, MIB(used), MIB(budget), MIB(w->storage->held),
                (int)atomic_load(&w->counters.partitions));
  } else if (used < low) {
    w->pause_why &= ~KS_PAUSE_MEMORY;
    ks_log_info("worker %d: memory %.1f MiB, under %d%% of the budget: "
                "resuming %d partitions", w->id, MIB(used), KS_MEMORY_LOW_PCT,
                (int)atomic_load(&w->counters.paused));
    return;
  }
  flush_largest(w);
}

void ks_backpressure_check(ks_worker *w, int tick) {
  unsigned before = w->pause_why;
  if (tick)
    check_storage(w);
  check_memory(w);
  /* Pausing again on a tick covers partitions assigned since. */
  if (w->pause_why != before || (tick && w->pause_why))
    ks_source_sync_pause(w);
}
