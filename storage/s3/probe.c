/*
 * The start-up check that the store really does conditional writes: the
 * Delta log is only safe when a second put-if-absent (If-None-Match: *) of
 * the same key is refused with 412. Some S3-compatible stores ignore the
 * header and overwrite; finding that out at start-up beats finding a
 * commit silently replaced later. A random scratch key under the storage
 * root is put twice (different bytes), the second must be refused. Then a
 * one-part multipart upload is completed over it under the same condition
 * (how large Parquet and JSON Lines files land): a store that replaces the
 * object there is named in a warning (storage/ostream.c looks the key up
 * before each such complete). Then the key is deleted. Called by the reactor before anything consumes, on a loop
 * of its own (ks_storage_run_private).
 */
#include "storage/s3/s3.h"

#include "base/backoff.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { P_PUT1, P_PUT2, P_CREATE, P_PART, P_COMPLETE, P_ABORT, P_DEL, P_DONE };

typedef struct probe {
  ks_storage *st;
  char key[96];
  int step;
  int status[P_DONE];
  ks_upload *up;
} probe;

static void on_step(void *arg, int status);

static void on_created(void *arg, int status, ks_upload *up) {
  ((probe *)arg)->up = up;
  on_step(arg, status);
}

static void on_completed(void *arg, int status, const ks_storage_obj *obj) {
  (void)obj;
  probe *p = arg;
  if (status == 0 || status == KS_ENOENT)
    p->up = NULL; /* the upload is over (storage.h) */
  on_step(arg, status);
}

static void next(ks_storage *st, probe *p) {
  static const char a[] = "ksink conditional-write probe 1\n";
  static const char b[] = "ksink conditional-write probe 2\n";
  static const char c[] = "ksink conditional-write probe 3\n";
  int r = 0;
  switch (p->step) {
  case P_PUT1:
    r = ks_storage_put_if_absent(st, p->key, a, sizeof a - 1, on_step, p);
    break;
  case P_PUT2:
    r = ks_storage_put_if_absent(st, p->key, b, sizeof b - 1, on_step, p);
    break;
  case P_CREATE:
    r = st->vt->upload_create(st, p->key, on_created, p);
    break;
  case P_PART: /* the only part, so it may be small */
    r = st->vt->upload_part(st, p->up, 1, c, sizeof c - 1, on_step, p);
    break;
  case P_COMPLETE:
    r = st->vt->upload_complete(st, p->up, 1, on_completed, p);
    break;
  case P_ABORT:
    r = st->vt->upload_abort(st, p->up, on_step, p);
    p->up = NULL;
    break;
  case P_DEL:
    r = ks_storage_del(st, p->key, on_step, p);
    break;
  }
  if (r)
    on_step(p, r);
}

static void on_step(void *arg, int status) {
  probe *p = arg;
  p->status[p->step] = status;
  if (p->step == P_PUT1 && status) {
    p->step = P_DONE; /* nothing stored, nothing to delete */
    return;
  }
  p->step++;
  /* no upload to go on with or to let go of */
  if ((p->step == P_PART || p->step == P_COMPLETE) && p->status[p->step - 1])
    p->step = p->up ? P_ABORT : P_DEL;
  if (p->step == P_ABORT && p->up == NULL)
    p->step = P_DEL;
  if (p->step < P_DONE)
    next(p->st, p);
}

static int run(uv_loop_t *loop, ks_storage *st, void *arg) {
  probe *p = arg;
  p->st = st;
  next(st, p);
  while (p->step < P_DONE)
    uv_run(loop, UV_RUN_ONCE);
  return 0;
}

int ks_s3_probe_conditional_writes(const char *url, const ks_conf_s3 *conf,
                                   char *err, size_t errlen) {
  probe p;
  memset(&p, 0, sizeof p);
  snprintf(p.key, sizeof p.key, "_ksink_probe/conditional-%d-%016llx",
           (int)getpid(), (unsigned long long)ks_backoff_random());
  int r = ks_storage_run_private(url, conf, run, &p, err, errlen);
  if (r)
    return r;
  if (p.status[P_PUT1]) {
    snprintf(err, errlen,
             "storage %s: conditional-write probe: put-if-absent of %s: %s",
             url, p.key, ks_strerror(p.status[P_PUT1]));
    return p.status[P_PUT1];
  }
  int second = p.status[P_PUT2];
  if (second != KS_EEXIST) {
    snprintf(err, errlen,
             "storage %s: the store does not refuse a second put-if-absent "
             "(If-None-Match: *) of %s (%s instead of 412 Precondition "
             "Failed): Delta commits would not be safe here; use a store "
             "with conditional writes, or set "
             "storage.s3.conditional_writes_probe: false to skip this check",
             url, p.key, second ? ks_strerror(second) : "success");
    return KS_EUNSUPPORTED;
  }
  int upload = p.status[P_CREATE] ? p.status[P_CREATE]
               : p.status[P_PART] ? p.status[P_PART]
                                  : 0;
  if (upload) {
    snprintf(err, errlen,
             "storage %s: conditional-write probe: multipart upload of %s: %s",
             url, p.key, ks_strerror(upload));
    return upload;
  }
  int complete = p.status[P_COMPLETE];
  if (complete == 0)
    ks_log_warn("storage %s: the store does not refuse a multipart upload "
                "completed (If-None-Match: *) over an existing key (it "
                "honours the condition on a put only): a large Parquet or "
                "JSON Lines file is looked up just before its completion "
                "instead, which leaves two writers of the same recorded cut "
                "(the same records) a moment in which both land it",
                url);
  else if (complete != KS_EEXIST)
    ks_log_warn("storage %s: conditional-write probe: multipart complete of "
                "%s: %s",
                url, p.key, ks_strerror(complete));
  if (p.status[P_ABORT])
    ks_log_warn("storage %s: conditional-write probe: could not abort the "
                "upload of %s: %s (the stale-upload sweep removes it)",
                url, p.key, ks_strerror(p.status[P_ABORT]));
  if (p.status[P_DEL])
    ks_log_warn("storage %s: conditional-write probe: could not delete %s: "
                "%s",
                url, p.key, ks_strerror(p.status[P_DEL]));
  ks_log_debug("storage %s: conditional writes: a second put-if-absent is "
               "refused (412)%s",
               url, complete == KS_EEXIST ? ", and a conditional multipart "
                                            "complete too" : "");
  return 0;
}
