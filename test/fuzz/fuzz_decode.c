/*
 * libFuzzer target for the record path's parser of outside input: any
 * bytes through ks_decoder_feed against a schema that uses every compiled
 * keyword and nests structs, lists, maps and DECIMAL. Checks the row
 * protocol (every column gains exactly one row on success, nothing on
 * failure), that validate-only reaches the same verdict, and that a
 * decoder sending every event (ks_decoder_set_skip_opaque off) reaches
 * the same verdict and columns as one that passes over opaque values.
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DKS_FUZZ=ON
 * -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link (coverage of the library too).
 */
#include "stages/record/decode.h"

#include <stdlib.h>
#include <string.h>

static const char schema_json[] =
    "{\"type\": \"object\", \"properties\": {"
    " \"user_id\": {\"type\": \"integer\", \"minimum\": -5},"
    " \"event_type\": {\"type\": \"string\", \"maxLength\": 8},"
    " \"timestamp\": {\"type\": \"string\", \"format\": \"date-time\"},"
    " \"day\": {\"type\": [\"string\", \"null\"], \"format\": \"date\"},"
    " \"n\": {\"type\": \"number\", \"maximum\": 1e300},"
    " \"b\": {\"type\": \"boolean\"},"
    " \"e\": {\"enum\": [\"a\", 1, null, true]},"
    " \"mixed\": {\"type\": [\"string\", \"integer\"]},"
    " \"properties\": {\"type\": \"object\", \"properties\": {"
    "   \"x\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}}},"
    "   \"required\": [\"x\"], \"additionalProperties\": {\"type\": "
    "\"string\"}},"
    " \"m\": {\"type\": \"object\", \"additionalProperties\": {\"type\": "
    "[\"array\", \"null\"], \"items\": {\"type\": [\"object\", \"null\"], "
    "\"properties\": {\"d\": {\"type\": \"number\", \"multipleOf\": 0.01, "
    "\"minimum\": -1, \"maximum\": 1e20}}}}},"
    " \"any\": true},"
    " \"required\": [\"user_id\"],"
    " \"additionalProperties\": {\"type\": [\"object\", \"array\"]}}";

static ks_schema *schema;
static ks_rowgroup rg, rg_full;
static ks_decoder *dec, *dec_full;

static int same_buf(const ks_buf *a, const ks_buf *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (schema == NULL) {
    char err[512];
    if (ks_schema_load_string(schema_json, strlen(schema_json), "fuzz", &schema,
                              err, sizeof err))
      abort();
    ks_rowgroup_init_schema(&rg, ks_schema_tree(schema));
    dec = ks_decoder_new(schema, &rg, 0);
    ks_rowgroup_init_schema(&rg_full, ks_schema_tree(schema));
    dec_full = ks_decoder_new(schema, &rg_full, 0);
    ks_decoder_set_skip_opaque(dec_full, 0);
  }
  if (rg.nrows > 4096) {
    ks_rowgroup_reset(&rg);
    ks_rowgroup_reset(&rg_full);
  }
  size_t before = rg.nrows;
  ks_reject rej;
  int r = ks_decoder_feed(dec, data, size, &rej);
  if (r == 0)
    ks_rowgroup_commit_row(&rg);
  for (size_t i = 0; i < rg.ncols; i++)
    if (ks_column_rows(&rg.cols[i]) != before + (r == 0))
      abort();
  if (r != 0 && (rej.code != r || rej.reason == KS_REASON_NONE ||
                 strncmp(rej.message, rej.path, strlen(rej.path)) != 0))
    abort();
  if (ks_schema_validate(schema, data, size, NULL) != r)
    abort();
  ks_reject full;
  int rf = ks_decoder_feed(dec_full, data, size, &full);
  if (rf == 0)
    ks_rowgroup_commit_row(&rg_full);
  if (rf != r || (r && (full.reason != rej.reason ||
                        strcmp(full.message, rej.message) != 0)))
    abort();
  for (size_t i = 0; i < rg.ncols; i++) {
    const ks_column *a = &rg.cols[i], *b = &rg_full.cols[i];
    if (!same_buf(&a->values, &b->values) || !same_buf(&a->lens, &b->lens) ||
        !same_buf(&a->defs, &b->defs) || !same_buf(&a->reps, &b->reps))
      abort();
  }
  return 0;
}
