/*
 * Avro schema parsing (avro_schema.h): yajl's tree of the schema JSON,
 * walked once into ks_avro_node's. Named types (record, enum, fixed) go
 * into a table by full name so later references, recursive ones
 * included, point at the same node. Logical types that do not fit their
 * base type are ignored, as the specification says.
 */
#include "stages/record/avro_schema.h"

#include "base/ks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define MAX_DEPTH 64

struct ks_avro_schema {
  ks_avro_node **nodes; /* every node, owned */
  size_t nnodes, cap;
  const ks_avro_node *root;
};

typedef struct parser {
  ks_avro_schema *s;
  char *err;
  size_t errlen;
  int depth;
} parser;

static int pfail(parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int pfail(parser *p, const char *fmt, ...) {
  if (p->err && p->errlen && p->err[0] == 0) {
    int n = snprintf(p->err, p->errlen, "avro schema: ");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
      vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return KS_ESCHEMA;
}

static ks_avro_node *new_node(parser *p, ks_avro_kind kind) {
  ks_avro_schema *s = p->s;
  if (s->nnodes == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->nodes = ks_realloc(s->nodes, s->cap * sizeof *s->nodes);
  }
  ks_avro_node *n = ks_calloc(1, sizeof *n);
  n->kind = kind;
  n->null_branch = -1;
  s->nodes[s->nnodes++] = n;
  return n;
}

static const struct {
  const char *name;
  ks_avro_kind kind;
} primitives[] = {
    {"null", KS_AV_NULL},     {"boolean", KS_AV_BOOLEAN},
    {"int", KS_AV_INT},       {"long", KS_AV_LONG},
    {"float", KS_AV_FLOAT},   {"double", KS_AV_DOUBLE},
    {"bytes", KS_AV_BYTES},   {"string", KS_AV_STRING},
};

static int primitive(const char *name, ks_avro_kind *k) {
  for (size_t i = 0; i < sizeof primitives / sizeof *primitives; i++)
    if (strcmp(name, primitives[i].name) == 0) {
      *k = primitives[i].kind;
      return 1;
    }
  return 0;
}

static const ks_avro_node *find_named(const ks_avro_schema *s,
                                      const char *full) {
  for (size_t i = 0; i < s->nnodes; i++)
    if (s->nodes[i]->name && strcmp(s->nodes[i]->name, full) == 0)
      return s->nodes[i];
  return NULL;
}

/* A name as written, in namespace ns: its full name (owned). */
static char *full_name(const char *name, const char *ns) {
  if (strchr(name, '.') || ns == NULL || ns[0] == 0)
    return ks_strdup(name);
  size_t a = strlen(ns), b = strlen(name);
  char *f = ks_malloc(a + b + 2);
  memcpy(f, ns, a);
  f[a] = '.';
  memcpy(f + a + 1, name, b + 1);
  return f;
}

static const char *str_of(yajl_val obj, const char *key) {
  const char *path[] = {key, NULL};
  yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
  return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static yajl_val val_of(yajl_val obj, const char *key) {
  const char *path[] = {key, NULL};
  return yajl_tree_get(obj, path, yajl_t_any);
}

static int int_of(yajl_val obj, const char *key, long long *out) {
  yajl_val v = val_of(obj, key);
  if (v == NULL || !YAJL_IS_INTEGER(v))
    return 0;
  *out = YAJL_GET_INTEGER(v);
  return 1;
}

static int parse_type(parser *p, yajl_val v, const char *ns,
                      ks_avro_node **out);

static int named(parser *p, yajl_val v, const char *ns, ks_avro_node *n,
                 const char **inner_ns) {
  const char *name = str_of(v, "name");
  if (name == NULL || name[0] == 0)
    return pfail(p, "a named type without \"name\"");
  const char *own = str_of(v, "namespace");
  n->name = full_name(name, own ? own : ns);
  const char *dot = strrchr(n->name, '.');
  n->short_name = dot ? dot + 1 : n->name;
  for (size_t i = 0; i + 1 < p->s->nnodes; i++)
    if (p->s->nodes[i]->name && strcmp(p->s->nodes[i]->name, n->name) == 0)
      return pfail(p, "type %s is defined twice", n->name);
  /* the namespace of what it encloses */
  static __thread char nsbuf[512];
  size_t nl = dot ? (size_t)(dot - n->name) : 0;
  if (nl >= sizeof nsbuf)
    nl = sizeof nsbuf - 1;
  memcpy(nsbuf, n->name, nl);
  nsbuf[nl] = 0;
  *inner_ns = nsbuf;
  return 0;
}

static void set_logical(ks_avro_node *n, yajl_val v) {
  const char *lt = str_of(v, "logicalType");
  if (lt == NULL)
    return;
  long long prec = 0, scale = 0;
  if (strcmp(lt, "decimal") == 0 &&
      (n->kind == KS_AV_BYTES || n->kind == KS_AV_FIXED) &&
      int_of(v, "precision", &prec) && prec >= 1 && prec <= 38 &&
      (!val_of(v, "scale") || int_of(v, "scale", &scale)) && scale >= 0 &&
      scale <= prec) {
    n->logical = KS_AVL_DECIMAL;
    n->precision = (int)prec;
    n->scale = (int)scale;
  } else if (strcmp(lt, "date") == 0 && n->kind == KS_AV_INT)
    n->logical = KS_AVL_DATE;
  else if (strcmp(lt, "time-millis") == 0 && n->kind == KS_AV_INT)
    n->logical = KS_AVL_TIME_MILLIS;
  else if (strcmp(lt, "time-micros") == 0 && n->kind == KS_AV_LONG)
    n->logical = KS_AVL_TIME_MICROS;
  else if (strcmp(lt, "timestamp-millis") == 0 && n->kind == KS_AV_LONG)
    n->logical = KS_AVL_TS_MILLIS;
  else if (strcmp(lt, "timestamp-micros") == 0 && n->kind == KS_AV_LONG)
    n->logical = KS_AVL_TS_MICROS;
  else if (strcmp(lt, "local-timestamp-millis") == 0 && n->kind == KS_AV_LONG)
    n->logical = KS_AVL_LOCAL_TS_MILLIS;
  else if (strcmp(lt, "local-timestamp-micros") == 0 && n->kind == KS_AV_LONG)
    n->logical = KS_AVL_LOCAL_TS_MICROS;
  else if (strcmp(lt, "uuid") == 0 && n->kind == KS_AV_STRING)
    n->logical = KS_AVL_UUID;
}

static int parse_record(parser *p, yajl_val v, const char *ns,
                        ks_avro_node *n) {
  const char *inner;
  int r = named(p, v, ns, n, &inner);
  if (r)
    return r;
  char innerns[512];
  snprintf(innerns, sizeof innerns, "%s", inner);
  yajl_val fields = val_of(v, "fields");
  if (fields == NULL || !YAJL_IS_ARRAY(fields))
    return pfail(p, "record %s: \"fields\" is not an array", n->name);
  size_t nf = YAJL_GET_ARRAY(fields)->len;
  n->n = (uint32_t)nf;
  n->kids = ks_calloc(nf ? nf : 1, sizeof *n->kids);
  n->names = ks_calloc(nf ? nf : 1, sizeof *n->names);
  n->name_lens = ks_calloc(nf ? nf : 1, sizeof *n->name_lens);
  n->has_default = ks_calloc(nf ? nf : 1, 1);
  for (size_t i = 0; i < nf; i++) {
    yajl_val f = YAJL_GET_ARRAY(fields)->values[i];
    const char *fname = YAJL_IS_OBJECT(f) ? str_of(f, "name") : NULL;
    yajl_val ft = YAJL_IS_OBJECT(f) ? val_of(f, "type") : NULL;
    if (fname == NULL || ft == NULL)
      return pfail(p, "record %s: field %zu has no name or type", n->name, i);
    for (size_t k = 0; k < i; k++)
      if (strcmp(n->names[k], fname) == 0)
        return pfail(p, "record %s: field %s appears twice", n->name, fname);
    n->names[i] = ks_strdup(fname);
    n->name_lens[i] = strlen(fname);
    n->has_default[i] = val_of(f, "default") != NULL;
    if ((r = parse_type(p, ft, innerns, &n->kids[i])) != 0)
      return r;
  }
  return 0;
}

static int parse_object(parser *p, yajl_val v, const char *ns,
                        ks_avro_node **out) {
  const char *type = str_of(v, "type");
  yajl_val tv = val_of(v, "type");
  ks_avro_kind k;
  int r;
  if (type == NULL) {
    if (tv && (YAJL_IS_OBJECT(tv) || YAJL_IS_ARRAY(tv)))
      return parse_type(p, tv, ns, out); /* {"type": {...}} */
    return pfail(p, "an object without a \"type\"");
  }
  if (primitive(type, &k)) {
    ks_avro_node *n = new_node(p, k);
    set_logical(n, v);
    *out = n;
    return 0;
  }
  if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
    ks_avro_node *n = new_node(p, KS_AV_RECORD);
    *out = n;
    return parse_record(p, v, ns, n);
  }
  if (strcmp(type, "enum") == 0) {
    ks_avro_node *n = new_node(p, KS_AV_ENUM);
    const char *inner;
    *out = n;
    if ((r = named(p, v, ns, n, &inner)) != 0)
      return r;
    yajl_val sy = val_of(v, "symbols");
    if (sy == NULL || !YAJL_IS_ARRAY(sy) || YAJL_GET_ARRAY(sy)->len == 0)
      return pfail(p, "enum %s: \"symbols\" is not a non-empty array",
                   n->name);
    n->n = (uint32_t)YAJL_GET_ARRAY(sy)->len;
    n->names = ks_calloc(n->n, sizeof *n->names);
    n->name_lens = ks_calloc(n->n, sizeof *n->name_lens);
    for (uint32_t i = 0; i < n->n; i++) {
      yajl_val e = YAJL_GET_ARRAY(sy)->values[i];
      if (!YAJL_IS_STRING(e))
        return pfail(p, "enum %s: symbol %u is not a string", n->name, i);
      n->names[i] = ks_strdup(YAJL_GET_STRING(e));
      n->name_lens[i] = strlen(n->names[i]);
    }
    return 0;
  }
  if (strcmp(type, "fixed") == 0) {
    ks_avro_node *n = new_node(p, KS_AV_FIXED);
    const char *inner;
    long long size;
    *out = n;
    if ((r = named(p, v, ns, n, &inner)) != 0)
      return r;
    if (!int_of(v, "size", &size) || size < 0 || size > (1 << 20))
      return pfail(p, "fixed %s: \"size\" is not a size", n->name);
    n->size = (uint32_t)size;
    set_logical(n, v);
    return 0;
  }
  if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
    int arr = type[0] == 'a';
    ks_avro_node *n = new_node(p, arr ? KS_AV_ARRAY : KS_AV_MAP);
    yajl_val inner = val_of(v, arr ? "items" : "values");
    *out = n;
    if (inner == NULL)
      return pfail(p, "%s without \"%s\"", type, arr ? "items" : "values");
    n->n = 1;
    n->kids = ks_calloc(1, sizeof *n->kids);
    return parse_type(p, inner, ns, &n->kids[0]);
  }
  /* {"type": "SomeNamedType"} */
  return parse_type(p, tv, ns, out);
}

static int parse_type(parser *p, yajl_val v, const char *ns,
                      ks_avro_node **out) {
  int r;
  if (++p->depth > MAX_DEPTH) {
    p->depth--;
    return pfail(p, "nested deeper than %d", MAX_DEPTH);
  }
  if (YAJL_IS_STRING(v)) {
    const char *name = YAJL_GET_STRING(v);
    ks_avro_kind k;
    r = 0;
    if (primitive(name, &k))
      *out = new_node(p, k);
    else {
      char *full = full_name(name, ns);
      const ks_avro_node *n = find_named(p->s, full);
      if (n == NULL)
        n = find_named(p->s, name);
      ks_free(full);
      if (n == NULL)
        r = pfail(p, "unknown type \"%s\"", name);
      *out = (ks_avro_node *)n;
    }
  } else if (YAJL_IS_OBJECT(v)) {
    r = parse_object(p, v, ns, out);
  } else if (YAJL_IS_ARRAY(v)) {
    size_t nb = YAJL_GET_ARRAY(v)->len;
    ks_avro_node *n = new_node(p, KS_AV_UNION);
    *out = n;
    r = 0;
    if (nb == 0)
      r = pfail(p, "an empty union");
    n->n = (uint32_t)nb;
    n->kids = ks_calloc(nb ? nb : 1, sizeof *n->kids);
    for (size_t i = 0; r == 0 && i < nb; i++) {
      r = parse_type(p, YAJL_GET_ARRAY(v)->values[i], ns, &n->kids[i]);
      if (r == 0 && n->kids[i]->kind == KS_AV_UNION)
        r = pfail(p, "a union directly inside a union");
      for (size_t k = 0; r == 0 && k < i; k++)
        if (n->kids[k]->kind == n->kids[i]->kind && !n->kids[i]->name)
          r = pfail(p, "a union with two branches of type %s",
                    n->kids[i]->kind == KS_AV_ARRAY ? "array"
                    : n->kids[i]->kind == KS_AV_MAP ? "map"
                                                    : "primitive");
        else if (n->kids[i]->name && n->kids[k]->name &&
                 strcmp(n->kids[i]->short_name, n->kids[k]->short_name) == 0)
          r = pfail(p, "a union with two branches named %s",
                    n->kids[i]->short_name);
    }
    if (r == 0 && nb == 2 && (n->kids[0]->kind == KS_AV_NULL) !=
                                 (n->kids[1]->kind == KS_AV_NULL))
      n->null_branch = n->kids[0]->kind == KS_AV_NULL ? 0 : 1;
  } else {
    r = pfail(p, "a type must be a name, an object or a union");
  }
  p->depth--;
  return r;
}

int ks_avro_schema_parse(const char *const *texts, const size_t *lens,
                         size_t n, ks_avro_schema **out, char *err,
                         size_t errlen) {
  ks_avro_schema *s = ks_calloc(1, sizeof *s);
  parser p = {.s = s, .err = err, .errlen = errlen};
  if (err && errlen)
    err[0] = 0;
  int r = n ? 0 : pfail(&p, "no schema");
  for (size_t i = 0; r == 0 && i < n; i++) {
    char *text = ks_malloc(lens[i] + 1), yerr[256];
    memcpy(text, texts[i], lens[i]);
    text[lens[i]] = 0;
    yajl_val v = yajl_tree_parse(text, yerr, sizeof yerr);
    ks_free(text);
    if (v == NULL) {
      for (char *c = yerr; *c; c++)
        if (*c == '\n')
          *c = ' ';
      r = pfail(&p, "not JSON: %s", yerr);
      break;
    }
    ks_avro_node *root = NULL;
    r = parse_type(&p, v, "", &root);
    yajl_tree_free(v);
    s->root = root;
  }
  if (r) {
    ks_avro_schema_free(s);
    return r;
  }
  *out = s;
  return 0;
}

void ks_avro_schema_free(ks_avro_schema *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->nnodes; i++) {
    ks_avro_node *n = s->nodes[i];
    if (n->names)
      for (uint32_t k = 0; k < n->n; k++)
        ks_free(n->names[k]);
    ks_free(n->names);
    ks_free(n->name_lens);
    ks_free(n->has_default);
    ks_free(n->kids);
    ks_free(n->name);
    ks_free(n);
  }
  ks_free(s->nodes);
  ks_free(s);
}

