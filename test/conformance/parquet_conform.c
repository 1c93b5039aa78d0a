/*
 * Parquet conformance suite: writes a directory of files with ksink's
 * writer -- a matrix of types, nested shapes to depth 4, null patterns,
 * codecs, dictionary on/off/overflow, page v1/v2, several row groups and
 * pages (`matrix`), seeded random schemas and records (`property`), or the
 * fuzz corpus (`seeds`) -- each next to a JSON file holding its schema,
 * row groups and input records, then runs test/tools/pq_conform.mjs, which
 * reads every file with DuckDB, hyparquet and parquet-wasm and compares.
 *
 *   pq_conform matrix DIR | property DIR SEED COUNT | seeds DIR CORPUS
 *   pq_conform mkseeds CORPUS COUNT    (writes fuzz seeds; not run by ctest)
 *
 * Records go through the reference shredder (parquet_ref.c), not
 * stages/decode.c, so the writer is checked against an independent
 * reading of the Dremel rules. The `pipeline` mode also turns each random
 * schema into a JSON Schema, loads it as the pipeline does, and shreds
 * every record through stages/decode.c as well: its column buffers must
 * equal the reference shredder's, entry for entry.
 *
 *   pq_conform pipeline DIR SEED COUNT
 */
#include "parquet_fuzzin.h"
#include "parquet_gen.h"
#include "parquet_ref.h"
#include "stages/record/decode.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DIE(...)                                                               \
  do {                                                                         \
    fprintf(stderr, "pq_conform: " __VA_ARGS__);                               \
    fputc('\n', stderr);                                                       \
    exit(1);                                                                   \
  } while (0)

static const char *const codec_names[] = {"none", "snappy", "zstd", "gzip"};

static int sink_file(void *arg, const uint8_t *p, size_t n) {
  return fwrite(p, 1, n, arg) == n ? 0 : KS_EIO;
}

/* Records, one JSON text each. */
typedef struct recs {
  ks_buf text;
  size_t *off; /* record i: text[off[i], off[i + 1]) */
  size_t n, cap;
} recs;

static void recs_add(recs *r, const void *p, size_t n) {
  if (r->n + 2 > r->cap) {
    r->cap = r->cap ? r->cap * 2 : 64;
    r->off = realloc(r->off, r->cap * sizeof *r->off);
  }
  if (r->n == 0)
    r->off[0] = 0;
  ks_buf_append(&r->text, p, n);
  r->off[++r->n] = r->text.len;
}

static void recs_free(recs *r) {
  ks_buf_free(&r->text);
  free(r->off);
  memset(r, 0, sizeof *r);
}

/* Writes DIR/NAME.parquet and DIR/NAME.json. Row groups hold rg[i]
 * records each (the last takes the rest). strict: every record must
 * shred; otherwise records that do not are dropped (fuzz inputs). With a
 * flat schema (`specs`) the ks_colspec API is used end to end. Returns
 * the rows written. */
static void same_columns(const char *name, const ks_rowgroup *a,
                         const ks_rowgroup *b, const char *rec, size_t n);

