/*
 * Writing a checkpoint to storage and cleaning up the log behind it, as
 * one detached job per table:
 *
 *   PUT_CHECKPOINT -> PUT_LAST -> LIST -> DELETE (one key at a time) -> DONE
 *
 * The checkpoint is a plain put (PROTOCOL.md: racing writers of a classic
 * checkpoint write the same content, the last one wins), written only
 * after its JSON entry exists. _last_checkpoint is overwritten after the
 * checkpoint is complete, so it never names a missing file. Cleanup
 * follows PROTOCOL.md "Metadata Cleanup": the cut-off time is midnight UTC
 * of (now - delta.logRetentionDuration, default 30 days); the cut-off
 * commit is the newest whose time (file mtime, made strictly increasing
 * with the version) is not after it; the cut-off checkpoint is the newest
 * complete checkpoint not newer than that commit (and never newer than the
 * one just written); log entries, checkpoints and checksums below it, and
 * compacted logs starting at or below it, are deleted. Nothing the newest
 * checkpoint needs is ever below the cut-off checkpoint.
 *
 * A failure anywhere is logged and ends the job; the data commit that
 * triggered it has already succeeded. The job owns copies of everything it
 * uses, so the table may be freed meanwhile (ks__delta_ckpt_detach).
 */
#include "storage/delta/delta_int.h"

#include "base/jsontree.h"
#include "base/ks.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef enum ckpt_state {
  CK_PUT_CHECKPOINT,
  CK_PUT_LAST,
  CK_LIST,
  CK_DELETE,
  CK_DONE
} ckpt_state;

static const char *const ck_names[] = {"PUT_CHECKPOINT", "PUT_LAST", "LIST",
                                       "DELETE", "DONE"};

struct ks__delta_ckpt {
  ks_storage *st;
  char *log_prefix;
  int64_t version;
  int64_t now_ms, retention_ms;
  ks_buf file, last;
  ckpt_state state;
  int status; /* of the checkpoint write; cleanup failures are only logged */
  char **dels;
  size_t ndels, next_del;
  ks__delta_ckpt_cb cb;
  void *arg;
};

/* ---- names in _delta_log/ ----------------------------------------------- */

