/*
 * The fs backend's single-object operations and listing. Each operation is
 * one fs_req: the work callback does the system calls on a pool thread and
 * fills status/results; the after-work callback reports on the loop and
 * frees the request. Nothing here touches the loop from the pool.
 */
#include "storage/fs/fs.h"

#include "base/buf.h"
#include "base/file.h"
#include "base/ks.h"
#include "storage/fs/fs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fs_req {
  uv_work_t work;
  ks__fs *fs;
  char *path;   /* absolute path of the key (not for list) */
  char *prefix; /* list */
  const void *data;
  size_t len;
  int write; /* counted in ks_storage_stats_g.writes_in_flight */
  int status;
  union {
    ks_storage_cb done;
    ks_storage_get_cb get;
    ks_storage_list_cb list;
  } cb;
  void *arg;
  /* results */
  uint8_t *out;
  size_t outlen;
  ks_storage_obj *objs;
  size_t nobjs, capobjs;
} fs_req;

static fs_req *req_new(ks__fs *fs, const char *key, void *arg) {
  fs_req *r = ks_calloc(1, sizeof *r);
  r->fs = fs;
  r->arg = arg;
  if (key)
    r->path = ks__fs_path(fs, key);
  return r;
}

static void req_free(fs_req *r) {
  for (size_t i = 0; i < r->nobjs; i++)
    ks_free((char *)r->objs[i].key);
  ks_free(r->objs);
  ks_free(r->out);
  ks_free(r->path);
  ks_free(r->prefix);
  ks_free(r);
}

static int req_status(fs_req *r, int uv_status) {
  return uv_status == UV_ECANCELED ? KS_ECANCELED : r->status;
}

static void after_done(uv_work_t *w, int uv_status) {
  fs_req *r = ks_container_of(w, fs_req, work);
  ks_storage_cb cb = r->cb.done;
  void *arg = r->arg;
  int status = req_status(r, uv_status);
  ks__fs_note(status, r->len);
  if (r->write)
    atomic_fetch_sub_explicit(&ks_storage_stats_g.writes_in_flight, 1,
                              memory_order_relaxed);
  req_free(r);
  cb(arg, status);
}

/* ---- put: temp file, fsync, rename over, fsync the directory -------- */

static void put_work(uv_work_t *w) {
  fs_req *r = ks_container_of(w, fs_req, work);
  if ((r->status = ks__fs_mkdirs_for(r->path)))
    return;
  char *tmp = ks__fs_tmp_path(r->path, "tmp");
  if ((r->status = ks__fs_write_new(tmp, r->data, r->len)) == 0) {
    if (rename(tmp, r->path) != 0) {
      r->status = ks__fs_err(errno);
      unlink(tmp);
    } else {
      r->status = ks__fs_fsync_dir_for(r->path);
    }
  }
  ks_free(tmp);
}

/* ---- put_if_absent: link(2) is the atomic create that never replaces -- */

static void put_if_absent_work(uv_work_t *w) {
  fs_req *r = ks_container_of(w, fs_req, work);
  if ((r->status = ks__fs_mkdirs_for(r->path)))
    return;
  char *tmp = ks__fs_tmp_path(r->path, "tmp");
  if ((r->status = ks__fs_write_new(tmp, r->data, r->len)) == 0) {
    if (link(tmp, r->path) != 0)
      r->status = ks__fs_err(errno);
    unlink(tmp);
    if (r->status == 0)
      r->status = ks__fs_fsync_dir_for(r->path);
  }
  ks_free(tmp);
}

static int queue_write(ks_storage *s, const char *key, const void *data,
                       size_t len, ks_storage_cb cb, void *arg,
                       uv_work_cb work) {
  if (ks__fs_check_key(key) || cb == NULL || (data == NULL && len > 0))
    return KS_EINVAL;
  fs_req *r = req_new((ks__fs *)s, key, arg);
  r->data = data;
  r->len = len;
  r->cb.done = cb;
  int rc = uv_queue_work(s->loop, &r->work, work, after_done);
  if (rc) {
    req_free(r);
    return rc;
  }
  r->write = 1;
  atomic_fetch_add_explicit(&ks_storage_stats_g.writes_in_flight, 1,
                            memory_order_relaxed);
  return 0;
}

static int fs_put(ks_storage *s, const char *key, const void *data, size_t len,
                  ks_storage_cb cb, void *arg) {
  return queue_write(s, key, data, len, cb, arg, put_work);
}

