/*
 * libFuzzer target for the schema compiler and the validator together:
 * schema bytes and instance bytes from one input, split at the first NUL
 * (no NUL: the whole input is the schema, validated against a fixed set of
 * instances). Schemas come from users, so every path must end in a load
 * error or a verdict: $ref cycles, deep nesting, combinators that multiply
 * work, pathological regexes. When the schema also maps to a table, the
 * shredding decoder must reach the validate-only decoder's verdict and
 * keep the row protocol (one entry per column on success, none on failure).
 *   cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DKS_FUZZ=ON
 *   build-fuzz/test/fuzz/fuzz_schema test/fuzz/corpus/schema
 */
#include "stages/record/decode.h"

#include <stdlib.h>
#include <string.h>

static const char *const fixed[] = {"{}",
                                    "[]",
                                    "1",
                                    "\"x\"",
                                    "null",
                                    "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}",
                                    "[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"};

static void check(const ks_schema *s, ks_decoder *shred, ks_rowgroup *rg,
                  const uint8_t *p, size_t n) {
  ks_reject rej;
  int r = ks_schema_validate(s, p, n, &rej);
  if (r != 0 && (rej.code != r || rej.reason == KS_REASON_NONE ||
                 strncmp(rej.message, rej.path, strlen(rej.path)) != 0))
    abort();
  if (shred == NULL)
    return;
  size_t before = rg->nrows;
  int r2 = ks_decoder_feed(shred, p, n, &rej);
  if (r2 == 0)
    ks_rowgroup_commit_row(rg);
  for (size_t i = 0; i < rg->ncols; i++)
    if (ks_column_rows(&rg->cols[i]) != before + (r2 == 0))
      abort();
  /* a table may refuse more (int64/double range, timestamps), never less */
  if (r != 0 && r2 == 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t slen = nul ? (size_t)(nul - data) : size;
  char err[512];
  ks_schema_opts o = {.table = 0, .format_assertion = (size & 1) == 0};
  ks_schema *s = NULL;
  if (ks_schema_load_opts((const char *)data, slen, "fuzz", &o, &s, err,
                          sizeof err)) {
    if (s != NULL || err[0] == 0)
      abort();
    return 0;
  }
  ks_schema *t = NULL;
  o.table = 1;
  ks_rowgroup rg;
  ks_decoder *shred = NULL;
  if (ks_schema_load_opts((const char *)data, slen, "fuzz", &o, &t, err,
                          sizeof err) == 0) {
    ks_rowgroup_init_schema(&rg, ks_schema_tree(t));
    shred = ks_decoder_new(t, &rg, 0);
  }
  if (nul) {
    check(t ? t : s, shred, &rg, nul + 1, size - slen - 1);
  } else {
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
      check(t ? t : s, shred, &rg, (const uint8_t *)fixed[i], strlen(fixed[i]));
  }
  if (shred) {
    ks_decoder_free(shred);
    ks_rowgroup_free(&rg);
  }
  ks_schema_free(t);
  ks_schema_free(s);
  return 0;
}
