/*
 * Table features (PROTOCOL.md "Table Features"): the reader/writer feature
 * lists of the protocol, domainMetadata, the add fields ksink does not
 * model (deletion vectors, row ids, tags) kept verbatim, and the verdict
 * whether ksink may append to a table.
 *
 * A writer must implement every feature the table lists, so the verdict
 * is a closed list: a feature ksink honours on append (appends carry no
 * deletion vector, commitInfo carries inCommitTimestamp, new adds get row
 * ids, domains and other writers' fields are kept), a feature that is fine
 * while the table does not use it (no invariant in the schema, no CHECK
 * constraint property, no generated or identity column), or a refusal
 * that names the feature and why. An unknown name is refused: appending
 * without understanding it could break the table for its owners.
 */
#include "storage/delta/constraint.h"
#include "storage/delta/delta_int.h"

#include "base/jsontree.h"
#include "base/ks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- feature lists and domains ------------------------------------------ */

static void free_list(char **l, size_t n) {
  for (size_t i = 0; i < n; i++)
    ks_free(l[i]);
  ks_free(l);
}

void ks__delta_set_features(ks_delta_snapshot *s, int which,
                            const char *const *names, size_t n) {
  char ***l = which == 'r' ? &s->reader_features : &s->writer_features;
  size_t *nl = which == 'r' ? &s->nreader_features : &s->nwriter_features;
  free_list(*l, *nl);
  *l = n ? ks_calloc(n, sizeof **l) : NULL;
  *nl = n;
  for (size_t i = 0; i < n; i++)
    (*l)[i] = ks_strdup(names[i]);
}

static void features_from(ks_delta_snapshot *s, int which, yajl_val arr) {
  const char *names[256];
  size_t n = 0;
  if (YAJL_IS_ARRAY(arr))
    for (size_t i = 0; i < arr->u.array.len && n < 256; i++)
      if (YAJL_IS_STRING(arr->u.array.values[i]))
        names[n++] = YAJL_GET_STRING(arr->u.array.values[i]);
  ks__delta_set_features(s, which, names, n);
}

void ks__delta_apply_protocol(ks_delta_snapshot *s, yajl_val a) {
  features_from(s, 'r', ks__delta_json_field(a, "readerFeatures"));
  features_from(s, 'w', ks__delta_json_field(a, "writerFeatures"));
}

void ks__delta_snapshot_domain(ks_delta_snapshot *s, const char *domain,
                               const char *configuration, int removed) {
  size_t i = 0;
  while (i < s->ndomains && strcmp(s->domains[i].domain, domain) != 0)
    i++;
  if (i < s->ndomains) {
    ks_free(s->domains[i].configuration);
    if (removed || configuration == NULL) {
      ks_free(s->domains[i].domain);
      memmove(&s->domains[i], &s->domains[i + 1],
              (s->ndomains - i - 1) * sizeof *s->domains);
      s->ndomains--;
      return;
    }
    s->domains[i].configuration = ks_strdup(configuration);
    return;
  }
  if (removed || configuration == NULL)
    return;
  s->domains = ks_realloc(s->domains, (s->ndomains + 1) * sizeof *s->domains);
  s->domains[s->ndomains++] = (ks_delta_domain){
      .domain = ks_strdup(domain), .configuration = ks_strdup(configuration)};
}

const char *ks_delta_snapshot_domain(const ks_delta_snapshot *s,
                                     const char *domain) {
  for (size_t i = 0; i < s->ndomains; i++)
    if (strcmp(s->domains[i].domain, domain) == 0)
      return s->domains[i].configuration;
  return NULL;
}

int64_t ks_delta_row_id_high_water_mark(const ks_delta_snapshot *s) {
  const char *c = ks_delta_snapshot_domain(s, "delta.rowTracking");
  if (c == NULL)
    return -1;
  yajl_val t = ks_json_tree_parse(c, KS_JSON_MAX_DEPTH, NULL, 0);
  yajl_val v = ks__delta_json_field(t, "rowIdHighWaterMark");
  int64_t hwm = YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
  ks_json_tree_free(t);
  return hwm;
}

