/* Checkpoints: the writer/reader round trip, expiry of txns and
 * tombstones, the interval syntax, and a table of 25 commits on the fs
 * backend whose snapshot is the same whether it is replayed from the JSON
 * log, from the newest checkpoint, from an older one (the newest is
 * damaged) or after log cleanup removed the early entries. */
#include "base/buf.h"
#include "base/ks.h"
#include "storage/delta/delta.h"
#include "storage/delta/delta_int.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

#include <cmocka.h>

#include "../../../support/storage_env.h"

static const char schema2[] =
    "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\","
    "\"nullable\":false,\"metadata\":{}}]}";

/* ---- snapshot equality ------------------------------------------------ */

static void eq_str(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    assert_true(a == b);
  else
    assert_string_equal(a, b);
}

static void eq_map(char **ka, char **va, size_t na, char **kb, char **vb,
                   size_t nb) {
  assert_int_equal(na, nb);
  for (size_t i = 0; i < na; i++) {
    eq_str(ka[i], kb[i]);
    eq_str(va[i], vb[i]);
  }
}

static void snap_equal(const ks_delta_snapshot *a, const ks_delta_snapshot *b) {
  assert_int_equal(a->version, b->version);
  assert_int_equal(a->has_protocol, b->has_protocol);
  assert_int_equal(a->min_reader, b->min_reader);
  assert_int_equal(a->min_writer, b->min_writer);
  assert_int_equal(a->has_metadata, b->has_metadata);
  const ks_delta_metadata *ma = &a->metadata, *mb = &b->metadata;
  eq_str(ma->id, mb->id);
  eq_str(ma->name, mb->name);
  eq_str(ma->description, mb->description);
  eq_str(ma->schema_string, mb->schema_string);
  assert_int_equal(ma->created_time, mb->created_time);
  assert_int_equal(ma->npartition_columns, mb->npartition_columns);
  for (size_t i = 0; i < ma->npartition_columns; i++)
    eq_str(ma->partition_columns[i], mb->partition_columns[i]);
  eq_map(ma->conf_keys, ma->conf_values, ma->nconf, mb->conf_keys,
         mb->conf_values, mb->nconf);
  assert_int_equal(a->nfiles, b->nfiles);
  for (size_t i = 0; i < a->nfiles; i++) {
    const ks_delta_add *x = &a->files[i], *y = &b->files[i];
    eq_str(x->path, y->path);
    assert_int_equal(x->size, y->size);
    assert_int_equal(x->modification_time, y->modification_time);
    assert_int_equal(x->num_records, y->num_records);
    eq_str(x->stats, y->stats);
    eq_map(x->part_names, x->part_values, x->nparts, y->part_names,
           y->part_values, y->nparts);
  }
  assert_int_equal(a->ntxns, b->ntxns);
  for (size_t i = 0; i < a->ntxns; i++) {
    eq_str(a->txns[i].app_id, b->txns[i].app_id);
    assert_int_equal(a->txns[i].version, b->txns[i].version);
    assert_int_equal(a->txns[i].last_updated, b->txns[i].last_updated);
  }
  assert_int_equal(a->nremoves, b->nremoves);
  for (size_t i = 0; i < a->nremoves; i++) {
    const ks_delta_remove *x = &a->removes[i], *y = &b->removes[i];
    eq_str(x->path, y->path);
    assert_int_equal(x->deletion_timestamp, y->deletion_timestamp);
    assert_int_equal(x->data_change, y->data_change);
    assert_int_equal(x->extended_file_metadata, y->extended_file_metadata);
    assert_int_equal(x->size, y->size);
    eq_map(x->part_names, x->part_values, x->nparts, y->part_names,
           y->part_values, y->nparts);
  }
}

/* ---- round trip ------------------------------------------------------ */

static void apply_text(ks_delta_snapshot *s, int64_t v, const char *json) {
  char err[256];
  int rc = ks_delta_snapshot_apply(s, v, (const uint8_t *)json, strlen(json),
                                   err, sizeof err);
  if (rc)
    fail_msg("apply v%lld: %s", (long long)v, err);
}

static void roundtrip(const ks_delta_snapshot *s, int64_t now_ms,
                      ks_delta_snapshot *out, ks_delta_checkpoint_stats *st) {
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_delta_checkpoint_build(s, now_ms, &b, st), 0);
  ks_delta_snapshot_init(out);
  char err[256];
  int rc = ks_delta_checkpoint_apply(out, b.data, b.len, 0, err, sizeof err);
  if (rc)
    fail_msg("checkpoint_apply: %s", err);
  out->version = s->version;
  ks_buf_free(&b);
}

