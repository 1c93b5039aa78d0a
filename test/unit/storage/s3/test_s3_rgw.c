/*
 * The S3 backend against a real S3 server (Ceph RGW, started by the ctest
 * fixture "rgw"; without KS_S3_ENDPOINT every test skips): every
 * operation, a wrong secret rejected with 403, put-if-absent on an
 * existing key reported as "exists", 50 MiB through the output stream in
 * 8 MiB parts read back byte-identical with no upload left behind, and
 * list pagination past 1,000 keys. Each run works under its own prefix.
 */
#include "storage/ostream.h"
#include "storage/s3/s3.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fx {
  uv_loop_t loop;
  ks_storage *st;
  char url[256];
  /* last answer */
  int called, status;
  ks_storage_obj obj;
  char key[256], etag[128];
  uint8_t *data;
  size_t len;
  ks_storage_obj *objs;
  size_t nobjs;
  size_t count;
  size_t aborted, left;
  ks_upload *up;
} fx;

static const char *endpoint(void) { return getenv("KS_S3_ENDPOINT"); }

static void conf_for(ks_conf_s3 *c, const char *secret) {
  memset(c, 0, sizeof *c);
  ks_conf_s3_defaults(c);
  c->endpoint = (char *)endpoint();
  c->region = "us-east-1";
  c->addressing = "path";
  c->access_key_id = getenv("AWS_ACCESS_KEY_ID");
  c->secret_access_key = secret ? (char *)secret
                                : getenv("AWS_SECRET_ACCESS_KEY");
  c->retry_base_ms = 20;
  c->retry_cap_ms = 500;
}

static int setup(void **state) {
  if (endpoint() == NULL)
    return 0;
  fx *f = calloc(1, sizeof *f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  snprintf(f->url, sizeof f->url, "s3://%s/unit-%d-%lld/",
           getenv("KS_S3_BUCKET") ? getenv("KS_S3_BUCKET") : "ksink-test",
           (int)getpid(), (long long)ks_now_us());
  ks_conf_s3 c;
  conf_for(&c, NULL);
  assert_int_equal(ks_s3_open(&f->loop, f->url, &c, &f->st), 0);
  *state = f;
  return 0;
}

static void free_list(fx *f);

static int teardown(void **state) {
  fx *f = *state;
  if (f == NULL)
    return 0;
  free_list(f);
  ks_storage_close(f->st);
  assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f->data);
  free(f);
  return 0;
}

#define NEED_RGW()                                                           \
  do {                                                                       \
    if (endpoint() == NULL)                                                  \
      skip();                                                                \
  } while (0)

static void reset(fx *f) {
  f->called = 0;
  f->status = 1;
  free(f->data);
  f->data = NULL;
  f->len = 0;
}

static int wait(fx *f) {
  while (!f->called)
    uv_run(&f->loop, UV_RUN_ONCE);
  return f->status;
}

static void on_done(void *arg, int status) {
  fx *f = arg;
  f->called++;
  f->status = status;
}

static void on_get(void *arg, int status, const uint8_t *d, size_t n) {
  fx *f = arg;
  f->called++;
  f->status = status;
  if (status == 0) {
    f->data = malloc(n + 1);
    memcpy(f->data, d, n);
    f->len = n;
  }
}

static void on_head(void *arg, int status, const ks_storage_obj *obj,
                    const char *etag) {
  fx *f = arg;
  f->called++;
  f->status = status;
  if (obj) {
    f->obj = *obj;
    snprintf(f->key, sizeof f->key, "%s", obj->key);
    snprintf(f->etag, sizeof f->etag, "%s", etag);
  }
}

static void on_list(void *arg, int status, const ks_storage_obj *objs,
                    size_t n) {
  fx *f = arg;
  f->called++;
  f->status = status;
  for (size_t i = 0; i < f->nobjs; i++)
    free((char *)f->objs[i].key);
  free(f->objs);
  f->objs = calloc(n + 1, sizeof *f->objs);
  for (size_t i = 0; i < n; i++) {
    f->objs[i] = objs[i];
    f->objs[i].key = strdup(objs[i].key);
  }
  f->nobjs = n;
}

static void free_list(fx *f) {
  for (size_t i = 0; i < f->nobjs; i++)
    free((char *)f->objs[i].key);
  free(f->objs);
  f->objs = NULL;
  f->nobjs = 0;
}

static void on_count(void *arg, int status, size_t n) {
  fx *f = arg;
  f->called++;
  f->status = status;
  f->count = n;
}

