/*
 * libFuzzer target for Avro records as they arrive: the Confluent wire
 * prefix (wire.h) and then the Avro binary decoder (avro.h) against a
 * writer schema that uses every Avro type (nested records, arrays, maps,
 * unions of both kinds, decimals, timestamps, dates, enums, fixed,
 * a recursive record). Checks the row protocol: every column gains
 * exactly one row on success, nothing on failure, and a reject always
 * has a reason.
 */
#include "stages/record/avro.h"
#include "stages/record/wire.h"

#include <stdlib.h>
#include <string.h>

static const char writer_json[] =
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
    "{\"name\":\"l\",\"type\":\"long\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"y\",\"type\":\"bytes\"},"
    "{\"name\":\"dec\",\"type\":{\"type\":\"bytes\",\"logicalType\":"
    "\"decimal\",\"precision\":20,\"scale\":3}},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"
    "\"timestamp-micros\"}},"
    "{\"name\":\"dt\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
    "\"symbols\":[\"A\",\"B\"]}},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":[\"null\","
    "\"long\"]}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":{\"type\":"
    "\"array\",\"items\":\"null\"}}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\",\"E\",{\"type\":"
    "\"array\",\"items\":\"int\"}]},"
    "{\"name\":\"next\",\"type\":[\"null\",\"R\"]}]}";

static ks_avro_schema *writer;
static ks_schema *table;
static ks_rowgroup rg;
static ks_decoder *dec;
static ks_avro_decoder *adec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (writer == NULL) {
    char err[512];
    const char *t = writer_json;
    size_t len = strlen(t);
    ks_buf js;
    ks_buf_init(&js, 0);
    if (ks_avro_schema_parse(&t, &len, 1, &writer, err, sizeof err) ||
        ks_avro_schema_to_json_schema(writer, &js, err, sizeof err) ||
        ks_schema_load_string((char *)js.data, js.len, "fuzz", &table, err,
                              sizeof err))
      abort();
    ks_buf_free(&js);
    ks_rowgroup_init_schema(&rg, ks_schema_tree(table));
    dec = ks_decoder_new(table, &rg, 0);
    adec = ks_avro_decoder_new(dec);
  }
  if (rg.nrows > 4096)
    ks_rowgroup_reset(&rg);
  ks_wire w;
  ks_reject rej;
  if (ks_wire_parse(data, size, NULL, 0, &w, &rej) != 0) {
    if (rej.reason != KS_REASON_BAD_WIRE_FORMAT)
      abort();
    return 0;
  }
  if (w.len + 5 != size || w.payload != data + 5)
    abort();
  /* both ways of feeding null fields */
  ks_avro_decoder_skip_null_fields(adec, size & 1);
  size_t before = rg.nrows;
  int r = ks_avro_decoder_feed(adec, ks_avro_schema_root(writer), w.payload,
                               w.len, &rej);
  if (r == 0)
    ks_rowgroup_commit_row(&rg);
  for (size_t i = 0; i < rg.ncols; i++)
    if (ks_column_rows(&rg.cols[i]) != before + (r == 0))
      abort();
  if (r != 0 && (rej.code != r || rej.reason == KS_REASON_NONE))
    abort();
  return 0;
}
