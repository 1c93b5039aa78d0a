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
 * pipeline). The registry is asked with blocking requests: this is a
 * command, not the record path. Schemas are cached by id (ids never
 * change meaning).
 */
#include "base/ks.h"
#include "cli/validate_wire.h"
#include "stages/record/avro.h"
#include "stages/record/wire.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define MAX_REFS 32

typedef struct cached {
  uint32_t id;
  int avro;
  ks_avro_schema *av;
  ks_schema *js; /* the writer's own table (when no --schema) */
  ks_decoder *d;
  ks_avro_decoder *ad;
} cached;

typedef struct vw {
  const ks_validate_wire_opts *o;
  cached *c;
  size_t n, cap;
} vw;

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx) {
  ks_buf *b = ctx;
  return ks_buf_append(b, p, sz * nm) ? 0 : sz * nm;
}

/* GET path from the first URL that answers: the HTTP status, or -1 when
 * none answers. */
static long get(const ks_validate_wire_opts *o, const char *path, ks_buf *b) {
  for (size_t i = 0; i < o->nurls; i++) {
    CURL *h = curl_easy_init();
    char url[2048];
    const char *base = o->urls[i];
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
      bl--;
    snprintf(url, sizeof url, "%.*s%s", (int)bl, base, path);
    ks_buf_reset(b);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *hdrs = curl_slist_append(
        NULL, "Accept: application/vnd.schemaregistry.v1+json");
    char bearer[2048];
    if (o->bearer_token) {
      snprintf(bearer, sizeof bearer, "Authorization: Bearer %s",
               o->bearer_token);
      hdrs = curl_slist_append(hdrs, bearer);
    } else if (o->basic_auth_user_info) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(h, CURLOPT_USERPWD, o->basic_auth_user_info);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    long status = -1;
    if (rc == CURLE_OK)
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc == CURLE_OK && status < 500)
      return status;
    fprintf(stderr, "ksink validate: schema registry %s: %s\n", url,
            rc == CURLE_OK ? "server error" : curl_easy_strerror(rc));
  }
  return -1;
}

static const char *jstr(yajl_val v, const char *key) {
  const char *path[] = {key, NULL};
  yajl_val s = yajl_tree_get(v, path, yajl_t_string);
  return s ? YAJL_GET_STRING(s) : NULL;
}

typedef struct texts {
  char *t[MAX_REFS + 1];
  size_t len[MAX_REFS + 1];
  size_t n;
} texts;

/* Adds the schemas doc references, depth first, then doc's own. */
static int collect(vw *w, yajl_val doc, texts *out, int depth, char *err,
                   size_t errlen) {
  const char *rp[] = {"references", NULL};
  yajl_val refs = yajl_tree_get(doc, rp, yajl_t_array);
  for (size_t i = 0; refs && i < YAJL_GET_ARRAY(refs)->len; i++) {
    yajl_val r = YAJL_GET_ARRAY(refs)->values[i];
    const char *subject = jstr(r, "subject");
    const char *vp[] = {"version", NULL};
    yajl_val ver = yajl_tree_get(r, vp, yajl_t_number);
    if (subject == NULL || ver == NULL || !YAJL_IS_INTEGER(ver) || depth > 8) {
      snprintf(err, errlen, "a reference without subject and version");
      return KS_ESCHEMA;
    }
    char *esc = curl_easy_escape(NULL, subject, 0), path[1024];
    snprintf(path, sizeof path, "/subjects/%s/versions/%lld", esc,
             (long long)YAJL_GET_INTEGER(ver));
    curl_free(esc);
    ks_buf b;
    ks_buf_init(&b, 64 << 20);
    long st = get(w->o, path, &b);
    ks_buf_cstr(&b);
    yajl_val sub = st == 200 ? yajl_tree_parse((char *)b.data, NULL, 0) : NULL;
    ks_buf_free(&b);
    if (sub == NULL) {
      snprintf(err, errlen, "reference %.200s: HTTP %ld", path, st);
      return st < 0 ? KS_EIO : KS_ESCHEMA;
    }
    int r2 = collect(w, sub, out, depth + 1, err, errlen);
    yajl_tree_free(sub);
    if (r2)
      return r2;
  }
  const char *s = jstr(doc, "schema");
  if (s == NULL || out->n > MAX_REFS) {
    snprintf(err, errlen, "registry answer without \"schema\"");
    return KS_ESCHEMA;
  }
  out->t[out->n] = ks_strdup(s);
  out->len[out->n++] = strlen(s);
  return 0;
}

/* The schema of id: cached, or fetched. 0; KS_ENOENT (unknown id, err);
 * KS_EIO (registry unreachable); KS_ESCHEMA (err). */
