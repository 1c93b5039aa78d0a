/*
 * Schema loading: the schema document is parsed with yajl's tree API (it is
 * small and read once), compiled into ks__snode trees, and mapped to
 * columns. Every keyword that would change validation but is not compiled
 * yet fails the load: a schema is never half-enforced.
 */
#include "stages/schema_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define KS__SCHEMA_FILE_MAX ((size_t)16 << 20)

typedef struct compiler {
  ks_schema *s;
  ks_buf ptr; /* JSON pointer of the schema being compiled */
  char *err;
  size_t errlen;
} compiler;

/* Keywords that only annotate: ignored by validation in draft-07. */
static const char *const annotations[] = {
    "$schema",        "$id",      "id",        "title",
    "description",    "default",  "examples",  "$comment",
    "definitions",    "readOnly", "writeOnly", "contentMediaType",
    "contentEncoding"};

/* draft-07 validation keywords not compiled yet. Unknown keywords are
 * ignored, as draft-07 requires. */
static const char *const unsupported[] = {"$ref",
                                          "multipleOf",
                                          "exclusiveMaximum",
                                          "exclusiveMinimum",
                                          "pattern",
                                          "additionalItems",
                                          "maxItems",
                                          "minItems",
                                          "uniqueItems",
                                          "contains",
                                          "maxProperties",
                                          "minProperties",
                                          "patternProperties",
                                          "dependencies",
                                          "propertyNames",
                                          "const",
                                          "allOf",
                                          "anyOf",
                                          "oneOf",
                                          "not",
                                          "if",
                                          "then",
                                          "else"};

/* draft-07 formats other than date-time/date: asserting them is future
 * work, and ignoring them would accept what the schema means to reject. */
static const char *const unsupported_formats[] = {
    "time",          "email",
    "idn-email",     "hostname",
    "idn-hostname",  "ipv4",
    "ipv6",          "uri",
    "uri-reference", "iri",
    "iri-reference", "uri-template",
    "json-pointer",  "relative-json-pointer",
    "regex"};

static const char *const type_names[] = {
    "null", "boolean", "integer", "number", "string", "object", "array"};

static int in_list(const char *s, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0)
      return 1;
  return 0;
}

static int fail(compiler *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(compiler *c, const char *fmt, ...) {
  if (c->err && c->errlen) {
    ks_buf_cstr(&c->ptr);
    int n = snprintf(c->err, c->errlen, "%s: %s: ", c->s->name,
                     c->ptr.len ? (char *)c->ptr.data : "(root)");
    if (n >= 0 && (size_t)n < c->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return KS_ESCHEMA;
}

/* Push "/<token>" (RFC 6901 escaped) onto the pointer; returns the old
 * length to pop back to. */
static size_t ptr_push(compiler *c, const char *tok) {
  size_t old = c->ptr.len;
  ks_buf_append_byte(&c->ptr, '/');
  for (const char *p = tok; *p; p++) {
    if (*p == '~')
      ks_buf_append_str(&c->ptr, "~0");
    else if (*p == '/')
      ks_buf_append_str(&c->ptr, "~1");
    else
      ks_buf_append_byte(&c->ptr, (uint8_t)*p);
  }
  return old;
}

static void ptr_pop(compiler *c, size_t old) {
  c->ptr.len = old;
}

static ks__snode *node_new(compiler *c) {
  ks_schema *s = c->s;
  ks__snode *n = ks_calloc(1, sizeof *n);
  n->types = KS__T_ALL;
  n->enum_types = KS__T_ALL;
  n->additional = &s->any;
  n->items = &s->any;
  ks_buf_cstr(&c->ptr);
  n->ptr = ks_strndup(c->ptr.len ? (char *)c->ptr.data : "", c->ptr.len);
  s->nodes = ks_realloc(s->nodes, (s->nnodes + 1) * sizeof *s->nodes);
  s->nodes[s->nnodes++] = n;
  return n;
}

static void node_free(ks__snode *n) {
  for (uint32_t i = 0; i < n->nprops; i++)
    ks_free(n->props[i].name);
  ks_free(n->props);
  ks_free(n->hash);
  ks_free(n->required);
  for (size_t i = 0; i < n->nenums; i++) {
    ks_free(n->enums[i].str);
    ks_free((char *)n->enums[i].num.text);
  }
  ks_free(n->enums);
  ks_free(n->ptr);
  ks_free(n);
}

static uint32_t hash_key(const char *k, size_t len) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)k[i]) * 16777619u;
  return h;
}

