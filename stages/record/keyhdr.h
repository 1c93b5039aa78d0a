/*
 * The record key and headers as columns (tables[].key, tables[].headers):
 * the table writer appends them after the _kafka_* columns of each row.
 * Key formats: string (UTF-8 text), json (a JSON text, kept as text),
 * bytes (base64 text). A key decoder for the registry's formats (Avro,
 * JSON Schema) plugs in beside these in ks_keyhdr_append_key.
 * Headers: map<string, string>; a value that is not UTF-8 is stored in
 * base64 and its name listed in the companion list<string> column
 * (<column>_base64); a name repeated in one record keeps its last value
 * (Connect's Headers.lastWithName).
 */
#ifndef KS_STAGES_RECORD_KEYHDR_H
#define KS_STAGES_RECORD_KEYHDR_H

#include "conf/conf.h"
#include "stages/record/reject.h"
#include "storage/parquet/column.h"

/* One Kafka header as the consumer gives it (value NULL: a null value). */
typedef struct ks_header {
  const char *name;
  const void *value;
  size_t len;
} ks_header;

/* Appends the key (NULL: a record without key -> null) to c. 0;
 * KS_EINVALID with rej for a key its format refuses (reasons
 * invalid_utf8, malformed_json); a column error (KS_ETOOBIG). */
int ks_keyhdr_append_key(ks_column *c, ks_key_format f, const void *key,
                         size_t len, ks_reject *rej);

/* Appends the headers to cols[0] (the map's keys), cols[1] (its values)
 * and cols[2] (the base64 names). 0, KS_EINVALID with rej (a header name
 * that is not UTF-8), or a column error. */
int ks_keyhdr_append_headers(ks_column *cols, const ks_header *h, size_t n,
                             ks_reject *rej);

/* Base64 (RFC 4648, padded) of p into out; returns its length
 * (4 * ceil(n / 3)). */
size_t ks_keyhdr_base64(char *out, const uint8_t *p, size_t n);

#endif
