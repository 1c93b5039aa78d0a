/*
 * Bytes -> a Parquet case, shared by the fuzz target (test/fuzz/
 * fuzz_parquet.c) and the conformance suite's seed check:
 *   byte 0: codec (bits 0-1), dictionary on/off/tiny limit (bits 2-3),
 *           page v2 (bit 4), small pages (bit 5)
 *   byte 1: rows per row group, 1 + b % 16
 *   then a schema in prefix form, one byte per node: bit 0 OPTIONAL,
 *   bits 1-2 leaf/struct/list/map, bits 3-7 leaf type (% 10) or, for a
 *   struct, its field count - 1 (% 3); the top level is a struct whose
 *   field count is 1 + (first byte % 4); depth is capped at 4 groups
 *   then, after the schema, one JSON record per line.
 */
#ifndef KS_TEST_CONFORMANCE_PARQUET_FUZZIN_H
#define KS_TEST_CONFORMANCE_PARQUET_FUZZIN_H

#include "storage/parquet/writer.h"

typedef struct fz_case {
  ks_pq_schema *schema;
  ks_pq_options opt;
  size_t rg_rows;
  const uint8_t *recs; /* newline-separated records */
  size_t recs_len;
} fz_case;

/* 0 with a finished schema (free it with ks_pq_schema_free), or -1. */
int fz_decode(const uint8_t *data, size_t n, fz_case *c);

#endif
