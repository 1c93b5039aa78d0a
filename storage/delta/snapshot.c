/*
 * Snapshot replay: applies log entries (newline-delimited JSON actions) in
 * version order. Each entry is parsed and validated whole before anything
 * is applied, so a corrupt entry leaves the snapshot at the previous
 * version. protocol features, domainMetadata and commitInfo's
 * inCommitTimestamp are kept (features.c); unknown action types (cdc,
 * checkpointMetadata, future ones) are skipped, as PROTOCOL.md asks of
 * readers, and unknown add fields are kept verbatim.
 *
 * Active files live in an array in the order they were added (what a
 * reader lists) with an open-addressing path index beside it. A remove
 * leaves a hole (path NULL) that lookups step over; the holes of an entry
 * are squeezed out once, when it has been applied, so an optimize commit
 * removing R of N files costs O(N + R), not O(N * R). Tombstones have an
 * index of their own for the same reason: every add and remove looks its
 * path up among them.
 */
#include "storage/delta/delta_int.h"

#include "base/jsontext.h"
#include "base/jsontree.h"
#include "base/ks.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* Two open-addressing indexes by path: the active files and the
 * tombstones. Slots hold array index + 1 (0: empty); a removed entry
 * stays in its array as a hole (path NULL) until compaction. */
typedef struct path_index {
  size_t cap;    /* power of two, 0 when empty */
  size_t *slots;
  size_t holes;
} path_index;

typedef struct snap_index {
  path_index ix[2]; /* FILES, TOMBS */
} snap_index;

enum { FILES, TOMBS };

/* ---- path index --------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

static path_index *index_of(ks_delta_snapshot *s, int which) {
  if (s->index_ == NULL)
    s->index_ = ks_calloc(1, sizeof(snap_index));
  return &((snap_index *)s->index_)->ix[which];
}

static const char *path_at(const ks_delta_snapshot *s, int which, size_t i) {
  return which == FILES ? s->files[i].path : s->removes[i].path;
}

static size_t count_of(const ks_delta_snapshot *s, int which) {
  return which == FILES ? s->nfiles : s->nremoves;
}

static void index_put(ks_delta_snapshot *s, int which, size_t at) {
  path_index *ix = index_of(s, which);
  size_t mask = ix->cap - 1;
  for (size_t i = hash_str(path_at(s, which, at)) & mask;; i = (i + 1) & mask) {
    if (ix->slots[i] == 0) {
      ix->slots[i] = at + 1;
      return;
    }
  }
}

static void index_rebuild(ks_delta_snapshot *s, int which, size_t cap) {
  path_index *ix = index_of(s, which);
  ks_free(ix->slots);
  ix->cap = cap;
  ix->slots = ks_calloc(cap, sizeof *ix->slots);
  for (size_t i = 0; i < count_of(s, which); i++)
    if (path_at(s, which, i))
      index_put(s, which, i);
}

/* After appending entry n-1: grows the index past half full. */
static void index_append(ks_delta_snapshot *s, int which) {
  path_index *ix = index_of(s, which);
  size_t n = count_of(s, which);
  if (n * 2 > ix->cap)
    index_rebuild(s, which, ix->cap ? ix->cap * 2 : 32);
  else
    index_put(s, which, n - 1);
}

static long index_find(const ks_delta_snapshot *s, int which,
                       const char *path) {
  const path_index *ix =
      s->index_ ? &((const snap_index *)s->index_)->ix[which] : NULL;
  if (ix == NULL || ix->cap == 0)
    return -1;
  size_t mask = ix->cap - 1;
  for (size_t i = hash_str(path) & mask;; i = (i + 1) & mask) {
    size_t v = ix->slots[i];
    if (v == 0)
      return -1;
    const char *p = path_at(s, which, v - 1);
    if (p && strcmp(p, path) == 0)
      return (long)(v - 1);
  }
}

/* ---- lifecycle ------------------------------------------------------------ */

void ks_delta_snapshot_init(ks_delta_snapshot *s) {
  memset(s, 0, sizeof *s);
  s->version = -1;
  s->last_ict = -1;
}

