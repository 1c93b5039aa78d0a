#include "base/file.h"
#include "base/buf.h"
#include "base/ks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ks_read_fd(int fd, size_t cap, uint8_t **data, size_t *len) {
  *data = NULL;
  *len = 0;
  ks_buf b;
  ks_buf_init(&b, cap);
  /* st_size is a hint for the first allocation, not a length: another
   * tool may still be writing, and pipes report 0. */
  struct stat st;
  size_t want = 4096;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    want = (size_t)st.st_size + 1;
  int r = 0;
  for (;;) {
    size_t room = b.max - b.len;
    if (room == 0) {
      /* At the cap: one more byte means the file is too big. */
      char probe;
      ssize_t n = read(fd, &probe, 1);
      if (n < 0 && errno == EINTR)
        continue;
      r = n < 0 ? -errno : n > 0 ? KS_ETOOBIG : 0;
      break;
    }
    if ((r = ks_buf_reserve(&b, want < room ? want : room)))
      break;
    size_t space = b.cap - b.len;
    ssize_t n = read(fd, b.data + b.len, space < room ? space : room);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      r = -errno;
      break;
    }
    if (n == 0)
      break;
    b.len += (size_t)n;
    want = 4096;
  }
  if (r) {
    ks_buf_free(&b);
    return r;
  }
  *data = ks_buf_steal(&b, len);
  return 0;
}

int ks_read_file(const char *path, size_t cap, uint8_t **data, size_t *len,
                 char *err, size_t errlen) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int r = fd < 0 ? -errno : ks_read_fd(fd, cap, data, len);
  if (fd >= 0)
    close(fd);
  if (r && err && errlen) {
    if (r == KS_ETOOBIG)
      snprintf(err, errlen, "%s: larger than %zu bytes", path, cap);
    else
      snprintf(err, errlen, "%s: %s", path, strerror(-r));
  }
  return r;
}
