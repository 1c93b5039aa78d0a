/* RLE / bit-packed hybrid against hand-computed bytes, and a decoder
 * written from Encodings.md that must give back every input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/ks.h"
#include "storage/parquet/rle.h"

static ks_buf out;

static int setup(void **state) {
  (void)state;
  ks_buf_init(&out, 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ks_buf_free(&out);
  return 0;
}

#define ASSERT_BYTES(...)                                                      \
  do {                                                                         \
    const uint8_t want_[] = {__VA_ARGS__};                                     \
    assert_int_equal(out.len, sizeof want_);                                   \
    assert_memory_equal(out.data, want_, sizeof want_);                        \
  } while (0)

static void encode(const uint8_t *v, size_t n, int w) {
  ks_buf_reset(&out);
  assert_int_equal(ks__rle_encode(&out, v, n, w), 0);
}

static void test_bit_width(void **state) {
  (void)state;
  assert_int_equal(ks__rle_bit_width(0), 0);
  assert_int_equal(ks__rle_bit_width(1), 1);
  assert_int_equal(ks__rle_bit_width(2), 2);
  assert_int_equal(ks__rle_bit_width(3), 2);
  assert_int_equal(ks__rle_bit_width(4), 3);
  assert_int_equal(ks__rle_bit_width(255), 8);
  assert_int_equal(ks__rle_bit_width(256), 9);
  assert_int_equal(ks__rle_bit_width(UINT32_MAX), 32);
}

static void test_all_same(void **state) {
  (void)state;
  uint8_t v[100];
  memset(v, 1, sizeof v);
  encode(v, 100, 1); /* one run: varint(100 << 1), value */
  ASSERT_BYTES(0xc8, 0x01, 0x01);
  memset(v, 0, sizeof v);
  encode(v, 5, 1); /* a short input that is one run is still a run */
  ASSERT_BYTES(0x0a, 0x00);
  memset(v, 200, sizeof v);
  encode(v, 9, 8);
  ASSERT_BYTES(0x12, 0xc8);
  encode(v, 0, 1);
  assert_int_equal(out.len, 0);
}

static void test_alternating(void **state) {
  (void)state;
  uint8_t v[16];
  for (int i = 0; i < 16; i++)
    v[i] = (uint8_t)(i & 1);
  encode(v, 16, 1); /* 2 groups, LSB first: 0,1,0,1.. = 0xaa */
  ASSERT_BYTES(0x05, 0xaa, 0xaa);
  encode(v, 10, 1); /* not a multiple of 8: the last group is zero-padded */
  ASSERT_BYTES(0x05, 0xaa, 0x02);
  encode(v, 3, 1);
  ASSERT_BYTES(0x03, 0x02);
}

/* Short runs borrow from the following long run to complete their group
 * of 8; the rest of the long run is RLE; a final short run alone is RLE. */
static void test_mixed(void **state) {
  (void)state;
  uint8_t v[25] = {1, 0};
  memset(v + 2, 1, 21);
  encode(v, 25, 1);
  ASSERT_BYTES(0x03, 0xfd, 0x1e, 0x01, 0x04, 0x00);
  /* a run of 7 between short runs stays bit-packed */
  uint8_t u[9] = {0, 1, 1, 1, 1, 1, 1, 1, 0};
  encode(u, 9, 1);
  ASSERT_BYTES(0x05, 0xfe, 0x00);
}

static void test_widths(void **state) {
  (void)state;
  uint8_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  encode(v, 8, 3); /* the example of Encodings.md */
  ASSERT_BYTES(0x03, 0x88, 0xc6, 0xfa);
  uint8_t u[8] = {1, 2, 3, 0, 1, 2, 3, 0};
  encode(u, 8, 2); /* 01 10 11 00 -> 0b00111001 */
  ASSERT_BYTES(0x03, 0x39, 0x39);
  uint8_t big[300];
  memset(big, 3, sizeof big);
  encode(big, 300, 2); /* varint(600) = d8 04 */
  ASSERT_BYTES(0xd8, 0x04, 0x03);
  assert_int_equal(ks__rle_encode(&out, v, 8, 9), KS_EINVAL);
}

static void test_levels_prefix(void **state) {
  (void)state;
  uint8_t v[100];
  memset(v, 1, sizeof v);
  ks_buf_reset(&out);
  assert_int_equal(ks_buf_append(&out, "x", 1), 0);
  assert_int_equal(ks__rle_encode_levels(&out, v, 100, 1), 0);
  ASSERT_BYTES('x', 0x03, 0x00, 0x00, 0x00, 0xc8, 0x01, 0x01);
}

static void test_bools(void **state) {
  (void)state;
  uint8_t v[9] = {1, 0, 1, 1, 0, 0, 0, 0, 1};
  ks_buf_reset(&out);
  assert_int_equal(ks__bitpack_bools(&out, v, 9), 0);
  ASSERT_BYTES(0x0d, 0x01);
}

/* Decoder per Encodings.md; returns values decoded or -1 on bad input. */
static long decode(const uint8_t *p, size_t len, int w, uint8_t *dst,
                   size_t n) {
  size_t i = 0, got = 0;
  while (i < len && got < n) {
    uint64_t h = 0;
    int shift = 0;
    do {
      h |= (uint64_t)(p[i] & 0x7f) << shift;
      shift += 7;
    } while (p[i++] & 0x80);
    if (h & 1) {
      size_t cnt = (size_t)(h >> 1) * 8;
      for (size_t k = 0; k < cnt; k++) {
        size_t bit = k * (size_t)w;
        unsigned x = 0;
        for (int b = 0; b < w; b++, bit++)
          x |= (unsigned)((p[i + bit / 8] >> (bit % 8)) & 1) << b;
        if (got < n)
          dst[got++] = (uint8_t)x;
      }
      i += (size_t)(h >> 1) * (size_t)w;
    } else {
      uint8_t x = w ? p[i++] : 0;
      for (size_t k = 0; k < (h >> 1); k++)
        if (got < n)
          dst[got++] = x;
        else
          return -1; /* a run past the end */
    }
  }
  return i == len ? (long)got : -1;
}

static void test_round_trip(void **state) {
  (void)state;
  enum { N = 3000 };
  uint8_t *v = malloc(N), *back = malloc(N);
  srand(7);
  for (int w = 1; w <= 8; w++) {
    for (int iter = 0; iter < 40; iter++) {
      size_t n = (size_t)(rand() % N);
      /* runs of random lengths (1..40) of random values */
      for (size_t i = 0; i < n;) {
        size_t run = (size_t)(rand() % (iter % 4 == 0 ? 3 : 40)) + 1;
        uint8_t x = (uint8_t)(rand() & ((1 << w) - 1));
        for (size_t k = 0; k < run && i < n; k++)
          v[i++] = x;
      }
      encode(v, n, w);
      memset(back, 0xee, N);
      assert_int_equal(decode(out.data, out.len, w, back, n), (long)n);
      if (n)
        assert_memory_equal(back, v, n);
    }
  }
  free(v);
  free(back);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bit_width),
      cmocka_unit_test_setup_teardown(test_all_same, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alternating, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mixed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_widths, setup, teardown),
      cmocka_unit_test_setup_teardown(test_levels_prefix, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bools, setup, teardown),
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