static int put(fx *f, const char *k, const char *s) {
  reset(f);
  assert_int_equal(ks_storage_put(f->st, k, s, strlen(s), on_done, f), 0);
  return wait(f);
}
static int put_if_absent(fx *f, const char *k, const char *s) {
  reset(f);
  assert_int_equal(
      ks_storage_put_if_absent(f->st, k, s, strlen(s), on_done, f), 0);
  return wait(f);
}
static int get(fx *f, const char *k) {
  reset(f);
  assert_int_equal(ks_storage_get(f->st, k, on_get, f), 0);
  return wait(f);
}
static int head(fx *f, const char *k) {
  reset(f);
  assert_int_equal(ks_s3_head(f->st, k, on_head, f), 0);
  return wait(f);
}
static int list(fx *f, const char *prefix) {
  reset(f);
  assert_int_equal(ks_storage_list(f->st, prefix, on_list, f), 0);
  return wait(f);
}
static int uploads(fx *f, int abort_them) {
  reset(f);
  assert_int_equal(ks_s3_list_uploads(f->st, "", abort_them, on_count, f), 0);
  return wait(f);
}

static void on_upload(void *arg, int status, ks_upload *up) {
  fx *f = arg;
  f->called++;
  f->status = status;
  f->up = up;
}
static void on_swept(void *arg, int status, size_t aborted, size_t left) {
  fx *f = arg;
  f->called++;
  f->status = status;
  f->aborted = aborted;
  f->left = left;
}
static int upload_create(fx *f, const char *k) {
  reset(f);
  assert_int_equal(f->st->vt->upload_create(f->st, k, on_upload, f), 0);
  return wait(f);
}
static int sweep(fx *f, const char *prefix, int64_t older_than_ms) {
  reset(f);
  assert_int_equal(
      ks_storage_sweep_uploads(f->st, prefix, older_than_ms, on_swept, f), 0);
  return wait(f);
}

static void test_object_ops(void **state) {
  NEED_RGW();
  fx *f = *state;
  assert_int_equal(put(f, "a/one.json", "{\"v\":1}"), 0);
  assert_int_equal(get(f, "a/one.json"), 0);
  assert_int_equal(f->len, 7);
  assert_memory_equal(f->data, "{\"v\":1}", 7);

  /* HEAD: size, and the ETag of a single put is the body's MD5 */
  assert_int_equal(head(f, "a/one.json"), 0);
  assert_int_equal(f->obj.size, 7);
  assert_string_equal(f->key, "a/one.json");
  assert_int_equal(strlen(f->etag), 32);
  assert_null(strchr(f->etag, '-'));
  assert_true(f->obj.mtime_ms > 0);
  assert_int_equal(head(f, "a/missing.json"), KS_ENOENT);

  /* Range */
  reset(f);
  assert_int_equal(ks_s3_get_range(f->st, "a/one.json", 1, 3, on_get, f), 0);
  assert_int_equal(wait(f), 0);
  assert_int_equal(f->len, 3);
  assert_memory_equal(f->data, "\"v\"", 3);

  /* put_if_absent: new key lands, an existing key is "exists" and keeps
   * its bytes */
  assert_int_equal(put_if_absent(f, "log/00.json", "first"), 0);
  assert_int_equal(put_if_absent(f, "log/00.json", "second"), KS_EEXIST);
  assert_int_equal(get(f, "log/00.json"), 0);
  assert_int_equal(f->len, 5);
  assert_memory_equal(f->data, "first", 5);

  /* keys that need escaping travel intact */
  assert_int_equal(put(f, "odd/a b+c&d=ü.txt", "x"), 0);
  assert_int_equal(list(f, "odd/"), 0);
  assert_int_equal(f->nobjs, 1);
  assert_string_equal(f->objs[0].key, "odd/a b+c&d=ü.txt");
  assert_int_equal(f->objs[0].size, 1);
  assert_true(f->objs[0].mtime_ms > 0);

  /* delete, delete of a missing key, DeleteObjects */
  reset(f);
  assert_int_equal(ks_storage_del(f->st, "a/one.json", on_done, f), 0);
  assert_int_equal(wait(f), 0);
  assert_int_equal(get(f, "a/one.json"), KS_ENOENT);
  reset(f);
  assert_int_equal(ks_storage_del(f->st, "a/one.json", on_done, f), 0);
  assert_int_equal(wait(f), 0);
  const char *keys[] = {"log/00.json", "odd/a b+c&d=ü.txt"};
  reset(f);
  assert_int_equal(ks_s3_delete_many(f->st, keys, 2, on_done, f), 0);
  assert_int_equal(wait(f), 0);
  assert_int_equal(list(f, ""), 0);
  assert_int_equal(f->nobjs, 0);
  free_list(f);

  /* invalid keys are refused before any request */
  assert_int_equal(ks_storage_put(f->st, "/abs", "x", 1, on_done, f),
                   KS_EINVAL);
  assert_int_equal(ks_storage_get(f->st, "", on_get, f), KS_EINVAL);
}

