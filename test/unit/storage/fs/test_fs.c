/* The fs storage backend on a real loop and a real temp directory. */
#include "base/ks.h"
#include "storage/fs/fs.h"
#include "storage/storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../support/storage_env.h"

typedef struct fx {
  ks_storage_env env;
  /* last results */
  int calls;
  int status;
  int nok, nexist; /* outcomes of on_done */
  char data[4096];
  size_t len;
  char keys[32][128];
  uint64_t sizes[32];
  size_t nkeys;
  ks_upload *up;
  ks_storage_obj obj;
  char objkey[128];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  ks_storage_env_open(&f->env, "fs", "root");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ks_storage_env_close(&f->env);
  free(f);
  return 0;
}

static void on_done(void *arg, int status) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  f->nok += status == 0;
  f->nexist += status == KS_EEXIST;
}

static void on_get(void *arg, int status, const uint8_t *data, size_t len) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  f->len = 0;
  if (status == 0) {
    assert_true(len < sizeof f->data);
    memcpy(f->data, data, len);
    f->len = len;
  }
}

static void on_list(void *arg, int status, const ks_storage_obj *objs,
                    size_t n) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  assert_true(n <= 32);
  f->nkeys = n;
  for (size_t i = 0; i < n; i++) {
    snprintf(f->keys[i], sizeof f->keys[i], "%s", objs[i].key);
    f->sizes[i] = objs[i].size;
  }
}

/* Runs the loop until the operation's callback has run exactly once. */
static int run1(fx *f) {
  f->calls = 0;
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  return f->status;
}

static int put(fx *f, const char *key, const char *s) {
  assert_int_equal(ks_storage_put(f->env.st, key, s, strlen(s), on_done, f), 0);
  return run1(f);
}

static int put_if_absent(fx *f, const char *key, const char *s) {
  assert_int_equal(
      ks_storage_put_if_absent(f->env.st, key, s, strlen(s), on_done, f), 0);
  return run1(f);
}

static int get(fx *f, const char *key) {
  assert_int_equal(ks_storage_get(f->env.st, key, on_get, f), 0);
  return run1(f);
}

static int list(fx *f, const char *prefix) {
  assert_int_equal(ks_storage_list(f->env.st, prefix, on_list, f), 0);
  return run1(f);
}

/* Files in a directory, temp files included. */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  return n;
}

static void test_put_get_list_del(void **state) {
  fx *f = *state;
  assert_int_equal(put(f, "t/b/2.txt", "two"), 0);
  assert_int_equal(put(f, "t/a.txt", "a"), 0);
  assert_int_equal(put(f, "t/b/10.txt", "ten!"), 0);
  assert_int_equal(put(f, "t/b1.txt", "b1"), 0);
  assert_int_equal(put(f, "u/x", "x"), 0);
  /* put replaces */
  assert_int_equal(put(f, "t/a.txt", "AAA"), 0);

  assert_int_equal(get(f, "t/a.txt"), 0);
  assert_int_equal(f->len, 3);
  assert_memory_equal(f->data, "AAA", 3);
  assert_int_equal(get(f, "t/missing"), KS_ENOENT);

  /* directory prefix: recursive and sorted by key */
  assert_int_equal(list(f, "t/"), 0);
  assert_int_equal(f->nkeys, 4);
  assert_string_equal(f->keys[0], "t/a.txt");
  assert_string_equal(f->keys[1], "t/b/10.txt");
  assert_string_equal(f->keys[2], "t/b/2.txt");
  assert_string_equal(f->keys[3], "t/b1.txt");
  assert_int_equal(f->sizes[1], 4);

  /* partial-name prefix matches files and directories alike */
  assert_int_equal(list(f, "t/b"), 0);
  assert_int_equal(f->nkeys, 3);
  assert_string_equal(f->keys[0], "t/b/10.txt");
  assert_string_equal(f->keys[2], "t/b1.txt");
  assert_int_equal(list(f, ""), 0);
  assert_int_equal(f->nkeys, 5);
  assert_string_equal(f->keys[4], "u/x");

  /* missing directory: empty, not an error */
  assert_int_equal(list(f, "nope/"), 0);
  assert_int_equal(f->nkeys, 0);

  assert_int_equal(ks_storage_del(f->env.st, "t/b/2.txt", on_done, f), 0);
  assert_int_equal(run1(f), 0);
  assert_int_equal(ks_storage_del(f->env.st, "t/b/2.txt", on_done, f), 0);
  assert_int_equal(run1(f), 0); /* missing is fine */
  assert_int_equal(get(f, "t/b/2.txt"), KS_ENOENT);
  assert_int_equal(list(f, "t/b/"), 0);
  assert_int_equal(f->nkeys, 1);

  /* no temp files left behind by put */
  char d[128];
  snprintf(d, sizeof d, "%s/root/t", f->env.dir);
  assert_int_equal(count_entries(d), 3); /* a.txt b b1.txt */
}

