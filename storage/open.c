/* ks_storage_open: the storage URL picks the backend. The one file of
 * storage/ that includes the backends (they include storage.h). */
#include "base/ks.h"
#include "base/log.h"
#include "storage/fs/fs.h"
#include "storage/s3/s3.h"
#include "storage/storage.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes a file URL's path; KS_EINVAL on a bad escape or NUL. */
static int url_path_decode(const char *s, char **out) {
  size_t n = strlen(s);
  char *d = ks_malloc(n + 1), *o = d;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      *o++ = s[i];
      continue;
    }
    int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
    int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      ks_free(d);
      return KS_EINVAL;
    }
    *o++ = (char)(hi * 16 + lo);
    i += 2;
  }
  *o = '\0';
  *out = d;
  return 0;
}

int ks_storage_open(uv_loop_t *loop, const char *url, const ks_conf_s3 *s3,
                    ks_storage **out) {
  if (loop == NULL || url == NULL || out == NULL)
    return KS_EINVAL;
  if (strncmp(url, "file://", 7) == 0) {
    const char *p = url + 7;
    if (strncmp(p, "localhost/", 10) == 0)
      p += 9;
    if (p[0] != '/') {
      ks_log_error("storage.url: %s: expected file:///absolute/path", url);
      return KS_ECONFIG;
    }
    char *path;
    if (url_path_decode(p, &path)) {
      ks_log_error("storage.url: %s: bad percent-escape in the path", url);
      return KS_ECONFIG;
    }
    int r = ks_fs_open(loop, path, out);
    ks_free(path);
    return r;
  }
  if (strncmp(url, "s3://", 5) == 0)
    return ks_s3_open(loop, url, s3, out);
  ks_log_error("storage.url: %s: expected file:///path or s3://bucket/prefix",
               url);
  return KS_EUNSUPPORTED;
}

int ks_storage_run_private(const char *url, const ks_conf_s3 *s3,
                           ks_storage_private_fn fn, void *arg, char *err,
                           size_t errlen) {
  uv_loop_t loop;
  int r = uv_loop_init(&loop);
  if (r)
    return r;
  ks_storage *st = NULL;
  if ((r = ks_storage_open(&loop, url, s3, &st))) {
    snprintf(err, errlen, "storage %s: %s", url, ks_strerror(r));
  } else {
    r = fn(&loop, st, arg);
    ks_storage_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
  return r;
}
