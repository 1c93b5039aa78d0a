/*
 * tables: [...] -> ks_conf_table. Each table is a name, the topics it owns
 * (a topic feeds exactly one table, so routing is a lookup, never a
 * choice), where its files go and how they are cut. The errors section
 * takes Kafka Connect's dotted spelling as well as nested mappings, since
 * people copy it from Connect configs.
 */
#include "conf/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const table_keys[] = {"name",
                                         "topics",
                                         "path",
                                         "format",
                                         "schema",
                                         "compression",
                                         "zstd_level",
                                         "rowgroup_bytes",
                                         "max_record_bytes",
                                         "flush",
                                         "errors",
                                         "schema_evolution",
                                         "partition_by",
                                         "derive",
                                         "path_format",
                                         "timestamp_field",
                                         "timezone",
                                         "max_open_partitions",
                                         "cut_retention",
                                         "optimize",
                                         "table_features",
                                         "properties",
                                         "value_format",
                                         "topics_regex",
                                         "key",
                                         "headers",
                                         "null_values",
                                         "transforms",
                                         NULL};
static const char *const value_format_names[] = {"json", "json_schema",
                                                 "avro", NULL};
static const char *const flush_keys[] = {"records", "bytes", "interval", NULL};
static const char *const optimize_keys[] = {"enabled", "target_size",
                                            "min_files", NULL};

static const char *const format_names[] = {"delta", "parquet", "jsonl", NULL};
static const ks_format format_vals[] = {KS_FORMAT_DELTA, KS_FORMAT_PARQUET,
                                        KS_FORMAT_JSONL};
static const char *const codec_names[] = {"snappy", "zstd", "gzip", "none",
                                          NULL};
static const ks_codec codec_vals[] = {KS_CODEC_SNAPPY, KS_CODEC_ZSTD,
                                      KS_CODEC_GZIP, KS_CODEC_NONE};
static const char *const tolerance_names[] = {"all", "none", NULL};
static const char *const evolution_names[] = {"none", "add_columns", NULL};

/* The errors section, flattened to dotted names: inner names may hold a
 * mapping, leaves hold the values. */
static const char *const errors_inner[] = {"deadletterqueue",
                                           "deadletterqueue.topic",
                                           "deadletterqueue.context",
                                           "deadletterqueue.context.headers",
                                           "deadletter",
                                           "log",
                                           "log.include",
                                           NULL};
/* Kafka Connect's names; leaves[i] is read into errors_state.line[i]. */
static const char *const errors_leaves[] = {
    "tolerance",
    "deadletterqueue.topic.name",
    "deadletterqueue.context.headers.enable",
    "log.enable",
    "log.include.messages",
    "deadletter.path",
    NULL};
static const char *const errors_all[] = {
    "tolerance",
    "deadletterqueue",
    "deadletterqueue.topic",
    "deadletterqueue.topic.name",
    "deadletterqueue.context",
    "deadletterqueue.context.headers",
    "deadletterqueue.context.headers.enable",
    "log",
    "log.enable",
    "log.include",
    "log.include.messages",
    "deadletter",
    "deadletter.path",
    NULL};
static const char *const bool_names[] = {"false", "true", NULL};

void ks__conf_table_free(ks_conf_table *t) {
  ks_free(t->name);
  for (size_t i = 0; i < t->ntopics; i++)
    ks_free(t->topics[i]);
  ks_free(t->topics);
  ks_free(t->path);
  ks_free(t->schema_path);
  ks_free(t->dlq_topic);
  ks_free(t->deadletter_path);
  ks__conf_partition_free(t);
  ks__conf_features_free(t);
  ks__conf_record_free(t);
}

static int in_list(const char *s, const char *const *list) {
  for (size_t i = 0; list[i]; i++)
    if (strcmp(s, list[i]) == 0)
      return 1;
  return 0;
}

