/*
 * A Delta table over a storage backend: loading (list _delta_log/, read the
 * new entries in order) and committing (put_if_absent of the next entry).
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
#include "storage/delta/delta_int.h"

#include "base/ks.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
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

static const char *const state_names[] = {
    "IDLE", "LOADING", "CHECK", "WRITING", "CONFLICT_RELOAD", "DONE"};

typedef void (*load_done_fn)(ks_delta_table *t, int status);

struct ks_delta_table {
  ks_storage *st;
  char *root;       /* "" or "events/" (with the trailing '/') */
  char *log_prefix; /* root + "_delta_log/" */
  ks_delta_snapshot snap;
  char err[512]; /* the last failure, for the operator */

  /* load */
  int loading;
  int64_t *versions;
  size_t nversions, next_version;
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
  int refreshed; /* the snapshot was reloaded during this commit */
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
  ks_buf_init(&t->entry, 0);
  return t;
}

void ks_delta_table_free(ks_delta_table *t) {
  if (t == NULL)
    return;
  ks_delta_snapshot_free(&t->snap);
  ks_buf_free(&t->entry);
  ks_free(t->versions);
  ks_free(t->root);
  ks_free(t->log_prefix);
  ks_free(t);
}

const ks_delta_snapshot *ks_delta_table_snapshot(const ks_delta_table *t) {
  return &t->snap;
}

const char *ks_delta_table_error(const ks_delta_table *t) { return t->err; }

/* ---- load --------------------------------------------------------------- */

static void load_finish(ks_delta_table *t, int status) {
  t->loading = 0;
  ks_free(t->versions);
  t->versions = NULL;
  t->nversions = t->next_version = 0;
  t->load_done(t, status);
}

/* "<20 digits>.json" -> version; -1 for any other file in _delta_log/. */
static int64_t entry_version(const char *name) {
  if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
    return -1;
  int64_t v = 0;
  for (int i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
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
    set_err(t, "%s: %s", t->log_prefix, msg);
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

static void on_load_list(void *arg, int status, const ks_storage_obj *objs,
                         size_t n) {
  ks_delta_table *t = arg;
  if (status) {
    set_err(t, "%s: list failed: %s", t->log_prefix, ks_strerror(status));
    load_finish(t, status);
    return;
  }
  size_t plen = strlen(t->log_prefix);
  t->versions = ks_calloc(n ? n : 1, sizeof *t->versions);
  int64_t want = t->snap.version + 1;
  for (size_t i = 0; i < n; i++) {
    /* Keys are sorted and the names zero-padded: version order. */
    int64_t v = entry_version(objs[i].key + plen);
    if (v < want)
      continue; /* older entries, checkpoints, .crc, _staged_commits/... */
    if (v != want) {
      set_err(t,
              "%s: log entry %020" PRId64 ".json is missing (found %020" PRId64
              ".json)%s",
              t->log_prefix, want, v,
              want == 0 ? "; tables whose early log was cleaned up after a "
                          "checkpoint are not supported yet"
                        : "");
      ks_log_error("delta %s", t->err);
      load_finish(t, KS_ECORRUPT);
      return;
    }
    t->versions[t->nversions++] = v;
    want++;
  }
  int rc = load_next(t);
  if (rc)
    load_finish(t, rc);
}

static int load_start(ks_delta_table *t, load_done_fn done) {
  t->loading = 1;
  t->load_done = done;
  int rc = ks_storage_list(t->st, t->log_prefix, on_load_list, t);
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

/* ---- commit --------------------------------------------------------------- */

static void commit_state_set(ks_delta_table *t, commit_state to) {
  ks_log_debug("delta %s: commit %s -> %s (snapshot v%" PRId64
               ", attempt %d)",
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
  const ks_delta_commit_req *req = t->req;
  ks_buf *b = &t->entry;
  int64_t now_ms = ks_now_us() / 1000;
  int rc = 0;
  ks_buf_reset(b);
  if (t->snap.version < 0) {
    char id[37];
    ks_delta_uuid(id);
    ks_delta_metadata m = {.id = id,
                           .schema_string = (char *)req->schema_string,
                           .created_time = now_ms};
    if ((rc = ks_delta_write_protocol(b, KS__DELTA_READER_VERSION,
                                      KS__DELTA_WRITER_VERSION)) == 0)
      rc = ks_delta_write_metadata(b, &m);
  }
  for (size_t i = 0; rc == 0 && i < req->nadds; i++)
    rc = ks_delta_write_add(b, &req->adds[i]);
  for (size_t i = 0; rc == 0 && i < req->ntxns; i++) {
    ks_delta_txn txn = {.app_id = (char *)req->txns[i].app_id,
                        .version = req->txns[i].version,
                        .last_updated = now_ms};
    rc = ks_delta_write_txn(b, &txn);
  }
  if (rc == 0)
    rc = ks_delta_write_commit_info(b, now_ms,
                                    req->operation ? req->operation
                                                   : "STREAMING UPDATE",
                                    req->engine_info);
  return rc;
}

static void on_commit_reloaded(ks_delta_table *t, int status);
static void on_commit_put(void *arg, int status);

/* CHECK: protocol, then txns, then write. Returns 0 when an asynchronous
 * step is under way, or the status to finish with. */
static int commit_check(ks_delta_table *t) {
  commit_state_set(t, COMMIT_CHECK);
  const ks_delta_snapshot *s = &t->snap;
  if (s->version >= 0 && (s->min_reader > KS__DELTA_READER_VERSION ||
                          s->min_writer > KS__DELTA_WRITER_VERSION)) {
    set_err(t,
            "%s: table needs reader v%d / writer v%d; ksink writes tables "
            "up to reader v%d / writer v%d",
            t->log_prefix, s->min_reader, s->min_writer,
            KS__DELTA_READER_VERSION, KS__DELTA_WRITER_VERSION);
    return KS_EUNSUPPORTED;
  }
  for (size_t i = 0; i < t->req->ntxns; i++) {
    const ks_delta_txn_update *u = &t->req->txns[i];
    int64_t cur = ks_delta_snapshot_txn(s, u->app_id);
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
  int rc = build_entry(t);
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
    int rc = ks_delta_snapshot_apply(&t->snap, t->writing_version,
                                     t->entry.data, t->entry.len, msg,
                                     sizeof msg);
    if (rc) /* committed, but our own entry does not replay: a bug */
      ks_log_error("delta %s: committed v%" PRId64 " does not replay: %s",
                   t->log_prefix, t->writing_version, msg);
    commit_finish(t, 0);
    return;
  }
  if (status != KS_EEXIST) {
    set_err(t, "%s%020" PRId64 ".json: write failed: %s", t->log_prefix,
            t->writing_version, ks_strerror(status));
    commit_finish(t, status);
    return;
  }
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
  int rc = commit_check(t);
  if (rc) { /* nothing under way: report here, not through the callback */
    t->req = NULL;
    t->commit_cb = NULL;
    t->state = COMMIT_IDLE;
  }
  return rc;
}