static void test_wrong_secret(void **state) {
  NEED_RGW();
  fx *f = *state;
  ks_conf_s3 c;
  conf_for(&c, "not-the-secret-0000000000000000000000000");
  ks_storage *bad;
  assert_int_equal(ks_s3_open(&f->loop, f->url, &c, &bad), 0);
  reset(f);
  assert_int_equal(ks_storage_put(bad, "denied.txt", "x", 1, on_done, f), 0);
  assert_int_equal(wait(f), KS_EACCES);
  reset(f);
  assert_int_equal(ks_storage_list(bad, "", on_list, f), 0);
  assert_int_equal(wait(f), KS_EACCES);
  ks_storage_close(bad);
  /* nothing was written, and a 403 is not retried: one request each */
  assert_int_equal(get(f, "denied.txt"), KS_ENOENT);
}

typedef struct os_done {
  int called, status;
  uint64_t size;
} os_done;

static void on_os(void *arg, int status, const ks_storage_obj *obj) {
  os_done *d = arg;
  d->called++;
  d->status = status;
  d->size = obj ? obj->size : 0;
}

static void test_ostream_50mib(void **state) {
  NEED_RGW();
  fx *f = *state;
  size_t n = (size_t)50 << 20;
  uint8_t *src = malloc(n);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(src + i, &x, 8);
  }
  ks_ostream_options o = {.part_size = 8u << 20, .max_in_flight = 4};
  ks_ostream *os = ks_ostream_new(f->st, "big/50mib.bin", &o);
  /* written in odd-sized pieces, like an encoder would */
  for (size_t off = 0; off < n;) {
    size_t k = n - off < 777777 ? n - off : 777777;
    assert_int_equal(ks_ostream_write(os, src + off, k), 0);
    off += k;
    uv_run(&f->loop, UV_RUN_NOWAIT); /* parts go out while we write */
  }
  os_done d = {0, 1, 0};
  ks_ostream_close(os, on_os, &d);
  while (!d.called)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(d.status, 0);
  assert_int_equal(d.size, n);

  assert_int_equal(head(f, "big/50mib.bin"), 0);
  assert_int_equal(f->obj.size, n);
  assert_non_null(strstr(f->etag, "-7")); /* 6 full parts + the rest */
  assert_int_equal(get(f, "big/50mib.bin"), 0);
  assert_int_equal(f->len, n);
  assert_true(memcmp(f->data, src, n) == 0);
  assert_int_equal(uploads(f, 0), 0);
  assert_int_equal(f->count, 0);
  free(src);

  /* an aborted upload leaves nothing behind either */
  ks_ostream *ab = ks_ostream_new(f->st, "big/aborted.bin", &o);
  uint8_t *chunk = calloc(1, (size_t)9 << 20);
  assert_int_equal(ks_ostream_write(ab, chunk, (size_t)9 << 20), 0);
  for (int i = 0; i < 1000; i++) {
    if (uploads(f, 0) == 0 && f->count > 0)
      break;
    usleep(10000);
  }
  assert_int_equal(f->count, 1); /* the part is on its way */
  ks_ostream_abort(ab);
  for (int i = 0; i < 500; i++) {
    assert_int_equal(uploads(f, 0), 0);
    if (f->count == 0)
      break;
    usleep(10000);
  }
  assert_int_equal(f->count, 0);
  assert_int_equal(head(f, "big/aborted.bin"), KS_ENOENT);
  free(chunk);

  /* a small file is one PutObject */
  ks_ostream *small = ks_ostream_new(f->st, "big/small.bin", &o);
  assert_int_equal(ks_ostream_write(small, "tiny", 4), 0);
  d.called = 0;
  ks_ostream_close(small, on_os, &d);
  while (!d.called)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(d.status, 0);
  assert_int_equal(head(f, "big/small.bin"), 0);
  assert_null(strchr(f->etag, '-'));

  /* if_absent: a multipart file over a taken key is refused (the look-up
   * before its complete finds the key; RGW does not honour If-None-Match
   * on a complete itself), never replacing the object; its upload is
   * aborted */
  o.part_size = 5u << 20;
  o.if_absent = 1;
  ks_ostream *taken = ks_ostream_new(f->st, "big/small.bin", &o);
  uint8_t *eleven = calloc(1, (size_t)11 << 20);
  assert_int_equal(ks_ostream_write(taken, eleven, (size_t)11 << 20), 0);
  d.called = 0;
  ks_ostream_close(taken, on_os, &d);
  while (!d.called)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(d.status, KS_EEXIST);
  assert_int_equal(get(f, "big/small.bin"), 0);
  assert_int_equal(f->len, 4);
  assert_int_equal(uploads(f, 0), 0);
  assert_int_equal(f->count, 0);
  free(eleven);
}