static void test_bad_keys(void **state) {
  fx *f = *state;
  assert_int_equal(ks_storage_put(f->env.st, "../x", "x", 1, on_done, f),
                   KS_EINVAL);
  assert_int_equal(ks_storage_put(f->env.st, "/abs", "x", 1, on_done, f),
                   KS_EINVAL);
  assert_int_equal(ks_storage_get(f->env.st, "a//b", on_get, f), KS_EINVAL);
  assert_int_equal(ks_storage_list(f->env.st, "a/../", on_list, f), KS_EINVAL);
}

static void test_put_if_absent(void **state) {
  fx *f = *state;
  assert_int_equal(put_if_absent(f, "log/00.json", "first"), 0);
  assert_int_equal(put_if_absent(f, "log/00.json", "second"), KS_EEXIST);
  assert_int_equal(get(f, "log/00.json"), 0);
  assert_int_equal(f->len, 5);
  assert_memory_equal(f->data, "first", 5);
  char d[128];
  snprintf(d, sizeof d, "%s/root/log", f->env.dir);
  assert_int_equal(count_entries(d), 1); /* the losing temp file is gone */

  /* two racing creates of one key: exactly one wins */
  f->calls = f->nok = f->nexist = 0;
  assert_int_equal(ks_storage_put_if_absent(f->env.st, "log/01.json", "AA", 2,
                                            on_done, f), 0);
  assert_int_equal(ks_storage_put_if_absent(f->env.st, "log/01.json", "BB", 2,
                                            on_done, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 2);
  assert_int_equal(f->nok, 1);
  assert_int_equal(f->nexist, 1);
  assert_int_equal(get(f, "log/01.json"), 0);
  assert_true(memcmp(f->data, "AA", 2) == 0 || memcmp(f->data, "BB", 2) == 0);
  assert_int_equal(count_entries(d), 2);
}

/* multipart */

typedef struct part_ctx {
  fx *f;
  int part;
  int status;
  int done;
} part_ctx;

static void on_part(void *arg, int status) {
  part_ctx *p = arg;
  p->status = status;
  p->done++;
}

static void on_create(void *arg, int status, ks_upload *up) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  f->up = up;
}

static void on_complete(void *arg, int status, const ks_storage_obj *obj) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  if (obj) {
    f->obj = *obj;
    snprintf(f->objkey, sizeof f->objkey, "%s", obj->key);
  }
}

static void fill(char *buf, size_t n, char seed) {
  for (size_t i = 0; i < n; i++)
    buf[i] = (char)(seed + (char)(i % 23));
}

