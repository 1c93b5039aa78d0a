/*
 * A Delta table over a storage backend: loading (_last_checkpoint, list
 * _delta_log/, the newest usable checkpoint when the snapshot cannot be
 * brought forward by JSON entries alone, then the new entries in order),
 * committing (put_if_absent of the next entry) and, every
 * delta.checkpointInterval versions, a checkpoint (log_cleanup.c).
 *
 * Loading:
 *
 *   GET_LAST -> LIST -> [CHECKPOINT (part by part) ->] ENTRIES -> done
 *                            | unreadable: the next older checkpoint,
 *                            v             then the whole JSON log
 *
 * The commit is a state machine; commit_state() is the only place the
 * state changes, and it logs each transition at debug level:
 *
 *   IDLE -> CHECK -> WRITING -> DONE                      (no contention)
 *                      |  EEXIST
 *                      v
 *                 CONFLICT_RELOAD -> CHECK -> WRITING ...  (another writer won)
 *
 * CHECK compares every txn of the request with the snapshot. A mismatch on
 * a snapshot that has not been refreshed during this commit first reloads
 * (the caller's `expected` may be newer than our snapshot); a mismatch after
 * a reload means another writer moved that partition: KS_EZOMBIE, nothing
 * written. Every outcome after ks_delta_commit returned 0 arrives through
 * the callback, always from a storage completion, never re-entrantly.
 */
#include "storage/delta/constraint.h"
#include "storage/delta/delta_int.h"

#include "base/ks.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Retries after losing the race for a version. Each one means another
 * writer committed, so this bounds a livelock, not a normal backlog. */
#define KS__DELTA_MAX_ATTEMPTS 100

typedef enum commit_state {
  COMMIT_IDLE,
  COMMIT_LOADING, /* refreshing a stale snapshot before the first write */
  COMMIT_CHECK,
  COMMIT_WRITING,
  COMMIT_CONFLICT_RELOAD,
  COMMIT_DONE
} commit_state;

static const char *const state_names[] = {"IDLE",    "LOADING",         "CHECK",
                                          "WRITING", "CONFLICT_RELOAD", "DONE"};

typedef void (*load_done_fn)(ks_delta_table *t, int status);

struct ks_delta_table {
  ks_storage *st;
  char *root;       /* "" or "events/" (with the trailing '/') */
  char *log_prefix; /* root + "_delta_log/" */
  ks_delta_snapshot snap;
  char err[512]; /* the last failure, for the operator */

  /* load */
  int loading;
  int64_t hint;      /* _last_checkpoint's version, -1: none */
  int64_t last_ckpt; /* newest checkpoint seen, for inspect */
  int64_t *versions; /* JSON entries to read */
  size_t nversions, next_version;
  int64_t *json; /* every JSON version listed, ascending */
  size_t njson;
  int64_t *ck_versions; /* complete checkpoints listed, ascending */
  int *ck_parts;
  char **ck_names;      /* V2 UUID-named ones: the name, else NULL */
  size_t nck_names;     /* entries of ck_names (nck may shrink) */
  size_t ck_sidecar;    /* sidecars of ck_snap applied so far */
  size_t nck;
  int64_t newest;
  ks_delta_snapshot ck_snap; /* a checkpoint being read */
  char ck_err[400];          /* why the last checkpoint tried was refused */
  int ck_part;
  size_t ck_at;         /* index into ck_versions */
  ks__delta_ckpt *ckpt; /* checkpoint job in flight */
  ks_delta_cb ckpt_cb;
  void *ckpt_arg;
  load_done_fn load_done;
  ks_delta_cb load_cb;
  void *load_arg;

  /* commit */
  commit_state state;
  const ks_delta_commit_req *req;
  ks_delta_commit_cb commit_cb;
  void *commit_arg;
  ks_buf entry;
  int64_t writing_version;
  int attempts;
  uint64_t conflicts; /* versions lost to another writer, ever */
  int refreshed;      /* the snapshot was reloaded during this commit */
  ks_buf meta_sig; /* protocol + metaData when a commit removing files began */
  ks_buf layout_sig; /* what files were written for (conflict.c) */
};

static void set_err(ks_delta_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(ks_delta_table *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->err, sizeof t->err, fmt, ap);
  va_end(ap);
}

static void log_key(const ks_delta_table *t, char *out, size_t n,
                    int64_t version) {
  snprintf(out, n, "%s%020" PRId64 ".json", t->log_prefix, version);
}