void ks_delta_snapshot_free(ks_delta_snapshot *s) {
  for (size_t i = 0; i < s->nfiles; i++)
    ks__delta_add_free(&s->files[i]);
  ks_free(s->files);
  for (size_t i = 0; i < s->ntxns; i++)
    ks_free(s->txns[i].app_id);
  ks_free(s->txns);
  for (size_t i = 0; i < s->nremoves; i++)
    ks__delta_remove_free(&s->removes[i]);
  ks_free(s->removes);
  ks__delta_metadata_free(&s->metadata);
  ks__delta_set_features(s, 'r', NULL, 0);
  ks__delta_set_features(s, 'w', NULL, 0);
  for (size_t i = 0; i < s->ndomains; i++) {
    ks_free(s->domains[i].domain);
    ks_free(s->domains[i].configuration);
  }
  ks_free(s->domains);
  for (size_t i = 0; i < s->nsidecars; i++)
    ks_free(s->sidecars[i]);
  ks_free(s->sidecars);
  snap_index *ix = s->index_;
  if (ix) {
    ks_free(ix->ix[FILES].slots);
    ks_free(ix->ix[TOMBS].slots);
  }
  ks_free(ix);
  ks_delta_snapshot_init(s);
}

const ks_delta_add *ks_delta_snapshot_file(const ks_delta_snapshot *s,
                                           const char *path) {
  long at = index_find(s, FILES, path);
  return at >= 0 ? &s->files[at] : NULL;
}

int64_t ks_delta_snapshot_txn(const ks_delta_snapshot *s, const char *app_id) {
  for (size_t i = 0; i < s->ntxns; i++)
    if (strcmp(s->txns[i].app_id, app_id) == 0)
      return s->txns[i].version;
  return -1;
}

int64_t ks_delta_snapshot_txn_or(const ks_delta_snapshot *s,
                                 const char *app_id, const char *legacy) {
  int64_t v = ks_delta_snapshot_txn(s, app_id);
  return v < 0 && legacy ? ks_delta_snapshot_txn(s, legacy) : v;
}

int64_t ks_delta_snapshot_rows(const ks_delta_snapshot *s) {
  int64_t n = 0;
  for (size_t i = 0; i < s->nfiles; i++)
    if (s->files[i].num_records > 0) /* less the rows a DV deletes */
      n += s->files[i].num_records - s->files[i].dv_cardinality;
  return n;
}

/* ---- JSON helpers --------------------------------------------------------- */

