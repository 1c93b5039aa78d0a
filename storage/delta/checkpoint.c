/*
 * Checkpoint writer (PROTOCOL.md "Checkpoints", classic naming): the
 * snapshot as one Parquet file, one row per action, each action a
 * nullable top-level struct of the protocol's checkpoint schema: protocol
 * (with its feature lists), metaData, txn, add (with deletionVector,
 * baseRowId, defaultRowCommitVersion), remove, domainMetadata, and for a
 * v2Checkpoint table the checkpointMetadata action that makes the file a
 * V2 checkpoint (no sidecars: every action inline). Every
 * field is OPTIONAL (as Spark writes them) except map keys; maps are
 * MAP<string, string> with nullable values, partitionColumns a 3-level
 * LIST of nullable strings. Written through this repository's Parquet
 * writer, snappy, one row group.
 *
 * The file is built in memory in one go on the caller's loop: a checkpoint
 * of N files costs O(N) time and about 200 bytes per file before
 * compression. Fine up to a few hundred thousand files; a streamed build
 * is the next step if tables grow beyond that.
 *
 * Also here: the table properties the checkpoint and cleanup read.
 */
#include "storage/delta/delta_int.h"

#include "base/jsontree.h"
#include "base/ks.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- table properties -------------------------------------------------- */

const char *ks_delta_snapshot_conf(const ks_delta_snapshot *s,
                                   const char *key) {
  for (size_t i = 0; i < s->metadata.nconf; i++)
    if (strcmp(s->metadata.conf_keys[i], key) == 0)
      return s->metadata.conf_values[i];
  return NULL;
}

int64_t ks_delta_checkpoint_interval(const ks_delta_snapshot *s) {
  const char *v = ks_delta_snapshot_conf(s, "delta.checkpointInterval");
  if (v) {
    char *end;
    long long n = strtoll(v, &end, 10);
    while (isspace((unsigned char)*end))
      end++;
    if (end != v && *end == '\0' && n > 0)
      return n;
  }
  return 10;
}

static const struct {
  const char *name;
  int64_t ms;
} units[] = {{"week", 7 * 86400000LL}, {"day", 86400000LL},
             {"hour", 3600000LL},      {"minute", 60000LL},
             {"second", 1000LL},       {"millisecond", 1LL}};

int ks_delta_parse_interval(const char *s, int64_t *ms) {
  const char *p = s;
  while (isspace((unsigned char)*p))
    p++;
  if (strncasecmp(p, "interval", 8) == 0 &&
      (p[8] == '\0' || isspace((unsigned char)p[8])))
    p += 8;
  int64_t total = 0;
  int parts = 0;
  for (;;) {
    while (isspace((unsigned char)*p))
      p++;
    if (*p == '\0')
      break;
    if (!isdigit((unsigned char)*p))
      return KS_EINVAL;
    char *end;
    unsigned long long n = strtoull(p, &end, 10);
    p = end;
    while (isspace((unsigned char)*p))
      p++;
    size_t ul = 0;
    while (isalpha((unsigned char)p[ul]))
      ul++;
    size_t k = 0, nunits = sizeof units / sizeof units[0];
    for (; k < nunits; k++) {
      size_t l = strlen(units[k].name);
      if ((ul == l || (ul == l + 1 && tolower((unsigned char)p[l]) == 's')) &&
          strncasecmp(p, units[k].name, l) == 0)
        break;
    }
    if (k == nunits || n > (unsigned long long)(INT64_MAX / units[k].ms) ||
        total > INT64_MAX - (int64_t)n * units[k].ms)
      return KS_EINVAL;
    total += (int64_t)n * units[k].ms;
    p += ul;
    parts++;
  }
  if (parts == 0)
    return KS_EINVAL;
  *ms = total;
  return 0;
}

int64_t ks_delta_conf_duration(const ks_delta_snapshot *s, const char *key,
                               int64_t def_ms) {
  const char *v = ks_delta_snapshot_conf(s, key);
  int64_t ms;
  if (v && ks_delta_parse_interval(v, &ms) == 0)
    return ms;
  return def_ms;
}

/* ---- schema -------------------------------------------------------------- */

