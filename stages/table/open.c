/*
 * Opening a table at start-up: its schema (a schema file, or schemaless:
 * the columns its log has learnt so far), its trees with the _kafka_*
 * columns, its layout (partitioning, schemaString), schema evolution
 * against an existing Delta table, and which lane commits it.
 */
#include "stages/table/table.h"
#include "base/log.h"
#include "stages/record/infer.h"
#include "stages/table/colmap.h"
#include "stages/table/evolve.h"
#include "stages/table/layout.h"
#include "stages/table/schemaless.h"
#include "stages/table/snapshot.h"
#include "storage/delta/delta.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The _kafka_* columns every row carries after the schema's columns. */
static const ks_colspec meta_cols[] = {
    {"_kafka_topic", KS_COL_STRING, 0},
    {"_kafka_partition", KS_COL_INT32, 0},
    {"_kafka_offset", KS_COL_INT64, 0},
    {"_kafka_timestamp", KS_COL_TIMESTAMP, 1},
};

/* The same, nullable, for a table that exists without them: columns added
 * to a table that has rows must be nullable (its old rows read null). */
static const ks_colspec meta_cols_nullable[] = {
    {"_kafka_topic", KS_COL_STRING, 1},
    {"_kafka_partition", KS_COL_INT32, 1},
    {"_kafka_offset", KS_COL_INT64, 1},
    {"_kafka_timestamp", KS_COL_TIMESTAMP, 1},
};

/* The _kafka_* columns of t: base (the four every table has), then the
 * key column and the headers columns when the table has them (always
 * nullable: a record may have no key or headers). Sets t->nmeta. */
static const ks_colspec *meta_of(ks_table *t, const ks_colspec *base) {
  const ks_conf_table *tc = t->conf;
  size_t n = KS_ARRAY_SIZE(meta_cols);
  if (tc->key_format == KS_KEY_NONE && tc->headers_column == NULL) {
    t->nmeta = n;
    return base;
  }
  ks_free(t->own_meta);
  t->own_meta = ks_calloc(n + 3, sizeof *t->own_meta);
  memcpy(t->own_meta, base, n * sizeof *base);
  if (tc->key_format != KS_KEY_NONE)
    t->own_meta[n++] =
        (ks_colspec){tc->key_column, KS_COL_STRING, 1, KS_SHAPE_FLAT};
  if (tc->headers_column) {
    t->own_meta[n++] =
        (ks_colspec){tc->headers_column, KS_COL_STRING, 1, KS_SHAPE_MAP_STR};
    t->own_meta[n++] =
        (ks_colspec){t->headers_base64, KS_COL_STRING, 1, KS_SHAPE_LIST_STR};
  }
  t->nmeta = n;
  return t->own_meta;
}

/* The table's tree (data columns, then _kafka_*) and its schemaString;
 * run again when schema evolution reorders the data columns. */
static int table_columns(ks_table *t, char *err, size_t errlen) {
  ks_pq_schema *pq =
      ks_schema_table_tree(t->schema, t->meta, t->nmeta, err, errlen);
  if (pq == NULL)
    return KS_ESCHEMA;
  ks_table_layout_free(t); /* before the tree its file columns may share */
  ks_pq_schema_free(t->pq);
  t->pq = pq;
  t->ncols = ks_pq_schema_nleaves(t->pq);
  t->ndata = ks_schema_ncolumns(t->schema);
  ks_free(t->schema_string);
  t->schema_string = NULL;
  /* partitioning, the files' columns and the schemaString */
  return ks_table_layout_setup(t->conf_file, t, err, errlen);
}

typedef struct schema_look {
  char *schema_string; /* the table's, NULL: no table yet */
  char *partitioned;   /* its first partition column, NULL: none */
  char refused[400];   /* why ksink cannot append ("": it can) */
  int mapped;          /* column mapping is on */
  char **parts;        /* every partition column */
  size_t nparts;
} schema_look;

