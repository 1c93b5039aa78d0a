/*
 * Column inference (infer.h). A record reaches ks_infer_learn only when
 * the decoder found values outside the table's columns, which is rare
 * once a table has seen its producers' fields, so the record is parsed
 * into a yajl tree here: simplicity over speed on a path that runs a
 * handful of times per field.
 */
#include "stages/record/infer.h"
#include "stages/record/shred.h"

#include "base/jsontext.h"
#include "base/jsontree.h"
#include "base/ks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

/* ---- nodes --------------------------------------------------------------- */

static ks_infer_node *node_new(ks_infer_kind kind, const char *name) {
  ks_infer_node *n = ks_calloc(1, sizeof *n);
  n->kind = kind;
  n->nullable = 1;
  n->name = ks_strdup(name);
  return n;
}

static void add_kid(ks_infer_node *n, ks_infer_node *kid) {
  if (n->nkids == n->cap) {
    n->cap = n->cap ? n->cap * 2 : 4;
    n->kids = ks_realloc(n->kids, n->cap * sizeof *n->kids);
  }
  n->kids[n->nkids++] = kid;
}

ks_infer_node *ks_infer_root(void) {
  ks_infer_node *n = node_new(KS_INF_STRUCT, "");
  n->nullable = 0;
  return n;
}

ks_infer_node *ks_infer_copy(const ks_infer_node *n) {
  ks_infer_node *c = node_new(n->kind, n->name);
  c->nullable = n->nullable;
  c->precision = n->precision;
  c->scale = n->scale;
  for (size_t i = 0; i < n->nkids; i++)
    add_kid(c, ks_infer_copy(n->kids[i]));
  return c;
}

void ks_infer_free(ks_infer_node *n) {
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->nkids; i++)
    ks_infer_free(n->kids[i]);
  ks_free(n->kids);
  ks_free(n->name);
  ks_free(n);
}

size_t ks_infer_nleaves(const ks_infer_node *n) {
  if (n->kind == KS_INF_MAP) /* the key column, then the value's */
    return 1 + ks_infer_nleaves(n->kids[0]);
  if (n->kind != KS_INF_STRUCT && n->kind != KS_INF_ARRAY)
    return 1;
  size_t k = 0;
  for (size_t i = 0; i < n->nkids; i++)
    k += ks_infer_nleaves(n->kids[i]);
  return k;
}

static const char *kind_name(ks_infer_kind k) {
  static const char *const names[] = {
      "long",  "double", "string", "boolean", "timestamp", "date",
      "struct", "array", "map",    "integer", "byte",      "short",
      "float", "binary", "decimal", "timestamp_ntz"};
  return names[k];
}

/* ---- from a table's tree --------------------------------------------------
 */

static int from_pq(const ks_pq_node *p, ks_buf *path, ks_infer_node **out,
                   char *err, size_t errlen) {
  size_t old = path->len;
  if (path->len)
    ks_buf_append_byte(path, '.');
  ks_buf_append_str(path, p->name);
  ks_infer_node *n = NULL;
  int r = 0;
  if (p->is_leaf) {
    ks_infer_kind k = KS_INF_STRING;
    switch (p->spec.type) {
    case KS_COL_INT64: k = KS_INF_LONG; break;
    case KS_COL_INT32: k = KS_INF_INT; break;
    case KS_COL_DOUBLE: k = KS_INF_DOUBLE; break;
    case KS_COL_STRING: k = KS_INF_STRING; break;
    case KS_COL_BOOLEAN: k = KS_INF_BOOLEAN; break;
    case KS_COL_TIMESTAMP: k = KS_INF_TIMESTAMP; break;
    case KS_COL_DATE: k = KS_INF_DATE; break;
    case KS_COL_INT8: k = KS_INF_BYTE; break;
    case KS_COL_INT16: k = KS_INF_SHORT; break;
    case KS_COL_FLOAT: k = KS_INF_FLOAT; break;
    case KS_COL_BINARY: k = KS_INF_BINARY; break;
    case KS_COL_TIMESTAMP_NTZ: k = KS_INF_TIMESTAMP_NTZ; break;
    default: r = KS_EUNSUPPORTED;
    }
    if (p->precision) {
      k = KS_INF_DECIMAL;
      r = 0;
    }
    if (r) {
      snprintf(err, errlen,
               "column %.*s has a type schemaless mode does not write",
               (int)path->len, (const char *)path->data);
    } else {
      n = node_new(k, p->name);
      n->precision = p->precision;
      n->scale = p->scale;
    }
  } else if (p->group == KS_PQ_STRUCT) {
    n = node_new(KS_INF_STRUCT, p->name);
    for (size_t i = 0; r == 0 && i < p->nchildren; i++) {
      ks_infer_node *kid = NULL;
      if ((r = from_pq(p->children[i], path, &kid, err, errlen)) == 0)
        add_kid(n, kid);
    }
  } else {
    /* LIST: list.element; MAP: key_value.{key, value} */
    const ks_pq_node *rep = p->children[0];
    const ks_pq_node *inner =
        p->group == KS_PQ_LIST ? rep->children[0] : rep->children[1];
    ks_infer_node *kid = NULL;
    n = node_new(p->group == KS_PQ_LIST ? KS_INF_ARRAY : KS_INF_MAP, p->name);
    if ((r = from_pq(inner, path, &kid, err, errlen)) == 0)
      add_kid(n, kid);
  }
  if (n)
    n->nullable = p->repetition == KS_PQ_OPTIONAL;
  path->len = old;
  if (r) {
    ks_infer_free(n);
    return r;
  }
  *out = n;
  return 0;
}

