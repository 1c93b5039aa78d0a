/*
 * The backpressure decision on its own (reactor/backpressure.h): which
 * pause reasons hold after a look at the admin flag, the storage breakers
 * and the memory budget, and when the largest table is flushed (paused
 * past 90%, without a pause past 75%). No Kafka,
 * no worker: the decision is a pure function of its inputs.
 */
#include "reactor/backpressure.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define MB (1024u * 1024u)

static ks_bp_input in_mem(uint64_t used, uint64_t budget) {
  ks_bp_input in = {.admin = 0, .storage_open = -1, .used = used,
                    .budget = budget, .stopping = 0};
  return in;
}

static void test_memory_high_and_low_marks(void **state) {
  (void)state;
  uint64_t budget = 100 * MB;
  /* under 90%: no pause (past 75%, a flush without one) */
  ks_bp_input in = in_mem(89 * MB, budget);
  ks_bp_decision d = ks_backpressure_decide(0, &in);
  assert_int_equal(d.pause_why, 0);
  assert_int_equal(d.flush, 2);
  /* at 90%: pause and flush */
  in = in_mem(90 * MB, budget);
  d = ks_backpressure_decide(0, &in);
  assert_int_equal(d.pause_why, KS_PAUSE_MEMORY);
  assert_int_equal(d.flush, 1);
  /* paused, between the marks: stay paused, keep flushing */
  in = in_mem(70 * MB, budget);
  d = ks_backpressure_decide(KS_PAUSE_MEMORY, &in);
  assert_int_equal(d.pause_why, KS_PAUSE_MEMORY);
  assert_int_equal(d.flush, 1);
  /* under 60%: resume, no flush */
  in = in_mem(59 * MB, budget);
  d = ks_backpressure_decide(KS_PAUSE_MEMORY, &in);
  assert_int_equal(d.pause_why, 0);
  assert_int_equal(d.flush, 0);
  /* not paused, between the low and the flush mark: nothing, and no
   * flapping back into a pause */
  in = in_mem(74 * MB, budget);
  d = ks_backpressure_decide(0, &in);
  assert_int_equal(d.pause_why, 0);
  assert_int_equal(d.flush, 0);
  /* not paused, past the flush mark (75%): flush without a pause */
  in = in_mem(80 * MB, budget);
  d = ks_backpressure_decide(0, &in);
  assert_int_equal(d.pause_why, 0);
  assert_int_equal(d.flush, 2);
}

static void test_memory_not_judged_without_budget_or_when_stopping(
    void **state) {
  (void)state;
  ks_bp_input in = in_mem(1000 * MB, 0);
  ks_bp_decision d = ks_backpressure_decide(0, &in);
  assert_int_equal(d.pause_why, 0);
  assert_int_equal(d.flush, 0);
  /* shutdown flushing: the memory state is left as it was */
  in = in_mem(1000 * MB, 100 * MB);
  in.stopping = 1;
  d = ks_backpressure_decide(0, &in);
  assert_int_equal(d.pause_why, 0);
  assert_int_equal(d.flush, 0);
  in.used = 0;
  d = ks_backpressure_decide(KS_PAUSE_MEMORY, &in);
  assert_int_equal(d.pause_why, KS_PAUSE_MEMORY);
}

static void test_reasons_are_independent(void **state) {
  (void)state;
  uint64_t budget = 100 * MB;
  /* an operator pause and an open breaker pile up with memory */
  ks_bp_input in = in_mem(95 * MB, budget);
  in.admin = 1;
  in.storage_open = 1;
  ks_bp_decision d = ks_backpressure_decide(0, &in);
  assert_int_equal(d.pause_why,
                   KS_PAUSE_ADMIN | KS_PAUSE_STORAGE | KS_PAUSE_MEMORY);
  /* memory going down never resumes what the others paused */
  in.used = 10 * MB;
  d = ks_backpressure_decide(d.pause_why, &in);
  assert_int_equal(d.pause_why, KS_PAUSE_ADMIN | KS_PAUSE_STORAGE);
  /* the breakers are only looked at on a tick: -1 keeps their bit */
  in.admin = 0;
  in.storage_open = -1;
  d = ks_backpressure_decide(d.pause_why, &in);
  assert_int_equal(d.pause_why, KS_PAUSE_STORAGE);
  in.storage_open = 0;
  d = ks_backpressure_decide(d.pause_why, &in);
  assert_int_equal(d.pause_why, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_memory_high_and_low_marks),
      cmocka_unit_test(test_memory_not_judged_without_budget_or_when_stopping),
      cmocka_unit_test(test_reasons_are_independent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
