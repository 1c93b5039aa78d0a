/*
 * What the benchmarks share: a monotonic clock, the seed schema, an
 * in-memory corpus of the demo's events (one contiguous buffer, records
 * addressed by offsets) and the bare-yajl baseline every ratio is taken
 * against. Header-only: each bench is one executable.
 */
#ifndef KS_BENCH_COMMON_H
#define KS_BENCH_COMMON_H

#include "base/buf.h"
#include "base/ks.h"
#include "demo/events.h"

#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>

static const char bench_seed_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"user_id\":{\"type\":\"integer\"},"
    "\"event_type\":{\"type\":\"string\"},"
    "\"timestamp\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"properties\":{\"type\":\"object\"}},"
    "\"required\":[\"user_id\",\"event_type\",\"timestamp\"],"
    "\"additionalProperties\":false}";

typedef struct bench_corpus {
  uint8_t *data;
  size_t *off; /* record i is data[off[i], off[i+1]) */
  size_t n, bytes;
} bench_corpus;

static inline double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n demo events, invalid_permille of them deliberately invalid (seed 1). */
static inline void bench_corpus_build(bench_corpus *c, size_t n,
                                      int invalid_permille) {
  ks_demo_gen g;
  ks_demo_gen_init(&g, 1, invalid_permille);
  ks_buf b;
  ks_buf_init(&b, 0);
  c->off = ks_malloc((n + 1) * sizeof *c->off);
  for (size_t i = 0; i < n; i++) {
    c->off[i] = b.len;
    char key[32];
    const char *kind;
    ks_demo_gen_next(&g, &b, key, &kind);
  }
  c->off[n] = b.len;
  c->n = n;
  c->bytes = b.len;
  c->data = ks_buf_steal(&b, NULL);
}

static inline void bench_corpus_free(bench_corpus *c) {
  ks_free(c->data);
  ks_free(c->off);
}

/* Seconds to parse every record with yajl and no callbacks; *ok counts
 * the well-formed ones. */
__attribute__((noinline, unused)) static double bench_bare_yajl(const bench_corpus *c, size_t *ok) {
  yajl_callbacks cb;
  memset(&cb, 0, sizeof cb);
  double t0 = bench_now_s();
  *ok = 0;
  for (size_t i = 0; i < c->n; i++) {
    yajl_handle h = yajl_alloc(&cb, NULL, NULL);
    if (yajl_parse(h, c->data + c->off[i], c->off[i + 1] - c->off[i]) ==
            yajl_status_ok &&
        yajl_complete_parse(h) == yajl_status_ok)
      (*ok)++;
    yajl_free(h);
  }
  return bench_now_s() - t0;
}

#endif
