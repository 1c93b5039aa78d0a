/*
 * The partitioning keys of a table: partition_by, derive, path_format,
 * timestamp_field, timezone, max_open_partitions, and cut_retention (how
 * long parquet/jsonl tables keep their recorded cuts). Only their shape
 * is checked here; whether partition_by names columns of the schema is
 * checked once the schema is loaded (stages/table/partitioner.c), with the
 * same file:line messages.
 */
#include "conf/internal.h"
#include "base/tz.h"

#include <stdio.h>
#include <string.h>

static const char *const derive_keys[] = {"from", "as", NULL};
static const char *const unit_names[] = {"date", "year", "month",
                                         "day",  "hour", NULL};
static const ks_derive_unit unit_vals[] = {KS_DERIVE_DATE, KS_DERIVE_YEAR,
                                           KS_DERIVE_MONTH, KS_DERIVE_DAY,
                                           KS_DERIVE_HOUR};

void ks__conf_partition_free(ks_conf_table *t) {
  for (size_t i = 0; i < t->npartition_by; i++)
    ks_free(t->partition_by[i]);
  ks_free(t->partition_by);
  for (size_t i = 0; i < t->nderive; i++) {
    ks_free(t->derive[i].name);
    ks_free(t->derive[i].from);
  }
  ks_free(t->derive);
  ks_free(t->path_format);
  ks_free(t->timestamp_field);
  ks_tz_free(t->tz);
  t->tz = NULL;
}