int32_t ks__snode_find(const ks__snode *n, const char *key, size_t len) {
  if (n->nprops == 0)
    return -1;
  for (uint32_t h = hash_key(key, len) & n->hmask;; h = (h + 1) & n->hmask) {
    uint32_t e = n->hash[h];
    if (e == 0)
      return -1;
    const ks__prop *p = &n->props[e - 1];
    if (p->len == len && memcmp(p->name, key, len) == 0)
      return (int32_t)(e - 1);
  }
}

static int prop_add(compiler *c, ks__snode *n, const char *name,
                    const ks__snode *child, int additional) {
  if (ks__snode_find(n, name, strlen(name)) >= 0)
    return fail(c, "property \"%s\" is declared twice", name);
  n->props = ks_realloc(n->props, (n->nprops + 1) * sizeof *n->props);
  ks__prop *p = &n->props[n->nprops++];
  p->name = ks_strdup(name);
  p->len = (uint32_t)strlen(name);
  p->additional = (uint32_t)additional;
  p->col = -1;
  p->node = child;
  /* rebuild at load factor <= 1/2; schemas are small and loaded once */
  uint32_t size = 4;
  while (size < n->nprops * 2)
    size *= 2;
  ks_free(n->hash);
  n->hash = ks_calloc(size, sizeof *n->hash);
  n->hmask = size - 1;
  for (uint32_t i = 0; i < n->nprops; i++) {
    uint32_t h = hash_key(n->props[i].name, n->props[i].len) & n->hmask;
    while (n->hash[h])
      h = (h + 1) & n->hmask;
    n->hash[h] = i + 1;
  }
  return 0;
}

static int compile(compiler *c, yajl_val v, const ks__snode **out);

static int compile_type(compiler *c, ks__snode *n, yajl_val v) {
  unsigned types = 0;
  size_t count = YAJL_IS_ARRAY(v) ? v->u.array.len : 1;
  for (size_t i = 0; i < count; i++) {
    yajl_val t = YAJL_IS_ARRAY(v) ? v->u.array.values[i] : v;
    if (!YAJL_IS_STRING(t))
      return fail(c, "expected a type name or an array of type names");
    size_t k = 0;
    while (k < KS_ARRAY_SIZE(type_names) && strcmp(t->u.string, type_names[k]))
      k++;
    if (k == KS_ARRAY_SIZE(type_names))
      return fail(c,
                  "unknown type \"%s\" (expected one of null, boolean, "
                  "integer, number, string, object, array)",
                  t->u.string);
    if (types & (1u << k))
      return fail(c, "type \"%s\" is listed twice", t->u.string);
    types |= 1u << k;
  }
  n->types = types;
  return 0;
}

static int compile_enum(compiler *c, ks__snode *n, yajl_val v) {
  if (!YAJL_IS_ARRAY(v))
    return fail(c, "expected an array");
  n->enums = ks_calloc(v->u.array.len, sizeof *n->enums);
  n->enum_types = 0;
  for (size_t i = 0; i < v->u.array.len; i++) {
    yajl_val e = v->u.array.values[i];
    ks__enumval *ev = &n->enums[n->nenums++];
    switch (e->type) {
    case yajl_t_null:
      ev->kind = KS__T_NULL;
      break;
    case yajl_t_true:
      ev->kind = KS__T_BOOLEAN;
      ev->b = 1;
      break;
    case yajl_t_false:
      ev->kind = KS__T_BOOLEAN;
      break;
    case yajl_t_string:
      ev->kind = KS__T_STRING;
      ev->len = strlen(e->u.string);
      ev->str = ks_strndup(e->u.string, ev->len);
      break;
    case yajl_t_number: {
      char *text = ks_strdup(e->u.number.r);
      ks__num_parse(&ev->num, text, strlen(text));
      ks__num_double(&ev->num);
      ev->kind = ev->num.is_int ? KS__T_INTEGER : KS__T_NUMBER;
      break;
    }
    default:
      return fail(c, "keyword \"enum\" with object or array values is not "
                     "supported yet");
    }
    n->enum_types |= ev->kind;
  }
  n->flags |= KS__N_ENUM;
  return 0;
}

