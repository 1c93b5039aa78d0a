/*
 * $ref resolution for draft-07: RFC 3986 URIs, `$id` base URI scopes
 * (a `$id` next to a `$ref` is ignored, as draft-07 ignores every sibling
 * of `$ref`), plain-name anchors (`"$id": "#foo"`), JSON pointer fragments
 * (percent-decoded, then RFC 6901), and documents that are not the schema
 * itself: the built-in draft-07 meta-schema, and files under a local
 * directory mapped from a base URI (--remote-dir/--remote-base). Nothing is
 * ever fetched from the network.
 */
#include "base/file.h"
#include "base/jsontext.h"
#include "jsonschema/compile_int.h"

#include "draft07_schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS__META_URI "http://json-schema.org/draft-07/schema"
#define REMOTE_MAX ((size_t)16 << 20)

/* ---- RFC 3986 ---- */

typedef struct uriparts {
  const char *scheme, *auth, *path, *query, *frag;
  size_t scheme_len, auth_len, path_len, query_len, frag_len;
  int has_scheme, has_auth, has_query, has_frag;
} uriparts;

static void uri_parse(const char *u, uriparts *p) {
  memset(p, 0, sizeof *p);
  const char *s = u;
  const char *c = s;
  while (*c && *c != ':' && *c != '/' && *c != '?' && *c != '#')
    c++;
  if (*c == ':' && c > s) {
    p->has_scheme = 1;
    p->scheme = s;
    p->scheme_len = (size_t)(c - s);
    s = c + 1;
  }
  if (s[0] == '/' && s[1] == '/') {
    p->has_auth = 1;
    p->auth = s + 2;
    s += 2;
    while (*s && *s != '/' && *s != '?' && *s != '#')
      s++;
    p->auth_len = (size_t)(s - p->auth);
  }
  p->path = s;
  while (*s && *s != '?' && *s != '#')
    s++;
  p->path_len = (size_t)(s - p->path);
  if (*s == '?') {
    p->has_query = 1;
    p->query = ++s;
    while (*s && *s != '#')
      s++;
    p->query_len = (size_t)(s - p->query);
  }
  if (*s == '#') {
    p->has_frag = 1;
    p->frag = s + 1;
    p->frag_len = strlen(s + 1);
  }
}

/* RFC 3986 5.2.4, on a NUL-terminated copy, in place into out. */
static void remove_dots(const char *in, size_t n, ks_buf *out) {
  size_t start = out->len;
  size_t i = 0;
  while (i < n) {
    if (n - i >= 3 && memcmp(in + i, "../", 3) == 0) {
      i += 3;
    } else if (n - i >= 2 && memcmp(in + i, "./", 2) == 0) {
      i += 2;
    } else if (n - i >= 3 && memcmp(in + i, "/./", 3) == 0) {
      i += 2;
    } else if (n - i == 2 && memcmp(in + i, "/.", 2) == 0) {
      i += 1;
      ks_buf_append_byte(out, '/');
      break;
    } else if ((n - i >= 4 && memcmp(in + i, "/../", 4) == 0) ||
               (n - i == 3 && memcmp(in + i, "/..", 3) == 0)) {
      int last = n - i == 3;
      i += 3;
      while (out->len > start && out->data[out->len - 1] != '/')
        out->len--;
      if (out->len > start)
        out->len--;
      if (last) {
        ks_buf_append_byte(out, '/');
        break;
      }
    } else if ((n - i == 1 && in[i] == '.') ||
               (n - i == 2 && memcmp(in + i, "..", 2) == 0)) {
      break;
    } else {
      size_t k = i + (in[i] == '/');
      while (k < n && in[k] != '/')
        k++;
      ks_buf_append(out, in + i, k - i);
      i = k;
    }
  }
}