yajl_val ks__delta_json_field(yajl_val obj, const char *key) {
  if (!YAJL_IS_OBJECT(obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp(obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

static const char *str_field(yajl_val obj, const char *key) {
  yajl_val v = ks__delta_json_field(obj, key);
  return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static int int_field(yajl_val obj, const char *key, int64_t *out) {
  yajl_val v = ks__delta_json_field(obj, key);
  if (!YAJL_IS_INTEGER(v))
    return 0;
  *out = YAJL_GET_INTEGER(v);
  return 1;
}

/* An object whose values are all strings (or null when nulls_ok). */
static int is_str_map(yajl_val v, int nulls_ok) {
  if (!YAJL_IS_OBJECT(v))
    return 0;
  for (size_t i = 0; i < v->u.object.len; i++) {
    yajl_val x = v->u.object.values[i];
    if (!YAJL_IS_STRING(x) && !(nulls_ok && YAJL_IS_NULL(x)))
      return 0;
  }
  return 1;
}

/* ---- validation: the message names the action and field ---------------- */

/* An add.path names a file of this table: a relative URI whose segments
 * (percent-decoded) never climb out with "..". Absolute URIs and paths
 * (shallow clones' files in another table) are refused: vacuum and
 * optimize would read, rewrite or remove what is not the table's. */
int ks__delta_stats_ok(const char *stats) {
  return stats == NULL ||
         !ks_json_too_deep(stats, strlen(stats), KS_JSON_MAX_DEPTH);
}

int ks__delta_path_ok(const char *p) {
  if (p == NULL || p[0] == '\0' || p[0] == '/' || strstr(p, "://"))
    return 0;
  size_t sch = 0; /* a URI scheme: "file:/x", "s3:..." */
  while (p[sch] && (isalnum((unsigned char)p[sch]) || strchr("+-.", p[sch])))
    sch++;
  if (sch > 0 && isalpha((unsigned char)p[0]) && p[sch] == ':')
    return 0;
  char *d = ks_delta_path_decode(p);
  if (d == NULL)
    return 0;
  int ok = d[0] != '/';
  for (const char *s = d; ok && *s;) {
    size_t n = strcspn(s, "/");
    if (n == 2 && s[0] == '.' && s[1] == '.')
      ok = 0;
    s += n;
    if (*s == '/')
      s++;
  }
  ks_free(d);
  return ok;
}

static const char *check_action(const char *kind, yajl_val a) {
  int64_t n;
  if (strcmp(kind, "add") == 0) {
    if (!YAJL_IS_OBJECT(a))
      return "add: expected an object";
    if (!str_field(a, "path"))
      return "add.path: expected a string";
    if (!int_field(a, "size", &n) || n < 0)
      return "add.size: expected a non-negative integer";
    yajl_val pv = ks__delta_json_field(a, "partitionValues");
    if (pv && !is_str_map(pv, 1))
      return "add.partitionValues: expected a map of strings";
    yajl_val st = ks__delta_json_field(a, "stats");
    if (st && !YAJL_IS_STRING(st) && !YAJL_IS_NULL(st))
      return "add.stats: expected a string";
    if (YAJL_IS_STRING(st) && !ks__delta_stats_ok(YAJL_GET_STRING(st)))
      return "add.stats: JSON nested too deep";
    if (!ks__delta_path_ok(str_field(a, "path")))
      return "add.path: a relative path inside the table expected (no "
             "\"..\" segment, no absolute URI or path)";
    yajl_val mt = ks__delta_json_field(a, "modificationTime");
    if (mt && !YAJL_IS_INTEGER(mt))
      return "add.modificationTime: expected an integer";
  } else if (strcmp(kind, "remove") == 0) {
    if (!str_field(a, "path"))
      return "remove.path: expected a string";
  } else if (strcmp(kind, "txn") == 0) {
    if (!str_field(a, "appId"))
      return "txn.appId: expected a string";
    if (!int_field(a, "version", &n))
      return "txn.version: expected an integer";
    yajl_val lu = ks__delta_json_field(a, "lastUpdated");
    if (lu && !YAJL_IS_INTEGER(lu) && !YAJL_IS_NULL(lu))
      return "txn.lastUpdated: expected an integer";
  } else if (strcmp(kind, "protocol") == 0) {
    if (!int_field(a, "minReaderVersion", &n) || n < 1)
      return "protocol.minReaderVersion: expected a positive integer";
    if (!int_field(a, "minWriterVersion", &n) || n < 1)
      return "protocol.minWriterVersion: expected a positive integer";
  } else if (strcmp(kind, "metaData") == 0) {
    if (!str_field(a, "id"))
      return "metaData.id: expected a string";
    if (!str_field(a, "schemaString"))
      return "metaData.schemaString: expected a string";
    const char *ss = str_field(a, "schemaString");
    if (ks_json_too_deep(ss, strlen(ss), KS_JSON_MAX_DEPTH))
      return "metaData.schemaString: JSON nested too deep";
    yajl_val pc = ks__delta_json_field(a, "partitionColumns");
    if (!YAJL_IS_ARRAY(pc))
      return "metaData.partitionColumns: expected an array";
    for (size_t i = 0; i < pc->u.array.len; i++)
      if (!YAJL_IS_STRING(pc->u.array.values[i]))
        return "metaData.partitionColumns: expected strings";
    yajl_val conf = ks__delta_json_field(a, "configuration");
    if (conf && !is_str_map(conf, 1))
      return "metaData.configuration: expected a map of strings";
    yajl_val ct = ks__delta_json_field(a, "createdTime");
    if (ct && !YAJL_IS_INTEGER(ct) && !YAJL_IS_NULL(ct))
      return "metaData.createdTime: expected an integer";
  }
  return NULL;
}

/* ---- apply ------------------------------------------------------------------ */

int64_t ks__delta_stats_num_records(const char *stats) {
  if (stats == NULL)
    return -1;
  yajl_val t = ks_json_tree_parse(stats, KS_JSON_MAX_DEPTH, NULL, 0);
  int64_t n = -1;
  if (!int_field(t, "numRecords", &n))
    n = -1;
  ks_json_tree_free(t);
  return n;
}

static void str_map_copy(yajl_val m, char ***keys, char ***vals, size_t *n) {
  size_t len = YAJL_IS_OBJECT(m) ? m->u.object.len : 0;
  *n = len;
  *keys = len ? ks_calloc(len, sizeof **keys) : NULL;
  *vals = len ? ks_calloc(len, sizeof **vals) : NULL;
  for (size_t i = 0; i < len; i++) {
    (*keys)[i] = ks_strdup(m->u.object.keys[i]);
    yajl_val v = m->u.object.values[i];
    (*vals)[i] = YAJL_IS_STRING(v) ? ks_strdup(YAJL_GET_STRING(v)) : NULL;
  }
}

static void apply_add(ks_delta_snapshot *s, yajl_val a) {
  ks_delta_add f;
  memset(&f, 0, sizeof f);
  f.path = ks_strdup(str_field(a, "path"));
  int_field(a, "size", &f.size);
  int_field(a, "modificationTime", &f.modification_time);
  const char *st = str_field(a, "stats");
  f.stats = st ? ks_strdup(st) : NULL;
  f.num_records = ks__delta_stats_num_records(st);
  str_map_copy(ks__delta_json_field(a, "partitionValues"), &f.part_names,
               &f.part_values, &f.nparts);
  ks__delta_add_extra(&f, a);
  ks__delta_snapshot_add(s, &f);
}

void ks__delta_snapshot_add(ks_delta_snapshot *s, ks_delta_add *a) {
  ks_delta_add f = *a;
  memset(a, 0, sizeof *a);
  ks__delta_snapshot_untomb(s, f.path);
  long at = index_find(s, FILES, f.path);
  if (at >= 0) { /* same path again: the newer add wins, position kept */
    ks__delta_add_free(&s->files[at]);
    s->files[at] = f;
    return;
  }
  if (s->nfiles == s->cap_files) {
    s->cap_files = s->cap_files ? s->cap_files * 2 : 16;
    s->files = ks_realloc(s->files, s->cap_files * sizeof *s->files);
  }
  s->files[s->nfiles++] = f;
  index_append(s, FILES);
}

static void apply_remove(ks_delta_snapshot *s, yajl_val a) {
  ks_delta_remove r;
  memset(&r, 0, sizeof r);
  r.path = ks_strdup(str_field(a, "path"));
  int_field(a, "deletionTimestamp", &r.deletion_timestamp);
  r.data_change = YAJL_IS_TRUE(ks__delta_json_field(a, "dataChange"));
  r.extended_file_metadata =
      YAJL_IS_TRUE(ks__delta_json_field(a, "extendedFileMetadata"));
  r.size = -1;
  int_field(a, "size", &r.size);
  str_map_copy(ks__delta_json_field(a, "partitionValues"), &r.part_names,
               &r.part_values, &r.nparts);
  yajl_val dv = ks__delta_json_field(a, "deletionVector");
  r.dv_id = ks__delta_dv_id_json(dv);
  if (r.dv_id) {
    ks_buf b;
    ks_buf_init(&b, 0);
    ks__delta_json_write(&b, dv);
    ks_buf_cstr(&b);
    r.dv_json = (char *)ks_buf_steal(&b, NULL);
  }
  ks__delta_snapshot_remove(s, &r);
}

/* Removing an unknown file is a no-op for the active set; the tombstone is
 * kept all the same (vacuum may still find the file). */
void ks__delta_snapshot_remove(ks_delta_snapshot *s, ks_delta_remove *r) {
  long at = index_find(s, FILES, r->path);
  if (at >= 0) {
    /* (path, deletion vector) names a file: Spark writes the add of the
     * new vector before the remove of the old one in a DELETE's commit */
    const char *a = s->files[at].dv_id, *b = r->dv_id;
    if ((a || b) && (!a || !b || strcmp(a, b) != 0)) {
      /* the path stays active under its new vector: no tombstone for it
       * (the file is not to be vacuumed) */
      ks__delta_remove_free(r);
      return;
    }
  }
  if (at >= 0) {
    ks__delta_add_free(&s->files[at]); /* path NULL: a hole */
    index_of(s, FILES)->holes++;
  }
  ks__delta_snapshot_untomb(s, r->path);
  if (s->nremoves == s->cap_removes) {
    s->cap_removes = s->cap_removes ? s->cap_removes * 2 : 16;
    s->removes = ks_realloc(s->removes, s->cap_removes * sizeof *s->removes);
  }
  s->removes[s->nremoves++] = *r;
  memset(r, 0, sizeof *r);
  index_append(s, TOMBS);
}

void ks__delta_snapshot_compact(ks_delta_snapshot *s) {
  if (s->index_ == NULL)
    return;
  path_index *fx = index_of(s, FILES), *tx = index_of(s, TOMBS);
  if (fx->holes) {
    size_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++)
      if (s->files[i].path)
        s->files[n++] = s->files[i];
    s->nfiles = n;
    fx->holes = 0;
    index_rebuild(s, FILES, fx->cap);
  }
  if (tx->holes) {
    size_t n = 0;
    for (size_t i = 0; i < s->nremoves; i++)
      if (s->removes[i].path)
        s->removes[n++] = s->removes[i];
    s->nremoves = n;
    tx->holes = 0;
    index_rebuild(s, TOMBS, tx->cap);
  }
}

/* A tombstone whose path is added or removed again goes (the newer
 * action replaces it): a hole until compaction, like a removed file. */
void ks__delta_snapshot_untomb(ks_delta_snapshot *s, const char *path) {
  long at = index_find(s, TOMBS, path);
  if (at < 0)
    return;
  ks__delta_remove_free(&s->removes[at]);
  index_of(s, TOMBS)->holes++;
}

static void apply_txn(ks_delta_snapshot *s, yajl_val a) {
  int64_t version = 0, last = 0;
  int_field(a, "version", &version);
  int_field(a, "lastUpdated", &last);
  ks__delta_snapshot_txn(s, str_field(a, "appId"), version, last);
}

void ks__delta_snapshot_txn(ks_delta_snapshot *s, const char *app,
                            int64_t version, int64_t last) {
  for (size_t i = 0; i < s->ntxns; i++) {
    if (strcmp(s->txns[i].app_id, app) == 0) {
      s->txns[i].version = version;
      s->txns[i].last_updated = last;
      return;
    }
  }
  if (s->ntxns == s->cap_txns) {
    s->cap_txns = s->cap_txns ? s->cap_txns * 2 : 16;
    s->txns = ks_realloc(s->txns, s->cap_txns * sizeof *s->txns);
  }
  s->txns[s->ntxns++] =
      (ks_delta_txn){.app_id = ks_strdup(app), .version = version,
                     .last_updated = last};
}

static void apply_metadata(ks_delta_snapshot *s, yajl_val a) {
  ks_delta_metadata m;
  memset(&m, 0, sizeof m);
  m.id = ks_strdup(str_field(a, "id"));
  const char *nm = str_field(a, "name"), *desc = str_field(a, "description");
  m.name = nm ? ks_strdup(nm) : NULL;
  m.description = desc ? ks_strdup(desc) : NULL;
  m.schema_string = ks_strdup(str_field(a, "schemaString"));
  yajl_val pc = ks__delta_json_field(a, "partitionColumns");
  m.npartition_columns = pc->u.array.len;
  m.partition_columns =
      m.npartition_columns
          ? ks_calloc(m.npartition_columns, sizeof *m.partition_columns)
          : NULL;
  for (size_t i = 0; i < m.npartition_columns; i++)
    m.partition_columns[i] = ks_strdup(YAJL_GET_STRING(pc->u.array.values[i]));
  int_field(a, "createdTime", &m.created_time);
  str_map_copy(ks__delta_json_field(a, "configuration"), &m.conf_keys,
               &m.conf_values, &m.nconf);
  ks__delta_metadata_free(&s->metadata);
  s->metadata = m;
  s->has_metadata = 1;
}

static void apply_action(ks_delta_snapshot *s, const char *kind, yajl_val a) {
  if (strcmp(kind, "add") == 0)
    apply_add(s, a);
  else if (strcmp(kind, "remove") == 0)
    apply_remove(s, a);
  else if (strcmp(kind, "txn") == 0)
    apply_txn(s, a);
  else if (strcmp(kind, "metaData") == 0)
    apply_metadata(s, a);
  else if (strcmp(kind, "protocol") == 0) {
    int64_t r = 0, w = 0;
    int_field(a, "minReaderVersion", &r);
    int_field(a, "minWriterVersion", &w);
    s->has_protocol = 1;
    s->min_reader = (int)r;
    s->min_writer = (int)w;
    ks__delta_apply_protocol(s, a);
  } else if (strcmp(kind, "domainMetadata") == 0) {
    const char *d = str_field(a, "domain");
    if (d)
      ks__delta_snapshot_domain(
          s, d, str_field(a, "configuration"),
          YAJL_IS_TRUE(ks__delta_json_field(a, "removed")));
  } else if (strcmp(kind, "commitInfo") == 0) {
    int64_t ict;
    if (int_field(a, "inCommitTimestamp", &ict))
      s->last_ict = ict;
  }
}

/* ---- entry ------------------------------------------------------------------ */

static int corrupt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int corrupt(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return KS_ECORRUPT;
}

int ks_delta_snapshot_apply(ks_delta_snapshot *s, int64_t version,
                            const uint8_t *json, size_t len, char *err,
                            size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if (version != s->version + 1)
    return corrupt(err, errlen,
                   "version %" PRId64 ": expected version %" PRId64
                   " next (a log entry is missing)",
                   version, s->version + 1);

  /* Phase 1: parse and validate every line; nothing is applied yet. */
  yajl_val *lines = NULL;
  size_t nlines = 0, cap = 0;
  ks_buf line;
  ks_buf_init(&line, 0);
  int rc = 0;
  size_t lineno = 0;
  for (size_t pos = 0; pos < len && rc == 0;) {
    const uint8_t *nl = memchr(json + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - json) : len;
    size_t n = end - pos;
    lineno++;
    if (n && json[pos + n - 1] == '\r')
      n--;
    ks_buf_reset(&line);
    ks_buf_append(&line, json + pos, n);
    ks_buf_cstr(&line);
    pos = end + 1;
    size_t ws = strspn((char *)line.data, " \t");
    if (ws == n)
      continue; /* blank line (the final newline) */
    if (memchr(line.data, '\0', n)) {
      rc = corrupt(err, errlen,
                   "version %" PRId64 " line %zu: NUL byte in the log entry",
                   version, lineno);
      break;
    }
    char perr[256];
    yajl_val v = ks_json_tree_parse((char *)line.data, KS_JSON_MAX_DEPTH, perr, sizeof perr);
    if (v == NULL || !YAJL_IS_OBJECT(v)) {
      if (v == NULL) {
        perr[strcspn(perr, "\n")] = '\0';
        rc = corrupt(err, errlen, "version %" PRId64 " line %zu: %s", version,
                     lineno, perr);
      } else {
        rc = corrupt(err, errlen,
                     "version %" PRId64 " line %zu: expected a JSON object",
                     version, lineno);
      }
      ks_json_tree_free(v);
      break;
    }
    for (size_t i = 0; i < v->u.object.len; i++) {
      const char *msg = check_action(v->u.object.keys[i],
                                     v->u.object.values[i]);
      if (msg) {
        rc = corrupt(err, errlen, "version %" PRId64 " line %zu: %s",
                     version, lineno, msg);
        break;
      }
    }
    if (nlines == cap) {
      cap = cap ? cap * 2 : 16;
      lines = ks_realloc(lines, cap * sizeof *lines);
    }
    lines[nlines++] = v;
  }
  ks_buf_free(&line);

  if (rc == 0 && version == 0) {
    int has_p = 0, has_m = 0;
    for (size_t i = 0; i < nlines; i++) {
      has_p |= ks__delta_json_field(lines[i], "protocol") != NULL;
      has_m |= ks__delta_json_field(lines[i], "metaData") != NULL;
    }
    if (!has_p || !has_m)
      rc = corrupt(err, errlen,
                   "version 0: the first log entry has no %s action",
                   has_p ? "metaData" : "protocol");
  }

  /* Phase 2: apply, in file order. */
  if (rc == 0)
    s->last_ict = -1; /* this commit's, when it states one */
  for (size_t i = 0; i < nlines; i++) {
    if (rc == 0)
      for (size_t k = 0; k < lines[i]->u.object.len; k++)
        apply_action(s, lines[i]->u.object.keys[k],
                     lines[i]->u.object.values[k]);
    ks_json_tree_free(lines[i]);
  }
  ks__delta_snapshot_compact(s);
  ks_free(lines);
  if (rc == 0)
    s->version = version;
  return rc;
}