static const char v0[] =
    "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
    "{\"metaData\":{\"id\":\"8a9c\",\"name\":\"events\",\"format\":{"
    "\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{}\","
    "\"partitionColumns\":[\"day\",\"region\"],\"configuration\":{"
    "\"delta.checkpointInterval\":\"5\",\"x\":null},\"createdTime\":1700}}\n"
    "{\"add\":{\"path\":\"day=1/a%20b.parquet\",\"partitionValues\":{\"day\":"
    "\"1\",\"region\":null},\"size\":100,\"modificationTime\":5,"
    "\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":7}\"}}\n"
    "{\"add\":{\"path\":\"b.parquet\",\"partitionValues\":{},\"size\":0,"
    "\"modificationTime\":6,\"dataChange\":true}}\n"
    "{\"add\":{\"path\":\"c.parquet\",\"partitionValues\":{},\"size\":3,"
    "\"modificationTime\":7,\"dataChange\":true,\"stats\":\"\"}}\n"
    "{\"txn\":{\"appId\":\"app-t-0\",\"version\":41,\"lastUpdated\":1000}}\n"
    "{\"txn\":{\"appId\":\"app-t-1\",\"version\":0}}\n";
static const char v1[] =
    "{\"remove\":{\"path\":\"c.parquet\",\"deletionTimestamp\":900000,"
    "\"dataChange\":true,\"extendedFileMetadata\":true,\"partitionValues\":"
    "{},\"size\":3}}\n"
    "{\"remove\":{\"path\":\"old.parquet\",\"deletionTimestamp\":1,"
    "\"dataChange\":false}}\n"
    "{\"txn\":{\"appId\":\"app-t-0\",\"version\":42,\"lastUpdated\":900000}}\n";

static void test_roundtrip(void **state) {
  (void)state;
  ks_delta_snapshot s, r;
  ks_delta_snapshot_init(&s);
  apply_text(&s, 0, v0);
  apply_text(&s, 1, v1);
  assert_int_equal(s.nfiles, 2);
  assert_int_equal(s.nremoves, 2);
  ks_delta_checkpoint_stats st;
  /* now = 1,000,000 ms: every tombstone is younger than a week */
  roundtrip(&s, 1000000, &r, &st);
  assert_int_equal(st.actions, 1 + 1 + 2 + 2 + 2);
  assert_int_equal(st.add_files, 2);
  snap_equal(&s, &r);
  ks_delta_snapshot_free(&r);

  /* a week and a bit later the tombstones expire; txns stay (no
   * setTransactionRetentionDuration) */
  roundtrip(&s, 900000 + 7 * 86400000LL + 1, &r, &st);
  assert_int_equal(r.nremoves, 0);
  assert_int_equal(r.ntxns, 2);
  ks_delta_snapshot_free(&r);
  ks_delta_snapshot_free(&s);
}

/* A table partitioned by 20 columns: each add row holds 20 map entries,
 * more than the reader's per-row allowance was (16), and it refused the
 * checkpoint once the table had enough files. */
static void test_many_partition_columns(void **state) {
  (void)state;
  enum { NPARTS = 20, NFILES = 1500 };
  ks_buf t;
  ks_buf_init(&t, 0);
  ks_buf_appendf(&t, "{\"protocol\":{\"minReaderVersion\":1,"
                     "\"minWriterVersion\":2}}\n{\"metaData\":{\"id\":\"p\","
                     "\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                     "\"schemaString\":\"{}\",\"partitionColumns\":[");
  for (int k = 0; k < NPARTS; k++)
    ks_buf_appendf(&t, "%s\"p%d\"", k ? "," : "", k);
  ks_buf_appendf(&t, "],\"configuration\":{},\"createdTime\":1}}\n");
  for (int i = 0; i < NFILES; i++) {
    ks_buf_appendf(
        &t, "{\"add\":{\"path\":\"f%d.parquet\",\"partitionValues\":{", i);
    for (int k = 0; k < NPARTS; k++)
      ks_buf_appendf(&t, "%s\"p%d\":\"%d\"", k ? "," : "", k, (i + k) % 7);
    ks_buf_appendf(&t, "},\"size\":1,\"modificationTime\":1,"
                       "\"dataChange\":true}}\n");
  }
  ks_buf_append_byte(&t, 0);
  ks_delta_snapshot s, r;
  ks_delta_snapshot_init(&s);
  apply_text(&s, 0, (const char *)t.data);
  ks_buf_free(&t);
  ks_delta_checkpoint_stats st;
  roundtrip(&s, 1000, &r, &st);
  assert_int_equal(r.nfiles, NFILES);
  snap_equal(&s, &r);
  ks_delta_snapshot_free(&r);
  ks_delta_snapshot_free(&s);
}