ks_delta_table *ks_delta_table_new(ks_storage *st, const char *root) {
  ks_delta_table *t = ks_calloc(1, sizeof *t);
  t->st = st;
  size_t n = strlen(root);
  while (n && root[n - 1] == '/')
    n--;
  t->root = ks_malloc(n + 2);
  memcpy(t->root, root, n);
  if (n)
    t->root[n++] = '/';
  t->root[n] = '\0';
  t->log_prefix = ks_malloc(n + sizeof "_delta_log/");
  memcpy(t->log_prefix, t->root, n);
  memcpy(t->log_prefix + n, "_delta_log/", sizeof "_delta_log/");
  ks_delta_snapshot_init(&t->snap);
  ks_delta_snapshot_init(&t->ck_snap);
  ks_buf_init(&t->entry, 0);
  ks_buf_init(&t->meta_sig, 0);
  ks_buf_init(&t->layout_sig, 0);
  t->hint = t->last_ckpt = -1;
  return t;
}

void ks_delta_table_free(ks_delta_table *t) {
  if (t == NULL)
    return;
  if (t->ckpt)
    ks__delta_ckpt_detach(t->ckpt);
  ks_delta_snapshot_free(&t->snap);
  ks_delta_snapshot_free(&t->ck_snap);
  ks_buf_free(&t->entry);
  ks_buf_free(&t->meta_sig);
  ks_buf_free(&t->layout_sig);
  ks_free(t->versions);
  ks_free(t->json);
  ks_free(t->ck_versions);
  ks_free(t->ck_parts);
  ks_free(t->ck_names);
  ks_free(t->root);
  ks_free(t->log_prefix);
  ks_free(t);
}

const ks_delta_snapshot *ks_delta_table_snapshot(const ks_delta_table *t) {
  return &t->snap;
}

const char *ks_delta_table_error(const ks_delta_table *t) {
  return t->err;
}

ks_storage *ks__delta_table_storage(const ks_delta_table *t) {
  return t->st;
}
const char *ks__delta_table_root(const ks_delta_table *t) {
  return t->root;
}

/* ---- load --------------------------------------------------------------- */

static void load_finish(ks_delta_table *t, int status) {
  t->loading = 0;
  ks_free(t->versions);
  ks_free(t->json);
  ks_free(t->ck_versions);
  ks_free(t->ck_parts);
  for (size_t i = 0; t->ck_names && i < t->nck_names; i++)
    ks_free(t->ck_names[i]);
  ks_free(t->ck_names);
  t->versions = t->json = t->ck_versions = NULL;
  t->ck_parts = NULL;
  t->ck_names = NULL;
  t->nversions = t->next_version = t->njson = t->nck = 0;
  ks_delta_snapshot_free(&t->ck_snap);
  t->load_done(t, status);
}

int64_t ks_delta_table_last_checkpoint(const ks_delta_table *t) {
  return t->last_ckpt;
}

static int load_next(ks_delta_table *t);

static void on_load_get(void *arg, int status, const uint8_t *data,
                        size_t len) {
  ks_delta_table *t = arg;
  int64_t v = t->versions[t->next_version];
  if (status) {
    set_err(t, "%s%020" PRId64 ".json: read failed: %s", t->log_prefix, v,
            ks_strerror(status));
    load_finish(t, status);
    return;
  }
  char msg[400];
  int rc = ks_delta_snapshot_apply(&t->snap, v, data, len, msg, sizeof msg);
  if (rc) {
    set_err(t, "%s%020" PRId64 ".json: %s", t->log_prefix, v, msg);
    ks_log_error("delta %s", t->err);
    load_finish(t, rc);
    return;
  }
  t->next_version++;
  if ((rc = load_next(t)))
    load_finish(t, rc);
}

/* Starts reading the next entry, or finishes when there is none. */
static int load_next(ks_delta_table *t) {
  if (t->next_version == t->nversions) {
    load_finish(t, 0);
    return 0;
  }
  char key[1024];
  log_key(t, key, sizeof key, t->versions[t->next_version]);
  return ks_storage_get(t->st, key, on_load_get, t);
}