void ks__uri_resolve(const char *base, const char *ref, ks_buf *out) {
  uriparts b, r;
  uri_parse(base, &b);
  uri_parse(ref, &r);
  out->len = 0;
  const uriparts *sch = r.has_scheme ? &r : &b;
  if (sch->has_scheme) {
    ks_buf_append(out, sch->scheme, sch->scheme_len);
    ks_buf_append_byte(out, ':');
  }
  const uriparts *q;
  if (r.has_scheme || r.has_auth) {
    if (r.has_auth) {
      ks_buf_append_str(out, "//");
      ks_buf_append(out, r.auth, r.auth_len);
    }
    remove_dots(r.path, r.path_len, out);
    q = &r;
  } else {
    if (b.has_auth) {
      ks_buf_append_str(out, "//");
      ks_buf_append(out, b.auth, b.auth_len);
    }
    if (r.path_len == 0) {
      ks_buf_append(out, b.path, b.path_len);
      q = r.has_query ? &r : &b;
    } else {
      if (r.path[0] == '/') {
        remove_dots(r.path, r.path_len, out);
      } else {
        ks_buf m;
        ks_buf_init(&m, KS_BUF_UNLIMITED);
        if (b.has_auth && b.path_len == 0) {
          ks_buf_append_byte(&m, '/');
        } else {
          size_t k = b.path_len;
          while (k > 0 && b.path[k - 1] != '/')
            k--;
          ks_buf_append(&m, b.path, k);
        }
        ks_buf_append(&m, r.path, r.path_len);
        remove_dots(m.data ? (char *)m.data : "", m.len, out);
        ks_buf_free(&m);
      }
      q = &r;
    }
  }
  if (q->has_query) {
    ks_buf_append_byte(out, '?');
    ks_buf_append(out, q->query, q->query_len);
  }
  if (r.has_frag) {
    ks_buf_append_byte(out, '#');
    ks_buf_append(out, r.frag, r.frag_len);
  }
  ks_buf_cstr(out);
}

/* ---- value map and resources ---- */

static size_t vhash(yajl_val v, size_t mask) {
  uintptr_t x = (uintptr_t)v;
  x ^= x >> 17;
  x *= (uintptr_t)0x9E3779B97F4A7C15ull;
  return (size_t)(x >> 7) & mask;
}

ks__vent *ks__map_get(ks__compiler *c, yajl_val v, int create) {
  if (c->map_cap == 0) {
    if (!create)
      return NULL;
    c->map_cap = 64;
    c->map = ks_calloc(c->map_cap, sizeof *c->map);
  }
  size_t mask = c->map_cap - 1;
  for (size_t h = vhash(v, mask);; h = (h + 1) & mask) {
    if (c->map[h].v == v)
      return &c->map[h];
    if (c->map[h].v == NULL) {
      if (!create)
        return NULL;
      if ((c->map_len + 1) * 2 > c->map_cap) {
        ks__vent *old = c->map;
        size_t oldcap = c->map_cap;
        c->map_cap *= 2;
        c->map = ks_calloc(c->map_cap, sizeof *c->map);
        c->map_len = 0;
        for (size_t i = 0; i < oldcap; i++) {
          if (old[i].v == NULL)
            continue;
          ks__vent *e = ks__map_get(c, old[i].v, 1);
          *e = old[i];
        }
        ks_free(old);
        return ks__map_get(c, v, 1);
      }
      c->map[h].v = v;
      c->map_len++;
      return &c->map[h];
    }
  }
}

static void res_add(ks__compiler *c, const char *uri, size_t len, yajl_val v) {
  for (size_t i = 0; i < c->nres; i++)
    if (strlen(c->res[i].uri) == len && memcmp(c->res[i].uri, uri, len) == 0)
      return; /* first definition wins */
  c->res = ks_realloc(c->res, (c->nres + 1) * sizeof *c->res);
  c->res[c->nres].uri = ks_strndup(uri, len);
  c->res[c->nres++].v = v;
}

static yajl_val res_find(ks__compiler *c, const char *uri, size_t len) {
  for (size_t i = 0; i < c->nres; i++)
    if (strlen(c->res[i].uri) == len && memcmp(c->res[i].uri, uri, len) == 0)
      return c->res[i].v;
  return NULL;
}

static yajl_val obj_get(yajl_val v, const char *key) {
  if (!YAJL_IS_OBJECT(v))
    return NULL;
  for (size_t i = 0; i < v->u.object.len; i++)
    if (strcmp(v->u.object.keys[i], key) == 0)
      return v->u.object.values[i];
  return NULL;
}

static size_t nofrag_len(const char *u) {
  const char *h = strchr(u, '#');
  return h ? (size_t)(h - u) : strlen(u);
}

