#include "stages/table/schemaless.h"

#include "base/log.h"
#include "storage/delta/delta.h"

#include <stdio.h>
#include <string.h>

/* ---- generations ----------------------------------------------------------
 */

ks_table_schema *ks_table_schema_ref(ks_table_schema *s) {
  if (s)
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  return s;
}

void ks_table_schema_unref(ks_table_schema *s) {
  if (s == NULL ||
      atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
    return;
  ks_infer_free(s->tree);
  ks_schema_free(s->schema);
  ks_pq_schema_free(s->pq);
  ks_free(s->schema_string);
  ks_free(s);
}

/* The trees and schemaString of s, whose s->schema is set; on failure
 * s is freed. */
static int finish(const ks_table *t, ks_table_schema *s, int r,
                  ks_table_schema **out, char *err, size_t errlen) {
  if (r == 0) {
    s->pq = ks_schema_table_tree(s->schema, t->meta, t->nmeta, err, errlen);
    r = s->pq ? 0 : KS_ESCHEMA;
  }
  if (r == 0) {
    s->ncols = ks_pq_schema_nleaves(s->pq);
    s->ndata = ks_schema_ncolumns(s->schema);
    ks_buf ss;
    ks_buf_init(&ss, 0);
    r = ks_delta_schema_string_tree(&ss, s->pq);
    ks_buf_cstr(&ss);
    s->schema_string = (char *)ks_buf_steal(&ss, NULL);
  }
  if (r) {
    ks_table_schema_unref(s);
    return r;
  }
  *out = s;
  return 0;
}

/* A generation of `tree` (taken over, freed on failure). */
static int build(const ks_table *t, ks_infer_node *tree, uint64_t gen,
                 ks_table_schema **out, char *err, size_t errlen) {
  ks_table_schema *s = ks_calloc(1, sizeof *s);
  atomic_init(&s->refs, 1);
  s->gen = gen;
  s->tree = tree;
  int r = ks_infer_compile(tree, t->conf->name, &s->schema, err, errlen);
  return finish(t, s, r, out, err, errlen);
}

/* A generation of a registry schema's JSON Schema, its columns ordered
 * after `order` when not NULL (no tree: nothing is learnt). */
static int build_registry(const ks_table *t, const char *json, size_t len,
                          const char *name, const ks_pq_schema *order,
                          uint64_t gen, ks_table_schema **out, char *err,
                          size_t errlen) {
  ks_table_schema *s = ks_calloc(1, sizeof *s);
  atomic_init(&s->refs, 1);
  s->gen = gen;
  int r = ks_schema_load_string(json, len, name, &s->schema, err, errlen);
  if (r == 0 && order)
    r = ks_schema_conform(s->schema, order, err, errlen);
  return finish(t, s, r, out, err, errlen);
}

static const char *const *meta_names(const ks_table *t, const char **names) {
  for (size_t i = 0; i < t->nmeta; i++)
    names[i] = t->meta[i].name;
  return names;
}

int ks_schemaless_start(ks_table *t, const char *schema_string, char *err,
                        size_t errlen) {
  ks_infer_node *tree = NULL;
  char why[512] = "";
  int r = 0;
  if (schema_string && schema_string[0]) {
    ks_pq_schema *pq = NULL;
    const char *names[8];
    r = ks_delta_schema_parse(schema_string, &pq, why, sizeof why);
    if (r == 0)
      r = ks_infer_from_tree(pq, meta_names(t, names), t->nmeta, &tree, why,
                             sizeof why);
    ks_pq_schema_free(pq);
  } else {
    tree = ks_infer_root();
  }
  ks_table_schema *s = NULL;
  if (r == 0)
    r = build(t, tree, 0, &s, why, sizeof why);
  if (r) {
    snprintf(err, errlen,
             "%s:%d: tables[%d] (%s): schemaless mode cannot continue the "
             "table at %s: %s; give the table a schema",
             t->conf_file, t->conf->line, t->index, t->conf->name,
             t->conf->path, why);
    return KS_ECONFIG;
  }
  uv_mutex_init(&t->live_lock);
  atomic_store(&t->live, s);
  return 0;
}

int ks_schemaless_start_registry(ks_table *t, const char *json, size_t len,
                                 const char *name, char *err, size_t errlen) {
  ks_table_schema *s = NULL;
  int r = build_registry(t, json, len, name, t->pq, 0, &s, err, errlen);
  if (r)
    return r;
  uv_mutex_init(&t->live_lock);
  atomic_store(&t->live, s);
  return 0;
}

int ks_schemaless_adopt(ks_table *t, const char *json, size_t len,
                        const char *name, char *why, size_t whylen) {
  uv_mutex_lock(&t->live_lock);
  ks_table_schema *cur = atomic_load(&t->live);
  ks_table_schema *next = NULL;
  char err[400];
  int r = build_registry(t, json, len, name, cur->pq, cur->gen + 1, &next,
                         err, sizeof err);
  if (r) {
    uv_mutex_unlock(&t->live_lock);
    snprintf(why, whylen, "%s does not map to columns: %s", name, err);
    return KS_ESCHEMA;
  }
  ks_delta_schema_change d;
  if (ks_delta_schema_diff(next->pq, cur->pq, 1, &d) == 0) {
    /* the columns hold its records: the same, or a subset whose missing
     * columns are nullable (an older writer schema) */
    uv_mutex_unlock(&t->live_lock);
    ks_table_schema_unref(next);
    return 0;
  }
  int fwd = ks_delta_schema_diff(cur->pq, next->pq, 1, &d);
  if (fwd || !t->conf->add_columns) {
    uv_mutex_unlock(&t->live_lock);
    ks_table_schema_unref(next);
    if (fwd)
      snprintf(why, whylen, "%s does not fit table %s: %s", name,
               t->conf->name, d.reason);
    else
      snprintf(why, whylen,
               "%s does not fit table %s: column %s is new "
               "(schema_evolution: add_columns would add it)",
               name, t->conf->name, d.first_added);
    return KS_ESCHEMA;
  }
  ks_log_info("table %s: %s adds column %s (schema generation %llu: %zu "
              "data leaf columns, was %zu)",
              t->conf->name, name, d.first_added,
              (unsigned long long)next->gen, next->ndata, cur->ndata);
  atomic_store(&t->live, next);
  ks_table_schema_unref(cur); /* the table's reference */
  uv_mutex_unlock(&t->live_lock);
  return 0;
}

ks_table_schema *ks_schemaless_current(ks_table *t) {
  uv_mutex_lock(&t->live_lock);
  ks_table_schema *s = ks_table_schema_ref(atomic_load(&t->live));
  uv_mutex_unlock(&t->live_lock);
  return s;
}

void ks_schemaless_free(ks_table *t) {
  ks_table_schema *s = atomic_exchange(&t->live, NULL);
  if (s == NULL)
    return;
  ks_table_schema_unref(s);
  uv_mutex_destroy(&t->live_lock);
}

/* Installs the next generation of `tree` (taken over); the lock is held. */
static int install(ks_table *t, ks_infer_node *tree, char *err,
                   size_t errlen) {
  ks_table_schema *cur = atomic_load(&t->live);
  ks_table_schema *next = NULL;
  int r = build(t, tree, cur->gen + 1, &next, err, errlen);
  if (r)
    return r;
  ks_log_info("table %s: schema generation %llu: %zu data leaf columns (was %zu)",
              t->conf->name, (unsigned long long)next->gen, next->ndata,
              cur->ndata);
  atomic_store(&t->live, next);
  ks_table_schema_unref(cur); /* the table's reference */
  return 0;
}

/* ---- learning ---------------------------------------------------------------
 */

int ks_schemaless_learn(ks_table *t, const ks_table_schema *cur,
                        const uint8_t *json, size_t len, ks_reject *rej) {
  const char *names[8];
  uv_mutex_lock(&t->live_lock);
  const ks_table_schema *live = atomic_load(&t->live);
  if (live != cur) { /* another worker learnt meanwhile: try that first */
    uv_mutex_unlock(&t->live_lock);
    return 0;
  }
  ks_infer_node *tree = ks_infer_copy(live->tree);
  int changed = 0;
  int r = ks_infer_learn(tree, json, len, meta_names(t, names), t->nmeta,
                         &changed, rej);
  if (r == 0 && !changed) {
    r = KS_EINVALID;
    rej->code = r;
    rej->reason = KS_REASON_NEW_FIELD;
    snprintf(rej->message, sizeof rej->message,
             ": the record's values outside the table's columns give no "
             "column to learn");
  }
  size_t nleaves = r == 0 ? ks_infer_nleaves(tree) : 0;
  if (r == 0 && nleaves > KS_SCHEMALESS_MAX_COLUMNS) {
    r = KS_EINVALID;
    rej->code = r;
    rej->reason = KS_REASON_NEW_FIELD;
    snprintf(rej->message, sizeof rej->message,
             ": the record's fields would give the table %zu columns; "
             "schemaless tables stop at %d (objects keyed by ids belong in "
             "a map: give the table a schema)",
             nleaves, KS_SCHEMALESS_MAX_COLUMNS);
  }
  if (r == 0) {
    char why[400];
    r = install(t, tree, why, sizeof why);
    tree = NULL;
    if (r) { /* a tree the compiler refuses: nested past Parquet's levels */
      ks_reject_clear(rej);
      r = rej->code = KS_EINVALID;
      rej->reason = KS_REASON_NEW_FIELD;
      snprintf(rej->message, sizeof rej->message,
               ": the record's fields cannot become columns: %s", why);
    }
  }
  ks_infer_free(tree);
  uv_mutex_unlock(&t->live_lock);
  return r;
}

/* ---- commits ----------------------------------------------------------------
 */

int ks_schemaless_plan(ks_table *t, ks_table_schema *files,
                       const char *table_schema_string, ks_table_schema **out,
                       char *err, size_t errlen) {
  *out = NULL;
  if (files == NULL)
    return 0;
  if (table_schema_string == NULL || table_schema_string[0] == 0) {
    *out = ks_table_schema_ref(files);
    return 0;
  }
  if (strcmp(table_schema_string, files->schema_string) == 0)
    return 0;
  char why[512] = "";
  ks_pq_schema *tt = NULL;
  int r = ks_delta_schema_parse(table_schema_string, &tt, why, sizeof why);
  if (r) {
    snprintf(err, errlen, "%s", why);
    return KS_ECORRUPT;
  }
  ks_delta_schema_change d;
  if (ks_delta_schema_diff(files->pq, tt, 1, &d) == 0) {
    ks_pq_schema_free(tt); /* the table has every column of the files */
    return 0;
  }
  if (ks_delta_schema_diff(tt, files->pq, 1, &d) == 0) {
    ks_pq_schema_free(tt); /* the files only add nullable columns */
    *out = ks_table_schema_ref(files);
    return 0;
  }
  if (files->tree == NULL) { /* registry columns: nothing learnt to merge */
    snprintf(err, errlen,
             "another writer gave the table columns this process's files do "
             "not have: %s; the batch is not committed (restart to take the "
             "table's columns)",
             d.reason);
    ks_pq_schema_free(tt);
    return KS_ECONFLICT;
  }
  /* Both sides have columns the other lacks: another process learnt other
   * fields. The table's newest generation takes the union, so that this
   * process's next files hold the other's columns too. */
  const char *names[8];
  ks_infer_node *theirs = NULL;
  r = ks_infer_from_tree(tt, meta_names(t, names), t->nmeta, &theirs, why,
                         sizeof why);
  ks_pq_schema_free(tt);
  if (r) {
    snprintf(err, errlen, "the table's schemaString: %s", why);
    return KS_ECONFLICT;
  }
  uv_mutex_lock(&t->live_lock);
  ks_infer_node *u = ks_infer_copy(atomic_load(&t->live)->tree);
  int changed = 0;
  r = ks_infer_union(u, theirs, &changed, why, sizeof why);
  if (r == 0 && changed) {
    r = install(t, u, why, sizeof why);
    u = NULL;
  }
  if (r == 0) {
    /* the union must still hold this set's files: the newest generation
     * does, unless another process typed one of their columns otherwise */
    ks_table_schema *live = atomic_load(&t->live);
    if (ks_delta_schema_diff(files->pq, live->pq, 1, &d) == 0)
      *out = ks_table_schema_ref(live);
    else {
      snprintf(why, sizeof why, "%s", d.reason);
      r = KS_ECONFLICT;
    }
  }
  uv_mutex_unlock(&t->live_lock);
  ks_infer_free(u);
  ks_infer_free(theirs);
  if (r)
    snprintf(err, errlen,
             "another writer gave the table columns this process cannot "
             "write with: %s; the batch is not committed (restart to take "
             "the table's columns; records that do not fit them then go to "
             "the dead letters)",
             why);
  return r ? KS_ECONFLICT : 0;
}
