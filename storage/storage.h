/*
 * The storage interface: one vtable for every backend (fs, s3).
 * Every operation is asynchronous and completes with a callback on the loop
 * the storage was opened on; a backend never blocks that loop (fs does its
 * system calls on the libuv thread pool). Keys are relative to the storage
 * root (storage.url) and use '/' separators.
 *
 * Ownership: data passed to put/put_if_absent/upload_part must stay valid
 * until the operation's callback runs. Data handed to a get/list callback
 * is valid only during the callback.
 */
#ifndef KS_STORAGE_STORAGE_H
#define KS_STORAGE_STORAGE_H

#include "base/ks.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct ks_storage ks_storage;
typedef struct ks_upload ks_upload; /* an open multipart upload */

typedef struct ks_storage_obj {
  const char *key; /* relative to the storage root */
  uint64_t size;
  int64_t mtime_ms;
} ks_storage_obj;

/* status: 0, or a negative ksink error code. put_if_absent reports an
 * existing key as KS_EEXIST; get of a missing key as KS_ENOENT. */
typedef void (*ks_storage_cb)(void *arg, int status);
typedef void (*ks_storage_get_cb)(void *arg, int status, const uint8_t *data,
                                  size_t len);
/* Objects under the prefix, sorted by key. */
typedef void (*ks_storage_list_cb)(void *arg, int status,
                                   const ks_storage_obj *objs, size_t n);
typedef void (*ks_upload_cb)(void *arg, int status, ks_upload *up);
/* Complete reports the object's final size and modification time. */
typedef void (*ks_upload_done_cb)(void *arg, int status,
                                  const ks_storage_obj *obj);
/* Sweep of stale uploads: how many were aborted, and how many stale ones
 * are still there (an abort failed or the sweep was canceled). */
typedef void (*ks_storage_sweep_cb)(void *arg, int status, size_t aborted,
                                    size_t left);

typedef struct ks_storage_vtable {
  const char *name;
  int (*put)(ks_storage *s, const char *key, const void *data, size_t len,
             ks_storage_cb cb, void *arg);
  int (*put_if_absent)(ks_storage *s, const char *key, const void *data,
                       size_t len, ks_storage_cb cb, void *arg);
  int (*get)(ks_storage *s, const char *key, ks_storage_get_cb cb, void *arg);
  int (*list)(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
              void *arg);
  int (*del)(ks_storage *s, const char *key, ks_storage_cb cb, void *arg);
  /* Multipart: parts are numbered from 1 and may complete out of order. */
  int (*upload_create)(ks_storage *s, const char *key, ks_upload_cb cb,
                       void *arg);
  int (*upload_part)(ks_storage *s, ks_upload *up, int part_no,
                     const void *data, size_t len, ks_storage_cb cb, void *arg);
  /* Assembles the parts under the upload's key. if_absent: only when the
   * key is free (If-None-Match: *); a taken key ends with KS_EEXIST and
   * is never replaced. The upload is over, and up freed after the
   * callback, on success, KS_EEXIST and KS_ENOENT (the upload is gone:
   * the file must be written again). On any other failure up stays
   * valid: the caller retries the complete or aborts. */
  int (*upload_complete)(ks_storage *s, ks_upload *up, int if_absent,
                         ks_upload_done_cb cb, void *arg);
  /* Frees up after the callback. */
  int (*upload_abort)(ks_storage *s, ks_upload *up, ks_storage_cb cb,
                      void *arg);
  /* Waits for nothing: the caller has drained its operations first; what
   * is still in flight completes with KS_ECANCELED. */
  void (*close)(ks_storage *s);
  /* Aborts the uploads under prefix that a crashed process left behind:
   * those started (s3) or last written (fs) more than older_than_ms ago.
   * Logs each one. Optional (NULL: KS_EUNSUPPORTED). */
  int (*sweep_uploads)(ks_storage *s, const char *prefix, int64_t older_than_ms,
                       ks_storage_sweep_cb cb, void *arg);
} ks_storage_vtable;

