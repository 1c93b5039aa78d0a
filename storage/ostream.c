#include "storage/ostream.h"
#include "base/backoff.h"
#include "base/ks.h"
#include "base/log.h"

#include <stdlib.h>
#include <string.h>

/* States of the stream (one function, set_state, changes them). */
enum os_state {
  OS_BUFFERING, /* no upload yet; all bytes in `cur` */
  OS_CREATING,  /* upload_create in flight */
  OS_UPLOADING, /* upload open; parts go out as they fill */
  OS_COMPLETING,
  OS_PUTTING,   /* small file: single put */
  OS_HOLDING,   /* closed, every byte sent but the last step: waits for
                   ks_ostream_release (the hold option) */
  OS_DONE
};

static const char *state_names[] = {"buffering", "creating", "uploading",
                                    "completing", "putting",  "holding",
                                    "done"};

typedef struct os_part {
  struct os_part *next;
  ks_ostream *os;
  int no;
  ks_buf data;
  unsigned attempt;
  uv_timer_t retry;
  int retry_armed;
} os_part;

struct ks_ostream {
  ks_storage *st;
  char *key;
  ks_ostream_options opt;
  enum os_state state;
  ks_upload *up;
  ks_buf cur;
  int next_part;
  os_part *queued; /* full parts waiting for a slot or for the upload */
  os_part *queued_tail;
  int in_flight;
  uint64_t bytes;
  size_t buffered;
  int closing;
  int aborted;
  int released; /* hold: the owner let the last step go */
  int lost;     /* the upload was aborted under us (NoSuchUpload) */
  ks_ostream_done_cb done_cb;
  void *done_arg;
  unsigned attempt; /* create/complete/put retries */
  uv_timer_t timer;
  int timer_init;
};

static void pump(ks_ostream *os);
static void try_finish(ks_ostream *os);

static void set_state(ks_ostream *os, enum os_state s) {
  ks_log_debug("ostream %s: %s -> %s", os->key, state_names[os->state],
               state_names[s]);
  os->state = s;
}

ks_ostream *ks_ostream_new(ks_storage *st, const char *key,
                           const ks_ostream_options *opt) {
  ks_ostream *os = ks_calloc(1, sizeof *os);
  os->st = st;
  os->key = ks_strdup(key);
  if (opt)
    os->opt = *opt;
  if (os->opt.part_size == 0)
    os->opt.part_size = 8u << 20;
  if (os->opt.max_in_flight <= 0)
    os->opt.max_in_flight = 4;
  if (os->opt.backoff_base_ms == 0)
    os->opt.backoff_base_ms = 100;
  if (os->opt.backoff_cap_ms == 0)
    os->opt.backoff_cap_ms = 30000;
  ks_buf_init(&os->cur, 0);
  os->next_part = 1;
  os->state = OS_BUFFERING;
  uv_timer_init(st->loop, &os->timer);
  os->timer_init = 1;
  return os;
}

uint64_t ks_ostream_bytes(const ks_ostream *os) { return os->bytes; }
size_t ks_ostream_buffered(const ks_ostream *os) {
  return os->buffered + os->cur.len;
}

static void on_timer_closed(uv_handle_t *h) {
  ks_ostream *os = ks_container_of((uv_timer_t *)h, ks_ostream, timer);
  os->st->held -= os->cur.len;
  ks_buf_free(&os->cur);
  ks_free(os->key);
  ks_free(os);
}

static void destroy(ks_ostream *os) {
  uv_close((uv_handle_t *)&os->timer, on_timer_closed);
}

static void on_part_timer_closed(uv_handle_t *h) {
  os_part *pt = ks_container_of((uv_timer_t *)h, os_part, retry);
  ks_buf_free(&pt->data);
  ks_free(pt);
}

static void part_free(os_part *pt) {
  pt->os->buffered -= pt->data.len;
  pt->os->st->held -= pt->data.len;
  uv_close((uv_handle_t *)&pt->retry, on_part_timer_closed);
}

