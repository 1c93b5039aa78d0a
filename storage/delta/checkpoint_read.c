/*
 * Checkpoint reader: the rows of a classic (or one part of a multi-part)
 * V1 checkpoint, written by ksink or by any other Delta writer, applied to
 * a snapshot. Columns are found by name under the top-level structs
 * (`add`, `remove`, `txn`, `metaData`, `protocol`); the group names inside
 * maps and lists (`key_value`/`map`, `list`/`bag`) are not relied on, only
 * their shape. Columns a writer left out read as null, as PROTOCOL.md asks;
 * columns ksink does not keep (tags, stats_parsed, ...) are not read at
 * all. Protocol features, domainMetadata, deletion vectors and row ids are
 * kept; the sidecar files a V2 checkpoint names are listed in
 * s->sidecars for the loader, which applies them with this same reader.
 *
 * Each needed leaf is read whole (reader.h); a leaf under a map or list
 * gets a row index (entry where each row starts) so rows are assembled by
 * position. A value that is required by the protocol but missing (an add
 * without path) fails the checkpoint with the row number.
 */
#include "storage/delta/delta_int.h"

#include "base/ks.h"
#include "storage/parquet/reader.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One leaf column with its rows located. */
typedef struct lcol {
  const ks_pq_rnode *leaf; /* NULL: the writer left the column out */
  ks_pq_rcolumn c;
  size_t *row_start; /* repeated leaves: nrows + 1 entries */
  size_t nrows;
} lcol;

typedef struct ckr {
  ks_pq_file *f;
  char *err;
  size_t errlen;
  int rc;
} ckr;

static int fail(ckr *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ckr *r, int code, const char *fmt, ...) {
  if (r->rc == 0) {
    r->rc = code;
    if (r->err && r->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(r->err, r->errlen, fmt, ap);
      va_end(ap);
    }
  }
  return r->rc;
}

/* The leaf at top.name (a scalar), or NULL. */
static const ks_pq_rnode *scalar(ckr *r, const ks_pq_rnode *top,
                                 const char *name) {
  const ks_pq_rnode *n = ks_pq_file_child(r->f, top, name);
  return n && n->is_leaf && n->repetition != 2 ? n : NULL;
}

/* The key and value leaves of MAP top.name, or NULLs. */
static void map_leaves(ckr *r, const ks_pq_rnode *top, const char *name,
                       const ks_pq_rnode **k, const ks_pq_rnode **v) {
  *k = *v = NULL;
  const ks_pq_rnode *m = ks_pq_file_child(r->f, top, name);
  const ks_pq_rnode *kv = ks_pq_file_child_at(r->f, m, 0);
  if (kv == NULL || kv->repetition != 2 || kv->nchildren != 2)
    return;
  const ks_pq_rnode *a = ks_pq_file_child_at(r->f, kv, 0);
  const ks_pq_rnode *b = ks_pq_file_child_at(r->f, kv, 1);
  if (a->is_leaf && b->is_leaf) {
    *k = a;
    *v = b;
  }
}

/* The element leaf of LIST top.name (3-level, or the legacy 2-level form
 * with a repeated leaf), or NULL. */
static const ks_pq_rnode *list_leaf(ckr *r, const ks_pq_rnode *top,
                                    const char *name) {
  const ks_pq_rnode *l = ks_pq_file_child(r->f, top, name);
  const ks_pq_rnode *rep = ks_pq_file_child_at(r->f, l, 0);
  if (rep == NULL || rep->repetition != 2)
    return NULL;
  if (rep->is_leaf)
    return rep;
  const ks_pq_rnode *e = ks_pq_file_child_at(r->f, rep, 0);
  return e && e->is_leaf && rep->nchildren == 1 ? e : NULL;
}