int ks_infer_from_tree(const ks_pq_schema *s, const char *const *skip,
                       size_t nskip, ks_infer_node **out, char *err,
                       size_t errlen) {
  ks_pq_schema *ms = (ks_pq_schema *)s; /* ks_pq_schema_root is not const */
  const ks_pq_node *root = ks_pq_schema_root(ms);
  ks_infer_node *n = ks_infer_root();
  ks_buf path;
  ks_buf_init(&path, 0);
  int r = 0;
  for (size_t i = 0; r == 0 && i < root->nchildren; i++) {
    const ks_pq_node *c = root->children[i];
    int skipped = 0;
    for (size_t k = 0; k < nskip; k++)
      skipped |= strcasecmp(c->name, skip[k]) == 0;
    if (skipped)
      continue;
    ks_infer_node *kid = NULL;
    if ((r = from_pq(c, &path, &kid, err, errlen)) == 0)
      add_kid(n, kid);
  }
  ks_buf_free(&path);
  if (r) {
    ks_infer_free(n);
    return r;
  }
  *out = n;
  return 0;
}

/* ---- learning from a record ---------------------------------------------- */

typedef struct learn_ctx {
  ks_reject *rej;
  const char *const *reserved;
  size_t nreserved;
  ks_buf ptr; /* JSON pointer of the value being looked at */
  int changed;
  int depth; /* containers around the value being looked at */
} learn_ctx;

/* Containers a learnt column may sit in. The compiler keeps values nested
 * deeper than its own limit as JSON text, which the tree would not say;
 * refusing them here keeps tree, schemaString and files the same shape. */
#define LEARN_MAX_DEPTH 24

static const char *ptr_text(learn_ctx *c) {
  ks_buf_cstr(&c->ptr);
  return (const char *)c->ptr.data;
}