static int digits(const char *s, size_t n, int64_t *out) {
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
      return 0;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

ks__delta_logname ks__delta_parse_logname(const char *name) {
  ks__delta_logname r = {KS__LOG_OTHER, -1, 0, 0, -1};
  size_t n = strlen(name);
  if (n < 21 || !digits(name, 20, &r.version) || name[20] != '.') {
    r.version = -1;
    return r;
  }
  const char *rest = name + 21;
  int64_t a, b;
  if (strcmp(rest, "json") == 0) {
    r.kind = KS__LOG_JSON;
  } else if (strcmp(rest, "crc") == 0) {
    r.kind = KS__LOG_CRC;
  } else if (strcmp(rest, "checkpoint.parquet") == 0) {
    r.kind = KS__LOG_CHECKPOINT;
    r.part = r.parts = 1;
  } else if (strncmp(rest, "checkpoint.", 11) == 0) {
    const char *p = rest + 11;
    if (strlen(p) == 29 && digits(p, 10, &a) && p[10] == '.' &&
        digits(p + 11, 10, &b) && strcmp(p + 21, ".parquet") == 0 && a >= 1 &&
        a <= b && b < 100000) {
      r.kind = KS__LOG_CHECKPOINT;
      r.part = (int)a;
      r.parts = (int)b;
    } else {
      r.kind = KS__LOG_CHECKPOINT_V2; /* uuid-named V2 (Parquet or JSON) */
    }
  } else if (strlen(rest) == 34 && digits(rest, 20, &a) &&
             strcmp(rest + 20, ".compacted.json") == 0) {
    r.kind = KS__LOG_COMPACTED;
    r.end_version = a;
  } else {
    r.kind = KS__LOG_OTHER;
  }
  return r;
}

/* Complete checkpoints among the names: a classic file, or every part of
 * a multi-part one. Versions ascending, one entry per version (a classic
 * file is preferred); *parts gets the part count of each. */
size_t ks__delta_complete_checkpoints(const ks__delta_logname *names, size_t n,
                                      int64_t *versions, int *parts) {
  size_t out = 0;
  for (size_t i = 0; i < n;) {
    if (names[i].kind != KS__LOG_CHECKPOINT) {
      i++;
      continue;
    }
    int64_t v = names[i].version;
    size_t j = i;
    int best = 0;
    /* same version: classic and multi-part names sort together */
    while (j < n && names[j].version == v) {
      if (names[j].kind == KS__LOG_CHECKPOINT) {
        if (names[j].parts == 1) {
          best = 1;
        } else if (best != 1 && names[j].part == 1) {
          int p = names[j].parts, k = 1;
          for (size_t x = j + 1; x < n && names[x].version == v; x++)
            if (names[x].kind == KS__LOG_CHECKPOINT && names[x].parts == p &&
                names[x].part == k + 1)
              k++;
          if (k == p)
            best = p;
        }
      }
      j++;
    }
    if (best) {
      versions[out] = v;
      parts[out] = best;
      out++;
    }
    i = j;
  }
  return out;
}

/* UUID-named V2 checkpoints, in Parquet or JSON (PROTOCOL.md "V2
 * Checkpoint Spec"), at versions without a classic one, join the
 * checkpoints in version order. */
size_t ks__delta_add_v2_checkpoints(const ks__delta_logname *names,
                                    const char *const *keys, size_t n,
                                    int64_t *versions, int *parts,
                                    char **named, size_t nck) {
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(keys[i]);
    if (names[i].kind != KS__LOG_CHECKPOINT_V2 || len < 8 ||
        (strcmp(keys[i] + len - 8, ".parquet") != 0 &&
         strcmp(keys[i] + len - 5, ".json") != 0))
      continue;
    size_t at = 0;
    while (at < nck && versions[at] < names[i].version)
      at++;
    if (at < nck && versions[at] == names[i].version)
      continue; /* a classic one (or another V2 one) of that version */
    memmove(&versions[at + 1], &versions[at], (nck - at) * sizeof *versions);
    memmove(&parts[at + 1], &parts[at], (nck - at) * sizeof *parts);
    memmove(&named[at + 1], &named[at], (nck - at) * sizeof *named);
    versions[at] = names[i].version;
    parts[at] = 1;
    named[at] = ks_strdup(keys[i]);
    nck++;
  }
  return nck;
}

/* ---- cleanup plan ----------------------------------------------------------
 */

static int64_t midnight_utc(int64_t ms) {
  int64_t day = 86400000LL;
  int64_t d = ms / day;
  if (ms < 0 && ms % day)
    d--;
  return d * day;
}

size_t ks__delta_cleanup_plan(const ks_storage_obj *objs, size_t n,
                              size_t prefix_len, int64_t newest_checkpoint,
                              int64_t now_ms, int64_t retention_ms,
                              size_t *del) {
  ks__delta_logname *names = ks_calloc(n ? n : 1, sizeof *names);
  for (size_t i = 0; i < n; i++)
    names[i] = strlen(objs[i].key) > prefix_len
                   ? ks__delta_parse_logname(objs[i].key + prefix_len)
                   : (ks__delta_logname){KS__LOG_OTHER, -1, 0, 0, -1};
  int64_t cutoff_ts = midnight_utc(now_ms - retention_ms);
  /* the cut-off commit: commit times made strictly increasing */
  int64_t prev_ts = INT64_MIN, cutoff_commit = -1;
  for (size_t i = 0; i < n; i++) {
    if (names[i].kind != KS__LOG_JSON)
      continue;
    int64_t ts = objs[i].mtime_ms;
    if (prev_ts != INT64_MIN && ts <= prev_ts)
      ts = prev_ts + 1;
    prev_ts = ts;
    if (ts <= cutoff_ts)
      cutoff_commit = names[i].version;
  }
  size_t nd = 0;
  int64_t *cv = ks_calloc(n ? n : 1, sizeof *cv);
  int *cp = ks_calloc(n ? n : 1, sizeof *cp);
  size_t nc = ks__delta_complete_checkpoints(names, n, cv, cp);
  int64_t cut = -1;
  for (size_t i = 0; i < nc; i++)
    if (cv[i] <= cutoff_commit && cv[i] <= newest_checkpoint)
      cut = cv[i];
  if (cut > 0) {
    for (size_t i = 0; i < n; i++) {
      const ks__delta_logname *nm = &names[i];
      int old = nm->version >= 0 && nm->version < cut;
      if ((nm->kind == KS__LOG_JSON || nm->kind == KS__LOG_CRC ||
           nm->kind == KS__LOG_CHECKPOINT ||
           nm->kind == KS__LOG_CHECKPOINT_V2) &&
          old)
        del[nd++] = i;
      else if (nm->kind == KS__LOG_COMPACTED && nm->version <= cut &&
               nm->end_version < cut)
        del[nd++] = i;
    }
  }
  ks_free(cv);
  ks_free(cp);
  ks_free(names);
  return nd;
}