static void lcol_read(ckr *r, lcol *l, const ks_pq_rnode *leaf, size_t nrows) {
  memset(l, 0, sizeof *l);
  l->leaf = leaf;
  l->nrows = nrows;
  if (leaf == NULL || r->rc)
    return;
  char msg[200];
  int rc = ks_pq_file_read_column(r->f, leaf->leaf, &l->c, msg, sizeof msg);
  if (rc) {
    fail(r, rc, "%s", msg);
    return;
  }
  if (leaf->rep == 0) {
    if (l->c.n != nrows)
      fail(r, KS_ECORRUPT, "column %s: %zu values for %zu rows", leaf->name,
           l->c.n, nrows);
    return;
  }
  l->row_start = ks_calloc(nrows + 1, sizeof *l->row_start);
  size_t row = 0;
  for (size_t i = 0; i < l->c.n; i++) {
    if (l->c.reps[i] != 0)
      continue;
    if (row == nrows) {
      row++;
      break;
    }
    l->row_start[row++] = i;
  }
  if (row != nrows) {
    fail(r, KS_ECORRUPT, "column %s: rows differ from the file's", leaf->name);
    return;
  }
  l->row_start[nrows] = l->c.n;
}

static void lcol_free(lcol *l) {
  ks_pq_rcolumn_free(&l->c);
  ks_free(l->row_start);
}

/* Entry of row `row` in a non-repeated leaf. */
static int present(const lcol *l, size_t row) {
  return l->leaf && l->c.defs[row] == l->leaf->def;
}

/* Whether the struct `top` is present in row: some leaf under it is
 * defined at least to top's level. */
static int struct_present(const lcol *l, size_t row, int top_def) {
  if (l->leaf == NULL)
    return 0;
  size_t e = l->row_start ? l->row_start[row] : row;
  return l->c.defs[e] >= top_def;
}

static char *str_dup(const lcol *l, size_t e) {
  const ks_pq_rval *v = &l->c.vals[e];
  if (v->s.len == 0) /* the blob may have no allocation at all */
    return ks_strdup("");
  return ks_strndup((const char *)l->c.blob.data + v->s.off, v->s.len);
}

static char *opt_str(const lcol *l, size_t row) {
  return present(l, row) ? str_dup(l, row) : NULL;
}

static int str_ok(const lcol *l) {
  return l->leaf == NULL || l->leaf->type == KS_PQR_BYTE_ARRAY;
}
static int int_ok(const lcol *l) {
  return l->leaf == NULL || l->leaf->type == KS_PQR_INT32 ||
         l->leaf->type == KS_PQR_INT64;
}
static int bool_ok(const lcol *l) {
  return l->leaf == NULL || l->leaf->type == KS_PQR_BOOLEAN;
}

/* A map<string,string> of one row: keys and values (NULL values kept). */
static void map_row(const lcol *k, const lcol *v, size_t row, char ***keys,
                    char ***vals, size_t *n) {
  *keys = *vals = NULL;
  *n = 0;
  if (k->leaf == NULL || v->leaf == NULL)
    return;
  size_t e0 = k->row_start[row], e1 = k->row_start[row + 1];
  if (v->row_start[row] != e0 || v->row_start[row + 1] != e1)
    return; /* shapes differ: checked by the caller */
  size_t cnt = 0;
  for (size_t e = e0; e < e1; e++)
    cnt += k->c.defs[e] == k->leaf->def;
  if (cnt == 0)
    return;
  *keys = ks_calloc(cnt, sizeof **keys);
  *vals = ks_calloc(cnt, sizeof **vals);
  for (size_t e = e0; e < e1; e++) {
    if (k->c.defs[e] != k->leaf->def)
      continue;
    (*keys)[*n] = str_dup(k, e);
    (*vals)[*n] = v->c.defs[e] == v->leaf->def ? str_dup(v, e) : NULL;
    (*n)++;
  }
}

static int map_shape_ok(const lcol *k, const lcol *v) {
  if (k->leaf == NULL || v->leaf == NULL)
    return 1;
  if (k->c.n != v->c.n || k->leaf->type != KS_PQR_BYTE_ARRAY ||
      v->leaf->type != KS_PQR_BYTE_ARRAY)
    return 0;
  return k->c.n == 0 || memcmp(k->c.reps, v->c.reps, k->c.n) == 0;
}

/* ---- the actions ----------------------------------------------------------
 */