static void look_at_schema(void *arg, const ks_delta_snapshot *s) {
  schema_look *l = arg;
  ks_delta_protocol_check(s, l->refused, sizeof l->refused);
  const char *mode = ks_delta_snapshot_conf(s, "delta.columnMapping.mode");
  l->mapped = mode && strcmp(mode, "none") != 0;
  if (s->version >= 0 && s->has_metadata) {
    l->schema_string = ks_strdup(s->metadata.schema_string);
    if (s->metadata.npartition_columns)
      l->partitioned = ks_strdup(s->metadata.partition_columns[0]);
    l->nparts = s->metadata.npartition_columns;
    l->parts = ks_calloc(l->nparts + 1, sizeof(char *));
    for (size_t i = 0; i < l->nparts; i++)
      l->parts[i] = ks_strdup(s->metadata.partition_columns[i]);
  }
}

/* No schema file and no add_columns, an existing Delta table: its columns
 * (schemaString, through the schemaless mapping of stages/record/infer.c)
 * are the table's schema; records are checked against them. 0, ENOENT
 * when there is no table (the schemaless rules then apply), or the error
 * with err. */
static int start_from_table(const ks_conf *conf, ks_table *t, char *err,
                            size_t errlen) {
  const ks_conf_table *tc = t->conf;
  schema_look l = {0};
  int r = ks_table_with_snapshot(conf, t, look_at_schema, &l, err, errlen);
  if (r == 0 && l.schema_string == NULL)
    r = KS_ENOENT;
  if (r == 0 && l.refused[0]) {
    snprintf(err, errlen,
             "table %s: ksink cannot append to the Delta table at %s: %s",
             tc->name, tc->path, l.refused);
    r = KS_EUNSUPPORTED;
  }
  ks_infer_node *tree = NULL;
  char why[512] = "";
  if (r == 0) {
    ks_pq_schema *pq = NULL;
    const char *names[8];
    for (size_t i = 0; i < t->nmeta && i < 8; i++)
      names[i] = t->meta[i].name;
    r = ks_delta_schema_parse(l.schema_string, &pq, why, sizeof why);
    if (r == 0)
      r = ks_infer_from_tree(pq, names, t->nmeta, &tree, why, sizeof why);
    if (r == 0)
      r = ks_infer_compile(tree, tc->name, &t->schema, why, sizeof why);
    ks_pq_schema_free(pq);
    ks_infer_free(tree);
    if (r) {
      snprintf(err, errlen,
               "%s:%d: tables[%d] (%s): no schema given and the columns of "
               "the table at %s cannot be written: %s; give the table a "
               "schema",
               t->conf_file, tc->line, t->index, tc->name, tc->path, why);
      r = KS_ECONFIG;
    }
  }
  /* a table that already has the _kafka_* columns (written by ksink) keeps
   * their form: required when ksink created it with them */
  if (r == 0 && !strstr(l.schema_string,
                        "\"name\":\"_kafka_offset\",\"type\":\"long\","
                        "\"nullable\":false"))
    t->meta = meta_of(t, meta_cols_nullable);
  /* no partition_by: the table's partition columns (a copy of the
   * table's config that says so; the partitioner reads it) */
  if (r == 0 && l.nparts && tc->npartition_by == 0 && !tc->path_format &&
      tc->nderive == 0) {
    ks_conf_table *own = ks_calloc(1, sizeof *own);
    *own = *tc;
    own->partition_by = l.parts;
    own->npartition_by = l.nparts;
    own->partition_by_line = tc->line;
    l.parts = NULL;
    t->own_conf = own;
    t->conf = own;
  }
  for (size_t i = 0; l.parts && i < l.nparts; i++)
    ks_free(l.parts[i]);
  ks_free(l.parts);
  ks_free(l.schema_string);
  ks_free(l.partitioned);
  if (r == 0)
    t->from_table = 1;
  return r;
}

/* Schemaless (no schema file): the table's columns so far, learnt by
 * earlier runs, become the first generation. */
