/*
 * Multipart uploads on the fs backend: a hidden temp file next to the
 * target (".<name>.ksink-upload-<random>") written with pwrite at each
 * part's offset, then fsync + rename into place on complete.
 *
 * Offsets: the writer submits parts in order 1, 2, 3..., but the pool may
 * run them in any order, so each part's offset is fixed at submission (the
 * sum of the earlier parts' lengths). A part may be submitted again (a
 * retry) only with its original length; anything else would shift every
 * later part. Complete requires every part written and none in flight.
 */
#include "base/ks.h"
#include "base/log.h"
#include "storage/fs/fs_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fs_part {
  uint64_t off;
  size_t len;
  int written;
} fs_part;

struct ks_upload {
  ks__fs *fs;
  char *key;
  char *path; /* final */
  char *tmp;
  int fd;
  fs_part *parts;
  size_t nparts, capparts;
  unsigned inflight;
  /* complete's steps, so that a retry after a failure goes on from where
   * the last attempt stopped */
  int sealed; /* data synced and closed */
  int placed; /* under its final name */
  int gone;   /* a failed sync lost the data: the file is written again */
  int if_absent;
  /* abort requested while parts were in flight: runs when they finish */
  int abort_pending;
  ks_storage_cb abort_cb;
  void *abort_arg;
};

typedef struct fs_up_req {
  uv_work_t work;
  ks_upload *up;
  int status;
  int part_no;
  const void *data;
  size_t len;
  uint64_t off;
  union {
    ks_upload_cb create;
    ks_storage_cb done;
    ks_upload_done_cb complete;
  } cb;
  void *arg;
  ks_storage_obj obj; /* complete's result */
} fs_up_req;

static void upload_free(ks_upload *up) {
  if (up->fd >= 0)
    close(up->fd);
  ks_free(up->key);
  ks_free(up->path);
  ks_free(up->tmp);
  ks_free(up->parts);
  ks_free(up);
}

static int status_of(const fs_up_req *r, int uv_status) {
  return uv_status == UV_ECANCELED ? KS_ECANCELED : r->status;
}

static int queue(ks_upload *up, uv_loop_t *loop, fs_up_req *r, uv_work_cb work,
                 uv_after_work_cb after) {
  r->up = up;
  int rc = uv_queue_work(loop, &r->work, work, after);
  if (rc)
    ks_free(r);
  return rc;
}

/* ---- create ------------------------------------------------------------ */

static void create_work(uv_work_t *w) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  ks_upload *up = r->up;
  if ((r->status = ks__fs_mkdirs_for(up->path)))
    return;
  up->fd = open(up->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (up->fd < 0)
    r->status = ks__fs_err(errno);
}

static void after_create(uv_work_t *w, int uv_status) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  ks_upload *up = r->up;
  int status = status_of(r, uv_status);
  ks_upload_cb cb = r->cb.create;
  void *arg = r->arg;
  ks_free(r);
  if (status) {
    upload_free(up);
    up = NULL;
  }
  cb(arg, status, up);
}

int ks__fs_upload_create(ks_storage *s, const char *key, ks_upload_cb cb,
                         void *arg) {
  if (ks__fs_check_key(key) || cb == NULL)
    return KS_EINVAL;
  ks_upload *up = ks_calloc(1, sizeof *up);
  up->fs = (ks__fs *)s;
  up->fd = -1;
  up->key = ks_strdup(key);
  up->path = ks__fs_path(up->fs, key);
  up->tmp = ks__fs_tmp_path(up->path, "upload");
  fs_up_req *r = ks_calloc(1, sizeof *r);
  r->cb.create = cb;
  r->arg = arg;
  int rc = queue(up, s->loop, r, create_work, after_create);
  if (rc)
    upload_free(up);
  return rc;
}

/* ---- abort (declared before part: a pending abort starts from there) --- */

static void abort_work(uv_work_t *w) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  ks_upload *up = r->up;
  if (up->fd >= 0) {
    close(up->fd);
    up->fd = -1;
  }
  if (unlink(up->tmp) != 0 && errno != ENOENT)
    r->status = ks__fs_err(errno);
}

static void after_abort(uv_work_t *w, int uv_status) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  int status = status_of(r, uv_status);
  ks_storage_cb cb = r->cb.done;
  void *arg = r->arg;
  upload_free(r->up);
  ks_free(r);
  cb(arg, status);
}

static int start_abort(ks_upload *up, ks_storage_cb cb, void *arg) {
  fs_up_req *r = ks_calloc(1, sizeof *r);
  r->cb.done = cb;
  r->arg = arg;
  return queue(up, up->fs->base.loop, r, abort_work, after_abort);
}

int ks__fs_upload_abort(ks_storage *s, ks_upload *up, ks_storage_cb cb,
                        void *arg) {
  if (up == NULL || cb == NULL || up->abort_pending)
    return KS_EINVAL;
  if (up->inflight > 0) {
    /* The parts' work still uses the fd: abort once they have reported. */
    up->abort_pending = 1;
    up->abort_cb = cb;
    up->abort_arg = arg;
    return 0;
  }
  return start_abort(up, cb, arg);
}

/* ---- part -------------------------------------------------------------- */

static void part_work(uv_work_t *w) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  r->status = ks__fs_pwrite_all(r->up->fd, r->data, r->len, (off_t)r->off);
}