static void test_txn_expiry(void **state) {
  (void)state;
  ks_delta_snapshot s, r;
  ks_delta_snapshot_init(&s);
  apply_text(&s, 0,
             "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}"
             "\n{\"metaData\":{\"id\":\"x\",\"schemaString\":\"{}\","
             "\"partitionColumns\":[],\"configuration\":{"
             "\"delta.setTransactionRetentionDuration\":\"interval 1 days\"}}}"
             "\n{\"txn\":{\"appId\":\"old\",\"version\":1,\"lastUpdated\":10}}"
             "\n{\"txn\":{\"appId\":\"new\",\"version\":2,\"lastUpdated\":"
             "86400000}}\n{\"txn\":{\"appId\":\"timeless\",\"version\":3}}\n");
  roundtrip(&s, 86400000 + 20, &r, NULL);
  assert_int_equal(r.ntxns, 2);
  assert_int_equal(ks_delta_snapshot_txn(&r, "old"), -1);
  assert_int_equal(ks_delta_snapshot_txn(&r, "new"), 2);
  assert_int_equal(ks_delta_snapshot_txn(&r, "timeless"), 3);
  ks_delta_snapshot_free(&r);
  ks_delta_snapshot_free(&s);
}

static void test_interval_syntax(void **state) {
  (void)state;
  int64_t ms;
  assert_int_equal(ks_delta_parse_interval("interval 30 days", &ms), 0);
  assert_int_equal(ms, 30 * 86400000LL);
  assert_int_equal(ks_delta_parse_interval("INTERVAL 1 WEEK", &ms), 0);
  assert_int_equal(ms, 7 * 86400000LL);
  assert_int_equal(ks_delta_parse_interval("interval 2 days 12 hours", &ms), 0);
  assert_int_equal(ms, 60 * 3600000LL);
  assert_int_equal(ks_delta_parse_interval("90 seconds", &ms), 0);
  assert_int_equal(ms, 90000);
  assert_int_equal(ks_delta_parse_interval("interval", &ms), KS_EINVAL);
  assert_int_equal(ks_delta_parse_interval("interval 3 fortnights", &ms),
                   KS_EINVAL);
  assert_int_equal(ks_delta_parse_interval("interval -1 days", &ms), KS_EINVAL);
  assert_int_equal(ks_delta_parse_interval("30d", &ms), KS_EINVAL);
}

static void test_damaged_checkpoint_fails_cleanly(void **state) {
  (void)state;
  ks_delta_snapshot s, r;
  ks_delta_snapshot_init(&s);
  apply_text(&s, 0, v0);
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_delta_checkpoint_build(&s, 0, &b, NULL), 0);
  char err[256];
  /* every truncation and a flipped byte in every position of the footer
   * must be refused or read, never crash */
  for (size_t cut = 0; cut < b.len; cut += 7) {
    ks_delta_snapshot_init(&r);
    ks_delta_checkpoint_apply(&r, b.data, cut, 0, err, sizeof err);
    ks_delta_snapshot_free(&r);
  }
  for (size_t i = 0; i < b.len; i++) {
    b.data[i] ^= 0x5a;
    ks_delta_snapshot_init(&r);
    ks_delta_checkpoint_apply(&r, b.data, b.len, 1 << 16, err, sizeof err);
    ks_delta_snapshot_free(&r);
    b.data[i] ^= 0x5a;
  }
  ks_buf_free(&b);
  ks_delta_snapshot_free(&s);
}

/* ---- a table of 25 commits -------------------------------------------- */

typedef struct fx {
  ks_storage_env env;
  int calls, status;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  ks_storage_env_open(&f->env, "ckpt", NULL);
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
}

static void on_commit(void *arg, int status, int64_t version) {
  (void)version;
  on_done(arg, status);
}

static int load(fx *f, ks_delta_table *t) {
  f->calls = 0;
  assert_int_equal(ks_delta_table_load(t, on_done, f), 0);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  return f->status;
}

