/*
 * The log entry of one commit (PROTOCOL.md "Actions"), built against the
 * snapshot it will follow: protocol and metaData when it creates the
 * table (with the table features asked for), a new metaData for schema
 * evolution, removes, adds (with fresh row ids and the delta.rowTracking
 * high-water mark when the table tracks rows), txns and commitInfo (first,
 * with a rising inCommitTimestamp, when the table has in-commit
 * timestamps). Called by table.c on every attempt, so a commit retried
 * after a lost race gets row ids and timestamps above the winner's.
 */
#include "storage/delta/delta_int.h"

#include "base/ks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* commitInfo: first in the entry when the table has in-commit
 * timestamps on, with inCommitTimestamp above the previous commit's
 * (PROTOCOL.md "In-Commit Timestamps"). */
static int write_commit_info(const ks_delta_snapshot *snap,
                             const ks_delta_commit_req *req, ks_buf *b,
                             int64_t now_ms, int ict) {
  int64_t ts = -1;
  if (ict) {
    ts = now_ms;
    if (snap->last_ict >= ts)
      ts = snap->last_ict + 1;
  }
  return ks_delta_write_commit_info_ict(
      b, now_ms, ts,
      req->operation ? req->operation : "STREAMING UPDATE", req->engine_info,
      req->nremoves == 0);
}

/* An add with the row tracking fields of PROTOCOL.md "Row Tracking":
 * fresh row ids above the table's high-water mark (*next moves past the
 * file's rows) and this commit's version. */
static int write_tracked_add(ks_buf *b, const ks_delta_add *a, int64_t *next,
                             int64_t version) {
  char extra[128];
  snprintf(extra, sizeof extra,
           "\"baseRowId\":%" PRId64 ",\"defaultRowCommitVersion\":%" PRId64,
           *next, version);
  ks_delta_add copy = *a;
  copy.extra = extra;
  *next += a->num_records > 0 ? a->num_records : 0;
  return ks_delta_write_add(b, &copy);
}

int ks__delta_build_entry(const ks_delta_snapshot *snap,
                          const ks_delta_commit_req *req, ks_buf *b) {
  int64_t now_ms = ks_now_us() / 1000;
  int64_t version = snap->version + 1;
  /* a new table: its protocol and properties, from the request */
  ks_delta_snapshot created;
  ks_delta_snapshot_init(&created);
  const ks_delta_snapshot *rules = snap;
  if (snap->version < 0) {
    ks_delta_create_protocol(&created, req->table_features,
                             req->ntable_features, req->conf_keys,
                             req->conf_values, req->nconf);
    rules = &created;
  } else if (req->new_schema_string) { /* the table's, to be changed */
    ks_delta_create_protocol(&created, NULL, 0,
                             (const char *const *)snap->metadata.conf_keys,
                             (const char *const *)snap->metadata.conf_values,
                             snap->metadata.nconf);
  }
  /* column mapping: maxColumnId covers every id of the schema written */
  const char *mode = ks_delta_snapshot_conf(&created, "delta.columnMapping.mode");
  const char *written =
      snap->version < 0 ? req->schema_string : req->new_schema_string;
  if (mode && strcmp(mode, "none") != 0 && written) {
    const char *cur =
        ks_delta_snapshot_conf(&created, "delta.columnMapping.maxColumnId");
    int64_t max = ks_delta_schema_max_column_id(written);
    if (cur && strtoll(cur, NULL, 10) > max)
      max = strtoll(cur, NULL, 10);
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, max);
    ks__delta_conf_set(&created.metadata, "delta.columnMapping.maxColumnId",
                       v);
  }
  int ict = ks_delta_in_commit_timestamps(rules);
  int rows = ks_delta_row_tracking(rules);
  int rc = 0;
  ks_buf_reset(b);
  if (ict)
    rc = write_commit_info(snap, req, b, now_ms, 1);
  if (rc == 0 && snap->version < 0) {
    char id[37];
    ks_delta_uuid(id);
    ks_delta_metadata m = {.id = id,
                           .schema_string = (char *)req->schema_string,
                           .partition_columns = (char **)req->partition_columns,
                           .npartition_columns = req->npartition_columns,
                           .created_time = now_ms,
                           .conf_keys = created.metadata.conf_keys,
                           .conf_values = created.metadata.conf_values,
                           .nconf = created.metadata.nconf};
    if ((rc = ks_delta_write_protocol_of(b, &created)) == 0)
      rc = ks_delta_write_metadata(b, &m);
  } else if (rc == 0 && req->new_schema_string) {
    ks_delta_metadata m = snap->metadata; /* a shallow copy */
    m.schema_string = (char *)req->new_schema_string;
    m.conf_keys = created.metadata.conf_keys;
    m.conf_values = created.metadata.conf_values;
    m.nconf = created.metadata.nconf;
    rc = ks_delta_write_metadata(b, &m);
  }
  for (size_t i = 0; rc == 0 && i < req->nremoves; i++)
    rc = ks_delta_write_remove(b, &req->removes[i]);
  int64_t next_row = ks_delta_row_id_high_water_mark(snap) + 1;
  for (size_t i = 0; rc == 0 && i < req->nadds; i++)
    rc = rows && !req->adds[i].no_data_change
             ? write_tracked_add(b, &req->adds[i], &next_row, version)
             : ks_delta_write_add(b, &req->adds[i]);
  if (rc == 0 && rows && next_row > 0 &&
      next_row - 1 > ks_delta_row_id_high_water_mark(snap))
    rc = ks_buf_appendf(b,
                        "{\"domainMetadata\":{\"domain\":\"delta.rowTracking\","
                        "\"configuration\":\"{\\\"rowIdHighWaterMark\\\":%" PRId64
                        "}\",\"removed\":false}}\n",
                        next_row - 1);
  for (size_t i = 0; rc == 0 && i < req->ntxns; i++) {
    ks_delta_txn txn = {.app_id = (char *)req->txns[i].app_id,
                        .version = req->txns[i].version,
                        .last_updated = now_ms};
    rc = ks_delta_write_txn(b, &txn);
  }
  if (rc == 0 && !ict)
    rc = write_commit_info(snap, req, b, now_ms, 0);
  ks_delta_snapshot_free(&created);
  return rc;
}

