#include "stages/table/evolve.h"
#include "base/log.h"
#include "stages/table/layout.h"
#include "storage/delta/delta.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Another writer evolving the same table at the same moment makes the
 * metaData commit fail; each round compares again from the new log. More
 * rounds than this means something keeps rewriting the schema. */
#define EVOLVE_ROUNDS 5
#define AGAIN 1 /* evolve_round: compare again */

/* The table being compared, on a loop that runs only for us. */
typedef struct evolve_io {
  uv_loop_t *loop;
  ks_delta_table *dt;
  int done, status;
  int64_t version;
} evolve_io;

static void on_done(void *arg, int status) {
  evolve_io *io = arg;
  io->done = 1;
  io->status = status;
}

static void on_committed(void *arg, int status, int64_t version) {
  evolve_io *io = arg;
  io->version = version;
  on_done(io, status);
}

/* Runs the loop until the operation started with r == 0 calls back. */
static int wait_io(evolve_io *io, int r) {
  if (r)
    return r;
  io->done = 0;
  uv_run(io->loop, UV_RUN_DEFAULT);
  return io->done ? io->status : KS_EIO;
}

static int refuse(const char *where, const ks_table *t, int64_t version,
                  const char *why, char *err, size_t errlen) {
  snprintf(err, errlen,
           "table %s: the Delta table at %s/%s (version %" PRId64 ") has a "
           "different schema than %s: %s; point the table at a new path or "
           "change the schema back",
           t->conf->name, where, t->conf->path, version,
           t->conf->schema_path ? t->conf->schema_path
                                : "the configured schema",
           why);
  return KS_ECONFIG;
}

/* One round: 0 done, AGAIN, else the error. */
static int evolve_round(const char *where, ks_table *t, evolve_io *io,
                        ks_table_columns_fn columns, char *err, size_t errlen) {
  int r = wait_io(io, ks_delta_table_load(io->dt, on_done, io));
  if (r) {
    const char *why = ks_delta_table_error(io->dt);
    snprintf(err, errlen, "table %s: reading the Delta log: %s", t->conf->name,
             why && *why ? why : ks_strerror(r));
    return r;
  }
  const ks_delta_snapshot *s = ks_delta_table_snapshot(io->dt);
  t->start_version = s->version;
  if (s->version < 0)
    return 0; /* a new table takes ours with its first commit */
  char feat[400];
  if ((r = ks_delta_protocol_check(s, feat, sizeof feat))) {
    snprintf(err, errlen,
             "table %s: ksink cannot append to the Delta table at %s/%s "
             "(version %" PRId64 "): %s",
             t->conf->name, where, t->conf->path, s->version, feat);
    return r;
  }
  ks_free(t->layout_sig);
  t->layout_sig = ks_delta_layout_sig(s);
  /* the table's constraints, checked on every record from now on (the
   * committer refuses a commit once they differ) */
  if (s->has_metadata) {
    ks_delta_constraints cs;
    char why[600];
    r = ks_delta_constraints_of(s->metadata.schema_string,
                                s->metadata.conf_keys, s->metadata.conf_values,
                                s->metadata.nconf, &cs, why, sizeof why);
    if (r == 0 && cs.n)
      r = ks_schema_set_checks(t->schema, &cs, why, sizeof why);
    if (r == 0) {
      ks_free(t->checks_sig);
      t->checks_sig = ks_delta_constraints_sig(&cs);
      ks_delta_constraints_free(&cs);
    }
    if (r) {
      snprintf(err, errlen,
               "table %s: ksink cannot append to the Delta table at %s/%s "
               "(version %" PRId64 "): %s",
               t->conf->name, where, t->conf->path, s->version, why);
      return KS_EUNSUPPORTED;
    }
  }
  /* Partitioning first: a schema change must not be committed to a table
   * this config would then refuse for its partition columns. */
  if (s->has_metadata &&
      !ks_table_same_partitioning(t, s->metadata.partition_columns,
                                  s->metadata.npartition_columns)) {
    snprintf(err, errlen,
             "table %s: the Delta table at %s/%s (version %" PRId64 ") has "
             "other partition columns than tables[%d].partition_by; point "
             "the table at a new path or keep its partitioning",
             t->conf->name, where, t->conf->path, s->version, t->index);
    return KS_ECONFIG;
  }
  int codec = ks_table_codec_of(
      ks_delta_snapshot_conf(s, "delta.parquet.compression.codec"));
  if (codec >= 0) /* the table's own choice wins */
    t->codec = (ks_codec)codec;
  const char *cur = s->has_metadata ? s->metadata.schema_string : NULL;
  const char *mode = ks_delta_snapshot_conf(s, "delta.columnMapping.mode");
  int mapped = mode && strcmp(mode, "none") != 0;
  ks_free(t->mapped_schema);
  t->mapped_schema = mapped && cur ? ks_strdup(cur) : NULL;
  if (cur && strcmp(cur, t->schema_string) == 0)
    return 0;
  char why[600];
  ks_pq_schema *old = NULL;
  if ((r = ks_delta_schema_parse(cur, &old, why, sizeof why)))
    return refuse(where, t, s->version, why, err, errlen);
  ks_delta_schema_change d;
  r = ks_delta_schema_diff(old, t->pq, t->conf->add_columns || t->from_table,
                           &d);
  if (r == 0 && (r = ks_schema_conform(t->schema, old, why, sizeof why)) == 0)
    r = columns(t, why, sizeof why);
  else if (r)
    snprintf(why, sizeof why, "%s", d.reason);
  ks_pq_schema_free(old);
  if (r)
    return refuse(where, t, s->version, why, err, errlen);
  if (strcmp(cur, t->schema_string) == 0)
    return 0; /* the same columns in another order: the table's order */
  if (d.added == 0 && (t->from_table || mapped))
    return 0; /* the table's own columns: its schemaString stays */
  if (d.added == 0)
    return refuse(where, t, s->version,
                  "the same columns, but its schemaString differs (field "
                  "metadata?), which ksink does not rewrite",
                  err, errlen);
  char *from = ks_strdup(cur);
  /* columns from the table: its fields stay as it states them (field
   * metadata kept), the _kafka_* ones are appended */
  ks_buf merged;
  ks_buf_init(&merged, 0);
  /* column mapping: the new columns get ids above maxColumnId */
  const char *maxid =
      ks_delta_snapshot_conf(s, "delta.columnMapping.maxColumnId");
  int64_t next_id = (maxid ? strtoll(maxid, NULL, 10) : 0) + 1;
  if (next_id <= ks_delta_schema_max_column_id(cur))
    next_id = ks_delta_schema_max_column_id(cur) + 1;
  int mr = t->from_table || mapped
               ? ks_delta_schema_merge(cur, t->schema_string,
                                       mapped ? &next_id : NULL, &merged)
               : ks_buf_append_str(&merged, t->schema_string);
  if (mr || ks_buf_cstr(&merged)) {
    ks_buf_free(&merged);
    ks_free(from);
    return refuse(where, t, s->version, "its schemaString does not merge",
                  err, errlen);
  }
  ks_delta_commit_req req = {.new_schema_string = (char *)merged.data,
                             .schema_from = from,
                             .operation = "ADD COLUMNS",
                             .engine_info = "ksink/" KS_VERSION};
  r = wait_io(io, ks_delta_commit(io->dt, &req, on_committed, io));
  ks_free(from);
  if (r == 0 && mapped) {
    ks_free(t->mapped_schema);
    t->mapped_schema = ks_strdup((const char *)merged.data);
  }
  ks_buf_free(&merged);
  if (r == KS_ECONFLICT) {
    ks_log_warn("table %s: %s; comparing the schemas again", t->conf->name,
                ks_delta_table_error(io->dt));
    return AGAIN;
  }
  if (r) {
    const char *e = ks_delta_table_error(io->dt);
    snprintf(err, errlen, "table %s: committing the new schema: %s",
             t->conf->name, e && *e ? e : ks_strerror(r));
    return r;
  }
  t->start_version = io->version;
  ks_log_info("table %s: schema evolved in version %" PRId64 ": %d new "
              "nullable column%s (the first: %s); older files read %s as "
              "null",
              t->conf->name, io->version, d.added, d.added == 1 ? "" : "s",
              d.first_added, d.added == 1 ? "it" : "them");
  return 0;
}

