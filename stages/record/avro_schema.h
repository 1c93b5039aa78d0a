/*
 * Avro schemas: parsed from their JSON (a Schema Registry answer, with
 * the schemas it references) into a graph the Avro decoder (avro.h)
 * walks, and mapped to the JSON Schema a table is built from, so Avro
 * records land in columns by the same rules as JSON ones (schema.h).
 *
 * Mapping (the README has the table): record -> struct (object with
 * properties), array -> list, map -> map<string, V>, ["null", X] ->
 * nullable X, any other union -> a struct with one nullable field per
 * branch (named by the branch's type: "long", "string", or a named
 * type's short name), exactly one of which is set — Avro's own JSON
 * encoding of a union, typed and queryable where JSON text would not be;
 * enum -> string, bytes and fixed -> string (base64), decimal(p,s) ->
 * DECIMAL(p,s), date -> date, time-millis/-micros -> long, timestamp-*
 * and local-timestamp-* -> timestamp (microseconds, UTC), uuid -> string,
 * int -> int, long -> long, float/double -> double. A field with a
 * default, or a nullable one, is a nullable column (rows written before
 * it existed read null). A record that contains itself keeps the inner
 * occurrence as JSON text.
 */
#ifndef KS_STAGES_RECORD_AVRO_SCHEMA_H
#define KS_STAGES_RECORD_AVRO_SCHEMA_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ks_avro_kind {
  KS_AV_NULL,
  KS_AV_BOOLEAN,
  KS_AV_INT,
  KS_AV_LONG,
  KS_AV_FLOAT,
  KS_AV_DOUBLE,
  KS_AV_BYTES,
  KS_AV_STRING,
  KS_AV_RECORD,
  KS_AV_ENUM,
  KS_AV_ARRAY,
  KS_AV_MAP,
  KS_AV_UNION,
  KS_AV_FIXED
} ks_avro_kind;

typedef enum ks_avro_logical {
  KS_AVL_NONE,
  KS_AVL_DECIMAL,
  KS_AVL_DATE,
  KS_AVL_TIME_MILLIS,
  KS_AVL_TIME_MICROS,
  KS_AVL_TS_MILLIS,
  KS_AVL_TS_MICROS,
  KS_AVL_LOCAL_TS_MILLIS,
  KS_AVL_LOCAL_TS_MICROS,
  KS_AVL_UUID
} ks_avro_logical;

typedef struct ks_avro_node ks_avro_node;
struct ks_avro_node {
  ks_avro_kind kind;
  ks_avro_logical logical;
  int precision, scale; /* decimal */
  uint32_t size;        /* fixed */
  char *name;           /* named types: the full name */
  const char *short_name;
  uint32_t n;           /* record fields, enum symbols, union branches */
  ks_avro_node **kids;  /* field types, branches; array items and map
                           values are kids[0] */
  char **names;         /* field names, enum symbols */
  size_t *name_lens;
  uint8_t *has_default; /* record fields */
  int null_branch;      /* union: the null branch of a two-branch union
                           with one null, else -1 */
};

typedef struct ks_avro_schema ks_avro_schema;

/* Parses texts[n - 1] with texts[0 .. n - 1) before it, so that it may
 * name their types (registry references, in dependency order). 0, or
 * KS_ESCHEMA with err ("avro schema: <where>: reason"). */
int ks_avro_schema_parse(const char *const *texts, const size_t *lens,
                         size_t n, ks_avro_schema **out, char *err,
                         size_t errlen);
void ks_avro_schema_free(ks_avro_schema *s);
const ks_avro_node *ks_avro_schema_root(const ks_avro_schema *s);

/* The draft-07 JSON Schema a table of this Avro schema is mapped from
 * (root: a record). 0, or KS_ESCHEMA with err. */
int ks_avro_schema_to_json_schema(const ks_avro_schema *s, ks_buf *out,
                                  char *err, size_t errlen);

#endif