/* Leaf columns of the checkpoint schema, by name. */
typedef struct ck_cols {
  ks_column *txn_app, *txn_version, *txn_updated;
  ks_column *add_path, *add_pk, *add_pv, *add_size, *add_mtime, *add_dc,
      *add_stats, *add_tk, *add_tv;
  ks_column *dv_type, *dv_path, *dv_offset, *dv_size, *dv_card, *add_row_id,
      *add_row_version, *add_cp;
  ks_column *rm_path, *rm_ts, *rm_dc, *rm_ext, *rm_pk, *rm_pv, *rm_size;
  ks_column *rdv_type, *rdv_path, *rdv_offset, *rdv_size, *rdv_card;
  ks_column *md_id, *md_name, *md_desc, *md_provider, *md_ok, *md_ov,
      *md_schema, *md_pcols, *md_ck, *md_cv, *md_created;
  ks_column *p_reader, *p_writer, *p_rfeat, *p_wfeat;
  ks_column *dm_domain, *dm_conf, *dm_removed;
  ks_column *cm_version;
} ck_cols;

/* The top-level structs, in the file's order. */
enum { K_TXN, K_ADD, K_REMOVE, K_META, K_PROTOCOL, K_DOMAIN, K_CKMETA, NTOP };

/* Node pointers while the tree is built; columns once it is finished. */
typedef struct ck_tree {
  ks_pq_schema *s;
  ks_pq_node *n[72];
  size_t slot_of[72]; /* n[i] binds slot slot_of[i] of bind_columns' list */
  size_t nn, full;    /* leaves made; slots passed (made or left out) */
  size_t first[NTOP], count[NTOP]; /* leaves of each top-level struct */
} ck_tree;

static ks_pq_node *leaf(ck_tree *t, ks_pq_node *parent, const char *name,
                        ks_coltype type) {
  ks_pq_node *n = ks_pq_add_leaf(parent, name, KS_PQ_OPTIONAL, type);
  t->slot_of[t->nn] = t->full++;
  t->n[t->nn++] = n;
  return n;
}

/* MAP<string, string>: records the key and value leaves */
static void str_map(ck_tree *t, ks_pq_node *parent, const char *name) {
  ks_pq_node *kv = ks_pq_add_map(parent, name, KS_PQ_OPTIONAL);
  t->slot_of[t->nn] = t->full++;
  t->n[t->nn++] = kv->children[0]; /* key, added by ks_pq_add_map */
  leaf(t, kv, "value", KS_COL_STRING);
}

/* Which optional parts the table needs: a table without them gets the
 * classic V1 schema it always had. */
typedef struct ck_wants {
  int dv, rows, features, domains, ckmeta, clustering;
} ck_wants;

static ck_wants wants_of(const ks_delta_snapshot *s) {
  ck_wants w = {0};
  w.dv = ks_delta_has_feature(s, "deletionVectors");
  w.rows = ks_delta_has_feature(s, "rowTracking");
  for (size_t i = 0; i < s->nfiles; i++) {
    w.dv |= s->files[i].dv_cardinality > 0;
    w.rows |= s->files[i].base_row_id >= 0;
    w.clustering |= s->files[i].extra &&
                    strstr(s->files[i].extra, "\"clusteringProvider\"");
  }
  w.clustering |= ks_delta_has_feature(s, "clustering");
  for (size_t i = 0; i < s->nremoves; i++)
    w.dv |= s->removes[i].dv_json != NULL;
  w.features = s->min_reader >= 3 || s->min_writer >= 7;
  w.domains = s->ndomains > 0 || ks_delta_has_feature(s, "domainMetadata");
  w.ckmeta = ks_delta_has_feature(s, "v2Checkpoint");
  return w;
}

