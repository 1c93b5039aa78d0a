/*
 * The start-up check that the store really does conditional writes: the
 * Delta log is only safe when a second put-if-absent (If-None-Match: *) of
 * the same key is refused with 412. Some S3-compatible stores ignore the
 * header and overwrite; finding that out at start-up beats finding a
 * commit silently replaced later. A random scratch key under the storage
 * root is put twice (different bytes), the second must be refused, then it
 * is deleted. Called by the reactor before anything consumes, on a loop
 * of its own (ks_storage_run_private).
 */
#include "storage/s3/s3.h"

#include "base/backoff.h"
#include "base/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct probe {
  ks_storage *st;
  char key[96];
  int step; /* 0: first put, 1: second put, 2: delete, 3: done */
  int first, second, del;
} probe;

static void on_step(void *arg, int status);

static void next(ks_storage *st, probe *p) {
  static const char a[] = "ksink conditional-write probe 1\n";
  static const char b[] = "ksink conditional-write probe 2\n";
  int r = 0;
  if (p->step == 0)
    r = ks_storage_put_if_absent(st, p->key, a, sizeof a - 1, on_step, p);
  else if (p->step == 1)
    r = ks_storage_put_if_absent(st, p->key, b, sizeof b - 1, on_step, p);
  else if (p->step == 2)
    r = ks_storage_del(st, p->key, on_step, p);
  if (r)
    on_step(p, r);
}

static void on_step(void *arg, int status) {
  probe *p = arg;
  if (p->step == 0)
    p->first = status;
  else if (p->step == 1)
    p->second = status;
  else
    p->del = status;
  p->step++;
  /* Nothing to delete when the first put failed. */
  if (p->step == 1 && p->first)
    p->step = 3;
  if (p->step < 3)
    next(p->st, p);
}

static int run(uv_loop_t *loop, ks_storage *st, void *arg) {
  probe *p = arg;
  p->st = st;
  next(st, p);
  while (p->step < 3)
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
  if (p.first) {
    snprintf(err, errlen,
             "storage %s: conditional-write probe: put-if-absent of %s: %s",
             url, p.key, ks_strerror(p.first));
    return p.first;
  }
  if (p.second != KS_EEXIST) {
    snprintf(err, errlen,
             "storage %s: the store does not refuse a second put-if-absent "
             "(If-None-Match: *) of %s (%s instead of 412 Precondition "
             "Failed): Delta commits would not be safe here; use a store "
             "with conditional writes, or set "
             "storage.s3.conditional_writes_probe: false to skip this check",
             url, p.key, p.second ? ks_strerror(p.second) : "success");
    return KS_EUNSUPPORTED;
  }
  if (p.del)
    ks_log_warn("storage %s: conditional-write probe: could not delete %s: "
                "%s",
                url, p.key, ks_strerror(p.del));
  ks_log_debug("storage %s: conditional writes: a second put-if-absent is "
               "refused (412)",
               url);
  return 0;
}