const ks_avro_node *ks_avro_schema_root(const ks_avro_schema *s) {
  return s->root;
}

/* ---- the table's JSON Schema ---- */

typedef struct emitter {
  ks_buf *out;
  const ks_avro_node *open[MAX_DEPTH]; /* records being written */
  int depth;
} emitter;

static void emit(emitter *e, const ks_avro_node *n, int nullable);

/* {"type":"T" or {"type":["T","null"] (nullable), then more, then } */
static void typed(emitter *e, const char *t, int nullable, const char *more) {
  ks_buf_appendf(e->out, nullable ? "{\"type\":[\"%s\",\"null\"]%s}"
                                  : "{\"type\":\"%s\"%s}",
                 t, more);
}

static void emit_decimal(emitter *e, const ks_avro_node *n, int nullable) {
  int ip = n->precision - n->scale;
  if (n->scale == 0) { /* an integer: long, or a double past 18 digits */
    typed(e, n->precision <= 18 ? "integer" : "number", nullable, "");
    return;
  }
  /* multipleOf 10^-s and bounds +-(10^(p-s) - 10^-s), "99.99" for
   * DECIMAL(4,2): the mapper reads DECIMAL(p,s) back from them */
  char more[256], nines[96];
  int o = 0;
  for (int i = 0; i < ip; i++)
    nines[o++] = '9';
  if (o == 0)
    nines[o++] = '0';
  nines[o++] = '.';
  for (int i = 0; i < n->scale; i++)
    nines[o++] = '9';
  nines[o] = 0;
  o = snprintf(more, sizeof more, ",\"multipleOf\":0.");
  for (int i = 1; i < n->scale; i++)
    more[o++] = '0';
  snprintf(more + o, sizeof more - (size_t)o,
           "1,\"maximum\":%s,\"minimum\":-%s", nines, nines);
  typed(e, "number", nullable, more);
}