enum {
  ADD_PATH,
  ADD_PK,
  ADD_PV,
  ADD_SIZE,
  ADD_MTIME,
  ADD_STATS,
  RM_PATH,
  RM_TS,
  RM_DC,
  RM_EXT,
  RM_PK,
  RM_PV,
  RM_SIZE,
  TXN_APP,
  TXN_VERSION,
  TXN_UPDATED,
  MD_ID,
  MD_NAME,
  MD_DESC,
  MD_SCHEMA,
  MD_PCOLS,
  MD_CK,
  MD_CV,
  MD_CREATED,
  P_READER,
  P_WRITER,
  P_RFEAT,
  P_WFEAT,
  DV_TYPE,
  DV_PATH,
  DV_OFFSET,
  DV_SIZE,
  DV_CARD,
  ADD_ROW_ID,
  ADD_ROW_VERSION,
  DM_DOMAIN,
  DM_CONF,
  DM_REMOVED,
  SIDECAR_PATH,
  RM_DV_TYPE,
  RM_DV_PATH,
  RM_DV_OFFSET,
  RM_DV_SIZE,
  RM_DV_CARD,
  ADD_TK,
  ADD_TV,
  ADD_CP,
  NCOLS
};

/* The strings of a LIST leaf's row. */
static size_t list_row(const lcol *l, size_t row, const char **out,
                       size_t max, ks_buf *pool) {
  if (l->leaf == NULL)
    return 0;
  size_t n = 0;
  for (size_t e = l->row_start[row]; e < l->row_start[row + 1] && n < max;
       e++) {
    if (l->c.defs[e] != l->leaf->def)
      continue;
    const ks_pq_rval *v = &l->c.vals[e];
    out[n++] = (const char *)(uintptr_t)pool->len;
    ks_buf_append(pool, l->c.blob.data + v->s.off, v->s.len);
    ks_buf_append_byte(pool, 0);
  }
  return n;
}

static void features_row(ks_delta_snapshot *s, int which, const lcol *l,
                         size_t row) {
  const char *names[256];
  ks_buf pool;
  ks_buf_init(&pool, 0);
  size_t n = list_row(l, row, names, 256, &pool);
  for (size_t i = 0; i < n; i++) /* offsets into the pool -> pointers */
    names[i] = (const char *)pool.data + (uintptr_t)names[i];
  ks__delta_set_features(s, which, names, n);
  ks_buf_free(&pool);
}

/* add.deletionVector and the row tracking fields, as the JSON log would
 * hold them (extra), so nothing a checkpoint states is lost. */
static void add_extras(const lcol *c, size_t row, ks_delta_add *a) {
  ks_buf b;
  ks_buf_init(&b, 0);
  a->base_row_id = a->default_row_commit_version = -1;
  if (present(&c[DV_TYPE], row) && present(&c[DV_PATH], row)) {
    char *type = str_dup(&c[DV_TYPE], row), *path = str_dup(&c[DV_PATH], row);
    a->dv_cardinality =
        present(&c[DV_CARD], row) ? c[DV_CARD].c.vals[row].i : 0;
    a->dv_file = ks__delta_dv_file(type, path);
    a->dv_id = ks__delta_dv_id(
        type, path, present(&c[DV_OFFSET], row) ? c[DV_OFFSET].c.vals[row].i : -1);
    ks_buf_append_str(&b, "\"deletionVector\":{\"storageType\":");
    ks_buf_append_json_str(&b, type, strlen(type));
    ks_buf_append_str(&b, ",\"pathOrInlineDv\":");
    ks_buf_append_json_str(&b, path, strlen(path));
    if (present(&c[DV_OFFSET], row))
      ks_buf_appendf(&b, ",\"offset\":%" PRId64, c[DV_OFFSET].c.vals[row].i);
    ks_buf_appendf(&b, ",\"sizeInBytes\":%" PRId64 ",\"cardinality\":%" PRId64
                       "}",
                   present(&c[DV_SIZE], row) ? c[DV_SIZE].c.vals[row].i : 0,
                   a->dv_cardinality);
    ks_free(type);
    ks_free(path);
  }
  char **tk, **tv;
  size_t nt;
  map_row(&c[ADD_TK], &c[ADD_TV], row, &tk, &tv, &nt);
  if (nt) {
    ks_buf_append_str(&b, b.len ? ",\"tags\":{" : "\"tags\":{");
    for (size_t i = 0; i < nt; i++) {
      if (i)
        ks_buf_append_byte(&b, ',');
      ks_buf_append_json_str(&b, tk[i], strlen(tk[i]));
      ks_buf_append_byte(&b, ':');
      if (tv[i])
        ks_buf_append_json_str(&b, tv[i], strlen(tv[i]));
      else
        ks_buf_append_str(&b, "null");
      ks_free(tk[i]);
      ks_free(tv[i]);
    }
    ks_buf_append_byte(&b, '}');
  }
  ks_free(tk);
  ks_free(tv);
  if (present(&c[ADD_CP], row)) {
    char *cp = str_dup(&c[ADD_CP], row);
    ks_buf_append_str(&b, b.len ? ",\"clusteringProvider\":"
                                : "\"clusteringProvider\":");
    ks_buf_append_json_str(&b, cp, strlen(cp));
    ks_free(cp);
  }
  if (present(&c[ADD_ROW_ID], row)) {
    a->base_row_id = c[ADD_ROW_ID].c.vals[row].i;
    ks_buf_appendf(&b, "%s\"baseRowId\":%" PRId64, b.len ? "," : "",
                   a->base_row_id);
  }
  if (present(&c[ADD_ROW_VERSION], row)) {
    a->default_row_commit_version = c[ADD_ROW_VERSION].c.vals[row].i;
    ks_buf_appendf(&b, "%s\"defaultRowCommitVersion\":%" PRId64,
                   b.len ? "," : "", a->default_row_commit_version);
  }
  if (b.len) {
    ks_buf_cstr(&b);
    a->extra = (char *)ks_buf_steal(&b, NULL);
  }
  ks_buf_free(&b);
}

