/*
 * Column mapping (PROTOCOL.md "Column Mapping", modes name and id): the
 * files of a column-mapped table name their columns by physical name and
 * carry each column's id as the Parquet field_id; add.stats are keyed by
 * the same physical names. The table's trees are given both from its
 * schemaString once start-up has settled it (evolve.c), before any file is
 * opened; the records still map to the columns by position, so nothing
 * else changes. add.partitionValues are keyed by the partition columns'
 * physical names (t->partition_physical); metaData.partitionColumns and the
 * directories keep the logical names.
 */
#include "stages/table/colmap.h"

#include "base/jsontree.h"
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

/* The physical names of the partition columns (top-level fields). */
static int partition_names(ks_table *t, yajl_val fields, char *err,
                           size_t errlen) {
  t->partition_physical = ks_calloc(t->npartition_columns + 1, sizeof(char *));
  for (size_t i = 0; i < t->npartition_columns; i++) {
    yajl_val phys = NULL;
    for (size_t k = 0; YAJL_IS_ARRAY(fields) && k < fields->u.array.len; k++) {
      yajl_val f = fields->u.array.values[k];
      yajl_val name = get(f, "name");
      const char *nm = YAJL_IS_STRING(name) ? YAJL_GET_STRING(name) : NULL;
      if (nm && strcmp(nm, t->partition_columns[i]) == 0)
        phys = get(get(f, "metadata"), "delta.columnMapping.physicalName");
    }
    if (!YAJL_IS_STRING(phys)) {
      snprintf(err, errlen, "partition column %s has no physical name",
               t->partition_columns[i]);
      return KS_ECORRUPT;
    }
    t->partition_physical[i] = ks_strdup(YAJL_GET_STRING(phys));
  }
  return 0;
}

void ks_table_column_mapping_free(ks_table *t) {
  for (size_t i = 0; t->partition_physical && i < t->npartition_columns; i++)
    ks_free(t->partition_physical[i]);
  ks_free(t->partition_physical);
  t->partition_physical = NULL;
}

int ks_table_column_mapping(ks_table *t, const char *schema_string, char *err,
                            size_t errlen) {
  char msg[256] = "";
  yajl_val root = ks_json_tree_parse(schema_string, KS_JSON_MAX_DEPTH, msg, sizeof msg);
  yajl_val fields = get(root, "fields");
  ks_table_column_mapping_free(t);
  /* the files' tree (without partition columns) when it is a copy, then
   * the table's */
  int r = 0;
  if (t->file_pq && t->file_pq != t->pq)
    r = apply(ks_pq_schema_root(t->file_pq), fields, msg, sizeof msg);
  if (r == 0)
    r = apply(ks_pq_schema_root(t->pq), fields, msg, sizeof msg);
  if (r == 0 && t->npartition_columns)
    r = partition_names(t, fields, msg, sizeof msg);
  ks_json_tree_free(root);
  if (r)
    snprintf(err, errlen, "table %s: column mapping: %s", t->conf->name, msg);
  return r;
}
