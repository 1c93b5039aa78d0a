/*
 * The read-only view of a compiled graph (jsonschema.h) that a column
 * mapper walks at load time. Per-record code never comes here: the
 * validator reads the nodes directly.
 */
#include "jsonschema/internal.h"

const ks_js_node *ks_js_root(const ks_js_schema *s) {
  return s->root;
}

const ks_js_node *ks_js_any(const ks_js_schema *s) {
  return &s->any;
}

const ks_js_node *ks_js_node_deref(const ks_js_node *n) {
  return ks__deref(n);
}

unsigned ks_js_node_types(const ks_js_node *n) {
  return n->types;
}

unsigned ks_js_node_kinds(const ks_js_node *n) {
  return n->types & n->enum_types;
}

unsigned ks_js_node_flags(const ks_js_node *n) {
  return n->flags;
}

int ks_js_node_format(const ks_js_node *n) {
  return n->format;
}

const ks_js_num *ks_js_node_min(const ks_js_node *n) {
  return &n->min;
}

const ks_js_num *ks_js_node_max(const ks_js_node *n) {
  return &n->max;
}

const ks_js_num *ks_js_node_multiple(const ks_js_node *n) {
  return &n->multiple;
}

uint32_t ks_js_node_nprops(const ks_js_node *n) {
  return n->nprops;
}

const ks_js_prop *ks_js_node_prop(const ks_js_node *n, uint32_t i) {
  return &n->props[i];
}

int ks_js_node_required(const ks_js_node *n, uint32_t prop) {
  for (uint32_t k = 0; k < n->nrequired; k++)
    if (n->required[k] == prop)
      return 1;
  return 0;
}

uint32_t ks_js_node_npattern_props(const ks_js_node *n) {
  return n->npprops;
}

const ks_js_node *ks_js_node_additional(const ks_js_node *n) {
  return n->additional;
}

const ks_js_node *ks_js_node_items(const ks_js_node *n) {
  return n->items;
}
