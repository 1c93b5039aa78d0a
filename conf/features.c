/*
 * The Delta table-feature keys of one table: table_features (the features
 * a table ksink creates is given, writer v7) and properties (its
 * metaData.configuration, e.g. delta.checkpointInterval). Only their shape
 * and the feature names ksink can create are checked here; the feature
 * rules live in storage/delta/features.c.
 */
#include "conf/internal.h"

#include "base/ks.h"

#include <string.h>

/* Features a table ksink creates may have: the ones it writes without a
 * rule the table's data must follow. */
static const char *const creatable[] = {
    "appendOnly",        "changeDataFeed", "deletionVectors",
    "domainMetadata",    "inCommitTimestamp", "rowTracking",
    "v2Checkpoint",      "vacuumProtocolCheck", "timestampNtz",
    "typeWidening",      "columnMapping",    NULL};

void ks__conf_features_free(ks_conf_table *t) {
  for (size_t i = 0; i < t->ntable_features; i++)
    ks_free(t->table_features[i]);
  ks_free(t->table_features);
  for (size_t i = 0; i < t->nproperties; i++) {
    ks_free(t->properties[i].key);
    ks_free(t->properties[i].value);
  }
  ks_free(t->properties);
}

static int load_features(ks__conf_ctx *c, const ks__conf_node *v,
                         ks_conf_table *t) {
  if (v->kind != KS__CONF_SEQ)
    return ks__conf_fail(c, v->line,
                         "expected a sequence of Delta table features like "
                         "[inCommitTimestamp, v2Checkpoint], got %s",
                         ks__conf_kind_name(v));
  t->table_features = ks_calloc(v->n + 1, sizeof(char *));
  for (size_t i = 0; i < v->n; i++) {
    const ks__conf_node *item = v->vals[i];
    size_t saved = ks__conf_path_push_index(c, i);
    char *name = NULL;
    if (item->kind != KS__CONF_SCALAR)
      return ks__conf_fail(c, item->line, "expected a feature name, got %s",
                           ks__conf_kind_name(item));
    KS__CONF_CALL(ks__conf_str(c, item, &name));
    if (name == NULL)
      return ks__conf_fail(c, item->line, "expected a feature name, got \"\"");
    t->table_features[t->ntable_features++] = name;
    size_t k = 0;
    while (creatable[k] && strcmp(creatable[k], name) != 0)
      k++;
    if (creatable[k] == NULL)
      return ks__conf_fail(
          c, item->line,
          "\"%s\" is not a feature ksink creates tables with; one of "
          "appendOnly, changeDataFeed, deletionVectors, domainMetadata, "
          "inCommitTimestamp, rowTracking, v2Checkpoint, "
          "vacuumProtocolCheck, timestampNtz, typeWidening, columnMapping",
          name);
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

static int load_properties(ks__conf_ctx *c, const ks__conf_node *v,
                           ks_conf_table *t) {
  KS__CONF_CALL(ks__conf_expect_map(
      c, v, "a mapping like { delta.checkpointInterval: \"10\" }"));
  t->properties = ks_calloc(v->n + 1, sizeof *t->properties);
  for (size_t i = 0; i < v->n; i++) {
    const ks__conf_node *val = v->vals[i];
    size_t saved = ks__conf_path_push(c, v->keys[i]->text);
    if (val->kind != KS__CONF_SCALAR)
      return ks__conf_fail(c, val->line, "expected a string value, got %s",
                           ks__conf_kind_name(val));
    ks_conf_kv *kv = &t->properties[t->nproperties++];
    kv->key = ks_strdup(v->keys[i]->text);
    kv->line = val->line;
    KS__CONF_CALL(ks__conf_str(c, val, &kv->value));
    if (kv->value == NULL)
      kv->value = ks_strdup("");
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

int ks__conf_load_features(ks__conf_ctx *c, const ks__conf_node *map,
                           ks_conf_table *t) {
  const ks__conf_node *v;
  size_t saved;
  if ((v = ks__conf_get(map, "table_features")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "table_features");
    KS__CONF_CALL(load_features(c, v, t));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "properties")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "properties");
    KS__CONF_CALL(load_properties(c, v, t));
    ks__conf_path_pop(c, saved);
  }
  if ((t->ntable_features || t->nproperties) && t->format != KS_FORMAT_DELTA)
    return ks__conf_fail(c, map->line,
                         "table_features and properties are for Delta "
                         "tables (format: delta)");
  return 0;
}