static int valid_name(const char *s) {
  for (const char *p = s; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
          (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return s[0] != '\0';
}

static int check_path(ks__conf_ctx *c, const ks__conf_node *v,
                      const char *path);

/* a inside b: equal, or b followed by '/' */
static int path_within(const char *a, const char *b) {
  size_t n = strlen(b);
  return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* Error files must not land inside the table (Delta readers would list
 * them) nor hold the table. */
static int check_deadletter_path(ks__conf_ctx *c, const ks__conf_node *v,
                                 const ks_conf_table *t) {
  char shown[128];
  KS__CONF_CALL(check_path(c, v, t->deadletter_path));
  if (t->deadletter_path[0] == '\0')
    return ks__conf_fail(c, v->line,
                         "expected a directory relative to storage.url like "
                         "\"errors/%s\", got an empty string",
                         t->name);
  const char *tp = t->path ? t->path : t->name;
  if (path_within(t->deadletter_path, tp) ||
      path_within(tp, t->deadletter_path))
    return ks__conf_fail(
        c, v->line,
        "%s overlaps the table's path \"%s\"; expected a "
        "directory outside the table like \"errors/%s\"",
        ks__conf_show(c, t->deadletter_path, shown, sizeof shown), tp, t->name);
  return 0;
}

typedef struct errors_state {
  int line[6]; /* where each of errors_leaves was set */
} errors_state;

static int load_errors(ks__conf_ctx *c, const ks__conf_node *map,
                       const char *prefix, ks_conf_table *t, errors_state *st) {
  char full[256];
  for (size_t i = 0; i < map->n; i++) {
    const ks__conf_node *k = map->keys[i], *v = map->vals[i];
    snprintf(full, sizeof full, "%s%s%s", prefix, prefix[0] ? "." : "",
             k->text);
    size_t saved = ks__conf_path_push(c, k->text);
    if (in_list(full, errors_inner)) {
      if (!ks__conf_is_null(v)) {
        KS__CONF_CALL(ks__conf_expect_map(c, v, "a mapping"));
        KS__CONF_CALL(load_errors(c, v, full, t, st));
      }
    } else if (in_list(full, errors_leaves)) {
      size_t leaf = 0;
      while (strcmp(errors_leaves[leaf], full) != 0)
        leaf++;
      int *seen = &st->line[leaf];
      if (*seen)
        return ks__conf_fail(c, k->line, "set twice (also at line %d)", *seen);
      *seen = k->line;
      int *flags[] = {NULL,
                      NULL,
                      &t->dlq_context_headers,
                      &t->errors_log,
                      &t->errors_log_messages,
                      NULL};
      if (leaf == 0) {
        int idx = 0;
        if (!ks__conf_is_null(v))
          KS__CONF_CALL(ks__conf_enum(c, v, tolerance_names, &idx));
        t->errors_tolerate_all = idx == 0;
      } else if (leaf == 1) {
        KS__CONF_CALL(ks__conf_str(c, v, &t->dlq_topic));
      } else if (leaf == 5) {
        KS__CONF_CALL(ks__conf_str(c, v, &t->deadletter_path));
        if (t->deadletter_path)
          KS__CONF_CALL(check_deadletter_path(c, v, t));
      } else if (!ks__conf_is_null(v)) {
        KS__CONF_CALL(ks__conf_enum(c, v, bool_names, flags[leaf]));
      }
    } else {
      /* Suggest among the full dotted names, print relative to prefix. */
      const char *hint = ks__conf_suggest(full, errors_all);
      size_t plen = strlen(prefix);
      if (hint && plen && strncmp(hint, prefix, plen) == 0 && hint[plen] == '.')
        hint += plen + 1;
      if (hint)
        return ks__conf_fail(c, k->line, "unknown key (did you mean \"%s\"?)",
                             hint);
      return ks__conf_fail(c, k->line, "unknown key");
    }
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

static int load_topics(ks__conf_ctx *c, const ks__conf_node *v,
                       ks_conf_table *t, const ks_conf *conf) {
  if (v->kind != KS__CONF_SEQ || v->n == 0)
    return ks__conf_fail(c, v->line,
                         "expected a non-empty sequence of Kafka topics like "
                         "[user-events], got %s",
                         v->kind == KS__CONF_SEQ ? "an empty one"
                                                 : ks__conf_kind_name(v));
  t->topics = ks_calloc(v->n, sizeof(char *));
  for (size_t i = 0; i < v->n; i++) {
    const ks__conf_node *item = v->vals[i];
    char *topic = NULL;
    size_t saved = ks__conf_path_push_index(c, i);
    if (ks__conf_is_null(item) || item->kind != KS__CONF_SCALAR)
      return ks__conf_fail(
          c, item->line, "expected a topic name, got %s",
          item->kind == KS__CONF_SCALAR ? "nothing" : ks__conf_kind_name(item));
    KS__CONF_CALL(ks__conf_str(c, item, &topic));
    if (topic == NULL)
      return ks__conf_fail(c, item->line, "expected a topic name, got \"\"");
    if (topic[0] == '^') {
      /* librdkafka subscribes to a name starting with ^ as a regex, which
       * would route nothing */
      char shown[128];
      int r = ks__conf_fail(c, item->line,
                            "%s starts with ^, which Kafka clients read as a "
                            "regular expression; write it as topics_regex",
                            ks__conf_show(c, topic, shown, sizeof shown));
      ks_free(topic);
      return r;
    }
    t->topics[t->ntopics++] = topic;
    for (size_t j = 0; j + 1 < t->ntopics; j++)
      if (strcmp(t->topics[j], topic) == 0)
        return ks__conf_fail(
            c, item->line, "topic \"%s\" is listed twice in this table", topic);
    for (size_t ti = 0; ti < conf->ntables; ti++) {
      const ks_conf_table *o = &conf->tables[ti];
      for (size_t j = 0; j < o->ntopics; j++)
        if (strcmp(o->topics[j], topic) == 0)
          return ks__conf_fail(c, item->line,
                               "topic \"%s\" already belongs to table \"%s\" "
                               "(line %d); a topic feeds one table only",
                               topic, o->name, o->line);
    }
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

/* As written when it exists relative to the current directory (or is
 * absolute), else relative to the config file's directory. */
static int resolve_schema(ks__conf_ctx *c, const ks__conf_node *v, char **out) {
  char *s, shown[128];
  struct stat st;
  KS__CONF_CALL(ks__conf_str(c, v, &s));
  if (s == NULL)
    return 0;
  int found = stat(s, &st) == 0;
  int e = errno;
  if (!found && s[0] != '/' && c->dir) {
    size_t n = strlen(c->dir) + strlen(s) + 2;
    char *alt = ks_malloc(n);
    snprintf(alt, n, "%s/%s", c->dir, s);
    if (stat(alt, &st) == 0) {
      ks_free(s);
      s = alt;
      found = 1;
    } else {
      ks_free(alt);
    }
  }
  if (found && S_ISDIR(st.st_mode)) {
    found = 0;
    e = EISDIR;
  } else if (found && access(s, R_OK) != 0) {
    found = 0;
    e = errno;
  }
  if (!found) {
    int r;
    if (c->dir && s[0] != '/')
      r = ks__conf_fail(c, v->line,
                        "cannot read schema file %s (looked relative to the "
                        "current directory and to \"%s\"): %s",
                        ks__conf_show(c, s, shown, sizeof shown), c->dir,
                        strerror(e));
    else
      r = ks__conf_fail(c, v->line, "cannot read schema file %s: %s",
                        ks__conf_show(c, s, shown, sizeof shown), strerror(e));
    ks_free(s);
    return r;
  }
  *out = s;
  return 0;
}

static int check_path(ks__conf_ctx *c, const ks__conf_node *v,
                      const char *path) {
  char shown[128];
  const char *p = path;
  int bad = path[0] == '/';
  while (!bad && (p = strstr(p, "..")) != NULL) {
    bad = (p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/');
    p += 2;
  }
  if (!bad)
    return 0;
  return ks__conf_fail(c, v->line,
                       "expected a path relative to storage.url without "
                       "\"..\", got %s",
                       ks__conf_show(c, path, shown, sizeof shown));
}

static int load_flush(ks__conf_ctx *c, const ks__conf_node *map,
                      ks_conf_table *t) {
  const ks__conf_node *v;
  size_t saved;
  KS__CONF_CALL(ks__conf_expect_map(c, map,
                                    "a mapping like { records: 500000, "
                                    "bytes: 128MiB, interval: 30s }"));
  KS__CONF_CALL(ks__conf_check_keys(c, map, flush_keys));
  if ((v = ks__conf_get(map, "records")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "records");
    KS__CONF_CALL(ks__conf_int(c, v, 1, INT64_MAX, &t->flush_records));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "bytes")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "bytes");
    KS__CONF_CALL(ks__conf_size(c, v, 1, &t->flush_bytes));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "interval")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "interval");
    KS__CONF_CALL(ks__conf_duration(c, v, 1, &t->flush_interval_ms));
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

static int load_optimize(ks__conf_ctx *c, const ks__conf_node *map,
                         ks_conf_table *t) {
  const ks__conf_node *v;
  size_t saved;
  KS__CONF_CALL(
      ks__conf_expect_map(c, map,
                          "a mapping like { enabled: true, target_size: "
                          "256MiB, min_files: 10 }"));
  KS__CONF_CALL(ks__conf_check_keys(c, map, optimize_keys));
  if ((v = ks__conf_get(map, "enabled")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "enabled");
    KS__CONF_CALL(ks__conf_enum(c, v, bool_names, &t->optimize_enabled));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "target_size")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "target_size");
    KS__CONF_CALL(ks__conf_size(c, v, 1, &t->optimize_target_size));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "min_files")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "min_files");
    KS__CONF_CALL(ks__conf_int(c, v, 2, INT64_MAX, &t->optimize_min_files));
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

static int load_table(ks__conf_ctx *c, const ks__conf_node *map,
                      ks_conf_table *t, const ks_conf *conf) {
  const ks__conf_node *v;
  size_t saved;
  int idx;

  t->line = map->line;
  t->format = KS_FORMAT_DELTA;
  t->codec = KS_CODEC_SNAPPY;
  t->zstd_level = 3;
  t->flush_records = 500000;
  t->flush_bytes = INT64_C(128) << 20;
  t->flush_interval_ms = 30 * 1000;
  t->rowgroup_bytes = INT64_C(128) << 20;
  t->max_record_bytes = INT64_C(8) << 20;
  t->errors_tolerate_all = 1;
  t->optimize_target_size = INT64_C(256) << 20;
  t->optimize_min_files = 10;

  KS__CONF_CALL(ks__conf_expect_map(c, map, "a mapping with name and topics"));
  KS__CONF_CALL(ks__conf_check_keys(c, map, table_keys));

  v = ks__conf_get(map, "name");
  saved = ks__conf_path_push(c, "name");
  if (v)
    KS__CONF_CALL(ks__conf_str(c, v, &t->name));
  if (t->name == NULL)
    return ks__conf_fail(c, ks__conf_key_line(map, "name", map->line),
                         "missing; expected a table name made of "
                         "[A-Za-z0-9_]");
  if (!valid_name(t->name)) {
    char shown[128];
    return ks__conf_fail(c, v->line,
                         "expected a table name made of [A-Za-z0-9_], got %s",
                         ks__conf_show(c, t->name, shown, sizeof shown));
  }
  for (size_t i = 0; i < conf->ntables; i++)
    if (strcmp(conf->tables[i].name, t->name) == 0)
      return ks__conf_fail(c, v->line,
                           "duplicate table name \"%s\" (first at line %d)",
                           t->name, conf->tables[i].line);
  ks__conf_path_pop(c, saved);

  KS__CONF_CALL(ks__conf_load_record(c, map, t));
  v = ks__conf_get(map, "topics");
  saved = ks__conf_path_push(c, "topics");
  if ((v == NULL || ks__conf_is_null(v)) && t->topics_regex == NULL)
    return ks__conf_fail(c, ks__conf_key_line(map, "topics", map->line),
                         "missing; expected a non-empty sequence of Kafka "
                         "topics like [user-events], or topics_regex");
  if (v && !ks__conf_is_null(v))
    KS__CONF_CALL(load_topics(c, v, t, conf));
  ks__conf_path_pop(c, saved);

  if ((v = ks__conf_get(map, "path")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "path");
    KS__CONF_CALL(ks__conf_str(c, v, &t->path));
    if (t->path)
      KS__CONF_CALL(check_path(c, v, t->path));
    ks__conf_path_pop(c, saved);
  }
  if (t->path == NULL)
    t->path = ks_strdup(t->name);

  if ((v = ks__conf_get(map, "format")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "format");
    KS__CONF_CALL(ks__conf_enum(c, v, format_names, &idx));
    t->format = format_vals[idx];
    ks__conf_path_pop(c, saved);
  }
  if (t->format == KS_FORMAT_JSONL &&
      (t->key_format != KS_KEY_NONE || t->headers_column))
    return ks__conf_fail(
        c,
        ks__conf_key_line(map, t->headers_column ? "headers" : "key",
                          map->line),
        "jsonl files hold the record values only; key and "
        "headers columns need format delta or parquet");
  if ((v = ks__conf_get(map, "schema")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "schema");
    KS__CONF_CALL(resolve_schema(c, v, &t->schema_path));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "value_format")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "value_format");
    KS__CONF_CALL(ks__conf_enum(c, v, value_format_names, &t->value_format));
    if (t->value_format != KS_VALUE_FORMAT_JSON && conf->nregistry_urls == 0)
      return ks__conf_fail(c, v->line,
                           "%s needs schema_registry.url (the registry the "
                           "record's schema id refers to)",
                           value_format_names[t->value_format]);
    if (t->value_format != KS_VALUE_FORMAT_JSON && t->ntransforms)
      return ks__conf_fail(c, ks__conf_key_line(map, "transforms", v->line),
                           "transforms apply to JSON record values; a %s "
                           "table takes its records as the schema gives them",
                           value_format_names[t->value_format]);
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "schema_evolution")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "schema_evolution");
    KS__CONF_CALL(ks__conf_enum(c, v, evolution_names, &idx));
    t->add_columns = idx == 1;
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "compression")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "compression");
    KS__CONF_CALL(ks__conf_enum(c, v, codec_names, &idx));
    t->codec = codec_vals[idx];
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "zstd_level")) && !ks__conf_is_null(v)) {
    int64_t level;
    saved = ks__conf_path_push(c, "zstd_level");
    KS__CONF_CALL(ks__conf_int(c, v, 1, 22, &level));
    t->zstd_level = (int)level;
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "rowgroup_bytes")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "rowgroup_bytes");
    KS__CONF_CALL(ks__conf_size(c, v, 1, &t->rowgroup_bytes));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "max_record_bytes")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "max_record_bytes");
    KS__CONF_CALL(ks__conf_size(c, v, 1, &t->max_record_bytes));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "flush")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "flush");
    KS__CONF_CALL(load_flush(c, v, t));
    ks__conf_path_pop(c, saved);
  }
  KS__CONF_CALL(ks__conf_load_partition(c, map, t));
  KS__CONF_CALL(ks__conf_load_features(c, map, t));
  if ((v = ks__conf_get(map, "optimize")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "optimize");
    KS__CONF_CALL(load_optimize(c, v, t));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "errors")) && !ks__conf_is_null(v)) {
    errors_state st = {{0}};
    saved = ks__conf_path_push(c, "errors");
    KS__CONF_CALL(
        ks__conf_expect_map(c, v, "a mapping like { tolerance: all }"));
    KS__CONF_CALL(load_errors(c, v, "", t, &st));
    if (t->deadletter_path && !t->errors_tolerate_all) {
      ks__conf_path_push(c, "deadletter.path");
      return ks__conf_fail(c, st.line[5],
                           "needs errors.tolerance: all (with none the "
                           "pipeline stops at the first bad record)");
    }
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

int ks__conf_load_tables(ks__conf_ctx *c, const ks__conf_node *root,
                         ks_conf *conf) {
  const ks__conf_node *seq = ks__conf_get(root, "tables");
  size_t saved = ks__conf_path_push(c, "tables");
  if (seq == NULL || ks__conf_is_null(seq))
    return ks__conf_fail(c, ks__conf_key_line(root, "tables", root->line),
                         "missing; expected a non-empty sequence of tables");
  if (seq->kind != KS__CONF_SEQ || seq->n == 0)
    return ks__conf_fail(
        c, seq->line, "expected a non-empty sequence of tables, got %s",
        seq->kind == KS__CONF_SEQ ? "an empty one" : ks__conf_kind_name(seq));
  conf->tables = ks_calloc(seq->n, sizeof *conf->tables);
  for (size_t i = 0; i < seq->n; i++) {
    size_t s2 = ks__conf_path_push_index(c, i);
    /* Count the table before loading it so ks_conf_free releases what a
     * failed load allocated; the duplicate checks only look at earlier
     * tables, so they skip this one. */
    conf->ntables = i + 1;
    ks_conf_table *t = &conf->tables[i];
    size_t prev = conf->ntables;
    conf->ntables = i;
    int r = load_table(c, seq->vals[i], t, conf);
    conf->ntables = prev;
    if (r)
      return r;
    ks__conf_path_pop(c, s2);
  }
  ks__conf_path_pop(c, saved);
  return 0;
}