/* ---- the job ------------------------------------------------------------- */

static void ck_state(ks__delta_ckpt *j, ckpt_state to) {
  ks_log_debug("delta %s: checkpoint v%" PRId64 " %s -> %s", j->log_prefix,
               j->version, ck_names[j->state], ck_names[to]);
  j->state = to;
}

static void ck_finish(ks__delta_ckpt *j) {
  ck_state(j, CK_DONE);
  if (j->cb)
    j->cb(j->arg, j->status);
  for (size_t i = 0; i < j->ndels; i++)
    ks_free(j->dels[i]);
  ks_free(j->dels);
  ks_buf_free(&j->file);
  ks_buf_free(&j->last);
  ks_free(j->log_prefix);
  ks_free(j);
}

static void ck_next_delete(ks__delta_ckpt *j);

static void on_deleted(void *arg, int status) {
  ks__delta_ckpt *j = arg;
  if (status && status != KS_ENOENT) {
    ks_log_warn("delta %s: log cleanup: deleting %s failed (%s); the next "
                "checkpoint retries",
                j->log_prefix, j->dels[j->next_del - 1], ks_strerror(status));
    ck_finish(j);
    return;
  }
  ck_next_delete(j);
}

static void ck_next_delete(ks__delta_ckpt *j) {
  if (j->next_del == j->ndels) {
    if (j->ndels)
      ks_log_info("delta %s: log cleanup removed %zu entries older than "
                  "checkpoint retention",
                  j->log_prefix, j->ndels);
    ck_finish(j);
    return;
  }
  int rc = ks_storage_del(j->st, j->dels[j->next_del++], on_deleted, j);
  if (rc)
    on_deleted(j, rc);
}

static void on_listed(void *arg, int status, const ks_storage_obj *objs,
                      size_t n) {
  ks__delta_ckpt *j = arg;
  if (status) {
    ks_log_warn("delta %s: log cleanup: list failed (%s)", j->log_prefix,
                ks_strerror(status));
    ck_finish(j);
    return;
  }
  size_t *del = ks_calloc(n ? n : 1, sizeof *del);
  size_t nd = ks__delta_cleanup_plan(objs, n, strlen(j->log_prefix), j->version,
                                     j->now_ms, j->retention_ms, del);
  j->dels = ks_calloc(nd ? nd : 1, sizeof *j->dels);
  for (size_t i = 0; i < nd; i++)
    j->dels[i] = ks_strdup(objs[del[i]].key);
  j->ndels = nd;
  ks_free(del);
  ck_state(j, CK_DELETE);
  ck_next_delete(j);
}