void ks__scan(ks__compiler *c, yajl_val v, const char *base) {
  if (!YAJL_IS_OBJECT(v))
    return;
  ks__vent *e = ks__map_get(c, v, 1);
  if (e->base) /* reached twice (shared subtree): first scope wins */
    return;
  yajl_val id = obj_get(v, "$id");
  ks_buf abs;
  ks_buf_init(&abs, KS_BUF_UNLIMITED);
  if (YAJL_IS_STRING(id) && obj_get(v, "$ref") == NULL) {
    ks__uri_resolve(base, id->u.string, &abs);
    const char *u = (const char *)abs.data;
    size_t nl = nofrag_len(u);
    if (id->u.string[0] != '#')
      res_add(c, u, nl, v);
    if (u[nl] == '#' && u[nl + 1])
      res_add(c, u, strlen(u), v);
    if (id->u.string[0] != '#') {
      abs.len = nl;
      ks_buf_cstr(&abs);
      base = (const char *)abs.data;
    }
  }
  e = ks__map_get(c, v, 1);
  e->base = ks_strdup(base);
  base = e->base;
  ks_buf_free(&abs);
  static const char *const one[] = {"additionalItems",
                                    "additionalProperties",
                                    "contains",
                                    "propertyNames",
                                    "if",
                                    "then",
                                    "else",
                                    "not",
                                    "items"};
  static const char *const many[] = {"items", "allOf", "anyOf", "oneOf"};
  static const char *const named[] = {"properties", "patternProperties",
                                      "definitions", "dependencies"};
  for (size_t k = 0; k < KS_ARRAY_SIZE(one); k++)
    ks__scan(c, obj_get(v, one[k]), base);
  for (size_t k = 0; k < KS_ARRAY_SIZE(many); k++) {
    yajl_val a = obj_get(v, many[k]);
    for (size_t i = 0; YAJL_IS_ARRAY(a) && i < a->u.array.len; i++)
      ks__scan(c, a->u.array.values[i], base);
  }
  for (size_t k = 0; k < KS_ARRAY_SIZE(named); k++) {
    yajl_val o = obj_get(v, named[k]);
    for (size_t i = 0; YAJL_IS_OBJECT(o) && i < o->u.object.len; i++)
      ks__scan(c, o->u.object.values[i], base);
  }
}

/* ---- documents ---- */

/* Deeper documents are refused before yajl_tree (whose free recurses). */
#define DOC_MAX_DEPTH 256


int ks__doc_add(ks__compiler *c, const char *text, size_t len, const char *uri,
                yajl_val *out) {
  const char *who = c->ndocs ? uri : "schema"; /* the root: name only */
  if (ks_json_too_deep(text, len, DOC_MAX_DEPTH))
    return ks__cfail(c, "%s nested deeper than %d levels", who, DOC_MAX_DEPTH);
  char ebuf[512] = "";
  yajl_val doc = ks__jtree_parse(text, len, ebuf, sizeof ebuf);
  if (doc == NULL) {
    char *nl = strchr(ebuf, '\n');
    if (nl)
      *nl = 0;
    return c->ndocs ? ks__cfail(c, "%s: malformed JSON: %s", uri, ebuf)
                    : ks__cfail(c, "malformed JSON: %s", ebuf);
  }
  c->docs = ks_realloc(c->docs, (c->ndocs + 1) * sizeof *c->docs);
  c->docs[c->ndocs++] = doc;
  size_t nl = nofrag_len(uri);
  res_add(c, uri, nl, doc);
  char *base = ks_strndup(uri, nl);
  ks__scan(c, doc, base);
  ks_free(base);
  *out = doc;
  return 0;
}

static int load_remote(ks__compiler *c, const char *uri, size_t len) {
  yajl_val doc;
  if (len == strlen(KS__META_URI) && memcmp(uri, KS__META_URI, len) == 0)
    return ks__doc_add(c, ks_draft07_schema, strlen(ks_draft07_schema),
                       KS__META_URI, &doc);
  size_t bl = c->remote_base ? strlen(c->remote_base) : 0;
  if (!c->remote_dir || !bl || len < bl || memcmp(uri, c->remote_base, bl))
    return ks__cfail(c,
                     "cannot resolve \"%.*s\" (remote schemas are read only "
                     "from --remote-dir, never fetched)",
                     (int)len, uri);
  const char *rel = uri + bl;
  size_t rl = len - bl;
  for (size_t i = 0; i + 1 < rl; i++)
    if (rel[i] == '.' && rel[i + 1] == '.')
      return ks__cfail(c, "remote reference \"%.*s\" leaves --remote-dir",
                       (int)len, uri);
  char path[4096];
  snprintf(path, sizeof path, "%s/%.*s", c->remote_dir, (int)rl, rel);
  uint8_t *data;
  size_t dlen;
  int r = ks_read_file(path, REMOTE_MAX, &data, &dlen, NULL, 0);
  if (r == KS_ETOOBIG)
    return ks__cfail(c, "%s: larger than 16 MiB", path);
  if (r)
    return ks__cfail(c, "cannot resolve \"%.*s\": %s: %s", (int)len, uri, path,
                     strerror(-r));
  char *u = ks_strndup(uri, len);
  r = ks__doc_add(c, (const char *)data, dlen, u, &doc);
  ks_free(u);
  ks_free(data);
  return r;
}

