/*
 * What a commit must find unchanged once another writer has won versions
 * since its snapshot (table.c calls these in its CHECK step, on the
 * snapshot reloaded after the race): the table its files were written for,
 * and for a rewrite (optimize) the very files it read.
 */
#include "storage/delta/delta_int.h"

#include "base/ks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int changed(const ks_delta_snapshot *s, const ks_buf *before,
                   void (*sig)(const ks_delta_snapshot *, ks_buf *)) {
  ks_buf now;
  ks_buf_init(&now, 0);
  sig(s, &now);
  int same =
      now.len == before->len && memcmp(now.data, before->data, now.len) == 0;
  ks_buf_free(&now);
  return !same;
}

void ks__delta_meta_signature(const ks_delta_snapshot *s, ks_buf *out) {
  const ks_delta_metadata *m = &s->metadata;
  ks_buf_reset(out);
  ks_buf_appendf(out, "%d/%d\n%s\n%s", s->min_reader, s->min_writer,
                 m->id ? m->id : "", m->schema_string ? m->schema_string : "");
  for (size_t i = 0; i < m->npartition_columns; i++)
    ks_buf_appendf(out, "\n%s", m->partition_columns[i]);
}

void ks__delta_layout_signature(const ks_delta_snapshot *s, ks_buf *out) {
  const ks_delta_metadata *m = &s->metadata;
  const char *mode = ks_delta_snapshot_conf(s, "delta.columnMapping.mode");
  ks_buf_reset(out);
  ks_buf_appendf(out, "%s\n%s", m->id ? m->id : "",
                 mode && strcmp(mode, "none") ? mode : "none");
  for (size_t i = 0; i < m->npartition_columns; i++)
    ks_buf_appendf(out, "\n%s", m->partition_columns[i]);
}

int ks__delta_same_file(const ks_delta_add *a, const char *dv_id) {
  return a && (a->dv_id == NULL) == (dv_id == NULL) &&
         (dv_id == NULL || strcmp(a->dv_id, dv_id) == 0);
}

char *ks_delta_layout_sig(const ks_delta_snapshot *s) {
  if (s->version < 0 || !s->has_metadata)
    return NULL;
  ks_buf b;
  ks_buf_init(&b, 0);
  ks__delta_layout_signature(s, &b);
  ks_buf_append_byte(&b, 0);
  return (char *)b.data;
}

int ks__delta_check_layout(const ks_delta_snapshot *s, const char *layout,
                           const char *prefix, char *err, size_t errlen) {
  if (layout == NULL || s->version < 0)
    return 0;
  ks_buf want = {.data = (uint8_t *)layout, .len = strlen(layout)};
  if (!changed(s, &want, ks__delta_layout_signature))
    return 0;
  snprintf(err, errlen,
           "%s: another writer replaced the table or changed its partition "
           "columns or column mapping in version %" PRId64 ": the batch's "
           "files were written for the table as it was; restart to write for "
           "the table as it is",
           prefix, s->version);
  return KS_EUNSUPPORTED;
}

int ks__delta_check_removes(const ks_delta_snapshot *s,
                            const ks_delta_commit_req *req, const ks_buf *meta,
                            const char *prefix, char *err, size_t errlen) {
  if (changed(s, meta, ks__delta_meta_signature)) {
    snprintf(err, errlen,
             "%s: metaData or protocol changed in version %" PRId64, prefix,
             s->version);
    return KS_ECONFLICT;
  }
  for (size_t i = 0; i < req->nremoves; i++) {
    const char *path = req->removes[i].path, *dv = req->removes[i].dv_id;
    const ks_delta_add *a = ks_delta_snapshot_file(s, path);
    if (a == NULL) {
      snprintf(err, errlen,
               "%s: %s is no longer active in version %" PRId64
               ": another writer removed it",
               prefix, path, s->version);
      return KS_ECONFLICT;
    }
    if (!ks__delta_same_file(a, dv)) {
      snprintf(err, errlen,
               "%s: %s has another deletion vector in version %" PRId64
               ": another writer deleted rows from it",
               prefix, path, s->version);
      return KS_ECONFLICT;
    }
  }
  return 0;
}