static ks_pq_schema *build_schema(ck_tree *t, ck_wants w) {
  memset(t, 0, sizeof *t);
  t->s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(t->s);

  ks_pq_node *txn = ks_pq_add_struct(root, "txn", KS_PQ_OPTIONAL);
  leaf(t, txn, "appId", KS_COL_STRING);
  leaf(t, txn, "version", KS_COL_INT64);
  leaf(t, txn, "lastUpdated", KS_COL_INT64);

  ks_pq_node *add = ks_pq_add_struct(root, "add", KS_PQ_OPTIONAL);
  leaf(t, add, "path", KS_COL_STRING);
  str_map(t, add, "partitionValues");
  leaf(t, add, "size", KS_COL_INT64);
  leaf(t, add, "modificationTime", KS_COL_INT64);
  leaf(t, add, "dataChange", KS_COL_BOOLEAN);
  leaf(t, add, "stats", KS_COL_STRING);
  str_map(t, add, "tags");
  if (w.dv) {
    ks_pq_node *dv = ks_pq_add_struct(add, "deletionVector", KS_PQ_OPTIONAL);
    leaf(t, dv, "storageType", KS_COL_STRING);
    leaf(t, dv, "pathOrInlineDv", KS_COL_STRING);
    leaf(t, dv, "offset", KS_COL_INT32);
    leaf(t, dv, "sizeInBytes", KS_COL_INT32);
    leaf(t, dv, "cardinality", KS_COL_INT64);
  } else {
    t->full += 5;
  }
  if (w.rows) {
    leaf(t, add, "baseRowId", KS_COL_INT64);
    leaf(t, add, "defaultRowCommitVersion", KS_COL_INT64);
  } else {
    t->full += 2;
  }
  if (w.clustering)
    leaf(t, add, "clusteringProvider", KS_COL_STRING);
  else
    t->full += 1;

  ks_pq_node *rm = ks_pq_add_struct(root, "remove", KS_PQ_OPTIONAL);
  leaf(t, rm, "path", KS_COL_STRING);
  leaf(t, rm, "deletionTimestamp", KS_COL_INT64);
  leaf(t, rm, "dataChange", KS_COL_BOOLEAN);
  leaf(t, rm, "extendedFileMetadata", KS_COL_BOOLEAN);
  str_map(t, rm, "partitionValues");
  leaf(t, rm, "size", KS_COL_INT64);
  if (w.dv) {
    ks_pq_node *dv = ks_pq_add_struct(rm, "deletionVector", KS_PQ_OPTIONAL);
    leaf(t, dv, "storageType", KS_COL_STRING);
    leaf(t, dv, "pathOrInlineDv", KS_COL_STRING);
    leaf(t, dv, "offset", KS_COL_INT32);
    leaf(t, dv, "sizeInBytes", KS_COL_INT32);
    leaf(t, dv, "cardinality", KS_COL_INT64);
  } else {
    t->full += 5;
  }

  ks_pq_node *md = ks_pq_add_struct(root, "metaData", KS_PQ_OPTIONAL);
  leaf(t, md, "id", KS_COL_STRING);
  leaf(t, md, "name", KS_COL_STRING);
  leaf(t, md, "description", KS_COL_STRING);
  ks_pq_node *fmt = ks_pq_add_struct(md, "format", KS_PQ_OPTIONAL);
  leaf(t, fmt, "provider", KS_COL_STRING);
  str_map(t, fmt, "options");
  leaf(t, md, "schemaString", KS_COL_STRING);
  ks_pq_node *pc = ks_pq_add_list(md, "partitionColumns", KS_PQ_OPTIONAL);
  leaf(t, pc, "element", KS_COL_STRING);
  str_map(t, md, "configuration");
  leaf(t, md, "createdTime", KS_COL_INT64);

  ks_pq_node *proto = ks_pq_add_struct(root, "protocol", KS_PQ_OPTIONAL);
  leaf(t, proto, "minReaderVersion", KS_COL_INT32);
  leaf(t, proto, "minWriterVersion", KS_COL_INT32);
  if (w.features) {
    ks_pq_node *rf = ks_pq_add_list(proto, "readerFeatures", KS_PQ_OPTIONAL);
    leaf(t, rf, "element", KS_COL_STRING);
    ks_pq_node *wf = ks_pq_add_list(proto, "writerFeatures", KS_PQ_OPTIONAL);
    leaf(t, wf, "element", KS_COL_STRING);
  } else {
    t->full += 2;
  }
  if (w.domains) {
    ks_pq_node *dm = ks_pq_add_struct(root, "domainMetadata", KS_PQ_OPTIONAL);
    leaf(t, dm, "domain", KS_COL_STRING);
    leaf(t, dm, "configuration", KS_COL_STRING);
    leaf(t, dm, "removed", KS_COL_BOOLEAN);
  } else {
    t->full += 3;
  }
  if (w.ckmeta) {
    ks_pq_node *cm =
        ks_pq_add_struct(root, "checkpointMetadata", KS_PQ_OPTIONAL);
    leaf(t, cm, "version", KS_COL_INT64);
  }

  if (ks_pq_schema_finish(t->s)) {
    ks_pq_schema_free(t->s);
    return NULL;
  }
  /* leaves of top-level field k are contiguous, depth first */
  size_t leafno = 0;
  static const char *const tops[NTOP] = {
      "txn",      "add",           "remove",           "metaData",
      "protocol", "domainMetadata", "checkpointMetadata"};
  for (size_t x = 0; x < root->nchildren; x++) {
    ks_pq_node *top = root->children[x];
    size_t k = 0;
    while (k < NTOP && strcmp(tops[k], top->name) != 0)
      k++;
    t->first[k] = leafno;
    size_t n = 0;
    for (size_t i = 0; i < ks_pq_schema_nleaves(t->s); i++) {
      const ks_pq_node *l = ks_pq_schema_leaf(t->s, i);
      const ks_pq_node *a = l;
      while (a->parent && a->parent != root)
        a = a->parent;
      n += a == top;
    }
    t->count[k] = n;
    leafno += n;
  }
  return t->s;
}

