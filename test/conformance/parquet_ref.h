/*
 * Test-only reference side of the Parquet conformance suite: a small JSON
 * DOM, a reference shredder (JSON value + schema tree -> level/value
 * entries, written from the Dremel rules and independent of
 * stages/decode.c), a schema describer for the node checker
 * (test/tools/pq_conform.mjs) and the byte-driven case builder shared with
 * the fuzz target. Included as .c files by the suite and the fuzzer.
 */
#ifndef KS_TEST_CONFORMANCE_PARQUET_REF_H
#define KS_TEST_CONFORMANCE_PARQUET_REF_H

#include "storage/parquet/writer.h"

#include <stddef.h>
#include <stdint.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype t;
  int b;
  const char *s; /* NUM: the number's text; STR: bytes, unescaped */
  size_t n;
  struct jval *items; /* ARR, OBJ: values */
  const char **keys;  /* OBJ */
  size_t *klens;
  size_t len;
} jval;

/* Every allocation of a parse, freed at once. */
typedef struct jarena {
  void **blocks;
  size_t n, cap;
} jarena;

void jarena_free(jarena *a);
/* 0 and *out on success, -1 for text that is not one JSON value (depth
 * capped at 64). */
int jparse(jarena *a, const char *text, size_t n, jval *out);
const jval *jget(const jval *obj, const char *key);

/* Appends the record's entries to every column of rg (after marking the
 * row); on a record that does not fit the schema, rolls back and returns
 * -1. Commits the row on success. */
int ref_shred(ks_rowgroup *rg, const ks_pq_schema *s, const jval *rec);

/* The schema as the node checker reads it (JSON). */
void ref_describe(ks_buf *out, const ks_pq_schema *s);

#endif
