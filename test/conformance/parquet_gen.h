/*
 * Seeded generators of the conformance suite: random schema trees (depth
 * up to 4 groups) and JSON records for any tree, with tunable shares of
 * nulls, empty lists, long and low-cardinality values.
 */
#ifndef KS_TEST_CONFORMANCE_PARQUET_GEN_H
#define KS_TEST_CONFORMANCE_PARQUET_GEN_H

#include "storage/parquet/writer.h"

typedef struct gen {
  uint64_t s; /* splitmix64 state */
  int null_pct;  /* optional nodes left null */
  int empty_pct; /* lists and maps left empty */
  int max_len;   /* elements per list or map */
  int card;      /* > 0: values drawn from this many per column */
  int long_pct;  /* strings longer than the 64-byte bound limit */
} gen;

uint64_t gen_next(gen *g);
static inline int gen_pct(gen *g, int pct) {
  return (int)(gen_next(g) % 100) < pct;
}
/* Appends a JSON record (an object of the root's fields) to out. */
void gen_record(gen *g, const ks_pq_schema *s, ks_buf *out);
/* A random finished schema: 1..4 top-level fields, groups nested up to
 * max_depth. */
ks_pq_schema *gen_schema(gen *g, int max_depth);
/* A leaf of a random type (every ks_coltype and three DECIMAL widths). */
ks_pq_node *gen_leaf(gen *g, ks_pq_node *parent, const char *name,
                     ks_pq_repetition rep);

#endif