static void bind_columns(const ck_tree *t, ks_rowgroup *rg, ck_cols *c) {
  ks_column **slots[] = {
      &c->txn_app, &c->txn_version, &c->txn_updated, &c->add_path,
      &c->add_pk,  &c->add_pv,      &c->add_size,    &c->add_mtime,
      &c->add_dc,  &c->add_stats,   &c->add_tk,      &c->add_tv,
      &c->dv_type, &c->dv_path,     &c->dv_offset,   &c->dv_size,
      &c->dv_card, &c->add_row_id,  &c->add_row_version, &c->add_cp,
      &c->rm_path, &c->rm_ts,       &c->rm_dc,       &c->rm_ext,
      &c->rm_pk,   &c->rm_pv,       &c->rm_size,     &c->rdv_type,
      &c->rdv_path, &c->rdv_offset, &c->rdv_size,    &c->rdv_card,
      &c->md_id,
      &c->md_name, &c->md_desc,     &c->md_provider, &c->md_ok,
      &c->md_ov,   &c->md_schema,   &c->md_pcols,    &c->md_ck,
      &c->md_cv,   &c->md_created,  &c->p_reader,    &c->p_writer,
      &c->p_rfeat, &c->p_wfeat,     &c->dm_domain,   &c->dm_conf,
      &c->dm_removed, &c->cm_version};
  memset(c, 0, sizeof *c); /* left-out parts stay NULL */
  for (size_t i = 0; i < t->nn; i++)
    *slots[t->slot_of[i]] = &rg->cols[t->n[i]->leaf];
}

/* ---- rows ---------------------------------------------------------------- */

/* A null struct in every top-level field but `kind`. */
static int null_others(const ck_tree *t, ks_rowgroup *rg, int kind) {
  int rc = 0;
  for (int k = 0; k < NTOP && rc == 0; k++)
    if (k != kind)
      for (size_t i = 0; i < t->count[k] && rc == 0; i++)
        rc = ks_column_append_levels(&rg->cols[t->first[k] + i], 0, 0);
  return rc;
}

/* A leaf whose ancestors are all present: the value or a null. */
static int opt_str(ks_column *c, const char *v) {
  return v ? ks_column_append_str_rep(c, 0, v, strlen(v))
           : ks_column_append_levels(c, 0, c->max_def - 1);
}
static int opt_i64(ks_column *c, int present, int64_t v) {
  return present ? ks_column_append_i64_rep(c, 0, v)
                 : ks_column_append_levels(c, 0, c->max_def - 1);
}

/* A MAP<string, string> whose parent is present; vals[i] NULL is a null
 * value; null_map writes the map itself as null. */
static int map_str(ks_column *k, ks_column *v, char *const *keys,
                   char *const *vals, size_t n, int null_map) {
  int rc;
  if (null_map || n == 0) {
    int def = k->max_def - (null_map ? 2 : 1);
    if ((rc = ks_column_append_levels(k, 0, def)))
      return rc;
    return ks_column_append_levels(v, 0, def);
  }
  for (size_t i = 0; i < n; i++) {
    int rep = i ? 1 : 0;
    if ((rc = ks_column_append_str_rep(k, rep, keys[i], strlen(keys[i]))))
      return rc;
    rc = vals[i] ? ks_column_append_str_rep(v, rep, vals[i], strlen(vals[i]))
                 : ks_column_append_levels(v, rep, v->max_def - 1);
    if (rc)
      return rc;
  }
  return 0;
}

