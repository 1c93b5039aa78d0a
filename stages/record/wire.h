/*
 * Confluent's wire format: how a record written by a Schema Registry
 * serializer names its schema. Two forms:
 *   - in the value: magic byte 0, a 4-byte big-endian schema id, then the
 *     Avro or JSON payload;
 *   - in a header (`__value_schema_id` / `__key_schema_id`): magic byte 1
 *     and a 16-byte schema GUID; the value is then the bare payload.
 * The table writer splits a record with ks_wire_parse before it looks the
 * schema up in the registry cache (stages/record/registry.h); `ksink
 * validate --value-format` does the same. Both parsers read outside input
 * (test/fuzz/fuzz_wire.c).
 */
#ifndef KS_STAGES_RECORD_WIRE_H
#define KS_STAGES_RECORD_WIRE_H

#include "stages/record/reject.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ks_wire {
  int by_guid;          /* 1: the header form (guid), 0: an id */
  uint32_t id;          /* the schema id (by_guid == 0) */
  uint8_t guid[16];     /* the schema GUID (by_guid == 1) */
  const uint8_t *payload; /* the Avro or JSON bytes */
  size_t len;
} ks_wire;

#define KS_WIRE_VALUE_HEADER "__value_schema_id"
#define KS_WIRE_KEY_HEADER "__key_schema_id"

/* Splits a record value. hdr/hdr_len: the value of the
 * `__value_schema_id` header, or NULL when the record has none. 0, or
 * KS_EINVALID with r filled (reason bad_wire_format, the byte at fault
 * named); r may be NULL. */
int ks_wire_parse(const uint8_t *value, size_t len, const uint8_t *hdr,
                  size_t hdr_len, ks_wire *out, ks_reject *r);

/* The GUID in its registry spelling (8-4-4-4-12 lower-case hex), 37
 * bytes with the NUL. */
void ks_wire_guid_str(const uint8_t guid[16], char out[37]);

#endif
