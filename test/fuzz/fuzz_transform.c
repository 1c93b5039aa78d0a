/*
 * libFuzzer target for the transforms (stages/record/transform.h) over
 * outside input: the first byte picks one of four chains (Debezium's
 * envelope with deletes rewritten or dropped, extract_field before it,
 * replace_field + insert_field + timestamp_converter, a date conversion
 * after extract_field), the rest goes through ks_decoder_feed_meta into
 * a schema that takes any field. Checks the row protocol (one row on
 * success; nothing when the record is dropped or rejected, and a reject
 * always has its reason and message).
 */
#include "conf/conf.h"
#include "stages/record/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const chains[] = {
    "      - debezium_unwrap: { deletes: rewrite, add_fields: [op, "
    "source.ts_ms, table, ts_ms] }\n",
    "      - extract_field: payload\n"
    "      - debezium_unwrap: { deletes: drop }\n",
    "      - replace_field: { exclude: [a], rename: { b: c, d: e } }\n"
    "      - insert_field: { static: { s: v }, timestamp: t, topic: tp, "
    "partition: p, offset: o }\n"
    "      - timestamp_converter: { field: c, format: \"yyyy-MM-dd "
    "HH:mm:ss.SSS\", target: string }\n",
    "      - extract_field: after\n"
    "      - timestamp_converter: { field: e, target: date }\n"
    "      - replace_field: { include: [e, id, n] }\n",
};

#define NCHAINS (sizeof chains / sizeof chains[0])

static const char schema_json[] =
    "{\"type\": \"object\", \"properties\": {"
    " \"id\": {\"type\": [\"integer\", \"null\"]},"
    " \"c\": true, \"e\": {\"type\": [\"string\", \"null\"]},"
    " \"n\": {\"type\": \"object\", \"additionalProperties\": true},"
    " \"__op\": {\"type\": [\"string\", \"null\"]}, \"__deleted\": true,"
    " \"t\": {\"type\": [\"string\", \"null\"], \"format\": \"date-time\"}},"
    " \"additionalProperties\": true}";

static ks_conf *conf[NCHAINS];
static ks_schema *schema;
static ks_rowgroup rg;
static ks_decoder *dec[NCHAINS];

static void setup(void) {
  char err[512];
  if (ks_schema_load_string(schema_json, strlen(schema_json), "fuzz", &schema,
                            err, sizeof err))
    abort();
  ks_rowgroup_init_schema(&rg, ks_schema_tree(schema));
  for (size_t i = 0; i < NCHAINS; i++) {
    char doc[2048];
    snprintf(doc, sizeof doc,
             "kafka:\n  bootstrap.servers: mock\nstorage:\n  url: "
             "file:///tmp/fuzz\ntables:\n  - name: t\n    topics: [t]\n"
             "    transforms:\n%s",
             chains[i]);
    if (ks_conf_load_string(doc, strlen(doc), "fuzz.yaml", &conf[i], err,
                            sizeof err))
      abort();
    dec[i] = ks_decoder_new(schema, &rg, 0);
    ks_decoder_set_transforms(dec[i], conf[i]->tables[0].transforms,
                              conf[i]->tables[0].ntransforms);
    ks_decoder_set_max_record(dec[i], 1 << 20);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (schema == NULL)
    setup();
  if (size == 0)
    return 0;
  ks_decoder *d = dec[data[0] % NCHAINS];
  if (rg.nrows > 4096)
    ks_rowgroup_reset(&rg);
  size_t before = rg.nrows;
  ks_reject rej;
  ks_xf_meta meta = {"topic", 1, 42, size % 3 ? 1700000000000 : -1};
  int r = ks_decoder_feed_meta(d, data + 1, size - 1, &meta, &rej);
  if (r == 0)
    ks_rowgroup_commit_row(&rg);
  for (size_t i = 0; i < rg.ncols; i++)
    if (ks_column_rows(&rg.cols[i]) != before + (r == 0))
      abort();
  if (r != 0 && r != KS_DECODE_SKIPPED &&
      (rej.code != r || rej.reason == KS_REASON_NONE || rej.message[0] == 0))
    abort();
  return 0;
}