static int learn_fail(learn_ctx *c, ks_reason reason, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static int learn_fail(learn_ctx *c, ks_reason reason, const char *fmt,
                      ...) {
  ks_reject *r = c->rej;
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->code = KS_EINVALID;
  r->reason = reason;
  r->keyword = KS_KEYWORD_NONE;
  snprintf(r->path, sizeof r->path, "%s", ptr_text(c));
  size_t n = strlen(r->path);
  if (n > sizeof r->message - 3)
    n = sizeof r->message - 3;
  memcpy(r->message, r->path, n);
  memcpy(r->message + n, ": ", 2);
  n += 2;
  size_t m = strlen(msg);
  if (m > sizeof r->message - 1 - n)
    m = sizeof r->message - 1 - n;
  memcpy(r->message + n, msg, m);
  r->message[n + m] = 0;
  return KS_EINVALID;
}


/* The kind of a JSON value, or -1 for null (no type). */
static int value_kind(yajl_val v) {
  if (YAJL_IS_NULL(v))
    return -1;
  if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
    return KS_INF_BOOLEAN;
  if (YAJL_IS_STRING(v))
    return KS_INF_STRING;
  if (YAJL_IS_NUMBER(v)) {
    const char *t = YAJL_GET_NUMBER(v);
    return strpbrk(t, ".eE") ? KS_INF_DOUBLE : KS_INF_LONG;
  }
  if (YAJL_IS_OBJECT(v))
    return KS_INF_STRUCT;
  return KS_INF_ARRAY;
}

static const char *value_name(int kind) {
  switch (kind) {
  case KS_INF_BOOLEAN: return "a boolean";
  case KS_INF_STRING: return "a string";
  case KS_INF_DOUBLE: return "a fractional number";
  case KS_INF_LONG: return "an integer";
  case KS_INF_STRUCT: return "an object";
  default: return "an array";
  }
}

/* Whether column kind `col` holds a value of kind `val`. */
static int holds(ks_infer_kind col, int val) {
  switch (col) {
  case KS_INF_DOUBLE: return val == KS_INF_DOUBLE || val == KS_INF_LONG;
  case KS_INF_INT:
  case KS_INF_BYTE:
  case KS_INF_SHORT: return val == KS_INF_LONG;
  case KS_INF_FLOAT: return val == KS_INF_DOUBLE || val == KS_INF_LONG;
  case KS_INF_DECIMAL:
    return val == KS_INF_DOUBLE || val == KS_INF_LONG || val == KS_INF_STRING;
  case KS_INF_BINARY:
  case KS_INF_TIMESTAMP_NTZ: return val == KS_INF_STRING;
  case KS_INF_TIMESTAMP:
  case KS_INF_DATE: return val == KS_INF_STRING;
  case KS_INF_MAP: return val == KS_INF_STRUCT;
  default: return (int)col == val;
  }
}

static int name_ok(learn_ctx *c, const ks_infer_node *parent, int top,
                   const char *name) {
  if (name[0] == 0)
    return learn_fail(c, KS_REASON_NEW_FIELD, "an empty name cannot be a column");
  for (const char *p = name; *p; p++)
    if ((uint8_t)*p < 0x20 || strchr(" ,;{}()=", *p))
      return learn_fail(c, KS_REASON_NEW_FIELD,
                        "field name \"%s\" cannot be a Delta column: it "
                        "contains one of ' ,;{}()=' or a control character",
                        name);
  for (size_t i = 0; i < parent->nkids; i++)
    if (strcasecmp(parent->kids[i]->name, name) == 0)
      return learn_fail(c, KS_REASON_NEW_FIELD,
                        "field \"%s\" and column \"%s\" differ only in case: "
                        "Delta column names are case-insensitive",
                        name, parent->kids[i]->name);
  for (size_t i = 0; top && i < c->nreserved; i++)
    if (strcasecmp(c->reserved[i], name) == 0)
      return learn_fail(c, KS_REASON_NEW_FIELD,
                        "field \"%s\" clashes with ksink's column \"%s\"",
                        name, c->reserved[i]);
  return 0;
}

static int learn_value(learn_ctx *c, ks_infer_node *parent, int top,
                       const char *name, ks_infer_node **slot, yajl_val v);
static int learn_children(learn_ctx *c, ks_infer_node *n, ks_infer_node **slot,
                          yajl_val v);

/* Object members into a STRUCT node (new ones appended in record order). */
static int learn_members(learn_ctx *c, ks_infer_node *st, int top,
                         yajl_val obj) {
  for (size_t i = 0; i < obj->u.object.len; i++) {
    const char *key = obj->u.object.keys[i];
    size_t old = c->ptr.len;
    ks_buf_append_json_pointer(&c->ptr, key);
    ks_infer_node **slot = NULL;
    for (size_t k = 0; k < st->nkids; k++)
      if (strcmp(st->kids[k]->name, key) == 0)
        slot = &st->kids[k];
    int r;
    if (slot) {
      r = learn_value(c, st, top, key, slot, obj->u.object.values[i]);
    } else {
      ks_infer_node *n = NULL;
      r = learn_value(c, st, top, key, &n, obj->u.object.values[i]);
      if (r == 0 && n) {
        add_kid(st, n);
        c->changed = 1;
      }
    }
    c->ptr.len = old;
    if (r)
      return r;
  }
  return 0;
}

/* *slot is v's column (NULL: none yet, created here when v has a type). */
static int learn_value(learn_ctx *c, ks_infer_node *parent, int top,
                       const char *name, ks_infer_node **slot, yajl_val v) {
  int kind = value_kind(v);
  if (kind < 0)
    return 0;
  ks_infer_node *n = *slot;
  if (n && !holds(n->kind, kind))
    return learn_fail(c, KS_REASON_TYPE_CONFLICT,
                      "column is %s, the record has %s: a column keeps its "
                      "first type",
                      kind_name(n->kind), value_name(kind));
  if (n == NULL) {
    if (parent && parent->kind == KS_INF_STRUCT) {
      int r = name_ok(c, parent, top, name);
      if (r)
        return r;
    }
    if (kind == KS_INF_STRUCT && v->u.object.len == 0)
      return 0; /* {}: no field to make a struct of */
    if (kind == KS_INF_ARRAY && v->u.array.len == 0)
      return 0; /* []: no element type */
    if (c->depth >= LEARN_MAX_DEPTH)
      return learn_fail(c, KS_REASON_NEW_FIELD,
                        "a field nested in more than %d objects and arrays "
                        "cannot become a column",
                        LEARN_MAX_DEPTH);
    n = node_new((ks_infer_kind)kind, name);
  }
  if (n->kind != KS_INF_STRUCT && n->kind != KS_INF_ARRAY &&
      n->kind != KS_INF_MAP) {
    *slot = n; /* a scalar: its kind is its column */
    return 0;
  }
  c->depth++;
  int r = learn_children(c, n, slot, v);
  c->depth--;
  if (r < 0)
    return r;
  if (r > 0) /* only nulls and empty values inside */
    return 0;
  *slot = n;
  return 0;
}

/* The members or elements of v into n (v's column); frees n on failure
 * and returns the status, or 1 (n freed too when new) when they gave n no
 * field. */
static int learn_children(learn_ctx *c, ks_infer_node *n, ks_infer_node **slot,
                          yajl_val v) {
  int r = 0;
  if (n->kind == KS_INF_STRUCT) {
    r = learn_members(c, n, 0, v);
  } else if (n->kind == KS_INF_MAP) {
    for (size_t i = 0; r == 0 && i < v->u.object.len; i++) {
      size_t old = c->ptr.len;
      ks_buf_append_json_pointer(&c->ptr, v->u.object.keys[i]);
      r = learn_value(c, n, 0, "value", &n->kids[0], v->u.object.values[i]);
      c->ptr.len = old;
    }
  } else if (n->kind == KS_INF_ARRAY) {
    ks_infer_node *elem = n->nkids ? n->kids[0] : NULL;
    for (size_t i = 0; r == 0 && i < v->u.array.len; i++) {
      size_t old = c->ptr.len;
      ks_buf_appendf(&c->ptr, "/%zu", i);
      r = learn_value(c, n, 0, "element", &elem, v->u.array.values[i]);
      c->ptr.len = old;
    }
    if (n->nkids == 0 && elem)
      add_kid(n, elem);
  }
  int empty = n->nkids == 0; /* a new struct or array given no field */
  if (r || empty) {
    if (*slot == NULL)
      ks_infer_free(n);
    return r ? r : 1;
  }
  return 0;
}

int ks_infer_learn(ks_infer_node *root, const uint8_t *json, size_t len,
                   const char *const *reserved, size_t nreserved,
                   int *changed, ks_reject *rej) {
  ks_reject_clear(rej);
  char *text = ks_malloc(len + 1);
  memcpy(text, json, len);
  text[len] = 0;
  char perr[128] = "";
  /* a record nested past any column is refused before yajl builds it (and
   * a tree is freed without recursion): 300,000 levels would otherwise
   * overflow the stack */
  int deep = ks_json_too_deep(json, len, KS_JSON_MAX_DEPTH);
  yajl_val doc = deep ? NULL : yajl_tree_parse(text, perr, sizeof perr);
  ks_free(text);
  learn_ctx c = {.rej = rej, .reserved = reserved, .nreserved = nreserved};
  ks_buf_init(&c.ptr, 0);
  int r;
  if (deep) {
    r = learn_fail(&c, KS_REASON_NEW_FIELD,
                   "the record nests more than %d objects and arrays; a "
                   "field nested in more than %d cannot become a column",
                   KS_JSON_MAX_DEPTH, LEARN_MAX_DEPTH);
  } else if (doc == NULL) {
    r = learn_fail(&c, KS_REASON_MALFORMED_JSON, "malformed JSON: %s", perr);
  } else if (!YAJL_IS_OBJECT(doc)) {
    r = learn_fail(&c, KS_REASON_TYPE_CONFLICT,
                   "the record is %s; a table's record is an object",
                   value_name(value_kind(doc)));
  } else {
    /* into a copy: a record that fails halfway leaves root as it was */
    ks_infer_node *work = ks_infer_copy(root);
    r = learn_members(&c, work, 1, doc);
    if (r == 0 && c.changed) {
      for (size_t i = 0; i < root->nkids; i++)
        ks_infer_free(root->kids[i]);
      ks_free(root->kids);
      root->kids = work->kids;
      root->nkids = work->nkids;
      root->cap = work->cap;
      work->kids = NULL;
      work->nkids = 0;
    }
    ks_infer_free(work);
  }
  ks_json_tree_free(doc);
  ks_buf_free(&c.ptr);
  *changed = r == 0 && c.changed;
  return r;
}

/* ---- union of two trees ---------------------------------------------------
 */

static int union_node(ks_infer_node *into, const ks_infer_node *from,
                      ks_buf *path, int *changed, char *err, size_t errlen) {
  if (into->kind != from->kind || into->precision != from->precision ||
      into->scale != from->scale) {
    snprintf(err, errlen, "column %.*s is %s here and %s in the table",
             (int)path->len, (const char *)path->data, kind_name(into->kind),
             kind_name(from->kind));
    return KS_ECONFLICT;
  }
  if (into->kind == KS_INF_ARRAY || into->kind == KS_INF_MAP) {
    size_t old = path->len;
    ks_buf_append_str(path, into->kind == KS_INF_ARRAY ? ".element" : ".value");
    int r = union_node(into->kids[0], from->kids[0], path, changed, err,
                       errlen);
    path->len = old;
    return r;
  }
  if (into->kind != KS_INF_STRUCT)
    return 0;
  for (size_t i = 0; i < from->nkids; i++) {
    const ks_infer_node *f = from->kids[i];
    ks_infer_node *match = NULL;
    for (size_t k = 0; k < into->nkids; k++)
      if (strcasecmp(into->kids[k]->name, f->name) == 0)
        match = into->kids[k];
    size_t old = path->len;
    if (path->len)
      ks_buf_append_byte(path, '.');
    ks_buf_append_str(path, f->name);
    int r = 0;
    if (match && strcmp(match->name, f->name) != 0) {
      snprintf(err, errlen, "column %.*s is named %s in the table",
               (int)path->len, (const char *)path->data, match->name);
      r = KS_ECONFLICT;
    } else if (match) {
      r = union_node(match, f, path, changed, err, errlen);
    } else {
      ks_infer_node *n = ks_infer_copy(f);
      n->nullable = 1; /* rows from the other schema have no value */
      add_kid(into, n);
      *changed = 1;
    }
    path->len = old;
    if (r)
      return r;
  }
  return 0;
}

int ks_infer_union(ks_infer_node *into, const ks_infer_node *from,
                   int *changed, char *err, size_t errlen) {
  ks_buf path;
  ks_buf_init(&path, 0);
  *changed = 0;
  int r = union_node(into, from, &path, changed, err, errlen);
  ks_buf_free(&path);
  return r;
}

/* ---- as a JSON Schema ------------------------------------------------------
 */

static void schema_of(const ks_infer_node *n, int nullable, ks_buf *out) {
  static const char *const json_types[] = {
      "integer", "number", "string", "boolean", "string",  "string",
      "object",  "array",  "object", "integer", "integer", "integer",
      "number",  "string", "number", "string"};
  const char *t = json_types[n->kind];
  /* a decimal takes its text too ("12.30"): exact where a JSON number
   * might pass through a double on the producer's side */
  const char *also = n->kind == KS_INF_DECIMAL ? ",\"string\"" : "";
  if (nullable)
    ks_buf_appendf(out, "{\"type\":[\"%s\"%s,\"null\"]", t, also);
  else if (*also)
    ks_buf_appendf(out, "{\"type\":[\"%s\"%s]", t, also);
  else
    ks_buf_appendf(out, "{\"type\":\"%s\"", t);
  switch (n->kind) {
  case KS_INF_BYTE:
    ks_buf_append_str(out, ",\"minimum\":-128,\"maximum\":127");
    break;
  case KS_INF_SHORT:
    ks_buf_append_str(out, ",\"minimum\":-32768,\"maximum\":32767");
    break;
  case KS_INF_BINARY:
    ks_buf_append_str(out, ",\"contentEncoding\":\"base64\"");
    break;
  case KS_INF_INT: /* the bounds make stages/record/columns.c pick INT32 */
    ks_buf_append_str(out, ",\"minimum\":-2147483648,\"maximum\":2147483647");
    break;
  case KS_INF_TIMESTAMP:
    ks_buf_append_str(out, ",\"format\":\"date-time\"");
    break;
  case KS_INF_DATE:
    ks_buf_append_str(out, ",\"format\":\"date\"");
    break;
  case KS_INF_ARRAY:
    ks_buf_append_str(out, ",\"items\":");
    schema_of(n->kids[0], n->kids[0]->nullable, out);
    break;
  case KS_INF_MAP:
    ks_buf_append_str(out, ",\"additionalProperties\":");
    schema_of(n->kids[0], n->kids[0]->nullable, out);
    break;
  case KS_INF_STRUCT: {
    ks_buf_append_str(out, ",\"properties\":{");
    for (size_t i = 0; i < n->nkids; i++) {
      if (i)
        ks_buf_append_byte(out, ',');
      ks_buf_append_json_str(out, n->kids[i]->name, strlen(n->kids[i]->name));
      ks_buf_append_byte(out, ':');
      schema_of(n->kids[i], n->kids[i]->nullable, out);
    }
    ks_buf_append_byte(out, '}');
    int any = 0;
    for (size_t i = 0; i < n->nkids; i++) {
      if (n->kids[i]->nullable)
        continue;
      ks_buf_append_str(out, any ? "," : ",\"required\":[");
      ks_buf_append_json_str(out, n->kids[i]->name, strlen(n->kids[i]->name));
      any = 1;
    }
    if (any)
      ks_buf_append_byte(out, ']');
    break;
  }
  default:
    break;
  }
  ks_buf_append_byte(out, '}');
}

/* The JSON Schema says how a value is checked; the columns.c mapping of it
 * gives byte, short, float, binary and timestamp_ntz columns the nearest
 * JSON type (long, double, string) and a decimal that also takes text a
 * JSON text column. Their leaves are given the table's exact type here,
 * walking the shred tree beside the inference tree (the same fields in
 * the same order). */
static void retype(const ks_infer_node *n, ks__shnode *x, int *retyped) {
  ks_coltype t;
  switch (n->kind) {
  case KS_INF_BYTE: t = KS_COL_INT8; break;
  case KS_INF_SHORT: t = KS_COL_INT16; break;
  case KS_INF_FLOAT: t = KS_COL_FLOAT; break;
  case KS_INF_BINARY: t = KS_COL_BINARY; break;
  case KS_INF_TIMESTAMP_NTZ: t = KS_COL_TIMESTAMP_NTZ; break;
  case KS_INF_DECIMAL:
    t = n->precision <= 9    ? KS_COL_INT32
        : n->precision <= 18 ? KS_COL_INT64
                             : KS_COL_STRING;
    break;
  default: {
    size_t k = n->nkids < x->nkids ? n->nkids : x->nkids;
    for (size_t i = 0; i < k; i++)
      retype(n->kids[i], x->kids[i], retyped);
    return;
  }
  }
  x->kind = KS__SH_LEAF;
  x->type = t;
  x->precision = n->kind == KS_INF_DECIMAL ? n->precision : 0;
  x->scale = n->kind == KS_INF_DECIMAL ? n->scale : 0;
  *retyped = 1;
}

void ks_infer_json_schema(const ks_infer_node *root, ks_buf *out) {
  schema_of(root, 0, out);
}

int ks_infer_compile(const ks_infer_node *root, const char *name,
                     ks_schema **out, char *err, size_t errlen) {
  ks_buf doc;
  ks_buf_init(&doc, 0);
  ks_infer_json_schema(root, &doc);
  ks_schema_opts o = {
      .table = 1, .format_assertion = 1, .allow_no_columns = 1};
  int r = ks_schema_load_opts((const char *)doc.data, doc.len, name, &o, out,
                              err, errlen);
  ks_buf_free(&doc);
  int retyped = 0;
  if (r == 0 && (*out)->shroot)
    retype(root, (*out)->shroot, &retyped);
  if (r == 0 && retyped && (r = ks__schema_remap(*out, err, errlen))) {
    ks_schema_free(*out);
    *out = NULL;
  }
  return r;
}