static int schema_of(vw *w, uint32_t id, cached **out, char *err,
                     size_t errlen) {
  for (size_t i = 0; i < w->n; i++)
    if (w->c[i].id == id) {
      *out = &w->c[i];
      return 0;
    }
  char path[64];
  snprintf(path, sizeof path, "/schemas/ids/%u", id);
  ks_buf b;
  ks_buf_init(&b, 64 << 20);
  long st = get(w->o, path, &b);
  ks_buf_cstr(&b);
  if (st == 404) {
    snprintf(err, errlen, ": schema id %u is not in the registry (%.200s)",
             id, b.len ? (char *)b.data : "404");
    ks_buf_free(&b);
    return KS_ENOENT;
  }
  if (st != 200) {
    snprintf(err, errlen, "schema id %u: %s", id,
             st < 0 ? "registry unreachable" : "registry refused");
    ks_buf_free(&b);
    return KS_EIO;
  }
  yajl_val doc = yajl_tree_parse((char *)b.data, NULL, 0);
  ks_buf_free(&b);
  if (doc == NULL) {
    snprintf(err, errlen, "schema id %u: the registry's answer is not JSON",
             id);
    return KS_ESCHEMA;
  }
  const char *type = jstr(doc, "schemaType");
  int avro = type == NULL || strcmp(type, "AVRO") == 0;
  if (!avro && strcmp(type, "JSON") != 0) {
    snprintf(err, errlen, "schema id %u is of type %s", id, type);
    yajl_tree_free(doc);
    return KS_ESCHEMA;
  }
  if (avro != (w->o->format == KS_VALUE_AVRO)) {
    snprintf(err, errlen, "schema id %u is %s, not %s", id, avro ? "AVRO" : "JSON",
             avro ? "JSON" : "AVRO");
    yajl_tree_free(doc);
    return KS_ESCHEMA;
  }
  texts t = {0};
  int r = collect(w, doc, &t, 0, err, errlen);
  yajl_tree_free(doc);
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 8;
    w->c = ks_realloc(w->c, w->cap * sizeof *w->c);
  }
  cached *c = &w->c[w->n];
  memset(c, 0, sizeof *c);
  c->id = id;
  c->avro = avro;
  char name[64];
  snprintf(name, sizeof name, "schema id %u", id);
  ks_schema_opts so = {.table = 1, .format_assertion = 1};
  if (r == 0 && avro) {
    r = ks_avro_schema_parse((const char *const *)t.t, t.len, t.n, &c->av, err,
                             errlen);
    ks_buf js;
    ks_buf_init(&js, 0);
    if (r == 0 && w->o->table == NULL &&
        (r = ks_avro_schema_to_json_schema(c->av, &js, err, errlen)) == 0)
      r = ks_schema_load_opts((char *)js.data, js.len, name, &so, &c->js, err,
                              errlen);
    ks_buf_free(&js);
  } else if (r == 0) {
    if (t.n > 1) {
      snprintf(err, errlen, "schema id %u: JSON Schema references are not "
                            "resolved yet", id);
      r = KS_ESCHEMA;
    } else if (w->o->table == NULL) {
      so.table = 0;
      r = ks_schema_load_opts(t.t[0], t.len[0], name, &so, &c->js, err,
                              errlen);
    }
  }
  for (size_t i = 0; i < t.n; i++)
    ks_free(t.t[i]);
  if (r) {
    ks_avro_schema_free(c->av);
    ks_schema_free(c->js);
    return r;
  }
  c->d = ks_decoder_new(w->o->table ? w->o->table : c->js, NULL, 0);
  if (avro)
    c->ad = ks_avro_decoder_new(c->d);
  w->n++;
  *out = c;
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
  if (r == KS_ENOENT) {
    rej->code = KS_EINVALID;
    rej->reason = KS_REASON_UNKNOWN_SCHEMA_ID;
    snprintf(rej->message, sizeof rej->message, "%s", err);
    return KS_EINVALID;
  }
  if (r) {
    fprintf(stderr, "ksink validate: %s\n", err);
    return r;
  }
  if (c->avro)
    return ks_avro_decoder_feed(c->ad, ks_avro_schema_root(c->av), wire.payload,
                                wire.len, rej);
  return ks_decoder_feed(c->d, wire.payload, wire.len, rej);
}

ks_validate_wire *ks_validate_wire_new(const ks_validate_wire_opts *o) {
  vw *w = ks_calloc(1, sizeof *w);
  w->o = o;
  return (ks_validate_wire *)w;
}

void ks_validate_wire_free(ks_validate_wire *w_) {
  vw *w = (vw *)w_;
  if (w == NULL)
    return;
  for (size_t i = 0; i < w->n; i++) {
    ks_avro_decoder_free(w->c[i].ad);
    ks_decoder_free(w->c[i].d);
    ks_avro_schema_free(w->c[i].av);
    ks_schema_free(w->c[i].js);
  }
  ks_free(w->c);
  ks_free(w);
}
