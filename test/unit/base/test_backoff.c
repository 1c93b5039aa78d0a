/*
 * Retry delays: full jitter below an exponential ceiling that stops at the
 * cap, and jitter that differs between threads (and so between processes:
 * each seeds from the kernel), so workers that fail together do not retry
 * together.
 */
#include "base/backoff.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>
#include <uv.h>

/* Moved from the output stream's test, where the function lived. */
static void test_backoff_full_jitter(void **state) {
  for (unsigned a = 0; a < 40; a++) {
    uint64_t cap = 100u << (a < 10 ? a : 10);
    if (cap > 30000)
      cap = 30000;
    for (int i = 0; i < 50; i++) {
      uint64_t d = ks_backoff_ms(a, 100, 30000);
      assert_true(d <= cap);
    }
  }
  assert_int_equal(ks_backoff_ms(5, 0, 100), 0);
}

/* Full jitter spreads over the whole range: over many draws both ends of
 * [0, ceiling] are reached and the mean sits near the middle. */
static void test_backoff_spreads_over_range(void **state) {
  uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; i++) {
    uint64_t d = ks_backoff_ms(3, 100, 30000); /* ceiling 800 */
    assert_true(d <= 800);
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
    sum += d;
  }
  assert_true(lo < 20);
  assert_true(hi > 780);
  assert_true(sum / n > 350 && sum / n < 450);
  assert_int_equal(ks_backoff_ms(0, 0, 0), 0);
  assert_true(ks_backoff_ms(60, 100, 30000) <= 30000); /* no overflow */
}

#define SEQ 32
typedef struct seq {
  uint64_t v[SEQ];
} seq;

static void draw(void *arg) {
  seq *s = arg;
  for (int i = 0; i < SEQ; i++)
    s->v[i] = ks_backoff_ms(20, 100, 1u << 30);
}

/* Before, the jitter came from random() never seeded: every thread and
 * every process drew the same sequence. */
static void test_threads_draw_different_sequences(void **state) {
  seq a, b, c;
  uv_thread_t ta, tb;
  assert_int_equal(uv_thread_create(&ta, draw, &a), 0);
  assert_int_equal(uv_thread_create(&tb, draw, &b), 0);
  assert_int_equal(uv_thread_join(&ta), 0);
  assert_int_equal(uv_thread_join(&tb), 0);
  draw(&c);
  assert_true(memcmp(a.v, b.v, sizeof a.v) != 0);
  assert_true(memcmp(a.v, c.v, sizeof a.v) != 0);
  assert_true(memcmp(b.v, c.v, sizeof a.v) != 0);
  int same = 0;
  for (int i = 0; i < SEQ; i++)
    same += a.v[i] == b.v[i];
  assert_true(same < 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_full_jitter),
      cmocka_unit_test(test_backoff_spreads_over_range),
      cmocka_unit_test(test_threads_draw_different_sequences),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
