/*
 * Column mapping (PROTOCOL.md "Column Mapping", modes name and id): the
 * files of a column-mapped table name their columns by physical name and
 * carry each column's id as the Parquet field_id; add.stats are keyed by
 * the same physical names. The table's trees are given both from its
 * schemaString once start-up has settled it (evolve.c), before any file is
 * opened; the records still map to the columns by position, so nothing
 * else changes. Partitioned tables are refused: their partitionValues
 * would have to be keyed by physical names too.
 */
#include "stages/table/colmap.h"

#include "base/ks.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static yajl_val get(yajl_val o, const char *k) {
  if (!YAJL_IS_OBJECT(o))
    return NULL;
  for (size_t i = 0; i < o->u.object.len; i++)
    if (strcmp(o->u.object.keys[i], k) == 0)
      return o->u.object.values[i];
  return NULL;
}

/* The struct fields of a field's type: itself, an array's element or a
 * map's value when those are structs. */
static yajl_val inner_fields(yajl_val type) {
  for (int depth = 0; depth < 64 && YAJL_IS_OBJECT(type); depth++) {
    yajl_val t = get(type, "type");
    const char *k = YAJL_IS_STRING(t) ? YAJL_GET_STRING(t) : "";
    if (strcmp(k, "struct") == 0)
      return get(type, "fields");
    type = strcmp(k, "array") == 0 ? get(type, "elementType")
           : strcmp(k, "map") == 0 ? get(type, "valueType")
                                   : NULL;
  }
  return NULL;
}

/* The struct node under n (through LIST/MAP groups), or NULL. */
static ks_pq_node *inner_struct(ks_pq_node *n) {
  for (int depth = 0; depth < 64 && n && !n->is_leaf; depth++) {
    if (n->group != KS_PQ_LIST && n->group != KS_PQ_MAP)
      return n;
    if (n->nchildren == 0 || n->children[0]->nchildren == 0)
      return NULL;
    ks_pq_node *rep = n->children[0];
    n = rep->children[rep->nchildren - 1]; /* element, or the map's value */
  }
  return NULL;
}

static int apply(ks_pq_node *group, yajl_val fields, char *err,
                 size_t errlen) {
  if (!YAJL_IS_ARRAY(fields))
    return 0;
  for (size_t i = 0; i < group->nchildren; i++) {
    ks_pq_node *n = group->children[i];
    yajl_val f = NULL;
    for (size_t k = 0; k < fields->u.array.len && !f; k++) {
      yajl_val name = get(fields->u.array.values[k], "name");
      const char *nm = YAJL_IS_STRING(name) ? YAJL_GET_STRING(name) : NULL;
      if (nm && strcmp(nm, n->name) == 0)
        f = fields->u.array.values[k];
    }
    yajl_val md = get(f, "metadata");
    yajl_val phys = get(md, "delta.columnMapping.physicalName");
    yajl_val id = get(md, "delta.columnMapping.id");
    if (!YAJL_IS_STRING(phys) || !YAJL_IS_INTEGER(id)) {
      snprintf(err, errlen,
               "column %s has no delta.columnMapping.physicalName and id",
               n->name);
      return KS_ECORRUPT;
    }
    int r;
    ks_pq_node *s = inner_struct(n);
    if (s && (r = apply(s, inner_fields(get(f, "type")), err, errlen)))
      return r;
    ks_free(n->name);
    n->name = ks_strdup(YAJL_GET_STRING(phys));
    n->field_id = (int32_t)YAJL_GET_INTEGER(id);
    if (n->is_leaf)
      n->spec.name = n->name; /* the leaf's own name, as ks_pq_add_leaf sets */
  }
  return 0;
}

int ks_table_column_mapping(ks_table *t, const char *schema_string, char *err,
                            size_t errlen) {
  if (t->npartition_columns) {
    snprintf(err, errlen,
             "table %s: table feature columnMapping: partitioned tables "
             "with column mapping are not written yet (partition values "
             "keyed by physical names)",
             t->conf->name);
    return KS_EUNSUPPORTED;
  }
  char msg[256] = "";
  yajl_val root = yajl_tree_parse(schema_string, msg, sizeof msg);
  int r = apply(ks_pq_schema_root(t->pq), get(root, "fields"), msg,
                sizeof msg);
  yajl_tree_free(root);
  if (r)
    snprintf(err, errlen, "table %s: column mapping: %s", t->conf->name, msg);
  return r;
}