static void later(ks_ostream *os, uv_timer_cb cb, const char *what,
                  int status) {
  uint64_t d = ks_backoff_ms(os->attempt++, os->opt.backoff_base_ms,
                             os->opt.backoff_cap_ms);
  ks_log_warn("storage: %s of %s failed (%s); retrying in %llu ms", what,
              os->key, ks_strerror(status), (unsigned long long)d);
  uv_timer_start(&os->timer, cb, d, 0);
}

/* ---- multipart ---------------------------------------------------------- */

static void send_part(os_part *pt);

static void on_part_retry(uv_timer_t *t) {
  send_part(ks_container_of(t, os_part, retry));
}

static void finish(ks_ostream *os, int status, const ks_storage_obj *obj);

static void on_part_done(void *arg, int status) {
  os_part *pt = arg;
  ks_ostream *os = pt->os;
  if (status == KS_ENOENT && !os->aborted && !os->lost) {
    /* NoSuchUpload: the upload was aborted under us (a stale-upload sweep
     * took it for a crashed writer's). Retrying cannot help and the parts
     * already stored are gone: the file fails, its owner reads its
     * records again. */
    ks_log_warn("storage: the upload of %s is gone (%s); the file is "
                "written again from its records", os->key,
                ks_strerror(status));
    os->lost = 1;
    while (os->queued) {
      os_part *q = os->queued;
      os->queued = q->next;
      part_free(q);
    }
    os->queued_tail = NULL;
  }
  if (status && !os->aborted && !os->lost) {
    uint64_t d = ks_backoff_ms(pt->attempt++, os->opt.backoff_base_ms,
                               os->opt.backoff_cap_ms);
    ks_log_warn("storage: part %d of %s failed (%s); retrying in %llu ms",
                pt->no, os->key, ks_strerror(status), (unsigned long long)d);
    uv_timer_start(&pt->retry, on_part_retry, d, 0);
    return;
  }
  os->in_flight--;
  part_free(pt);
  if (os->aborted) {
    if (os->in_flight == 0)
      ks_ostream_abort(os);
    return;
  }
  if (os->lost) {
    try_finish(os);
    return;
  }
  pump(os);
  try_finish(os);
}

static void send_part(os_part *pt) {
  ks_ostream *os = pt->os;
  int r = os->st->vt->upload_part(os->st, os->up, pt->no, pt->data.data,
                                  pt->data.len, on_part_done, pt);
  if (r)
    on_part_done(pt, r);
}

/* Starts queued parts while there are free slots. */
static void pump(ks_ostream *os) {
  if (os->state != OS_UPLOADING)
    return;
  while (os->queued && os->in_flight < os->opt.max_in_flight) {
    os_part *pt = os->queued;
    os->queued = pt->next;
    if (!os->queued)
      os->queued_tail = NULL;
    pt->next = NULL;
    os->in_flight++;
    send_part(pt);
  }
}

static void queue_cur(ks_ostream *os) {
  os_part *pt = ks_calloc(1, sizeof *pt);
  pt->os = os;
  pt->no = os->next_part++;
  pt->data = os->cur; /* hand the buffer over */
  ks_buf_init(&os->cur, 0);
  uv_timer_init(os->st->loop, &pt->retry);
  os->buffered += pt->data.len;
  if (os->queued_tail)
    os->queued_tail->next = pt;
  else
    os->queued = pt;
  os->queued_tail = pt;
}

static void start_create(ks_ostream *os);

static void on_create_retry(uv_timer_t *t) {
  start_create(ks_container_of(t, ks_ostream, timer));
}

static void on_created(void *arg, int status, ks_upload *up) {
  ks_ostream *os = arg;
  if (status && os->aborted) {
    set_state(os, OS_DONE);
    destroy(os);
    return;
  }
  if (status) {
    later(os, on_create_retry, "create upload", status);
    return;
  }
  os->attempt = 0;
  os->up = up;
  set_state(os, OS_UPLOADING);
  if (os->aborted) {
    ks_ostream_abort(os);
    return;
  }
  pump(os);
  try_finish(os);
}

