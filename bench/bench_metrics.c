/*
 * Scrape cost: how long rendering /metrics and /status takes for a
 * pipeline of 2 workers and 2 tables owning P partitions (16 by default,
 * then 256 and 4096), with every counter non-zero. The renderer reads
 * relaxed atomics and the partition lists the workers publish; this is
 * the time the HTTP thread spends per scrape, none of it on a worker.
 *
 *   bench_metrics [ITERATIONS]
 */
#include "bench/bench_common.h"
#include "http/internal.h"
#include "reactor/worker.h"

#include <stdio.h>
#include <stdlib.h>

static void run(int nparts, int iters) {
  ks_conf conf = {0};
  ks_conf_table tcs[2] = {{.name = "user_events", .format = KS_FORMAT_DELTA},
                          {.name = "orders", .format = KS_FORMAT_DELTA}};
  conf.tables = tcs;
  conf.ntables = 2;
  ks_table tables[2] = {{.index = 0, .conf = &tcs[0], .start_version = 10},
                        {.index = 1, .conf = &tcs[1], .start_version = 3}};
  char *topics[2] = {"user-events", "orders"};
  ks_pipeline *p = ks_calloc(1, sizeof *p);
  ks_worker *ws[2];
  p->conf = &conf;
  p->env.tables = tables;
  p->env.ntables = 2;
  p->env.topics = topics;
  p->env.ntopics = 2;
  p->nworkers = 2;
  p->workers = ws;
  p->started_ms = ks_mono_ms();
  for (int i = 0; i < 2; i++) {
    ks_worker *w = ws[i] = ks_calloc(1, sizeof *w);
    w->id = i;
    w->p = p;
    w->lane.tc = ks_calloc(2, sizeof *w->lane.tc);
    w->lane.topic_consumed = ks_calloc(2, sizeof *w->lane.topic_consumed);
    for (int t = 0; t < 2; t++) {
      atomic_store(&w->lane.tc[t].written, 123456789);
      atomic_store(&w->lane.tc[t].delta_version, 42);
      for (int r = 0; r < KS_REASON_COUNT; r++)
        atomic_store(&w->lane.tc[t].rejected[r], 1000 + r);
      atomic_store(&w->lane.topic_consumed[t], 987654321);
    }
    for (int b = 0; b <= KS_LATENCY_BUCKETS; b++)
      atomic_store(&w->lane.counters.latency[b], 17);
    atomic_store(&w->lane.counters.heartbeat_ms, ks_mono_ms());
  }
  ks_buf b;
  ks_buf_init(&b, KS__HTTP_BODY_MAX);
  double t0 = bench_now_s();
  size_t metrics_bytes = 0, status_bytes = 0;
  for (int it = 0; it < iters; it++) {
    /* a fresh list per worker, as each one publishes every second */
    for (int i = 0; i < 2; i++) {
      int n = nparts / 2;
      ks_part_snap *s = ks_malloc(sizeof *s + (size_t)n * sizeof s->parts[0]);
      s->n = (size_t)n;
      for (int j = 0; j < n; j++)
        s->parts[j] =
            (ks_part_status){j % 2, 2 * j + i, 1000000, 999000, 1000500, 0};
      ks_free(atomic_exchange(&ws[i]->snap_pub, s));
    }
    ks_buf_reset(&b);
    if (ks__http_render_metrics(p, 1.7e9, &b))
      abort();
    metrics_bytes = b.len;
  }
  double t1 = bench_now_s();
  for (int it = 0; it < iters; it++) {
    ks_buf_reset(&b);
    if (ks__http_render_status(p, ks_mono_ms(), &b))
      abort();
    status_bytes = b.len;
  }
  double t2 = bench_now_s();
  printf("%5d partitions: /metrics %7.1f us (%zu bytes), /status %7.1f us "
         "(%zu bytes)\n",
         nparts, (t1 - t0) / iters * 1e6, metrics_bytes,
         (t2 - t1) / iters * 1e6, status_bytes);
  ks_buf_free(&b);
  for (int i = 0; i < 2; i++) {
    ks_free(atomic_load(&ws[i]->snap_pub));
    ks_free(ws[i]->snap_seen);
    ks_free(ws[i]->lane.tc);
    ks_free(ws[i]->lane.topic_consumed);
    ks_free(ws[i]);
  }
  ks_free(p);
}

int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 2000;
  run(16, iters);
  run(256, iters / 4 + 1);
  run(4096, iters / 40 + 1);
  return 0;
}
