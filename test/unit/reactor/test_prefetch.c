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
  assert_int_equal(pf.queued_kbytes, 16 * 1024); /* a quarter */
  assert_int_equal(pf.fetch_bytes, 4 * MIB);     /* a sixteenth */
  ks_kafka_prefetch_sizes(64 * MIB, 2, V202, &pf);
  assert_int_equal(pf.queued_kbytes, 16 * 1024); /* per worker queue */
  assert_int_equal(pf.fetch_bytes, 8 * MIB);     /* one fetch for all */
  ks_kafka_prefetch_sizes(256 * MIB, 1, V202, &pf); /* the default budget */
  assert_int_equal(pf.queued_kbytes, 64 * 1024);
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
  assert_int_equal(pf.queued_kbytes, 64 * 1024);
  assert_int_equal(pf.fetch_bytes, 16 * MIB);
}

/* fetch.queue.backoff.ms only where librdkafka has it (2.2.0 on). */
static void test_queue_backoff_by_version(void **state) {
  ks_kafka_prefetch pf;
  ks_kafka_prefetch_sizes(64 * MIB, 1, V202, &pf);
  assert_int_equal(pf.queue_backoff_ms, 0);
  ks_kafka_prefetch_sizes(64 * MIB, 1, 0x020200fe, &pf); /* 2.2.0 RC */
  assert_int_equal(pf.queue_backoff_ms, 0);
  ks_kafka_prefetch_sizes(64 * MIB, 1, V220, &pf);
  assert_int_equal(pf.queue_backoff_ms, 20);
  ks_kafka_prefetch_sizes(64 * MIB, 1, 0x020a00ff, &pf); /* 2.10.0 */
  assert_int_equal(pf.queue_backoff_ms, 20);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes_follow_budget),
      cmocka_unit_test(test_queue_backoff_by_version),
      cmocka_unit_test(test_sizes_clamped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