static int start_schemaless(const ks_conf *conf, ks_table *t, char *err,
                            size_t errlen) {
  const ks_conf_table *tc = t->conf;
  const char *why = NULL;
  if (tc->format != KS_FORMAT_DELTA)
    why = "schemaless mode (no schema: columns learnt from the records) "
          "writes Delta tables; format parquet and jsonl need a JSON Schema";
  else if (!tc->add_columns)
    why = "without a schema the columns are learnt from the records, which "
          "needs schema_evolution: add_columns (new fields add columns)";
  else if (tc->npartition_by || tc->nderive)
    why = "schemaless tables are not partitioned (partition_by and derive "
          "need a schema that declares their fields)";
  if (why) {
    snprintf(err, errlen, "%s:%d: tables[%d].schema: %s", t->conf_file,
             tc->line, t->index, why);
    return KS_ECONFIG;
  }
  schema_look l = {0};
  int r = ks_table_with_snapshot(conf, t, look_at_schema, &l, err, errlen);
  for (size_t i = 0; l.parts && i < l.nparts; i++) /* not used here */
    ks_free(l.parts[i]);
  ks_free(l.parts);
  if (r == 0 && l.refused[0]) {
    snprintf(err, errlen,
             "table %s: ksink cannot append to the Delta table at %s: %s",
             tc->name, tc->path, l.refused);
    r = KS_EUNSUPPORTED;
  }
  if (r == 0 && l.mapped) {
    snprintf(err, errlen,
             "table %s: the Delta table at %s uses column mapping; "
             "schemaless mode does not give new columns ids (give the "
             "table a schema, or omit schema_evolution: add_columns to "
             "append with the table's columns)",
             tc->name, tc->path);
    r = KS_EUNSUPPORTED;
  }
  if (r == 0 && l.partitioned) {
    snprintf(err, errlen,
             "%s:%d: tables[%d] (%s): the table at %s is partitioned by %s; "
             "schemaless tables are not partitioned: give the table its "
             "schema and partition_by",
             t->conf_file, tc->line, t->index, tc->name, tc->path,
             l.partitioned);
    r = KS_ECONFIG;
  }
  if (r == 0)
    r = ks_schemaless_start(t, l.schema_string, err, errlen);
  ks_free(l.schema_string);
  ks_free(l.partitioned);
  if (r)
    return r;
  t->schemaless = 1;
  /* the first generation's columns are the table's starting columns */
  const ks_table_schema *g = atomic_load(&t->live);
  return ks_infer_compile(g->tree, tc->name, &t->schema, err, errlen);
}

/* delta.parquet.compression.codec -> the codec, or -1 for other values */
int ks_table_codec_of(const char *v) {
  static const struct {
    const char *name;
    ks_codec codec;
  } names[] = {{"snappy", KS_CODEC_SNAPPY},      {"zstd", KS_CODEC_ZSTD},
               {"gzip", KS_CODEC_GZIP},          {"none", KS_CODEC_NONE},
               {"uncompressed", KS_CODEC_NONE}};
  for (size_t i = 0; v && i < KS_ARRAY_SIZE(names); i++)
    if (strcasecmp(v, names[i].name) == 0)
      return (int)names[i].codec;
  return -1;
}

