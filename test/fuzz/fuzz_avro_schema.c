/*
 * libFuzzer target for Avro schemas as a Schema Registry returns them:
 * any bytes through the schema parser (avro_schema.h); what parses is
 * mapped to its table's JSON Schema, which must compile (a record root)
 * or be refused with a message.
 */
#include "stages/record/avro_schema.h"
#include "stages/record/schema.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  const char *t = (const char *)data;
  ks_avro_schema *s = NULL;
  char err[512] = "";
  if (ks_avro_schema_parse(&t, &size, 1, &s, err, sizeof err) != 0) {
    if (err[0] == 0)
      abort();
    return 0;
  }
  ks_buf js;
  ks_buf_init(&js, 0);
  if (ks_avro_schema_to_json_schema(s, &js, err, sizeof err) == 0) {
    ks_schema *table = NULL;
    if (ks_schema_load_string((char *)js.data, js.len, "fuzz", &table, err,
                              sizeof err) == 0)
      ks_schema_free(table);
    else if (err[0] == 0)
      abort();
  } else if (err[0] == 0) {
    abort();
  }
  ks_buf_free(&js);
  ks_avro_schema_free(s);
  return 0;
}
