/*
 * A table's constraints (invariants, CHECK constraints, generated columns
 * as `column <=> expression`; storage/delta/constraint.h) bound to the
 * schema's top-level columns and evaluated on every record right after it
 * is shredded, from the values the row just appended. A record whose
 * check is not TRUE is rolled back and rejected with the reason
 * `constraint`, naming the constraint. Bound once per table at start-up
 * (stages/table/open.c); the decoder calls ks__checks_run.
 */
#include "stages/record/shred.h"

#include "base/ks.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct check {
  ks_delta_expr *e;
  char *name, *sql;
  /* per expression column: its node (its leaf number is read at each
   * record: ks_schema_conform may renumber after binding) */
  const ks__shnode **node;
  int *scale;     /* decimals: their scale, else -1 */
} check;

/* Columns one expression may read: the row's values sit on the stack
 * (workers share the schema, so nothing per record is kept in it). */
#define MAX_COLS 64

struct ks__checks {
  check *v;
  size_t n;
};

void ks__checks_free(ks__checks *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n; i++) {
    ks_delta_expr_free(c->v[i].e);
    ks_free(c->v[i].name);
    ks_free(c->v[i].sql);
    ks_free(c->v[i].node);
    ks_free(c->v[i].scale);
  }
  ks_free(c->v);
  ks_free(c);
}

/* The value kind of a top-level leaf, or -1 with why. */
static int kind_of(const ks__shnode *x, const char **why) {
  if (x->kind != KS__SH_LEAF) {
    *why = "is a struct, list, map or JSON text";
    return -1;
  }
  if (x->precision)
    return KS_DV_DOUBLE;
  switch (x->type) {
  case KS_COL_BOOLEAN: return KS_DV_BOOL;
  case KS_COL_INT8:
  case KS_COL_INT16:
  case KS_COL_INT32:
  case KS_COL_INT64: return KS_DV_INT;
  case KS_COL_DOUBLE:
  case KS_COL_FLOAT: return KS_DV_DOUBLE;
  case KS_COL_STRING: return KS_DV_STRING;
  default:
    *why = "is a date, timestamp or binary column, which constraints are "
           "not evaluated over";
    return -1;
  }
}

int ks_schema_set_checks(ks_schema *s, const ks_delta_constraints *cs,
                         char *err, size_t errlen) {
  ks__checks *c = ks_calloc(1, sizeof *c);
  c->v = ks_calloc(cs->n ? cs->n : 1, sizeof *c->v);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < cs->n; i++) {
    check *k = &c->v[c->n++];
    char why[300];
    k->name = ks_strdup(cs->names[i]);
    k->sql = ks_strdup(cs->sqls[i]);
    if (ks_delta_expr_parse(cs->sqls[i], &k->e, why, sizeof why)) {
      snprintf(err, errlen, "table feature %s: the %s (%.200s) is not an "
                            "expression ksink evaluates: %s",
               cs->features[i], cs->names[i], cs->sqls[i], why);
      rc = KS_EUNSUPPORTED;
      break;
    }
    size_t n = ks_delta_expr_ncols(k->e);
    k->node = ks_calloc(n ? n : 1, sizeof *k->node);
    k->scale = ks_calloc(n ? n : 1, sizeof *k->scale);
    if (n > MAX_COLS) {
      snprintf(err, errlen, "table feature %s: the %s reads more than %d "
                            "columns",
               cs->features[i], cs->names[i], MAX_COLS);
      rc = KS_EUNSUPPORTED;
      break;
    }
    ks_delta_vkind *kinds = ks_calloc(n ? n : 1, sizeof *kinds);
    for (size_t j = 0; rc == 0 && j < n; j++) {
      const char *col = ks_delta_expr_col(k->e, j);
      const ks__shnode *x = NULL;
      for (uint32_t q = 0; s->shroot && q < s->shroot->nkids; q++)
        if (strcasecmp(s->shroot->kids[q]->name, col) == 0)
          x = s->shroot->kids[q];
      const char *bad = "is not a top-level column of the table";
      int kd = x ? kind_of(x, &bad) : -1;
      if (kd < 0) {
        snprintf(err, errlen, "table feature %s: the %s (%.200s): column %s "
                              "%s",
                 cs->features[i], cs->names[i], cs->sqls[i], col, bad);
        rc = KS_EUNSUPPORTED;
        break;
      }
      kinds[j] = (ks_delta_vkind)kd;
      k->node[j] = x;
      k->scale[j] = x->precision ? x->scale : -1;
    }
    if (rc == 0 && ks_delta_expr_check(k->e, kinds, why, sizeof why)) {
      snprintf(err, errlen, "table feature %s: the %s (%.200s) is not an "
                            "expression ksink evaluates: %s",
               cs->features[i], cs->names[i], cs->sqls[i], why);
      rc = KS_EUNSUPPORTED;
    }
    ks_free(kinds);
  }
  if (rc) {
    ks__checks_free(c);
    return rc;
  }
  ks__checks_free(s->checks);
  s->checks = c->n ? c : NULL;
  if (c->n == 0)
    ks__checks_free(c);
  return 0;
}

