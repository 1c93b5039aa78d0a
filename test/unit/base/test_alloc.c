/*
 * The out-of-memory policy: an allocation that fails writes one line to
 * stderr and aborts. It must not go through the logger (which allocates,
 * so it recursed into the same failure): a child process asks for more
 * memory than exists and the parent reads what it wrote and how it died.
 */
#include "base/ks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under AddressSanitizer an impossible size would be reported by ASan
 * itself; let malloc return NULL as it does in production. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1";
}

enum { USE_MALLOC, USE_CALLOC, USE_REALLOC, USE_STRNDUP };

/* Runs one failing allocation in a child; returns what ksink wrote to
 * stderr in out (from "ksink:" on: AddressSanitizer prints a warning of its
 * own first) and the child's wait status. */
static int die_in_child(int how, char *out, size_t cap) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    volatile size_t huge = SIZE_MAX;
    void *p = NULL;
    switch (how) {
    case USE_MALLOC:
      p = ks_malloc(huge);
      break;
    case USE_CALLOC:
      p = ks_calloc(huge / 8, 4);
      break;
    case USE_REALLOC:
      p = ks_realloc(NULL, huge - 1);
      break;
    case USE_STRNDUP:
      p = ks_strndup("x", huge - 1); /* asks for huge bytes */
      break;
    }
    (void)p;
    _exit(0); /* not reached: ks_* never return NULL */
  }
  close(fds[1]);
  size_t len = 0;
  ssize_t n;
  while (len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0)
    len += (size_t)n;
  out[len] = '\0';
  close(fds[0]);
  const char *own = strstr(out, "ksink:");
  if (own && own != out)
    memmove(out, own, strlen(own) + 1);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void test_malloc_failure_writes_and_aborts(void **state) {
  char out[512];
  int st = die_in_child(USE_MALLOC, out, sizeof out);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGABRT);
  /* Exactly one line, the size spelled out in full. */
  assert_string_equal(out, "ksink: out of memory allocating "
                           "18446744073709551615 bytes; aborting\n");
}

static void test_every_allocator_aborts(void **state) {
  char out[512];
  int st = die_in_child(USE_REALLOC, out, sizeof out);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  assert_string_equal(out, "ksink: out of memory allocating "
                           "18446744073709551614 bytes; aborting\n");
  st = die_in_child(USE_STRNDUP, out, sizeof out);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  assert_string_equal(out, "ksink: out of memory allocating "
                           "18446744073709551615 bytes; aborting\n");
  st = die_in_child(USE_CALLOC, out, sizeof out);
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  assert_non_null(strstr(out, "ksink: out of memory allocating "));
  assert_non_null(strstr(out, " bytes; aborting\n"));
}

static void test_small_allocations_succeed(void **state) {
  char *s = ks_strndup("hello world", 5);
  assert_string_equal(s, "hello");
  ks_free(s);
  void *z = ks_malloc(0); /* never NULL, even for 0 bytes */
  assert_non_null(z);
  ks_free(z);
  unsigned char *c = ks_calloc(16, 4);
  for (int i = 0; i < 64; i++)
    assert_int_equal(c[i], 0);
  ks_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_malloc_failure_writes_and_aborts),
      cmocka_unit_test(test_every_allocator_aborts),
      cmocka_unit_test(test_small_allocations_succeed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
