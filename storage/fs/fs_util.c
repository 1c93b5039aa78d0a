/* Path and file helpers of the fs backend; they run on pool threads. */
#include "storage/fs/fs_int.h"
#include "storage/storage.h"

#include "base/ks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ks__fs_check_key(const char *key) {
  if (key == NULL || key[0] == '\0' || key[0] == '/')
    return KS_EINVAL;
  const char *p = key;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') ||
        (n == 2 && p[0] == '.' && p[1] == '.'))
      return KS_EINVAL;
    if (!slash)
      return 0;
    p = slash + 1;
  }
}

char *ks__fs_path(const ks__fs *fs, const char *key) {
  size_t rl = strlen(fs->root), kl = strlen(key);
  char *p = ks_malloc(rl + kl + 2);
  memcpy(p, fs->root, rl);
  p[rl] = '/';
  memcpy(p + rl + 1, key, kl + 1);
  return p;
}

int ks__fs_err(int errnum) {
  switch (errnum) {
  case ENOENT:
    return KS_ENOENT;
  case EEXIST:
    return KS_EEXIST;
  case ENOMEM:
    return KS_ENOMEM;
  default:
    return errnum > 0 ? -errnum : KS_EIO;
  }
}

int ks__fs_mkdirs_for(const char *path) {
  char *dir = ks_strdup(path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL || slash == dir) {
    ks_free(dir);
    return 0;
  }
  *slash = '\0';
  /* Fast path: the directory usually exists already. */
  struct stat st;
  if (stat(dir, &st) == 0) {
    ks_free(dir);
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
  }
  int r = 0;
  for (char *p = dir + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    /* EEXIST also covers a racing writer creating the same directory. */
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
      r = ks__fs_err(errno);
      break;
    }
    *p = c;
    if (c == '\0')
      break;
  }
  ks_free(dir);
  return r;
}

int ks__fs_fsync_dir_for(const char *path) {
  char *dir = ks_strdup(path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r = 0;
  if (fd < 0)
    r = ks__fs_err(errno);
  else {
    if (fsync(fd) != 0)
      r = ks__fs_err(errno);
    close(fd);
  }
  ks_free(dir);
  return r;
}

char *ks__fs_tmp_path(const char *path, const char *tag) {
  unsigned char rnd[8];
  if (uv_random(NULL, NULL, rnd, sizeof rnd, 0, NULL) != 0) {
    /* Uniqueness matters, secrecy does not: fall back to time and pid. */
    uint64_t x = (uint64_t)ks_now_us() ^ ((uint64_t)getpid() << 40) ^
                 (uint64_t)(uintptr_t)&rnd;
    memcpy(rnd, &x, sizeof rnd);
  }
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
  const char *name = path + dl;
  size_t n = strlen(path) + strlen(tag) + 40;
  char *out = ks_malloc(n);
  int off = snprintf(out, n, "%.*s.%s.ksink-%s-", (int)dl, path, name, tag);
  for (size_t i = 0; i < sizeof rnd; i++)
    off += snprintf(out + off, n - (size_t)off, "%02x", rnd[i]);
  return out;
}

int ks__fs_is_tmp_name(const char *name) {
  return name[0] == '.' && (strstr(name, ".ksink-tmp-") != NULL ||
                            strstr(name, ".ksink-upload-") != NULL);
}

int ks__fs_pwrite_all(int fd, const void *data, size_t len, off_t off) {
  const char *p = data;
  while (len > 0) {
    ssize_t w = pwrite(fd, p, len, off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return ks__fs_err(errno);
    }
    p += w;
    len -= (size_t)w;
    off += w;
  }
  return 0;
}

int ks__fs_write_new(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return ks__fs_err(errno);
  int r = ks__fs_pwrite_all(fd, data, len, 0);
  if (r == 0 && fsync(fd) != 0)
    r = ks__fs_err(errno);
  if (close(fd) != 0 && r == 0)
    r = ks__fs_err(errno);
  if (r != 0)
    unlink(path);
  return r;
}

void ks__fs_note(int status, uint64_t bytes) {
  int answer = status == 0 || status == KS_ENOENT || status == KS_EEXIST ||
               status == KS_ECANCELED || status == KS_EINVAL;
  ks_storage_note(answer, status == 0 ? bytes : 0);
  if (status == 0 && bytes)
    ks_storage_note_accepted();
  else if (status == -EACCES || status == -EPERM || status == -EROFS ||
           status == -ENOSPC || status == -EDQUOT)
    ks_storage_note_refused(strerror(-status));
}