static void start_create(ks_ostream *os) {
  set_state(os, OS_CREATING);
  int r = os->st->vt->upload_create(os->st, os->key, on_created, os);
  if (r)
    on_created(os, r, NULL);
}

int ks_ostream_write(ks_ostream *os, const void *data, size_t len) {
  int r = ks_buf_append(&os->cur, data, len);
  if (r)
    return r;
  os->bytes += len;
  os->st->held += len;
  if (os->cur.len >= os->opt.part_size) {
    queue_cur(os);
    if (os->state == OS_BUFFERING)
      start_create(os);
    else
      pump(os);
  }
  return 0;
}

/* ---- closing ------------------------------------------------------------ */

static void finish(ks_ostream *os, int status, const ks_storage_obj *obj) {
  set_state(os, OS_DONE);
  ks_ostream_done_cb cb = os->done_cb;
  void *arg = os->done_arg;
  destroy(os);
  if (cb)
    cb(arg, status, obj);
}

static void start_complete(ks_ostream *os);

static void on_complete_retry(uv_timer_t *t) {
  start_complete(ks_container_of(t, ks_ostream, timer));
}

static void on_taken_aborted(void *arg, int status) {
  ks_ostream *os = arg;
  if (status)
    ks_log_warn("storage: abort of the upload of %s after its key was taken "
                "failed (%s); the stale-upload sweep removes it",
                os->key, ks_strerror(status));
  ks_storage_obj obj = {os->key, os->bytes, ks_now_us() / 1000};
  finish(os, KS_EEXIST, &obj);
}

static void on_completed(void *arg, int status, const ks_storage_obj *obj) {
  ks_ostream *os = arg;
  if (status == KS_EEXIST && os->opt.if_absent) {
    /* the key is taken: never replaced; our parts are let go (the owner
     * decides whether what is there is ours, as after a put) */
    ks_upload *up = os->up;
    os->up = NULL;
    if (os->st->vt->upload_abort(os->st, up, on_taken_aborted, os) != 0)
      on_taken_aborted(os, KS_EINVAL);
    return;
  }
  if (status == KS_ENOENT) {
    ks_log_warn("storage: the upload of %s is gone at its completion; the "
                "file is written again from its records", os->key);
    os->up = NULL; /* the backend freed it with the completion */
    finish(os, KS_ENOENT, NULL);
    return;
  }
  if (status) {
    later(os, on_complete_retry, "complete upload", status);
    return;
  }
  finish(os, 0, obj);
}

static void complete_now(ks_ostream *os) {
  int r = os->st->vt->upload_complete(os->st, os->up, os->opt.if_absent,
                                      on_completed, os);
  if (r)
    on_completed(os, r, NULL);
}

/* if_absent, multipart: the key is looked up just before the complete,
 * which itself carries If-None-Match: * too. Some stores (Ceph RGW among
 * them) honour the condition on a put but not on a complete; there the
 * look-up narrows a race between two writers of the same recorded cut --
 * whose files hold the same records -- to the moment between the two. */
static void on_key_checked(void *arg, int status, const ks_storage_obj *objs,
                           size_t n) {
  ks_ostream *os = arg;
  os->in_flight--;
  if (os->aborted) {
    ks_ostream_abort(os);
    return;
  }
  if (status) {
    later(os, on_complete_retry, "look-up before the complete", status);
    return;
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(objs[i].key, os->key) == 0) {
      on_completed(os, KS_EEXIST, NULL);
      return;
    }
  complete_now(os);
}

static void start_complete(ks_ostream *os) {
  set_state(os, OS_COMPLETING);
  if (!os->opt.if_absent) {
    complete_now(os);
    return;
  }
  os->in_flight++; /* an abort waits for the look-up */
  int r = ks_storage_list(os->st, os->key, on_key_checked, os);
  if (r)
    on_key_checked(os, r, NULL, 0);
}

static void start_put(ks_ostream *os);

static void on_put_retry(uv_timer_t *t) {
  start_put(ks_container_of(t, ks_ostream, timer));
}