/* Whether the JSON entries from..newest are all listed. */
static int json_run(const ks_delta_table *t, int64_t from) {
  if (from > t->newest)
    return 1;
  size_t lo = 0, hi = t->njson;
  while (lo < hi) { /* first listed version >= from */
    size_t mid = (lo + hi) / 2;
    if (t->json[mid] < from)
      lo = mid + 1;
    else
      hi = mid;
  }
  return t->njson - lo == (size_t)(t->newest - from + 1) && t->json[lo] == from;
}

/* Reads entries from..newest into the snapshot. */
static int read_entries(ks_delta_table *t, int64_t from) {
  t->nversions = t->next_version = 0;
  /* json_run(from) held: at most njson versions */
  size_t n = from <= t->newest ? (size_t)(t->newest - from + 1) : 0;
  ks_free(t->versions);
  t->versions = ks_calloc(n ? n : 1, sizeof *t->versions);
  for (int64_t v = from; v <= t->newest; v++)
    t->versions[t->nversions++] = v;
  return load_next(t);
}

static int try_checkpoint(ks_delta_table *t);
static void ckpt_sidecars(ks_delta_table *t);
static void on_ict_get(void *arg, int status, const uint8_t *data,
                       size_t len);

static void ckpt_key(const ks_delta_table *t, char *key, size_t n) {
  int64_t v = t->ck_versions[t->ck_at];
  int parts = t->ck_parts[t->ck_at];
  if (t->ck_names && t->ck_names[t->ck_at])
    snprintf(key, n, "%s%s", t->log_prefix, t->ck_names[t->ck_at]);
  else if (parts == 1)
    snprintf(key, n, "%s%020" PRId64 ".checkpoint.parquet", t->log_prefix, v);
  else
    snprintf(key, n, "%s%020" PRId64 ".checkpoint.%010d.%010d.parquet",
             t->log_prefix, v, t->ck_part, parts);
}

/* A checkpoint did not read: the next older one, else the whole log. */
static int checkpoint_fallback(ks_delta_table *t) {
  ks_delta_snapshot_free(&t->ck_snap);
  if (t->ck_at == 0) {
    t->nck = 0;
    return try_checkpoint(t);
  }
  t->ck_at--;
  t->nck = t->ck_at + 1;
  return try_checkpoint(t);
}

static void on_ckpt_get(void *arg, int status, const uint8_t *data,
                        size_t len) {
  ks_delta_table *t = arg;
  char key[1024];
  ckpt_key(t, key, sizeof key);
  if (status && status != KS_ENOENT) {
    set_err(t, "%s: read failed: %s", key, ks_strerror(status));
    load_finish(t, status);
    return;
  }
  char msg[300] = "not found";
  int rc = status ? status
                  : ks__delta_checkpoint_apply_file(&t->ck_snap, key, data,
                                                    len, msg, sizeof msg);
  if (rc) {
    if (snprintf(t->ck_err, sizeof t->ck_err, "; %s: unreadable (%s)", key,
                 msg) < 0)
      t->ck_err[0] = '\0';
    ks_log_warn("delta %s: unreadable checkpoint (%s); trying an older one "
                "or the JSON log",
                key, msg);
    if ((rc = checkpoint_fallback(t)))
      load_finish(t, rc);
    return;
  }
  if (t->ck_part < t->ck_parts[t->ck_at]) {
    t->ck_part++;
    ckpt_key(t, key, sizeof key);
    if ((rc = ks_storage_get(t->st, key, on_ckpt_get, t)))
      load_finish(t, rc);
    return;
  }
  t->ck_sidecar = 0;
  ckpt_sidecars(t);
}

/* A sidecar of a V2 checkpoint: add and remove rows, read as a part. */
static void on_sidecar_get(void *arg, int status, const uint8_t *data,
                           size_t len) {
  ks_delta_table *t = arg;
  char msg[300] = "not found";
  int rc = status ? status
                  : ks_delta_checkpoint_apply(&t->ck_snap, data, len, 0, msg,
                                              sizeof msg);
  if (rc) {
    ks_log_warn("delta %s_sidecars/%s: unreadable sidecar (%s); trying an "
                "older checkpoint or the JSON log",
                t->log_prefix, t->ck_snap.sidecars[t->ck_sidecar], msg);
    if ((rc = checkpoint_fallback(t)))
      load_finish(t, rc);
    return;
  }
  t->ck_sidecar++;
  ckpt_sidecars(t);
}