static void after_part(uv_work_t *w, int uv_status) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  ks_upload *up = r->up;
  int status = status_of(r, uv_status);
  ks_storage_cb cb = r->cb.done;
  void *arg = r->arg;
  if (status == 0)
    up->parts[r->part_no - 1].written = 1;
  ks__fs_note(status, r->len);
  atomic_fetch_sub_explicit(&ks_storage_stats_g.writes_in_flight, 1,
                            memory_order_relaxed);
  up->inflight--;
  ks_free(r);
  cb(arg, status);
  if (up->abort_pending && up->inflight == 0) {
    int rc = start_abort(up, up->abort_cb, up->abort_arg);
    if (rc) { /* the pool refused: still report, and free */
      ks_storage_cb acb = up->abort_cb;
      void *aarg = up->abort_arg;
      upload_free(up);
      acb(aarg, rc);
    }
  }
}

int ks__fs_upload_part(ks_storage *s, ks_upload *up, int part_no,
                       const void *data, size_t len, ks_storage_cb cb,
                       void *arg) {
  if (up == NULL || cb == NULL || (data == NULL && len > 0) || part_no < 1)
    return KS_EINVAL;
  if (up->abort_pending)
    return KS_ECANCELED;
  size_t i = (size_t)part_no - 1;
  if (i > up->nparts) {
    ks_log_error("fs upload %s: part %d submitted after %zu parts; parts "
                 "must be submitted in order",
                 up->key, part_no, up->nparts);
    return KS_EINVAL;
  }
  if (i < up->nparts && up->parts[i].len != len) {
    ks_log_error("fs upload %s: part %d resubmitted with %zu bytes, was %zu",
                 up->key, part_no, len, up->parts[i].len);
    return KS_EINVAL;
  }
  if (i == up->nparts) {
    if (up->nparts == up->capparts) {
      up->capparts = up->capparts ? up->capparts * 2 : 8;
      up->parts = ks_realloc(up->parts, up->capparts * sizeof *up->parts);
    }
    uint64_t off = i ? up->parts[i - 1].off + up->parts[i - 1].len : 0;
    up->parts[i] = (fs_part){.off = off, .len = len, .written = 0};
    up->nparts++;
  }
  fs_up_req *r = ks_calloc(1, sizeof *r);
  r->part_no = part_no;
  r->data = data;
  r->len = len;
  r->off = up->parts[i].off;
  r->cb.done = cb;
  r->arg = arg;
  int rc = queue(up, s->loop, r, part_work, after_part);
  if (rc == 0) {
    up->inflight++;
    atomic_fetch_add_explicit(&ks_storage_stats_g.writes_in_flight, 1,
                              memory_order_relaxed);
  }
  return rc;
}

/* ---- complete ----------------------------------------------------------- */

static void complete_work(uv_work_t *w) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  ks_upload *up = r->up;
  if (up->gone) {
    r->status = KS_ENOENT;
    return;
  }
  if (!up->sealed) {
    /* after a failed fsync the kernel may have dropped the dirty pages:
     * nothing in the file can be trusted any more */
    if (fsync(up->fd) != 0)
      r->status = ks__fs_err(errno);
    if (close(up->fd) != 0 && r->status == 0)
      r->status = ks__fs_err(errno);
    up->fd = -1;
    if (r->status) {
      unlink(up->tmp);
      up->gone = 1;
      return;
    }
    up->sealed = 1;
  }
  if (!up->placed) {
    /* link(2) is the create that never replaces (as put_if_absent) */
    int rc = up->if_absent ? link(up->tmp, up->path) : rename(up->tmp, up->path);
    if (rc != 0) {
      r->status = ks__fs_err(errno);
      return; /* the data stays under tmp for a retry or an abort */
    }
    if (up->if_absent)
      unlink(up->tmp);
    up->placed = 1;
  }
  if ((r->status = ks__fs_fsync_dir_for(up->path)))
    return;
  struct stat st;
  if (stat(up->path, &st) != 0) {
    r->status = ks__fs_err(errno);
    return;
  }
  r->obj.key = up->key;
  r->obj.size = (uint64_t)st.st_size;
  r->obj.mtime_ms =
      (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* The upload is over on success and when its data is gone; otherwise it
 * stays for a retry or an abort (storage.h). */
static void after_complete(uv_work_t *w, int uv_status) {
  fs_up_req *r = ks_container_of(w, fs_up_req, work);
  int status = status_of(r, uv_status);
  ks_upload *up = r->up;
  r->cb.complete(r->arg, status, status ? NULL : &r->obj);
  if (status == 0 || status == KS_ENOENT)
    upload_free(up);
  ks_free(r);
}

int ks__fs_upload_complete(ks_storage *s, ks_upload *up, int if_absent,
                           ks_upload_done_cb cb, void *arg) {
  if (up == NULL || cb == NULL || up->abort_pending || up->inflight > 0)
    return KS_EINVAL;
  for (size_t i = 0; i < up->nparts; i++) {
    if (!up->parts[i].written) {
      ks_log_error("fs upload %s: part %zu was not written; complete "
                   "refused (retry the part or abort)",
                   up->key, i + 1);
      return KS_EINVAL;
    }
  }
  up->if_absent = if_absent;
  fs_up_req *r = ks_calloc(1, sizeof *r);
  r->cb.complete = cb;
  r->arg = arg;
  return queue(up, s->loop, r, complete_work, after_complete);
}