struct ks_storage {
  const ks_storage_vtable *vt;
  uv_loop_t *loop;
  /* Bytes the output streams on this storage hold in memory (file bytes
   * not yet acknowledged by storage). Written and read on `loop` only: the
   * worker's memory budget counts it (storage/ostream.c keeps it). */
  size_t held;
};

typedef struct ks_conf_s3 ks_conf_s3;

/* Process-wide storage numbers every backend reports into and http/ reads
 * without locks. */
typedef struct ks_storage_stats {
  atomic_uint_fast64_t bytes_uploaded; /* data storage acknowledged */
  atomic_uint_fast64_t last_ok_ms;     /* monotonic; 0: never */
  atomic_uint_fast64_t last_fail_ms;   /* monotonic; 0: never */
  atomic_int writes_in_flight;         /* objects and parts being written */
} ks_storage_stats;
extern ks_storage_stats ks_storage_stats_g;

/* A backend finished an operation. reachable: storage gave a definite
 * answer (not-found and already-exists included), not a network, server
 * or device fault; bytes: what it acknowledged as stored. */
void ks_storage_note(int reachable, uint64_t bytes);
/* Whether the most recent operation reached storage (1 before any). */
int ks_storage_reachable(void);
/* A refusal no retry heals (S3: a 4xx other than 404/408/409/412/429 and
 * the throttling codes, e.g. 403 AccessDenied; fs: permission denied, a
 * read-only or full device): what was refused, for /readyz. */
void ks_storage_note_refused(const char *what);
/* A write storage accepted: the refusal streak ends. */
void ks_storage_note_accepted(void);
/* Refusals in a row (0 since the last accepted write); the newest one's
 * text into why. Thread-safe. */
int ks_storage_refused(char *why, size_t n);

/* Opens the backend for a storage URL (file:///abs/path or
 * s3://bucket/prefix) on a loop (storage/open.c, the factory). s3: the storage.s3 settings (NULL for
 * defaults; unused by fs). Returns KS_EUNSUPPORTED for unknown schemes. */
int ks_storage_open(uv_loop_t *loop, const char *url, const ks_conf_s3 *s3,
                    ks_storage **out);

/* For callers that wait for storage before any worker loop exists
 * (start-up): opens url on a loop of its own, calls fn with both, then
 * closes the storage and runs the loop until nothing is left. Returns
 * fn's result, or the open error with "storage <url>: <reason>" in err. */
typedef int (*ks_storage_private_fn)(uv_loop_t *loop, ks_storage *st,
                                     void *arg);
int ks_storage_run_private(const char *url, const ks_conf_s3 *s3,
                           ks_storage_private_fn fn, void *arg, char *err,
                           size_t errlen);

static inline int ks_storage_put(ks_storage *s, const char *key,
                                 const void *data, size_t len, ks_storage_cb cb,
                                 void *arg) {
  return s->vt->put(s, key, data, len, cb, arg);
}
static inline int ks_storage_put_if_absent(ks_storage *s, const char *key,
                                           const void *data, size_t len,
                                           ks_storage_cb cb, void *arg) {
  return s->vt->put_if_absent(s, key, data, len, cb, arg);
}
static inline int ks_storage_get(ks_storage *s, const char *key,
                                 ks_storage_get_cb cb, void *arg) {
  return s->vt->get(s, key, cb, arg);
}
static inline int ks_storage_list(ks_storage *s, const char *prefix,
                                  ks_storage_list_cb cb, void *arg) {
  return s->vt->list(s, prefix, cb, arg);
}
static inline int ks_storage_del(ks_storage *s, const char *key,
                                 ks_storage_cb cb, void *arg) {
  return s->vt->del(s, key, cb, arg);
}
static inline int ks_storage_sweep_uploads(ks_storage *s, const char *prefix,
                                           int64_t older_than_ms,
                                           ks_storage_sweep_cb cb, void *arg) {
  if (s->vt->sweep_uploads == NULL)
    return KS_EUNSUPPORTED;
  return s->vt->sweep_uploads(s, prefix, older_than_ms, cb, arg);
}
static inline void ks_storage_close(ks_storage *s) {
  s->vt->close(s);
}

#endif