static size_t write_case_js(const char *dir, const char *name,
                            const ks_pq_schema *s, const ks_colspec *specs,
                            size_t nspecs, const ks_pq_options *opt,
                            const char *dict, const size_t *rg, size_t nrg,
                            const recs *in, int strict, const ks_schema *js) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.parquet", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f)
    DIE("%s: cannot create", path);
  ks_rowgroup g;
  ks_pq_writer *w;
  if (specs) {
    ks_rowgroup_init(&g, specs, nspecs);
    s = g.flat;
    w = ks_pq_writer_new(specs, nspecs, opt, sink_file, f);
  } else {
    ks_rowgroup_init_schema(&g, s);
    w = ks_pq_writer_new_schema(s, opt, sink_file, f);
  }
  ks_rowgroup g2;
  ks_decoder *dec = NULL;
  if (js) {
    ks_rowgroup_init_schema(&g2, s);
    dec = ks_decoder_new(js, &g2, 0);
  }
  ks_buf meta, rows;
  ks_buf_init(&meta, 0);
  ks_buf_init(&rows, 0);
  ks_buf_append_str(&meta, "{\"schema\":");
  ref_describe(&meta, s);
  ks_buf_appendf(&meta, ",\"codec\":\"%s\",\"dict\":\"%s\",\"pageV2\":%s,"
                        "\"statsBytes\":%zu,\"rowgroups\":[",
                 codec_names[opt->codec], dict,
                 opt->page_v2 ? "true" : "false",
                 opt->stats_bytes ? opt->stats_bytes : 64);
  size_t k = 0, total = 0, ngroups = 0;
  for (size_t r = 0; r < nrg && k < in->n; r++) {
    size_t want = r + 1 == nrg ? in->n - k : rg[r];
    for (size_t i = 0; i < want && k < in->n; i++, k++) {
      jarena a = {0};
      jval v;
      const char *t = (const char *)in->text.data + in->off[k];
      size_t tn = in->off[k + 1] - in->off[k];
      int bad = jparse(&a, t, tn, &v) || ref_shred(&g, s, &v);
      jarena_free(&a);
      if (dec && !bad) {
        ks_reject rej;
        if (ks_decoder_feed(dec, (const uint8_t *)t, tn, &rej))
          DIE("%s: record %zu rejected by the pipeline's decoder: %s: %.*s",
              name, k, rej.message, (int)tn, t);
        ks_rowgroup_commit_row(&g2);
        same_columns(name, &g, &g2, t, tn);
      }
      if (bad) {
        if (strict)
          DIE("%s: record %zu does not fit the schema: %.*s", name, k,
              (int)tn, t);
        continue;
      }
      ks_buf_append_str(&rows, total ? ",\n" : "\n");
      ks_buf_append(&rows, t, tn);
      total++;
    }
    if (g.nrows) {
      ks_buf_appendf(&meta, "%s%zu", ngroups ? "," : "", g.nrows);
      ngroups++;
    }
    int rc = ks_pq_writer_write_rowgroup(w, &g);
    if (rc)
      DIE("%s: write_rowgroup: %d", name, rc);
    ks_rowgroup_reset(&g);
    if (dec)
      ks_rowgroup_reset(&g2);
  }
  if (dec) {
    ks_decoder_free(dec);
    ks_rowgroup_free(&g2);
  }
  ks_pq_writer_add_kv(w, "ksink.case", name);
  int rc = ks_pq_writer_close(w);
  if (rc)
    DIE("%s: close: %d", name, rc);
  if (ks_pq_writer_rows(w) != (int64_t)total)
    DIE("%s: %lld rows written, %zu shredded", name,
        (long long)ks_pq_writer_rows(w), total);
  fclose(f);
  ks_buf_append_str(&meta, "],\"rows\":[");
  ks_buf_append(&meta, rows.data, rows.len);
  ks_buf_append_str(&meta, "]}\n");
  snprintf(path, sizeof path, "%s/%s.json", dir, name);
  f = fopen(path, "wb");
  if (!f || fwrite(meta.data, 1, meta.len, f) != meta.len || fclose(f))
    DIE("%s: cannot write", path);
  ks_buf_free(&meta);
  ks_buf_free(&rows);
  ks_pq_writer_free(w);
  ks_rowgroup_free(&g);
  return total;
}

static size_t write_case(const char *dir, const char *name,
                         const ks_pq_schema *s, const ks_colspec *specs,
                         size_t nspecs, const ks_pq_options *opt,
                         const char *dict, const size_t *rg, size_t nrg,
                         const recs *in, int strict) {
  return write_case_js(dir, name, s, specs, nspecs, opt, dict, rg, nrg, in,
                       strict, NULL);
}

static void dump_col(const char *what, const ks_column *c) {
  fprintf(stderr, "  %s: %zu entries, defs", what, c->defs.len);
  for (size_t i = 0; i < c->defs.len && i < 40; i++)
    fprintf(stderr, " %d", c->defs.data[i]);
  fprintf(stderr, "; reps");
  for (size_t i = 0; i < c->reps.len && i < 40; i++)
    fprintf(stderr, " %d", c->reps.data[i]);
  fprintf(stderr, "; %zu value bytes\n", c->values.len);
}