static const char *branch_name(const ks_avro_node *b) {
  if (b->name)
    return b->short_name;
  if (b->kind == KS_AV_ARRAY)
    return "array";
  if (b->kind == KS_AV_MAP)
    return "map";
  for (size_t k = 0; k < sizeof primitives / sizeof *primitives; k++)
    if (primitives[k].kind == b->kind)
      return primitives[k].name;
  return "value";
}

static void emit_union(emitter *e, const ks_avro_node *n, int nullable) {
  if (n->null_branch >= 0) { /* ["null", X]: a nullable X */
    emit(e, n->kids[1 - n->null_branch], 1);
    return;
  }
  for (uint32_t i = 0; i < n->n; i++)
    nullable |= n->kids[i]->kind == KS_AV_NULL;
  ks_buf_append_str(e->out, nullable ? "{\"type\":[\"object\",\"null\"]"
                                     : "{\"type\":\"object\"");
  ks_buf_append_str(e->out, ",\"additionalProperties\":false,"
                            "\"properties\":{");
  int first = 1;
  for (uint32_t i = 0; i < n->n; i++) {
    const ks_avro_node *b = n->kids[i];
    if (b->kind == KS_AV_NULL)
      continue;
    if (!first)
      ks_buf_append_byte(e->out, ',');
    first = 0;
    const char *bn = branch_name(b);
    ks_buf_append_json_str(e->out, bn, strlen(bn));
    ks_buf_append_byte(e->out, ':');
    emit(e, b, 1);
  }
  ks_buf_append_str(e->out, "}}");
}