static int bound(compiler *c, yajl_val v, double *d, int *is_int, int64_t *i) {
  if (!YAJL_IS_NUMBER(v))
    return fail(c, "expected a number");
  ks__num num;
  ks__num_parse(&num, v->u.number.r, strlen(v->u.number.r));
  *d = ks__num_double(&num);
  *is_int = num.fits;
  *i = num.i;
  return 0;
}

static int length(compiler *c, yajl_val v, uint64_t *out) {
  ks__num num;
  if (YAJL_IS_NUMBER(v))
    ks__num_parse(&num, v->u.number.r, strlen(v->u.number.r));
  if (!YAJL_IS_NUMBER(v) || !num.fits || num.i < 0)
    return fail(c, "expected a non-negative integer");
  *out = (uint64_t)num.i;
  return 0;
}

static int compile_properties(compiler *c, ks__snode *n, yajl_val v) {
  if (!YAJL_IS_OBJECT(v))
    return fail(c, "expected an object of schemas");
  for (size_t i = 0; i < v->u.object.len; i++) {
    const ks__snode *child;
    size_t old = ptr_push(c, v->u.object.keys[i]);
    int r = compile(c, v->u.object.values[i], &child);
    if (r == 0)
      r = prop_add(c, n, v->u.object.keys[i], child, 0);
    if (r)
      return r;
    ptr_pop(c, old);
  }
  return 0;
}

/* Runs after properties and additionalProperties: a required name with no
 * property gets an entry governed by additionalProperties, so presence is
 * tracked the same way for both. */
static int compile_required(compiler *c, ks__snode *n, yajl_val v) {
  if (!YAJL_IS_ARRAY(v))
    return fail(c, "expected an array of property names");
  n->required = ks_calloc(v->u.array.len, sizeof *n->required);
  for (size_t i = 0; i < v->u.array.len; i++) {
    yajl_val e = v->u.array.values[i];
    if (!YAJL_IS_STRING(e))
      return fail(c, "expected an array of property names");
    int32_t p = ks__snode_find(n, e->u.string, strlen(e->u.string));
    if (p < 0) {
      int r = prop_add(c, n, e->u.string, n->additional, 1);
      if (r)
        return r;
      p = (int32_t)n->nprops - 1;
    }
    for (uint32_t k = 0; k < n->nrequired; k++)
      if (n->required[k] == (uint32_t)p)
        return fail(c, "\"%s\" is listed twice", e->u.string);
    n->required[n->nrequired++] = (uint32_t)p;
  }
  return 0;
}