/* The pipeline's shredder against the reference, after each record. */
static void same_columns(const char *name, const ks_rowgroup *a,
                         const ks_rowgroup *b, const char *rec, size_t n) {
  for (size_t i = 0; i < a->ncols; i++) {
    const ks_column *x = &a->cols[i], *y = &b->cols[i];
    const ks_buf *bx[4] = {&x->defs, &x->reps, &x->values, &x->lens};
    const ks_buf *by[4] = {&y->defs, &y->reps, &y->values, &y->lens};
    for (int k = 0; k < 4; k++) {
      if (bx[k]->len == by[k]->len &&
          (bx[k]->len == 0 || memcmp(bx[k]->data, by[k]->data, bx[k]->len) == 0))
        continue;
      fprintf(stderr, "%s: column %zu (%s) differs after %.*s\n", name, i,
              x->node->name, (int)n, rec);
      dump_col("reference", x);
      dump_col("pipeline ", y);
      exit(1);
    }
  }
}

/* ---- the matrix ------------------------------------------------------------ */

/* Every type, OPTIONAL and REQUIRED, at the top level. */
static ks_pq_schema *schema_types(void) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *r = ks_pq_schema_root(s);
  static const char *names[] = {"bool", "i32", "i64", "dbl", "str", "ts",
                                "date"};
  char n[32];
  for (int req = 0; req < 2; req++) {
    ks_pq_repetition rep = req ? KS_PQ_REQUIRED : KS_PQ_OPTIONAL;
    for (int t = 0; t <= KS_COL_DATE; t++) {
      snprintf(n, sizeof n, "%s%s", names[t], req ? "_req" : "");
      ks_pq_add_leaf(r, n, rep, (ks_coltype)t);
    }
    snprintf(n, sizeof n, "dec7%s", req ? "_req" : "");
    ks_pq_add_decimal(r, n, rep, 7, 2);
    snprintf(n, sizeof n, "dec18%s", req ? "_req" : "");
    ks_pq_add_decimal(r, n, rep, 18, 6);
    snprintf(n, sizeof n, "dec38%s", req ? "_req" : "");
    ks_pq_add_decimal(r, n, rep, 38, 10);
    snprintf(n, sizeof n, "uuid%s", req ? "_req" : "");
    ks_pq_add_leaf(r, n, rep, KS_COL_STRING);
  }
  ks_pq_schema_finish(s);
  return s;
}

/* Nested shapes: struct of list of map of struct of list (depth 5), lists
 * of nulls, REQUIRED lists, maps with null values, lists of lists, nulls
 * inside structs inside lists. */