static void apply_rows(ckr *r, lcol *c, size_t nrows, const int *top_def,
                       ks_delta_snapshot *s) {
  for (size_t row = 0; row < nrows && r->rc == 0; row++) {
    if (struct_present(&c[P_READER], row, top_def[4]) ||
        struct_present(&c[P_WRITER], row, top_def[4])) {
      if (!present(&c[P_READER], row) || !present(&c[P_WRITER], row) ||
          c[P_READER].c.vals[row].i < 1 || c[P_WRITER].c.vals[row].i < 1 ||
          c[P_READER].c.vals[row].i > INT32_MAX ||
          c[P_WRITER].c.vals[row].i > INT32_MAX) {
        fail(r, KS_ECORRUPT, "row %zu: protocol without versions", row);
        return;
      }
      s->has_protocol = 1;
      s->min_reader = (int)c[P_READER].c.vals[row].i;
      s->min_writer = (int)c[P_WRITER].c.vals[row].i;
      features_row(s, 'r', &c[P_RFEAT], row);
      features_row(s, 'w', &c[P_WFEAT], row);
    }
    if (present(&c[SIDECAR_PATH], row)) {
      /* V2 checkpoint: the files are in a sidecar the loader reads next;
       * only sidecars under _delta_log/_sidecars/ are followed */
      char *sc = str_dup(&c[SIDECAR_PATH], row);
      if (strstr(sc, "..") || strchr(sc, '/') || strstr(sc, ":")) {
        ks_free(sc);
        fail(r, KS_EUNSUPPORTED, "row %zu: a sidecar outside _sidecars/",
             row);
        return;
      }
      s->sidecars =
          ks_realloc(s->sidecars, (s->nsidecars + 1) * sizeof *s->sidecars);
      s->sidecars[s->nsidecars++] = sc;
    }
    if (present(&c[DM_DOMAIN], row)) {
      char *d = str_dup(&c[DM_DOMAIN], row);
      char *conf = opt_str(&c[DM_CONF], row);
      ks__delta_snapshot_domain(
          s, d, conf ? conf : "",
          present(&c[DM_REMOVED], row) && c[DM_REMOVED].c.vals[row].i);
      ks_free(d);
      ks_free(conf);
    }
    if (struct_present(&c[MD_ID], row, top_def[3])) {
      if (!present(&c[MD_ID], row) || !present(&c[MD_SCHEMA], row)) {
        fail(r, KS_ECORRUPT, "row %zu: metaData without id or schemaString",
             row);
        return;
      }
      ks_delta_metadata m;
      memset(&m, 0, sizeof m);
      m.id = opt_str(&c[MD_ID], row);
      m.name = opt_str(&c[MD_NAME], row);
      m.description = opt_str(&c[MD_DESC], row);
      m.schema_string = opt_str(&c[MD_SCHEMA], row);
      if (present(&c[MD_CREATED], row))
        m.created_time = c[MD_CREATED].c.vals[row].i;
      const lcol *pc = &c[MD_PCOLS];
      if (pc->leaf) {
        size_t e0 = pc->row_start[row], e1 = pc->row_start[row + 1];
        m.partition_columns = ks_calloc(e1 - e0 + 1, sizeof(char *));
        for (size_t e = e0; e < e1; e++)
          if (pc->c.defs[e] == pc->leaf->def)
            m.partition_columns[m.npartition_columns++] = str_dup(pc, e);
      }
      map_row(&c[MD_CK], &c[MD_CV], row, &m.conf_keys, &m.conf_values,
              &m.nconf);
      ks__delta_metadata_free(&s->metadata);
      s->metadata = m;
      s->has_metadata = 1;
    }
    if (struct_present(&c[TXN_APP], row, top_def[2])) {
      if (!present(&c[TXN_APP], row) || !present(&c[TXN_VERSION], row)) {
        fail(r, KS_ECORRUPT, "row %zu: txn without appId or version", row);
        return;
      }
      char *app = opt_str(&c[TXN_APP], row);
      ks__delta_snapshot_txn(
          s, app, c[TXN_VERSION].c.vals[row].i,
          present(&c[TXN_UPDATED], row) ? c[TXN_UPDATED].c.vals[row].i : 0);
      ks_free(app);
    }
    if (struct_present(&c[ADD_PATH], row, top_def[0])) {
      if (!present(&c[ADD_PATH], row) || !present(&c[ADD_SIZE], row) ||
          c[ADD_SIZE].c.vals[row].i < 0) {
        fail(r, KS_ECORRUPT, "row %zu: add without path or size", row);
        return;
      }
      ks_delta_add a;
      memset(&a, 0, sizeof a);
      a.path = opt_str(&c[ADD_PATH], row);
      a.size = c[ADD_SIZE].c.vals[row].i;
      if (present(&c[ADD_MTIME], row))
        a.modification_time = c[ADD_MTIME].c.vals[row].i;
      a.stats = opt_str(&c[ADD_STATS], row);
      if (!ks__delta_path_ok(a.path) || !ks__delta_stats_ok(a.stats)) {
        fail(r, KS_ECORRUPT,
             "row %zu: add.%s", row,
             ks__delta_path_ok(a.path)
                 ? "stats: JSON nested too deep"
                 : "path: a relative path inside the table expected (no "
                   "\"..\" segment, no absolute URI or path)");
        ks_free(a.path);
        ks_free(a.stats);
        return;
      }
      a.num_records = ks__delta_stats_num_records(a.stats);
      map_row(&c[ADD_PK], &c[ADD_PV], row, &a.part_names, &a.part_values,
              &a.nparts);
      add_extras(c, row, &a);
      ks__delta_snapshot_add(s, &a);
    }
    if (struct_present(&c[RM_PATH], row, top_def[1])) {
      if (!present(&c[RM_PATH], row)) {
        fail(r, KS_ECORRUPT, "row %zu: remove without path", row);
        return;
      }
      ks_delta_remove x;
      memset(&x, 0, sizeof x);
      x.path = opt_str(&c[RM_PATH], row);
      if (present(&c[RM_TS], row))
        x.deletion_timestamp = c[RM_TS].c.vals[row].i;
      x.data_change = present(&c[RM_DC], row) && c[RM_DC].c.vals[row].i;
      x.extended_file_metadata =
          present(&c[RM_EXT], row) && c[RM_EXT].c.vals[row].i;
      x.size = present(&c[RM_SIZE], row) ? c[RM_SIZE].c.vals[row].i : -1;
      map_row(&c[RM_PK], &c[RM_PV], row, &x.part_names, &x.part_values,
              &x.nparts);
      if (present(&c[RM_DV_TYPE], row) && present(&c[RM_DV_PATH], row)) {
        char *type = str_dup(&c[RM_DV_TYPE], row);
        char *path = str_dup(&c[RM_DV_PATH], row);
        x.dv_id = ks__delta_dv_id(type, path,
                                  present(&c[RM_DV_OFFSET], row)
                                      ? c[RM_DV_OFFSET].c.vals[row].i
                                      : -1);
        ks_buf b;
        ks_buf_init(&b, 0);
        ks_buf_append_str(&b, "{\"storageType\":");
        ks_buf_append_json_str(&b, type, strlen(type));
        ks_buf_append_str(&b, ",\"pathOrInlineDv\":");
        ks_buf_append_json_str(&b, path, strlen(path));
        if (present(&c[RM_DV_OFFSET], row))
          ks_buf_appendf(&b, ",\"offset\":%" PRId64,
                         c[RM_DV_OFFSET].c.vals[row].i);
        ks_buf_appendf(&b, ",\"sizeInBytes\":%" PRId64 ",\"cardinality\":%" PRId64 "}",
                       present(&c[RM_DV_SIZE], row) ? c[RM_DV_SIZE].c.vals[row].i : 0,
                       present(&c[RM_DV_CARD], row) ? c[RM_DV_CARD].c.vals[row].i : 0);
        ks_buf_cstr(&b);
        x.dv_json = (char *)ks_buf_steal(&b, NULL);
        ks_free(type);
        ks_free(path);
      }
      ks__delta_snapshot_remove(s, &x);
    }
  }
}

