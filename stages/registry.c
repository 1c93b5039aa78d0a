/*
 * Schema Registry client (registry.h): blocking libcurl requests, a cache
 * by id under a mutex, and a thread-pool wrapper for lanes.
 */
#include "stages/registry.h"

#include "base/jsontext.h"
#include "base/jsontree.h"
#include "base/ks.h"
#include "base/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define MAX_REFS 32
#define MAX_ANSWER ((size_t)16 << 20)

struct ks_registry {
  char **urls;
  size_t nurls;
  char *userpwd, *bearer;
  pthread_mutex_t lock; /* the cache and last_error */
  ks_registry_schema **cache;
  size_t n, cap;
  char last_error[256];
};

ks_registry *ks_registry_new(char *const *urls, size_t nurls,
                             const char *basic_auth_user_info,
                             const char *bearer_token) {
  ks_registry *r = ks_calloc(1, sizeof *r);
  r->urls = ks_calloc(nurls ? nurls : 1, sizeof *r->urls);
  for (size_t i = 0; i < nurls; i++) {
    size_t l = strlen(urls[i]);
    r->urls[i] = ks_strdup(urls[i]);
    while (l && r->urls[i][l - 1] == '/')
      r->urls[i][--l] = 0;
  }
  r->nurls = nurls;
  r->userpwd = basic_auth_user_info ? ks_strdup(basic_auth_user_info) : NULL;
  r->bearer = bearer_token ? ks_strdup(bearer_token) : NULL;
  pthread_mutex_init(&r->lock, NULL);
  return r;
}

static void schema_free(ks_registry_schema *s) {
  ks_avro_schema_free(s->av);
  ks_free(s->text);
  ks_free(s->json_schema);
  ks_free(s);
}

void ks_registry_free(ks_registry *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    schema_free(r->cache[i]);
  ks_free(r->cache);
  for (size_t i = 0; i < r->nurls; i++)
    ks_free(r->urls[i]);
  ks_free(r->urls);
  ks_free(r->userpwd);
  ks_free(r->bearer);
  pthread_mutex_destroy(&r->lock);
  ks_free(r);
}

static void set_error(ks_registry *r, const char *e) {
  pthread_mutex_lock(&r->lock);
  snprintf(r->last_error, sizeof r->last_error, "%s", e);
  pthread_mutex_unlock(&r->lock);
}

void ks_registry_last_error(ks_registry *r, char *out, size_t outlen) {
  pthread_mutex_lock(&r->lock);
  snprintf(out, outlen, "%s", r->last_error);
  pthread_mutex_unlock(&r->lock);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx) {
  ks_buf *b = ctx;
  return ks_buf_append(b, p, sz * nm) ? 0 : sz * nm;
}

/* What an answer says about the schema asked for, for the top-level
 * request and a reference's alike. Only a 404 is a verdict on it (and a
 * 200 brings it); any other status is about the registry or the way to
 * it -- 5xx, a rate limit (429), a request timeout (408), credentials
 * refused (401/403), a redirect not followed, a proxy's own 4xx -- as is
 * no answer at all (-1): the caller asks again later. */
static int outcome(long status) {
  return status == 200   ? KS_REGISTRY_OK
         : status == 404 ? KS_REGISTRY_UNKNOWN
                         : KS_REGISTRY_UNREACHABLE;
}

#if LIBCURL_VERSION_NUM >= 0x075500
#define REDIR_PROTOCOLS(h, https)                                              \
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, (https) ? "https" : "http")
#else
#define REDIR_PROTOCOLS(h, https)                                              \
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,                                 \
                   (long)((https) ? CURLPROTO_HTTPS : CURLPROTO_HTTP))
#endif

/* GET path from the first URL whose answer is about the schema (see
 * outcome()): its status, or -1 with err saying what the last URL did.
 *
 * Redirects are followed, up to 3, on the URL's own scheme. A registry
 * behind a reverse proxy or load balancer that moves or canonicalises its
 * paths answers through them; taking a redirect for "unreachable" would
 * keep its records waiting for an answer that is there. Another scheme
 * is not followed (the URL says how requests and credentials travel);
 * curl sends basic auth and the bearer header to the first host only. */
