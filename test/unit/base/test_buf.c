/*
 * The growable buffer: no append of any kind takes len past the cap (the
 * single-byte fast path did, by one, into the spare NUL byte), the NUL
 * that ks_buf_cstr adds at the cap still fits, and the JSON helpers escape
 * as RFC 8259 and RFC 6901 say.
 */
#include "base/buf.h"
#include "base/ks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

static void test_append_byte_stops_at_cap(void **state) {
  for (size_t max = 1; max <= 130; max++) {
    ks_buf b;
    ks_buf_init(&b, max);
    for (size_t i = 0; i < max; i++)
      assert_int_equal(ks_buf_append_byte(&b, (uint8_t)('a' + i % 26)), 0);
    assert_int_equal(b.len, max);
    /* The allocation has one spare byte past max: not for data. */
    assert_int_equal(ks_buf_append_byte(&b, 'z'), KS_ETOOBIG);
    assert_int_equal(ks_buf_append_byte(&b, 'z'), KS_ETOOBIG);
    assert_int_equal(b.len, max);
    assert_int_equal(ks_buf_cstr(&b), 0);
    assert_int_equal(b.data[max], 0);
    assert_int_equal(b.len, max);
    ks_buf_free(&b);
  }
}

static void test_every_append_respects_cap(void **state) {
  ks_buf b;
  ks_buf_init(&b, 8);
  assert_int_equal(ks_buf_append(&b, "12345678", 8), 0);
  assert_int_equal(ks_buf_append(&b, "9", 1), KS_ETOOBIG);
  assert_int_equal(ks_buf_append_str(&b, "9"), KS_ETOOBIG);
  assert_int_equal(ks_buf_appendf(&b, "%d", 9), KS_ETOOBIG);
  assert_int_equal(ks_buf_append_json_str(&b, "", 0), KS_ETOOBIG);
  assert_int_equal(b.len, 8);
  ks_buf_truncate(&b, 7);
  assert_int_equal(ks_buf_append_byte(&b, '!'), 0);
  assert_int_equal(ks_buf_append_byte(&b, '!'), KS_ETOOBIG);
  assert_int_equal(b.len, 8);
  assert_memory_equal(b.data, "1234567!", 8);
  size_t len;
  uint8_t *p = ks_buf_steal(&b, &len);
  assert_int_equal(len, 8);
  assert_string_equal((char *)p, "1234567!");
  ks_free(p);
  assert_null(b.data);
  ks_buf_free(&b);
}

static void test_appendf_long_and_reset_keeps_memory(void **state) {
  ks_buf b;
  ks_buf_init(&b, 0);
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  assert_int_equal(ks_buf_appendf(&b, "<%s>", big), 0);
  assert_int_equal(b.len, 1001);
  uint8_t *data = b.data;
  ks_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_int_equal(ks_buf_append_str(&b, "again"), 0);
  assert_ptr_equal(b.data, data);
  ks_buf_free(&b);
}

static void test_json_helpers(void **state) {
  ks_buf b;
  ks_buf_init(&b, 0);
  const char in[] = "a\"b\\c\nd\x01 long enough to take the 8-byte path";
  assert_int_equal(ks_buf_append_json_str(&b, in, sizeof in - 1), 0);
  ks_buf_cstr(&b);
  assert_string_equal((char *)b.data,
                      "\"a\\\"b\\\\c\\nd\\u0001 long enough to take the "
                      "8-byte path\"");
  ks_buf_reset(&b);
  assert_int_equal(ks_buf_append_json_pointer(&b, "a/b~c"), 0);
  assert_int_equal(ks_buf_append_json_pointer(&b, ""), 0);
  ks_buf_cstr(&b);
  assert_string_equal((char *)b.data, "/a~1b~0c/");
  ks_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_append_byte_stops_at_cap),
      cmocka_unit_test(test_every_append_respects_cap),
      cmocka_unit_test(test_appendf_long_and_reset_keeps_memory),
      cmocka_unit_test(test_json_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
