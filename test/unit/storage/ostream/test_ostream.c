/*
 * The output stream against the fs backend through a fault-injecting
 * storage double: small files go as one put, large ones as multipart with
 * parts in flight; every failed storage call is retried and the stored
 * bytes are exactly the bytes written; abort leaves nothing behind. With
 * if_absent an existing key completes as KS_EEXIST and is never replaced;
 * with hold nothing appears under the key until the owner releases it.
 */
#include "storage/fs/fs.h"
#include "storage/ostream.h"
#include "../../../support/faulty_storage.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../../../support/storage_env.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fs backend behind the fault-injecting double. */
typedef struct env {
  ks_storage_env base;
  ks_storage *st;
  ks_faulty_storage *f;
  char *dir;
} env;

static void env_open(env *e) {
  ks_storage_env_open(&e->base, "ostream", NULL);
  e->st = e->base.st = ks_faulty_storage_new(e->base.st);
  e->f = (ks_faulty_storage *)e->st;
  e->dir = e->base.dir;
}

static void env_close(env *e) { ks_storage_env_close(&e->base); }

typedef struct done {
  int called, status;
  uint64_t size;
  char key[128];
} done;

static void on_done(void *arg, int status, const ks_storage_obj *obj) {
  done *d = arg;
  d->called++;
  d->status = status;
  if (obj) {
    d->size = obj->size;
    snprintf(d->key, sizeof d->key, "%s", obj->key);
  }
}

static uint8_t *pattern(size_t n) {
  uint8_t *p = malloc(n);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 31 + i / 251);
  return p;
}

static void assert_file(env *e, const char *key, const uint8_t *want,
                        size_t n) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", e->dir, key);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  uint8_t *got = malloc(n + 1);
  size_t r = fread(got, 1, n + 1, fp);
  fclose(fp);
  assert_int_equal(r, n);
  assert_memory_equal(got, want, n);
  free(got);
}

static size_t count_entries(const char *dir) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "find %s -type f | wc -l", dir);
  FILE *p = popen(cmd, "r");
  unsigned long n = 0;
  assert_int_equal(fscanf(p, "%lu", &n), 1);
  pclose(p);
  return n;
}

static const ks_ostream_options fast = {.part_size = 64 * 1024,
                                        .max_in_flight = 2,
                                        .backoff_base_ms = 1,
                                        .backoff_cap_ms = 4};

static void test_small_file_single_put_retried(void **state) {
  env e;
  env_open(&e);
  e.f->fail_next[KS_OP_PUT] = 2;
  e.f->lose_reply[KS_OP_PUT] = 1;
  ks_ostream *os = ks_ostream_new(e.st, "t/small.bin", &fast);
  uint8_t *data = pattern(1000);
  assert_int_equal(ks_ostream_write(os, data, 600), 0);
  assert_int_equal(ks_ostream_write(os, data + 600, 400), 0);
  done d = {0};
  ks_ostream_close(os, on_done, &d);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d.called, 1);
  assert_int_equal(d.status, 0);
  assert_int_equal(d.size, 1000);
  assert_string_equal(d.key, "t/small.bin");
  assert_int_equal(e.f->failed[KS_OP_PUT], 3);
  assert_int_equal(e.f->calls[KS_OP_PUT], 4);
  assert_int_equal(e.f->calls[KS_OP_CREATE], 0); /* no multipart */
  assert_file(&e, "t/small.bin", data, 1000);
  assert_int_equal(e.st->held, 0);
  free(data);
  env_close(&e);
}

/* Writes n bytes of data to key with if_absent; returns the status. */
static int put_once(env *e, const char *key, const uint8_t *data, size_t n) {
  ks_ostream_options o = fast;
  o.if_absent = 1;
  ks_ostream *os = ks_ostream_new(e->st, key, &o);
  assert_int_equal(ks_ostream_write(os, data, n), 0);
  done d = {0};
  ks_ostream_close(os, on_done, &d);
  uv_run(&e->base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d.called, 1);
  assert_int_equal(d.size, n);
  assert_int_equal(e->st->held, 0);
  return d.status;
}

