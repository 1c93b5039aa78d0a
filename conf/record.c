/*
 * How a table reads its Kafka records, beyond the value's JSON: the
 * topics_regex it subscribes to, the key and headers columns, what a
 * tombstone does (null_values) and the transforms (Kafka Connect's single
 * message transforms). Names follow Connect's where one exists; the
 * README maps each key to its Connect name.
 */
#include "base/datefmt.h"
#include "conf/internal.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const key_keys[] = {"format", "column", NULL};
static const char *const key_formats[] = {"string", "json", "bytes", NULL};
static const char *const headers_keys[] = {"column", NULL};
static const char *const null_names[] = {"dlq", "ignore", "fail", NULL};
static const char *const xf_names[] = {"debezium_unwrap",
                                       "extract_field",
                                       "insert_field",
                                       "replace_field",
                                       "timestamp_converter",
                                       "filter",
                                       NULL};
static const char *const unwrap_keys[] = {"deletes", "add_fields", NULL};
static const char *const deletes_names[] = {"drop", "rewrite", NULL};
static const char *const insert_keys[] = {"static",    "timestamp", "topic",
                                          "partition", "offset",    NULL};
static const char *const replace_keys[] = {"include", "exclude", "rename",
                                           NULL};
static const char *const tsconv_keys[] = {"field", "format", "target", NULL};
static const char *const target_names[] = {"timestamp", "string", "unix",
                                           "date", NULL};
static const char *const filter_keys[] = {"predicate", "negate", NULL};
static const char *const predicate_keys[] = {"tombstone", "topic", "header",
                                             NULL};
static const char *const bool_names[] = {"false", "true", NULL};

/* ---- freeing ---- */

static void free_strs(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    ks_free(v[i]);
  ks_free(v);
}

static void free_kvs(ks_conf_kv *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ks_free(v[i].key);
    ks_free(v[i].value);
  }
  ks_free(v);
}

static void free_regex(void *re) {
  if (re) {
    regfree(re);
    ks_free(re);
  }
}

void ks__conf_record_free(ks_conf_table *t) {
  ks_free(t->topics_regex);
  free_regex(t->topics_re);
  ks_free(t->key_column);
  ks_free(t->headers_column);
  for (size_t i = 0; i < t->ntransforms; i++) {
    ks_conf_transform *x = &t->transforms[i];
    free_strs(x->add_fields, x->nadd_fields);
    ks_free(x->field);
    free_kvs(x->statics, x->nstatics);
    ks_free(x->ts_col);
    ks_free(x->topic_col);
    ks_free(x->partition_col);
    ks_free(x->offset_col);
    free_strs(x->include, x->ninclude);
    free_strs(x->exclude, x->nexclude);
    free_kvs(x->renames, x->nrenames);
    ks_free(x->format);
    ks_free(x->pred_arg);
    free_regex(x->pred_re);
  }
  ks_free(t->transforms);
}

/* ---- topic regexes ---- */

/* A whole-name match, as Connect's topics.regex (Java's matches()). */
static void *compile_whole(ks__conf_ctx *c, const ks__conf_node *v,
                           const char *re, int *status) {
  size_t n = strlen(re) + 5;
  char *full = ks_malloc(n);
  snprintf(full, n, "^(%s)$", re);
  regex_t *x = ks_malloc(sizeof *x);
  int e = regcomp(x, full, REG_EXTENDED | REG_NOSUB);
  ks_free(full);
  if (e) {
    char why[128], shown[128];
    regerror(e, x, why, sizeof why);
    ks_free(x);
    *status = ks__conf_fail(
        c, v->line, "expected a POSIX extended regular expression, got %s: %s",
        ks__conf_show(c, re, shown, sizeof shown), why);
    return NULL;
  }
  *status = 0;
  return x;
}

int ks_conf_topic_matches(const ks_conf_table *t, const char *topic) {
  return t->topics_re && regexec(t->topics_re, topic, 0, NULL, 0) == 0;
}

int ks_conf_table_of(const ks_conf *c, const char *topic) {
  for (size_t i = 0; i < c->ntables; i++)
    for (size_t j = 0; j < c->tables[i].ntopics; j++)
      if (strcmp(c->tables[i].topics[j], topic) == 0)
        return (int)i;
  for (size_t i = 0; i < c->ntables; i++)
    if (ks_conf_topic_matches(&c->tables[i], topic))
      return (int)i;
  return -1;
}

/* ---- small readers ---- */

