/*
 * libFuzzer target for the key and headers columns (stages/record/keyhdr.h)
 * over outside input: the first byte picks the key format (string, json,
 * bytes, json_schema), whether the key is null and whether a
 * __key_schema_id header comes with it; the rest is the key up to the
 * first 0xFE, then headers as name 0x00 value 0xFE ... (a value 0xFF
 * alone is a null value). Appends one row to a key column, a map column
 * and its base64 list, as the table writer does, and checks the row
 * protocol: on success one more value in the key column and the map's
 * levels; on a refusal a reason and a message.
 */
#include "stages/record/keyhdr.h"
#include "storage/parquet/schema_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXH 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  ks_key_format f = (ks_key_format)(KS_KEY_STRING + data[0] % 4);
  int null_key = (data[0] & 8) != 0, key_hdr = (data[0] & 16) != 0;
  data++;
  size--;
  const uint8_t *sep = memchr(data, 0xfe, size);
  size_t kl = sep ? (size_t)(sep - data) : size;
  const uint8_t *key = data;
  const uint8_t *p = sep ? sep + 1 : data + size, *end = data + size;

  /* headers: names are NUL-terminated copies */
  ks_header h[MAXH];
  char *names[MAXH];
  size_t nh = 0;
  while (p < end && nh < MAXH) {
    const uint8_t *z = memchr(p, 0, (size_t)(end - p));
    if (z == NULL)
      break;
    const uint8_t *v = z + 1;
    const uint8_t *ve = memchr(v, 0xfe, (size_t)(end - v));
    if (ve == NULL)
      ve = end;
    names[nh] = malloc((size_t)(z - p) + 1);
    memcpy(names[nh], p, (size_t)(z - p));
    names[nh][z - p] = 0;
    h[nh].name = names[nh];
    if (ve - v == 1 && v[0] == 0xff) {
      h[nh].value = NULL;
      h[nh].len = 0;
    } else {
      h[nh].value = v;
      h[nh].len = (size_t)(ve - v);
    }
    nh++;
    p = ve < end ? ve + 1 : end;
  }

  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *top = ks_pq_schema_root(s);
  ks_pq_add_leaf(top, "_kafka_key", KS_PQ_OPTIONAL, KS_COL_STRING);
  ks_pq_add_leaf(ks_pq_add_map(top, "_kafka_headers", KS_PQ_OPTIONAL),
                 "value", KS_PQ_OPTIONAL, KS_COL_STRING);
  ks_pq_add_leaf(ks_pq_add_list(top, "_kafka_headers_base64", KS_PQ_OPTIONAL),
                 "element", KS_PQ_REQUIRED, KS_COL_STRING);
  if (ks_pq_schema_finish(s))
    abort();
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, s);
  ks_reject rej;
  memset(&rej, 0, sizeof rej);
  static const uint8_t guid_hdr[17] = {1, 0x12, 0x34};
  ks_rowgroup_mark_row(&rg);
  int r = ks_keyhdr_append_key(&rg.cols[0], f, null_key ? NULL : key, kl,
                               key_hdr ? guid_hdr : NULL,
                               key_hdr ? sizeof guid_hdr : 0, &rej);
  if (r == 0)
    r = ks_keyhdr_append_headers(&rg.cols[1], h, nh, &rej);
  if (r == KS_EINVALID) {
    if (rej.reason == KS_REASON_NONE || rej.message[0] == 0)
      abort(); /* a refusal always says why */
    ks_rowgroup_rollback_row(&rg);
  } else if (r == 0) {
    ks_rowgroup_commit_row(&rg);
    /* one key value (or null), the map's entries (at least the empty
     * map's one level) */
    if (rg.cols[0].defs.len != 1 || rg.cols[1].defs.len == 0 ||
        rg.cols[1].defs.len != rg.cols[2].defs.len ||
        rg.cols[3].defs.len == 0)
      abort();
  } else
    ks_rowgroup_rollback_row(&rg);
  ks_rowgroup_free(&rg);
  ks_pq_schema_free(s);
  for (size_t i = 0; i < nh; i++)
    free(names[i]);
  return 0;
}