static void on_put(void *arg, int status) {
  ks_ostream *os = arg;
  if (status == KS_EEXIST && os->opt.if_absent) {
    /* the key is taken: never replaced (stages/writer_file.c decides
     * whether what is there is ours) */
    ks_storage_obj obj = {os->key, os->bytes, ks_now_us() / 1000};
    finish(os, status, &obj);
    return;
  }
  if (status) {
    later(os, on_put_retry, "put", status);
    return;
  }
  ks_storage_obj obj = {os->key, os->bytes, ks_now_us() / 1000};
  finish(os, 0, &obj);
}

static void start_put(ks_ostream *os) {
  set_state(os, OS_PUTTING);
  int r = os->opt.if_absent
              ? ks_storage_put_if_absent(os->st, os->key, os->cur.data,
                                         os->cur.len, on_put, os)
              : ks_storage_put(os->st, os->key, os->cur.data, os->cur.len,
                               on_put, os);
  if (r)
    on_put(os, r);
}

/* The last step (the put of a small file, the complete of a multipart
 * one) waits for the owner under the hold option. */
static int may_store(const ks_ostream *os) {
  return !os->opt.hold || os->released;
}

static void on_lost_aborted(void *arg, int status) {
  (void)status; /* gone already: the abort only frees our side of it */
  finish(arg, KS_ENOENT, NULL);
}

static void try_finish(ks_ostream *os) {
  if (os->lost) {
    /* a held stream stays until its owner lets go of it */
    if (!os->closing || os->in_flight != 0 || !may_store(os))
      return;
    ks_upload *up = os->up;
    os->up = NULL;
    if (up == NULL ||
        os->st->vt->upload_abort(os->st, up, on_lost_aborted, os) != 0)
      finish(os, KS_ENOENT, NULL);
    return;
  }
  if (!os->closing ||
      (os->state != OS_UPLOADING && os->state != OS_HOLDING))
    return;
  if (os->cur.len) {
    queue_cur(os);
    pump(os);
  }
  if (os->queued != NULL || os->in_flight != 0)
    return;
  if (may_store(os))
    start_complete(os);
  else
    set_state(os, OS_HOLDING);
}

void ks_ostream_close(ks_ostream *os, ks_ostream_done_cb cb, void *arg) {
  os->closing = 1;
  os->done_cb = cb;
  os->done_arg = arg;
  if (os->state != OS_BUFFERING)
    try_finish(os);
  else if (may_store(os))
    start_put(os);
  /* else: a small file waits in memory for ks_ostream_release */
}

void ks_ostream_release(ks_ostream *os, int store) {
  if (!store) {
    ks_ostream_done_cb cb = os->done_cb;
    void *arg = os->done_arg;
    os->done_cb = NULL;
    ks_ostream_abort(os);
    if (cb)
      cb(arg, KS_ECANCELED, NULL);
    return;
  }
  os->released = 1;
  if (!os->closing)
    return;
  if (os->state == OS_BUFFERING)
    start_put(os);
  else
    try_finish(os);
}

static void on_aborted(void *arg, int status) {
  ks_ostream *os = arg;
  if (status)
    ks_log_warn("storage: abort of %s failed (%s); the temporary upload is "
                "left for vacuum", os->key, ks_strerror(status));
  destroy(os);
}

void ks_ostream_abort(ks_ostream *os) {
  os->aborted = 1;
  while (os->queued) {
    os_part *pt = os->queued;
    os->queued = pt->next;
    part_free(pt);
  }
  os->queued_tail = NULL;
  if (os->state == OS_CREATING || os->in_flight > 0)
    return; /* finishes when the outstanding call returns */
  if (os->state == OS_HOLDING)
    set_state(os, OS_UPLOADING); /* the upload is aborted below */
  uv_timer_stop(&os->timer);
  if (os->up) {
    ks_upload *up = os->up;
    os->up = NULL;
    set_state(os, OS_DONE);
    if (os->st->vt->upload_abort(os->st, up, on_aborted, os) == 0)
      return;
  }
  destroy(os);
}
