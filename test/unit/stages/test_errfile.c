/*
 * Error files (stages/errfile.h) on the fs backend: the lines say what
 * the record and the error were (UTF-8 text as is, other bytes base64),
 * objects are named after their first offset, and a batch waits for its
 * objects. Replays: a batch whose object a previous run wrote finds it
 * (put-if-absent), reads it and writes only what it does not hold, under
 * the next name; a previous object covering more than the batch makes the
 * batch write nothing and the next batch skip what that object holds. A
 * storage fault is retried, never skipped.
 */
#include "stages/errfile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

#include "../../support/storage_env.h"

static ks_reject reject(void) {
  ks_reject r;
  memset(&r, 0, sizeof r);
  r.code = KS_EINVALID;
  r.reason = KS_REASON_SCHEMA;
  r.keyword = KS_KEYWORD_TYPE;
  snprintf(r.path, sizeof r.path, "/user_id");
  snprintf(r.message, sizeof r.message,
           "/user_id: expected integer, got "
           "string");
  return r;
}

/* Adds offsets to ef's open batch of t[p] with a text value "v<offset>". */
static void add(ks_errfiles *ef, int32_t part, const int64_t *offs, size_t n) {
  ks_reject rej = reject();
  for (size_t i = 0; i < n; i++) {
    char v[32], k[32];
    snprintf(v, sizeof v, "v%lld", (long long)offs[i]);
    snprintf(k, sizeof k, "k%lld", (long long)offs[i]);
    ks_errfile_rec r = {"t", part, offs[i],   1700000000000 + offs[i],
                        k,   v,    strlen(k), strlen(v),
                        NULL};
    ks_errfiles_add(ef, &r, &rej);
  }
}

typedef struct gate {
  ks_dlq_wait *w;
  int drained;
} gate;

static void on_drained(void *arg) {
  ((gate *)arg)->drained++;
}

/* Flushes the open batch and runs the loop until its objects are stored. */
static void flush_and_wait(ks_storage_env *e, ks_errfiles *ef) {
  gate g = {NULL, 0};
  ks_errfiles_flush(ef, &g.w);
  if (g.w && g.w->pending) {
    g.w->drained = on_drained;
    g.w->arg = &g;
    while (!g.drained)
      uv_run(&e->loop, UV_RUN_ONCE);
  }
  ks_dlq_wait_release(g.w);
}

/* The offsets in an object, or -1 entries past its end; returns count. */
static size_t read_offsets(ks_storage_env *e, const char *name, int64_t *out,
                           size_t cap) {
  char path[256];
  snprintf(path, sizeof path, "%s/err/%s", e->dir, name);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  char line[4096];
  size_t n = 0;
  while (fgets(line, sizeof line, f) && n < cap) {
    yajl_val v = yajl_tree_parse(line, NULL, 0);
    assert_non_null(v);
    static const char *const po[] = {"offset", NULL};
    out[n++] =
        YAJL_GET_INTEGER(yajl_tree_get(v, (const char **)po, yajl_t_number));
    yajl_tree_free(v);
  }
  fclose(f);
  return n;
}

static int exists(ks_storage_env *e, const char *name) {
  char path[256];
  struct stat st;
  snprintf(path, sizeof path, "%s/err/%s", e->dir, name);
  return stat(path, &st) == 0;
}

static void close_ef(ks_storage_env *e, ks_errfiles *ef) {
  ks_errfiles_close(ef);
  uv_run(&e->loop, UV_RUN_NOWAIT);
}

