/*
 * A test environment for anything built on the storage vtable: a uv loop,
 * a fresh temporary directory and the fs backend opened on it. Closing it
 * runs the loop dry, asserts that no handle leaked (uv_loop_close == 0)
 * and removes the directory. Header-only: include it after cmocka.h.
 */
#ifndef KS_TEST_SUPPORT_STORAGE_ENV_H
#define KS_TEST_SUPPORT_STORAGE_ENV_H

#include "storage/storage.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ks_storage_env {
  uv_loop_t loop;
  char dir[64];
  ks_storage *st;
} ks_storage_env;

static int ks_storage_env_rm_(const char *p, const struct stat *sb, int flag,
                              struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

/* Storage root: the temp dir, or its subdirectory sub (not yet created). */
static void ks_storage_env_open(ks_storage_env *e, const char *tag,
                                const char *sub) {
  assert_int_equal(uv_loop_init(&e->loop), 0);
  snprintf(e->dir, sizeof e->dir, "/tmp/ks-%s-XXXXXX", tag);
  assert_non_null(mkdtemp(e->dir));
  char url[160];
  snprintf(url, sizeof url, "file://%s%s%s", e->dir, sub ? "/" : "",
           sub ? sub : "");
  assert_int_equal(ks_storage_open(&e->loop, url, NULL, &e->st), 0);
}

static void ks_storage_env_close(ks_storage_env *e) {
  ks_storage_close(e->st);
  assert_int_equal(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e->loop), 0);
  nftw(e->dir, ks_storage_env_rm_, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