static void test_if_absent_never_replaces(void **state) {
  (void)state;
  env e;
  env_open(&e);
  uint8_t *data = pattern(3000);
  assert_int_equal(put_once(&e, "t/k+0+0000000000.jsonl", data, 2000), 0);
  assert_int_equal(e.f->calls[KS_OP_PUT_IF_ABSENT], 1);
  /* the same bytes again: the key is taken, nothing rewritten */
  assert_int_equal(put_once(&e, "t/k+0+0000000000.jsonl", data, 2000),
                   KS_EEXIST);
  /* other bytes: still never replaced (the writer's recorded cut says
   * whose file it is) */
  assert_int_equal(put_once(&e, "t/k+0+0000000000.jsonl", data, 3000),
                   KS_EEXIST);
  assert_int_equal(e.f->calls[KS_OP_PUT], 0);
  assert_int_equal(e.f->calls[KS_OP_GET], 0);
  assert_file(&e, "t/k+0+0000000000.jsonl", data, 2000);
  /* a multipart file over the taken key: the look-up before its
   * complete finds the key, its parts are let go, the key keeps its
   * bytes */
  uint8_t *big = pattern(200000);
  assert_int_equal(put_once(&e, "t/k+0+0000000000.jsonl", big, 200000),
                   KS_EEXIST);
  assert_int_equal(e.f->calls[KS_OP_COMPLETE], 0);
  assert_int_equal(e.f->calls[KS_OP_ABORT], 1);
  assert_file(&e, "t/k+0+0000000000.jsonl", data, 2000);
  assert_int_equal(count_entries(e.dir), 1); /* no upload left behind */
  /* on a free key it lands; a failed complete is retried on the same
   * upload */
  e.f->fail_next[KS_OP_COMPLETE] = 1;
  assert_int_equal(put_once(&e, "t/k+0+0000000300.jsonl", big, 200000), 0);
  assert_int_equal(e.f->calls[KS_OP_COMPLETE], 2);
  assert_file(&e, "t/k+0+0000000300.jsonl", big, 200000);
  free(big);
  free(data);
  env_close(&e);
}

/* hold: nothing is stored until the owner releases the stream; a small
 * file and a multipart one alike, and an abandoned one leaves no object */
static void test_hold_until_released(void **state) {
  (void)state;
  env e;
  env_open(&e);
  uint8_t *data = pattern(200000);
  ks_ostream_options o = fast;
  o.if_absent = o.hold = 1;
  /* small */
  ks_ostream *os = ks_ostream_new(e.st, "t/held-small", &o);
  assert_int_equal(ks_ostream_write(os, data, 100), 0);
  done d = {0};
  ks_ostream_close(os, on_done, &d);
  uv_run(&e.base.loop, UV_RUN_NOWAIT);
  assert_int_equal(d.called, 0);
  assert_int_equal(e.f->calls[KS_OP_PUT_IF_ABSENT], 0);
  ks_ostream_release(os, 1);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d.called, 1);
  assert_int_equal(d.status, 0);
  assert_file(&e, "t/held-small", data, 100);
  /* multipart: parts go out, the complete waits */
  os = ks_ostream_new(e.st, "t/held-big", &o);
  assert_int_equal(ks_ostream_write(os, data, 200000), 0);
  done d2 = {0};
  ks_ostream_close(os, on_done, &d2);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d2.called, 0);
  assert_true(e.f->calls[KS_OP_PART] > 0);
  assert_int_equal(e.f->calls[KS_OP_COMPLETE], 0);
  ks_ostream_release(os, 1);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d2.called, 1);
  assert_int_equal(d2.status, 0);
  assert_file(&e, "t/held-big", data, 200000);
  /* abandoned: the close callback says canceled, no object appears */
  os = ks_ostream_new(e.st, "t/held-gone", &o);
  assert_int_equal(ks_ostream_write(os, data, 200000), 0);
  done d3 = {0};
  ks_ostream_close(os, on_done, &d3);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  ks_ostream_release(os, 0);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d3.called, 1);
  assert_int_equal(d3.status, KS_ECANCELED);
  assert_int_equal(e.st->held, 0);
  free(data);
  env_close(&e);
}

/* NoSuchUpload (the upload aborted under the stream, e.g. by a sweep):
 * retrying cannot help, so the stream ends with KS_ENOENT and no object
 * (its side of the upload freed); a held stream waits for its owner
 * first. */
static void test_upload_lost(void **state) {
  (void)state;
  env e;
  env_open(&e);
  uint8_t *data = pattern(200000);
  ks_ostream_options o = fast;
  /* a part answers NoSuchUpload */
  ks_ostream *os = ks_ostream_new(e.st, "t/lost-part", &o);
  e.f->error = KS_ENOENT;
  e.f->fail_next[KS_OP_PART] = 1;
  assert_int_equal(ks_ostream_write(os, data, 200000), 0);
  done d = {0};
  ks_ostream_close(os, on_done, &d);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d.called, 1);
  assert_int_equal(d.status, KS_ENOENT);
  /* under hold, the lost stream still waits for its owner */
  o.hold = 1;
  os = ks_ostream_new(e.st, "t/lost-held", &o);
  e.f->fail_next[KS_OP_PART] = 1;
  assert_int_equal(ks_ostream_write(os, data, 200000), 0);
  done d2 = {0};
  ks_ostream_close(os, on_done, &d2);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d2.called, 0);
  ks_ostream_release(os, 1);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d2.called, 1);
  assert_int_equal(d2.status, KS_ENOENT);
  assert_int_equal(e.st->held, 0);
  e.f->error = 0;
  free(data);
  env_close(&e);
}