/* Reads the checkpoint's next sidecar, or takes the checkpoint. */
static void ckpt_sidecars(ks_delta_table *t) {
  int rc;
  char key[1024];
  ckpt_key(t, key, sizeof key);
  if (t->ck_sidecar < t->ck_snap.nsidecars) {
    char sk[1024];
    snprintf(sk, sizeof sk, "%s_sidecars/%s", t->log_prefix,
             t->ck_snap.sidecars[t->ck_sidecar]);
    if ((rc = ks_storage_get(t->st, sk, on_sidecar_get, t)))
      load_finish(t, rc);
    return;
  }
  int64_t v = t->ck_versions[t->ck_at];
  if (!t->ck_snap.has_protocol || !t->ck_snap.has_metadata) {
    ks_log_warn("delta %s: checkpoint without protocol or metaData", key);
    if ((rc = checkpoint_fallback(t)))
      load_finish(t, rc);
    return;
  }
  for (size_t i = 0; i < t->ck_snap.nsidecars; i++)
    ks_free(t->ck_snap.sidecars[i]);
  ks_free(t->ck_snap.sidecars);
  t->ck_snap.sidecars = NULL;
  t->ck_snap.nsidecars = 0;
  ks_delta_snapshot_free(&t->snap);
  t->snap = t->ck_snap;
  t->snap.version = v;
  ks_delta_snapshot_init(&t->ck_snap);
  /* in-commit timestamps: the checkpoint's own commit states the last one
   * (its entry is read when listed; later entries state theirs) */
  if (ks_delta_in_commit_timestamps(&t->snap) && json_run(t, v)) {
    snprintf(key, sizeof key, "%s%020" PRId64 ".json", t->log_prefix, v);
    if ((rc = ks_storage_get(t->st, key, on_ict_get, t)))
      load_finish(t, rc);
    return;
  }
  if ((rc = read_entries(t, v + 1)))
    load_finish(t, rc);
}

/* The checkpoint's commit: its commitInfo's inCommitTimestamp (first in
 * the entry when the table has them; a missing one leaves -1). */
static void on_ict_get(void *arg, int status, const uint8_t *data,
                       size_t len) {
  ks_delta_table *t = arg;
  int64_t ict = status == 0 ? ks__delta_first_ict(data, len) : -1;
  t->snap.last_ict = ict >= 0 ? ict : t->snap.last_ict;
  int rc;
  if ((rc = read_entries(t, t->snap.version + 1)))
    load_finish(t, rc);
}

/* The newest listed checkpoint (at or below ck_versions[nck-1]) whose
 * later entries are all listed; with none, the whole JSON log. */
static int try_checkpoint(ks_delta_table *t) {
  while (t->nck > 0) {
    size_t i = t->nck - 1;
    if (t->ck_versions[i] <= t->newest && json_run(t, t->ck_versions[i] + 1)) {
      t->ck_at = i;
      t->ck_part = 1;
      ks_delta_snapshot_init(&t->ck_snap);
      char key[1024];
      ckpt_key(t, key, sizeof key);
      return ks_storage_get(t->st, key, on_ckpt_get, t);
    }
    t->nck--;
  }
  if (json_run(t, 0)) {
    ks_delta_snapshot_free(&t->snap);
    return read_entries(t, 0);
  }
  /* name the first gap */
  int64_t want = t->snap.version + 1;
  for (size_t i = 0; i < t->njson; i++) {
    if (t->json[i] < want)
      continue;
    if (t->json[i] != want)
      break;
    want++;
  }
  set_err(t,
          "%s%020" PRId64 ".json is missing and no checkpoint covers it%s",
          t->log_prefix, want, t->ck_err);
  ks_log_error("delta %s", t->err);
  load_finish(t, KS_ECORRUPT);
  return 0;
}