static int row_txn(ck_cols *c, const ks_delta_txn *x) {
  int rc;
  if ((rc = opt_str(c->txn_app, x->app_id)) ||
      (rc = opt_i64(c->txn_version, 1, x->version)))
    return rc;
  return opt_i64(c->txn_updated, x->last_updated != 0, x->last_updated);
}

static int opt_i32(ks_column *c, int present, int64_t v) {
  return present ? ks_column_append_i32_rep(c, 0, (int32_t)v)
                 : ks_column_append_levels(c, 0, c->max_def - 1);
}

/* A deletionVector struct (of an add or a remove) from its JSON object;
 * l: storageType, pathOrInlineDv, offset, sizeInBytes, cardinality. */
static int dv_struct(ks_column *const l[5], yajl_val dv) {
  int rc = 0;
  yajl_val st = ks__delta_json_field(dv, "storageType");
  yajl_val p = ks__delta_json_field(dv, "pathOrInlineDv");
  if (l[0] == NULL) {
    /* the table has no deletion vectors */
  } else if (YAJL_IS_STRING(st) && YAJL_IS_STRING(p)) {
    yajl_val off = ks__delta_json_field(dv, "offset");
    yajl_val size = ks__delta_json_field(dv, "sizeInBytes");
    yajl_val card = ks__delta_json_field(dv, "cardinality");
    if ((rc = opt_str(l[0], YAJL_GET_STRING(st))) == 0 &&
        (rc = opt_str(l[1], YAJL_GET_STRING(p))) == 0 &&
        (rc = opt_i32(l[2], YAJL_IS_INTEGER(off),
                      YAJL_IS_INTEGER(off) ? YAJL_GET_INTEGER(off) : 0)) == 0 &&
        (rc = opt_i32(l[3], 1,
                      YAJL_IS_INTEGER(size) ? YAJL_GET_INTEGER(size) : 0)) == 0)
      rc = opt_i64(l[4], 1,
                   YAJL_IS_INTEGER(card) ? YAJL_GET_INTEGER(card) : 0);
  } else { /* the struct is null: every leaf one level above it */
    for (size_t i = 0; rc == 0 && i < 5; i++)
      rc = ks_column_append_levels(l[i], 0, l[i]->max_def - 2);
  }
  return rc;
}

/* The tags of an add (a JSON object of strings) as the tags map. */
static int tags_map(ck_cols *c, yajl_val tags) {
  if (!YAJL_IS_OBJECT(tags) || tags->u.object.len == 0)
    return map_str(c->add_tk, c->add_tv, NULL, NULL, 0, 1);
  size_t n = tags->u.object.len;
  char **k = ks_calloc(n, sizeof *k), **v = ks_calloc(n, sizeof *v);
  for (size_t i = 0; i < n; i++) {
    k[i] = (char *)tags->u.object.keys[i];
    yajl_val x = tags->u.object.values[i];
    v[i] = YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : NULL;
  }
  int rc = map_str(c->add_tk, c->add_tv, k, v, n, 0);
  ks_free(k);
  ks_free(v);
  return rc;
}

/* The tags, clustering provider, deletion vector and row tracking fields
 * of an add, from the fields kept verbatim (add.extra). */
