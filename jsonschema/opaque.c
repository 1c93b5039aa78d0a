/*
 * Opaque containers: the nodes of a compiled schema under which no keyword
 * looks at anything, to any depth (internal.h). The streaming validator
 * tells its caller so (ks_js_opaque), and a decoder that keeps such a value
 * as its text passes over its members without an event each. A pass over
 * the finished graph, after $ref chains are resolved.
 */
#include "jsonschema/internal.h"

#define SCALAR_KINDS                                                         \
  (KS_JS_T_NULL | KS_JS_T_BOOLEAN | KS_JS_T_INTEGER | KS_JS_T_NUMBER |         \
   KS_JS_T_STRING)

/* No keyword of n itself applies to the members or items of a container. */
static int container_free(const ks_js_node *n) {
  return n->stream && n->nprops == 0 && n->npprops == 0 &&
         n->nrequired == 0 && n->ndeps == 0 && n->contains == NULL &&
         !(n->flags & (KS_JS_N_MINITEMS | KS_JS_N_MAXITEMS | KS_JS_N_UNIQUE |
                       KS_JS_N_MINPROPS | KS_JS_N_MAXPROPS |
                       KS_JS_N_ITEMS_ARRAY));
}

/* n accepts every value, as far as n itself goes (its subschemas aside). */
static int accepts_all(const ks_js_node *n) {
  return n->ref == NULL && n->types == KS_JS_T_ALL && n->flags == 0 &&
         (n->simple & SCALAR_KINDS) == SCALAR_KINDS && container_free(n);
}

static int all_below(const ks_js_schema *s, const ks_js_node *n,
                     const uint8_t *all) {
  const ks_js_node *kids[4] = {n->additional, n->names, n->items,
                               n->add_items};
  for (int k = 0; k < 4; k++) {
    const ks_js_node *t = ks__deref(kids[k]);
    if (t != &s->any && !all[t->index])
      return 0;
  }
  return 1;
}

/* Marks the opaque containers: free of keywords on their contents, with
 * every subschema for them accepting every value to any depth. The nodes
 * that accept everything below are found as a greatest fixpoint (a cycle
 * of such nodes through $ref accepts everything too). */
void ks__mark_opaque(ks_js_schema *s) {
  s->any.opaque = 1;
  uint8_t *all = ks_calloc(s->nnodes + 1, 1);
  for (size_t i = 0; i < s->nnodes; i++)
    all[i] = accepts_all(s->nodes[i]);
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t i = 0; i < s->nnodes; i++)
      if (all[i] && !all_below(s, s->nodes[i], all))
        all[i] = 0, changed = 1;
  }
  for (size_t i = 0; i < s->nnodes; i++) {
    ks_js_node *n = s->nodes[i];
    n->opaque = n->ref == NULL && container_free(n) && all_below(s, n, all);
  }
  ks_free(all);
}