static int list_has(char *const *l, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(l[i], name) == 0)
      return 1;
  return 0;
}

int ks_delta_has_feature(const ks_delta_snapshot *s, const char *name) {
  return list_has(s->writer_features, s->nwriter_features, name) ||
         list_has(s->reader_features, s->nreader_features, name);
}

static int conf_true(const ks_delta_snapshot *s, const char *key) {
  const char *v = ks_delta_snapshot_conf(s, key);
  return v && strcasecmp(v, "true") == 0;
}

int ks_delta_row_tracking(const ks_delta_snapshot *s) {
  return s->min_writer >= 7 && ks_delta_has_feature(s, "rowTracking");
}

int ks_delta_in_commit_timestamps(const ks_delta_snapshot *s) {
  return s->min_writer >= 7 && ks_delta_has_feature(s, "inCommitTimestamp") &&
         conf_true(s, "delta.enableInCommitTimestamps");
}

/* ---- add fields kept verbatim ------------------------------------------- */

void ks__delta_json_write(ks_buf *b, yajl_val v) {
  ks_json_tree_write(b, v);
}

static const char *const modelled[] = {"path",       "partitionValues",
                                       "size",       "modificationTime",
                                       "dataChange", "stats"};

static int64_t int_or(yajl_val v, int64_t def) {
  return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : def;
}

void ks__delta_add_extra(ks_delta_add *f, yajl_val a) {
  f->base_row_id = int_or(ks__delta_json_field(a, "baseRowId"), -1);
  f->default_row_commit_version =
      int_or(ks__delta_json_field(a, "defaultRowCommitVersion"), -1);
  yajl_val dv = ks__delta_json_field(a, "deletionVector");
  if (YAJL_IS_OBJECT(dv)) {
    f->dv_cardinality = int_or(ks__delta_json_field(dv, "cardinality"), 0);
    yajl_val st = ks__delta_json_field(dv, "storageType");
    yajl_val p = ks__delta_json_field(dv, "pathOrInlineDv");
    if (YAJL_IS_STRING(st) && YAJL_IS_STRING(p))
      f->dv_file = ks__delta_dv_file(YAJL_GET_STRING(st), YAJL_GET_STRING(p));
    f->dv_id = ks__delta_dv_id_json(dv);
  }
  ks_buf b;
  ks_buf_init(&b, 0);
  for (size_t i = 0; i < a->u.object.len; i++) {
    const char *k = a->u.object.keys[i];
    int known = 0;
    for (size_t j = 0; j < KS_ARRAY_SIZE(modelled); j++)
      known |= strcmp(k, modelled[j]) == 0;
    if (known)
      continue;
    if (b.len)
      ks_buf_append_byte(&b, ',');
    ks_buf_append_json_str(&b, k, strlen(k));
    ks_buf_append_byte(&b, ':');
    ks__delta_json_write(&b, a->u.object.values[i]);
  }
  if (b.len) {
    ks_buf_cstr(&b);
    f->extra = (char *)ks_buf_steal(&b, NULL);
  }
  ks_buf_free(&b);
}

char *ks__delta_dv_id(const char *storage_type, const char *path,
                      int64_t offset) {
  ks_buf b;
  ks_buf_init(&b, 0);
  ks_buf_appendf(&b, "%s%s", storage_type, path);
  if (offset >= 0)
    ks_buf_appendf(&b, "@%" PRId64, offset);
  ks_buf_cstr(&b);
  return (char *)ks_buf_steal(&b, NULL);
}

char *ks__delta_dv_id_json(yajl_val dv) {
  yajl_val st = ks__delta_json_field(dv, "storageType");
  yajl_val p = ks__delta_json_field(dv, "pathOrInlineDv");
  if (!YAJL_IS_STRING(st) || !YAJL_IS_STRING(p))
    return NULL;
  return ks__delta_dv_id(YAJL_GET_STRING(st), YAJL_GET_STRING(p),
                         int_or(ks__delta_json_field(dv, "offset"), -1));
}

