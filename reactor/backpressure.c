#include "reactor/backpressure.h"
#include "base/log.h"
#include "stages/dlq.h"
#include "stages/writer.h"
#include "stages/source.h"
#include "storage/s3/s3.h"

#include <stdint.h>

#define MIB(n) ((double)(n) / (1024.0 * 1024.0))

/* A table's rows are counted with the file bytes they become: the encoder
 * writes the file while the rows still exist, so both are in memory at the
 * moment of a flush. The file/rows ratio is learned from the table's last
 * flush for the budget (1 until then: the safe side). */
static double rows_cost(const ks_worker *w, size_t table) {
  return (double)ks_table_writer_buffered(w->lane.writers[table]) *
         (1.0 + w->file_ratio[table]);
}

size_t ks_worker_memory(const ks_worker *w) {
  /* also what waits on others: dead letters the DLQ has not taken, and
   * flushed sets the committer has not committed (their add actions) */
  double n = (double)w->lane.storage->held +
             (double)ks_dlq_pending_bytes(w->lane.dlq);
  for (size_t i = 0; i < w->p->env.ntables; i++)
    n += rows_cost(w, i) +
         (double)ks_table_writer_error_bytes(w->lane.writers[i]) +
         (double)ks_table_writer_uncommitted_bytes(w->lane.writers[i]);
  return (size_t)n;
}

/* Rows only shrink into file bytes when flushed: the largest table goes
 * first. While paused nothing new arrives, so each table is flushed at
 * most once per pause. */
static void flush_largest(ks_worker *w, double min_cost) {
  size_t best = SIZE_MAX;
  double best_cost = 0;
  for (size_t i = 0; i < w->p->env.ntables; i++) {
    double cost = rows_cost(w, i);
    if (cost > best_cost) {
      best = i;
      best_cost = cost;
    }
  }
  if (best == SIZE_MAX || best_cost < min_cost)
    return;
  ks_table_writer *tw = w->lane.writers[best];
  size_t rows = ks_table_writer_buffered(tw), held = w->lane.storage->held;
  ks_table_writer_flush(tw, "memory");
  /* Nothing completes inside the flush: what `held` grew by is the file
   * these rows became (plus the open file's tail). */
  size_t rows_after = ks_table_writer_buffered(tw);
  if (rows > rows_after && w->lane.storage->held > held)
    w->file_ratio[best] =
        (double)(w->lane.storage->held - held) / (double)(rows - rows_after);
  /* The buffers keep their size for the next row group otherwise; under
   * pressure they go back, so resident memory follows the count. */
  ks_table_writer_release(tw);
  ks_log_info("worker %d: flushed table %s for the memory budget: %.1f MiB "
              "of rows became %.1f MiB of file",
              w->id, w->p->env.tables[best].conf->name, MIB(rows - rows_after),
              MIB(w->lane.storage->held > held ? w->lane.storage->held - held : 0));
}

ks_bp_decision ks_backpressure_decide(unsigned pause_why,
                                      const ks_bp_input *in) {
  ks_bp_decision d = {pause_why, 0};
  if (in->admin)
    d.pause_why |= KS_PAUSE_ADMIN;
  else
    d.pause_why &= ~KS_PAUSE_ADMIN;
  if (in->storage_open > 0)
    d.pause_why |= KS_PAUSE_STORAGE;
  else if (in->storage_open == 0)
    d.pause_why &= ~KS_PAUSE_STORAGE;
  if (in->budget == 0 || in->stopping)
    return d;
  uint64_t high = in->budget / 100 * KS_MEMORY_HIGH_PCT;
  uint64_t low = in->budget / 100 * KS_MEMORY_LOW_PCT;
  uint64_t soft = in->budget / 100 * KS_MEMORY_FLUSH_PCT;
  if (!(d.pause_why & KS_PAUSE_MEMORY)) {
    if (in->used >= high) {
      d.pause_why |= KS_PAUSE_MEMORY;
      d.flush = 1;
    } else if (in->used >= soft) {
      d.flush = 2;
    }
  } else if (in->used < low) {
    d.pause_why &= ~KS_PAUSE_MEMORY;
  } else {
    d.flush = 1; /* still above the low mark: keep turning rows to files */
  }
  return d;
}

