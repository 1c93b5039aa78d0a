/*
 * Rejects: why a record did not make it into its table. The decoder
 * (decode.h), schema inference (infer.h) and the table writer fill a
 * ks_reject; error files, the dead-letter queue, metrics and `ksink
 * validate` print it through ks_reason_name and ks_keyword_name, so the
 * reason and the keyword travel as enums, never as strings.
 */
#ifndef KS_STAGES_RECORD_REJECT_H
#define KS_STAGES_RECORD_REJECT_H

#include "jsonschema/jsonschema.h"

#include <string.h>

/* Reject reasons counted per table (metric label order). */
#define KS_REASON_MAP(XX)                                                      \
  XX(MALFORMED_JSON, "malformed_json")                                         \
  XX(INVALID_UTF8, "invalid_utf8")                                             \
  XX(SCHEMA, "schema")                                                         \
  XX(TOO_LARGE, "too_large")                                                   \
  XX(NULL_VALUE, "null_value")                                                 \
  XX(TYPE_CONFLICT, "type_conflict")                                           \
  XX(NEW_FIELD, "new_field")                                                   \
  XX(UNKNOWN_SCHEMA_ID, "unknown_schema_id")                                   \
  XX(BAD_WIRE_FORMAT, "bad_wire_format")                                       \
  XX(SCHEMA_CHANGE, "schema_change")                                           \
  XX(CONSTRAINT, "constraint")                                                 \
  XX(PARTITION_VALUE, "partition_value")                                       \
  XX(TRANSFORM, "transform")
#define KS_REASON_ENUM_(n, s) KS_REASON_##n,
/* KS_REASON_NONE: no reject (yet). */
typedef enum ks_reason {
  KS_REASON_NONE = -1,
  KS_REASON_MAP(KS_REASON_ENUM_) KS_REASON_COUNT
} ks_reason;
#undef KS_REASON_ENUM_
/* The metric label ("malformed_json"); "unknown" out of range. */
const char *ks_reason_name(int reason);

typedef struct ks_reject {
  int code;           /* KS_EPARSE, KS_EINVALID or KS_ETOOBIG */
  ks_reason reason;   /* what metrics count it as */
  ks_keyword keyword; /* the failing JSON Schema keyword, or
                         KS_KEYWORD_NONE (parse errors, ...) */
  char path[256];     /* JSON pointer of the failing value ("" = root) */
  char message[512];  /* "/user_id: expected integer, got string" */
} ks_reject;

/* An empty reject: no reason, no keyword, no text. */
static inline void ks_reject_clear(ks_reject *r) {
  memset(r, 0, sizeof *r);
  r->reason = KS_REASON_NONE;
  r->keyword = KS_KEYWORD_NONE;
}

#endif