int ks_evolve_table(uv_loop_t *loop, ks_storage *st, const char *where,
                    ks_table *t, ks_table_columns_fn columns, char *err,
                    size_t errlen) {
  evolve_io io = {.loop = loop, .dt = ks_delta_table_new(st, t->conf->path)};
  int r = AGAIN;
  for (int round = 0; r == AGAIN && round < EVOLVE_ROUNDS; round++)
    r = evolve_round(where, t, &io, columns, err, errlen);
  if (r == AGAIN) {
    snprintf(err, errlen,
             "table %s: the table's schema changed under us %d times in a "
             "row",
             t->conf->name, EVOLVE_ROUNDS);
    r = KS_ECONFLICT;
  }
  ks_delta_table_free(io.dt);
  uv_run(loop, UV_RUN_DEFAULT); /* what the table left running */
  return r;
}

typedef struct evolve_start {
  const char *where;
  ks_table *t;
  ks_table_columns_fn columns;
  char *err;
  size_t errlen;
} evolve_start;

static int evolve_on(uv_loop_t *loop, ks_storage *st, void *arg) {
  evolve_start *e = arg;
  return ks_evolve_table(loop, st, e->where, e->t, e->columns, e->err,
                         e->errlen);
}

/* Start-up runs before any worker loop exists and waits for the answer. */
int ks_evolve_start(const ks_conf *conf, ks_table *t,
                    ks_table_columns_fn columns, char *err, size_t errlen) {
  evolve_start e = {conf->storage_url, t, columns, err, errlen};
  return ks_storage_run_private(conf->storage_url, &conf->s3, evolve_on, &e,
                                err, errlen);
}
