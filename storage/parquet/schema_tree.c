#include "storage/parquet/schema_tree.h"

#include <string.h>

struct ks_pq_schema {
  ks_pq_node root;
  const ks_pq_node **leaves;
  size_t nleaves;
  int finished;
};

ks_pq_schema *ks_pq_schema_new(void) {
  ks_pq_schema *s = ks_calloc(1, sizeof *s);
  s->root.name = ks_strdup("schema");
  s->root.repetition = KS_PQ_REQUIRED;
  s->root.group = KS_PQ_STRUCT;
  return s;
}

static void node_free(ks_pq_node *n) {
  for (size_t i = 0; i < n->nchildren; i++) {
    node_free(n->children[i]);
    ks_free(n->children[i]);
  }
  ks_free(n->children);
  ks_free(n->name);
}

void ks_pq_schema_free(ks_pq_schema *s) {
  if (!s)
    return;
  node_free(&s->root);
  ks_free(s->leaves);
  ks_free(s);
}

ks_pq_node *ks_pq_schema_root(ks_pq_schema *s) { return &s->root; }

static ks_pq_node *add_child(ks_pq_node *parent, const char *name,
                             ks_pq_repetition rep) {
  if (!parent || parent->is_leaf)
    return NULL;
  if (parent->nchildren == parent->cap) {
    parent->cap = parent->cap ? parent->cap * 2 : 4;
    parent->children =
        ks_realloc(parent->children, parent->cap * sizeof *parent->children);
  }
  ks_pq_node *n = ks_calloc(1, sizeof *n);
  n->name = ks_strdup(name);
  n->repetition = rep;
  n->parent = parent;
  parent->children[parent->nchildren++] = n;
  return n;
}

ks_pq_node *ks_pq_add_leaf(ks_pq_node *parent, const char *name,
                           ks_pq_repetition rep, ks_coltype type) {
  ks_pq_node *n = add_child(parent, name, rep);
  if (n) {
    n->is_leaf = 1;
    n->spec.name = n->name;
    n->spec.type = type;
  }
  return n;
}

int ks_pq_decimal_width(int precision) {
  /* the fewest bytes n with 10^precision - 1 < 2^(8n - 1) */
  static const unsigned char w[39] = {
      0,  1,  1,  2,  2,  3,  3,  4,  4,  4,  5,  5,  6,  6,
      6,  7,  7,  8,  8,  9,  9,  9,  10, 10, 11, 11, 11, 12,
      12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16};
  return precision >= 1 && precision <= 38 ? w[precision] : -1;
}

ks_pq_node *ks_pq_add_decimal(ks_pq_node *parent, const char *name,
                              ks_pq_repetition rep, int precision, int scale) {
  ks_coltype t = precision <= 9    ? KS_COL_INT32
                 : precision <= 18 ? KS_COL_INT64
                                   : KS_COL_STRING;
  ks_pq_node *n = ks_pq_add_leaf(parent, name, rep, t);
  if (n) {
    n->precision = precision;
    n->scale = scale;
  }
  return n;
}

ks_pq_node *ks_pq_add_struct(ks_pq_node *parent, const char *name,
                             ks_pq_repetition rep) {
  ks_pq_node *n = add_child(parent, name, rep);
  if (n)
    n->group = KS_PQ_STRUCT;
  return n;
}

ks_pq_node *ks_pq_add_list(ks_pq_node *parent, const char *name,
                           ks_pq_repetition rep) {
  ks_pq_node *n = add_child(parent, name, rep);
  if (!n)
    return NULL;
  n->group = KS_PQ_LIST;
  return ks_pq_add_struct(n, "list", KS_PQ_REPEATED);
}

ks_pq_node *ks_pq_add_map(ks_pq_node *parent, const char *name,
                          ks_pq_repetition rep) {
  ks_pq_node *n = add_child(parent, name, rep);
  if (!n)
    return NULL;
  n->group = KS_PQ_MAP;
  ks_pq_node *kv = ks_pq_add_struct(n, "key_value", KS_PQ_REPEATED);
  ks_pq_add_leaf(kv, "key", KS_PQ_REQUIRED, KS_COL_STRING);
  return kv;
}

