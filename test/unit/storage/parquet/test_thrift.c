/* Thrift compact protocol encoder against hand-computed bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/ks.h"
#include "storage/parquet/thrift.h"

#define ASSERT_BYTES(buf, ...)                                                 \
  do {                                                                         \
    const uint8_t want_[] = {__VA_ARGS__};                                     \
    assert_int_equal((buf)->len, sizeof want_);                                \
    assert_memory_equal((buf)->data, want_, sizeof want_);                     \
  } while (0)

static void test_zigzag(void **state) {
  (void)state;
  assert_int_equal(ks__thrift_zigzag(0), 0);
  assert_int_equal(ks__thrift_zigzag(-1), 1);
  assert_int_equal(ks__thrift_zigzag(1), 2);
  assert_int_equal(ks__thrift_zigzag(-2), 3);
  assert_int_equal(ks__thrift_zigzag(INT32_MAX), 4294967294u);
  assert_int_equal(ks__thrift_zigzag(INT32_MIN), 4294967295u);
  assert_true(ks__thrift_zigzag(INT64_MAX) == UINT64_MAX - 1);
  assert_true(ks__thrift_zigzag(INT64_MIN) == UINT64_MAX);
}

static void test_varint(void **state) {
  (void)state;
  ks_buf b;
  ks__thrift t;
  ks_buf_init(&b, 0);
  ks__thrift_init(&t, &b);
  ks__thrift_varint(&t, 0);
  ks__thrift_varint(&t, 127);
  ks__thrift_varint(&t, 128);
  ks__thrift_varint(&t, 300);
  ks__thrift_varint(&t, UINT64_MAX);
  assert_int_equal(t.err, 0);
  ASSERT_BYTES(&b, 0x00, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff,
               0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
  ks_buf_free(&b);
}

/* Short field headers, the long form for deltas > 15 and for ids going
 * down, bools in the type nibble, binary, nested structs, list of structs. */
static void test_struct_fields(void **state) {
  (void)state;
  ks_buf b;
  ks__thrift t;
  ks_buf_init(&b, 0);
  ks__thrift_init(&t, &b);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_i32(&t, 1, 1);                 /* 15 02 */
  ks__thrift_field_i32(&t, 2, -1);                /* 15 01 */
  ks__thrift_field_i64(&t, 20, 300);              /* 06 28 d8 04 */
  ks__thrift_field_bool(&t, 21, 1);               /* 11 */
  ks__thrift_field_bool(&t, 22, 0);               /* 12 */
  ks__thrift_field_string(&t, 23, "ab");          /* 18 02 61 62 */
  ks__thrift_field_list(&t, 24, KS__T_STRUCT, 2); /* 19 2c */
  ks__thrift_struct_begin(&t);
  ks__thrift_field_i32(&t, 1, 5); /* 15 0a */
  ks__thrift_struct_end(&t);      /* 00 */
  ks__thrift_struct_begin(&t);
  ks__thrift_struct_end(&t);          /* 00 */
  ks__thrift_field_struct(&t, 25);    /* 1c: the list did not reset the id */
  ks__thrift_field_i8(&t, 1, -3);     /* 13 fd */
  ks__thrift_struct_end(&t);          /* 00 */
  ks__thrift_field_i16(&t, 26, -300); /* 14 d7 04 */
  ks__thrift_field_i32(&t, 3, 0);     /* 05 06 00: going down */
  ks__thrift_field_i32(&t, 18, 7);    /* f5 0e: delta 15 is short */
  ks__thrift_field_i64(&t, 34, -1);   /* 06 44 01: delta 16 is long */
  ks__thrift_struct_end(&t);          /* 00 */
  assert_int_equal(t.err, 0);
  assert_int_equal(t.depth, 0);
  ASSERT_BYTES(&b, 0x15, 0x02, 0x15, 0x01, 0x06, 0x28, 0xd8, 0x04, 0x11, 0x12,
               0x18, 0x02, 'a', 'b', 0x19, 0x2c, 0x15, 0x0a, 0x00, 0x00, 0x1c,
               0x13, 0xfd, 0x00, 0x14, 0xd7, 0x04, 0x05, 0x06, 0x00, 0xf5, 0x0e,
               0x06, 0x44, 0x01, 0x00);
  ks_buf_free(&b);
}

static void test_lists(void **state) {
  (void)state;
  ks_buf b;
  ks__thrift t;
  ks_buf_init(&b, 0);
  ks__thrift_init(&t, &b);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_list(&t, 1, KS__T_I32, 3);    /* 19 35 */
  ks__thrift_elem_i32(&t, 0);                    /* 00 */
  ks__thrift_elem_i32(&t, 3);                    /* 06 */
  ks__thrift_elem_i32(&t, -64);                  /* 7f */
  ks__thrift_field_list(&t, 2, KS__T_BINARY, 1); /* 19 18 */
  ks__thrift_elem_string(&t, "xyz");             /* 03 78 79 7a */
  ks__thrift_field_list(&t, 3, KS__T_I64, 15);   /* 19 f6 0f: >= 15 */
  for (int i = 0; i < 15; i++)
    ks__thrift_elem_i64(&t, i == 14 ? 64 : 1);   /* 02 x14, 80 01 */
  ks__thrift_field_list(&t, 4, KS__T_STRUCT, 0); /* 19 0c */
  ks__thrift_struct_end(&t);
  assert_int_equal(t.err, 0);
  ASSERT_BYTES(&b, 0x19, 0x35, 0x00, 0x06, 0x7f, 0x19, 0x18, 0x03, 'x', 'y',
               'z', 0x19, 0xf6, 0x0f, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
               0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x80, 0x01, 0x19, 0x0c,
               0x00);
  ks_buf_free(&b);
}

/* A capped buffer: the first failure sticks and later calls do nothing. */
static void test_sticky_error(void **state) {
  (void)state;
  ks_buf b;
  ks__thrift t;
  ks_buf_init(&b, 4);
  ks__thrift_init(&t, &b);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_string(&t, 1, "too long");
  ks__thrift_field_i32(&t, 2, 1);
  ks__thrift_struct_end(&t);
  assert_int_equal(t.err, KS_ETOOBIG);
  assert_true(b.len <= 4);
  ks_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_zigzag),        cmocka_unit_test(test_varint),
      cmocka_unit_test(test_struct_fields), cmocka_unit_test(test_lists),
      cmocka_unit_test(test_sticky_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
