/*
 * The fs backend's stale-upload sweep: a process killed mid-write leaves
 * its temp files (".<name>.ksink-upload-*" of a multipart upload,
 * ".<name>.ksink-tmp-*" of a put) next to their targets. list already
 * hides them; the sweep deletes those last modified before the cut-off so
 * crashes do not slowly fill the disk. An upload in progress rewrites its
 * file with every part, so its mtime stays young.
 */
#include "base/buf.h"
#include "base/log.h"
#include "storage/fs/fs_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sweep_req {
  uv_work_t work;
  char *dir;
  int64_t older_than_ms, now_ms;
  int status;
  size_t aborted, left;
  ks_buf report; /* one line per deleted file, logged on the loop */
  ks_storage_sweep_cb cb;
  void *arg;
} sweep_req;

static int64_t mtime_ms(const struct stat *st) {
  return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* Depth-first under dir; a directory vanishing meanwhile is not an error. */
static void walk(sweep_req *r, const char *dir, int depth) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    if (errno != ENOENT && errno != ENOTDIR && r->status == 0)
      r->status = ks__fs_err(errno);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    size_t n = strlen(dir) + strlen(e->d_name) + 2;
    char *path = ks_malloc(n);
    snprintf(path, n, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0) {
      if (S_ISDIR(st.st_mode) && depth < 64) {
        walk(r, path, depth + 1);
      } else if (S_ISREG(st.st_mode) && ks__fs_is_tmp_name(e->d_name)) {
        int64_t age = r->now_ms - mtime_ms(&st);
        if (age >= r->older_than_ms) {
          if (unlink(path) == 0 || errno == ENOENT) {
            r->aborted++;
            ks_buf_appendf(&r->report, "%s (%llds old)\n", path,
                           (long long)(age / 1000));
          } else {
            r->left++;
            if (r->status == 0)
              r->status = ks__fs_err(errno);
          }
        }
      }
    }
    ks_free(path);
  }
  closedir(d);
}

static void sweep_work(uv_work_t *w) {
  sweep_req *r = ks_container_of(w, sweep_req, work);
  walk(r, r->dir, 0);
}

static void after_sweep(uv_work_t *w, int uv_status) {
  sweep_req *r = ks_container_of(w, sweep_req, work);
  ks_buf_cstr(&r->report);
  const char *line = (const char *)r->report.data;
  while (line && *line) {
    const char *nl = strchr(line, '\n');
    ks_log_info("storage: deleted stale upload file %.*s", (int)(nl - line),
                line);
    line = nl + 1;
  }
  int status = uv_status == UV_ECANCELED ? KS_ECANCELED : r->status;
  ks_storage_sweep_cb cb = r->cb;
  void *arg = r->arg;
  size_t aborted = r->aborted, left = r->left;
  ks_buf_free(&r->report);
  ks_free(r->dir);
  ks_free(r);
  cb(arg, status, aborted, left);
}

int ks__fs_sweep_uploads(ks_storage *s, const char *prefix,
                         int64_t older_than_ms, ks_storage_sweep_cb cb,
                         void *arg) {
  if (prefix == NULL || prefix[0] == '/' || cb == NULL || older_than_ms < 0)
    return KS_EINVAL;
  ks__fs *fs = (ks__fs *)s;
  sweep_req *r = ks_calloc(1, sizeof *r);
  /* The directory holding everything under the prefix: "t/" -> root/t,
   * "t/part" -> root/t (the walk filters nothing by name but temp files). */
  size_t pl = strlen(prefix);
  while (pl && prefix[pl - 1] != '/')
    pl--;
  size_t n = strlen(fs->root) + pl + 2;
  r->dir = ks_malloc(n);
  snprintf(r->dir, n, "%s/%.*s", fs->root, (int)pl, prefix);
  n = strlen(r->dir);
  while (n > 1 && r->dir[n - 1] == '/')
    r->dir[--n] = '\0';
  r->older_than_ms = older_than_ms;
  r->now_ms = (int64_t)(ks_now_us() / 1000);
  ks_buf_init(&r->report, 0);
  r->cb = cb;
  r->arg = arg;
  int rc = uv_queue_work(s->loop, &r->work, sweep_work, after_sweep);
  if (rc) {
    ks_buf_free(&r->report);
    ks_free(r->dir);
    ks_free(r);
    return KS_EIO;
  }
  return 0;
}