static int compile_keyword(compiler *c, ks__snode *n, const char *k,
                           yajl_val v) {
  if (strcmp(k, "type") == 0)
    return compile_type(c, n, v);
  if (strcmp(k, "properties") == 0)
    return compile_properties(c, n, v);
  if (strcmp(k, "additionalProperties") == 0)
    return compile(c, v, &n->additional);
  if (strcmp(k, "items") == 0) {
    if (YAJL_IS_ARRAY(v))
      return fail(c, "keyword \"items\" with an array of schemas is not "
                     "supported yet");
    return compile(c, v, &n->items);
  }
  if (strcmp(k, "enum") == 0)
    return compile_enum(c, n, v);
  if (strcmp(k, "minimum") == 0) {
    n->flags |= KS__N_MIN;
    return bound(c, v, &n->min, &n->min_is_int, &n->min_i);
  }
  if (strcmp(k, "maximum") == 0) {
    n->flags |= KS__N_MAX;
    return bound(c, v, &n->max, &n->max_is_int, &n->max_i);
  }
  if (strcmp(k, "minLength") == 0) {
    n->flags |= KS__N_MINLEN;
    return length(c, v, &n->min_len);
  }
  if (strcmp(k, "maxLength") == 0) {
    n->flags |= KS__N_MAXLEN;
    return length(c, v, &n->max_len);
  }
  if (strcmp(k, "format") == 0) {
    if (!YAJL_IS_STRING(v))
      return fail(c, "expected a format name");
    if (strcmp(v->u.string, "date-time") == 0)
      n->format = KS__FMT_DATE_TIME;
    else if (strcmp(v->u.string, "date") == 0)
      n->format = KS__FMT_DATE;
    else if (in_list(v->u.string, unsupported_formats,
                     KS_ARRAY_SIZE(unsupported_formats)))
      return fail(c, "format \"%s\" is not supported yet", v->u.string);
    return 0;
  }
  if (strcmp(k, "required") == 0)
    return 0; /* after the loop: needs properties + additionalProperties */
  if (in_list(k, unsupported, KS_ARRAY_SIZE(unsupported)))
    return fail(c, "keyword \"%s\" is not supported yet", k);
  return 0; /* annotations and unknown keywords */
}

static int compile(compiler *c, yajl_val v, const ks__snode **out) {
  if (YAJL_IS_TRUE(v)) {
    *out = &c->s->any;
    return 0;
  }
  ks__snode *n = node_new(c);
  *out = n;
  if (YAJL_IS_FALSE(v)) {
    n->flags |= KS__N_FALSE;
    n->types = 0;
    n->enum_types = 0;
    return 0;
  }
  if (!YAJL_IS_OBJECT(v))
    return fail(c, "a schema must be an object or a boolean");
  yajl_val required = NULL;
  for (size_t i = 0; i < v->u.object.len; i++) {
    const char *k = v->u.object.keys[i];
    if (in_list(k, annotations, KS_ARRAY_SIZE(annotations)))
      continue;
    size_t old = ptr_push(c, k);
    if (strcmp(k, "required") == 0)
      required = v->u.object.values[i];
    int r = compile_keyword(c, n, k, v->u.object.values[i]);
    if (r)
      return r;
    ptr_pop(c, old);
  }
  if (required) {
    size_t old = ptr_push(c, "required");
    int r = compile_required(c, n, required);
    if (r)
      return r;
    ptr_pop(c, old);
  }
  return 0;
}

/* Column type of a root property: see the mapping in schema.h. A property
 * without "type" takes its kinds from "enum"; integer+number is a number;
 * any other mix of kinds, and objects and arrays, are kept as JSON text. */
static void map_column(ks_colspec *spec, ks__colinfo *info, const ks__prop *p,
                       int required) {
  const ks__snode *n = p->node;
  unsigned t = n->types & n->enum_types;
  unsigned nn = t & ~(unsigned)KS__T_NULL;
  spec->name = ks_strndup(p->name, p->len);
  spec->nullable = !required || (t & KS__T_NULL) || nn == 0;
  info->json = 0;
  if (nn == KS__T_INTEGER)
    spec->type = KS_COL_INT64;
  else if (nn == KS__T_NUMBER || nn == (KS__T_NUMBER | KS__T_INTEGER))
    spec->type = KS_COL_DOUBLE;
  else if (nn == KS__T_BOOLEAN)
    spec->type = KS_COL_BOOLEAN;
  else if (nn == KS__T_STRING && n->format == KS__FMT_DATE_TIME)
    spec->type = KS_COL_TIMESTAMP;
  else if (nn == KS__T_STRING && n->format == KS__FMT_DATE)
    spec->type = KS_COL_DATE;
  else if (nn == KS__T_STRING)
    spec->type = KS_COL_STRING;
  else {
    spec->type = KS_COL_STRING;
    info->json = 1;
  }
}