static void test_multipart_every_step_fails_once(void **state) {
  env e;
  env_open(&e);
  e.f->fail_next[KS_OP_CREATE] = 2;
  /* A part failure of the fs backend happens after storage registered the
   * part (the write itself failed); the retry resends the same bytes. */
  e.f->lose_reply[KS_OP_PART] = 3;
  e.f->fail_next[KS_OP_COMPLETE] = 1;
  size_t n = 1000 * 1000 + 17; /* ~15 parts of 64 KiB and a short one */
  uint8_t *data = pattern(n);
  ks_ostream *os = ks_ostream_new(e.st, "t/big.bin", &fast);
  for (size_t off = 0; off < n;) {
    size_t k = n - off < 7777 ? n - off : 7777;
    assert_int_equal(ks_ostream_write(os, data + off, k), 0);
    off += k;
    /* let uploads run while the writer produces, as on a real loop */
    uv_run(&e.base.loop, UV_RUN_NOWAIT);
  }
  assert_int_equal(ks_ostream_bytes(os), n);
  done d = {0};
  ks_ostream_close(os, on_done, &d);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d.called, 1);
  assert_int_equal(d.status, 0);
  assert_int_equal(d.size, n);
  assert_int_equal(e.f->failed[KS_OP_CREATE], 2);
  assert_int_equal(e.f->failed[KS_OP_PART], 3);
  assert_int_equal(e.f->failed[KS_OP_COMPLETE], 1);
  /* A part is cut at the first write that reaches part_size. */
  int parts = 0;
  size_t cur = 0;
  for (size_t off = 0; off < n; off += 7777) {
    cur += n - off < 7777 ? n - off : 7777;
    if (cur >= fast.part_size) {
      parts++;
      cur = 0;
    }
  }
  parts += cur > 0;
  assert_true(parts >= 15);
  assert_int_equal(e.f->calls[KS_OP_PART], parts + 3);
  assert_int_equal(e.f->calls[KS_OP_PUT], 0);
  assert_file(&e, "t/big.bin", data, n);
  assert_int_equal(count_entries(e.dir), 1); /* no temp file left */
  free(data);
  env_close(&e);
}

static void test_parts_in_flight_are_bounded(void **state) {
  env e;
  env_open(&e);
  size_t n = 10 * 64 * 1024;
  uint8_t *data = pattern(n);
  ks_ostream *os = ks_ostream_new(e.st, "bounded.bin", &fast);
  /* Without running the loop nothing completes: at most max_in_flight
   * parts may have been handed to storage. */
  assert_int_equal(ks_ostream_write(os, data, n), 0);
  uv_run(&e.base.loop, UV_RUN_NOWAIT);
  assert_true(e.f->calls[KS_OP_PART] <= 2);
  assert_true(ks_ostream_buffered(os) >= n - 2 * 64 * 1024);
  /* The storage counts every byte not yet acknowledged (the memory budget
   * reads it), and nothing once the file is stored. */
  assert_int_equal(e.st->held, ks_ostream_buffered(os));
  done d = {0};
  ks_ostream_close(os, on_done, &d);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(d.status, 0);
  assert_int_equal(e.st->held, 0);
  assert_file(&e, "bounded.bin", data, n);
  free(data);
  env_close(&e);
}

static void test_abort_leaves_nothing(void **state) {
  env e;
  env_open(&e);
  e.f->lose_reply[KS_OP_PART] = 1;
  size_t n = 5 * 64 * 1024;
  uint8_t *data = pattern(n);
  ks_ostream *os = ks_ostream_new(e.st, "t/aborted.bin", &fast);
  assert_int_equal(ks_ostream_write(os, data, n), 0);
  uv_run(&e.base.loop, UV_RUN_NOWAIT);
  assert_int_equal(e.st->held, n);
  ks_ostream_abort(os);
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(count_entries(e.dir), 0);
  assert_int_equal(e.st->held, 0);
  free(data);
  env_close(&e);
}

static void test_abort_while_create_fails(void **state) {
  env e;
  env_open(&e);
  e.f->fail_next[KS_OP_CREATE] = 1000; /* storage down */
  size_t n = 2 * 64 * 1024;
  uint8_t *data = pattern(n);
  ks_ostream *os = ks_ostream_new(e.st, "down.bin", &fast);
  assert_int_equal(ks_ostream_write(os, data, n), 0);
  ks_ostream_abort(os); /* create still in flight */
  uv_run(&e.base.loop, UV_RUN_DEFAULT);
  assert_int_equal(e.f->calls[KS_OP_CREATE], 1); /* not retried after abort */
  assert_int_equal(count_entries(e.dir), 0);
  free(data);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_file_single_put_retried),
      cmocka_unit_test(test_if_absent_never_replaces),
      cmocka_unit_test(test_hold_until_released),
      cmocka_unit_test(test_upload_lost),
      cmocka_unit_test(test_multipart_every_step_fails_once),
      cmocka_unit_test(test_parts_in_flight_are_bounded),
      cmocka_unit_test(test_abort_leaves_nothing),
      cmocka_unit_test(test_abort_while_create_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