/* The shapes the spec's LIST and MAP sections ask for (LogicalTypes.md):
 * one repeated group child holding `element`, or `key` + `value`. */
static int check_shape(const ks_pq_node *n) {
  if (n->is_leaf) {
    if (n->precision == 0)
      return (unsigned)n->spec.type <= KS_COL_LAST;
    return n->precision >= 1 && n->precision <= 38 && n->scale >= 0 &&
           n->scale <= n->precision;
  }
  if (n->nchildren == 0)
    return 0;
  const ks_pq_node *g = n->children[0];
  switch (n->group) {
  case KS_PQ_STRUCT:
    return 1;
  case KS_PQ_LIST:
    return n->repetition != KS_PQ_REPEATED && n->nchildren == 1 &&
           !g->is_leaf && g->repetition == KS_PQ_REPEATED &&
           g->nchildren == 1 && strcmp(g->children[0]->name, "element") == 0 &&
           g->children[0]->repetition != KS_PQ_REPEATED;
  case KS_PQ_MAP:
    return n->repetition != KS_PQ_REPEATED && n->nchildren == 1 &&
           !g->is_leaf && g->repetition == KS_PQ_REPEATED &&
           g->nchildren == 2 && g->children[0]->is_leaf &&
           g->children[0]->repetition == KS_PQ_REQUIRED &&
           strcmp(g->children[1]->name, "value") == 0 &&
           g->children[1]->repetition != KS_PQ_REPEATED;
  }
  return 0;
}

static int walk(ks_pq_schema *s, ks_pq_node *n, int def, int rep, int count) {
  if (n->repetition != KS_PQ_REQUIRED)
    def++;
  if (n->repetition == KS_PQ_REPEATED)
    rep++;
  if (def > KS_PQ_MAX_LEVEL || !check_shape(n))
    return KS_EINVAL;
  n->max_def = def;
  n->max_rep = rep;
  if (n->is_leaf) {
    n->spec.nullable = def > 0;
    if (!count)
      s->leaves[s->nleaves] = n;
    n->leaf = s->nleaves++;
    return 0;
  }
  for (size_t i = 0; i < n->nchildren; i++) {
    int r = walk(s, n->children[i], def, rep, count);
    if (r)
      return r;
  }
  return 0;
}

int ks_pq_schema_finish(ks_pq_schema *s) {
  if (s->finished)
    return 0;
  if (s->root.nchildren == 0)
    return KS_EINVAL;
  /* the root is not a field: its own repetition adds no level */
  s->nleaves = 0;
  for (size_t i = 0; i < s->root.nchildren; i++) {
    int r = walk(s, s->root.children[i], 0, 0, 1);
    if (r)
      return r;
  }
  s->leaves = ks_calloc(s->nleaves, sizeof *s->leaves);
  s->nleaves = 0;
  for (size_t i = 0; i < s->root.nchildren; i++)
    walk(s, s->root.children[i], 0, 0, 0);
  s->finished = 1;
  return 0;
}

size_t ks_pq_schema_nleaves(const ks_pq_schema *s) { return s->nleaves; }

const ks_pq_node *ks_pq_schema_leaf(const ks_pq_schema *s, size_t i) {
  return i < s->nleaves ? s->leaves[i] : NULL;
}

ks_pq_schema *ks_pq_schema_flat(const ks_colspec *specs, size_t n) {
  ks_pq_schema *s = ks_pq_schema_new();
  for (size_t i = 0; i < n; i++)
    ks_pq_add_leaf(&s->root, specs[i].name,
                   specs[i].nullable ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED,
                   specs[i].type);
  /* an empty flat schema is allowed (a file without columns) */
  if (n && ks_pq_schema_finish(s)) {
    ks_pq_schema_free(s);
    return NULL;
  }
  s->finished = 1;
  return s;
}
