#include "faulty_storage.h"
#include "base/ks.h"

#include <stdlib.h>

/* Failures are reported asynchronously on the loop, as a real backend
 * would, so callers never see their callback run inside their own call. */
typedef struct fail_req {
  uv_timer_t t;
  int op;
  int status;
  void *cb;
  void *arg;
} fail_req;

static void on_fail_closed(uv_handle_t *h) { free(h); }

static void on_fail(uv_timer_t *t) {
  fail_req *r = (fail_req *)t;
  switch (r->op) {
  case KS_OP_GET:
    ((ks_storage_get_cb)r->cb)(r->arg, r->status, NULL, 0);
    break;
  case KS_OP_LIST:
    ((ks_storage_list_cb)r->cb)(r->arg, r->status, NULL, 0);
    break;
  case KS_OP_CREATE:
    ((ks_upload_cb)r->cb)(r->arg, r->status, NULL);
    break;
  case KS_OP_COMPLETE:
    ((ks_upload_done_cb)r->cb)(r->arg, r->status, NULL);
    break;
  default:
    ((ks_storage_cb)r->cb)(r->arg, r->status);
  }
  uv_close((uv_handle_t *)t, on_fail_closed);
}

static int maybe_fail(ks_storage *s, int op, void *cb, void *arg) {
  ks_faulty_storage *f = (ks_faulty_storage *)s;
  f->calls[op]++;
  if (f->fail_next[op] <= 0)
    return 0;
  f->fail_next[op]--;
  f->failed[op]++;
  fail_req *r = calloc(1, sizeof *r);
  r->op = op;
  r->status = f->error ? f->error : KS_EIO;
  r->cb = cb;
  r->arg = arg;
  uv_timer_init(s->loop, &r->t);
  uv_timer_start(&r->t, on_fail, 0, 0);
  return 1;
}

#define INNER(s) (((ks_faulty_storage *)(s))->inner)

typedef struct lost {
  ks_storage_cb cb;
  void *arg;
  int status;
} lost;

static void on_lost(void *arg, int status) {
  lost *l = arg;
  ks_storage_cb cb = l->cb;
  void *a = l->arg;
  int st = status ? status : l->status;
  free(l);
  cb(a, st);
}

/* Wraps cb so a success is reported as the double's error. */
static int lose(ks_storage *s, int op, ks_storage_cb *cb, void **arg) {
  ks_faulty_storage *f = (ks_faulty_storage *)s;
  if (f->lose_reply[op] <= 0)
    return 0;
  f->lose_reply[op]--;
  f->failed[op]++;
  lost *l = calloc(1, sizeof *l);
  l->cb = *cb;
  l->arg = *arg;
  l->status = f->error ? f->error : KS_EIO;
  *cb = on_lost;
  *arg = l;
  return 1;
}

static int f_put(ks_storage *s, const char *key, const void *data, size_t len,
                 ks_storage_cb cb, void *arg) {
  if (maybe_fail(s, KS_OP_PUT, (void *)cb, arg))
    return 0;
  lose(s, KS_OP_PUT, &cb, &arg);
  return INNER(s)->vt->put(INNER(s), key, data, len, cb, arg);
}

static int f_put_if_absent(ks_storage *s, const char *key, const void *data,
                           size_t len, ks_storage_cb cb, void *arg) {
  if (maybe_fail(s, KS_OP_PUT_IF_ABSENT, (void *)cb, arg))
    return 0;
  return INNER(s)->vt->put_if_absent(INNER(s), key, data, len, cb, arg);
}

static int f_get(ks_storage *s, const char *key, ks_storage_get_cb cb,
                 void *arg) {
  if (maybe_fail(s, KS_OP_GET, (void *)cb, arg))
    return 0;
  return INNER(s)->vt->get(INNER(s), key, cb, arg);
}

static int f_list(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
                  void *arg) {
  if (maybe_fail(s, KS_OP_LIST, (void *)cb, arg))
    return 0;
  return INNER(s)->vt->list(INNER(s), prefix, cb, arg);
}

static int f_del(ks_storage *s, const char *key, ks_storage_cb cb, void *arg) {
  if (maybe_fail(s, KS_OP_DEL, (void *)cb, arg))
    return 0;
  return INNER(s)->vt->del(INNER(s), key, cb, arg);
}

static int f_create(ks_storage *s, const char *key, ks_upload_cb cb,
                    void *arg) {
  if (maybe_fail(s, KS_OP_CREATE, (void *)cb, arg))
    return 0;
  return INNER(s)->vt->upload_create(INNER(s), key, cb, arg);
}

static int f_part(ks_storage *s, ks_upload *up, int no, const void *data,
                  size_t len, ks_storage_cb cb, void *arg) {
  if (maybe_fail(s, KS_OP_PART, (void *)cb, arg))
    return 0;
  lose(s, KS_OP_PART, &cb, &arg);
  return INNER(s)->vt->upload_part(INNER(s), up, no, data, len, cb, arg);
}

static int f_complete(ks_storage *s, ks_upload *up, int if_absent,
                      ks_upload_done_cb cb, void *arg) {
  if (maybe_fail(s, KS_OP_COMPLETE, (void *)cb, arg))
    return 0;
  return INNER(s)->vt->upload_complete(INNER(s), up, if_absent, cb, arg);
}

static int f_abort(ks_storage *s, ks_upload *up, ks_storage_cb cb,
                   void *arg) {
  if (maybe_fail(s, KS_OP_ABORT, (void *)cb, arg))
    return 0;
  return INNER(s)->vt->upload_abort(INNER(s), up, cb, arg);
}

static void f_close(ks_storage *s) {
  ks_storage_close(INNER(s));
  free(s);
}

static const ks_storage_vtable faulty_vt = {
    "faulty", f_put,  f_put_if_absent, f_get,   f_list, f_del,
    f_create, f_part, f_complete,      f_abort, f_close};

ks_storage *ks_faulty_storage_new(ks_storage *inner) {
  ks_faulty_storage *f = calloc(1, sizeof *f);
  f->base.vt = &faulty_vt;
  f->base.loop = inner->loop;
  f->inner = inner;
  return &f->base;
}