/* Z85 (ZeroMQ RFC 32): 5 characters -> 4 bytes, big-endian. */
static const char z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ".-:+=^!/*?&<>()[]{}@%$#";

static int z85_decode(const char *in, size_t n, uint8_t *out) {
  if (n % 5)
    return -1;
  for (size_t i = 0; i < n; i += 5) {
    uint64_t v = 0;
    for (size_t k = 0; k < 5; k++) {
      const char *p = in[i + k] ? strchr(z85_chars, in[i + k]) : NULL;
      if (p == NULL)
        return -1;
      v = v * 85 + (uint64_t)(p - z85_chars);
    }
    if (v > 0xffffffffu)
      return -1;
    for (int k = 0; k < 4; k++)
      out[i / 5 * 4 + (size_t)k] = (uint8_t)(v >> (24 - 8 * k));
  }
  return 0;
}

/* storageType "u": <random prefix><20 chars of Z85 UUID>, the file
 * <prefix>/deletion_vector_<uuid>.bin; "p": a path, kept when relative
 * (absolute URIs point outside the table and are never ksink's to
 * delete); "i": inline, no file. */
char *ks__delta_dv_file(const char *storage_type, const char *p) {
  if (strcmp(storage_type, "p") == 0)
    return strstr(p, "://") || p[0] == '/' ? NULL : ks_delta_path_decode(p);
  if (strcmp(storage_type, "u") != 0)
    return NULL;
  size_t n = strlen(p);
  uint8_t u[16];
  if (n < 20 || z85_decode(p + n - 20, 20, u) != 0)
    return NULL;
  char uuid[37];
  snprintf(uuid, sizeof uuid,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x",
           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
           u[11], u[12], u[13], u[14], u[15]);
  ks_buf b;
  ks_buf_init(&b, 0);
  if (n > 20)
    ks_buf_appendf(&b, "%.*s/", (int)(n - 20), p);
  ks_buf_appendf(&b, "deletion_vector_%s.bin", uuid);
  ks_buf_cstr(&b);
  return (char *)ks_buf_steal(&b, NULL);
}

/* ---- may ksink append? -------------------------------------------------- */

typedef enum { FEAT_OK, FEAT_UNUSED, FEAT_REFUSE } fkind;

typedef struct fdesc {
  const char *name;
  fkind kind;
  const char
      *why; /* FEAT_REFUSE: the reason; FEAT_UNUSED: what would be used */
} fdesc;

