#include "stages/table/layout.h"
#include "stages/table/partitioner.h"
#include "storage/delta/delta.h"

#include <string.h>
#include <strings.h>

static void copy_node(ks_pq_node *parent, const ks_pq_node *n) {
  if (n->is_leaf) {
    if (n->precision > 0)
      ks_pq_add_decimal(parent, n->name, n->repetition, n->precision, n->scale);
    else
      ks_pq_add_leaf(parent, n->name, n->repetition, n->spec.type);
    return;
  }
  ks_pq_node *g;
  switch (n->group) {
  case KS_PQ_LIST: /* LIST -> repeated group list -> element */
    g = ks_pq_add_list(parent, n->name, n->repetition);
    copy_node(g, n->children[0]->children[0]);
    break;
  case KS_PQ_MAP: /* MAP -> repeated key_value -> key (added), value */
    g = ks_pq_add_map(parent, n->name, n->repetition);
    copy_node(g, n->children[0]->children[1]);
    break;
  default:
    g = ks_pq_add_struct(parent, n->name, n->repetition);
    for (size_t i = 0; i < n->nchildren; i++)
      copy_node(g, n->children[i]);
  }
}

ks_pq_schema *ks_table_tree_copy(const ks_pq_schema *src,
                                 const char *const *skip, size_t nskip,
                                 const ks_colspec *extra, size_t nextra) {
  ks_pq_schema *t = ks_pq_schema_new();
  ks_pq_node *top = ks_pq_schema_root(t);
  const ks_pq_node *root = ks_pq_schema_root((ks_pq_schema *)src);
  for (size_t i = 0; i < root->nchildren; i++) {
    int skipped = 0;
    for (size_t k = 0; k < nskip; k++)
      skipped |= strcasecmp(root->children[i]->name, skip[k]) == 0;
    if (!skipped)
      copy_node(top, root->children[i]);
  }
  for (size_t e = 0; e < nextra; e++)
    ks_pq_add_leaf(top, extra[e].name,
                   extra[e].nullable ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED,
                   extra[e].type);
  if (ks_pq_schema_finish(t)) {
    ks_pq_schema_free(t);
    return NULL;
  }
  return t;
}

int ks_table_layout_setup(const char *file, ks_table *t, char *err,
                         size_t errlen) {
  const ks_conf_table *tc = t->conf;
  int r;
  t->file_pq = t->pq;
  if (tc->npartition_by || tc->path_format) {
    if ((r = ks_partitioner_new(file, tc, (size_t)t->index, t->pq, t->ndata,
                                &t->partitioner, err, errlen)))
      return r;
  }
  size_t np = t->partitioner ? ks_partitioner_ncols(t->partitioner) : 0;
  const char **fields = ks_calloc(np ? np : 1, sizeof *fields);
  ks_colspec *derived = ks_calloc(np ? np : 1, sizeof *derived);
  size_t nf = 0, nd = 0;
  if (tc->format == KS_FORMAT_DELTA && np) {
    t->partition_columns = ks_calloc(np, sizeof(char *));
    for (size_t i = 0; i < np; i++) {
      const char *name = ks_partitioner_col_name(t->partitioner, i);
      t->partition_columns[t->npartition_columns++] = ks_strdup(name);
      if (ks_partitioner_col_is_field(t->partitioner, i))
        fields[nf++] = name;
      else
        derived[nd++] = (ks_colspec){
            (char *)name, ks_partitioner_col_type(t->partitioner, i), 1};
    }
    t->file_pq = ks_table_tree_copy(t->pq, fields, nf, NULL, 0);
  }
  /* The schemaString: every column, derived partition columns last. */
  ks_pq_schema *whole =
      nd ? ks_table_tree_copy(t->pq, NULL, 0, derived, nd) : NULL;
  ks_free(fields);
  ks_free(derived);
  if (t->file_pq == NULL || (nd && whole == NULL)) {
    snprintf(err, errlen,
             "table %s: the partitioned Parquet schema is "
             "invalid",
             tc->name);
    ks_pq_schema_free(whole);
    return KS_ESCHEMA;
  }
  ks_buf ss;
  ks_buf_init(&ss, 0);
  ks_delta_schema_string_tree(&ss, whole ? whole : t->pq);
  t->schema_string = (char *)ks_buf_steal(&ss, NULL);
  ks_pq_schema_free(whole);
  return 0;
}

void ks_table_layout_free(ks_table *t) {
  ks_partitioner_free(t->partitioner);
  t->partitioner = NULL;
  for (size_t i = 0; i < t->npartition_columns; i++)
    ks_free(t->partition_columns[i]);
  ks_free(t->partition_columns);
  t->partition_columns = NULL;
  t->npartition_columns = 0;
  if (t->file_pq != t->pq)
    ks_pq_schema_free(t->file_pq);
  t->file_pq = NULL;
}

int ks_table_same_partitioning(const ks_table *t, char *const *cols, size_t n) {
  if (n != t->npartition_columns)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(cols[i], t->partition_columns[i]) != 0)
      return 0;
  return 1;
}