static void on_load_list(void *arg, int status, const ks_storage_obj *objs,
                         size_t n) {
  ks_delta_table *t = arg;
  if (status) {
    set_err(t, "%s: list failed: %s", t->log_prefix, ks_strerror(status));
    load_finish(t, status);
    return;
  }
  size_t plen = strlen(t->log_prefix);
  ks__delta_logname *names = ks_calloc(n ? n : 1, sizeof *names);
  t->json = ks_calloc(n ? n : 1, sizeof *t->json);
  t->ck_versions = ks_calloc(n ? n : 1, sizeof *t->ck_versions);
  t->ck_parts = ks_calloc(n ? n : 1, sizeof *t->ck_parts);
  t->newest = -1;
  for (size_t i = 0; i < n; i++) {
    /* keys are sorted and the names zero-padded: version order */
    names[i] = ks__delta_parse_logname(objs[i].key + plen);
    if (names[i].kind == KS__LOG_JSON) {
      t->json[t->njson++] = names[i].version;
      t->newest = names[i].version;
    }
  }
  t->nck =
      ks__delta_complete_checkpoints(names, n, t->ck_versions, t->ck_parts);
  t->ck_names = ks_calloc(n ? n : 1, sizeof *t->ck_names);
  t->nck_names = n;
  const char **keys = ks_calloc(n ? n : 1, sizeof *keys);
  for (size_t i = 0; i < n; i++)
    keys[i] = objs[i].key + plen;
  t->nck = ks__delta_add_v2_checkpoints(names, keys, n, t->ck_versions,
                                        t->ck_parts, t->ck_names, t->nck);
  ks_free(keys);
  ks_free(names);
  t->last_ckpt = t->hint;
  if (t->nck && t->ck_versions[t->nck - 1] > t->last_ckpt)
    t->last_ckpt = t->ck_versions[t->nck - 1];
  int rc;
  int64_t cur = t->snap.version;
  if (cur >= t->newest) {
    rc = load_next(t); /* nothing new */
  } else if (cur >= 0 && json_run(t, cur + 1) &&
             (t->nck == 0 || t->ck_versions[t->nck - 1] <= cur ||
              t->newest - cur <= 2 * ks_delta_checkpoint_interval(&t->snap))) {
    /* the snapshot moves forward by entries alone (a checkpoint is used
     * only when it saves more than a couple of intervals of entries) */
    rc = read_entries(t, cur + 1);
  } else {
    rc = try_checkpoint(t);
  }
  if (rc)
    load_finish(t, rc);
}

static void on_last_checkpoint(void *arg, int status, const uint8_t *data,
                               size_t len) {
  ks_delta_table *t = arg;
  t->hint = -1;
  char msg[300];
  if (status == 0 && len > 0 && /* empty: no hint, as if absent */
      ks__delta_last_checkpoint_parse(data, len, &t->hint, msg, sizeof msg)) {
    set_err(t, "%s_last_checkpoint: %s", t->log_prefix, msg);
    ks_log_error("delta %s", t->err);
    load_finish(t, KS_ECORRUPT);
    return;
  }
  if (status && status != KS_ENOENT) {
    set_err(t, "%s_last_checkpoint: read failed: %s", t->log_prefix,
            ks_strerror(status));
    load_finish(t, status);
    return;
  }
  int rc = ks_storage_list(t->st, t->log_prefix, on_load_list, t);
  if (rc)
    load_finish(t, rc);
}

static int load_start(ks_delta_table *t, load_done_fn done) {
  t->loading = 1;
  t->load_done = done;
  t->ck_err[0] = '\0';
  char key[1024];
  snprintf(key, sizeof key, "%s_last_checkpoint", t->log_prefix);
  int rc = ks_storage_get(t->st, key, on_last_checkpoint, t);
  if (rc)
    t->loading = 0;
  return rc;
}

static void on_public_load(ks_delta_table *t, int status) {
  ks_delta_cb cb = t->load_cb;
  void *arg = t->load_arg;
  t->load_cb = NULL;
  cb(arg, status);
}

int ks_delta_table_load(ks_delta_table *t, ks_delta_cb cb, void *arg) {
  if (cb == NULL || t->loading || t->state != COMMIT_IDLE)
    return KS_EINVAL;
  t->load_cb = cb;
  t->load_arg = arg;
  return load_start(t, on_public_load);
}

/* ---- commit ---------------------------------------------------------------
 */

static void commit_state_set(ks_delta_table *t, commit_state to) {
  ks_log_debug("delta %s: commit %s -> %s (snapshot v%" PRId64 ", attempt %d)",
               t->log_prefix, state_names[t->state], state_names[to],
               t->snap.version, t->attempts);
  t->state = to;
}

static void commit_finish(ks_delta_table *t, int status) {
  commit_state_set(t, COMMIT_DONE);
  ks_delta_commit_cb cb = t->commit_cb;
  void *arg = t->commit_arg;
  int64_t version = status ? -1 : t->writing_version;
  t->req = NULL;
  t->commit_cb = NULL;
  t->state = COMMIT_IDLE; /* the callback may start the next commit */
  cb(arg, status, version);
}

