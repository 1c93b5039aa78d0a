/*
 * The registry side of `ksink validate --value-format json_schema|avro`
 * (validate_wire.c): one base64 record value per line, checked as the
 * pipeline checks Schema Registry records. Called by cli/validate.c only.
 */
#ifndef KS_CLI_VALIDATE_WIRE_H
#define KS_CLI_VALIDATE_WIRE_H

#include "stages/record/decode.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ks_value_format {
  KS_VALUE_JSON,
  KS_VALUE_JSON_SCHEMA,
  KS_VALUE_AVRO
} ks_value_format;

typedef struct ks_validate_wire_opts {
  ks_value_format format;
  const char *const *urls; /* tried in turn */
  size_t nurls;
  const char *basic_auth_user_info; /* "user:password" */
  const char *bearer_token;
  const ks_schema *table; /* --schema: the table's schema, or NULL */
} ks_validate_wire_opts;

typedef struct ks_validate_wire ks_validate_wire;

ks_validate_wire *ks_validate_wire_new(const ks_validate_wire_opts *o);
void ks_validate_wire_free(ks_validate_wire *w);
/* One line (modified in place): 0 valid; KS_EINVALID with rej (also
 * bad_wire_format, unknown_schema_id); another code when the registry
 * cannot be asked or its schema does not load (message on stderr). */
int ks_validate_wire_line(ks_validate_wire *w, uint8_t *line, size_t len,
                          ks_reject *rej);

#endif