static int hexv(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  ch |= 0x20;
  return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* RFC 6901 over a percent-decoded fragment. */
static yajl_val pointer(yajl_val v, const char *p) {
  char tok[1024];
  while (v && *p == '/') {
    p++;
    size_t n = 0;
    while (*p && *p != '/' && n + 1 < sizeof tok) {
      if (p[0] == '~' && p[1] == '0') {
        tok[n++] = '~';
        p += 2;
      } else if (p[0] == '~' && p[1] == '1') {
        tok[n++] = '/';
        p += 2;
      } else {
        tok[n++] = *p++;
      }
    }
    tok[n] = 0;
    if (YAJL_IS_OBJECT(v)) {
      v = obj_get(v, tok);
    } else if (YAJL_IS_ARRAY(v)) {
      char *end;
      unsigned long i = strtoul(tok, &end, 10);
      v = (*tok && !*end && i < v->u.array.len) ? v->u.array.values[i] : NULL;
    } else {
      v = NULL;
    }
  }
  return *p ? NULL : v;
}

int ks__ref_target(ks__compiler *c, const char *base, const char *ref,
                   yajl_val *out, const char **tbase) {
  ks_buf abs;
  ks_buf_init(&abs, KS_BUF_UNLIMITED);
  ks__uri_resolve(base, ref, &abs);
  const char *u = (const char *)abs.data;
  size_t nl = nofrag_len(u);
  int r = 0;
  yajl_val doc = res_find(c, u, nl);
  if (doc == NULL && (r = load_remote(c, u, nl)) == 0)
    doc = res_find(c, u, nl);
  yajl_val t = NULL;
  if (r == 0) {
    const char *frag = u[nl] == '#' ? u + nl + 1 : "";
    if (*frag == 0) {
      t = doc;
    } else if (*frag == '/') {
      char *dec = ks_strdup(frag);
      size_t o = 0;
      for (size_t i = 0; frag[i]; i++) {
        if (frag[i] == '%' && hexv(frag[i + 1]) >= 0 &&
            hexv(frag[i + 2]) >= 0) {
          dec[o++] = (char)(hexv(frag[i + 1]) * 16 + hexv(frag[i + 2]));
          i += 2;
        } else {
          dec[o++] = frag[i];
        }
      }
      dec[o] = 0;
      t = pointer(doc, dec);
      ks_free(dec);
    } else {
      t = res_find(c, u, strlen(u));
    }
    if (t == NULL)
      r = ks__cfail(c, "$ref \"%s\" does not point at a schema", ref);
  }
  if (r == 0) {
    ks__vent *e = ks__map_get(c, t, 0);
    if (e && e->base) {
      *tbase = e->base;
    } else { /* not scanned (a pointer into a non-schema place): scan now */
      abs.len = nl;
      ks_buf_cstr(&abs);
      ks__scan(c, t, (const char *)abs.data);
      e = ks__map_get(c, t, 0);
      *tbase = e && e->base ? e->base : NULL;
    }
    *out = t;
  }
  ks_buf_free(&abs);
  return r;
}

void ks__compiler_free(ks__compiler *c) {
  for (size_t i = 0; i < c->map_cap; i++)
    ks_free(c->map[i].base);
  ks_free(c->map);
  for (size_t i = 0; i < c->nres; i++)
    ks_free(c->res[i].uri);
  ks_free(c->res);
  for (size_t i = 0; i < c->ndocs; i++)
    ks__jtree_free(c->docs[i]);
  ks_free(c->docs);
  ks_buf_free(&c->ptr);
}
