/*
 * Whole-file reads: exactly the file's bytes, NUL-terminated; a file of
 * exactly cap bytes fits, one more byte is KS_ETOOBIG; a missing file or a
 * directory is a -errno with "<path>: <reason>"; a pipe (st_size 0) is
 * read to its end.
 */
#include "base/file.h"
#include "base/ks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int setup(void **state) {
  snprintf(dir, sizeof dir, "/tmp/ks_test_file_XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static void test_sizes_around_the_cap(void **state) {
  size_t sizes[] = {0, 1, 4095, 4096, 4097, 100000};
  for (size_t k = 0; k < KS_ARRAY_SIZE(sizes); k++) {
    size_t n = sizes[k];
    uint8_t *src = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
      src[i] = (uint8_t)(i * 7 + 3);
    char path[128];
    snprintf(path, sizeof path, "%s/f%zu", dir, n);
    write_file(path, src, n);
    uint8_t *data;
    size_t len;
    /* No cap, exactly the size as cap, and one byte short of it. */
    assert_int_equal(ks_read_file(path, 0, &data, &len, NULL, 0), 0);
    assert_int_equal(len, n);
    assert_memory_equal(data, src, n);
    assert_int_equal(data[n], 0);
    ks_free(data);
    if (n) {
      assert_int_equal(ks_read_file(path, n, &data, &len, NULL, 0), 0);
      assert_int_equal(len, n);
      assert_memory_equal(data, src, n);
      assert_int_equal(data[n], 0);
      ks_free(data);
      char err[256];
      assert_int_equal(ks_read_file(path, n - 1 ? n - 1 : 1, &data, &len,
                                    err, sizeof err),
                       n - 1 ? KS_ETOOBIG : 0);
      if (n > 1) {
        assert_null(data);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "larger than"));
      } else {
        ks_free(data);
      }
    }
    free(src);
  }
}

static void test_missing_and_directory(void **state) {
  char path[128], err[256];
  uint8_t *data = (uint8_t *)"x";
  size_t len = 7;
  snprintf(path, sizeof path, "%s/missing", dir);
  assert_int_equal(ks_read_file(path, 0, &data, &len, err, sizeof err),
                   -ENOENT);
  assert_null(data);
  assert_int_equal(len, 0);
  char want[256];
  snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
  assert_string_equal(err, want);
  assert_int_equal(ks_read_file(dir, 0, &data, &len, err, sizeof err),
                   -EISDIR);
  assert_null(data);
}

static void test_pipe_is_read_to_its_end(void **state) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  static const char msg[] = "written before the read, read to EOF";
  assert_int_equal(write(fds[1], msg, sizeof msg - 1), (ssize_t)sizeof msg - 1);
  close(fds[1]);
  uint8_t *data;
  size_t len;
  assert_int_equal(ks_read_fd(fds[0], 1024, &data, &len), 0);
  close(fds[0]);
  assert_int_equal(len, sizeof msg - 1);
  assert_string_equal((char *)data, msg);
  ks_free(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes_around_the_cap),
      cmocka_unit_test(test_missing_and_directory),
      cmocka_unit_test(test_pipe_is_read_to_its_end),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