static long get(ks_registry *r, const char *path, ks_buf *b, char *err,
                size_t errlen) {
  for (size_t i = 0; i < r->nurls; i++) {
    CURL *h = curl_easy_init();
    char url[2048];
    snprintf(url, sizeof url, "%s%s", r->urls[i], path);
    ks_buf_reset(b);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
    REDIR_PROTOCOLS(h, strncmp(url, "https:", 6) == 0);
    struct curl_slist *hdrs = curl_slist_append(
        NULL, "Accept: application/vnd.schemaregistry.v1+json");
    char bearer[2048];
    if (r->bearer) {
      snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", r->bearer);
      hdrs = curl_slist_append(hdrs, bearer);
    } else if (r->userpwd) {
      curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
      curl_easy_setopt(h, CURLOPT_USERPWD, r->userpwd);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    long status = -1;
    if (rc == CURLE_OK)
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    const char *at = NULL;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &at);
    int stopped = rc == CURLE_TOO_MANY_REDIRECTS ||
                  rc == CURLE_UNSUPPORTED_PROTOCOL ||
                  (status >= 300 && status < 400);
    char where[600] = "";
    if (rc == CURLE_TOO_MANY_REDIRECTS || (at && strcmp(at, url) != 0))
      snprintf(where, sizeof where, " (redirected to %.300s%s)", at ? at : "?",
               stopped ? "; redirects are followed up to 3 times on the "
                         "URL's scheme: give the URL they lead to"
                       : "");
    ks_buf_cstr(b);
    if (rc != CURLE_OK)
      snprintf(err, errlen, "schema registry %s: %s%s", r->urls[i],
               curl_easy_strerror(rc), where);
    else if (outcome(status) == KS_REGISTRY_UNREACHABLE)
      snprintf(err, errlen, "schema registry %s: HTTP %ld for %s%s: %.200s",
               r->urls[i], status, path, where, b->len ? (char *)b->data : "");
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (outcome(status) != KS_REGISTRY_UNREACHABLE)
      return status;
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
  char *name[MAX_REFS + 1];    /* a reference's name (the root's: NULL) */
  char *subject[MAX_REFS + 1]; /* and where it came from */
  long long version[MAX_REFS + 1];
  size_t n;
} texts;

static void texts_free(texts *t) {
  for (size_t i = 0; i < t->n; i++) {
    ks_free(t->t[i]);
    ks_free(t->name[i]);
    ks_free(t->subject[i]);
  }
}

/* A reference gathered already by that name (looked for first, so that a
 * second name for one subject version is kept once, not again for each
 * schema that uses it), else by that subject version: its index, else
 * t->n. */
static size_t gathered(const texts *t, const char *name, const char *subject,
                       long long version) {
  for (size_t i = 0; name && i < t->n; i++)
    if (t->name[i] && strcmp(t->name[i], name) == 0)
      return i;
  for (size_t i = 0; i < t->n; i++)
    if (t->subject[i] && strcmp(t->subject[i], subject) == 0 &&
        t->version[i] == version)
      return i;
  return t->n;
}

/* doc's references (depth first, /subjects/{s}/versions/{v}), then doc's
 * own schema: every schema after the ones it refers to. A reference
 * gathered already is not gathered again: a name is resolved once (the
 * first wins, as in Confluent's clients), and a subject version once,
 * since Avro refuses a type defined twice (Order refers to Price and
 * Money, Price to Money too). A JSON Schema $ref finds its schema by the
 * reference's name, so there the same subject version under a second
 * name is kept again under that name. KS_REGISTRY_*. */
static int collect(ks_registry *r, yajl_val doc, int avro, texts *out,
                   int depth, char *err, size_t errlen) {
  const char *rp[] = {"references", NULL};
  yajl_val refs = yajl_tree_get(doc, rp, yajl_t_array);
  for (size_t i = 0; refs && i < YAJL_GET_ARRAY(refs)->len; i++) {
    yajl_val ref = YAJL_GET_ARRAY(refs)->values[i];
    const char *subject = jstr(ref, "subject"), *name = jstr(ref, "name");
    const char *vp[] = {"version", NULL};
    yajl_val ver = yajl_tree_get(ref, vp, yajl_t_number);
    if (subject == NULL || ver == NULL || !YAJL_IS_INTEGER(ver) || depth > 8) {
      snprintf(err, errlen,
               "a reference without subject and version, or "
               "nested deeper than 8");
      return KS_REGISTRY_BAD;
    }
    long long version = YAJL_GET_INTEGER(ver);
    size_t had = gathered(out, name, subject, version);
    if (had < out->n) {
      if (avro || name == NULL ||
          (out->name[had] && strcmp(out->name[had], name) == 0))
        continue;
      if (out->n > MAX_REFS)
        break; /* refused below */
      out->t[out->n] = ks_strdup(out->t[had]);
      out->len[out->n] = out->len[had];
      out->name[out->n] = ks_strdup(name);
      out->subject[out->n] = ks_strdup(subject);
      out->version[out->n++] = version;
      continue;
    }
    char *esc = curl_easy_escape(NULL, subject, 0), path[600];
    snprintf(path, sizeof path, "/subjects/%.400s/versions/%lld", esc, version);
    curl_free(esc);
    ks_buf b;
    ks_buf_init(&b, MAX_ANSWER);
    int rc = outcome(get(r, path, &b, err, errlen));
    ks_buf_cstr(&b);
    yajl_val sub = rc == 0 ? yajl_tree_parse((char *)b.data, NULL, 0) : NULL;
    if (rc == KS_REGISTRY_UNKNOWN)
      snprintf(err, errlen, "reference %.300s: not in the registry: %.200s",
               path, b.len ? (char *)b.data : "404");
    else if (rc == 0 && sub == NULL) {
      snprintf(err, errlen, "reference %.300s: the answer is not JSON", path);
      rc = KS_REGISTRY_BAD;
    }
    ks_buf_free(&b);
    if (rc)
      return rc;
    int r2 = collect(r, sub, avro, out, depth + 1, err, errlen);
    yajl_tree_free(sub);
    if (r2)
      return r2;
    /* the schema sub added last */
    if (name && out->name[out->n - 1] == NULL)
      out->name[out->n - 1] = ks_strdup(name);
    out->subject[out->n - 1] = ks_strdup(subject);
    out->version[out->n - 1] = version;
  }
  const char *s = jstr(doc, "schema");
  if (s == NULL || out->n > MAX_REFS) {
    snprintf(err, errlen,
             "an answer without \"schema\" (or more than %d "
             "references)",
             MAX_REFS);
    return KS_REGISTRY_BAD;
  }
  out->t[out->n] = ks_strdup(s);
  out->len[out->n++] = strlen(s);
  return 0;
}

/* The validator is draft-07's. A JSON Schema that names no dialect, or
 * draft-07, or draft-06 (which draft-07 only extends) compiles; draft-04
 * (boolean exclusiveMaximum, id), 2019-09 and 2020-12 (their own
 * keywords and $ref rules) would be read wrongly, so they are refused. */
static int dialect_ok(const char *text, char *err, size_t errlen) {
  yajl_val v = yajl_tree_parse(text, NULL, 0);
  const char *d = v && YAJL_IS_OBJECT(v) ? jstr(v, "$schema") : NULL;
  int ok = 1;
  if (d) {
    const char *p = strstr(d, "://json-schema.org/");
    ok = p &&
         (strncmp(p, "://json-schema.org/draft-07/schema", 34) == 0 ||
          strncmp(p, "://json-schema.org/draft-06/schema", 34) == 0) &&
         (strncmp(d, "http://", 7) == 0 || strncmp(d, "https://", 8) == 0);
    if (!ok)
      snprintf(err, errlen,
               "JSON Schema dialect %.200s is not read: ksink "
               "validates draft-07 (and draft-06); register the "
               "schema as draft-07",
               d);
  }
  yajl_tree_free(v);
  return ok;
}

/* ---- JSON Schema references --------------------------------------------- */

/* The referenced schemas, as members of a "definitions" object: each
 * under "ksink-reference-<i>" with "$id" its reference name. */
static void gen_refs(ks_buf *b, yajl_val *docs, const texts *t, int comma) {
  for (size_t i = 0; i + 1 < t->n; i++) {
    ks_buf_appendf(b, "%s\"ksink-reference-%zu\":{\"$id\":", comma ? "," : "",
                   i);
    comma = 1;
    ks_buf_append_json_str(b, t->name[i], strlen(t->name[i]));
    yajl_val d = docs[i];
    for (size_t k = 0; k < d->u.object.len; k++) {
      const char *key = d->u.object.keys[k];
      if (strcmp(key, "$id") == 0)
        continue;
      ks_buf_append_byte(b, ',');
      ks_buf_append_json_str(b, key, strlen(key));
      ks_buf_append_byte(b, ':');
      ks_json_tree_write(b, d->u.object.values[k]);
    }
    ks_buf_append_byte(b, '}');
  }
}

/* A JSON Schema with references, as one document. Confluent's JSON Schema
 * references name each referenced schema by the URI the referrer's $ref
 * uses; each goes into the root's "definitions" with that name as its
 * "$id" (resolved against the root's base URI, as the $ref is), where
 * draft-07's $ref finds it. KS_REGISTRY_OK or KS_REGISTRY_BAD. */
static int bundle(const texts *t, char **out, size_t *outlen, char *err,
                  size_t errlen) {
  *out = NULL;
  *outlen = 0;
  yajl_val docs[MAX_REFS + 1] = {0};
  int rc = KS_REGISTRY_OK;
  for (size_t i = 0; i < t->n && rc == 0; i++) {
    if ((i + 1 < t->n && t->name[i] == NULL) ||
        ks_json_too_deep(t->t[i], t->len[i], 128) ||
        (docs[i] = yajl_tree_parse(t->t[i], NULL, 0)) == NULL ||
        !YAJL_IS_OBJECT(docs[i])) {
      snprintf(err, errlen,
               "%s %.200s is not a JSON Schema object (or has "
               "no name, or nests deeper than 128)",
               i + 1 < t->n ? "reference" : "schema",
               i + 1 < t->n && t->name[i] ? t->name[i] : "");
      rc = KS_REGISTRY_BAD;
    }
  }
  if (rc == 0) {
    yajl_val root = docs[t->n - 1];
    ks_buf b;
    ks_buf_init(&b, 0);
    ks_buf_append_byte(&b, '{');
    int had = 0;
    for (size_t k = 0; k < root->u.object.len; k++) {
      const char *key = root->u.object.keys[k];
      yajl_val v = root->u.object.values[k];
      if (k)
        ks_buf_append_byte(&b, ',');
      ks_buf_append_json_str(&b, key, strlen(key));
      ks_buf_append_byte(&b, ':');
      if (!had && strcmp(key, "definitions") == 0 && YAJL_IS_OBJECT(v)) {
        had = 1;
        size_t n = b.len;
        ks_json_tree_write(&b, v);
        b.len--; /* reopen it */
        gen_refs(&b, docs, t, b.len > n + 1);
        ks_buf_append_byte(&b, '}');
      } else {
        ks_json_tree_write(&b, v);
      }
    }
    if (!had) {
      ks_buf_appendf(&b, "%s\"definitions\":{", root->u.object.len ? "," : "");
      gen_refs(&b, docs, t, 0);
      ks_buf_append_byte(&b, '}');
    }
    ks_buf_append_byte(&b, '}');
    ks_buf_cstr(&b);
    *out = (char *)ks_buf_steal(&b, outlen);
  }
  for (size_t i = 0; i < t->n; i++)
    yajl_tree_free(docs[i]);
  return rc;
}

int ks_registry_bundle_json(char *const *texts_, const size_t *lens,
                            char *const *names, size_t n, char **out,
                            size_t *outlen, char *err, size_t errlen) {
  texts t = {0};
  if (n == 0 || n > MAX_REFS + 1) {
    snprintf(err, errlen, "%zu schemas (1 to %d)", n, MAX_REFS + 1);
    return KS_REGISTRY_BAD;
  }
  for (size_t i = 0; i < n; i++) {
    t.t[i] = texts_[i];
    t.len[i] = lens[i];
    t.name[i] = names[i];
  }
  t.n = n;
  return bundle(&t, out, outlen, err, errlen);
}

/* A schema from a registry answer (GET /schemas/ids/{id} or a subject
 * version). KS_REGISTRY_*. */
static int make(ks_registry *r, uint32_t id, yajl_val doc,
                ks_registry_schema **out, char *err, size_t errlen) {
  const char *type = jstr(doc, "schemaType");
  int avro = type == NULL || strcmp(type, "AVRO") == 0;
  if (!avro && strcmp(type, "JSON") != 0) {
    snprintf(err, errlen,
             "schema id %u is of type %s (ksink reads AVRO and "
             "JSON)",
             id, type);
    return KS_REGISTRY_BAD;
  }
  texts t = {0};
  int rc = collect(r, doc, avro, &t, 0, err, errlen);
  ks_registry_schema *s = ks_calloc(1, sizeof *s);
  s->id = id;
  s->avro = avro;
  if (rc == 0 && avro) {
    ks_buf js;
    ks_buf_init(&js, 0);
    if (ks_avro_schema_parse((const char *const *)t.t, t.len, t.n, &s->av, err,
                             errlen) ||
        ks_avro_schema_to_json_schema(s->av, &js, err, errlen))
      rc = KS_REGISTRY_BAD;
    ks_buf_cstr(&js);
    s->json_schema = (char *)ks_buf_steal(&js, &s->json_schema_len);
  } else if (rc == 0) {
    if (!dialect_ok(t.t[t.n - 1], err, errlen)) {
      rc = KS_REGISTRY_BAD;
    } else if (t.n > 1) {
      rc = bundle(&t, &s->json_schema, &s->json_schema_len, err, errlen);
    } else {
      s->json_schema = ks_strdup(t.t[0]);
      s->json_schema_len = t.len[0];
    }
  }
  if (rc == 0)
    s->text = ks_strdup(t.t[t.n - 1]);
  texts_free(&t);
  if (rc) {
    schema_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* A schema asked by GUID may come without an id: it is kept with id 0,
 * which only its GUID finds (as keep() matches it), never schema id 0. */
static const ks_registry_schema *cached(ks_registry *r, uint32_t id,
                                        const char *guid) {
  const ks_registry_schema *s = NULL;
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->n && !s; i++)
    if (guid ? strcmp(r->cache[i]->guid, guid) == 0
             : r->cache[i]->id && r->cache[i]->id == id)
      s = r->cache[i];
  pthread_mutex_unlock(&r->lock);
  return s;
}

/* Keeps s (or the one another thread cached first). */
static const ks_registry_schema *keep(ks_registry *r, ks_registry_schema *s) {
  const ks_registry_schema *have = NULL;
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->n && !have; i++)
    if ((s->id && r->cache[i]->id == s->id) ||
        (s->guid[0] && strcmp(r->cache[i]->guid, s->guid) == 0))
      have = r->cache[i];
  if (have && have->guid[0] == 0 && s->guid[0]) /* learnt its GUID */
    memcpy(((ks_registry_schema *)have)->guid, s->guid, sizeof s->guid);
  if (have == NULL) {
    if (r->n == r->cap) {
      r->cap = r->cap ? r->cap * 2 : 16;
      r->cache = ks_realloc(r->cache, r->cap * sizeof *r->cache);
    }
    r->cache[r->n++] = s;
    have = s;
    s = NULL;
  }
  r->last_error[0] = 0;
  pthread_mutex_unlock(&r->lock);
  if (s)
    schema_free(s);
  return have;
}

static int ask(ks_registry *r, const char *path, uint32_t id, const char *guid,
               const ks_registry_schema **out, char *err, size_t errlen) {
  ks_buf b;
  ks_buf_init(&b, MAX_ANSWER);
  int rc = outcome(get(r, path, &b, err, errlen));
  ks_buf_cstr(&b);
  if (rc == KS_REGISTRY_UNKNOWN) {
    snprintf(err, errlen, "%s: not in the registry: %.200s", path,
             b.len ? (char *)b.data : "404");
  } else if (rc == KS_REGISTRY_OK) {
    yajl_val doc = yajl_tree_parse((char *)b.data, NULL, 0);
    if (doc == NULL) {
      snprintf(err, errlen, "%s: the answer is not JSON", path);
      rc = KS_REGISTRY_BAD;
    } else {
      const char *ip[] = {"id", NULL};
      yajl_val idv = yajl_tree_get(doc, ip, yajl_t_number);
      if (id == 0 && idv && YAJL_IS_INTEGER(idv))
        id = (uint32_t)YAJL_GET_INTEGER(idv);
      ks_registry_schema *s = NULL;
      rc = id == 0 && !guid ? KS_REGISTRY_BAD
                            : make(r, id, doc, &s, err, errlen);
      if (id == 0 && !guid)
        snprintf(err, errlen, "%s: the answer has no id", path);
      const char *g = guid ? guid : jstr(doc, "guid");
      if (rc == 0 && g && strlen(g) == 36)
        memcpy(s->guid, g, 37);
      yajl_tree_free(doc);
      if (rc == 0)
        *out = keep(r, s);
    }
  }
  ks_buf_free(&b);
  set_error(r, rc == KS_REGISTRY_UNREACHABLE ? err : ""); /* it answered */
  return rc;
}

int ks_registry_schema_sync(ks_registry *r, uint32_t id,
                            const ks_registry_schema **out, char *err,
                            size_t errlen) {
  if ((*out = cached(r, id, NULL)) != NULL)
    return 0;
  char path[64];
  snprintf(path, sizeof path, "/schemas/ids/%u", id);
  return ask(r, path, id, NULL, out, err, errlen);
}

int ks_registry_schema_by_guid_sync(ks_registry *r, const char *guid,
                                    const ks_registry_schema **out, char *err,
                                    size_t errlen) {
  if ((*out = cached(r, 0, guid)) != NULL)
    return 0;
  char path[96];
  snprintf(path, sizeof path, "/schemas/guids/%.36s", guid);
  return ask(r, path, 0, guid, out, err, errlen);
}

int ks_registry_latest_sync(ks_registry *r, const char *subject,
                            const ks_registry_schema **out, char *err,
                            size_t errlen) {
  char *esc = curl_easy_escape(NULL, subject, 0), path[600];
  snprintf(path, sizeof path, "/subjects/%.500s/versions/latest", esc);
  curl_free(esc);
  return ask(r, path, 0, NULL, out, err, errlen);
}

static void on_work(uv_work_t *w) {
  ks_registry_fetch *f = ks_container_of(w, ks_registry_fetch, work);
  f->err[0] = 0;
  f->outcome = f->guid[0] ? ks_registry_schema_by_guid_sync(
                                f->reg, f->guid, &f->s, f->err, sizeof f->err)
                          : ks_registry_schema_sync(f->reg, f->id, &f->s,
                                                    f->err, sizeof f->err);
}

static void on_done(uv_work_t *w, int status) {
  ks_registry_fetch *f = ks_container_of(w, ks_registry_fetch, work);
  if (status == UV_ECANCELED) {
    f->outcome = KS_REGISTRY_UNREACHABLE;
    snprintf(f->err, sizeof f->err, "canceled");
  }
  f->cb(f, f->outcome, f->outcome == 0 ? f->s : NULL, f->err);
}

int ks_registry_fetch_start(ks_registry_fetch *f, uv_loop_t *loop,
                            ks_registry *r, uint32_t id, ks_registry_cb cb) {
  f->reg = r;
  f->id = id;
  f->cb = cb;
  f->s = NULL;
  f->outcome = 0;
  return uv_queue_work(loop, &f->work, on_work, on_done);
}

int ks_registry_table_schema(ks_registry *r, const ks_conf_table *tc,
                             ks_schema **out, const ks_registry_schema **rs,
                             char *err, size_t errlen) {
  char subject[512], why[512] = "";
  snprintf(subject, sizeof subject, "%s-value", tc->topics[0]);
  const ks_registry_schema *s = NULL;
  int rc = ks_registry_latest_sync(r, subject, &s, why, sizeof why);
  if (rc) {
    snprintf(err, errlen,
             "tables[%s]: value_format %s: the table's columns come from the "
             "newest schema of subject %s: %s%s",
             tc->name,
             tc->value_format == KS_VALUE_FORMAT_AVRO ? "avro" : "json_schema",
             subject, why,
             rc == KS_REGISTRY_UNKNOWN ? " (register the value schema first, "
                                         "or give tables[].schema)"
                                       : "");
    return rc == KS_REGISTRY_UNREACHABLE ? KS_EIO : KS_ESCHEMA;
  }
  if (s->avro != (tc->value_format == KS_VALUE_FORMAT_AVRO)) {
    snprintf(err, errlen,
             "tables[%s]: subject %s holds a %s schema, the table "
             "reads %s",
             tc->name, subject, s->avro ? "AVRO" : "JSON",
             s->avro ? "json_schema" : "avro");
    return KS_ESCHEMA;
  }
  if (rs)
    *rs = s;
  char name[600];
  snprintf(name, sizeof name, "%s (schema id %u)", subject, s->id);
  return ks_schema_load_string(s->json_schema, s->json_schema_len, name, out,
                               err, errlen);
}