int ks_delta_checkpoint_apply(ks_delta_snapshot *s, const uint8_t *data,
                              size_t len, size_t max_entries, char *err,
                              size_t errlen) {
  ckr r = {.err = err, .errlen = errlen};
  if (err && errlen)
    err[0] = '\0';
  char msg[200];
  int rc = ks_pq_file_open(data, len, &r.f, msg, sizeof msg);
  if (rc)
    return fail(&r, rc, "%s", msg);
  /* Limits from the row count: every row of a checkpoint holds an action
   * with a string of its own (a path, an appId, an id), so a file states
   * at most one row per byte; a flat leaf then holds one entry per row,
   * and a repeated one a few per row -- partition values one per partition
   * column, so up to 64 of those (tables partitioned by more than 16 were
   * refused once they had enough files). The ~40 columns read at once stay
   * within a multiple of the file. */
  int64_t rows64 = ks_pq_file_rows(r.f);
  if (rows64 < 0 || (uint64_t)rows64 > len ||
      (max_entries && (uint64_t)rows64 > max_entries)) {
    ks_pq_file_free(r.f);
    return fail(&r, KS_ECORRUPT,
                "bad row count %" PRId64 " for a file of %zu bytes", rows64,
                len);
  }
  size_t nrows = (size_t)rows64;
  size_t per_rows = nrows * 64 + 4096;
  ks_pq_file_set_max_entries(
      r.f, max_entries && max_entries < per_rows ? max_entries : per_rows);
  const ks_pq_rnode *root = ks_pq_file_node(r.f, 0);
  static const char *const tops[] = {"add",      "remove",
                                     "txn",      "metaData",
                                     "protocol", "domainMetadata",
                                     "sidecar"};
  const ks_pq_rnode *top[7];
  int top_def[7];
  for (int i = 0; i < 7; i++) {
    top[i] = ks_pq_file_child(r.f, root, tops[i]);
    if (top[i] && (top[i]->is_leaf || top[i]->repetition == 2))
      top[i] = NULL; /* not a struct: ignore the column */
    top_def[i] = top[i] ? top[i]->def : 0;
  }
  const ks_pq_rnode *leaves[NCOLS] = {0};
  leaves[ADD_PATH] = scalar(&r, top[0], "path");
  map_leaves(&r, top[0], "partitionValues", &leaves[ADD_PK], &leaves[ADD_PV]);
  leaves[ADD_SIZE] = scalar(&r, top[0], "size");
  leaves[ADD_MTIME] = scalar(&r, top[0], "modificationTime");
  leaves[ADD_STATS] = scalar(&r, top[0], "stats");
  leaves[RM_PATH] = scalar(&r, top[1], "path");
  leaves[RM_TS] = scalar(&r, top[1], "deletionTimestamp");
  leaves[RM_DC] = scalar(&r, top[1], "dataChange");
  leaves[RM_EXT] = scalar(&r, top[1], "extendedFileMetadata");
  map_leaves(&r, top[1], "partitionValues", &leaves[RM_PK], &leaves[RM_PV]);
  leaves[RM_SIZE] = scalar(&r, top[1], "size");
  leaves[TXN_APP] = scalar(&r, top[2], "appId");
  leaves[TXN_VERSION] = scalar(&r, top[2], "version");
  leaves[TXN_UPDATED] = scalar(&r, top[2], "lastUpdated");
  leaves[MD_ID] = scalar(&r, top[3], "id");
  leaves[MD_NAME] = scalar(&r, top[3], "name");
  leaves[MD_DESC] = scalar(&r, top[3], "description");
  leaves[MD_SCHEMA] = scalar(&r, top[3], "schemaString");
  leaves[MD_PCOLS] = list_leaf(&r, top[3], "partitionColumns");
  map_leaves(&r, top[3], "configuration", &leaves[MD_CK], &leaves[MD_CV]);
  leaves[MD_CREATED] = scalar(&r, top[3], "createdTime");
  leaves[P_READER] = scalar(&r, top[4], "minReaderVersion");
  leaves[P_WRITER] = scalar(&r, top[4], "minWriterVersion");
  leaves[P_RFEAT] = list_leaf(&r, top[4], "readerFeatures");
  leaves[P_WFEAT] = list_leaf(&r, top[4], "writerFeatures");
  const ks_pq_rnode *dv = ks_pq_file_child(r.f, top[0], "deletionVector");
  if (dv && (dv->is_leaf || dv->repetition == 2))
    dv = NULL;
  leaves[DV_TYPE] = scalar(&r, dv, "storageType");
  leaves[DV_PATH] = scalar(&r, dv, "pathOrInlineDv");
  leaves[DV_OFFSET] = scalar(&r, dv, "offset");
  leaves[DV_SIZE] = scalar(&r, dv, "sizeInBytes");
  leaves[DV_CARD] = scalar(&r, dv, "cardinality");
  const ks_pq_rnode *rdv = ks_pq_file_child(r.f, top[1], "deletionVector");
  if (rdv && (rdv->is_leaf || rdv->repetition == 2))
    rdv = NULL;
  leaves[RM_DV_TYPE] = scalar(&r, rdv, "storageType");
  leaves[RM_DV_PATH] = scalar(&r, rdv, "pathOrInlineDv");
  leaves[RM_DV_OFFSET] = scalar(&r, rdv, "offset");
  leaves[RM_DV_SIZE] = scalar(&r, rdv, "sizeInBytes");
  leaves[RM_DV_CARD] = scalar(&r, rdv, "cardinality");
  map_leaves(&r, top[0], "tags", &leaves[ADD_TK], &leaves[ADD_TV]);
  leaves[ADD_CP] = scalar(&r, top[0], "clusteringProvider");
  leaves[ADD_ROW_ID] = scalar(&r, top[0], "baseRowId");
  leaves[ADD_ROW_VERSION] = scalar(&r, top[0], "defaultRowCommitVersion");
  leaves[DM_DOMAIN] = scalar(&r, top[5], "domain");
  leaves[DM_CONF] = scalar(&r, top[5], "configuration");
  leaves[DM_REMOVED] = scalar(&r, top[5], "removed");
  leaves[SIDECAR_PATH] = scalar(&r, top[6], "path");

  lcol c[NCOLS];
  for (int i = 0; i < NCOLS; i++)
    lcol_read(&r, &c[i], leaves[i], nrows);
  if (r.rc == 0) {
    int types_ok = 1;
    static const int strs[] = {ADD_PATH,  ADD_STATS, RM_PATH,  TXN_APP,
                               MD_ID,     MD_NAME,   MD_DESC,  MD_SCHEMA,
                               MD_PCOLS,  P_RFEAT,   P_WFEAT,  DV_TYPE,
                               DV_PATH,   DM_DOMAIN, DM_CONF,  SIDECAR_PATH,
                               RM_DV_TYPE, RM_DV_PATH, ADD_TK, ADD_TV,
                               ADD_CP};
    static const int ints[] = {ADD_SIZE,    ADD_MTIME,  RM_TS,      RM_SIZE,
                               TXN_VERSION, TXN_UPDATED, MD_CREATED, P_READER,
                               P_WRITER,    DV_OFFSET,  DV_SIZE,    DV_CARD,
                               ADD_ROW_ID,  ADD_ROW_VERSION, RM_DV_OFFSET,
                               RM_DV_SIZE,  RM_DV_CARD};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
      types_ok &= str_ok(&c[strs[i]]);
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
      types_ok &= int_ok(&c[ints[i]]);
    types_ok &= bool_ok(&c[RM_DC]) && bool_ok(&c[RM_EXT]) &&
                bool_ok(&c[DM_REMOVED]);
    types_ok &= map_shape_ok(&c[ADD_PK], &c[ADD_PV]) &&
                map_shape_ok(&c[RM_PK], &c[RM_PV]) &&
                map_shape_ok(&c[MD_CK], &c[MD_CV]) &&
                map_shape_ok(&c[ADD_TK], &c[ADD_TV]);
    if (!types_ok)
      fail(&r, KS_ECORRUPT,
           "a column's type differs from the checkpoint "
           "schema's");
  }
  if (r.rc == 0)
    apply_rows(&r, c, nrows, top_def, s);
  ks__delta_snapshot_compact(s);
  for (int i = 0; i < NCOLS; i++)
    lcol_free(&c[i]);
  ks_pq_file_free(r.f);
  return r.rc;
}