static ks_pq_schema *schema_nested(void) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *r = ks_pq_schema_root(s);
  ks_pq_node *st = ks_pq_add_struct(r, "s", KS_PQ_OPTIONAL);
  ks_pq_node *l = ks_pq_add_list(st, "l", KS_PQ_OPTIONAL);
  ks_pq_node *m = ks_pq_add_map(l, "element", KS_PQ_OPTIONAL);
  ks_pq_node *in = ks_pq_add_struct(m, "value", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(in, "a", KS_PQ_OPTIONAL, KS_COL_INT64);
  ks_pq_add_leaf(in, "b", KS_PQ_REQUIRED, KS_COL_STRING);
  ks_pq_add_leaf(ks_pq_add_list(in, "c", KS_PQ_OPTIONAL), "element",
                 KS_PQ_OPTIONAL, KS_COL_DOUBLE);
  ks_pq_add_leaf(st, "n", KS_PQ_REQUIRED, KS_COL_INT32);
  ks_pq_add_leaf(ks_pq_add_list(r, "ln", KS_PQ_OPTIONAL), "element",
                 KS_PQ_OPTIONAL, KS_COL_INT32);
  ks_pq_add_leaf(ks_pq_add_list(r, "lr", KS_PQ_REQUIRED), "element",
                 KS_PQ_REQUIRED, KS_COL_STRING);
  ks_pq_add_leaf(ks_pq_add_map(r, "m", KS_PQ_OPTIONAL), "value",
                 KS_PQ_OPTIONAL, KS_COL_STRING);
  ks_pq_node *ll = ks_pq_add_list(ks_pq_add_list(r, "ll", KS_PQ_OPTIONAL),
                                  "element", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(ll, "element", KS_PQ_OPTIONAL, KS_COL_DATE);
  ks_pq_node *t = ks_pq_add_struct(r, "t", KS_PQ_REQUIRED);
  ks_pq_node *it = ks_pq_add_struct(ks_pq_add_list(t, "items", KS_PQ_OPTIONAL),
                                    "element", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(it, "x", KS_PQ_OPTIONAL, KS_COL_INT64);
  ks_pq_add_leaf(ks_pq_add_struct(it, "y", KS_PQ_OPTIONAL), "z",
                 KS_PQ_OPTIONAL, KS_COL_TIMESTAMP);
  ks_pq_add_decimal(it, "d", KS_PQ_OPTIONAL, 20, 4);
  ks_pq_add_leaf(it, "flag", KS_PQ_OPTIONAL, KS_COL_BOOLEAN);
  ks_pq_schema_finish(s);
  return s;
}

/* Everything REQUIRED, depth 4: levels are repetition-only. */
static ks_pq_schema *schema_required(void) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *r = ks_pq_schema_root(s);
  ks_pq_node *st = ks_pq_add_struct(r, "r", KS_PQ_REQUIRED);
  ks_pq_node *m = ks_pq_add_map(ks_pq_add_list(st, "l", KS_PQ_REQUIRED),
                                "element", KS_PQ_REQUIRED);
  ks_pq_node *v = ks_pq_add_struct(m, "value", KS_PQ_REQUIRED);
  ks_pq_add_leaf(ks_pq_add_list(v, "bits", KS_PQ_REQUIRED), "element",
                 KS_PQ_REQUIRED, KS_COL_BOOLEAN);
  ks_pq_add_decimal(v, "q", KS_PQ_REQUIRED, 38, 0);
  ks_pq_add_leaf(r, "id", KS_PQ_REQUIRED, KS_COL_INT64);
  ks_pq_schema_finish(s);
  return s;
}

typedef struct profile {
  const char *name;
  gen g;
} profile;

static const profile profiles[] = {
    {"mixed", {0, 20, 15, 4, 0, 10}},
    {"allnull", {0, 100, 100, 3, 0, 0}},
    {"nonull", {0, 0, 0, 5, 0, 10}},
    {"lowcard", {0, 10, 5, 4, 6, 30}},
};

static void gen_recs(gen *g, const ks_pq_schema *s, size_t n, recs *out) {
  ks_buf b;
  ks_buf_init(&b, 0);
  for (size_t i = 0; i < n; i++) {
    ks_buf_reset(&b);
    gen_record(g, s, &b);
    recs_add(out, b.data, b.len);
  }
  ks_buf_free(&b);
}

static void dict_opts(int d, ks_pq_options *o, const char **name) {
  static const char *n[] = {"on", "off", "overflow"};
  o->no_dictionary = d == 1;
  o->dict_bytes = d == 2 ? 300 : 0;
  *name = n[d];
}

static size_t matrix(const char *dir) {
  ks_pq_schema *schemas[] = {schema_types(), schema_nested(),
                             schema_required()};
  static const char *snames[] = {"types", "nested", "required"};
  size_t files = 0;
  uint64_t seed = 1;
  for (size_t si = 0; si < 3; si++) {
    for (size_t pi = 0; pi < sizeof profiles / sizeof *profiles; pi++) {
      for (int codec = 0; codec < 4; codec++) {
        for (int d = 0; d < 3; d++) {
          for (int v2 = 0; v2 < 2; v2++) {
            gen g = profiles[pi].g;
            g.s = seed++;
            recs in = {0};
            ks_buf_init(&in.text, 0);
            /* three row groups, one of a single row; pages of 1 KiB */
            gen_recs(&g, schemas[si], 160, &in);
            const size_t rg[] = {90, 1, 69};
            ks_pq_options o = {.codec = (ks_codec)codec,
                               .zstd_level = 3,
                               .page_bytes = 1024,
                               .page_v2 = v2};
            const char *dn;
            dict_opts(d, &o, &dn);
            char name[96];
            snprintf(name, sizeof name, "m_%s_%s_%s_%s_v%d", snames[si],
                     profiles[pi].name, codec_names[codec], dn, v2 + 1);
            write_case(dir, name, schemas[si], NULL, 0, &o, dn, rg, 3, &in, 1);
            recs_free(&in);
            files++;
          }
        }
      }
    }
  }
  /* the flat ks_colspec API, as the pipeline uses it, default options */
  static const ks_colspec flat[] = {
      {"id", KS_COL_INT64, 0},   {"name", KS_COL_STRING, 1},
      {"score", KS_COL_DOUBLE, 1}, {"ok", KS_COL_BOOLEAN, 1},
      {"at", KS_COL_TIMESTAMP, 1}, {"day", KS_COL_DATE, 0},
      {"n", KS_COL_INT32, 1}};
  ks_rowgroup tmp;
  ks_rowgroup_init(&tmp, flat, 7);
  gen g = profiles[3].g;
  g.s = 99;
  recs in = {0};
  ks_buf_init(&in.text, 0);
  gen_recs(&g, tmp.flat, 3000, &in);
  const size_t rg[] = {2000, 1000};
  ks_pq_options o = {.codec = KS_CODEC_SNAPPY};
  write_case(dir, "m_flat_api", NULL, flat, 7, &o, "on", rg, 2, &in, 1);
  recs_free(&in);
  /* chunks of 6000 values, past the dictionary's probe (page.c): nearly
   * distinct values go PLAIN after the probe, low-cardinality ones keep
   * the dictionary the probe began */
  for (int lc = 0; lc < 2; lc++) {
    g = profiles[lc ? 3 : 0].g;
    g.s = 199 + (uint64_t)lc;
    ks_buf_init(&in.text, 0);
    gen_recs(&g, tmp.flat, 6000, &in);
    const size_t rg1[] = {6000};
    write_case(dir, lc ? "m_flat_probe_lowcard" : "m_flat_probe_distinct",
               NULL, flat, 7, &o, "on", rg1, 1, &in, 1);
    recs_free(&in);
  }
  ks_rowgroup_free(&tmp);
  /* large pages and a dictionary that overflows half way through */
  g = profiles[0].g;
  g.s = 7;
  ks_buf_init(&in.text, 0);
  gen_recs(&g, schemas[1], 4000, &in);
  ks_pq_options big = {.codec = KS_CODEC_ZSTD, .dict_bytes = 20000};
  write_case(dir, "m_nested_big", schemas[1], NULL, 0, &big, "overflow", rg, 2,
             &in, 1);
  recs_free(&in);
  for (size_t si = 0; si < 3; si++)
    ks_pq_schema_free(schemas[si]);
  return files + 4;
}

/* ---- random schemas --------------------------------------------------------- */

/* Record shares (nulls, empty lists, lengths, cardinality, long strings)
 * drawn for one random case. */
static gen random_profile(gen *g) {
  gen r; /* one draw per statement: the order is the seed's */
  r.s = gen_next(g);
  r.null_pct = (int)(gen_next(g) % 101);
  r.empty_pct = (int)(gen_next(g) % 60);
  r.max_len = 1 + (int)(gen_next(g) % 5);
  r.card = gen_next(g) % 3 ? 0 : 1 + (int)(gen_next(g) % 8);
  r.long_pct = (int)(gen_next(g) % 40);
  return r;
}

static size_t property(const char *dir, uint64_t seed, size_t count) {
  gen g = {seed, 0, 0, 0, 0, 0};
  for (size_t c = 0; c < count; c++) {
    ks_pq_schema *s = gen_schema(&g, 1 + (int)(gen_next(&g) % 4));
    if (!s)
      DIE("random schema %zu refused", c);
    gen rg_gen = random_profile(&g);
    size_t nrows = gen_next(&g) % 120;
    recs in = {0};
    ks_buf_init(&in.text, 0);
    gen_recs(&rg_gen, s, nrows, &in);
    size_t rg[3] = {gen_next(&g) % 60, gen_next(&g) % 30, 0};
    ks_pq_options o = {.codec = (ks_codec)(gen_next(&g) % 4),
                       .page_bytes = 64 << (gen_next(&g) % 10),
                       .page_v2 = (int)(gen_next(&g) & 1),
                       .stats_bytes = 8 + gen_next(&g) % 80};
    const char *dn;
    dict_opts((int)(gen_next(&g) % 3), &o, &dn);
    char name[64];
    snprintf(name, sizeof name, "p_%llu_%zu", (unsigned long long)seed, c);
    write_case(dir, name, s, NULL, 0, &o, dn, rg, 1 + gen_next(&g) % 3, &in,
               1);
    recs_free(&in);
    ks_pq_schema_free(s);
  }
  return count;
}

/* ---- random schemas through the pipeline's shredder ------------------------ */

/* The JSON Schema the table mapping turns back into node n. */
static void json_schema(ks_buf *o, const ks_pq_node *n) {
  const char *t = "object";
  if (n->is_leaf) {
    static const char *const names[] = {"boolean", "integer", "integer",
                                        "number",  "string",  "string",
                                        "string"};
    t = n->precision ? "number" : names[n->spec.type];
  } else if (n->group == KS_PQ_LIST) {
    t = "array";
  }
  if (n->repetition == KS_PQ_OPTIONAL)
    ks_buf_appendf(o, "{\"type\":[\"%s\",\"null\"]", t);
  else
    ks_buf_appendf(o, "{\"type\":\"%s\"", t);
  if (n->is_leaf) {
    if (n->spec.type == KS_COL_TIMESTAMP && !n->precision)
      ks_buf_append_str(o, ",\"format\":\"date-time\"");
    if (n->spec.type == KS_COL_DATE)
      ks_buf_append_str(o, ",\"format\":\"date\"");
    if (n->precision) { /* bounds of exactly `precision` digits */
      ks_buf bound;
      ks_buf_init(&bound, 0);
      for (int i = 0; i < n->precision - n->scale; i++)
        ks_buf_append_byte(&bound, '9');
      if (n->precision == n->scale)
        ks_buf_append_byte(&bound, '0');
      ks_buf_append_byte(&bound, '.');
      for (int i = 0; i < n->scale; i++)
        ks_buf_append_byte(&bound, '9');
      ks_buf_appendf(o, ",\"multipleOf\":1e-%d,\"minimum\":-%.*s,"
                        "\"maximum\":%.*s",
                     n->scale, (int)bound.len, (char *)bound.data,
                     (int)bound.len, (char *)bound.data);
      ks_buf_free(&bound);
    }
    ks_buf_append_byte(o, '}');
    return;
  }
  const ks_pq_node *rep = n->children[0];
  if (n->group == KS_PQ_LIST) {
    ks_buf_append_str(o, ",\"items\":");
    json_schema(o, rep->children[0]);
  } else if (n->group == KS_PQ_MAP) {
    ks_buf_append_str(o, ",\"additionalProperties\":");
    json_schema(o, rep->children[1]);
  } else {
    ks_buf_append_str(o, ",\"properties\":{");
    for (size_t i = 0; i < n->nchildren; i++) {
      ks_buf_appendf(o, "%s\"%s\":", i ? "," : "", n->children[i]->name);
      json_schema(o, n->children[i]);
    }
    ks_buf_append_str(o, "},\"required\":[");
    int first = 1;
    for (size_t i = 0; i < n->nchildren; i++) {
      if (n->children[i]->repetition != KS_PQ_REQUIRED)
        continue;
      ks_buf_appendf(o, "%s\"%s\"", first ? "" : ",", n->children[i]->name);
      first = 0;
    }
    ks_buf_append_byte(o, ']');
  }
  ks_buf_append_byte(o, '}');
}

/* Leaf for leaf: same path, levels and physical type (INT32 leaves map
 * back as integer -> INT64, so those are compared as INT64). */
static void same_tree(const char *name, const ks_pq_schema *a,
                      const ks_pq_schema *b) {
  if (ks_pq_schema_nleaves(a) != ks_pq_schema_nleaves(b))
    DIE("%s: %zu leaves, the mapped schema has %zu", name,
        ks_pq_schema_nleaves(a), ks_pq_schema_nleaves(b));
  for (size_t i = 0; i < ks_pq_schema_nleaves(a); i++) {
    const ks_pq_node *x = ks_pq_schema_leaf(a, i), *y = ks_pq_schema_leaf(b, i);
    ks_coltype tx = x->spec.type == KS_COL_INT32 && !x->precision
                        ? KS_COL_INT64
                        : x->spec.type;
    if (strcmp(x->name, y->name) || x->max_def != y->max_def ||
        x->max_rep != y->max_rep || tx != y->spec.type ||
        x->precision != y->precision || x->scale != y->scale)
      DIE("%s: leaf %zu maps to %s def %d rep %d type %d DECIMAL(%d,%d), "
          "want %s def %d rep %d type %d DECIMAL(%d,%d)",
          name, i, y->name, y->max_def, y->max_rep, (int)y->spec.type,
          y->precision, y->scale, x->name, x->max_def, x->max_rep, (int)tx,
          x->precision, x->scale);
  }
}

static size_t pipeline(const char *dir, uint64_t seed, size_t count) {
  gen g = {seed ^ 0x5eed, 0, 0, 0, 0, 0};
  for (size_t c = 0; c < count; c++) {
    ks_pq_schema *s = gen_schema(&g, 1 + (int)(gen_next(&g) % 4));
    if (!s)
      DIE("random schema %zu refused", c);
    char name[64];
    snprintf(name, sizeof name, "j_%llu_%zu", (unsigned long long)seed, c);
    ks_buf text;
    ks_buf_init(&text, 0);
    /* the root is a REQUIRED struct: {"type":"object","properties":...} */
    json_schema(&text, ks_pq_schema_root(s));
    ks_schema *js;
    char err[512];
    if (ks_schema_load_string((const char *)text.data, text.len, name, &js,
                              err, sizeof err))
      DIE("%s: schema refused: %s\n%.*s", name, err, (int)text.len,
          (char *)text.data);
    same_tree(name, s, ks_schema_tree(js));
    gen rg_gen = random_profile(&g);
    size_t nrows = gen_next(&g) % 120;
    recs in = {0};
    ks_buf_init(&in.text, 0);
    gen_recs(&rg_gen, ks_schema_tree(js), nrows, &in);
    size_t rg[3] = {gen_next(&g) % 60, gen_next(&g) % 30, 0};
    ks_pq_options o = {.codec = (ks_codec)(gen_next(&g) % 4),
                       .page_bytes = 64 << (gen_next(&g) % 10),
                       .page_v2 = (int)(gen_next(&g) & 1)};
    const char *dn;
    dict_opts((int)(gen_next(&g) % 3), &o, &dn);
    write_case_js(dir, name, ks_schema_tree(js), NULL, 0, &o, dn, rg,
                  1 + gen_next(&g) % 3, &in, 1, js);
    recs_free(&in);
    ks_buf_free(&text);
    ks_schema_free(js);
    ks_pq_schema_free(s);
  }
  return count;
}

/* ---- fuzz seeds ----------------------------------------------------------- */

static int read_all(const char *path, ks_buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
    ks_buf_append(b, tmp, n);
  fclose(f);
  return 0;
}

static size_t seeds(const char *dir, const char *corpus) {
  DIR *d = opendir(corpus);
  if (!d)
    DIE("%s: cannot open", corpus);
  struct dirent *e;
  size_t files = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", corpus, e->d_name);
    ks_buf b;
    ks_buf_init(&b, 0);
    fz_case c;
    if (read_all(path, &b) || fz_decode(b.data, b.len, &c)) {
      ks_buf_free(&b);
      continue;
    }
    recs in = {0};
    ks_buf_init(&in.text, 0);
    const uint8_t *p = c.recs, *end = c.recs + c.recs_len;
    while (p < end) {
      const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
      if (!nl)
        nl = end;
      if (nl > p)
        recs_add(&in, p, (size_t)(nl - p));
      p = nl + 1;
    }
    size_t rg[64];
    for (size_t i = 0; i < 64; i++)
      rg[i] = c.rg_rows;
    const char *dn = c.opt.no_dictionary ? "off" : c.opt.dict_bytes ? "overflow"
                                                                    : "on";
    char name[300];
    snprintf(name, sizeof name, "f_%s", e->d_name);
    for (char *q = name; *q; q++)
      if (*q == '.')
        *q = '_';
    write_case(dir, name, c.schema, NULL, 0, &c.opt, dn, rg, 64, &in, 0);
    recs_free(&in);
    ks_pq_schema_free(c.schema);
    ks_buf_free(&b);
    files++;
  }
  closedir(d);
  return files;
}

