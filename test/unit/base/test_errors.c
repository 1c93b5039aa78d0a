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

/* The codes are generated from the table; their values never changed
 * (they reach logs and metric labels only by name, but stay stable). */
static void test_values(void **state) {
  assert_int_equal(KS_ENOMEM, -1001);
  assert_int_equal(KS_EINVAL, -1002);
  assert_int_equal(KS_ESTOPPED, -1017);
  assert_int_equal(KS_ENEWFIELD, -1020);
  assert_int_equal(KS_ERR(NEWFIELD), KS_ENEWFIELD);
  assert_int_equal(KS_ERRNUM_LAST_, 1022);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_messages),
                                     cmocka_unit_test(test_every_code),
                                     cmocka_unit_test(test_values)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