static int build_entry(ks_delta_table *t) {
  return ks__delta_build_entry(&t->snap, t->req, &t->entry);
}

static void on_commit_reloaded(ks_delta_table *t, int status);
static void on_commit_put(void *arg, int status);

/* ---- checkpoints ----------------------------------------------------------
 */

static void on_checkpoint_done(void *arg, int status) {
  ks_delta_table *t = arg;
  ks_delta_cb cb = t->ckpt_cb;
  void *cb_arg = t->ckpt_arg;
  t->ckpt = NULL;
  t->ckpt_cb = NULL;
  if (cb)
    cb(cb_arg, status);
}

int ks_delta_table_checkpoint(ks_delta_table *t, ks_delta_cb cb, void *arg) {
  if (t->ckpt)
    return KS_EEXIST;
  if (t->snap.version < 0)
    return KS_EINVAL;
  t->ckpt_cb = cb;
  t->ckpt_arg = arg;
  int rc =
      ks__delta_ckpt_start(t->st, t->log_prefix, &t->snap, ks_now_us() / 1000,
                           on_checkpoint_done, t, &t->ckpt);
  if (rc) {
    t->ckpt = NULL;
    t->ckpt_cb = NULL;
  }
  return rc;
}

int ks_delta_table_checkpointing(const ks_delta_table *t) {
  return t->ckpt != NULL;
}

/* After a commit at a checkpoint interval. Never fails the commit: a
 * checkpoint that cannot start or write is logged and the next interval
 * tries again. */
static void maybe_checkpoint(ks_delta_table *t) {
  int rc = ks_delta_table_checkpoint(t, NULL, NULL);
  if (rc == KS_EEXIST)
    ks_log_info("delta %s: checkpoint at v%" PRId64
                " skipped: the previous one is still being written",
                t->log_prefix, t->snap.version);
  else if (rc)
    ks_log_warn("delta %s: checkpoint at v%" PRId64 " not started: %s",
                t->log_prefix, t->snap.version, ks_strerror(rc));
}

static void note_layout(ks_delta_table *t) {
  if (t->layout_sig.len == 0 && t->snap.version >= 0 && t->snap.has_metadata)
    ks__delta_layout_signature(&t->snap, &t->layout_sig);
}

/* CHECK: protocol, then txns, then write. Returns 0 when an asynchronous
 * step is under way, or the status to finish with. */
static int commit_check(ks_delta_table *t) {
  commit_state_set(t, COMMIT_CHECK);
  const ks_delta_snapshot *s = &t->snap;
  char why[400];
  if (s->version >= 0 && ks_delta_protocol_check(s, why, sizeof why)) {
    set_err(t, "%s: %s", t->log_prefix, why);
    return KS_EUNSUPPORTED;
  }
  const char *layout = t->req->layout_sig;
  if (layout == NULL && t->layout_sig.len) {
    ks_buf_cstr(&t->layout_sig);
    layout = (const char *)t->layout_sig.data;
  }
  int rc =
      ks__delta_check_layout(s, layout, t->log_prefix, t->err, sizeof t->err);
  if (rc)
    return rc;
  if (s->version >= 0 && !ks__delta_commit_checked(s, t->req)) {
    set_err(t,
            "%s: the table's invariants, CHECK constraints or generated "
            "columns in version %" PRId64 " are not the ones this batch was "
            "checked against (another writer changed them): restart to "
            "check records against them",
            t->log_prefix, s->version);
    return KS_EUNSUPPORTED;
  }
  if (t->req->new_schema_string && s->version >= 0) {
    const char *cur = s->has_metadata ? s->metadata.schema_string : NULL;
    if (cur == NULL || t->req->schema_from == NULL ||
        strcmp(cur, t->req->schema_from) != 0) {
      set_err(t,
              "%s: another writer changed the table's schema in version "
              "%" PRId64 " meanwhile",
              t->log_prefix, s->version);
      return KS_ECONFLICT;
    }
  }
  for (size_t i = 0; i < t->req->ntxns; i++) {
    const ks_delta_txn_update *u = &t->req->txns[i];
    int64_t cur = ks_delta_snapshot_txn_or(s, u->app_id, u->legacy_app_id);
    if (cur == u->expected)
      continue;
    if (!t->refreshed) {
      t->refreshed = 1;
      commit_state_set(t, COMMIT_LOADING);
      return load_start(t, on_commit_reloaded);
    }
    set_err(t,
            "%s: txn %s is at %" PRId64 " in version %" PRId64
            ", the batch started after %" PRId64
            ": another writer committed it",
            t->log_prefix, u->app_id, cur, s->version, u->expected);
    ks_log_warn("delta %s", t->err);
    return KS_EZOMBIE;
  }
  rc = t->req->nremoves
           ? ks__delta_check_removes(s, t->req, &t->meta_sig, t->log_prefix,
                                     t->err, sizeof t->err)
           : 0;
  if (rc == 0)
    rc = build_entry(t);
  if (rc)
    return rc;
  t->writing_version = s->version + 1;
  char key[1024];
  log_key(t, key, sizeof key, t->writing_version);
  commit_state_set(t, COMMIT_WRITING);
  return ks_storage_put_if_absent(t->st, key, t->entry.data, t->entry.len,
                                  on_commit_put, t);
}