/* Logs what changed between two pause states. */
static void log_changes(ks_worker *w, unsigned was, unsigned now,
                        const ks_bp_input *in) {
  unsigned on = now & ~was, off = was & ~now;
  if (on & KS_PAUSE_ADMIN)
    ks_log_info("worker %d: paused over the REST API", w->id);
  if (off & KS_PAUSE_ADMIN)
    ks_log_info("worker %d: resumed over the REST API", w->id);
  if (on & KS_PAUSE_STORAGE)
    ks_log_warn("worker %d: storage circuit breaker open: pausing %d "
                "partitions",
                w->id, (int)atomic_load(&w->lane.counters.partitions));
  if (off & KS_PAUSE_STORAGE)
    ks_log_info("worker %d: storage reachable again: resuming partitions",
                w->id);
  if (on & KS_PAUSE_MEMORY)
    ks_log_warn("worker %d: memory %.1f MiB of the %.1f MiB budget (file "
                "bytes waiting for storage %.1f MiB, the rest rows counted "
                "with the file they become): pausing %d partitions",
                w->id, MIB(in->used), MIB(in->budget),
                MIB(w->lane.storage->held),
                (int)atomic_load(&w->lane.counters.partitions));
  if (off & KS_PAUSE_MEMORY)
    ks_log_info("worker %d: memory %.1f MiB, under %d%% of the budget: "
                "resuming %d partitions",
                w->id, MIB(in->used), KS_MEMORY_LOW_PCT,
                (int)atomic_load(&w->lane.counters.paused));
}

void ks_backpressure_check(ks_worker *w, int tick) {
  ks_lane *l = &w->lane;
  size_t used = ks_worker_memory(w);
  atomic_store_explicit(&l->counters.memory_bytes, used, memory_order_relaxed);
  size_t buffered = l->storage->held;
  for (size_t i = 0; i < l->env->ntables; i++)
    buffered += ks_table_writer_buffered(l->writers[i]) +
                ks_table_writer_error_bytes(l->writers[i]);
  atomic_store_explicit(&l->counters.buffered_bytes, buffered,
                        memory_order_relaxed);
  int64_t budget = w->p->conf->memory_budget;
  /* While an S3 circuit breaker is open nothing can be stored: stop
   * fetching instead of piling records up in memory, and resume once it
   * closes. The breaker is shared by every worker and lives in atomics:
   * polled on the tick. */
  ks_bp_input in = {
      .admin = atomic_load(&w->p->admin_paused) != 0,
      .storage_open = tick ? ks_s3_breakers_open() > 0 &&
                                 !atomic_load(&l->env->stopping)
                           : -1,
      .used = used,
      .budget = budget > 0 ? (uint64_t)budget : 0,
      .stopping = l->stopping,
  };
  unsigned before = l->pause_why;
  ks_bp_decision d = ks_backpressure_decide(before, &in);
  log_changes(w, before, d.pause_why, &in);
  if ((d.pause_why & ~before) & KS_PAUSE_MEMORY)
    atomic_fetch_add_explicit(&l->counters.memory_pauses, 1,
                              memory_order_relaxed);
  l->pause_why = d.pause_why;
  /* Past the flush mark only rows worth it are flushed: when most of the
   * memory is file bytes waiting for slow storage, small files would not
   * help, and the high mark's pause will. */
  if (d.flush)
    flush_largest(w, d.flush == 2 ? (double)used / 2 : 0);
  /* Pausing again on a tick covers partitions assigned since. */
  if (l->pause_why != before || (tick && l->pause_why))
    ks_source_sync_pause(l);
}