/* Every feature name ksink knows; the README's feature table follows it. */
static const fdesc known[] = {
    {"appendOnly", FEAT_OK, NULL},
    {"invariants", FEAT_UNUSED, "delta.invariants"},
    {"checkConstraints", FEAT_UNUSED, "delta.constraints."},
    {"changeDataFeed", FEAT_OK, NULL},
    {"generatedColumns", FEAT_UNUSED, "delta.generationExpression"},
    {"identityColumns", FEAT_UNUSED, "delta.identity.start"},
    {"columnMapping", FEAT_OK, NULL},
    {"deletionVectors", FEAT_OK, NULL},
    {"rowTracking", FEAT_OK, NULL},
    {"inCommitTimestamp", FEAT_OK, NULL},
    {"domainMetadata", FEAT_OK, NULL},
    {"v2Checkpoint", FEAT_OK, NULL},
    {"vacuumProtocolCheck", FEAT_OK, NULL},
    {"timestampNtz", FEAT_OK, NULL},
    {"typeWidening", FEAT_OK, NULL},
    {"clustering", FEAT_OK, NULL},
    {"allowColumnDefaults", FEAT_UNUSED, "CURRENT_DEFAULT"},
    {"icebergCompatV1", FEAT_REFUSE,
     "UniForm tables need Iceberg metadata and materialised partition "
     "values, which ksink does not write"},
    {"icebergCompatV2", FEAT_REFUSE,
     "UniForm tables need Iceberg metadata and materialised partition "
     "values, which ksink does not write"},
    {"icebergCompatV3", FEAT_REFUSE,
     "UniForm tables need Iceberg metadata, which ksink does not write"},
    {"icebergWriterCompatV1", FEAT_REFUSE,
     "UniForm tables need Iceberg metadata, which ksink does not write"},
    {"variantType", FEAT_REFUSE,
     "variant columns (Variant-encoded binary) are not written by ksink"},
    {"variantType-preview", FEAT_REFUSE,
     "a preview feature name (variant columns are not written by ksink)"},
    {"variantShredding", FEAT_REFUSE,
     "shredded variant columns are not written"},
    {"variantShredding-preview", FEAT_REFUSE,
     "a preview feature name (shredded variant columns are not written)"},
    {"typeWidening-preview", FEAT_REFUSE,
     "a preview feature name whose rules are not in PROTOCOL.md"},
    {"liquid", FEAT_REFUSE,
     "the preview name of clustering, whose rules are not in PROTOCOL.md"},
    {"catalogManaged", FEAT_REFUSE,
     "commits go through the table's catalog, not the filesystem log"},
    {"catalogOwned-preview", FEAT_REFUSE,
     "commits go through the table's catalog, not the filesystem log"},
    {"collations-preview", FEAT_REFUSE,
     "collated string columns are not written"},
    {"collations", FEAT_REFUSE, "collated string columns are not written"},
};

/* invariants, checkConstraints and generatedColumns: constraints_verdict */
static const char *uses_message(const char *name) {
  if (strcmp(name, "identityColumns") == 0)
    return "an identity column (delta.identity.*) would need its values "
           "generated";
  if (strcmp(name, "columnMapping") == 0)
    return "column mapping is on (delta.columnMapping.mode name or id): "
           "ksink does not yet write physical column names and field ids";
  return "a column has a DEFAULT value, which ksink does not fill in";
}

/* Whether the table uses what the feature is about. */
static const char *table_uses(const ks_delta_snapshot *s, const fdesc *f) {
  const char *schema = s->has_metadata ? s->metadata.schema_string : NULL;
  if (strcmp(f->name, "columnMapping") == 0) {
    const char *m = ks_delta_snapshot_conf(s, f->why);
    return m && strcmp(m, "none") != 0 ? uses_message(f->name) : NULL;
  }
  return schema && strstr(schema, f->why) ? uses_message(f->name) : NULL;
}

static int refuse(char *err, size_t errlen, const char *name, const char *why) {
  snprintf(err, errlen, "table feature %s: %s", name, why);
  return KS_EUNSUPPORTED;
}

/* Invariants, CHECK constraints and generated columns: accepted when
 * every expression of the feature is one constraint.h evaluates (the
 * pipeline binds and checks them per record); else refused naming it. */
static int constraints_verdict(const ks_delta_snapshot *s, const char *name,
                               char *err, size_t errlen) {
  ks_delta_constraints c;
  char why[300];
  if (ks_delta_constraints_of(s->has_metadata ? s->metadata.schema_string
                                              : NULL,
                              s->metadata.conf_keys, s->metadata.conf_values,
                              s->metadata.nconf, &c, why, sizeof why)) {
    if (strcmp(name, "checkConstraints") == 0)
      return 0; /* the nested invariant is the other feature's refusal */
    return refuse(err, errlen, name, why);
  }
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < c.n; i++) {
    if (strcmp(c.features[i], name) != 0)
      continue;
    ks_delta_expr *e = NULL;
    if (ks_delta_expr_parse(c.sqls[i], &e, why, sizeof why)) {
      char msg[700];
      snprintf(msg, sizeof msg,
               "the %s (%.200s) is not an expression ksink evaluates: %s",
               c.names[i], c.sqls[i], why);
      rc = refuse(err, errlen, name, msg);
    }
    ks_delta_expr_free(e);
  }
  ks_delta_constraints_free(&c);
  return rc;
}

