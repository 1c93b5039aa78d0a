/* The error table: every code has its own message and name, and system
 * errno values pass through. */
#include "base/ks.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

static void test_messages(void **state) {
  assert_string_equal(ks_strerror(0), "success");
  assert_string_equal(ks_strerror(KS_EIO), "i/o error");
  assert_string_equal(ks_strerror(KS_EEXIST), "already exists");
  assert_string_equal(ks_strerror(KS_EZOMBIE),
                      "batch superseded by another writer");
  assert_string_equal(ks_errname(KS_ECONFIG), "ECONFIG");
  assert_string_equal(ks_errname(KS_ESTOPPED), "ESTOPPED");
  assert_string_equal(ks_strerror(-ENOSPC), strerror(ENOSPC));
  assert_true(KS_ENOMEM < 0 && KS_ESTOPPED < 0);
}

#define CHECK_(name, msg)                                                   \
  assert_string_equal(ks_strerror(KS_ERR(name)), msg);                      \
  assert_string_equal(ks_errname(KS_ERR(name)), "E" #name);

static void test_every_code(void **state) { KS_ERRNO_MAP(CHECK_) }

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_messages),
                                     cmocka_unit_test(test_every_code)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