/* A V2 JSON checkpoint holds the actions a commit could hold (protocol,
 * metaData, txn, domainMetadata, add, remove) plus checkpointMetadata and
 * sidecar: the commit reader applies the first kind (it skips actions it
 * does not know), the sidecars are collected here for the loader. */
int ks_delta_checkpoint_apply_json(ks_delta_snapshot *s, const uint8_t *data,
                                   size_t len, char *err, size_t errlen) {
  int64_t keep = s->version;
  /* read as the entry after whatever s holds (a new snapshot: version 0,
   * which must hold protocol and metaData, as a checkpoint does) */
  int rc = ks_delta_snapshot_apply(s, keep + 1, data, len, err, errlen);
  s->version = keep;
  for (size_t at = 0; rc == 0 && at < len;) {
    const uint8_t *nl = memchr(data + at, '\n', len - at);
    size_t n = nl ? (size_t)(nl - (data + at)) : len - at;
    static const char tag[] = "\"sidecar\"";
    if (n > 0 && memmem(data + at, n, tag, sizeof tag - 1)) {
      char *line = ks_strndup((const char *)data + at, n);
      char perr[128];
      yajl_val v = yajl_tree_parse(line, perr, sizeof perr);
      yajl_val sc = v ? ks__delta_json_field(v, "sidecar") : NULL;
      yajl_val path = sc ? ks__delta_json_field(sc, "path") : NULL;
      if (sc && YAJL_IS_OBJECT(sc)) {
        const char *pth = YAJL_IS_STRING(path) ? YAJL_GET_STRING(path) : "";
        if (pth[0] == 0 || strstr(pth, "..") || strchr(pth, '/') ||
            strchr(pth, ':')) {
          snprintf(err, errlen, "a sidecar outside _sidecars/: \"%.200s\"",
                   pth);
          rc = KS_EUNSUPPORTED;
        } else {
          s->sidecars = ks_realloc(s->sidecars,
                                   (s->nsidecars + 1) * sizeof *s->sidecars);
          s->sidecars[s->nsidecars++] = ks_strdup(pth);
        }
      }
      if (v)
        yajl_tree_free(v);
      ks_free(line);
    }
    at += n + 1;
  }
  return rc;
}

int ks__delta_checkpoint_apply_file(ks_delta_snapshot *s, const char *key,
                                    const uint8_t *data, size_t len,
                                    char *err, size_t errlen) {
  size_t kl = strlen(key);
  if (kl > 5 && strcmp(key + kl - 5, ".json") == 0)
    return ks_delta_checkpoint_apply_json(s, data, len, err, errlen);
  return ks_delta_checkpoint_apply(s, data, len, 0, err, errlen);
}