static int check_one(const ks_delta_snapshot *s, const char *name, char *err,
                     size_t errlen) {
  if (strcmp(name, "invariants") == 0 ||
      strcmp(name, "checkConstraints") == 0 ||
      strcmp(name, "generatedColumns") == 0)
    return constraints_verdict(s, name, err, errlen);
  for (size_t i = 0; i < KS_ARRAY_SIZE(known); i++) {
    const fdesc *f = &known[i];
    if (strcmp(f->name, name) != 0)
      continue;
    if (f->kind == FEAT_REFUSE)
      return refuse(err, errlen, name, f->why);
    const char *use = f->kind == FEAT_UNUSED ? table_uses(s, f) : NULL;
    return use ? refuse(err, errlen, name, use) : 0;
  }
  return refuse(err, errlen, name, "not known to ksink");
}

/* What a legacy protocol version implies (PROTOCOL.md "Table Features"). */
static const struct {
  const char *name;
  int since;
} legacy[] = {{"appendOnly", 2},       {"invariants", 2},
              {"checkConstraints", 3}, {"changeDataFeed", 4},
              {"generatedColumns", 4}, {"columnMapping", 5},
              {"identityColumns", 6}};

int ks_delta_protocol_check(const ks_delta_snapshot *s, char *err,
                            size_t errlen) {
  if (err && errlen)
    err[0] = '\0';
  if (!s->has_protocol || s->version < 0)
    return 0;
  if (s->min_reader > 3 || s->min_writer > 7) {
    snprintf(err, errlen,
             "table needs reader v%d / writer v%d; ksink knows protocols up "
             "to reader v3 / writer v7",
             s->min_reader, s->min_writer);
    return KS_EUNSUPPORTED;
  }
  int rc;
  for (size_t i = 0; i < s->nreader_features; i++)
    if ((rc = check_one(s, s->reader_features[i], err, errlen)))
      return rc;
  if (s->min_writer >= 7) {
    for (size_t i = 0; i < s->nwriter_features; i++)
      if ((rc = check_one(s, s->writer_features[i], err, errlen)))
        return rc;
    return 0;
  }
  for (size_t i = 0; i < KS_ARRAY_SIZE(legacy); i++)
    if (s->min_writer >= legacy[i].since &&
        (rc = check_one(s, legacy[i].name, err, errlen)))
      return rc;
  if (s->min_reader == 2 && (rc = check_one(s, "columnMapping", err, errlen)))
    return rc;
  return 0;
}

/* ---- creating a table with features ------------------------------------- */

static const char *const reader_writer[] = {
    "deletionVectors", "v2Checkpoint",        "timestampNtz",
    "typeWidening",    "vacuumProtocolCheck", "columnMapping"};

static const struct {
  const char *feature, *key, *value;
} turns_on[] = {
    {"inCommitTimestamp", "delta.enableInCommitTimestamps", "true"},
    {"rowTracking", "delta.enableRowTracking", "true"},
    {"deletionVectors", "delta.enableDeletionVectors", "true"},
    {"changeDataFeed", "delta.enableChangeDataFeed", "true"},
    {"appendOnly", "delta.appendOnly", "true"},
    {"v2Checkpoint", "delta.checkpointPolicy", "v2"},
    {"columnMapping", "delta.columnMapping.mode", "name"},
};

static void add_name(char ***l, size_t *n, const char *name) {
  if (list_has(*l, *n, name))
    return;
  *l = ks_realloc(*l, (*n + 1) * sizeof **l);
  (*l)[(*n)++] = ks_strdup(name);
}

