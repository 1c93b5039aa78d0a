/*
 * Schema Registry client (Confluent's REST API; Karapace, Redpanda and
 * Apicurio's ccompat speak it too). Schemas are cached by id for the life
 * of the process (an id never changes meaning) and shared by every lane;
 * a subject's latest version is asked once at start-up.
 *
 * Two ways in:
 *  - blocking (start-up, `ksink validate`): ks_registry_schema_sync,
 *    ks_registry_latest_sync;
 *  - from a lane (the record path): ks_registry_fetch runs the same
 *    request on libuv's thread pool and calls back on the lane's loop, so
 *    the loop never waits. Fetches are rare (one per new schema id), which
 *    is why they do not get a curl multi of their own.
 * URLs are tried in turn. Only a 404 is a verdict on a schema (unknown)
 * and a 200 brings it; a URL that does not answer, or answers anything
 * else (5xx, 429, 408, 401/403, a redirect not followed), is
 * "unreachable", for a reference as for the schema itself, and the caller
 * keeps the records and asks again later.
 */
#ifndef KS_STAGES_REGISTRY_H
#define KS_STAGES_REGISTRY_H

#include "base/buf.h"
#include "conf/conf.h"
#include "stages/record/avro_schema.h"
#include "stages/record/schema.h"

#include <stdint.h>
#include <uv.h>

typedef struct ks_registry ks_registry;

/* One registered schema, immutable once made (shared across lanes). */
typedef struct ks_registry_schema {
  uint32_t id;
  char guid[37];         /* its GUID when the registry named it, else "" */
  int avro;              /* 1 AVRO, 0 JSON */
  ks_avro_schema *av;    /* avro */
  char *text;            /* the schema as registered */
  char *json_schema;     /* the table JSON Schema it maps to */
  size_t json_schema_len;
} ks_registry_schema;

/* Outcomes of a lookup. */
#define KS_REGISTRY_OK 0
#define KS_REGISTRY_UNKNOWN 1     /* 404: no such id / subject */
#define KS_REGISTRY_UNREACHABLE 2 /* no URL answered: retry later */
#define KS_REGISTRY_BAD 3         /* an answer that does not load */

ks_registry *ks_registry_new(char *const *urls, size_t nurls,
                             const char *basic_auth_user_info,
                             const char *bearer_token);
void ks_registry_free(ks_registry *r);

/* The schema of id (cached). KS_REGISTRY_*; err says why. */
int ks_registry_schema_sync(ks_registry *r, uint32_t id,
                            const ks_registry_schema **out, char *err,
                            size_t errlen);
/* The schema of a GUID (the `__value_schema_id` header form; 8-4-4-4-12
 * hex), cached. KS_REGISTRY_*; err says why. */
int ks_registry_schema_by_guid_sync(ks_registry *r, const char *guid,
                                    const ks_registry_schema **out, char *err,
                                    size_t errlen);
/* The newest version of subject. KS_REGISTRY_*; err says why. */
int ks_registry_latest_sync(ks_registry *r, const char *subject,
                            const ks_registry_schema **out, char *err,
                            size_t errlen);
/* The last failure's text, for /readyz ("" when the last ask worked). */
void ks_registry_last_error(ks_registry *r, char *out, size_t outlen);

/* Start-up: the table schema of a value_format json_schema/avro table
 * without tables[].schema: the newest schema of subject "<topic>-value"
 * (TopicNameStrategy, the first topic), mapped to columns, and when rs is
 * not NULL the registry's schema it came from (cached for the run). 0, or an error
 * (KS_EIO: the registry did not answer) with err. */
int ks_registry_table_schema(ks_registry *r, const ks_conf_table *tc,
                             ks_schema **out, const ks_registry_schema **rs,
                             char *err, size_t errlen);

/* A JSON Schema with references as one document (what the cache keeps as
 * json_schema): texts[n - 1] is the root, texts[i < n - 1] the referenced
 * schemas under names[i]; NUL-terminated texts. KS_REGISTRY_OK with *out
 * (ks_free), or KS_REGISTRY_BAD with err. Exposed for the fuzz target. */
int ks_registry_bundle_json(char *const *texts, const size_t *lens,
                            char *const *names, size_t n, char **out,
                            size_t *outlen, char *err, size_t errlen);

typedef struct ks_registry_fetch ks_registry_fetch;
typedef void (*ks_registry_cb)(ks_registry_fetch *f, int outcome,
                               const ks_registry_schema *s, const char *err);
struct ks_registry_fetch {
  uv_work_t work;
  ks_registry *reg;
  uint32_t id;
  char guid[37]; /* asked by GUID when not empty */
  ks_registry_cb cb;
  void *data;
  int outcome;
  const ks_registry_schema *s;
  char err[256];
};
/* Asks for id (or f->guid, when the caller set it) off the loop; cb runs on loop. f stays the caller's and
 * must live until cb. 0, or a libuv error (cb will not run). */
int ks_registry_fetch_start(ks_registry_fetch *f, uv_loop_t *loop,
                            ks_registry *r, uint32_t id, ks_registry_cb cb);

#endif