static int field_nullable(const ks_avro_node *r, uint32_t i) {
  const ks_avro_node *t = r->kids[i];
  if (r->has_default[i] || t->kind == KS_AV_NULL)
    return 1;
  for (uint32_t k = 0; t->kind == KS_AV_UNION && k < t->n; k++)
    if (t->kids[k]->kind == KS_AV_NULL)
      return 1;
  return 0;
}

static void emit_record(emitter *e, const ks_avro_node *n, int nullable) {
  for (int i = 0; i < e->depth; i++)
    if (e->open[i] == n) { /* recursive: kept as JSON text */
      ks_buf_append_str(e->out, "{}");
      return;
    }
  if (e->depth == MAX_DEPTH) {
    ks_buf_append_str(e->out, "{}");
    return;
  }
  e->open[e->depth++] = n;
  ks_buf_append_str(e->out, nullable ? "{\"type\":[\"object\",\"null\"]"
                                     : "{\"type\":\"object\"");
  ks_buf_append_str(e->out, ",\"properties\":{");
  for (uint32_t i = 0; i < n->n; i++) {
    if (i)
      ks_buf_append_byte(e->out, ',');
    ks_buf_append_json_str(e->out, n->names[i], n->name_lens[i]);
    ks_buf_append_byte(e->out, ':');
    emit(e, n->kids[i], field_nullable(n, i));
  }
  ks_buf_append_str(e->out, "},\"required\":[");
  int first = 1;
  for (uint32_t i = 0; i < n->n; i++) {
    if (field_nullable(n, i))
      continue;
    if (!first)
      ks_buf_append_byte(e->out, ',');
    first = 0;
    ks_buf_append_json_str(e->out, n->names[i], n->name_lens[i]);
  }
  ks_buf_append_str(e->out, "]}");
  e->depth--;
}

