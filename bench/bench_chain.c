/*
 * Stage-chain benchmark: parse + validate + shred + encode + compress over
 * an in-memory corpus of the demo's events, next to a bare yajl parse of
 * the same corpus, measured in the same run. Prints records/s, MB/s and
 * the ratio chain/bare, for the flat seed schema and for the demo's nested
 * schema, and for the columns a schemaless table learns from the corpus
 * (with the time learning took); then the same events through the Schema
 * Registry wire format: JSON behind the 5-byte prefix (json_schema) and
 * Avro (the Avro decoder driving the same shredder), and Avro decoding
 * alone by ksink's decoder and by libavro's generic reader (when the
 * bench is built with libavro), and the same events as Debezium change
 * events unwrapped by the debezium_unwrap transform. Usage: bench_chain
 * [--events N] [--codec C]
 * [--schema seed,nested,learnt,registry,unwrap] (the rows to run)
 * [--clock wall|cpu] [--rounds R] (best of R rounds is reported).
 * --clock cpu times every step by the thread's CPU time (records/s of one
 * busy core), which other jobs on a shared machine disturb far less than
 * the wall clock.
 */
#include "bench/bench_avro.h"
#include "bench/bench_common.h"
#include "base/ks.h"
#include "demo/events.h"
#include "stages/record/avro.h"
#include "stages/record/decode.h"
#include "stages/record/wire.h"
#include "stages/record/infer.h"
#include "stages/record/schema.h"
#include "storage/parquet/writer.h"

#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>
#ifdef KS_HAVE_LIBAVRO
#include <avro.h>
#endif

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
  int mode; /* FEED_* */
  ks_avro_decoder *ad;
  const ks_avro_node *writer;
} chain_state;

enum { FEED_JSON, FEED_WIRE_JSON, FEED_WIRE_AVRO };

/* One record as the table writer takes it: plain JSON, or through the
 * wire prefix (the schema id's lookup is a compare, as in writer_wire.c's
 * cache) to the JSON or the Avro decoder. */
static int feed(chain_state *cs, const uint8_t *p, size_t n) {
  if (cs->mode == FEED_JSON)
    return ks_decoder_feed(cs->d, p, n, NULL);
  ks_wire w;
  ks_reject rej;
  if (ks_wire_parse(p, n, NULL, 0, &w, &rej) || w.id != 1)
    return KS_EINVALID;
  if (cs->mode == FEED_WIRE_JSON)
    return ks_decoder_feed(cs->d, w.payload, w.len, NULL);
  return ks_avro_decoder_feed(cs->ad, cs->writer, w.payload, w.len, NULL);
}

static const ks_colspec meta_cols[] = {
    {"_kafka_topic", KS_COL_STRING, 0},
    {"_kafka_partition", KS_COL_INT32, 0},
    {"_kafka_offset", KS_COL_INT64, 0},
    {"_kafka_timestamp", KS_COL_TIMESTAMP, 1},
};