int ks_table_open(const ks_conf *conf, size_t i, ks_schema *given, int nlanes,
                  ks_table *t, char *err, size_t errlen) {
  t->index = (int)i;
  t->conf = &conf->tables[i];
  t->codec = t->conf->codec;
  for (size_t k = 0; t->conf->format == KS_FORMAT_DELTA &&
                     k < t->conf->nproperties; k++)
    if (strcmp(t->conf->properties[k].key,
               "delta.parquet.compression.codec") == 0 &&
        ks_table_codec_of(t->conf->properties[k].value) >= 0)
      t->codec = (ks_codec)ks_table_codec_of(t->conf->properties[k].value);
  t->conf_file = conf->file;
  t->start_version = -1;
  if (t->conf->headers_column) {
    size_t n = strlen(t->conf->headers_column) + 8;
    t->headers_base64 = ks_malloc(n);
    snprintf(t->headers_base64, n, "%s_base64", t->conf->headers_column);
  }
  t->nmeta = KS_ARRAY_SIZE(meta_cols);
  t->meta = meta_of(t, meta_cols);
  int r;
  if (given) {
    t->schema = given;
  } else if (t->conf->schema_path == NULL) {
    r = t->conf->format == KS_FORMAT_DELTA && !t->conf->add_columns
            ? start_from_table(conf, t, err, errlen)
            : KS_ENOENT;
    if (r == KS_ENOENT)
      r = start_schemaless(conf, t, err, errlen);
    if (r)
      return r;
  } else if ((r = ks_schema_load_file(t->conf->schema_path, &t->schema, err,
                                      errlen))) {
    return r;
  }
  if ((r = table_columns(t, err, errlen)))
    return r;
  t->ndata = ks_schema_ncolumns(t->schema);
  t->nprops = t->conf->nproperties;
  t->prop_keys = ks_calloc(t->nprops + 1, sizeof(char *));
  t->prop_values = ks_calloc(t->nprops + 1, sizeof(char *));
  for (size_t k = 0; k < t->nprops; k++) {
    t->prop_keys[k] = t->conf->properties[k].key;
    t->prop_values[k] = t->conf->properties[k].value;
  }
  uint32_t h = 2166136261u;
  for (const char *s = t->conf->name; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  t->committer = (int)(h % (uint32_t)nlanes);
  return 0;
}

static int wants_column_mapping(const ks_table *t) {
  for (size_t i = 0; i < t->conf->ntable_features; i++)
    if (strcmp(t->conf->table_features[i], "columnMapping") == 0)
      return 1;
  return 0;
}

int ks_table_evolve(const ks_conf *conf, ks_table *t, char *err,
                    size_t errlen) {
  if (t->conf->format != KS_FORMAT_DELTA)
    return 0; /* no log */
  if (t->schemaless) {
    if (!wants_column_mapping(t))
      return 0; /* columns taken from the log */
    snprintf(err, errlen,
             "%s:%d: tables[%d] (%s): table_features: columnMapping needs "
             "the table's columns fixed at start-up; schemaless tables learn "
             "theirs (give the table a schema)",
             t->conf_file, t->conf->line, t->index, t->conf->name);
    return KS_ECONFIG;
  }
  /* from_table: the _kafka_* columns join the table's */
  int r = ks_evolve_start(conf, t, table_columns, err, errlen);
  if (r == 0 && t->start_version < 0 && wants_column_mapping(t)) {
    /* a new column-mapped table: every column gets an id and a physical
     * name now, before any file is written; its first commit writes this
     * schemaString */
    ks_buf b;
    ks_buf_init(&b, 0);
    int64_t next_id = 1;
    r = ks_delta_schema_merge("{\"type\":\"struct\",\"fields\":[]}",
                              t->schema_string, &next_id, &b);
    if (r == 0 && (r = ks_buf_cstr(&b)) == 0) {
      ks_free(t->schema_string);
      t->schema_string = (char *)ks_buf_steal(&b, NULL);
      t->mapped_schema = ks_strdup(t->schema_string);
    }
    ks_buf_free(&b);
  }
  if (r == 0 && t->mapped_schema)
    r = ks_table_column_mapping(t, t->mapped_schema, err, errlen);
  return r;
}

int ks_table_follow_registry(ks_table *t, const char *json, size_t len,
                             char *err, size_t errlen) {
  if (t->conf->format != KS_FORMAT_DELTA || t->partitioner ||
      t->mapped_schema || wants_column_mapping(t))
    return 0;
  char name[300];
  snprintf(name, sizeof name, "table %s (registry schema)", t->conf->name);
  return ks_schemaless_start_registry(t, json, len, name, err, errlen);
}

void ks_table_close(ks_table *t) {
  ks_free(t->mapped_schema);
  ks_free(t->checks_sig);
  ks_free(t->layout_sig);
  ks_free(t->own_meta);
  ks_free(t->headers_base64);
  if (t->own_conf) {
    for (size_t i = 0; i < t->own_conf->npartition_by; i++)
      ks_free(t->own_conf->partition_by[i]);
    ks_free(t->own_conf->partition_by);
    ks_free(t->own_conf);
    t->own_conf = NULL;
  }
  ks_table_column_mapping_free(t);
  ks_free(t->prop_keys);
  ks_free(t->prop_values);
  ks_table_layout_free(t);
  ks_schemaless_free(t);
  ks_schema_free(t->schema);
  ks_pq_schema_free(t->pq);
  ks_free(t->schema_string);
}

/* The app_id part of a txn appId of topic, in either spelling, or NULL
 * (malloc'd). */
static char *app_of(const char *id, const char *topic) {
  size_t n = strlen(id), tl = strlen(topic);
  size_t d = n;
  while (d > 0 && id[d - 1] >= '0' && id[d - 1] <= '9')
    d--;
  if (d == n || d < tl + 2)
    return NULL;
  char sep = id[d - 1];
  if ((sep != '/' && sep != '-') || id[d - 2 - tl] != sep ||
      memcmp(id + d - 1 - tl, topic, tl) != 0)
    return NULL;
  return ks_strndup(id, d - 2 - tl);
}

typedef struct app_look {
  const ks_conf *conf;
  ks_table *t;
  char *err;
  size_t errlen;
  int status;
} app_look;

static void look_at_apps(void *arg, const ks_delta_snapshot *s) {
  app_look *l = arg;
  const ks_conf_table *tc = l->t->conf;
  const char *app = l->conf->app_id;
  for (size_t k = 0; k < tc->ntopics && l->status == 0; k++) {
    const char *topic = tc->topics[k];
    int ours = 0, foreign = 0;
    char *other = NULL;
    for (size_t i = 0; i < s->ntxns; i++) {
      char *a = app_of(s->txns[i].app_id, topic);
      if (a == NULL)
        continue;
      if (strcmp(a, app) == 0) {
        ours++;
        ks_free(a);
      } else {
        foreign++;
        if (other == NULL)
          other = a;
        else
          ks_free(a);
      }
    }
    if (foreign) {
      l->t->foreign_txns += foreign;
      ks_log_warn("table %s: %d txns of topic %s are under app_id \"%s\" "
                  "%s, but this process's app_id is \"%s\": the app_id or "
                  "kafka.group.id changed, or another app writes this table",
                  tc->name, foreign, topic, other,
                  ours ? "beside its own" : "and none under its own", app);
    }
    if (foreign && !ours &&
        ks_conf_kafka_get(l->conf, "auto.offset.reset") == NULL) {
      snprintf(l->err, l->errlen,
               "%s:%d: tables[%d] (%s): the table holds topic %s's position "
               "under app_id \"%s\", none under \"%s\": set app_id: %s to "
               "go on where it stopped, or set kafka.auto.offset.reset "
               "(earliest reads the topic again, latest starts at its end)",
               l->conf->file, tc->line, l->t->index, tc->name, topic, other,
               app, other);
      l->status = KS_ECONFIG;
    }
    ks_free(other);
  }
}

int ks_table_check_app_ids(const ks_conf *conf, ks_table *t, char *err,
                           size_t errlen) {
  if (t->conf->format != KS_FORMAT_DELTA)
    return 0;
  app_look l = {conf, t, err, errlen, 0};
  int r = ks_table_with_snapshot(conf, t, look_at_apps, &l, err, errlen);
  return r ? r : l.status;
}

char *ks_table_app_id(const char *app_id, const char *topic, int32_t part) {
  ks_buf id;
  ks_buf_init(&id, 0);
  ks_buf_appendf(&id, "%s/%s/%d", app_id, topic, (int)part);
  return (char *)ks_buf_steal(&id, NULL);
}

char *ks_table_legacy_app_id(const char *app_id, const char *topic,
                             int32_t part) {
  ks_buf id;
  ks_buf_init(&id, 0);
  ks_buf_appendf(&id, "%s-%s-%d", app_id, topic, (int)part);
  return (char *)ks_buf_steal(&id, NULL);
}

char *ks_table_legacy_app_id_in(const ks_delta_snapshot *s,
                                const char *app_id, const char *topic,
                                int32_t part) {
  char *legacy = ks_table_legacy_app_id(app_id, topic, part);
  char *mine = ks_table_app_id(app_id, topic, part);
  for (size_t i = 0; s && i < s->ntxns; i++) {
    const char *id = s->txns[i].app_id;
    const char *p = strrchr(id, '/');
    if (p == NULL || p == id || strcmp(id, mine) == 0)
      continue;
    const char *t = p - 1;
    while (t > id && *t != '/')
      t--;
    if (*t != '/')
      continue;
    /* "<app>/<topic>/<part>" -> "<app>-<topic>-<part>" */
    char *other = ks_strdup(id);
    other[t - id] = '-';
    other[p - id] = '-';
    int same = strcmp(other, legacy) == 0;
    ks_free(other);
    if (same) {
      ks_free(legacy);
      legacy = NULL;
      break;
    }
  }
  ks_free(mine);
  return legacy;
}
