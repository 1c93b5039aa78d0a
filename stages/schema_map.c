/*
 * Schema -> table mapping: which column each top-level property becomes.
 * Today's flat mapping stores nested values as JSON text; logical_type
 * already tells STRUCT, MAP and ARRAY apart so the nested Parquet types
 * (issue 3) change map_column only. README has the table.
 */
#include "stages/schema_load.h"

#include <string.h>

/* The table type a property's schema asks for. The flat mapping used
 * today stores STRUCT, MAP, ARRAY and JSON as JSON text in a string
 * column; the nested Parquet types (issue 3) replace that in map_column
 * alone. Only "type", "enum"/"const" and "format" decide the type:
 * validation-only keywords never change the table. */
enum {
  LT_LONG,
  LT_DOUBLE,
  LT_BOOLEAN,
  LT_STRING,
  LT_TIMESTAMP,
  LT_DATE,
  LT_STRUCT, /* object with properties */
  LT_MAP,    /* object with only additionalProperties */
  LT_ARRAY,
  LT_JSON /* free-form object, or a mix of kinds */
};

static int logical_type(const ks__snode *n, unsigned *kinds) {
  n = ks__deref(n);
  unsigned t = n->types & n->enum_types;
  unsigned nn = t & ~(unsigned)KS__T_NULL;
  *kinds = t;
  if (nn == KS__T_INTEGER)
    return LT_LONG;
  if (nn == KS__T_NUMBER || nn == (KS__T_NUMBER | KS__T_INTEGER))
    return LT_DOUBLE;
  if (nn == KS__T_BOOLEAN)
    return LT_BOOLEAN;
  if (nn == KS__T_STRING)
    return n->format == KS__FMT_DATE_TIME ? LT_TIMESTAMP
           : n->format == KS__FMT_DATE    ? LT_DATE
                                          : LT_STRING;
  if (nn == KS__T_ARRAY)
    return LT_ARRAY;
  if (nn == KS__T_OBJECT) {
    uint32_t declared = 0;
    for (uint32_t i = 0; i < n->nprops; i++)
      declared += !n->props[i].additional;
    if (declared)
      return LT_STRUCT;
    return n->additional->flags || n->additional->types != KS__T_ALL ||
                   n->additional->ref
               ? LT_MAP
               : LT_JSON;
  }
  return LT_JSON;
}

static void map_column(ks_colspec *spec, ks__colinfo *info, const ks__prop *p,
                       int required) {
  unsigned t;
  int lt = logical_type(p->node, &t);
  spec->name = ks_strndup(p->name, p->len);
  spec->nullable = !required || (t & KS__T_NULL) || (t & ~KS__T_NULL) == 0;
  info->json = 0;
  switch (lt) {
  case LT_LONG:
    spec->type = KS_COL_INT64;
    break;
  case LT_DOUBLE:
    spec->type = KS_COL_DOUBLE;
    break;
  case LT_BOOLEAN:
    spec->type = KS_COL_BOOLEAN;
    break;
  case LT_TIMESTAMP:
    spec->type = KS_COL_TIMESTAMP;
    break;
  case LT_DATE:
    spec->type = KS_COL_DATE;
    break;
  case LT_STRING:
    spec->type = KS_COL_STRING;
    break;
  default: /* STRUCT, MAP, ARRAY, JSON: JSON text until issue 3 */
    spec->type = KS_COL_STRING;
    info->json = 1;
  }
}

int ks__map_columns(ks__compiler *c, ks_schema *s) {
  ks__snode *root = (ks__snode *)ks__deref(s->root);
  c->ptr.len = 0;
  if (root->types != KS__T_OBJECT) {
    size_t old = ks__ptr_push(c, "type");
    int r = ks__cfail(c, "the root schema must have \"type\": \"object\" (a "
                         "record is a JSON object)");
    ks__ptr_pop(c, old);
    return r;
  }
  s->cols = ks_calloc(root->nprops + 1, sizeof *s->cols);
  s->colinfo = ks_calloc(root->nprops + 1, sizeof *s->colinfo);
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
    size_t old = ks__ptr_push(c, "properties");
    int r = ks__cfail(c, "the root schema must declare \"properties\" (one "
                         "column per property)");
    ks__ptr_pop(c, old);
    return r;
  }
  return 0;
}
