/*
 * libFuzzer target for the schemaString reader (schema evolution reads the
 * metaData of a table any writer may have produced). An accepted text must
 * print back (ks_delta_schema_string_tree) to a text that reads as the same
 * tree, and compare with itself as unchanged; a refused one must be
 * KS_ECORRUPT with a message and no tree.
 */
#include "base/buf.h"
#include "base/ks.h"
#include "storage/delta/delta.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = ks_malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  ks_pq_schema *t = NULL;
  char err[512] = "";
  int r = ks_delta_schema_parse(text, &t, err, sizeof err);
  if (r != 0) {
    if (r != KS_ECORRUPT || t != NULL || err[0] == 0)
      abort();
    ks_free(text);
    return 0;
  }
  ks_buf b;
  ks_buf_init(&b, 0);
  if (ks_delta_schema_string_tree(&b, t))
    abort();
  ks_buf_cstr(&b);
  ks_pq_schema *again = NULL;
  if (ks_delta_schema_parse((const char *)b.data, &again, err, sizeof err))
    abort();
  ks_buf b2;
  ks_buf_init(&b2, 0);
  if (ks_delta_schema_string_tree(&b2, again) || b2.len != b.len ||
      memcmp(b2.data, b.data, b.len) != 0)
    abort();
  ks_delta_schema_change d;
  if (ks_delta_schema_diff(t, again, 0, &d) || d.added != 0)
    abort();
  ks_buf_free(&b);
  ks_buf_free(&b2);
  ks_pq_schema_free(again);
  ks_pq_schema_free(t);
  ks_free(text);
  return 0;
}
