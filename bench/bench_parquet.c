/*
 * Parquet encode benchmark, in one run:
 *  1. per type (BOOLEAN, INT32, INT64, DOUBLE, STRING, TIMESTAMP, DATE,
 *     DECIMAL(18) and DECIMAL(38)), per codec, dictionary on and off:
 *     values/s and MB/s of the column's in-memory bytes through
 *     ks_pq_writer (levels, dictionary, pages, statistics, compression),
 *     and the size of the encoded chunk relative to those bytes;
 *  2. the demo corpus (demo/events.h, shredded with stages/decode into the
 *     flat seed-schema columns + the _kafka_* columns): encode time and the
 *     compression ratio of each codec with the dictionary on and off,
 *     against the column bytes and against the JSON text.
 * Usage: bench_parquet [--values N] [--events N] [--rounds R]
 */
#include "bench/bench_common.h"
#include "base/ks.h"
#include "demo/events.h"
#include "stages/record/decode.h"
#include "stages/record/schema.h"
#include "storage/parquet/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int count_sink(void *arg, const uint8_t *data, size_t len) {
  (void)data;
  *(uint64_t *)arg += len;
  return 0;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static const char *const codec_names[] = {"none", "snappy", "zstd", "gzip"};

/* Encodes rg once with these options; returns seconds, *out the bytes. */
static double encode(const ks_pq_schema *s, const ks_rowgroup *rg,
                     const ks_pq_options *o, uint64_t *out) {
  *out = 0;
  double t0 = bench_now_s();
  ks_pq_writer *w = ks_pq_writer_new_schema(s, o, count_sink, out);
  if (ks_pq_writer_write_rowgroup(w, rg) || ks_pq_writer_close(w)) {
    fprintf(stderr, "bench_parquet: write failed\n");
    exit(1);
  }
  double t = bench_now_s() - t0;
  ks_pq_writer_free(w);
  return t;
}

static double best_encode(const ks_pq_schema *s, const ks_rowgroup *rg,
                          const ks_pq_options *o, int rounds, uint64_t *out) {
  double best = 1e9;
  for (int r = 0; r < rounds; r++) {
    double t = encode(s, rg, o, out);
    if (t < best)
      best = t;
  }
  return best;
}

/* One OPTIONAL column of n values (1 in 16 null), 4096 distinct values:
 * data a dictionary helps with, as event fields usually are. */
static void fill(ks_column *c, const ks_pq_node *leaf, size_t n) {
  char s[64];
  for (size_t i = 0; i < n; i++) {
    uint64_t x = next();
    if ((x & 15) == 0) {
      ks_column_append_null(c);
      continue;
    }
    uint64_t k = (x >> 8) % 4096;
    uint64_t v = k * 0x9e3779b97f4a7c15ULL;
    if (leaf->precision) {
      ks_int128 q = (ks_int128)(int64_t)(v % 1000000000000000ULL);
      if (leaf->precision > 18)
        q *= (ks_int128)1000000000;
      ks_column_append_decimal(c, 0, q);
      continue;
    }
    switch (leaf->spec.type) {
    case KS_COL_BOOLEAN:
      ks_column_append_bool(c, (int)(k & 1));
      break;
    case KS_COL_INT32:
      ks_column_append_i32(c, (int32_t)(v >> 40));
      break;
    case KS_COL_INT64:
      ks_column_append_i64(c, (int64_t)(v >> 4));
      break;
    case KS_COL_DOUBLE:
      ks_column_append_double(c, (double)(int64_t)(v >> 20) / 1024.0);
      break;
    case KS_COL_STRING: {
      int len = snprintf(s, sizeof s, "user-%llu-%s", (unsigned long long)k,
                         k & 1 ? "click" : "page_view");
      ks_column_append_str(c, s, (size_t)len);
      break;
    }
    case KS_COL_TIMESTAMP:
      ks_column_append_i64(c, 1700000000000000LL + (int64_t)(k * 1000003));
      break;
    case KS_COL_DATE:
      ks_column_append_i32(c, 19000 + (int32_t)k);
      break;
    default: /* not in the benchmark's schema */
      ks_column_append_null(c);
      break;
    }
  }
}

