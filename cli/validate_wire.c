/*
 * ksink validate --value-format json_schema|avro --schema-registry URL:
 * checks records as Schema Registry serializers write them. Each input
 * line is one record value in base64 (the bytes after Kafka, as kcat -e
 * or a dead-letter file shows them); the verdict is the pipeline's: the
 * wire prefix (stages/record/wire.h), the schema by id from the registry
 * (GET /schemas/ids/{id}, Avro references by /subjects/{s}/versions/{v}),
 * then the JSON Schema validator or the Avro decoder (stages/record/
 * avro.h) against the writer's table mapping, or against --schema when
 * given (the table's schema: resolution by field name, as in the
 * pipeline). The registry is asked with blocking requests
 * (stages/registry.h): this is a command, not the record path.
 */
#include "base/ks.h"
#include "cli/validate_wire.h"
#include "stages/record/avro.h"
#include "stages/record/wire.h"
#include "stages/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cached {
  const ks_registry_schema *rs;
  ks_schema *js; /* the writer's own table (when no --schema) */
  ks_decoder *d;
  ks_avro_decoder *ad;
} cached;

typedef struct vw {
  const ks_validate_wire_opts *o;
  ks_registry *reg;
  cached *c;
  size_t n, cap;
} vw;

/* The decoder for schema id: cached, or made from the registry's answer.
 * KS_REGISTRY_*; err says why. */
static int schema_of(vw *w, uint32_t id, cached **out, char *err,
                     size_t errlen) {
  for (size_t i = 0; i < w->n; i++)
    if (w->c[i].rs->id == id) {
      *out = &w->c[i];
      return 0;
    }
  const ks_registry_schema *rs;
  int r = ks_registry_schema_sync(w->reg, id, &rs, err, errlen);
  if (r)
    return r;
  if (rs->avro != (w->o->format == KS_VALUE_AVRO)) {
    snprintf(err, errlen, "schema id %u is %s, not %s", id,
             rs->avro ? "AVRO" : "JSON", rs->avro ? "JSON" : "AVRO");
    return KS_REGISTRY_BAD;
  }
  cached c = {.rs = rs};
  if (w->o->table == NULL) {
    char name[64];
    snprintf(name, sizeof name, "schema id %u", id);
    ks_schema_opts so = {.table = rs->avro, .format_assertion = 1};
    if (ks_schema_load_opts(rs->json_schema, rs->json_schema_len, name, &so,
                            &c.js, err, errlen))
      return KS_REGISTRY_BAD;
  }
  c.d = ks_decoder_new(w->o->table ? w->o->table : c.js, NULL, 0);
  if (rs->avro)
    c.ad = ks_avro_decoder_new(c.d);
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 8;
    w->c = ks_realloc(w->c, w->cap * sizeof *w->c);
  }
  w->c[w->n] = c;
  *out = &w->c[w->n++];
  return 0;
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  return c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
}

/* base64 (standard or URL-safe, padding optional) in place; -1 if not. */
static ssize_t unbase64(uint8_t *s, size_t n) {
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=')
      break;
    int v = b64val(s[i]);
    if (v < 0)
      return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s[o++] = (uint8_t)(acc >> bits);
    }
  }
  return (ssize_t)o;
}

int ks_validate_wire_line(ks_validate_wire *w_, uint8_t *line, size_t len,
                          ks_reject *rej) {
  vw *w = (vw *)w_;
  ks_reject_clear(rej);
  ssize_t n = unbase64(line, len);
  if (n < 0) {
    rej->code = KS_EINVALID;
    rej->reason = KS_REASON_BAD_WIRE_FORMAT;
    snprintf(rej->message, sizeof rej->message,
             ": the line is not base64 (one record value per line)");
    return KS_EINVALID;
  }
  ks_wire wire;
  if (ks_wire_parse(line, (size_t)n, NULL, 0, &wire, rej))
    return KS_EINVALID;
  cached *c = NULL;
  char err[512] = "";
  int r = schema_of(w, wire.id, &c, err, sizeof err);
  if (r == KS_REGISTRY_UNKNOWN) {
    rej->code = KS_EINVALID;
    rej->reason = KS_REASON_UNKNOWN_SCHEMA_ID;
    snprintf(rej->message, sizeof rej->message, "%s", err);
    return KS_EINVALID;
  }
  if (r) {
    fprintf(stderr, "ksink validate: %s\n", err);
    return KS_EIO;
  }
  if (c->rs->avro)
    return ks_avro_decoder_feed(c->ad, ks_avro_schema_root(c->rs->av),
                                wire.payload,
                                wire.len, rej);
  return ks_decoder_feed(c->d, wire.payload, wire.len, rej);
}

ks_validate_wire *ks_validate_wire_new(const ks_validate_wire_opts *o) {
  vw *w = ks_calloc(1, sizeof *w);
  w->o = o;
  w->reg = ks_registry_new((char *const *)o->urls, o->nurls,
                           o->basic_auth_user_info, o->bearer_token);
  return (ks_validate_wire *)w;
}

void ks_validate_wire_free(ks_validate_wire *w_) {
  vw *w = (vw *)w_;
  if (w == NULL)
    return;
  for (size_t i = 0; i < w->n; i++) {
    ks_avro_decoder_free(w->c[i].ad);
    ks_decoder_free(w->c[i].d);
    ks_schema_free(w->c[i].js);
  }
  ks_free(w->c);
  ks_registry_free(w->reg);
  ks_free(w);
}
