#include "base/ks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KS_ERR_MSG_(name, msg)                                                 \
  case KS_ERRNUM_##name:                                                       \
    return msg;
#define KS_ERR_NAME_(name, msg)                                                \
  case KS_ERRNUM_##name:                                                       \
    return "E" #name;

const char *ks_strerror(int err) {
  if (err == 0)
    return "success";
  switch (-err) {
    KS_ERRNO_MAP(KS_ERR_MSG_)
  default:
    break;
  }
  if (err < 0 && -err < KS_ERRNUM_FIRST_)
    return strerror(-err);
  return "unknown error";
}

const char *ks_errname(int err) {
  if (err == 0)
    return "OK";
  switch (-err) {
    KS_ERRNO_MAP(KS_ERR_NAME_)
  default:
    break;
  }
  return "ESYS";
}

/* Formats "ksink: out of memory allocating <n> bytes; aborting\n" into
 * buf by hand: no stdio, no allocation. Returns the length (the line is
 * cut at cap, which the caller sizes for the longest n). */
static size_t oom_message(char *buf, size_t cap, size_t n) {
  static const char head[] = "ksink: out of memory allocating ";
  static const char tail[] = " bytes; aborting\n";
  char digits[24];
  size_t nd = 0, len = 0;
  do {
    digits[nd++] = (char)('0' + n % 10);
    n /= 10;
  } while (n);
  for (size_t i = 0; i + 1 < sizeof head && len < cap; i++)
    buf[len++] = head[i];
  while (nd && len < cap)
    buf[len++] = digits[--nd];
  for (size_t i = 0; i + 1 < sizeof tail && len < cap; i++)
    buf[len++] = tail[i];
  return len;
}

/* The logger allocates, so logging here would call back into this path
 * with no memory to spare: one write(2) of a stack buffer, then abort. */
static void oom(size_t n) {
  char msg[96];
  size_t len = oom_message(msg, sizeof msg, n);
  ssize_t w = write(STDERR_FILENO, msg, len);
  (void)w;
  abort();
}

void *ks_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p == NULL)
    oom(n);
  return p;
}

void *ks_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL)
    oom(n * size);
  return p;
}

void *ks_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (q == NULL)
    oom(n);
  return q;
}

char *ks_strdup(const char *s) {
  return ks_strndup(s, strlen(s));
}

char *ks_strndup(const char *s, size_t n) {
  char *d = ks_malloc(n + 1);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

void ks_free(void *p) {
  free(p);
}

int64_t ks_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ks_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t ks_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