int ks__delta_last_checkpoint_parse(const uint8_t *data, size_t len,
                                    int64_t *version, char *err,
                                    size_t errlen) {
  char perr[200] = "";
  int ok = 0;
  if (len > 64 * 1024) {
    snprintf(perr, sizeof perr, "%zu bytes", len);
  } else if (memchr(data, '\0', len)) {
    snprintf(perr, sizeof perr, "a NUL byte");
  } else {
    char *text = ks_strndup((const char *)data, len);
    yajl_val v = ks_json_tree_parse(text, KS_JSON_MAX_DEPTH, perr, sizeof perr);
    ks_free(text);
    yajl_val ver = NULL;
    for (size_t i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++)
      if (strcmp(v->u.object.keys[i], "version") == 0)
        ver = v->u.object.values[i];
    if (YAJL_IS_INTEGER(ver) && YAJL_GET_INTEGER(ver) >= 0) {
      *version = YAJL_GET_INTEGER(ver);
      ok = 1;
    } else if (v) {
      snprintf(perr, sizeof perr, "no non-negative integer \"version\"");
    }
    ks_json_tree_free(v);
  }
  if (ok)
    return 0;
  perr[strcspn(perr, "\n")] = '\0';
  snprintf(err, errlen,
           "not a JSON object with a checkpoint version (%s); remove it "
           "to read the table from the log's listing",
           perr);
  return KS_ECORRUPT;
}

static void on_last_put(void *arg, int status) {
  ks__delta_ckpt *j = arg;
  if (status) {
    j->status = status;
    ks_log_warn("delta %s_last_checkpoint: write failed (%s); the next "
                "checkpoint retries",
                j->log_prefix, ks_strerror(status));
    ck_finish(j);
    return;
  }
  ks_log_info("delta %s: checkpoint at version %" PRId64 " (%zu bytes)",
              j->log_prefix, j->version, j->file.len);
  ck_state(j, CK_LIST);
  int rc = ks_storage_list(j->st, j->log_prefix, on_listed, j);
  if (rc)
    on_listed(j, rc, NULL, 0);
}

static void on_checkpoint_put(void *arg, int status) {
  ks__delta_ckpt *j = arg;
  if (status) {
    j->status = status;
    ks_log_warn("delta %s%020" PRId64 ".checkpoint.parquet: write failed "
                "(%s); the next checkpoint interval retries",
                j->log_prefix, j->version, ks_strerror(status));
    ck_finish(j);
    return;
  }
  char key[1024];
  snprintf(key, sizeof key, "%s_last_checkpoint", j->log_prefix);
  ck_state(j, CK_PUT_LAST);
  int rc =
      ks_storage_put(j->st, key, j->last.data, j->last.len, on_last_put, j);
  if (rc)
    on_last_put(j, rc);
}

int ks__delta_ckpt_start(ks_storage *st, const char *log_prefix,
                         const ks_delta_snapshot *s, int64_t now_ms,
                         ks__delta_ckpt_cb cb, void *arg,
                         ks__delta_ckpt **out) {
  ks__delta_ckpt *j = ks_calloc(1, sizeof *j);
  j->st = st;
  j->log_prefix = ks_strdup(log_prefix);
  j->version = s->version;
  j->now_ms = now_ms;
  j->retention_ms =
      ks_delta_conf_duration(s, "delta.logRetentionDuration", 30 * 86400000LL);
  j->cb = cb;
  j->arg = arg;
  ks_buf_init(&j->file, 0);
  ks_buf_init(&j->last, 0);
  ks_delta_checkpoint_stats cs;
  int rc = ks_delta_checkpoint_build(s, now_ms, &j->file, &cs);
  if (rc == 0)
    rc = ks_buf_appendf(&j->last,
                        "{\"version\":%" PRId64 ",\"size\":%" PRId64
                        ",\"sizeInBytes\":%zu,\"numOfAddFiles\":%" PRId64 "}",
                        s->version, cs.actions, j->file.len, cs.add_files);
  char key[1024];
  snprintf(key, sizeof key, "%s%020" PRId64 ".checkpoint.parquet", log_prefix,
           s->version);
  if (rc == 0)
    rc = ks_storage_put(st, key, j->file.data, j->file.len, on_checkpoint_put,
                        j);
  if (rc) {
    j->cb = NULL;
    ck_finish(j);
    return rc;
  }
  *out = j;
  return 0;
}

void ks__delta_ckpt_detach(ks__delta_ckpt *j) {
  j->cb = NULL;
  j->arg = NULL;
}
