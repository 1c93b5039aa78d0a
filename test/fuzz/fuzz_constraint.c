/*
 * libFuzzer target for the constraint expressions of Delta tables
 * (storage/delta/constraint.h: invariants, CHECK constraints, generation
 * expressions any writer may have put in a table). The input is the
 * expression; an accepted one is type-checked with its columns as
 * numbers, then as strings, and evaluated on a few rows (NULLs, bounds,
 * strings) -- no crash, no leak; a refused one is KS_EUNSUPPORTED with a
 * message and no tree.
 */
#include "base/ks.h"
#include "storage/delta/constraint.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  char *text = ks_malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  ks_delta_expr *e = NULL;
  char err[512] = "";
  int r = ks_delta_expr_parse(text, &e, err, sizeof err);
  if (r != 0) {
    if (r != KS_EUNSUPPORTED || e != NULL || err[0] == 0)
      abort();
    ks_free(text);
    return 0;
  }
  size_t n = ks_delta_expr_ncols(e);
  ks_delta_vkind *kinds = ks_calloc(n + 1, sizeof *kinds);
  ks_delta_value *vals = ks_calloc(n + 1, sizeof *vals);
  static const int64_t ints[] = {0, 1, -1, INT64_MAX, INT64_MIN};
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < n; i++)
      kinds[i] = pass ? KS_DV_STRING : KS_DV_INT;
    if (ks_delta_expr_check(e, kinds, err, sizeof err))
      continue;
    for (size_t row = 0; row < 6; row++) {
      for (size_t i = 0; i < n; i++) {
        vals[i].kind = row == 5 ? KS_DV_NULL : kinds[i];
        vals[i].i = ints[(row + i) % 5];
        vals[i].s = pass ? text : NULL;
        vals[i].n = pass ? (row + i) % (size + 1) : 0;
      }
      int h = ks_delta_expr_holds(e, vals);
      if (h != 0 && h != 1)
        abort();
    }
  }
  ks_free(kinds);
  ks_free(vals);
  ks_delta_expr_free(e);
  ks_free(text);
  return 0;
}