static int map_columns(compiler *c, ks_schema *s) {
  ks__snode *root = (ks__snode *)s->root;
  if (root->types != KS__T_OBJECT) {
    size_t old = ptr_push(c, "type");
    int r = fail(c, "the root schema must have \"type\": \"object\" (a "
                    "record is a JSON object)");
    ptr_pop(c, old);
    return r;
  }
  s->cols = ks_calloc(root->nprops, sizeof *s->cols);
  s->colinfo = ks_calloc(root->nprops, sizeof *s->colinfo);
  for (uint32_t i = 0; i < root->nprops; i++) {
    ks__prop *p = &root->props[i];
    if (p->additional)
      continue;
    int required = 0;
    for (uint32_t k = 0; k < root->nrequired; k++)
      required |= root->required[k] == i;
    p->col = (int32_t)s->ncols;
    s->colinfo[s->ncols].prop = i;
    map_column(&s->cols[s->ncols], &s->colinfo[s->ncols], p, required);
    s->ncols++;
  }
  if (s->ncols == 0) {
    size_t old = ptr_push(c, "properties");
    int r = fail(c, "the root schema must declare \"properties\" (one "
                    "column per property)");
    ptr_pop(c, old);
    return r;
  }
  return 0;
}

int ks_schema_load_string(const char *json, size_t len, const char *name,
                          ks_schema **out, char *err, size_t errlen) {
  *out = NULL;
  ks_schema *s = ks_calloc(1, sizeof *s);
  s->name = ks_strdup(name ? name : "<schema>");
  s->any.types = KS__T_ALL;
  s->any.enum_types = KS__T_ALL;
  s->any.additional = &s->any;
  s->any.items = &s->any;
  s->any.ptr = NULL;
  compiler c = {.s = s, .err = err, .errlen = errlen};
  ks_buf_init(&c.ptr, 0);

  char *text = ks_strndup(json, len);
  char ebuf[512] = "";
  yajl_val doc = yajl_tree_parse(text, ebuf, sizeof ebuf);
  ks_free(text);
  int r;
  if (doc == NULL) {
    char *nl = strchr(ebuf, '\n');
    if (nl)
      *nl = 0;
    r = fail(&c, "malformed JSON: %s", ebuf);
  } else if ((r = compile(&c, doc, &s->root)) == 0) {
    r = map_columns(&c, s);
  }
  yajl_tree_free(doc);
  ks_buf_free(&c.ptr);
  if (r) {
    ks_schema_free(s);
    return r;
  }
  *out = s;
  return 0;
}

int ks_schema_load_file(const char *path, ks_schema **out, char *err,
                        size_t errlen) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return KS_ESCHEMA;
  }
  ks_buf b;
  ks_buf_init(&b, KS__SCHEMA_FILE_MAX);
  char chunk[8192];
  size_t n;
  int r = 0;
  while (r == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
    r = ks_buf_append(&b, chunk, n);
  int rerr = ferror(f);
  fclose(f);
  if (r || rerr) {
    snprintf(err, errlen, "%s: %s", path,
             r ? "schema file larger than 16 MiB" : "read error");
    ks_buf_free(&b);
    return KS_ESCHEMA;
  }
  r = ks_schema_load_string(b.data ? (char *)b.data : "", b.len, path, out, err,
                            errlen);
  ks_buf_free(&b);
  return r;
}

void ks_schema_free(ks_schema *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->nnodes; i++)
    node_free(s->nodes[i]);
  ks_free(s->nodes);
  for (size_t i = 0; i < s->ncols; i++)
    ks_free(s->cols[i].name);
  ks_free(s->cols);
  ks_free(s->colinfo);
  ks_free(s->name);
  ks_free(s);
}

size_t ks_schema_ncolumns(const ks_schema *s) {
  return s->ncols;
}

const ks_colspec *ks_schema_columns(const ks_schema *s) {
  return s->cols;
}