static int add_extras(ck_cols *c, const ks_delta_add *a) {
  yajl_val x = NULL;
  if (a->extra) {
    ks_buf b;
    ks_buf_init(&b, 0);
    ks_buf_appendf(&b, "{%s}", a->extra);
    ks_buf_cstr(&b);
    x = ks_json_tree_parse((const char *)b.data, KS_JSON_MAX_DEPTH, NULL, 0);
    ks_buf_free(&b);
  }
  int rc = tags_map(c, ks__delta_json_field(x, "tags"));
  ks_column *l[5] = {c->dv_type, c->dv_path, c->dv_offset, c->dv_size,
                     c->dv_card};
  if (rc == 0)
    rc = dv_struct(l, ks__delta_json_field(x, "deletionVector"));
  if (rc == 0 && c->add_cp) {
    yajl_val cp = ks__delta_json_field(x, "clusteringProvider");
    rc = opt_str(c->add_cp, YAJL_IS_STRING(cp) ? YAJL_GET_STRING(cp) : NULL);
  }
  ks_json_tree_free(x);
  if (rc == 0 && c->add_row_id)
    rc = opt_i64(c->add_row_id, a->base_row_id >= 0, a->base_row_id);
  if (rc == 0 && c->add_row_version)
    rc = opt_i64(c->add_row_version, a->default_row_commit_version >= 0,
                 a->default_row_commit_version);
  return rc;
}

static int row_add(ck_cols *c, const ks_delta_add *a) {
  int rc;
  if ((rc = opt_str(c->add_path, a->path)) ||
      (rc = map_str(c->add_pk, c->add_pv, a->part_names, a->part_values,
                    a->nparts, 0)) ||
      (rc = opt_i64(c->add_size, 1, a->size)) ||
      (rc = opt_i64(c->add_mtime, 1, a->modification_time)) ||
      (rc = ks_column_append_bool_rep(c->add_dc, 0, 1)) ||
      (rc = opt_str(c->add_stats, a->stats)))
    return rc;
  return add_extras(c, a);
}

static int row_remove(ck_cols *c, const ks_delta_remove *r) {
  int rc;
  if ((rc = opt_str(c->rm_path, r->path)) ||
      (rc = opt_i64(c->rm_ts, r->deletion_timestamp != 0,
                    r->deletion_timestamp)) ||
      (rc = ks_column_append_bool_rep(c->rm_dc, 0, r->data_change)) ||
      (rc = ks_column_append_bool_rep(c->rm_ext, 0,
                                      r->extended_file_metadata)) ||
      (rc = map_str(c->rm_pk, c->rm_pv, r->part_names, r->part_values,
                    r->nparts, !r->extended_file_metadata)) ||
      (rc = opt_i64(c->rm_size, r->size >= 0, r->size)))
    return rc;
  if (c->rdv_type == NULL)
    return 0;
  yajl_val dv = r->dv_json ? yajl_tree_parse(r->dv_json, NULL, 0) : NULL;
  ks_column *l[5] = {c->rdv_type, c->rdv_path, c->rdv_offset, c->rdv_size,
                     c->rdv_card};
  rc = dv_struct(l, dv);
  yajl_tree_free(dv);
  return rc;
}

static int row_metadata(ck_cols *c, const ks_delta_metadata *m) {
  int rc;
  if ((rc = opt_str(c->md_id, m->id)) || (rc = opt_str(c->md_name, m->name)) ||
      (rc = opt_str(c->md_desc, m->description)) ||
      (rc = opt_str(c->md_provider, "parquet")) ||
      (rc = map_str(c->md_ok, c->md_ov, NULL, NULL, 0, 0)) ||
      (rc = opt_str(c->md_schema, m->schema_string)))
    return rc;
  ks_column *e = c->md_pcols;
  if (m->npartition_columns == 0)
    rc = ks_column_append_levels(e, 0, e->max_def - 2);
  for (size_t i = 0; rc == 0 && i < m->npartition_columns; i++)
    rc = ks_column_append_str_rep(e, i ? 1 : 0, m->partition_columns[i],
                                  strlen(m->partition_columns[i]));
  if (rc || (rc = map_str(c->md_ck, c->md_cv, m->conf_keys, m->conf_values,
                          m->nconf, 0)))
    return rc;
  return opt_i64(c->md_created, m->created_time != 0, m->created_time);
}

/* A LIST<string> whose parent is present; NULL l: a null list. */
static int str_list(ks_column *e, char *const *l, size_t n, int present) {
  if (!present)
    return ks_column_append_levels(e, 0, e->max_def - 3);
  if (n == 0)
    return ks_column_append_levels(e, 0, e->max_def - 2);
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = ks_column_append_str_rep(e, i ? 1 : 0, l[i], strlen(l[i]));
  return rc;
}