static void on_commit_reloaded(ks_delta_table *t, int status) {
  if (status == 0)
    status = commit_check(t);
  if (status)
    commit_finish(t, status);
}

static void on_commit_put(void *arg, int status) {
  ks_delta_table *t = arg;
  if (status == 0) {
    char msg[400];
    int rc =
        ks_delta_snapshot_apply(&t->snap, t->writing_version, t->entry.data,
                                t->entry.len, msg, sizeof msg);
    if (rc) /* committed, but our own entry does not replay: a bug */
      ks_log_error("delta %s: committed v%" PRId64 " does not replay: %s",
                   t->log_prefix, t->writing_version, msg);
    else if (t->writing_version > 0 &&
             t->writing_version % ks_delta_checkpoint_interval(&t->snap) == 0)
      maybe_checkpoint(t);
    note_layout(t); /* the table this commit created */
    commit_finish(t, 0);
    return;
  }
  if (status != KS_EEXIST) {
    set_err(t, "%s%020" PRId64 ".json: write failed: %s", t->log_prefix,
            t->writing_version, ks_strerror(status));
    commit_finish(t, status);
    return;
  }
  t->conflicts++;
  if (++t->attempts >= KS__DELTA_MAX_ATTEMPTS) {
    set_err(t, "%s: lost the race for a version %d times in a row",
            t->log_prefix, t->attempts);
    commit_finish(t, KS_ECONFLICT);
    return;
  }
  t->refreshed = 1;
  commit_state_set(t, COMMIT_CONFLICT_RELOAD);
  int rc = load_start(t, on_commit_reloaded);
  if (rc)
    commit_finish(t, rc);
}

int ks_delta_commit(ks_delta_table *t, const ks_delta_commit_req *req,
                    ks_delta_commit_cb cb, void *arg) {
  if (cb == NULL || req == NULL || t->loading || t->state != COMMIT_IDLE)
    return KS_EINVAL;
  if ((req->nadds && req->adds == NULL) || (req->ntxns && req->txns == NULL))
    return KS_EINVAL;
  for (size_t i = 0; i < req->nadds; i++)
    if (req->adds[i].path == NULL)
      return KS_EINVAL;
  if ((req->nremoves && req->removes == NULL) ||
      (req->nremoves && t->snap.version < 0))
    return KS_EINVAL;
  for (size_t i = 0; i < req->nremoves; i++)
    if (req->removes[i].path == NULL)
      return KS_EINVAL;
  for (size_t i = 0; i < req->ntxns; i++)
    if (req->txns[i].app_id == NULL ||
        req->txns[i].version <= req->txns[i].expected)
      return KS_EINVAL;
  if (t->snap.version < 0 &&
      (req->schema_string == NULL || req->schema_string[0] == 0)) {
    set_err(t, "%s: creating the table needs its schema", t->log_prefix);
    return KS_EINVAL;
  }
  t->req = req;
  t->commit_cb = cb;
  t->commit_arg = arg;
  t->attempts = 0;
  t->refreshed = 0;
  t->err[0] = '\0';
  if (req->nremoves)
    ks__delta_meta_signature(&t->snap, &t->meta_sig);
  note_layout(t);
  int rc = commit_check(t);
  if (rc) { /* nothing under way: report here, not through the callback */
    t->req = NULL;
    t->commit_cb = NULL;
    t->state = COMMIT_IDLE;
  }
  return rc;
}

uint64_t ks_delta_table_conflicts(const ks_delta_table *t) {
  return t->conflicts;
}
