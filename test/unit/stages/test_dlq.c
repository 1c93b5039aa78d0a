/* Dead-letter failures: which producer errors are transient (sent again,
 * the batch waits), which mean "too large" (sent again cut down) and which
 * are refusals (counted and let go), and how much of a dead letter fits
 * on each cut. */
#include "stages/dlq.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void classify(void **state) {
  (void)state;
  /* broker down, timeouts, a full queue: the DLQ may take it later */
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT),
                   KS_DLQ_FAULT_TRANSIENT);
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR__QUEUE_FULL),
                   KS_DLQ_FAULT_TRANSIENT);
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR__TRANSPORT),
                   KS_DLQ_FAULT_TRANSIENT);
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION),
                   KS_DLQ_FAULT_TRANSIENT);
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT),
                   KS_DLQ_FAULT_TRANSIENT);
  /* too large, locally (message.max.bytes) or by the broker */
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE),
                   KS_DLQ_FAULT_TOO_LARGE);
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE),
                   KS_DLQ_FAULT_TOO_LARGE);
  /* refusals no retry heals */
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC),
                   KS_DLQ_FAULT_REFUSED);
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART),
                   KS_DLQ_FAULT_REFUSED);
  assert_int_equal(
      ks_dlq_classify(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED),
      KS_DLQ_FAULT_REFUSED);
  assert_int_equal(
      ks_dlq_classify(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED),
      KS_DLQ_FAULT_REFUSED);
  assert_int_equal(ks_dlq_classify(RD_KAFKA_RESP_ERR_INVALID_RECORD),
                   KS_DLQ_FAULT_REFUSED);
}

static void fit(void **state) {
  (void)state;
  size_t key;
  /* first cut: the producer's limit less framing, headers and key */
  size_t v = ks_dlq_fit(1000000, 1, 2000, 100, &key);
  assert_int_equal(key, 100);
  assert_int_equal(v, 1000000 - 1024 - 2000 - 100);
  /* each further cut halves the room: a lower broker limit is met */
  size_t v2 = ks_dlq_fit(1000000, 2, 2000, 100, &key);
  assert_true(v2 < v / 2 + 1);
  assert_true(v2 > 0);
  /* a huge key keeps at most an eighth of the room */
  v = ks_dlq_fit(1000000, 1, 0, 5000000, &key);
  assert_int_equal(key, 1000000 / 8);
  assert_int_equal(v, 1000000 - 1024 - 1000000 / 8);
  /* headers alone past the room: nothing of the value fits */
  assert_int_equal(ks_dlq_fit(1000000, 1, 2000000, 0, &key), 0);
  assert_int_equal(ks_dlq_fit(1000000, 7, 0, 0, &key), 1000000 / 64 - 1024);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(classify),
      cmocka_unit_test(fit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