static int load_partition_by(ks__conf_ctx *c, const ks__conf_node *v,
                             ks_conf_table *t) {
  if (v->kind != KS__CONF_SEQ || v->n == 0)
    return ks__conf_fail(c, v->line,
                         "expected a non-empty sequence of column names like "
                         "[event_date, country], got %s",
                         v->kind == KS__CONF_SEQ ? "an empty one"
                                                 : ks__conf_kind_name(v));
  t->partition_by_line = v->line;
  t->partition_by = ks_calloc(v->n, sizeof(char *));
  for (size_t i = 0; i < v->n; i++) {
    const ks__conf_node *item = v->vals[i];
    size_t saved = ks__conf_path_push_index(c, i);
    char *name = NULL;
    if (item->kind != KS__CONF_SCALAR)
      return ks__conf_fail(c, item->line, "expected a column name, got %s",
                           ks__conf_kind_name(item));
    KS__CONF_CALL(ks__conf_str(c, item, &name));
    if (name == NULL)
      return ks__conf_fail(c, item->line, "expected a column name, got \"\"");
    t->partition_by[t->npartition_by++] = name;
    for (size_t j = 0; j + 1 < t->npartition_by; j++)
      if (strcasecmp(t->partition_by[j], name) == 0)
        return ks__conf_fail(c, item->line,
                             "column \"%s\" is listed twice (partition "
                             "column names are case-insensitive)",
                             name);
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

static int load_derive(ks__conf_ctx *c, const ks__conf_node *map,
                       ks_conf_table *t) {
  KS__CONF_CALL(
      ks__conf_expect_map(c, map,
                          "a mapping like { event_date: { from: timestamp, "
                          "as: date } }"));
  t->derive = ks_calloc(map->n ? map->n : 1, sizeof *t->derive);
  for (size_t i = 0; i < map->n; i++) {
    const ks__conf_node *k = map->keys[i], *v = map->vals[i];
    size_t saved = ks__conf_path_push(c, k->text);
    ks_conf_derive *d = &t->derive[t->nderive++];
    d->name = ks_strdup(k->text);
    d->line = k->line;
    KS__CONF_CALL(ks__conf_expect_map(
        c, v, "a mapping like { from: timestamp, as: date }"));
    KS__CONF_CALL(ks__conf_check_keys(c, v, derive_keys));
    const ks__conf_node *from = ks__conf_get(v, "from");
    const ks__conf_node *as = ks__conf_get(v, "as");
    if (from == NULL || ks__conf_is_null(from))
      return ks__conf_fail(c, ks__conf_key_line(v, "from", v->line),
                           "from: missing; expected the timestamp or date "
                           "column to derive from");
    size_t s2 = ks__conf_path_push(c, "from");
    KS__CONF_CALL(ks__conf_str(c, from, &d->from));
    ks__conf_path_pop(c, s2);
    if (as == NULL || ks__conf_is_null(as))
      return ks__conf_fail(c, ks__conf_key_line(v, "as", v->line),
                           "as: missing; expected date, year, month, day or "
                           "hour");
    int idx;
    s2 = ks__conf_path_push(c, "as");
    KS__CONF_CALL(ks__conf_enum(c, as, unit_names, &idx));
    d->as = unit_vals[idx];
    ks__conf_path_pop(c, s2);
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

/* "UTC", "Z", "+02:00", "-0530", "+05". Named zones would need the tz
 * database and its process-wide state; a fixed offset is what a layout of
 * files needs to stay stable anyway (no DST jumps). */
int ks__conf_load_partition(ks__conf_ctx *c, const ks__conf_node *map,
                            ks_conf_table *t) {
  const ks__conf_node *v;
  size_t saved;
  t->max_open_partitions = 64;
  t->cut_retention_ms = INT64_C(7) * 24 * 3600 * 1000;
  if ((v = ks__conf_get(map, "cut_retention")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "cut_retention");
    KS__CONF_CALL(ks__conf_duration(c, v, 1000, &t->cut_retention_ms));
    if (t->format == KS_FORMAT_DELTA)
      return ks__conf_fail(c, v->line,
                           "parquet and jsonl tables record their cuts; a "
                           "Delta table's log has its own retention");
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "partition_by")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "partition_by");
    KS__CONF_CALL(load_partition_by(c, v, t));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "derive")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "derive");
    KS__CONF_CALL(load_derive(c, v, t));
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "path_format")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "path_format");
    KS__CONF_CALL(ks__conf_str(c, v, &t->path_format));
    t->path_format_line = v->line;
    if (t->npartition_by)
      return ks__conf_fail(c, v->line,
                           "path_format and partition_by (line %d) exclude "
                           "each other: use one layout",
                           t->partition_by_line);
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "timestamp_field")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "timestamp_field");
    KS__CONF_CALL(ks__conf_str(c, v, &t->timestamp_field));
    t->timestamp_field_line = v->line;
    if (t->path_format == NULL)
      return ks__conf_fail(c, v->line, "only used with path_format");
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "timezone")) && !ks__conf_is_null(v)) {
    char *tz = NULL, shown[128];
    saved = ks__conf_path_push(c, "timezone");
    KS__CONF_CALL(ks__conf_str(c, v, &tz));
    char why[400] = "";
    ks_tz_free(t->tz);
    t->tz = NULL;
    int lr = tz ? ks_tz_load(tz, NULL, &t->tz, why, sizeof why) : KS_EINVAL;
    if (lr) {
      int r = lr == KS_EINVAL
                  ? ks__conf_fail(c, v->line,
                                  "expected UTC, a fixed offset like +02:00 "
                                  "or a zone name like Europe/Berlin, got %s",
                                  tz ? ks__conf_show(c, tz, shown, sizeof shown)
                                     : "\"\"")
                  : ks__conf_fail(c, v->line, "%s", why);
      ks_free(tz);
      return r;
    }
    ks_free(tz);
    if (t->path_format == NULL)
      return ks__conf_fail(c, v->line,
                           "only used with path_format (derive is UTC)");
    ks__conf_path_pop(c, saved);
  }
  if ((v = ks__conf_get(map, "max_open_partitions")) && !ks__conf_is_null(v)) {
    saved = ks__conf_path_push(c, "max_open_partitions");
    KS__CONF_CALL(ks__conf_int(c, v, 1, 100000, &t->max_open_partitions));
    ks__conf_path_pop(c, saved);
  }
  if (t->format == KS_FORMAT_JSONL) {
    /* JSON Lines: gzip, zstd or none (the default); snappy is Parquet's */
    v = ks__conf_get(map, "compression");
    if (v == NULL || ks__conf_is_null(v))
      t->codec = KS_CODEC_NONE;
    else if (t->codec == KS_CODEC_SNAPPY)
      return ks__conf_fail(c, v->line,
                           "compression: format jsonl takes gzip, zstd or "
                           "none, got snappy");
  }
  if (t->path_format && t->format == KS_FORMAT_DELTA)
    return ks__conf_fail(c, t->path_format_line,
                         "path_format: a path-only layout is for "
                         "format parquet or jsonl; a Delta table partitions "
                         "with partition_by (and derive)");
  return 0;
}