static int fs_put_if_absent(ks_storage *s, const char *key, const void *data,
                            size_t len, ks_storage_cb cb, void *arg) {
  return queue_write(s, key, data, len, cb, arg, put_if_absent_work);
}

/* ---- get ------------------------------------------------------------- */

static void get_work(uv_work_t *w) {
  fs_req *r = ks_container_of(w, fs_req, work);
  /* a table's objects are files, never links out of the directory */
  int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    r->status = ks__fs_err(errno);
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    r->status = ks__fs_err(errno);
  } else if (!S_ISREG(st.st_mode)) {
    r->status = S_ISDIR(st.st_mode) ? -EISDIR : KS_EINVAL;
  } else {
    /* ks_read_fd reads to EOF rather than trusting st_size: the file is
     * immutable for ksink, but another tool may still be appending to it. */
    int rr = ks_read_fd(fd, 0, &r->out, &r->outlen);
    if (rr)
      r->status = ks__fs_err(-rr);
  }
  close(fd);
}

static void after_get(uv_work_t *w, int uv_status) {
  fs_req *r = ks_container_of(w, fs_req, work);
  int status = req_status(r, uv_status);
  ks__fs_note(status, 0);
  if (status)
    r->cb.get(r->arg, status, NULL, 0);
  else
    r->cb.get(r->arg, 0, r->out ? r->out : (const uint8_t *)"", r->outlen);
  req_free(r);
}

static int fs_get(ks_storage *s, const char *key, ks_storage_get_cb cb,
                  void *arg) {
  if (ks__fs_check_key(key) || cb == NULL)
    return KS_EINVAL;
  fs_req *r = req_new((ks__fs *)s, key, arg);
  r->cb.get = cb;
  int rc = uv_queue_work(s->loop, &r->work, get_work, after_get);
  if (rc)
    req_free(r);
  return rc;
}

/* ---- del ------------------------------------------------------------- */

static void del_work(uv_work_t *w) {
  fs_req *r = ks_container_of(w, fs_req, work);
  if (unlink(r->path) != 0 && errno != ENOENT)
    r->status = ks__fs_err(errno);
}

static int fs_del(ks_storage *s, const char *key, ks_storage_cb cb, void *arg) {
  if (ks__fs_check_key(key) || cb == NULL)
    return KS_EINVAL;
  fs_req *r = req_new((ks__fs *)s, key, arg);
  r->cb.done = cb;
  int rc = uv_queue_work(s->loop, &r->work, del_work, after_done);
  if (rc)
    req_free(r);
  return rc;
}

/* ---- list: recursive walk of the prefix's directory ------------------- */