static void test_multipart(void **state) {
  fx *f = *state;
  const ks_storage_vtable *vt = f->env.st->vt;
  assert_int_equal(vt->upload_create(f->env.st, "data/p=1/file.parquet",
                                     on_create, f), 0);
  assert_int_equal(run1(f), 0);
  assert_non_null(f->up);

  /* while the upload is open, its temp file is not listed */
  assert_int_equal(list(f, "data/"), 0);
  assert_int_equal(f->nkeys, 0);

  static char p1[300000], p2[70000], p3[12345];
  fill(p1, sizeof p1, 'a');
  fill(p2, sizeof p2, 'A');
  fill(p3, sizeof p3, '0');
  part_ctx c[3] = {{f, 1, 1, 0}, {f, 2, 1, 0}, {f, 3, 1, 0}};
  /* all three in flight at once: the pool may finish them in any order */
  assert_int_equal(vt->upload_part(f->env.st, f->up, 1, p1, sizeof p1, on_part,
                                   &c[0]), 0);
  assert_int_equal(vt->upload_part(f->env.st, f->up, 2, p2, sizeof p2, on_part,
                                   &c[1]), 0);
  assert_int_equal(vt->upload_part(f->env.st, f->up, 3, p3, sizeof p3, on_part,
                                   &c[2]), 0);
  /* out of order submission is refused */
  assert_int_equal(vt->upload_part(f->env.st, f->up, 5, p3, 1, on_part, &c[2]),
                   KS_EINVAL);
  /* complete while parts are in flight is refused */
  assert_int_equal(vt->upload_complete(f->env.st, f->up, 0, on_complete, f),
                   KS_EINVAL);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(c[i].done, 1);
    assert_int_equal(c[i].status, 0);
  }
  /* a retried part must keep its length */
  assert_int_equal(vt->upload_part(f->env.st, f->up, 2, p2, 10, on_part, &c[1]),
                   KS_EINVAL);

  assert_int_equal(vt->upload_complete(f->env.st, f->up, 0, on_complete, f), 0);
  assert_int_equal(run1(f), 0);
  size_t total = sizeof p1 + sizeof p2 + sizeof p3;
  assert_string_equal(f->objkey, "data/p=1/file.parquet");
  assert_int_equal(f->obj.size, total);
  int64_t now_ms = ks_now_us() / 1000;
  assert_true(f->obj.mtime_ms > now_ms - 60000 && f->obj.mtime_ms <= now_ms + 1000);

  char path[256];
  snprintf(path, sizeof path, "%s/root/data/p=1/file.parquet", f->env.dir);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  char *got = malloc(total + 1);
  assert_int_equal(fread(got, 1, total + 1, fp), total);
  fclose(fp);
  assert_memory_equal(got, p1, sizeof p1);
  assert_memory_equal(got + sizeof p1, p2, sizeof p2);
  assert_memory_equal(got + sizeof p1 + sizeof p2, p3, sizeof p3);
  free(got);

  snprintf(path, sizeof path, "%s/root/data/p=1", f->env.dir);
  assert_int_equal(count_entries(path), 1); /* temp file renamed away */
  assert_int_equal(list(f, "data/"), 0);
  assert_int_equal(f->nkeys, 1);
}

static void test_abort(void **state) {
  fx *f = *state;
  const ks_storage_vtable *vt = f->env.st->vt;
  assert_int_equal(vt->upload_create(f->env.st, "d/x.parquet", on_create, f), 0);
  assert_int_equal(run1(f), 0);
  part_ctx c = {f, 1, 1, 0};
  static char p[100000];
  fill(p, sizeof p, 'q');
  assert_int_equal(vt->upload_part(f->env.st, f->up, 1, p, sizeof p, on_part, &c),
                   0);
  /* abort with the part in flight: it runs once the part has reported */
  assert_int_equal(vt->upload_abort(f->env.st, f->up, on_done, f), 0);
  f->calls = 0;
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(c.done, 1);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, 0);
  char path[256];
  snprintf(path, sizeof path, "%s/root/d", f->env.dir);
  assert_int_equal(count_entries(path), 0);
  assert_int_equal(get(f, "d/x.parquet"), KS_ENOENT);
}

/* A multipart complete under if_absent never replaces a taken key: it ends
 * with KS_EEXIST, the upload stays (its data under the temp name) until
 * the caller aborts it; on a free key it completes as usual. */