static void emit(emitter *e, const ks_avro_node *n, int nullable) {
  ks_buf *o = e->out;
  switch (n->kind) {
  case KS_AV_NULL: typed(e, "null", 0, ""); break;
  case KS_AV_BOOLEAN: typed(e, "boolean", nullable, ""); break;
  case KS_AV_INT:
    if (n->logical == KS_AVL_DATE)
      typed(e, "string", nullable, ",\"format\":\"date\"");
    else if (n->logical == KS_AVL_TIME_MILLIS)
      typed(e, "integer", nullable, "");
    else
      typed(e, "integer", nullable,
            ",\"minimum\":-2147483648,\"maximum\":2147483647");
    break;
  case KS_AV_LONG:
    if (n->logical >= KS_AVL_TS_MILLIS && n->logical <= KS_AVL_LOCAL_TS_MICROS)
      typed(e, "string", nullable, ",\"format\":\"date-time\"");
    else
      typed(e, "integer", nullable, "");
    break;
  case KS_AV_FLOAT:
  case KS_AV_DOUBLE: typed(e, "number", nullable, ""); break;
  case KS_AV_BYTES:
  case KS_AV_FIXED:
    if (n->logical == KS_AVL_DECIMAL)
      emit_decimal(e, n, nullable);
    else
      typed(e, "string", nullable, "");
    break;
  case KS_AV_STRING:
  case KS_AV_ENUM: typed(e, "string", nullable, ""); break;
  case KS_AV_RECORD: emit_record(e, n, nullable); break;
  case KS_AV_ARRAY:
  case KS_AV_MAP:
    ks_buf_append_str(o, nullable ? "{\"type\":[" : "{\"type\":");
    ks_buf_append_str(o, n->kind == KS_AV_ARRAY ? "\"array\"" : "\"object\"");
    ks_buf_append_str(o, nullable ? ",\"null\"]," : ",");
    ks_buf_append_str(o, n->kind == KS_AV_ARRAY ? "\"items\":"
                                                : "\"additionalProperties\":");
    emit(e, n->kids[0], n->kids[0]->kind == KS_AV_UNION &&
                            n->kids[0]->null_branch >= 0);
    ks_buf_append_byte(o, '}');
    break;
  case KS_AV_UNION: emit_union(e, n, nullable); break;
  }
}

int ks_avro_schema_to_json_schema(const ks_avro_schema *s, ks_buf *out,
                                  char *err, size_t errlen) {
  if (s->root == NULL || s->root->kind != KS_AV_RECORD) {
    if (err && errlen)
      snprintf(err, errlen,
               "avro schema: a table's value schema must be a record");
    return KS_ESCHEMA;
  }
  emitter e = {.out = out};
  ks_buf_append_str(out, "{\"$schema\":\"http://json-schema.org/draft-07/"
                         "schema#\",");
  size_t at = out->len;
  emit_record(&e, s->root, 0);
  /* splice: drop the record's opening brace after the $schema member */
  memmove(out->data + at, out->data + at + 1, out->len - at - 1);
  out->len--;
  return 0;
}