static void test_lines(void **state) {
  ks_storage_env e;
  ks_storage_env_open(&e, "errfile", NULL);
  atomic_uint_fast64_t records = 0, failures[KS_DLF_COUNT] = {0};
  ks_errfiles *ef = ks_errfiles_new(&e.loop, e.st, "err", &records, failures);
  ks_reject rej = reject();
  rd_kafka_headers_t *h = rd_kafka_headers_new(2);
  rd_kafka_header_add(h, "trace", -1, "abc", 3);
  rd_kafka_header_add(h, "bin", -1, "\xff\x00", 2);
  static const char bad[] = "{\"a\":\"\xc3\x28\"}"; /* invalid UTF-8 */
  ks_errfile_rec r = {"t", 3, 42, -1, NULL, bad, 0, sizeof bad - 1, h};
  ks_errfiles_add(ef, &r, &rej);
  ks_errfile_rec r2 = {"t", 3, 43, 5, "k", "{\"x\":\"\\n\"}", 1, 10, NULL};
  ks_errfiles_add(ef, &r2, &rej);
  /* held lines count in the memory budget until storage has them */
  assert_true(ks_errfiles_bytes(ef) > 200);
  flush_and_wait(&e, ef);
  assert_int_equal(atomic_load(&records), 2);
  assert_int_equal(ks_errfiles_bytes(ef), 0);
  char path[256], body[8192];
  snprintf(path, sizeof path, "%s/err/t+3+42.jsonl", e.dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(body, 1, sizeof body - 1, f);
  fclose(f);
  body[n] = 0;
  char *nl = strchr(body, '\n');
  assert_non_null(nl);
  *nl = 0;
  assert_string_equal(
      body,
      "{\"topic\":\"t\",\"partition\":3,\"offset\":42,\"timestamp\":null,"
      "\"key\":null,\"key_base64\":false,\"value\":\"eyJhIjoiwygifQ==\","
      "\"value_base64\":true,\"headers\":[{\"key\":\"trace\",\"value\":"
      "\"abc\",\"value_base64\":false},{\"key\":\"bin\",\"value\":\"/wA=\","
      "\"value_base64\":true}],\"error\":{\"stage\":\"VALUE_CONVERTER\","
      "\"class\":\"org.apache.kafka.connect.errors.DataException\","
      "\"reason\":\"schema\",\"keyword\":\"type\",\"pointer\":\"/user_id\","
      "\"message\":\"/user_id: expected integer, got string\"}}");
  assert_string_equal(
      nl + 1,
      "{\"topic\":\"t\",\"partition\":3,\"offset\":43,\"timestamp\":5,"
      "\"key\":\"k\",\"key_base64\":false,\"value\":\"{\\\"x\\\":\\\"\\\\n\\\"}"
      "\","
      "\"value_base64\":false,\"headers\":[],\"error\":{\"stage\":"
      "\"VALUE_CONVERTER\",\"class\":"
      "\"org.apache.kafka.connect.errors.DataException\",\"reason\":"
      "\"schema\",\"keyword\":\"type\",\"pointer\":\"/user_id\",\"message\":"
      "\"/user_id: expected integer, got string\"}}\n");
  rd_kafka_headers_destroy(h);
  close_ef(&e, ef);
  ks_storage_env_close(&e);
}

static void test_replay(void **state) {
  ks_storage_env e;
  ks_storage_env_open(&e, "errfile", NULL);
  atomic_uint_fast64_t records = 0, failures[KS_DLF_COUNT] = {0};
  int64_t got[16];

  /* The lost run: two batches of partition 0, one of partition 1. */
  ks_errfiles *ef = ks_errfiles_new(&e.loop, e.st, "err", &records, failures);
  add(ef, 0, (int64_t[]){5, 7, 9}, 3);
  add(ef, 1, (int64_t[]){2}, 1);
  flush_and_wait(&e, ef);
  add(ef, 0, (int64_t[]){12, 14}, 2);
  flush_and_wait(&e, ef);
  close_ef(&e, ef);
  assert_int_equal(atomic_load(&records), 6);
  assert_true(exists(&e, "t+0+5.jsonl") && exists(&e, "t+0+12.jsonl") &&
              exists(&e, "t+1+2.jsonl"));

  /* The replay batches differently: 5..11 first -- t+0+5 holds 5, 7, 9, so
   * only 11 is new, and it goes to t+0+11. */
  atomic_store(&records, 0);
  ef = ks_errfiles_new(&e.loop, e.st, "err", &records, failures);
  add(ef, 0, (int64_t[]){5, 7, 9, 11}, 4);
  flush_and_wait(&e, ef);
  assert_int_equal(atomic_load(&records), 1);
  assert_int_equal(read_offsets(&e, "t+0+11.jsonl", got, 16), 1);
  assert_int_equal(got[0], 11);
  assert_int_equal(read_offsets(&e, "t+0+5.jsonl", got, 16), 3);
  /* Then 12 alone: t+0+12 holds 12 and 14, nothing is written... */
  add(ef, 0, (int64_t[]){12}, 1);
  flush_and_wait(&e, ef);
  assert_int_equal(atomic_load(&records), 1);
  /* ...and the next batch skips 14 (stored) and writes 16 as t+0+16. */
  add(ef, 0, (int64_t[]){14, 16}, 2);
  add(ef, 1, (int64_t[]){2, 3}, 2);
  flush_and_wait(&e, ef);
  assert_int_equal(atomic_load(&records), 3);
  assert_false(exists(&e, "t+0+14.jsonl"));
  assert_int_equal(read_offsets(&e, "t+0+16.jsonl", got, 16), 1);
  assert_int_equal(got[0], 16);
  assert_int_equal(read_offsets(&e, "t+1+3.jsonl", got, 16), 1);
  assert_int_equal(read_offsets(&e, "t+1+2.jsonl", got, 16), 1);
  /* Every offset of partition 0 is stored exactly once over the files. */
  static const char *const names[] = {"t+0+5.jsonl", "t+0+11.jsonl",
                                      "t+0+12.jsonl", "t+0+16.jsonl"};
  int seen[20] = {0};
  for (size_t i = 0; i < 4; i++) {
    size_t n = read_offsets(&e, names[i], got, 16);
    for (size_t j = 0; j < n; j++)
      seen[got[j]]++;
  }
  for (int o = 0; o < 20; o++)
    assert_int_equal(seen[o], o == 5 || o == 7 || o == 9 || o == 11 ||
                                  o == 12 || o == 14 || o == 16);
  close_ef(&e, ef);
  ks_storage_env_close(&e);
}

/* Storage that cannot take the object (a file where the directory should
 * be): the batch keeps waiting, retried, until storage is fixed. */
static void test_fault_is_retried(void **state) {
  ks_storage_env e;
  ks_storage_env_open(&e, "errfile", NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/err", e.dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  atomic_uint_fast64_t records = 0, failures[KS_DLF_COUNT] = {0};
  ks_errfiles *ef = ks_errfiles_new(&e.loop, e.st, "err", &records, failures);
  add(ef, 0, (int64_t[]){1}, 1);
  gate g = {NULL, 0};
  ks_errfiles_flush(ef, &g.w);
  assert_non_null(g.w);
  g.w->drained = on_drained;
  g.w->arg = &g;
  uint64_t until = ks_mono_ms() + 700;
  while (ks_mono_ms() < until)
    uv_run(&e.loop, UV_RUN_ONCE);
  assert_int_equal(g.drained, 0);
  assert_int_equal(g.w->pending, 1);
  /* every failed attempt is counted as a write failure */
  assert_true(atomic_load(&failures[KS_DLF_FILE_WRITE]) >= 1);
  assert_int_equal(atomic_load(&failures[KS_DLF_FILE_FOREIGN]), 0);
  assert_int_equal(remove(path), 0); /* fixed: the next retry succeeds */
  while (!g.drained)
    uv_run(&e.loop, UV_RUN_ONCE);
  assert_int_equal(atomic_load(&records), 1);
  ks_dlq_wait_release(g.w);
  close_ef(&e, ef);
  ks_storage_env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lines),
      cmocka_unit_test(test_replay),
      cmocka_unit_test(test_fault_is_retried),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
