/*
 * Schema -> table mapping: the shred tree (shred.h) and the Parquet schema
 * tree of a table's data columns. The README has the table:
 *
 *   integer -> long; number -> double, or DECIMAL(p, s) when multipleOf is
 *   10^-s and both bounds are given (p = the bound's integer digits + s);
 *   string -> string, or timestamp (format date-time) or date (format
 *   date); boolean -> boolean; object with properties -> struct of its
 *   declared properties; object with no properties and an
 *   additionalProperties schema -> map<string, V>; array -> array of its
 *   items schema; anything else (free-form objects, mixed kinds, tuple
 *   arrays, patternProperties maps, recursive $refs) -> string holding the
 *   value's JSON text.
 *   Nullable: `type` admits null, or the property is not in `required`;
 *   list elements and map values: their schema admits null.
 *
 * Only "type", "enum"/"const", "format", "multipleOf" with bounds and the
 * object/array structure decide the table: the other keywords validate.
 */
#include "stages/record/shred.h"
#include "storage/parquet/schema_tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum {
  LT_LONG,
  LT_INT,
  LT_DOUBLE,
  LT_DECIMAL,
  LT_BOOLEAN,
  LT_STRING,
  LT_TIMESTAMP,
  LT_DATE,
  LT_STRUCT, /* object with properties */
  LT_MAP,    /* object with only additionalProperties */
  LT_ARRAY,
  LT_JSON /* free-form object, or a mix of kinds */
};

/* Struct nesting deeper than this keeps the inner value as JSON text (a
 * record cannot nest past the validator's KS_JS_MAX_DEPTH anyway). */
#define MAP_MAX_DEPTH 32

typedef struct mapper {
  ks_buf ptr; /* JSON pointer of the schema being mapped, for messages */
  char *err;
  size_t errlen;
  ks_schema *s;
  uint32_t nleaves;
  const ks_js_node *path[MAP_MAX_DEPTH]; /* containers being mapped */
  int depth;
} mapper;