static void chain_init(chain_state *cs, const ks_schema *s) {
  char err[256];
  memset(cs, 0, sizeof *cs);
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
  ks_avro_decoder_free(cs->ad);
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
    if (feed(cs, c->data + c->off[i], c->off[i + 1] - c->off[i]) != 0)
      continue;
    ks_column *m = &rg->cols[nd];
    ks_column_append_str(&m[0], "user-events", 11);
    ks_column_append_i32(&m[1], (int32_t)(i % 16));
    ks_column_append_i64(&m[2], (int64_t)i);
    ks_column_append_i64(&m[3], 1795258024696000 + (int64_t)i);
    ks_rowgroup_commit_row(rg);
    (*ok)++;
    if (ks_rowgroup_bytes_approx(rg) >= rowgroup_bytes) {
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

/* Best of rounds of chain() with codec: records/s over the n records of
 * c, printed with the ratio to the bare parse of the JSON corpus. */
static void chain_row(chain_state *cs, const bench_corpus *c, size_t n,
                      const char *label, ks_codec codec, int rounds,
                      double bare_rps) {
  size_t ok = 0;
  uint64_t out = 0;
  double best = 1e9;
  for (int r = 0; r < rounds; r++) {
    double t = chain(cs, c, codec, &ok, &out);
    if (t < best)
      best = t;
  }
  printf("%-28s %12.0f records/s %8.1f MB/s  ratio to bare %.2f  "
         "(%zu rows, parquet %.1f MB)\n",
         label, (double)n / best, (double)c->bytes / 1e6 / best,
         (double)n / best / bare_rps, ok, (double)out / 1e6);
}

/* Avro decoding alone (no columns): ksink's decoder with a validate-only
 * table decoder, and libavro's generic reader into one reused value. */
static void avro_decode_rows(const bench_corpus *a, const ks_schema *table,
                             const ks_avro_node *writer, int rounds,
                             double bare_rps) {
  ks_decoder *d = ks_decoder_new(table, NULL, 0);
  ks_avro_decoder *ad = ks_avro_decoder_new(d);
  ks_avro_decoder_skip_null_fields(ad, 1);
  double best = 1e9;
  size_t ok = 0;
  for (int r = 0; r < rounds; r++) {
    ok = 0;
    double t0 = bench_now_s();
    for (size_t i = 0; i < a->n; i++)
      ok += ks_avro_decoder_feed(ad, writer, a->data + a->off[i] + 5,
                                 a->off[i + 1] - a->off[i] - 5, NULL) == 0;
    double t = bench_now_s() - t0;
    if (t < best)
      best = t;
  }
  printf("%-28s %12.0f records/s  ratio to bare %.2f  (%zu decoded)\n",
         "avro decode: ksink", (double)a->n / best,
         (double)a->n / best / bare_rps, ok);
  ks_avro_decoder_free(ad);
  ks_decoder_free(d);
#ifdef KS_HAVE_LIBAVRO
  avro_schema_t sch;
  if (avro_schema_from_json_length(bench_avro_schema, strlen(bench_avro_schema),
                                   &sch)) {
    fprintf(stderr, "bench: libavro: %s\n", avro_strerror());
    return;
  }
  avro_value_iface_t *iface = avro_generic_class_from_schema(sch);
  avro_value_t val;
  avro_generic_value_new(iface, &val);
  avro_reader_t rd = avro_reader_memory(NULL, 0);
  best = 1e9;
  for (int r = 0; r < rounds; r++) {
    ok = 0;
    double t0 = bench_now_s();
    for (size_t i = 0; i < a->n; i++) {
      avro_reader_memory_set_source(rd, (const char *)a->data + a->off[i] + 5,
                                    (int64_t)(a->off[i + 1] - a->off[i] - 5));
      ok += avro_value_read(rd, &val) == 0;
    }
    double t = bench_now_s() - t0;
    if (t < best)
      best = t;
  }
  printf("%-28s %12.0f records/s  ratio to bare %.2f  (%zu decoded)\n",
         "avro decode: libavro", (double)a->n / best,
         (double)a->n / best / bare_rps, ok);
  avro_reader_free(rd);
  avro_value_decref(&val);
  avro_value_iface_decref(iface);
  avro_schema_decref(sch);
#else
  printf("avro decode: libavro         (bench built without libavro)\n");
#endif
}

/* The Schema Registry rows: the demo's events as a json_schema table
 * (JSON behind the wire prefix, the nested schema) and as an Avro table
 * (the Avro twin of the nested schema, bench_avro.h). */
static void registry_rows(const bench_corpus *c, const ks_schema *nested,
                          ks_codec codec, const char *cname, int rounds,
                          double bare_rps) {
  char label[64], err[512];
  bench_corpus w = {0};
  w.n = c->n;
  w.off = malloc((c->n + 1) * sizeof *w.off);
  w.data = malloc(c->bytes + 5 * c->n);
  for (size_t i = 0; i < c->n; i++) {
    size_t len = c->off[i + 1] - c->off[i];
    w.off[i] = w.bytes;
    memcpy(w.data + w.bytes, "\0\0\0\0\1", 5);
    memcpy(w.data + w.bytes + 5, c->data + c->off[i], len);
    w.bytes += 5 + len;
  }
  w.off[c->n] = w.bytes;
  chain_state cs;
  chain_init(&cs, nested);
  cs.mode = FEED_WIRE_JSON;
  snprintf(label, sizeof label, "json_schema wire (%s)", cname);
  chain_row(&cs, &w, w.n, label, codec, rounds, bare_rps);
  chain_free(&cs);
  free(w.data);
  free(w.off);

  const char *text = bench_avro_schema;
  size_t tl = strlen(text);
  ks_avro_schema *av = NULL;
  ks_schema *table = NULL;
  ks_buf js, ab;
  ks_buf_init(&js, 0);
  ks_buf_init(&ab, 0);
  if (ks_avro_schema_parse(&text, &tl, 1, &av, err, sizeof err) ||
      ks_avro_schema_to_json_schema(av, &js, err, sizeof err) ||
      ks_schema_load_string((char *)js.data, js.len, "avro", &table, err,
                            sizeof err)) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  bench_corpus a = {0};
  a.n = bench_avro_corpus(c->data, c->off, c->n, ks_avro_schema_root(av), &ab,
                          &a.off);
  a.data = ab.data;
  a.bytes = ab.len;
  chain_init(&cs, table);
  cs.mode = FEED_WIRE_AVRO;
  cs.writer = ks_avro_schema_root(av);
  cs.ad = ks_avro_decoder_new(cs.d);
  ks_avro_decoder_skip_null_fields(cs.ad, 1); /* as the table writer does */
  snprintf(label, sizeof label, "avro (%s)", cname);
  chain_row(&cs, &a, a.n, label, codec, rounds, bare_rps);
  chain_free(&cs);
  avro_decode_rows(&a, table, ks_avro_schema_root(av), rounds, bare_rps);
  free(a.off);
  ks_buf_free(&ab);
  ks_buf_free(&js);
  ks_schema_free(table);
  ks_avro_schema_free(av);
}

/* The transforms' cost: the corpus as Debezium change events (each
 * event the `after` row of an insert), unwrapped in the parsing pass into
 * the seed schema's columns (snappy), beside the bare parse of those
 * larger records and the plain chain's ratio above. */
static void unwrap_row(const bench_corpus *c, const ks_schema *seed,
                       double bare_plain, int rounds) {
  bench_corpus w = {0};
  ks_buf b;
  ks_buf_init(&b, 0);
  w.off = ks_malloc((c->n + 1) * sizeof *w.off);
  for (size_t i = 0; i < c->n; i++) {
    w.off[i] = b.len;
    ks_buf_append_str(&b, "{\"before\":null,\"after\":");
    ks_buf_append(&b, c->data + c->off[i], c->off[i + 1] - c->off[i]);
    ks_buf_appendf(&b, ",\"source\":{\"version\":\"2.5.0\",\"ts_ms\":%zu,"
                       "\"db\":\"shop\",\"table\":\"events\"},\"op\":\"c\","
                       "\"ts_ms\":%zu}",
                   1700000000000 + i, 1700000000007 + i);
  }
  w.off[c->n] = b.len;
  w.n = c->n;
  w.bytes = b.len;
  w.data = ks_buf_steal(&b, NULL);
  size_t ok = 0;
  double bare = 1e9;
  for (int r = 0; r < rounds; r++) {
    double t = bench_bare_yajl(&w, &ok);
    if (t < bare)
      bare = t;
  }
  ks_conf_transform x = {.kind = KS_XF_DEBEZIUM_UNWRAP};
  chain_state cs;
  chain_init(&cs, seed);
  ks_decoder_set_transforms(cs.d, &x, 1);
  uint64_t out = 0;
  double best = 1e9;
  for (int r = 0; r < rounds; r++) {
    double t = chain(&cs, &w, KS_CODEC_SNAPPY, &ok, &out);
    if (t < best)
      best = t;
  }
  double mb = (double)w.bytes / 1e6;
  printf("%-28s %12.0f records/s %8.1f MB/s  (%.0f bytes/event)\n",
         "bare yajl parse, debezium", (double)w.n / bare, mb / bare,
         (double)w.bytes / (double)w.n);
  printf("%-28s %12.0f records/s %8.1f MB/s  ratio chain/bare %.2f, to the "
         "plain bare parse %.2f  (%zu rows)\n",
         "chain seed unwrap (snappy)", (double)w.n / best, mb / best,
         bare / best, bare_plain / best, ok);
  chain_free(&cs);
  bench_corpus_free(&w);
}

int main(int argc, char **argv) {
  size_t n = 1000000;
  int rounds = 3;
  const char *codecs = "snappy,zstd,none";
  const char *which = "seed,nested,learnt,registry,unwrap";
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
  for (size_t k = 0; k < KS_ARRAY_SIZE(all) && strstr(which, "registry"); k++)
    if (strstr(codecs, all[k].name)) { /* the first codec asked for */
      registry_rows(&c, schemas[1], all[k].codec, all[k].name, rounds,
                    (double)c.n / bare);
      break;
    }
  if (strstr(which, "unwrap"))
    unwrap_row(&c, schemas[0], bare, rounds);
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