/* commit i: one file, the txn of partition i % 3 */
static void commit_n(fx *f, ks_delta_table *t, int n) {
  for (int i = 0; i < n; i++) {
    char path[64], app[32], stats[64];
    snprintf(path, sizeof path, "part-%03d.parquet", i);
    snprintf(app, sizeof app, "app-t-%d", i % 3);
    snprintf(stats, sizeof stats, "{\"numRecords\":%d}", i + 1);
    ks_delta_add add = {.path = path,
                        .size = 100 + i,
                        .modification_time = 1000 + i,
                        .stats = stats};
    const ks_delta_snapshot *s = ks_delta_table_snapshot(t);
    ks_delta_txn_update txn = {.app_id = app,
                               .expected = ks_delta_snapshot_txn(s, app),
                               .version = 10 * (i + 1)};
    ks_delta_commit_req req = {.adds = &add,
                               .nadds = 1,
                               .txns = &txn,
                               .ntxns = 1,
                               .schema_string = schema2};
    f->calls = 0;
    assert_int_equal(ks_delta_commit(t, &req, on_commit, f), 0);
    uv_run(&f->env.loop, UV_RUN_DEFAULT); /* commit and any checkpoint */
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->status, 0);
  }
}

static int exists(fx *f, const char *rel) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", f->env.dir, rel);
  struct stat st;
  return stat(p, &st) == 0;
}

static char *slurp(fx *f, const char *rel, size_t *len) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", f->env.dir, rel);
  FILE *fp = fopen(p, "rb");
  if (fp == NULL)
    return NULL;
  char *buf = calloc(1, 1 << 20);
  *len = fread(buf, 1, (1 << 20) - 1, fp);
  fclose(fp);
  return buf;
}

/* The snapshot replayed from the JSON entries alone. */
static void json_replay(fx *f, int64_t upto, ks_delta_snapshot *s) {
  ks_delta_snapshot_init(s);
  for (int64_t v = 0; v <= upto; v++) {
    char rel[128];
    snprintf(rel, sizeof rel, "t/_delta_log/%020lld.json", (long long)v);
    size_t n;
    char *d = slurp(f, rel, &n);
    assert_non_null(d);
    apply_text(s, v, d);
    free(d);
  }
}

static void set_mtime(fx *f, const char *rel, time_t when) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", f->env.dir, rel);
  struct utimbuf u = {when, when};
  assert_int_equal(utime(p, &u), 0);
}

static void test_table_25_commits(void **state) {
  fx *f = *state;
  ks_delta_table *t = ks_delta_table_new(f->env.st, "t");
  assert_int_equal(load(f, t), 0);
  commit_n(f, t, 25);
  assert_int_equal(ks_delta_table_snapshot(t)->version, 24);

  /* two checkpoints, _last_checkpoint at the newest */
  assert_true(
      exists(f, "t/_delta_log/00000000000000000010.checkpoint.parquet"));
  assert_true(
      exists(f, "t/_delta_log/00000000000000000020.checkpoint.parquet"));
  assert_false(
      exists(f, "t/_delta_log/00000000000000000000.checkpoint.parquet"));
  assert_false(
      exists(f, "t/_delta_log/00000000000000000005.checkpoint.parquet"));
  size_t n, cn;
  char *last = slurp(f, "t/_delta_log/_last_checkpoint", &n);
  assert_non_null(last);
  char *ck =
      slurp(f, "t/_delta_log/00000000000000000020.checkpoint.parquet", &cn);
  char want[160];
  /* v20: protocol, metaData, 3 txns, 21 adds */
  snprintf(want, sizeof want,
           "{\"version\":20,\"size\":26,\"sizeInBytes\":%zu,"
           "\"numOfAddFiles\":21}",
           cn);
  assert_string_equal(last, want);
  free(last);
  free(ck);

  /* replayed from JSON vs. loaded from the checkpoint by a new reader */
  ks_delta_snapshot js;
  json_replay(f, 24, &js);
  snap_equal(&js, ks_delta_table_snapshot(t));
  ks_delta_table *r = ks_delta_table_new(f->env.st, "t");
  assert_int_equal(load(f, r), 0);
  assert_int_equal(ks_delta_table_last_checkpoint(r), 20);
  snap_equal(&js, ks_delta_table_snapshot(r));
  ks_delta_table_free(r);

  /* the reader really starts at the checkpoint: without v0..v19 it reads
   * the same (the entries are moved away, then back) */
  char a[512], b[512];
  for (int v = 0; v < 20; v++) {
    snprintf(a, sizeof a, "%s/t/_delta_log/%020d.json", f->env.dir, v);
    snprintf(b, sizeof b, "%s/t/%020d.json.away", f->env.dir, v);
    assert_int_equal(rename(a, b), 0);
  }
  r = ks_delta_table_new(f->env.st, "t");
  assert_int_equal(load(f, r), 0);
  snap_equal(&js, ks_delta_table_snapshot(r));
  ks_delta_table_free(r);

  /* a damaged newest checkpoint: the reader falls back to v10 + entries */
  for (int v = 0; v < 20; v++) {
    snprintf(a, sizeof a, "%s/t/_delta_log/%020d.json", f->env.dir, v);
    snprintf(b, sizeof b, "%s/t/%020d.json.away", f->env.dir, v);
    assert_int_equal(rename(b, a), 0);
  }
  snprintf(a, sizeof a,
           "%s/t/_delta_log/00000000000000000020.checkpoint.parquet",
           f->env.dir);
  FILE *fp = fopen(a, "wb");
  fputs("PAR1 this is not a checkpoint PAR1", fp);
  fclose(fp);
  r = ks_delta_table_new(f->env.st, "t");
  assert_int_equal(load(f, r), 0);
  snap_equal(&js, ks_delta_table_snapshot(r));
  ks_delta_table_free(r);

  /* log cleanup: v0..v15 are 40 days old, the rest new. The cut-off commit
   * is v15, the cut-off checkpoint v10: v0..v9 go, v10 and its checkpoint
   * stay, and the table still reads the same. */
  time_t old = time(NULL) - 40 * 86400;
  for (int v = 0; v <= 15; v++) {
    char rel[128];
    snprintf(rel, sizeof rel, "t/_delta_log/%020d.json", v);
    set_mtime(f, rel, old + v);
  }
  f->calls = 0;
  assert_int_equal(ks_delta_table_checkpoint(t, on_done, f), 0);
  assert_int_equal(ks_delta_table_checkpoint(t, on_done, f), KS_EEXIST);
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  assert_int_equal(f->status, 0);
  assert_false(ks_delta_table_checkpointing(t));
  for (int v = 0; v < 25; v++) {
    char rel[128];
    snprintf(rel, sizeof rel, "t/_delta_log/%020d.json", v);
    assert_int_equal(exists(f, rel), v >= 10);
  }
  assert_true(
      exists(f, "t/_delta_log/00000000000000000010.checkpoint.parquet"));
  assert_true(
      exists(f, "t/_delta_log/00000000000000000024.checkpoint.parquet"));
  r = ks_delta_table_new(f->env.st, "t");
  assert_int_equal(load(f, r), 0);
  assert_int_equal(ks_delta_table_last_checkpoint(r), 24);
  snap_equal(&js, ks_delta_table_snapshot(r));
  ks_delta_table_free(r);

  ks_delta_snapshot_free(&js);
  ks_delta_table_free(t);
}