static int starts_with(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

static void add_obj(fs_req *r, const char *key, const struct stat *st) {
  if (r->nobjs == r->capobjs) {
    r->capobjs = r->capobjs ? r->capobjs * 2 : 16;
    r->objs = ks_realloc(r->objs, r->capobjs * sizeof *r->objs);
  }
  ks_storage_obj *o = &r->objs[r->nobjs++];
  o->key = ks_strdup(key);
  o->size = (uint64_t)st->st_size;
  o->mtime_ms =
      (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* Deepest directory nesting a listing enters: far past any table's
 * partition directories, short of what the recursion could not take. */
#define WALK_MAX_DEPTH 64

/* dir: absolute directory; key: its key with a trailing '/' ("" at the
 * root). Subdirectories are entered only when they can hold a match.
 * Entries are looked at with lstat: a symbolic link is neither listed
 * nor followed (a link to a parent would loop). */
static int walk(fs_req *r, const char *dir, const char *key, int depth) {
  if (depth > WALK_MAX_DEPTH)
    return ks__fs_err(ELOOP);
  DIR *d = opendir(dir);
  if (d == NULL)
    return (errno == ENOENT || errno == ENOTDIR) ? 0 : ks__fs_err(errno);
  int rc = 0;
  ks_buf path, k;
  ks_buf_init(&path, 0);
  ks_buf_init(&k, 0);
  struct dirent *e;
  while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    ks_buf_reset(&k);
    ks_buf_append_str(&k, key);
    ks_buf_append_str(&k, e->d_name);
    ks_buf_cstr(&k);
    ks_buf_reset(&path);
    ks_buf_append_str(&path, dir);
    ks_buf_append_byte(&path, '/');
    ks_buf_append_str(&path, e->d_name);
    ks_buf_cstr(&path);
    struct stat st;
    if (lstat((char *)path.data, &st) != 0) {
      if (errno != ENOENT) /* deleted while we walked: not an error */
        rc = ks__fs_err(errno);
      continue;
    }
    const char *ks = (const char *)k.data;
    if (S_ISDIR(st.st_mode)) {
      ks_buf_append_byte(&k, '/');
      ks_buf_cstr(&k);
      ks = (const char *)k.data; /* the append may have moved it */
      if (starts_with(ks, r->prefix) || starts_with(r->prefix, ks))
        rc = walk(r, (char *)path.data, ks, depth + 1);
    } else if (S_ISREG(st.st_mode) && !ks__fs_is_tmp_name(e->d_name) &&
               starts_with(ks, r->prefix)) {
      add_obj(r, ks, &st);
    }
  }
  if (rc == 0 && errno != 0 && e == NULL)
    rc = ks__fs_err(errno);
  closedir(d);
  ks_buf_free(&path);
  ks_buf_free(&k);
  return rc;
}

static int obj_cmp(const void *a, const void *b) {
  return strcmp(((const ks_storage_obj *)a)->key,
                ((const ks_storage_obj *)b)->key);
}

static void list_work(uv_work_t *w) {
  fs_req *r = ks_container_of(w, fs_req, work);
  const char *slash = strrchr(r->prefix, '/');
  size_t dl = slash ? (size_t)(slash - r->prefix) + 1 : 0;
  char *dirkey = ks_strndup(r->prefix, dl);
  char *dir;
  if (dl) {
    dirkey[dl - 1] = '\0';
    dir = ks__fs_path(r->fs, dirkey);
    dirkey[dl - 1] = '/';
  } else {
    dir = ks_strdup(r->fs->root[0] ? r->fs->root : "/");
  }
  r->status = walk(r, dir, dirkey, 0);
  ks_free(dir);
  ks_free(dirkey);
  if (r->status == 0 && r->nobjs > 1)
    qsort(r->objs, r->nobjs, sizeof *r->objs, obj_cmp);
}

static void after_list(uv_work_t *w, int uv_status) {
  fs_req *r = ks_container_of(w, fs_req, work);
  int status = req_status(r, uv_status);
  ks__fs_note(status, 0);
  if (status)
    r->cb.list(r->arg, status, NULL, 0);
  else
    r->cb.list(r->arg, 0, r->objs, r->nobjs);
  req_free(r);
}

static int fs_list(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
                   void *arg) {
  if (prefix == NULL || cb == NULL || prefix[0] == '/')
    return KS_EINVAL;
  /* The directory part must be a valid key; the partial name may be "". */
  const char *slash = strrchr(prefix, '/');
  if (slash) {
    char *d = ks_strndup(prefix, (size_t)(slash - prefix));
    int bad = ks__fs_check_key(d);
    ks_free(d);
    if (bad)
      return KS_EINVAL;
  }
  fs_req *r = req_new((ks__fs *)s, NULL, arg);
  r->prefix = ks_strdup(prefix);
  r->cb.list = cb;
  int rc = uv_queue_work(s->loop, &r->work, list_work, after_list);
  if (rc)
    req_free(r);
  return rc;
}

/* ---- open / close ------------------------------------------------------ */

static void fs_close(ks_storage *s) {
  ks__fs *fs = (ks__fs *)s;
  ks_free(fs->root);
  ks_free(fs);
}

const ks_storage_vtable ks__fs_vtable = {
    .name = "fs",
    .put = fs_put,
    .put_if_absent = fs_put_if_absent,
    .get = fs_get,
    .list = fs_list,
    .del = fs_del,
    .upload_create = ks__fs_upload_create,
    .upload_part = ks__fs_upload_part,
    .upload_complete = ks__fs_upload_complete,
    .upload_abort = ks__fs_upload_abort,
    .sweep_uploads = ks__fs_sweep_uploads,
    .close = fs_close,
};

int ks_fs_open(uv_loop_t *loop, const char *root, ks_storage **out) {
  if (loop == NULL || root == NULL || root[0] != '/' || out == NULL)
    return KS_EINVAL;
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/')
    n--;
  ks__fs *fs = ks_calloc(1, sizeof *fs);
  fs->base.vt = &ks__fs_vtable;
  fs->base.loop = loop;
  fs->root = ks_strndup(root, n);
  if (strcmp(fs->root, "/") == 0)
    fs->root[0] = '\0'; /* keys become "/<key>" */
  *out = &fs->base;
  return 0;
}