/* The value the row just appended to a flat top-level column. */
static ks_delta_value last_value(const ks_column *c, const ks__shnode *x,
                                 int scale) {
  ks_delta_value v = {KS_DV_NULL, 0, 0, NULL, 0};
  if (c->defs.len == 0 || c->defs.data[c->defs.len - 1] != c->max_def ||
      c->nvalues == 0)
    return v;
  const uint8_t *end = c->values.data + c->values.len;
  if (scale >= 0) { /* unscaled decimal -> double */
    double d;
    if (c->width == 4) {
      int32_t i;
      memcpy(&i, end - 4, 4);
      d = i;
    } else if (c->width == 8) {
      int64_t i;
      memcpy(&i, end - 8, 8);
      d = (double)i;
    } else {
      ks_int128 q;
      memcpy(&q, end - 16, 16);
      d = (double)q;
    }
    for (int k = 0; k < scale; k++)
      d /= 10;
    v.kind = KS_DV_DOUBLE;
    v.d = d;
    return v;
  }
  switch (x->type) {
  case KS_COL_BOOLEAN:
    v.kind = KS_DV_BOOL;
    v.i = end[-1] != 0;
    break;
  case KS_COL_INT8:
  case KS_COL_INT16:
  case KS_COL_INT32: {
    int32_t i;
    memcpy(&i, end - 4, 4);
    v.kind = KS_DV_INT;
    v.i = i;
    break;
  }
  case KS_COL_INT64:
    memcpy(&v.i, end - 8, 8);
    v.kind = KS_DV_INT;
    break;
  case KS_COL_FLOAT: {
    float f;
    memcpy(&f, end - 4, 4);
    v.kind = KS_DV_DOUBLE;
    v.d = f;
    break;
  }
  case KS_COL_DOUBLE:
    memcpy(&v.d, end - 8, 8);
    v.kind = KS_DV_DOUBLE;
    break;
  case KS_COL_STRING: {
    uint32_t len;
    memcpy(&len, c->lens.data + c->lens.len - 4, 4);
    v.kind = KS_DV_STRING;
    v.s = (const char *)end - len;
    v.n = len;
    break;
  }
  default:
    break;
  }
  return v;
}

int ks__checks_run(const ks_schema *s, const ks_column *cols, char *msg,
                   size_t msglen) {
  const ks__checks *c = s->checks;
  for (size_t i = 0; c && i < c->n; i++) {
    check *k = &c->v[i];
    size_t n = ks_delta_expr_ncols(k->e);
    ks_delta_value vals[MAX_COLS];
    for (size_t j = 0; j < n; j++)
      vals[j] = last_value(&cols[k->node[j]->leaf], k->node[j], k->scale[j]);
    if (!ks_delta_expr_holds(k->e, vals)) {
      snprintf(msg, msglen, "violates the %s: %.300s", k->name, k->sql);
      return -1;
    }
  }
  return 0;
}