/* "<schema>: <schema path>: reason" in err, as the compiler's. */
static int mfail(mapper *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int mfail(mapper *m, const char *fmt, ...) {
  if (m->err && m->errlen && m->err[0] == 0) {
    ks_buf_cstr(&m->ptr);
    int n = snprintf(m->err, m->errlen, "%s: %s: ", ks_js_name(m->s->js),
                     m->ptr.len ? (char *)m->ptr.data : "(root)");
    if (n >= 0 && (size_t)n < m->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(m->err + n, m->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return KS_ESCHEMA;
}

static size_t ptr_push(mapper *m, const char *tok) {
  size_t old = m->ptr.len;
  ks_buf_append_json_pointer(&m->ptr, tok);
  return old;
}

static void ptr_pop(mapper *m, size_t old) {
  m->ptr.len = old;
}

/* Reads a JSON number's text: its significant digits without leading
 * zeros are digits[first..] and the value is 0.<those digits> * 10^point. */
typedef struct numtext {
  const char *digits; /* all mantissa digits, the point skipped */
  size_t n, first;    /* count; index of the first nonzero digit (n: none) */
  int64_t point;      /* integer digits of the value (may be <= 0) */
} numtext;

static void numtext_read(const char *p, size_t len, numtext *t, char *buf,
                         size_t cap) {
  const char *end = p + len;
  size_t n = 0, intlen = 0;
  int seen_point = 0;
  if (p < end && *p == '-')
    p++;
  for (; p < end && *p != 'e' && *p != 'E'; p++) {
    if (*p == '.') {
      seen_point = 1;
      continue;
    }
    if (n < cap)
      buf[n++] = *p;
    intlen += !seen_point;
  }
  int64_t e = 0;
  if (p < end) {
    p++;
    int neg = p < end && *p == '-';
    if (p < end && (*p == '-' || *p == '+'))
      p++;
    for (; p < end; p++)
      if (e < 100000)
        e = e * 10 + (*p - '0');
    e = neg ? -e : e;
  }
  t->digits = buf;
  t->n = n;
  t->first = 0;
  while (t->first < n && buf[t->first] == '0')
    t->first++;
  t->point = (int64_t)intlen - (int64_t)t->first + e;
}

/* 1 and *e when the text is exactly 10^e. */
static int pow10_exp(const ks_js_num *m, int64_t *e) {
  char buf[128];
  numtext t;
  numtext_read(m->text, m->len, &t, buf, sizeof buf);
  if (m->text[0] == '-' || t.first == t.n || t.digits[t.first] != '1')
    return 0;
  for (size_t i = t.first + 1; i < t.n; i++)
    if (t.digits[i] != '0')
      return 0;
  *e = t.point - 1;
  return 1;
}

/* s for multipleOf == 10^-s (1 <= s <= 38), else 0. */
static int decimal_scale(const ks_js_num *m) {
  int64_t e;
  return pow10_exp(m, &e) && e <= -1 && e >= -38 ? (int)-e : 0;
}

/* Integer digits a value within the bound can have: those of the bound,
 * one fewer when it is exclusive and exactly 10^k. */
static int bound_digits(const ks_js_num *b, int exclusive) {
  char buf[128];
  numtext t;
  numtext_read(b->text, b->len, &t, buf, sizeof buf);
  if (t.first == t.n || t.point <= 0)
    return 0;
  int64_t e, d = t.point;
  if (exclusive && pow10_exp(b, &e) && e >= 1)
    d = e;
  return d > 400 ? 400 : (int)d;
}

static int num_is(const ks_js_num *v, const char *text) {
  return v && v->len == strlen(text) && memcmp(v->text, text, v->len) == 0;
}

/* An integer bounded exactly to 32 bits (what a Delta "integer" column
 * maps to) is an INT32 column. */
static int int32_bounds(const ks_js_node *n) {
  unsigned flags = ks_js_node_flags(n);
  return (flags & KS_JS_N_MIN) && (flags & KS_JS_N_MAX) &&
         !(flags & (KS_JS_N_XMIN | KS_JS_N_XMAX)) &&
         num_is(ks_js_node_min(n), "-2147483648") &&
         num_is(ks_js_node_max(n), "2147483647");
}

static int logical_type(const ks_schema *s, const ks_js_node *n,
                        unsigned *kinds) {
  unsigned t = ks_js_node_kinds(n);
  unsigned flags = ks_js_node_flags(n);
  unsigned nn = t & ~(unsigned)KS_JS_T_NULL;
  *kinds = t;
  if (nn == KS_JS_T_INTEGER)
    return int32_bounds(n) ? LT_INT : LT_LONG;
  if (nn == KS_JS_T_NUMBER || nn == (KS_JS_T_NUMBER | KS_JS_T_INTEGER)) {
    int bounded = (flags & (KS_JS_N_MIN | KS_JS_N_XMIN)) &&
                  (flags & (KS_JS_N_MAX | KS_JS_N_XMAX));
    return bounded && (flags & KS_JS_N_MULTIPLE) &&
                   decimal_scale(ks_js_node_multiple(n))
               ? LT_DECIMAL
               : LT_DOUBLE;
  }
  if (nn == KS_JS_T_BOOLEAN)
    return LT_BOOLEAN;
  if (nn == KS_JS_T_STRING)
    return ks_js_node_format(n) == KS_JS_FMT_DATE_TIME ? LT_TIMESTAMP
           : ks_js_node_format(n) == KS_JS_FMT_DATE    ? LT_DATE
                                          : LT_STRING;
  if (nn == KS_JS_T_ARRAY)
    return flags & KS_JS_N_ITEMS_ARRAY ? LT_JSON : LT_ARRAY;
  if (nn == KS_JS_T_OBJECT) {
    uint32_t declared = 0;
    for (uint32_t i = 0; i < ks_js_node_nprops(n); i++)
      declared += !ks_js_node_prop(n, i)->additional;
    if (declared)
      return LT_STRUCT;
    const ks_js_node *add = ks_js_node_additional(n);
    return add != ks_js_any(s->js) && ks_js_node_npattern_props(n) == 0 &&
                   !(ks_js_node_flags(add) & KS_JS_N_FALSE)
               ? LT_MAP
               : LT_JSON;
  }
  return LT_JSON;
}

static ks__shnode *node_new(ks_schema *s, int kind, const char *name) {
  ks__shnode *n = ks_calloc(1, sizeof *n);
  n->kind = (uint8_t)kind;
  n->name = ks_strdup(name);
  if (s->nshnodes == s->shcap) {
    s->shcap = s->shcap ? s->shcap * 2 : 16;
    s->shnodes = ks_realloc(s->shnodes, s->shcap * sizeof *s->shnodes);
  }
  s->shnodes[s->nshnodes++] = n;
  return n;
}

static int on_path(const mapper *m, const ks_js_node *n) {
  for (int i = 0; i < m->depth; i++)
    if (m->path[i] == n)
      return 1;
  return 0;
}

static int map_node(mapper *m, const ks_js_node *sn, const char *name,
                    int required, int pdef, int prep, ks__shnode **out);

static int map_struct(mapper *m, ks__shnode *st, const ks_js_node *n) {
  uint32_t nprops = ks_js_node_nprops(n);
  st->obj = n;
  st->prop_kid = ks_malloc((nprops ? nprops : 1) * sizeof *st->prop_kid);
  st->kids = ks_calloc(nprops ? nprops : 1, sizeof *st->kids);
  for (uint32_t i = 0; i < nprops; i++) {
    const ks_js_prop *p = ks_js_node_prop(n, i);
    st->prop_kid[i] = -1;
    if (p->additional)
      continue;
    size_t old = ptr_push(m, "properties");
    size_t old2 = ptr_push(m, p->name);
    int r = 0;
    if (p->len == 0 || strlen(p->name) != p->len)
      r = mfail(m, "a column name cannot be empty or contain NUL");
    for (uint32_t k = 0; r == 0 && k < st->nkids; k++)
      if (strcasecmp(st->kids[k]->name, p->name) == 0)
        r = mfail(m,
                      "\"%s\" and \"%s\" differ only in case: Delta column "
                      "names are case-insensitive",
                      st->kids[k]->name, p->name);
    int required = ks_js_node_required(n, i);
    if (r == 0) {
      st->prop_kid[i] = (int32_t)st->nkids;
      r = map_node(m, p->node, p->name, required, st->def, st->rep,
                   &st->kids[st->nkids]);
      st->nkids++;
    }
    ptr_pop(m, old2);
    ptr_pop(m, old);
    if (r)
      return r;
  }
  return 0;
}

/* pdef/prep: the levels where the parent is present. st->rep of a STRUCT
 * is unused by the shredder; it carries prep down to nested lists. */
static int map_node(mapper *m, const ks_js_node *sn, const char *name,
                    int required, int pdef, int prep, ks__shnode **out) {
  const ks_js_node *n = ks_js_node_deref(sn);
  unsigned t;
  int lt = logical_type(m->s, n, &t);
  int container = lt == LT_STRUCT || lt == LT_MAP || lt == LT_ARRAY;
  if (container && (m->depth == MAP_MAX_DEPTH || on_path(m, n)))
    lt = LT_JSON; /* recursive schema: the inner value as JSON text */
  int kind = lt == LT_STRUCT ? KS__SH_STRUCT
             : lt == LT_MAP  ? KS__SH_MAP
             : lt == LT_ARRAY ? KS__SH_LIST
             : lt == LT_JSON  ? KS__SH_JSON
                              : KS__SH_LEAF;
  ks__shnode *x = node_new(m->s, kind, name);
  *out = x;
  x->nullable = (uint8_t)(!required || (t & KS_JS_T_NULL) ||
                          (t & ~(unsigned)KS_JS_T_NULL) == 0);
  x->def = (uint8_t)(pdef + x->nullable);
  x->rep = (uint8_t)prep;
  x->leaf = m->nleaves;
  if (pdef + 3 > KS_PQ_MAX_LEVEL)
    return mfail(m, "nested too deep for Parquet's levels");
  int r = 0;
  switch (lt) {
  case LT_LONG: x->type = KS_COL_INT64; break;
  case LT_INT: x->type = KS_COL_INT32; break;
  case LT_DOUBLE: x->type = KS_COL_DOUBLE; break;
  case LT_BOOLEAN: x->type = KS_COL_BOOLEAN; break;
  case LT_TIMESTAMP: x->type = KS_COL_TIMESTAMP; break;
  case LT_DATE: x->type = KS_COL_DATE; break;
  case LT_STRING:
  case LT_JSON: x->type = KS_COL_STRING; break;
  case LT_DECIMAL:
    x->scale = decimal_scale(ks_js_node_multiple(n));
    int lo = bound_digits(ks_js_node_min(n),
                          (ks_js_node_flags(n) & KS_JS_N_XMIN) != 0);
    int hi = bound_digits(ks_js_node_max(n),
                          (ks_js_node_flags(n) & KS_JS_N_XMAX) != 0);
    x->precision = (lo > hi ? lo : hi) + x->scale;
    if (x->precision > 38) {
      size_t old = ptr_push(m, "multipleOf");
      r = mfail(m,
                    "multipleOf %.*s with these bounds needs DECIMAL(%d,%d); "
                    "Parquet and Delta decimals hold at most 38 digits",
                    (int)ks_js_node_multiple(n)->len,
                    ks_js_node_multiple(n)->text, x->precision,
                    x->scale);
      ptr_pop(m, old);
      return r;
    }
    x->type = x->precision <= 9 ? KS_COL_INT32
              : x->precision <= 18 ? KS_COL_INT64
                                   : KS_COL_STRING;
    break;
  default: {
    m->path[m->depth++] = n;
    if (lt == LT_STRUCT) {
      r = map_struct(m, x, n);
    } else {
      /* LIST and MAP: the repeated group adds one level of each */
      x->rep = (uint8_t)(prep + 1);
      x->nkids = 1;
      x->kids = ks_calloc(1, sizeof *x->kids);
      if (lt == LT_MAP)
        m->nleaves++; /* the key */
      size_t old = ptr_push(m, lt == LT_MAP ? "additionalProperties"
                                                   : "items");
      r = map_node(m, lt == LT_MAP ? ks_js_node_additional(n)
                                   : ks_js_node_items(n),
                   lt == LT_MAP ? "value" : "element", 1, x->def + 1, x->rep,
                   &x->kids[0]);
      ptr_pop(m, old);
    }
    m->depth--;
    x->nleaves = m->nleaves - x->leaf;
    return r;
  }
  }
  m->nleaves++;
  x->nleaves = 1;
  return 0;
}

/* ---- the Parquet tree ---- */

static void build_pq(ks_pq_node *parent, const ks__shnode *x) {
  ks_pq_repetition rep = x->nullable ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED;
  switch (x->kind) {
  case KS__SH_LEAF:
    if (x->precision)
      ks_pq_add_decimal(parent, x->name, rep, x->precision, x->scale);
    else
      ks_pq_add_leaf(parent, x->name, rep, x->type);
    return;
  case KS__SH_JSON:
    ks_pq_add_leaf(parent, x->name, rep, KS_COL_STRING);
    return;
  case KS__SH_STRUCT: {
    ks_pq_node *g = ks_pq_add_struct(parent, x->name, rep);
    for (uint32_t i = 0; i < x->nkids; i++)
      build_pq(g, x->kids[i]);
    return;
  }
  case KS__SH_LIST:
    build_pq(ks_pq_add_list(parent, x->name, rep), x->kids[0]);
    return;
  default:
    build_pq(ks_pq_add_map(parent, x->name, rep), x->kids[0]);
  }
}

static void leaf_paths(ks_schema *s, const ks_pq_node *n, ks_buf *path) {
  size_t old = path->len;
  if (n->parent) { /* not the root */
    if (path->len)
      ks_buf_append_byte(path, '.');
    ks_buf_append_str(path, n->name);
  }
  if (n->is_leaf) {
    ks_colspec *c = &s->cols[n->leaf];
    c->name = ks_strndup((const char *)path->data, path->len);
    c->type = n->spec.type;
    c->nullable = n->max_def > 0;
  }
  for (size_t i = 0; i < n->nchildren; i++)
    leaf_paths(s, n->children[i], path);
  path->len = old;
}

ks_pq_schema *ks_schema_table_tree(const ks_schema *s, const ks_colspec *extra,
                                   size_t nextra, char *err, size_t errlen) {
  const ks__shnode *root = s->shroot;
  for (size_t e = 0; e < nextra; e++) {
    for (uint32_t k = 0; k < root->nkids; k++) {
      if (strcasecmp(root->kids[k]->name, extra[e].name) == 0) {
        snprintf(err, errlen,
                 "%s: property \"%s\" clashes with ksink's metadata column "
                 "\"%s\"",
                 ks_js_name(s->js), root->kids[k]->name, extra[e].name);
        return NULL;
      }
    }
  }
  ks_pq_schema *t = ks_pq_schema_new();
  ks_pq_node *top = ks_pq_schema_root(t);
  for (uint32_t k = 0; k < root->nkids; k++)
    build_pq(top, root->kids[k]);
  for (size_t e = 0; e < nextra; e++) {
    ks_pq_repetition rep = extra[e].nullable ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED;
    if (extra[e].shape == KS_SHAPE_MAP_STR)
      ks_pq_add_leaf(ks_pq_add_map(top, extra[e].name, rep), "value",
                     KS_PQ_OPTIONAL, KS_COL_STRING);
    else if (extra[e].shape == KS_SHAPE_LIST_STR)
      ks_pq_add_leaf(ks_pq_add_list(top, extra[e].name, rep), "element",
                     KS_PQ_REQUIRED, KS_COL_STRING);
    else
      ks_pq_add_leaf(top, extra[e].name, rep, extra[e].type);
  }
  if (ks_pq_schema_finish(t)) { /* the mapping checked levels: a bug */
    snprintf(err, errlen, "%s: the table's Parquet schema is invalid",
             ks_js_name(s->js));
    ks_pq_schema_free(t);
    return NULL;
  }
  return t;
}

static int map_root(mapper *m, const ks_js_node *root) {
  ks_schema *s = m->s;
  if (ks_js_node_types(root) != KS_JS_T_OBJECT) {
    ptr_push(m, "type");
    return mfail(m, "the root schema must have \"type\": \"object\" (a "
                    "record is a JSON object)");
  }
  ks__shnode *x = node_new(s, KS__SH_STRUCT, "schema");
  s->shroot = x;
  m->path[m->depth++] = root;
  int r = map_struct(m, x, root);
  x->nleaves = m->nleaves;
  if (r)
    return r;
  if (x->nkids == 0 && s->allow_no_columns)
    return 0; /* no data columns: no tree of them (s->pq stays NULL) */
  if (x->nkids == 0) {
    ptr_push(m, "properties");
    return mfail(m, "the root schema must declare \"properties\" (one "
                    "column per property)");
  }
  char err[256];
  s->pq = ks_schema_table_tree(s, NULL, 0, err, sizeof err);
  if (s->pq == NULL)
    return mfail(m, "%s", err);
  s->ncols = ks_pq_schema_nleaves(s->pq);
  s->cols = ks_calloc(s->ncols, sizeof *s->cols);
  ks_buf path;
  ks_buf_init(&path, 0);
  leaf_paths(s, ks_pq_schema_root(s->pq), &path);
  ks_buf_free(&path);
  return 0;
}

int ks__map_columns(ks_schema *s, char *err, size_t errlen) {
  const ks_js_node *root = ks_js_node_deref(ks_js_root(s->js));
  mapper m = {.s = s, .err = err, .errlen = errlen};
  ks_buf_init(&m.ptr, 0);
  int r = map_root(&m, root);
  ks_buf_free(&m.ptr);
  return r;
}

/* ---- conforming to an existing table ---- */

static const ks_pq_node *pq_child(const ks_pq_node *g, const char *name) {
  for (size_t i = 0; g && i < g->nchildren; i++)
    if (strcmp(g->children[i]->name, name) == 0)
      return g->children[i];
  return NULL;
}

/* Puts x's struct fields in g's order (the table's), fields g does not
 * have after them in declaration order, at every depth. */
static void conform_node(ks__shnode *x, const ks_pq_node *g) {
  if (g == NULL || g->is_leaf)
    return;
  if (x->kind == KS__SH_LIST && g->group == KS_PQ_LIST) {
    conform_node(x->kids[0], g->children[0]->children[0]);
  } else if (x->kind == KS__SH_MAP && g->group == KS_PQ_MAP) {
    conform_node(x->kids[0], pq_child(g->children[0], "value"));
  } else if (x->kind == KS__SH_STRUCT && g->group == KS_PQ_STRUCT) {
    uint32_t n = x->nkids, placed = 0;
    ks__shnode **kids = ks_malloc((n ? n : 1) * sizeof *kids);
    int32_t *pos = ks_malloc((n ? n : 1) * sizeof *pos);
    for (uint32_t k = 0; k < n; k++)
      pos[k] = -1;
    for (size_t i = 0; i < g->nchildren; i++) {
      for (uint32_t k = 0; k < n; k++) {
        if (pos[k] < 0 && strcmp(x->kids[k]->name, g->children[i]->name) == 0) {
          pos[k] = (int32_t)placed;
          kids[placed++] = x->kids[k];
          break;
        }
      }
    }
    for (uint32_t k = 0; k < n; k++) {
      if (pos[k] < 0) {
        pos[k] = (int32_t)placed;
        kids[placed++] = x->kids[k];
      }
    }
    memcpy(x->kids, kids, n * sizeof *kids);
    for (uint32_t i = 0; x->obj && i < ks_js_node_nprops(x->obj); i++)
      if (x->prop_kid[i] >= 0)
        x->prop_kid[i] = pos[x->prop_kid[i]];
    ks_free(kids);
    ks_free(pos);
    for (uint32_t k = 0; k < n; k++)
      conform_node(x->kids[k], pq_child(g, x->kids[k]->name));
  }
}

/* Leaves depth first again, as map_node numbers them (a MAP's key first). */
static uint32_t renumber(ks__shnode *x, uint32_t next) {
  x->leaf = next;
  if (x->kind == KS__SH_LEAF || x->kind == KS__SH_JSON) {
    next++;
  } else {
    if (x->kind == KS__SH_MAP)
      next++;
    for (uint32_t k = 0; k < x->nkids; k++)
      next = renumber(x->kids[k], next);
  }
  x->nleaves = next - x->leaf;
  return next;
}

int ks_schema_conform(ks_schema *s, const ks_pq_schema *table, char *err,
                      size_t errlen) {
  conform_node(s->shroot, ks_pq_schema_root((ks_pq_schema *)table));
  return ks__schema_remap(s, err, errlen);
}

int ks__schema_remap(ks_schema *s, char *err, size_t errlen) {
  if (s->pq == NULL) /* no data columns */
    return 0;
  renumber(s->shroot, 0);
  ks_pq_schema *pq = ks_schema_table_tree(s, NULL, 0, err, errlen);
  if (pq == NULL)
    return KS_ESCHEMA;
  ks_pq_schema_free(s->pq);
  s->pq = pq;
  for (size_t i = 0; i < s->ncols; i++)
    ks_free(s->cols[i].name);
  memset(s->cols, 0, s->ncols * sizeof *s->cols);
  ks_buf path;
  ks_buf_init(&path, 0);
  leaf_paths(s, ks_pq_schema_root(s->pq), &path);
  ks_buf_free(&path);
  return 0;
}