/* Seeds: a random header, a random schema in the fuzz format, and records
 * generated for that schema (some with a broken line to exercise the
 * rejection path). */
static void mkseeds(const char *corpus, size_t count) {
  gen g = {4242, 0, 0, 0, 0, 0};
  for (size_t k = 0; k < count; k++) {
    uint8_t hdr[40];
    for (size_t i = 0; i < sizeof hdr; i++)
      hdr[i] = (uint8_t)gen_next(&g);
    fz_case c;
    if (fz_decode(hdr, sizeof hdr, &c))
      continue;
    size_t used = (size_t)(c.recs - hdr);
    ks_buf out;
    ks_buf_init(&out, 0);
    ks_buf_append(&out, hdr, used);
    gen rg = {gen_next(&g), 25, 20, 3, (int)(gen_next(&g) % 4), 10};
    size_t n = 1 + gen_next(&g) % 12;
    for (size_t i = 0; i < n; i++) {
      gen_record(&rg, c.schema, &out);
      ks_buf_append_byte(&out, '\n');
    }
    if (k % 4 == 3)
      ks_buf_append_str(&out, "{\"c0\": [1, \n");
    char path[512];
    snprintf(path, sizeof path, "%s/seed%02zu.bin", corpus, k);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f))
      DIE("%s: cannot write", path);
    ks_buf_free(&out);
    ks_pq_schema_free(c.schema);
  }
}