static int need_str(ks__conf_ctx *c, const ks__conf_node *v, const char *what,
                    char **out) {
  if (v->kind != KS__CONF_SCALAR)
    return ks__conf_fail(c, v->line, "expected %s, got %s", what,
                         ks__conf_kind_name(v));
  KS__CONF_CALL(ks__conf_str(c, v, out));
  if (*out == NULL)
    return ks__conf_fail(c, v->line, "expected %s, got nothing", what);
  return 0;
}

static int str_list(ks__conf_ctx *c, const ks__conf_node *v, const char *what,
                    char ***out, size_t *n) {
  if (v->kind != KS__CONF_SEQ || v->n == 0)
    return ks__conf_fail(c, v->line, "expected a non-empty sequence of %s",
                         what);
  *out = ks_calloc(v->n, sizeof(char *));
  for (size_t i = 0; i < v->n; i++) {
    size_t saved = ks__conf_path_push_index(c, i);
    KS__CONF_CALL(need_str(c, v->vals[i], what, &(*out)[*n]));
    (*n)++;
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

/* A mapping of scalars, in order. */
static int kv_map(ks__conf_ctx *c, const ks__conf_node *v, const char *what,
                  ks_conf_kv **out, size_t *n) {
  KS__CONF_CALL(ks__conf_expect_map(c, v, what));
  *out = ks_calloc(v->n ? v->n : 1, sizeof **out);
  for (size_t i = 0; i < v->n; i++) {
    size_t saved = ks__conf_path_push(c, v->keys[i]->text);
    ks_conf_kv *kv = &(*out)[(*n)++];
    kv->key = ks_strdup(v->keys[i]->text);
    kv->line = v->keys[i]->line;
    KS__CONF_CALL(need_str(c, v->vals[i], "a string", &kv->value));
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

typedef struct getter {
  ks__conf_ctx *c;
  const ks__conf_node *map;
  const ks__conf_node *v;
  size_t saved;
} getter;

/* The value of key when present and not null, with the path pushed. */
static int get(getter *g, const char *key) {
  g->v = ks__conf_get(g->map, key);
  if (g->v == NULL || ks__conf_is_null(g->v))
    return 0;
  g->saved = ks__conf_path_push(g->c, key);
  return 1;
}

static void done(getter *g) {
  ks__conf_path_pop(g->c, g->saved);
}

/* ---- transforms ---- */

static int load_unwrap(ks__conf_ctx *c, const ks__conf_node *m,
                       ks_conf_transform *x) {
  getter g = {c, m, NULL, 0};
  KS__CONF_CALL(ks__conf_check_keys(c, m, unwrap_keys));
  if (get(&g, "deletes")) {
    KS__CONF_CALL(ks__conf_enum(c, g.v, deletes_names, &x->deletes_rewrite));
    done(&g);
  }
  if (get(&g, "add_fields")) {
    KS__CONF_CALL(str_list(c, g.v, "envelope fields like op or source.ts_ms",
                           &x->add_fields, &x->nadd_fields));
    done(&g);
  }
  return 0;
}

static int load_insert(ks__conf_ctx *c, const ks__conf_node *m,
                       ks_conf_transform *x) {
  getter g = {c, m, NULL, 0};
  KS__CONF_CALL(ks__conf_check_keys(c, m, insert_keys));
  if (get(&g, "static")) {
    KS__CONF_CALL(
        kv_map(c, g.v, "a mapping of field: value", &x->statics, &x->nstatics));
    done(&g);
  }
  char **cols[] = {&x->ts_col, &x->topic_col, &x->partition_col,
                   &x->offset_col};
  for (size_t i = 0; i < 4; i++)
    if (get(&g, insert_keys[i + 1])) {
      KS__CONF_CALL(need_str(c, g.v, "a field name", cols[i]));
      done(&g);
    }
  if (x->nstatics == 0 && !x->ts_col && !x->topic_col && !x->partition_col &&
      !x->offset_col)
    return ks__conf_fail(c, m->line,
                         "expected at least one of static, timestamp, topic, "
                         "partition, offset");
  return 0;
}

static int load_replace(ks__conf_ctx *c, const ks__conf_node *m,
                        ks_conf_transform *x) {
  getter g = {c, m, NULL, 0};
  KS__CONF_CALL(ks__conf_check_keys(c, m, replace_keys));
  if (get(&g, "include")) {
    KS__CONF_CALL(str_list(c, g.v, "field names", &x->include, &x->ninclude));
    done(&g);
  }
  if (get(&g, "exclude")) {
    KS__CONF_CALL(str_list(c, g.v, "field names", &x->exclude, &x->nexclude));
    done(&g);
  }
  if (get(&g, "rename")) {
    KS__CONF_CALL(kv_map(c, g.v, "a mapping of old: new names", &x->renames,
                         &x->nrenames));
    done(&g);
  }
  if (x->ninclude && x->nexclude)
    return ks__conf_fail(c, m->line,
                         "include and exclude together: give one of them");
  if (!x->ninclude && !x->nexclude && !x->nrenames)
    return ks__conf_fail(c, m->line, "expected include, exclude or rename");
  return 0;
}

static int load_tsconv(ks__conf_ctx *c, const ks__conf_node *m,
                       ks_conf_transform *x) {
  getter g = {c, m, NULL, 0};
  int idx = 0;
  KS__CONF_CALL(ks__conf_check_keys(c, m, tsconv_keys));
  if (!get(&g, "field"))
    return ks__conf_fail(c, m->line, "field: missing; expected a field name");
  KS__CONF_CALL(need_str(c, g.v, "a field name", &x->field));
  done(&g);
  if (get(&g, "format")) {
    char err[200];
    KS__CONF_CALL(need_str(c, g.v, "a SimpleDateFormat pattern", &x->format));
    ks_datefmt *f = ks_datefmt_compile(x->format, err, sizeof err);
    if (f == NULL)
      return ks__conf_fail(c, g.v->line,
                           "expected a SimpleDateFormat pattern like "
                           "\"yyyy-MM-dd HH:mm:ss\": %s",
                           err);
    ks_datefmt_free(f);
    done(&g);
  }
  if (!get(&g, "target"))
    return ks__conf_fail(c, m->line,
                         "target: missing; expected timestamp, string, unix "
                         "or date");
  KS__CONF_CALL(ks__conf_enum(c, g.v, target_names, &idx));
  x->target = (ks_ts_target)idx;
  if (x->target == KS_TS_STRING && x->format == NULL)
    return ks__conf_fail(c, g.v->line, "target string needs a format");
  done(&g);
  return 0;
}

static int load_filter(ks__conf_ctx *c, const ks__conf_node *m,
                       ks_conf_transform *x) {
  getter g = {c, m, NULL, 0};
  KS__CONF_CALL(ks__conf_check_keys(c, m, filter_keys));
  if (get(&g, "negate")) {
    KS__CONF_CALL(ks__conf_enum(c, g.v, bool_names, &x->negate));
    done(&g);
  }
  if (!get(&g, "predicate"))
    return ks__conf_fail(c, m->line,
                         "predicate: missing; expected { tombstone: true }, "
                         "{ topic: <regex> } or { header: <name> }");
  const ks__conf_node *p = g.v;
  KS__CONF_CALL(ks__conf_expect_map(c, p,
                                    "a mapping with one of tombstone, topic, "
                                    "header"));
  KS__CONF_CALL(ks__conf_check_keys(c, p, predicate_keys));
  if (p->n != 1)
    return ks__conf_fail(c, p->line,
                         "expected exactly one of tombstone, topic, header");
  const char *k = p->keys[0]->text;
  const ks__conf_node *v = p->vals[0];
  size_t saved = ks__conf_path_push(c, k);
  if (strcmp(k, "tombstone") == 0) {
    int on = 0;
    x->predicate = KS_PRED_TOMBSTONE;
    KS__CONF_CALL(ks__conf_enum(c, v, bool_names, &on));
    if (!on)
      return ks__conf_fail(c, v->line,
                           "expected true (negate: true matches records "
                           "that are not tombstones)");
  } else if (strcmp(k, "topic") == 0) {
    int st;
    x->predicate = KS_PRED_TOPIC;
    KS__CONF_CALL(need_str(c, v, "a regular expression", &x->pred_arg));
    x->pred_re = compile_whole(c, v, x->pred_arg, &st);
    if (st)
      return st;
  } else {
    x->predicate = KS_PRED_HEADER;
    KS__CONF_CALL(need_str(c, v, "a header name", &x->pred_arg));
  }
  ks__conf_path_pop(c, saved);
  done(&g);
  return 0;
}

static int load_transform(ks__conf_ctx *c, const ks__conf_node *item,
                          ks_conf_transform *x) {
  if (item->kind != KS__CONF_MAP || item->n != 1)
    return ks__conf_fail(c, item->line,
                         "expected a one-key mapping like { extract_field: "
                         "payload }, got %s",
                         item->kind == KS__CONF_MAP ? "several keys"
                                                    : ks__conf_kind_name(item));
  KS__CONF_CALL(ks__conf_check_keys(c, item, xf_names));
  const char *name = item->keys[0]->text;
  const ks__conf_node *v = item->vals[0];
  int kind = 0;
  while (strcmp(xf_names[kind], name) != 0)
    kind++;
  x->kind = (ks_xf_kind)kind;
  x->line = item->keys[0]->line;
  size_t saved = ks__conf_path_push(c, name);
  int r;
  if (x->kind == KS_XF_EXTRACT_FIELD) {
    r = need_str(c, v, "a field name", &x->field);
  } else if (ks__conf_is_null(v) && x->kind == KS_XF_DEBEZIUM_UNWRAP) {
    r = 0; /* the defaults */
  } else {
    r = ks__conf_expect_map(c, v, "a mapping");
    if (r == 0)
      switch (x->kind) {
      case KS_XF_DEBEZIUM_UNWRAP:
        r = load_unwrap(c, v, x);
        break;
      case KS_XF_INSERT_FIELD:
        r = load_insert(c, v, x);
        break;
      case KS_XF_REPLACE_FIELD:
        r = load_replace(c, v, x);
        break;
      case KS_XF_TIMESTAMP_CONVERTER:
        r = load_tsconv(c, v, x);
        break;
      default:
        r = load_filter(c, v, x);
      }
  }
  if (r == 0)
    ks__conf_path_pop(c, saved);
  return r;
}

static int load_transforms(ks__conf_ctx *c, const ks__conf_node *v,
                           ks_conf_table *t) {
  if (v->kind != KS__CONF_SEQ)
    return ks__conf_fail(c, v->line,
                         "expected a sequence of one-key mappings like "
                         "[{ extract_field: payload }], got %s",
                         ks__conf_kind_name(v));
  t->transforms = ks_calloc(v->n ? v->n : 1, sizeof *t->transforms);
  for (size_t i = 0; i < v->n; i++) {
    size_t saved = ks__conf_path_push_index(c, i);
    t->ntransforms = i + 1;
    KS__CONF_CALL(load_transform(c, v->vals[i], &t->transforms[i]));
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

/* ---- the table's keys ---- */

int ks__conf_load_record(ks__conf_ctx *c, const ks__conf_node *map,
                         ks_conf_table *t) {
  getter g = {c, map, NULL, 0};
  int idx = 0;
  if (get(&g, "topics_regex")) {
    int st;
    KS__CONF_CALL(need_str(c, g.v, "a regular expression", &t->topics_regex));
    t->topics_re = compile_whole(c, g.v, t->topics_regex, &st);
    if (st)
      return st;
    done(&g);
  }
  if (get(&g, "key")) {
    const ks__conf_node *m = g.v;
    KS__CONF_CALL(ks__conf_expect_map(
        c, m, "a mapping like { format: string, column: _kafka_key }"));
    KS__CONF_CALL(ks__conf_check_keys(c, m, key_keys));
    getter k = {c, m, NULL, 0};
    if (!get(&k, "format"))
      return ks__conf_fail(c, m->line,
                           "format: missing; expected string, json or bytes");
    KS__CONF_CALL(ks__conf_enum(c, k.v, key_formats, &idx));
    t->key_format = (ks_key_format)(idx + 1);
    done(&k);
    if (get(&k, "column")) {
      KS__CONF_CALL(need_str(c, k.v, "a column name", &t->key_column));
      done(&k);
    }
    if (t->key_column == NULL)
      t->key_column = ks_strdup("_kafka_key");
    done(&g);
  }
  if (get(&g, "headers")) {
    const ks__conf_node *m = g.v;
    KS__CONF_CALL(
        ks__conf_expect_map(c, m, "a mapping like { column: _kafka_headers }"));
    KS__CONF_CALL(ks__conf_check_keys(c, m, headers_keys));
    getter k = {c, m, NULL, 0};
    if (get(&k, "column")) {
      KS__CONF_CALL(need_str(c, k.v, "a column name", &t->headers_column));
      done(&k);
    }
    if (t->headers_column == NULL)
      t->headers_column = ks_strdup("_kafka_headers");
    done(&g);
  }
  if (t->key_column && t->headers_column &&
      strcasecmp(t->key_column, t->headers_column) == 0)
    return ks__conf_fail(c, map->line,
                         "key.column and headers.column are both \"%s\"",
                         t->key_column);
  if (get(&g, "null_values")) {
    KS__CONF_CALL(ks__conf_enum(c, g.v, null_names, &idx));
    t->null_values = (ks_null_values)idx;
    done(&g);
  }
  if (get(&g, "transforms")) {
    KS__CONF_CALL(load_transforms(c, g.v, t));
    done(&g);
  }
  return 0;
}