static void per_type(size_t n, int rounds) {
  static const char *names[] = {"BOOLEAN", "INT32",     "INT64",
                                "DOUBLE",  "STRING",    "TIMESTAMP",
                                "DATE",    "DECIMAL18", "DECIMAL38"};
  printf("\nper type: %zu values per column (1/16 null, 4096 distinct), "
         "best of %d\n",
         n, rounds);
  printf("%-10s %-6s %-5s %12s %9s %8s\n", "type", "codec", "dict",
         "values/s", "MB/s", "size");
  for (int t = 0; t < 9; t++) {
    ks_pq_schema *s = ks_pq_schema_new();
    ks_pq_node *root = ks_pq_schema_root(s);
    if (t < 7)
      ks_pq_add_leaf(root, names[t], KS_PQ_OPTIONAL, (ks_coltype)t);
    else
      ks_pq_add_decimal(root, names[t], KS_PQ_OPTIONAL, t == 7 ? 18 : 38, 4);
    ks_pq_schema_finish(s);
    ks_rowgroup rg;
    ks_rowgroup_init_schema(&rg, s);
    fill(&rg.cols[0], ks_pq_schema_leaf(s, 0), n);
    rg.nrows = n;
    double mb = (double)ks_rowgroup_bytes(&rg) / 1e6;
    for (int codec = 0; codec < 4; codec++) {
      for (int dict = 1; dict >= 0; dict--) {
        ks_pq_options o = {.codec = (ks_codec)codec, .no_dictionary = !dict};
        uint64_t out;
        double sec = best_encode(s, &rg, &o, rounds, &out);
        printf("%-10s %-6s %-5s %12.0f %9.1f %7.1f%%\n", names[t],
               codec_names[codec], dict ? "on" : "off", (double)n / sec,
               mb / sec, 100.0 * (double)out / (mb * 1e6));
      }
    }
    ks_rowgroup_free(&rg);
    ks_pq_schema_free(s);
  }
}

static void demo(size_t n, int rounds) {
  char err[512];
  ks_schema *js;
  if (ks_schema_load_string(bench_seed_schema, strlen(bench_seed_schema), "bench", &js,
                            err, sizeof err)) {
    fprintf(stderr, "bench_parquet: %s\n", err);
    exit(1);
  }
  size_t nd = ks_schema_ncolumns(js);
  ks_colspec *cols = ks_calloc(nd + 4, sizeof *cols);
  memcpy(cols, ks_schema_columns(js), nd * sizeof *cols);
  cols[nd + 0] = (ks_colspec){"_kafka_topic", KS_COL_STRING, 0};
  cols[nd + 1] = (ks_colspec){"_kafka_partition", KS_COL_INT32, 0};
  cols[nd + 2] = (ks_colspec){"_kafka_offset", KS_COL_INT64, 0};
  cols[nd + 3] = (ks_colspec){"_kafka_timestamp", KS_COL_TIMESTAMP, 1};
  ks_rowgroup rg;
  ks_rowgroup_init(&rg, cols, nd + 4);
  ks_decoder *d = ks_decoder_new(js, &rg, 0);
  ks_demo_gen g;
  ks_demo_gen_init(&g, 1, 50);
  ks_buf ev;
  ks_buf_init(&ev, 0);
  uint64_t json = 0;
  for (size_t i = 0; i < n; i++) {
    char key[32];
    const char *kind;
    ks_buf_reset(&ev);
    ks_demo_gen_next(&g, &ev, key, &kind);
    ks_rowgroup_mark_row(&rg);
    if (ks_decoder_feed(d, ev.data, ev.len, NULL) != 0)
      continue;
    json += ev.len;
    ks_column *m = &rg.cols[nd];
    ks_column_append_str(&m[0], "user-events", 11);
    ks_column_append_i32(&m[1], (int32_t)(i % 16));
    ks_column_append_i64(&m[2], (int64_t)i);
    ks_column_append_i64(&m[3], 1795258024696000 + (int64_t)i * 1000);
    ks_rowgroup_commit_row(&rg);
  }
  double colmb = (double)ks_rowgroup_bytes(&rg) / 1e6;
  printf("\ndemo corpus: %zu valid events of %zu, JSON %.1f MB, columns "
         "%.1f MB, best of %d\n",
         rg.nrows, n, (double)json / 1e6, colmb, rounds);
  printf("%-6s %-5s %12s %9s %10s %12s %10s\n", "codec", "dict", "rows/s",
         "MB/s", "parquet", "cols/parquet", "json/parquet");
  for (int codec = 0; codec < 4; codec++) {
    for (int dict = 1; dict >= 0; dict--) {
      ks_pq_options o = {.codec = (ks_codec)codec, .no_dictionary = !dict};
      uint64_t out;
      double sec = best_encode(rg.flat, &rg, &o, rounds, &out);
      printf("%-6s %-5s %12.0f %9.1f %8.1fMB %11.2fx %11.2fx\n",
             codec_names[codec], dict ? "on" : "off", (double)rg.nrows / sec,
             colmb / sec, (double)out / 1e6, colmb * 1e6 / (double)out,
             (double)json / (double)out);
    }
  }
  ks_buf_free(&ev);
  ks_decoder_free(d);
  ks_rowgroup_free(&rg);
  ks_free(cols);
  ks_schema_free(js);
}

int main(int argc, char **argv) {
  size_t values = 1000000, events = 300000;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--values") == 0)
      values = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--events") == 0)
      events = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--rounds") == 0)
      rounds = atoi(argv[i + 1]);
  }
  per_type(values, rounds);
  demo(events, rounds);
  return 0;
}