void ks__delta_conf_set(ks_delta_metadata *m, const char *k, const char *v) {
  for (size_t i = 0; i < m->nconf; i++)
    if (strcmp(m->conf_keys[i], k) == 0) {
      ks_free(m->conf_values[i]);
      m->conf_values[i] = ks_strdup(v);
      return;
    }
  m->conf_keys = ks_realloc(m->conf_keys, (m->nconf + 1) * sizeof(char *));
  m->conf_values = ks_realloc(m->conf_values, (m->nconf + 1) * sizeof(char *));
  m->conf_keys[m->nconf] = ks_strdup(k);
  m->conf_values[m->nconf++] = ks_strdup(v);
}

/* Row tracking may be on only once the materialized row id and row commit
 * version columns have names in the configuration (PROTOCOL.md, Row
 * Tracking); Delta Spark's form of the names, unique per table. ksink
 * writes no such column (it only appends; optimize refuses these tables),
 * but engines that rewrite rows need the names. */
static void name_row_tracking_columns(ks_delta_metadata *m) {
  char uuid[37], name[64];
  ks_delta_uuid(uuid);
  snprintf(name, sizeof name, "_row-id-col-%s", uuid);
  ks__delta_conf_set(m, "delta.rowTracking.materializedRowIdColumnName", name);
  ks_delta_uuid(uuid);
  snprintf(name, sizeof name, "_row-commit-version-col-%s", uuid);
  ks__delta_conf_set(
      m, "delta.rowTracking.materializedRowCommitVersionColumnName", name);
}

void ks_delta_create_protocol(ks_delta_snapshot *s, const char *const *features,
                              size_t n, const char *const *keys,
                              const char *const *values, size_t nconf) {
  s->has_protocol = 1;
  s->min_reader = KS__DELTA_READER_VERSION;
  s->min_writer = KS__DELTA_WRITER_VERSION;
  for (size_t i = 0; i < n; i++) {
    s->min_writer = 7;
    add_name(&s->writer_features, &s->nwriter_features, features[i]);
    if (strcmp(features[i], "rowTracking") == 0)
      add_name(&s->writer_features, &s->nwriter_features, "domainMetadata");
    for (size_t k = 0; k < KS_ARRAY_SIZE(reader_writer); k++)
      if (strcmp(features[i], reader_writer[k]) == 0) {
        s->min_reader = 3;
        add_name(&s->reader_features, &s->nreader_features, features[i]);
      }
    for (size_t k = 0; k < KS_ARRAY_SIZE(turns_on); k++)
      if (strcmp(features[i], turns_on[k].feature) == 0)
        ks__delta_conf_set(&s->metadata, turns_on[k].key, turns_on[k].value);
    if (strcmp(features[i], "rowTracking") == 0)
      name_row_tracking_columns(&s->metadata);
  }
  if (s->min_writer == 7 && s->min_reader == 3 && s->reader_features == NULL)
    s->reader_features = ks_calloc(1, sizeof(char *));
  for (size_t i = 0; i < nconf; i++)
    ks__delta_conf_set(&s->metadata, keys[i], values[i]);
}

static void put_list(ks_buf *b, const char *key, char *const *l, size_t n) {
  ks_buf_appendf(b, ",\"%s\":[", key);
  for (size_t i = 0; i < n; i++) {
    if (i)
      ks_buf_append_byte(b, ',');
    ks_buf_append_json_str(b, l[i], strlen(l[i]));
  }
  ks_buf_append_byte(b, ']');
}

int ks_delta_write_protocol_of(ks_buf *out, const ks_delta_snapshot *s) {
  ks_buf_appendf(out,
                 "{\"protocol\":{\"minReaderVersion\":%d,"
                 "\"minWriterVersion\":%d",
                 s->min_reader, s->min_writer);
  if (s->min_reader >= 3)
    put_list(out, "readerFeatures", s->reader_features, s->nreader_features);
  if (s->min_writer >= 7)
    put_list(out, "writerFeatures", s->writer_features, s->nwriter_features);
  return ks_buf_append_str(out, "}}\n");
}
