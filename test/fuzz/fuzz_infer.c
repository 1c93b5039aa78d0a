/*
 * libFuzzer target for schemaless tables' learning path, which parses
 * outside input (records) a second time: any bytes go through the decoder
 * of the columns learnt so far; a record with new fields is learnt
 * (ks_infer_learn) and must then compile, and the new columns' decoder
 * must take the record without dropping a value (or reject it, never
 * report new fields again). The tree also round-trips through a Delta
 * schemaString (ks_infer_from_tree) to the same JSON Schema, and its union
 * with itself changes nothing. The tree starts over past 300 columns.
 */
#include "stages/record/decode.h"
#include "stages/record/infer.h"
#include "stages/record/schema.h"
#include "storage/delta/delta.h"

#include <stdlib.h>
#include <string.h>

static const char *const reserved[] = {"_kafka_offset"};
static const ks_colspec meta[] = {{"_kafka_offset", KS_COL_INT64, 0}};

static ks_infer_node *tree;
static ks_schema *schema;
static ks_rowgroup rg;
static ks_decoder *dec;

static void use(ks_infer_node *t) {
  ks_schema *s = NULL;
  char err[512];
  if (ks_infer_compile(t, "fuzz", &s, err, sizeof err))
    abort(); /* a learnt tree the compiler refuses */
  if (dec) {
    ks_decoder_free(dec);
    ks_rowgroup_free(&rg);
    ks_schema_free(schema);
  }
  schema = s;
  ks_pq_schema *pq = ks_schema_table_tree(s, meta, 1, err, sizeof err);
  if (pq == NULL)
    abort();
  ks_rowgroup_init_schema(&rg, pq);
  dec = ks_decoder_new(s, &rg, 0);
  ks_decoder_set_refuse_dropped(dec, 1);

  /* schemaString -> tree -> the same JSON Schema */
  ks_buf ss, a, b;
  ks_buf_init(&ss, 0);
  ks_buf_init(&a, 0);
  ks_buf_init(&b, 0);
  if (ks_delta_schema_string_tree(&ss, pq))
    abort();
  ks_buf_cstr(&ss);
  ks_pq_schema *back = NULL;
  ks_infer_node *again = NULL;
  if (ks_delta_schema_parse((const char *)ss.data, &back, err, sizeof err) ||
      ks_infer_from_tree(back, reserved, 1, &again, err, sizeof err))
    abort();
  ks_infer_json_schema(t, &a);
  ks_infer_json_schema(again, &b);
  if (a.len != b.len || memcmp(a.data, b.data, a.len))
    abort();
  int changed = 1;
  if (ks_infer_union(again, t, &changed, err, sizeof err) || changed)
    abort();
  ks_infer_free(again);
  ks_pq_schema_free(back);
  ks_pq_schema_free(pq);
  ks_buf_free(&ss);
  ks_buf_free(&a);
  ks_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (tree == NULL || ks_infer_nleaves(tree) > 300) {
    ks_infer_free(tree);
    tree = ks_infer_root();
    use(tree);
  }
  ks_rowgroup_reset(&rg);
  ks_reject rej;
  int r = ks_decoder_feed(dec, data, size, &rej);
  if (r != KS_ENEWFIELD)
    return 0;
  ks_infer_node *t = ks_infer_copy(tree);
  int changed = 0;
  r = ks_infer_learn(t, data, size, reserved, 1, &changed, &rej);
  if (r) {
    if (rej.reason == KS_REASON_NONE || changed)
      abort();
    ks_infer_free(t);
    return 0;
  }
  /* dropped values always teach a column */
  if (!changed || rej.reason != KS_REASON_NONE)
    abort();
  ks_infer_free(tree);
  tree = t;
  use(tree);
  r = ks_decoder_feed(dec, data, size, &rej);
  if (r == KS_ENEWFIELD)
    abort(); /* learnt, and still outside the columns */
  return 0;
}
