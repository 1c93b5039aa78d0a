#include "reactor/backpressure.h"
#include "base/log.h"
#include "stages/flush.h"
#include "stages/source.h"
#include "storage/s3/s3.h"

#include <stdint.h>

#define MIB(n) ((double)(n) / (1024.0 * 1024.0))

/* A table's rows are counted with the file bytes they become: the encoder
 * writes the file while the rows still exist, so both are in memory at the
 * moment of a flush. The file/rows ratio is learned from the table's last
 * flush for the budget (1 until then: the safe side). */
static double rows_cost(const ks_worker *w, size_t table) {
  return (double)ks_table_writer_buffered(w->writers[table]) *
         (1.0 + w->file_ratio[table]);
}

size_t ks_worker_memory(const ks_worker *w) {
  double n = (double)w->storage->held;
  for (size_t i = 0; i < w->p->ntables; i++)
    n += rows_cost(w, i) + (double)ks_table_writer_error_bytes(w->writers[i]);
  return (size_t)n;
}

/* While an S3 circuit breaker is open nothing can be stored: stop fetching
 * instead of piling records up in memory, and resume once it closes. The
 * breaker is shared by every worker and lives in atomics: polled. */
static void check_storage(ks_worker *w) {
  int open = ks_s3_breakers_open() > 0 && !atomic_load(&w->p->stopping);
  int was = (w->pause_why & KS_PAUSE_STORAGE) != 0;
  if (open && !was) {
    ks_log_warn("worker %d: storage circuit breaker open: pausing %d "
                "partitions",
                w->id, (int)atomic_load(&w->counters.partitions));
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
  size_t best = SIZE_MAX;
  double best_cost = 0;
  for (size_t i = 0; i < w->p->ntables; i++) {
    double cost = rows_cost(w, i);
    if (cost > best_cost) {
      best = i;
      best_cost = cost;
    }
  }
  if (best == SIZE_MAX)
    return;
  ks_table_writer *tw = w->writers[best];
  size_t rows = ks_table_writer_buffered(tw), held = w->storage->held;
  ks_table_writer_flush(tw, "memory");
  /* Nothing completes inside the flush: what `held` grew by is the file
   * these rows became (plus the open file's tail). */
  size_t rows_after = ks_table_writer_buffered(tw);
  if (rows > rows_after && w->storage->held > held)
    w->file_ratio[best] =
        (double)(w->storage->held - held) / (double)(rows - rows_after);
  /* The buffers keep their size for the next row group otherwise; under
   * pressure they go back, so resident memory follows the count. */
  ks_table_writer_release(tw);
  ks_log_info("worker %d: flushed table %s for the memory budget: %.1f MiB "
              "of rows became %.1f MiB of file",
              w->id, w->p->tables[best].conf->name, MIB(rows - rows_after),
              MIB(w->storage->held > held ? w->storage->held - held : 0));
}

static void check_memory(ks_worker *w) {
  size_t used = ks_worker_memory(w);
  atomic_store_explicit(&w->counters.memory_bytes, used, memory_order_relaxed);
  size_t buffered = w->storage->held;
  for (size_t i = 0; i < w->p->ntables; i++)
    buffered += ks_table_writer_buffered(w->writers[i]) +
                ks_table_writer_error_bytes(w->writers[i]);
  atomic_store_explicit(&w->counters.buffered_bytes, buffered,
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
                "bytes waiting for storage %.1f MiB, the rest rows counted "
                "with the file they become): pausing %d partitions",
                w->id, MIB(used), MIB(budget), MIB(w->storage->held),
                (int)atomic_load(&w->counters.partitions));
  } else if (used < low) {
    w->pause_why &= ~KS_PAUSE_MEMORY;
    ks_log_info("worker %d: memory %.1f MiB, under %d%% of the budget: "
                "resuming %d partitions",
                w->id, MIB(used), KS_MEMORY_LOW_PCT,
                (int)atomic_load(&w->counters.paused));
    return;
  }
  flush_largest(w);
}

static void check_admin(ks_worker *w) {
  int want = atomic_load(&w->p->admin_paused) != 0;
  int was = (w->pause_why & KS_PAUSE_ADMIN) != 0;
  if (want && !was) {
    ks_log_info("worker %d: paused over the REST API", w->id);
    w->pause_why |= KS_PAUSE_ADMIN;
  } else if (!want && was) {
    ks_log_info("worker %d: resumed over the REST API", w->id);
    w->pause_why &= ~KS_PAUSE_ADMIN;
  }
}

void ks_backpressure_check(ks_worker *w, int tick) {
  unsigned before = w->pause_why;
  check_admin(w);
  if (tick)
    check_storage(w);
  check_memory(w);
  /* Pausing again on a tick covers partitions assigned since. */
  if (w->pause_why != before || (tick && w->pause_why))
    ks_source_sync_pause(w);
}
