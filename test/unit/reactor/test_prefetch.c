/*
 * librdkafka's prefetch sized from reactor.memory_budget
 * (reactor/kafka.h): a small budget gets a small queue and fetch, a large
 * one librdkafka's defaults and no more, and every value stays inside
 * what librdkafka accepts (fetch.max.bytes >= message.max.bytes' default).
 */
#include "reactor/kafka.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define MIB (INT64_C(1) << 20)

#define V202 0x020002ff /* Debian 12's librdkafka */
#define V220 0x020200ff

static void test_sizes_follow_budget(void **state) {
  ks_kafka_prefetch pf;
  ks_kafka_prefetch_sizes(64 * MIB, 1, V202, &pf);
  assert_int_equal(pf.queued_kbytes, 8 * 1024); /* an eighth */
  assert_int_equal(pf.fetch_bytes, 4 * MIB);     /* a sixteenth */
  ks_kafka_prefetch_sizes(64 * MIB, 2, V202, &pf);
  assert_int_equal(pf.queued_kbytes, 8 * 1024); /* per worker queue */
  assert_int_equal(pf.fetch_bytes, 8 * MIB);     /* one fetch for all */
  ks_kafka_prefetch_sizes(256 * MIB, 1, V202, &pf); /* the default budget */
  assert_int_equal(pf.queued_kbytes, 32 * 1024);
  assert_int_equal(pf.fetch_bytes, 16 * MIB);
}

static void test_sizes_clamped(void **state) {
  ks_kafka_prefetch pf;
  ks_kafka_prefetch_sizes(INT64_C(1) << 30, 8, V202, &pf);
  assert_int_equal(pf.queued_kbytes, 64 * 1024); /* librdkafka's default */
  assert_int_equal(pf.fetch_bytes, 50 * MIB);    /* librdkafka's default */
  ks_kafka_prefetch_sizes(1 * MIB, 1, V202, &pf);
  assert_int_equal(pf.queued_kbytes, 4 * 1024);
  assert_true(pf.fetch_bytes >= 1000000);
  ks_kafka_prefetch_sizes(0, 0, V202, &pf); /* no budget: as the default's */
  assert_int_equal(pf.queued_kbytes, 32 * 1024);
  assert_int_equal(pf.fetch_bytes, 16 * MIB);
}

/* fetch.queue.backoff.ms only where librdkafka has it (2.2.0 on), and
 * ksink's own wake of the fetchers exactly where it has not. */
static void test_queue_backoff_by_version(void **state) {
  ks_kafka_prefetch pf;
  ks_kafka_prefetch_sizes(64 * MIB, 1, V202, &pf);
  assert_int_equal(pf.queue_backoff_ms, 0);
  assert_int_equal(pf.wake_ms, 20);
  ks_kafka_prefetch_sizes(64 * MIB, 1, 0x020200fe, &pf); /* 2.2.0 RC */
  assert_int_equal(pf.queue_backoff_ms, 0);
  assert_int_equal(pf.wake_ms, 20);
  ks_kafka_prefetch_sizes(64 * MIB, 1, V220, &pf);
  assert_int_equal(pf.queue_backoff_ms, 20);
  assert_int_equal(pf.wake_ms, 0);
  ks_kafka_prefetch_sizes(64 * MIB, 1, 0x020a00ff, &pf); /* 2.10.0 */
  assert_int_equal(pf.queue_backoff_ms, 20);
  assert_int_equal(pf.wake_ms, 0);
}

/* The fetchers' wake (librdkafka before 2.2.0): every base_ms while the
 * worker takes records; doubling to a second while partitions stay
 * "behind" but nothing is taken (a transaction marker at the end of a log
 * looks like one record still to fetch); back at once on progress. */
static void test_wake_pace(void **state) {
  ks_kafka_wake_pacer w = {0};
  assert_int_equal(ks_kafka_wake_pace(&w, 100, 1, 20), 20);
  assert_int_equal(ks_kafka_wake_pace(&w, 200, 1, 20), 20); /* progress */
  assert_int_equal(ks_kafka_wake_pace(&w, 300, 1, 20), 20);
  /* stuck: 40, 80, ..., capped at a second */
  uint64_t expect[] = {40, 80, 160, 320, 640, 1000, 1000, 1000};
  for (size_t i = 0; i < sizeof expect / sizeof *expect; i++)
    assert_int_equal(ks_kafka_wake_pace(&w, 300, 1, 20), expect[i]);
  for (int i = 0; i < 100; i++) /* no overflow of the shift */
    assert_int_equal(ks_kafka_wake_pace(&w, 300, 1, 20), 1000);
  assert_int_equal(ks_kafka_wake_pace(&w, 301, 1, 20), 20); /* a record */
  /* caught up (nothing behind, nothing asked): the pace stays as it was */
  assert_int_equal(ks_kafka_wake_pace(&w, 301, 0, 20), 20);
  assert_int_equal(ks_kafka_wake_pace(&w, 301, 0, 20), 20);
  assert_int_equal(ks_kafka_wake_pace(&w, 301, 1, 20), 40);
  assert_int_equal(ks_kafka_wake_pace(&w, 301, 0, 20), 40);
  /* a new assignment moves the sum: back to the base */
  assert_int_equal(ks_kafka_wake_pace(&w, 7, 1, 20), 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes_follow_budget),
      cmocka_unit_test(test_queue_backoff_by_version),
      cmocka_unit_test(test_sizes_clamped),
      cmocka_unit_test(test_wake_pace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
