/*
 * Stage-chain benchmark: parse + validate + shred + encode + compress over
 * an in-memory corpus of the demo's events, next to a bare yajl parse of
 * the same corpus, measured in the same run. Prints records/s, MB/s and
 * the ratio chain/bare, for the flat seed schema and for the demo's nested
 * schema, and for the columns a schemaless table learns from the corpus
 * (with the time learning took). Usage: bench_chain [--events N] [--codec C]
 * [--schema seed,nested,learnt] [--clock wall|cpu]
 * [--rounds R] (best of R rounds is reported). --clock cpu times every
 * step by the thread's CPU time (records/s of one busy core), which other
 * jobs on a shared machine disturb far less than the wall clock.
 */
#include "bench/bench_common.h"
#include "base/ks.h"
#include "demo/events.h"
#include "stages/record/decode.h"
#include "stages/record/infer.h"
#include "stages/record/schema.h"
#include "storage/parquet/writer.h"

#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>

static int count_sink(void *arg, const uint8_t *data, size_t len) {
  *(uint64_t *)arg += len;
  return 0;
}

/* The pipeline's steady state: one table writer's column buffers and
 * decoder live across row groups and files, so they are set up once and
 * reused by every round, as the table writer does. */
typedef struct chain_state {
  ks_pq_schema *pq; /* data columns, then the _kafka_* ones */
  size_t nd;
  ks_rowgroup rg;
  ks_decoder *d;
} chain_state;

static const ks_colspec meta_cols[] = {
    {"_kafka_topic", KS_COL_STRING, 0},
    {"_kafka_partition", KS_COL_INT32, 0},
    {"_kafka_offset", KS_COL_INT64, 0},
    {"_kafka_timestamp", KS_COL_TIMESTAMP, 1},
};

static void chain_init(chain_state *cs, const ks_schema *s) {
  char err[256];
  cs->nd = ks_schema_ncolumns(s);
  cs->pq = ks_schema_table_tree(s, meta_cols, 4, err, sizeof err);
  if (cs->pq == NULL) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  ks_rowgroup_init_schema(&cs->rg, cs->pq);
  cs->d = ks_decoder_new(s, &cs->rg, 0);
  ks_decoder_set_caller_marks(cs->d, 1); /* chain() marks every row */
}

static void chain_free(chain_state *cs) {
  ks_decoder_free(cs->d);
  ks_rowgroup_free(&cs->rg);
  ks_pq_schema_free(cs->pq);
}

__attribute__((noinline)) static double chain(chain_state *cs, const bench_corpus *c, ks_codec codec,
                    size_t *ok, uint64_t *out_bytes) {
  ks_rowgroup *rg = &cs->rg;
  size_t nd = cs->nd;
  *out_bytes = 0;
  ks_pq_options po = {.codec = codec};
  ks_pq_writer *w = ks_pq_writer_new_schema(cs->pq, &po, count_sink, out_bytes);
  const size_t rowgroup_bytes = 128u << 20;
  *ok = 0;
  ks_rowgroup_reset(rg);
  double t0 = bench_now_s();
  for (size_t i = 0; i < c->n; i++) {
    ks_rowgroup_mark_row(rg);
    if (ks_decoder_feed(cs->d, c->data + c->off[i], c->off[i + 1] - c->off[i],
                        NULL) != 0)
      continue;
    ks_column *m = &rg->cols[nd];
    ks_column_append_str(&m[0], "user-events", 11);
    ks_column_append_i32(&m[1], (int32_t)(i % 16));
    ks_column_append_i64(&m[2], (int64_t)i);
    ks_column_append_i64(&m[3], 1795258024696000 + (int64_t)i);
    ks_rowgroup_commit_row(rg);
    (*ok)++;
    if (ks_rowgroup_bytes(rg) >= rowgroup_bytes) {
      ks_pq_writer_write_rowgroup(w, rg);
      ks_rowgroup_reset(rg);
    }
  }
  ks_pq_writer_write_rowgroup(w, rg);
  ks_pq_writer_close(w);
  double t = bench_now_s() - t0;
  ks_pq_writer_free(w);
  return t;
}

static ks_schema *compile_tree(const ks_infer_node *t) {
  ks_schema *s = NULL;
  char err[512];
  if (ks_infer_compile(t, "learnt", &s, err, sizeof err)) {
    fprintf(stderr, "bench: learnt schema: %s\n", err);
    exit(1);
  }
  return s;
}

/* Schemaless: the columns learnt from the corpus as a table writer learns
 * them -- each record through the decoder of the columns so far, and one
 * with values outside them (KS_ENEWFIELD) taught to the tree. */