static int check(const char *dir) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "node '%s/test/tools/pq_conform.mjs' '%s'",
           KS_SOURCE_DIR, dir);
  fflush(stdout);
  int st = system(cmd);
  return st == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 3)
    DIE("usage: pq_conform matrix DIR | property DIR SEED COUNT | seeds DIR "
        "CORPUS | mkseeds CORPUS COUNT");
  const char *mode = argv[1], *dir = argv[2];
  if (strcmp(mode, "mkseeds") == 0) {
    mkdir(dir, 0755);
    mkseeds(dir, argc > 3 ? strtoul(argv[3], NULL, 10) : 24);
    return 0;
  }
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
  if (system(cmd))
    DIE("%s: cannot create", dir);
  size_t n;
  if (strcmp(mode, "matrix") == 0)
    n = matrix(dir);
  else if (strcmp(mode, "property") == 0 && argc > 4)
    n = property(dir,
                 strtoull(getenv("KS_PQ_SEED") ? getenv("KS_PQ_SEED") : argv[3],
                          NULL, 10),
                 strtoul(argv[4], NULL, 10));
  else if (strcmp(mode, "pipeline") == 0 && argc > 4)
    n = pipeline(dir,
                 strtoull(getenv("KS_PQ_SEED") ? getenv("KS_PQ_SEED") : argv[3],
                          NULL, 10),
                 strtoul(argv[4], NULL, 10));
  else if (strcmp(mode, "seeds") == 0 && argc > 3)
    n = seeds(dir, argv[3]);
  else
    DIE("unknown mode %s", mode);
  printf("pq_conform %s: %zu files written in %s\n", mode, n, dir);
  int r = check(dir);
  if (r == 0 && !getenv("KS_KEEP"))
    system(cmd); /* leave the files of a failure for a look */
  return r;
}