/* A storage whose plain puts fail (checkpoints), everything else passes. */
typedef struct noput_storage {
  ks_storage base;
  ks_storage *inner;
  int puts;
} noput_storage;

static int np_put(ks_storage *s, const char *key, const void *data, size_t len,
                  ks_storage_cb cb, void *arg) {
  (void)key, (void)data, (void)len, (void)cb, (void)arg;
  ((noput_storage *)s)->puts++;
  return KS_EIO;
}
static int np_pia(ks_storage *s, const char *key, const void *data, size_t len,
                  ks_storage_cb cb, void *arg) {
  return ks_storage_put_if_absent(((noput_storage *)s)->inner, key, data, len,
                                  cb, arg);
}
static int np_get(ks_storage *s, const char *key, ks_storage_get_cb cb,
                  void *arg) {
  return ks_storage_get(((noput_storage *)s)->inner, key, cb, arg);
}
static int np_list(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
                   void *arg) {
  return ks_storage_list(((noput_storage *)s)->inner, prefix, cb, arg);
}

static void test_failed_checkpoint_never_fails_commits(void **state) {
  fx *f = *state;
  ks_storage_vtable vt = {.name = "noput",
                          .put = np_put,
                          .put_if_absent = np_pia,
                          .get = np_get,
                          .list = np_list};
  noput_storage ns = {.base = {.vt = &vt, .loop = &f->env.loop},
                      .inner = f->env.st};
  ks_delta_table *t = ks_delta_table_new(&ns.base, "t");
  assert_int_equal(load(f, t), 0);
  commit_n(f, t, 21);
  assert_int_equal(ns.puts, 2); /* tried at v10 and v20 */
  assert_false(exists(f, "t/_delta_log/_last_checkpoint"));
  ks_delta_table_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_txn_expiry),
      cmocka_unit_test(test_many_partition_columns),
      cmocka_unit_test(test_interval_syntax),
      cmocka_unit_test(test_damaged_checkpoint_fails_cleanly),
      cmocka_unit_test_setup_teardown(test_table_25_commits, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_failed_checkpoint_never_fails_commits, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