static ks_schema *learn_corpus(const bench_corpus *c, int *gens,
                               size_t *rejected, double *secs) {
  static const char *const reserved[] = {"_kafka_topic", "_kafka_partition",
                                         "_kafka_offset", "_kafka_timestamp"};
  double t0 = bench_now_s();
  ks_infer_node *tree = ks_infer_root();
  ks_schema *s = compile_tree(tree);
  ks_decoder *d = ks_decoder_new(s, NULL, 0);
  ks_decoder_set_refuse_dropped(d, 1);
  *gens = 0;
  *rejected = 0;
  for (size_t i = 0; i < c->n; i++) {
    const uint8_t *rec = c->data + c->off[i];
    size_t len = c->off[i + 1] - c->off[i];
    ks_reject rej;
    if (ks_decoder_feed(d, rec, len, &rej) != KS_ENEWFIELD)
      continue;
    int changed = 0;
    if (ks_infer_learn(tree, rec, len, reserved, 4, &changed, &rej) ||
        !changed) {
      (*rejected)++;
      continue;
    }
    (*gens)++;
    ks_decoder_free(d);
    ks_schema_free(s);
    s = compile_tree(tree);
    d = ks_decoder_new(s, NULL, 0);
    ks_decoder_set_refuse_dropped(d, 1);
  }
  ks_decoder_free(d);
  ks_infer_free(tree);
  *secs = bench_now_s() - t0;
  return s;
}

int main(int argc, char **argv) {
  size_t n = 1000000;
  int rounds = 3;
  const char *codecs = "snappy,zstd,none";
  const char *which = "seed,nested,learnt";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--events") == 0)
      n = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--rounds") == 0)
      rounds = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--codec") == 0)
      codecs = argv[i + 1];
    else if (strcmp(argv[i], "--schema") == 0)
      which = argv[i + 1];
    else if (strcmp(argv[i], "--clock") == 0)
      bench_clock = strcmp(argv[i + 1], "cpu") == 0 ? CLOCK_THREAD_CPUTIME_ID
                                                    : CLOCK_MONOTONIC;
  }
  bench_corpus c;
  bench_corpus_build(&c, n, 50);
  /* the seed schema (properties kept as JSON text) and the demo's own
   * schema (properties a struct with lists and DECIMALs) */
  char err[512];
  ks_schema *schemas[3] = {NULL, NULL, NULL};
  if (ks_schema_load_string(bench_seed_schema, strlen(bench_seed_schema),
                            "bench", &schemas[0], err, sizeof err) ||
      ks_schema_load_file(KS_SOURCE_DIR "/conf/schemas/user-events.json",
                          &schemas[1], err, sizeof err)) {
    fprintf(stderr, "bench: %s\n", err);
    return 1;
  }
  int gens;
  size_t refused;
  double learn_s;
  schemas[2] = learn_corpus(&c, &gens, &refused, &learn_s);
  static const char *const schema_names[3] = {"seed", "nested", "learnt"};
  double mb = (double)c.bytes / 1e6;
  printf("corpus: %zu demo events, %.1f MB (%.0f bytes/event), best of %d, "
         "%s\n",
         c.n, mb, (double)c.bytes / (double)c.n, rounds,
         bench_clock == CLOCK_MONOTONIC ? "wall clock" : "thread CPU clock");

  size_t ok_bare = 0;
  double bare = 1e9;
  for (int r = 0; r < rounds; r++) {
    double t = bench_bare_yajl(&c, &ok_bare);
    if (t < bare)
      bare = t;
  }
  printf("%-28s %12.0f records/s %8.1f MB/s  (%zu well-formed)\n",
         "bare yajl parse", (double)c.n / bare, mb / bare, ok_bare);

  static const struct {
    const char *name;
    ks_codec codec;
  } all[] = {{"snappy", KS_CODEC_SNAPPY},
             {"zstd", KS_CODEC_ZSTD},
             {"gzip", KS_CODEC_GZIP},
             {"none", KS_CODEC_NONE}};
  printf("schemaless: %d generations, %zu columns learnt from the corpus in "
         "%.3f s (%zu records with fields that could not become columns)\n",
         gens, ks_schema_ncolumns(schemas[2]), learn_s, refused);
  for (int si = 0; si < 3; si++) {
    if (strstr(which, schema_names[si]) == NULL)
      continue;
    chain_state cs;
    chain_init(&cs, schemas[si]);
    /* a schemaless table's decoder counts values outside the columns */
    ks_decoder_set_refuse_dropped(cs.d, si == 2);
    for (size_t k = 0; k < KS_ARRAY_SIZE(all); k++) {
      if (strstr(codecs, all[k].name) == NULL)
        continue;
      size_t ok = 0;
      uint64_t out = 0;
      double best = 1e9;
      for (int r = 0; r < rounds; r++) {
        double t = chain(&cs, &c, all[k].codec, &ok, &out);
        if (t < best)
          best = t;
      }
      char label[64];
      snprintf(label, sizeof label, "chain %s (%s)", schema_names[si],
               all[k].name);
      printf("%-28s %12.0f records/s %8.1f MB/s  ratio chain/bare %.2f  "
             "(%zu rows, parquet %.1f MB)\n",
             label, (double)c.n / best, mb / best, bare / best, ok,
             (double)out / 1e6);
    }
    chain_free(&cs);
  }
  /* Peak memory of the whole run: the corpus itself plus one table
   * writer's column buffers at their largest (a full row group). */
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak RSS %.1f MB (corpus %.1f MB held in memory)\n",
         (double)ru.ru_maxrss / 1024.0, mb);
  ks_schema_free(schemas[0]);
  ks_schema_free(schemas[1]);
  ks_schema_free(schemas[2]);
  bench_corpus_free(&c);
  return 0;
}