static int row_protocol(ck_cols *c, const ks_delta_snapshot *s) {
  int rc;
  if ((rc = ks_column_append_i32_rep(c->p_reader, 0, s->min_reader)) ||
      (rc = ks_column_append_i32_rep(c->p_writer, 0, s->min_writer)))
    return rc;
  if (c->p_rfeat == NULL)
    return 0;
  if ((rc = str_list(c->p_rfeat, s->reader_features, s->nreader_features,
                     s->min_reader >= 3)))
    return rc;
  return str_list(c->p_wfeat, s->writer_features, s->nwriter_features,
                  s->min_writer >= 7);
}

static int row_domain(ck_cols *c, const ks_delta_domain *d) {
  int rc;
  if ((rc = opt_str(c->dm_domain, d->domain)) ||
      (rc = opt_str(c->dm_conf, d->configuration)))
    return rc;
  return ks_column_append_bool_rep(c->dm_removed, 0, 0);
}

/* ---- build ----------------------------------------------------------------
 */

static int sink_buf(void *arg, const uint8_t *data, size_t len) {
  return ks_buf_append(arg, data, len);
}

int ks_delta_checkpoint_build(const ks_delta_snapshot *s, int64_t now_ms,
                              ks_buf *out, ks_delta_checkpoint_stats *st) {
  if (s->version < 0 || !s->has_protocol || !s->has_metadata)
    return KS_EINVAL;
  ck_tree t;
  if (build_schema(&t, wants_of(s)) == NULL)
    return KS_EINVAL;
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, t.s);
  ck_cols c;
  bind_columns(&t, &rg, &c);

  int64_t txn_keep =
      ks_delta_conf_duration(s, "delta.setTransactionRetentionDuration", -1);
  int64_t rm_keep = ks_delta_conf_duration(
      s, "delta.deletedFileRetentionDuration", 7 * 86400000LL);
  int64_t rows = 0;
  int rc = 0;

#define ROW(kind, call)                                                        \
  do {                                                                         \
    ks_rowgroup_mark_row(&rg);                                                 \
    if ((rc = null_others(&t, &rg, kind)) == 0 && (rc = (call)) == 0) {        \
      ks_rowgroup_commit_row(&rg);                                             \
      rows++;                                                                  \
    }                                                                          \
  } while (0)

  /* v2Checkpoint: a V2 checkpoint under the classic name, its actions
   * inline (no sidecars), with the checkpointMetadata action */
  if (c.cm_version)
    ROW(K_CKMETA, opt_i64(c.cm_version, 1, s->version));
  if (rc == 0)
    ROW(K_PROTOCOL, row_protocol(&c, s));
  for (size_t i = 0; rc == 0 && i < s->ndomains; i++)
    ROW(K_DOMAIN, row_domain(&c, &s->domains[i]));
  if (rc == 0)
    ROW(K_META, row_metadata(&c, &s->metadata));
  for (size_t i = 0; rc == 0 && i < s->ntxns; i++) {
    const ks_delta_txn *x = &s->txns[i];
    if (txn_keep >= 0 && x->last_updated != 0 &&
        x->last_updated < now_ms - txn_keep)
      continue; /* expired: dropped from the checkpoint */
    ROW(K_TXN, row_txn(&c, x));
  }
  for (size_t i = 0; rc == 0 && i < s->nfiles; i++)
    ROW(K_ADD, row_add(&c, &s->files[i]));
  for (size_t i = 0; rc == 0 && i < s->nremoves; i++) {
    const ks_delta_remove *r = &s->removes[i];
    if (r->deletion_timestamp != 0 && r->deletion_timestamp < now_ms - rm_keep)
      continue; /* the tombstone expired */
    ROW(K_REMOVE, row_remove(&c, r));
  }
#undef ROW

  ks_pq_writer *w = NULL;
  if (rc == 0) {
    ks_pq_options opt = {.codec = KS_CODEC_SNAPPY};
    w = ks_pq_writer_new_schema(t.s, &opt, sink_buf, out);
    if ((rc = ks_pq_writer_write_rowgroup(w, &rg)) == 0)
      rc = ks_pq_writer_close(w);
  }
  if (rc == 0 && st) {
    st->actions = rows;
    st->add_files = (int64_t)s->nfiles;
  }
  ks_pq_writer_free(w);
  ks_rowgroup_free(&rg);
  ks_pq_schema_free(t.s);
  return rc;
}