static void test_complete_if_absent(void **state) {
  fx *f = *state;
  const ks_storage_vtable *vt = f->env.st->vt;
  assert_int_equal(put(f, "d/taken.parquet", "first"), 0);
  static char p[70000];
  fill(p, sizeof p, 'z');
  const char *keys[2] = {"d/taken.parquet", "d/free.parquet"};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(vt->upload_create(f->env.st, keys[k], on_create, f), 0);
    assert_int_equal(run1(f), 0);
    part_ctx c = {f, 1, 1, 0};
    assert_int_equal(
        vt->upload_part(f->env.st, f->up, 1, p, sizeof p, on_part, &c), 0);
    uv_run(&f->env.loop, UV_RUN_DEFAULT);
    assert_int_equal(c.status, 0);
    assert_int_equal(vt->upload_complete(f->env.st, f->up, 1, on_complete, f),
                     0);
    if (k == 0) {
      assert_int_equal(run1(f), KS_EEXIST);
      assert_int_equal(get(f, keys[k]), 0);
      assert_int_equal(f->len, 5);
      assert_memory_equal(f->data, "first", 5);
      /* the upload is still ours to let go of */
      assert_int_equal(vt->upload_abort(f->env.st, f->up, on_done, f), 0);
      assert_int_equal(run1(f), 0);
    } else {
      assert_int_equal(run1(f), 0);
      assert_int_equal(f->obj.size, sizeof p);
    }
  }
  char path[256];
  snprintf(path, sizeof path, "%s/root/d", f->env.dir);
  assert_int_equal(count_entries(path), 2); /* no temp file left */
}

static void test_list_skips_temp_files(void **state) {
  fx *f = *state;
  assert_int_equal(put(f, "z/keep.json", "k"), 0);
  /* leftovers of a crashed put and a crashed upload */
  char path[256];
  const char *names[] = {".keep.json.ksink-tmp-0123456789abcdef",
                         ".f.parquet.ksink-upload-00000000deadbeef"};
  for (size_t i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/root/z/%s", f->env.dir, names[i]);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
  }
  assert_int_equal(list(f, "z/"), 0);
  assert_int_equal(f->nkeys, 1);
  assert_string_equal(f->keys[0], "z/keep.json");
}

/* A symbolic link inside the root (a loop back to its parent, a link to
 * a file outside) is neither listed, followed nor read; directories
 * nested deeper than the walk's bound fail the listing, never the
 * stack. */
static void test_symlinks_and_depth(void **state) {
  fx *f = *state;
  assert_int_equal(put(f, "s/a/keep.json", "k"), 0);
  char path[512], outside[512];
  snprintf(path, sizeof path, "%s/root/s/a/loop", f->env.dir);
  assert_int_equal(symlink("..", path), 0);
  snprintf(outside, sizeof outside, "%s/outside.json", f->env.dir);
  int fd = open(outside, O_CREAT | O_WRONLY, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "secret", 6), 6);
  close(fd);
  snprintf(path, sizeof path, "%s/root/s/a/link.json", f->env.dir);
  assert_int_equal(symlink(outside, path), 0);
  assert_int_equal(list(f, "s/"), 0);
  assert_int_equal(f->nkeys, 1);
  assert_string_equal(f->keys[0], "s/a/keep.json");
  assert_int_not_equal(get(f, "s/a/link.json"), 0);

  /* 80 directories deep: past the bound of 64 */
  char key[512] = "deep/";
  for (int i = 0; i < 80; i++)
    strcat(key, "d/");
  strcat(key, "x.json");
  assert_int_equal(put(f, key, "x"), 0);
  assert_int_not_equal(list(f, "deep/"), 0);
}

static void test_open_urls(void **state) {
  fx *f = *state;
  ks_storage *s = NULL;
  assert_int_equal(ks_storage_open(&f->env.loop, "gopher://bucket/x", NULL, &s),
                   KS_EUNSUPPORTED);
  assert_int_equal(ks_storage_open(&f->env.loop, "file://relative", NULL, &s),
                   KS_ECONFIG);
  assert_int_equal(ks_storage_open(&f->env.loop, "file:///tmp/a%2", NULL, &s),
                   KS_ECONFIG);
  assert_int_equal(ks_storage_open(&f->env.loop, "file:///tmp/a%20b/", NULL, &s), 0);
  assert_string_equal(s->vt->name, "fs");
  ks_storage_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_get_list_del, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_put_if_absent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_multipart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
      cmocka_unit_test_setup_teardown(test_complete_if_absent, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_list_skips_temp_files, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_symlinks_and_depth, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_open_urls, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