typedef struct many {
  fx *f;
  int next, done, failed, total;
  char keys[1100][32];
} many;

static void put_next(many *m);

static void on_many(void *arg, int status) {
  many *m = arg;
  m->done++;
  if (status)
    m->failed++;
  put_next(m);
}

static void put_next(many *m) {
  if (m->next >= m->total)
    return;
  int i = m->next++;
  assert_int_equal(ks_storage_put(m->f->st, m->keys[i], m->keys[i],
                                  strlen(m->keys[i]), on_many, m),
                   0);
}

static void test_list_pagination(void **state) {
  NEED_RGW();
  fx *f = *state;
  many *m = calloc(1, sizeof *m);
  m->f = f;
  m->total = 1100;
  for (int i = 0; i < m->total; i++)
    snprintf(m->keys[i], sizeof m->keys[i], "p/%05d.json", i);
  for (int i = 0; i < 32; i++) /* 32 puts in flight on one multi */
    put_next(m);
  while (m->done < m->total)
    uv_run(&f->loop, UV_RUN_ONCE);
  assert_int_equal(m->failed, 0);
  assert_int_equal(list(f, "p/"), 0);
  assert_int_equal(f->nobjs, 1100);
  for (int i = 0; i < 1100; i++)
    assert_string_equal(f->objs[i].key, m->keys[i]);
  assert_int_equal(f->objs[1099].size, strlen(m->keys[1099]));
  free_list(f);
  const char *keys[1100];
  for (int i = 0; i < 1100; i++)
    keys[i] = m->keys[i];
  reset(f);
  assert_int_equal(ks_s3_delete_many(f->st, keys, 1100, on_done, f), 0);
  assert_int_equal(wait(f), 0);
  assert_int_equal(list(f, "p/"), 0);
  assert_int_equal(f->nobjs, 0);
  free_list(f);
  free(m);
}

/* Uploads a killed writer left behind are aborted once older than the
 * threshold; younger ones (a live writer's) and other prefixes are kept. */
static void test_sweep_stale_uploads(void **state) {
  NEED_RGW();
  fx *f = *state;
  ks_upload *ups[4];
  assert_int_equal(upload_create(f, "t/part-old-1.parquet"), 0);
  ups[0] = f->up;
  assert_int_equal(upload_create(f, "t/sub/part-old-2.parquet"), 0);
  ups[1] = f->up;
  assert_int_equal(upload_create(f, "other/part-old.parquet"), 0);
  ups[2] = f->up;
  /* ages are taken against the store's Date header, which has whole
   * seconds: up to a second younger than by the millisecond */
  usleep(3600 * 1000);
  assert_int_equal(upload_create(f, "t/part-young.parquet"), 0);
  ups[3] = f->up;
  assert_int_equal(sweep(f, "t/", 2000), 0);
  assert_int_equal(f->aborted, 2);
  assert_int_equal(f->left, 0);
  assert_int_equal(uploads(f, 0), 0);
  assert_int_equal(f->count, 2); /* the young one and the other prefix */
  /* Nothing stale is left: a second sweep aborts nothing. */
  assert_int_equal(sweep(f, "t/", 2000), 0);
  assert_int_equal(f->aborted, 0);
  /* The young upload still takes parts. */
  reset(f);
  assert_int_equal(f->st->vt->upload_part(f->st, ups[3], 1, "x", 1, on_done,
                                          f), 0);
  assert_int_equal(wait(f), 0);
  /* Release the handles: aborting an upload the sweep already aborted is
   * not an error. */
  for (int i = 0; i < 4; i++) {
    reset(f);
    assert_int_equal(f->st->vt->upload_abort(f->st, ups[i], on_done, f), 0);
    assert_int_equal(wait(f), 0);
  }
  assert_int_equal(uploads(f, 0), 0);
  assert_int_equal(f->count, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_object_ops, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_secret, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ostream_50mib, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_pagination, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_stale_uploads, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
