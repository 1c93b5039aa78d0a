/*
 * base/log: one JSON object per line with ts, level, worker (only on a
 * worker thread), msg and the caller's fields, escaped so any message
 * stays one valid line; plain text "<ts> <level> [w<N>] <msg> k=v" for a
 * terminal; levels below log.level are dropped.
 */
#include "base/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

/* Runs fn with stderr going to a temp file; returns what it wrote. */
static char *capture(void (*fn)(void)) {
  fflush(stderr);
  char path[] = "/tmp/ks-log-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  fn();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  off_t n = lseek(fd, 0, SEEK_END);
  char *out = calloc(1, (size_t)n + 1);
  assert_int_equal(pread(fd, out, (size_t)n, 0), n);
  close(fd);
  unlink(path);
  return out;
}

static void log_some(void) {
  ks_log_info("plain \"quoted\"\nsecond line");
  ks_log_debug("dropped at info");
  ks_log_set_worker(3);
  ks_log_field f[] = {{"table", "t", 0}, {"offset", "42", 1}};
  ks_log_fields(KS_LOG_WARN, f, 2, "rejected %d", 7);
  ks_log_set_worker(-1);
}

static const char *str_at(yajl_val v, const char *key) {
  const char *path[] = {key, NULL};
  yajl_val s = yajl_tree_get(v, path, yajl_t_string);
  return s ? YAJL_GET_STRING(s) : NULL;
}

static void test_json(void **state) {
  ks_log_set_json(1);
  ks_log_set_level(KS_LOG_INFO);
  char *out = capture(log_some);
  char *nl = strchr(out, '\n');
  assert_non_null(nl);
  *nl = 0;
  yajl_val a = yajl_tree_parse(out, NULL, 0);
  assert_non_null(a);
  assert_string_equal(str_at(a, "level"), "info");
  assert_string_equal(str_at(a, "msg"), "plain \"quoted\"\nsecond line");
  assert_non_null(str_at(a, "ts"));
  const char *pw[] = {"worker", NULL};
  assert_null(yajl_tree_get(a, pw, yajl_t_any));
  yajl_tree_free(a);
  char *second = nl + 1;
  nl = strchr(second, '\n');
  assert_non_null(nl);
  assert_string_equal(nl + 1, ""); /* the debug line was dropped */
  *nl = 0;
  assert_non_null(strstr(second, "\"level\":\"warn\",\"worker\":3,\"msg\":"
                                 "\"rejected 7\",\"table\":\"t\","
                                 "\"offset\":42}"));
  yajl_val b = yajl_tree_parse(second, NULL, 0);
  assert_non_null(b);
  yajl_tree_free(b);
  free(out);
}

static void test_text(void **state) {
  ks_log_set_json(0);
  ks_log_set_level(KS_LOG_DEBUG);
  char *out = capture(log_some);
  assert_non_null(strstr(out, " info  plain \"quoted\"\nsecond line\n"));
  assert_non_null(strstr(out, " debug dropped at info\n"));
  assert_non_null(strstr(out, " warn  [w3] rejected 7 table=t offset=42\n"));
  free(out);
  ks_log_set_json(-1);
  ks_log_set_level(KS_LOG_INFO);
}

static void redact(const char *in, const char *want) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", in);
  ks_log_redact_userinfo(buf);
  assert_string_equal(buf, want);
}

static void test_redaction(void **state) {
  (void)state;
  redact("storage https://AKIAXXXXXXXX:wJalrXUtnFEMI@s3.example.com/b failed",
         "storage https://<redacted>@s3.example.com/b failed");
  redact("registry http://u:p@h:8081 and http://x:y@z", /* short ones */
         "registry http://***@h:8081 and http://***@z");
  redact("s3://bucket/key@v1 file:///a@b", "s3://bucket/key@v1 file:///a@b");
  redact("no url here @all", "no url here @all");
}

static void log_huge(void) {
  /* a message of escapes grows sixfold as JSON: still one line, cut
   * below PIPE_BUF */
  char big[2000];
  memset(big, 1, sizeof big - 1);
  big[sizeof big - 1] = 0;
  ks_log_field f[] = {{"k", "v", 0}};
  ks_log_fields(KS_LOG_WARN, f, 1, "%s", big);
}

static void test_line_cap(void **state) {
  (void)state;
  ks_log_set_json(1);
  char *out = capture(log_huge);
  ks_log_set_json(-1);
  size_t n = strlen(out);
  assert_true(n > 1000);
  assert_true(n < 4096);
  assert_int_equal(out[n - 1], '\n');
  assert_null(strchr(out, '\n') != out + n - 1 ? out : NULL);
  char err[128];
  yajl_val v = yajl_tree_parse(out, err, sizeof err);
  assert_non_null(v);
  assert_non_null(strstr(str_at(v, "msg"), "...(cut)"));
  assert_string_equal(str_at(v, "k"), "v");
  yajl_tree_free(v);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_redaction),
      cmocka_unit_test(test_line_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
