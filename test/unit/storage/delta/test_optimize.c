/*
 * Optimize (storage/delta/optimize*.c, stats_merge.c): merged add.stats,
 * the bin plan, and whole runs on the fs backend over real Parquet files:
 * bins per partition, the commit's actions, the new files read back, and
 * the races with another writer (a storage wrapper commits the other
 * writer's entry just before optimize's own): an append is retried past,
 * a removed input abandons only its bin (and deletes its new file), a
 * changed metaData abandons the run. Unreadable inputs are left out of
 * their bin; a missing one gives the bin up.
 */
#include "base/buf.h"
#include "base/ks.h"
#include "storage/delta/delta.h"
#include "storage/delta/optimize.h"
#include "storage/parquet/reader.h"
#include "storage/parquet/writer.h"
#include "storage/storage.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../support/storage_env.h"

/* ---- stats merge ----------------------------------------------------------
 */

static void merged(const char *const *in, size_t n, const char *want) {
  ks_buf b;
  ks_buf_init(&b, 0);
  int rc = ks_delta_stats_merge(&b, in, n);
  if (want == NULL) {
    assert_int_equal(rc, KS_ENOENT);
    assert_int_equal(b.len, 0);
  } else {
    assert_int_equal(rc, 0);
    ks_buf_cstr(&b);
    if (strcmp((char *)b.data, want) != 0)
      fail_msg("merged %s\n  want %s", (char *)b.data, want);
  }
  ks_buf_free(&b);
}

static void test_stats_merge(void **state) {
  (void)state;
  const char *a[] = {
      "{\"numRecords\":3,\"minValues\":{\"id\":5,\"s\":\"b\",\"d\":12.34,"
      "\"ts\":\"2026-01-02T00:00:00.000Z\",\"st\":{\"x\":-1.5,\"y\":1}},"
      "\"maxValues\":{\"id\":9,\"s\":\"zz\",\"d\":99.10,"
      "\"ts\":\"2026-01-03T00:00:00.000Z\",\"st\":{\"x\":2,\"y\":1}},"
      "\"nullCount\":{\"id\":0,\"s\":1,\"d\":0,\"ts\":0,\"st\":{\"x\":1,"
      "\"y\":0}}}",
      "{\"numRecords\":4,\"minValues\":{\"id\":-2,\"s\":\"a\xc3\xa9\",\"d\":9."
      "5,"
      "\"ts\":\"2025-12-31T23:59:59.999Z\",\"st\":{\"x\":-1.25}},"
      "\"maxValues\":{\"id\":7,\"s\":\"zz~\",\"d\":99.1000001,"
      "\"ts\":\"2026-01-01T00:00:00.000Z\",\"st\":{\"x\":1e3}},"
      "\"nullCount\":{\"id\":0,\"s\":2,\"d\":4,\"ts\":1,\"st\":{\"x\":0}}}"};
  merged(a, 2,
         "{\"numRecords\":7,\"minValues\":{\"id\":-2,\"s\":\"a\xc3\xa9\","
         "\"d\":9.5,\"ts\":\"2025-12-31T23:59:59.999Z\",\"st\":{\"x\":-1.5}},"
         "\"maxValues\":{\"id\":9,\"s\":\"zz~\",\"d\":99.1000001,"
         "\"ts\":\"2026-01-03T00:00:00.000Z\",\"st\":{\"x\":1e3}},"
         "\"nullCount\":{\"id\":0,\"s\":3,\"d\":4,\"ts\":1,\"st\":{\"x\":1}}}");
  /* a column one input lacks, or states with another kind, is left out;
   * so is an object every member of which went */
  const char *b[] = {
      "{\"numRecords\":1,\"minValues\":{\"a\":1,\"b\":\"x\",\"c\":{\"q\":1}},"
      "\"nullCount\":{\"a\":0}}",
      "{\"numRecords\":2,\"minValues\":{\"a\":\"1\",\"c\":{\"r\":2}},"
      "\"maxValues\":{\"a\":3},\"nullCount\":{\"a\":0,\"b\":1}}"};
  merged(b, 2, "{\"numRecords\":3,\"nullCount\":{\"a\":0}}");
  /* exact decimal comparison beyond double precision */
  const char *c[] = {"{\"numRecords\":1,\"minValues\":{\"v\":"
                     "1234567890123456.78},\"maxValues\":{\"v\":-0.001}}",
                     "{\"numRecords\":1,\"minValues\":{\"v\":"
                     "1234567890123456.77},\"maxValues\":{\"v\":-0.0010}}"};
  merged(c, 2,
         "{\"numRecords\":2,\"minValues\":{\"v\":1234567890123456.77},"
         "\"maxValues\":{\"v\":-0.001}}");
  const char *d[] = {"{\"numRecords\":1,\"tightBounds\":true}",
                     "{\"numRecords\":1,\"tightBounds\":false}"};
  merged(d, 2, "{\"numRecords\":2,\"tightBounds\":false}");
  const char *e[] = {"{\"numRecords\":1}", NULL};
  merged(e, 2, NULL);
  const char *g[] = {"{\"numRecords\":1}", "{\"minValues\":{}}"};
  merged(g, 2, NULL);
  const char *h[] = {"{\"numRecords\":5,\"nullCount\":{\"a\":-1}}",
                     "{\"numRecords\":5,\"nullCount\":{\"a\":2}}"};
  merged(h, 2, "{\"numRecords\":10}");
  /* timestamps in the session time zone (Spark's stats): 10:00+05:00 is
   * 05:00Z, before 06:00Z, though after it as text; so is a whole second
   * before its fraction. Such bounds are left out, never wrong; where
   * text and instants agree (one zone, one format) they merge. */
  const char *z[] = {
      "{\"numRecords\":1,\"minValues\":{\"t\":\"2024-01-01T10:00:00.000+05:"
      "00\","
      "\"u\":\"2024-01-01T10:00:00Z\",\"v\":\"2024-01-01T10:00:00.000+05:00\","
      "\"w\":\"2024-01-01T10:00:00\",\"s\":\"b\"},"
      "\"maxValues\":{\"t\":\"2024-01-01T10:00:00.000+05:00\"}}",
      "{\"numRecords\":1,\"minValues\":{\"t\":\"2024-01-01T06:00:00.000Z\","
      "\"u\":\"2024-01-01T10:00:00.500Z\",\"v\":\"2024-01-01T09:00:00.000+05:"
      "00\","
      "\"w\":\"2024-01-01T10:00:00Z\",\"s\":\"2024-01-01T10:00:00Z\"},"
      "\"maxValues\":{\"t\":\"2024-01-01T06:00:00.000Z\"}}"};
  merged(z, 2,
         "{\"numRecords\":2,\"minValues\":{\"v\":\"2024-01-01T09:00:00.000+"
         "05:00\",\"s\":\"2024-01-01T10:00:00Z\"}}");
}

/* ---- plan -----------------------------------------------------------------
 */

static void add_line(ks_buf *b, const char *path, const char *part,
                     int64_t size) {
  ks_buf_appendf(b,
                 "{\"add\":{\"path\":\"%s\",\"partitionValues\":{%s},"
                 "\"size\":%lld,\"modificationTime\":1,\"dataChange\":true,"
                 "\"stats\":\"{\\\"numRecords\\\":1}\"}}\n",
                 path, part, (long long)size);
}

static size_t bin_size(const ks_delta_bin *b, size_t i) {
  return b[i].ninputs;
}

static void test_plan(void **state) {
  (void)state;
  ks_buf e;
  ks_buf_init(&e, 0);
  ks_buf_append_str(&e, "{\"protocol\":{\"minReaderVersion\":1,"
                        "\"minWriterVersion\":2}}\n{\"metaData\":{\"id\":"
                        "\"x\",\"format\":{\"provider\":\"parquet\"},"
                        "\"schemaString\":\"{}\",\"partitionColumns\":"
                        "[\"p\"],\"configuration\":{}}}\n");
  add_line(&e, "p=a/1", "\"p\":\"a\"", 40);
  add_line(&e, "p=b/1", "\"p\":\"b\"", 40);
  add_line(&e, "p=a/2", "\"p\":\"a\"", 40);
  add_line(&e, "p=a/big", "\"p\":\"a\"", 100); /* at the target: stays */
  add_line(&e, "p=a/3", "\"p\":\"a\"", 30);
  add_line(&e, "p=a/4", "\"p\":\"a\"", 50);
  add_line(&e, "p=b/2", "\"p\":\"b\"", 10);
  add_line(&e, "p=c/1", "\"p\":\"c\"", 10); /* alone */
  add_line(&e, "null/1", "\"p\":null", 10);
  add_line(&e, "null/2", "\"p\":null", 10);
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  char err[256];
  assert_int_equal(
      ks_delta_snapshot_apply(&s, 0, e.data, e.len, err, sizeof err), 0);
  ks_delta_optimize_opts o = {.target_size = 100};
  ks_delta_bin *bins;
  size_t n;
  ks_delta_optimize_plan(&s, &o, &bins, &n);
  /* p=a: 1,2 (80; +3 would pass 100), then 3,4 (80); p=b: 1,2; null: 1,2 */
  assert_int_equal(n, 4);
  assert_string_equal(bins[0].inputs[0].path, "p=a/1");
  assert_string_equal(bins[0].inputs[1].path, "p=a/2");
  assert_int_equal(bins[0].bytes, 80);
  assert_string_equal(bins[1].inputs[0].path, "p=a/3");
  assert_string_equal(bins[1].inputs[1].path, "p=a/4");
  assert_string_equal(bins[2].inputs[0].path, "p=b/1");
  assert_string_equal(bins[3].inputs[0].path, "null/1");
  assert_null(bins[3].inputs[0].part_values[0]);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(bin_size(bins, i), 2);
  ks_delta_optimize_bins_free(bins, n);
  assert_true(ks_delta_optimize_due(&s, &o));

  const char *wn[] = {"p"}, *wv[] = {"b"};
  o.where_names = wn;
  o.where_values = wv;
  o.nwhere = 1;
  ks_delta_optimize_plan(&s, &o, &bins, &n);
  assert_int_equal(n, 1);
  assert_string_equal(bins[0].inputs[1].path, "p=b/2");
  ks_delta_optimize_bins_free(bins, n);

  o.nwhere = 0;
  o.min_files = 5; /* no partition has 5 small files */
  ks_delta_optimize_plan(&s, &o, &bins, &n);
  assert_int_equal(n, 0);
  assert_false(ks_delta_optimize_due(&s, &o));
  o.min_files = 4; /* p=a has */
  ks_delta_optimize_plan(&s, &o, &bins, &n);
  assert_int_equal(n, 2);
  ks_delta_optimize_bins_free(bins, n);
  ks_delta_snapshot_free(&s);
  ks_buf_free(&e);
}

/* ---- runs on the fs backend ------------------------------------------------
 */

/* Forwards to the fs backend; when armed, the next log entry optimize
 * writes is preceded by `race` at the same version (another writer won). */
typedef struct race_storage {
  ks_storage base;
  ks_storage *inner;
  const char *race;
  char key[512]; /* the caller's key may not outlive the call */
  const void *data;
  size_t len;
  ks_storage_cb cb;
  void *arg;
  int raced;
} race_storage;

static int r_put(ks_storage *s, const char *k, const void *d, size_t n,
                 ks_storage_cb cb, void *a) {
  return ks_storage_put(((race_storage *)s)->inner, k, d, n, cb, a);
}
static void after_race(void *arg, int status) {
  race_storage *r = arg;
  assert_int_equal(status, 0);
  r->raced++;
  int rc = ks_storage_put_if_absent(r->inner, r->key, r->data, r->len, r->cb,
                                    r->arg);
  assert_int_equal(rc, 0);
}
static int r_put_if_absent(ks_storage *s, const char *k, const void *d,
                           size_t n, ks_storage_cb cb, void *a) {
  race_storage *r = (race_storage *)s;
  if (r->race && strstr(k, "_delta_log/") && strstr(k, ".json")) {
    const char *entry = r->race;
    r->race = NULL;
    snprintf(r->key, sizeof r->key, "%s", k);
    r->data = d;
    r->len = n;
    r->cb = cb;
    r->arg = a;
    return ks_storage_put_if_absent(r->inner, k, entry, strlen(entry),
                                    after_race, r);
  }
  return ks_storage_put_if_absent(r->inner, k, d, n, cb, a);
}
static int r_get(ks_storage *s, const char *k, ks_storage_get_cb cb, void *a) {
  return ks_storage_get(((race_storage *)s)->inner, k, cb, a);
}
static int r_list(ks_storage *s, const char *p, ks_storage_list_cb cb,
                  void *a) {
  return ks_storage_list(((race_storage *)s)->inner, p, cb, a);
}
static int r_del(ks_storage *s, const char *k, ks_storage_cb cb, void *a) {
  return ks_storage_del(((race_storage *)s)->inner, k, cb, a);
}
static ks_storage *inner_of(ks_storage *s) {
  return ((race_storage *)s)->inner;
}
static int r_create(ks_storage *s, const char *k, ks_upload_cb cb, void *a) {
  return inner_of(s)->vt->upload_create(inner_of(s), k, cb, a);
}
static int r_part(ks_storage *s, ks_upload *up, int no, const void *d, size_t n,
                  ks_storage_cb cb, void *a) {
  return inner_of(s)->vt->upload_part(inner_of(s), up, no, d, n, cb, a);
}
static int r_complete(ks_storage *s, ks_upload *up, int if_absent,
                      ks_upload_done_cb cb, void *a) {
  return inner_of(s)->vt->upload_complete(inner_of(s), up, if_absent, cb, a);
}
static int r_abort(ks_storage *s, ks_upload *up, ks_storage_cb cb, void *a) {
  return inner_of(s)->vt->upload_abort(inner_of(s), up, cb, a);
}
static void r_close(ks_storage *s) {
  (void)s;
}

static const ks_storage_vtable race_vt = {.name = "race",
                                          .put = r_put,
                                          .put_if_absent = r_put_if_absent,
                                          .get = r_get,
                                          .list = r_list,
                                          .del = r_del,
                                          .upload_create = r_create,
                                          .upload_part = r_part,
                                          .upload_complete = r_complete,
                                          .upload_abort = r_abort,
                                          .close = r_close};

typedef struct fx {
  ks_storage_env env;
  race_storage rs;
  ks_delta_table *t;
  int calls, status;
  int64_t version;
  ks_delta_optimize_result res;
  int events[4];
  char last_abandoned[256];
} fx;

static const ks_colspec specs[] = {{"id", KS_COL_INT64, 0},
                                   {"name", KS_COL_STRING, 1}};
static const char schema[] =
    "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\","
    "\"nullable\":false,\"metadata\":{}},{\"name\":\"name\",\"type\":"
    "\"string\",\"nullable\":true,\"metadata\":{}},{\"name\":\"p\",\"type\":"
    "\"string\",\"nullable\":true,\"metadata\":{}}]}";

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  ks_storage_env_open(&f->env, "optimize", NULL);
  f->rs.base.vt = &race_vt;
  f->rs.base.loop = &f->env.loop;
  f->rs.inner = f->env.st;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ks_delta_table_free(f->t);
  ks_storage_env_close(&f->env);
  free(f);
  return 0;
}

static void on_done_cb(void *arg, int status) {
  fx *f = arg;
  f->calls++;
  f->status = status;
}

static void on_commit(void *arg, int status, int64_t version) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  f->version = version;
}

static void run(fx *f) {
  uv_run(&f->env.loop, UV_RUN_DEFAULT);
  assert_int_equal(f->calls, 1);
  f->calls = 0;
}

static int to_buf(void *arg, const uint8_t *data, size_t len) {
  return ks_buf_append(arg, data, len);
}

/* A Parquet file of n rows, ids from first, its stats JSON in stats. */
static void parquet(ks_buf *out, ks_buf *stats, int64_t first, size_t n) {
  ks_buf_init(out, 0);
  ks_buf_init(stats, 0);
  ks_pq_options o = {.codec = KS_CODEC_SNAPPY};
  ks_pq_writer *w = ks_pq_writer_new(specs, 2, &o, to_buf, out);
  ks_rowgroup rg;
  ks_rowgroup_init(&rg, specs, 2);
  for (size_t i = 0; i < n; i++) {
    char name[32];
    int len = snprintf(name, sizeof name, "n%lld", (long long)(first + i));
    ks_rowgroup_mark_row(&rg);
    ks_column_append_i64(&rg.cols[0], first + (int64_t)i);
    if (i % 4)
      ks_column_append_str(&rg.cols[1], name, (size_t)len);
    else
      ks_column_append_null(&rg.cols[1]);
    ks_rowgroup_commit_row(&rg);
  }
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), 0);
  assert_int_equal(ks_pq_writer_close(w), 0);
  ks_pq_colstats st[2] = {*ks_pq_writer_stats(w, 0), *ks_pq_writer_stats(w, 1)};
  assert_int_equal(ks_delta_stats_json(stats, (int64_t)n, specs, 2, st), 0);
  ks_buf_cstr(stats);
  ks_pq_writer_free(w);
  ks_rowgroup_free(&rg);
}

/* Files of 20 rows each: `parts[i]` their partition value ("a", "b"),
 * written to storage and committed in one commit. */
static void make_table(fx *f, const char *const *parts, size_t n) {
  f->t = ks_delta_table_new(&f->rs.base, "t");
  ks_delta_add *adds = calloc(n, sizeof *adds);
  ks_buf *files = calloc(n, sizeof *files), *stats = calloc(n, sizeof *stats);
  char **names = calloc(n, sizeof *names), **vals = calloc(n, sizeof *vals);
  for (size_t i = 0; i < n; i++) {
    parquet(&files[i], &stats[i], (int64_t)i * 20, 20);
    char path[64], key[80];
    snprintf(path, sizeof path, "p=%s/part-%zu.snappy.parquet", parts[i], i);
    snprintf(key, sizeof key, "t/%s", path);
    assert_int_equal(ks_storage_put(f->env.st, key, files[i].data, files[i].len,
                                    on_done_cb, f),
                     0);
    run(f);
    assert_int_equal(f->status, 0);
    names[i] = "p";
    vals[i] = (char *)parts[i];
    adds[i] = (ks_delta_add){.path = strdup(path),
                             .size = (int64_t)files[i].len,
                             .modification_time = 1000,
                             .num_records = 20,
                             .stats = (char *)stats[i].data,
                             .part_names = &names[i],
                             .part_values = &vals[i],
                             .nparts = 1};
  }
  /* the table is created with partition column p */
  ks_buf v0;
  ks_buf_init(&v0, 0);
  ks_delta_metadata m = {.id = "tbl",
                         .schema_string = (char *)schema,
                         .partition_columns = (char *[]){"p"},
                         .npartition_columns = 1,
                         .created_time = 1};
  ks_delta_write_protocol(&v0, 1, 2);
  ks_delta_write_metadata(&v0, &m);
  assert_int_equal(ks_storage_put_if_absent(f->env.st,
                                            "t/_delta_log/"
                                            "00000000000000000000.json",
                                            v0.data, v0.len, on_done_cb, f),
                   0);
  run(f);
  ks_buf_free(&v0);
  assert_int_equal(ks_delta_table_load(f->t, on_done_cb, f), 0);
  run(f);
  assert_int_equal(f->status, 0);
  ks_delta_commit_req req = {.adds = adds, .nadds = n, .operation = "WRITE"};
  assert_int_equal(ks_delta_commit(f->t, &req, on_commit, f), 0);
  run(f);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->version, 1);
  for (size_t i = 0; i < n; i++) {
    free(adds[i].path);
    ks_buf_free(&files[i]);
    ks_buf_free(&stats[i]);
  }
  free(adds);
  free(files);
  free(stats);
  free(names);
  free(vals);
}

static size_t part_size; /* of the new files' output streams; 0: default */
static int cancel_after_written;
static ks_delta_optimize *running;

static void on_report(void *arg, ks_delta_optimize_event ev,
                      const ks_delta_bin *b, const char *path,
                      const char *msg) {
  fx *f = arg;
  (void)b, (void)path;
  f->events[ev]++;
  if (ev == KS_OPT_BIN_WRITTEN && cancel_after_written)
    ks_delta_optimize_cancel(running);
  if (ev == KS_OPT_BIN_ABANDONED || ev == KS_OPT_INPUT_SKIPPED)
    snprintf(f->last_abandoned, sizeof f->last_abandoned, "%s", msg);
}

static void on_optimized(void *arg, int status,
                         const ks_delta_optimize_result *r) {
  fx *f = arg;
  f->calls++;
  f->status = status;
  f->res = *r;
}

static void optimize(fx *f, int64_t target) {
  memset(f->events, 0, sizeof f->events);
  ks_delta_optimize_opts o = {.target_size = target,
                              .ostream = {.part_size = part_size},
                              .engine_info = "ksink/test"};
  assert_int_equal(
      ks_delta_optimize_start(f->t, &o, on_report, on_optimized, f, &running),
      0);
  run(f);
}

static int exists(fx *f, const char *path) {
  char full[512];
  snprintf(full, sizeof full, "%s/t/%s", f->env.dir, path);
  struct stat sb;
  return stat(full, &sb) == 0;
}

static int64_t ids_in(fx *f, const char *path, int64_t *min, int64_t *max) {
  char full[512];
  snprintf(full, sizeof full, "%s/t/%s", f->env.dir, path);
  FILE *fp = fopen(full, "rb");
  assert_non_null(fp);
  ks_buf b;
  ks_buf_init(&b, 0);
  char tmp[8192];
  size_t k;
  while ((k = fread(tmp, 1, sizeof tmp, fp)) > 0)
    ks_buf_append(&b, tmp, k);
  fclose(fp);
  ks_pq_file *pf;
  char err[256];
  assert_int_equal(ks_pq_file_open(b.data, b.len, &pf, err, sizeof err), 0);
  ks_pq_rcolumn c;
  assert_int_equal(ks_pq_file_read_column(pf, 0, &c, err, sizeof err), 0);
  *min = INT64_MAX;
  *max = INT64_MIN;
  for (size_t i = 0; i < c.n; i++) {
    *min = c.vals[i].i < *min ? c.vals[i].i : *min;
    *max = c.vals[i].i > *max ? c.vals[i].i : *max;
  }
  int64_t n = (int64_t)c.n;
  ks_pq_rcolumn_free(&c);
  ks_pq_file_free(pf);
  ks_buf_free(&b);
  return n;
}

/* Files optimize wrote (part-00000-*) under the table's directory dir. */
static int new_files(fx *f, const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "find '%s/t/%s' -name 'part-00000-*' | wc -l",
           f->env.dir, dir);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  int n = -1;
  assert_int_equal(fscanf(p, "%d", &n), 1);
  pclose(p);
  return n;
}

static void test_run_partitions(void **state) {
  fx *f = *state;
  const char *parts[] = {"a", "a", "b", "a", "b", "c"};
  make_table(f, parts, 6);
  const ks_delta_snapshot *s = ks_delta_table_snapshot(f->t);
  int64_t rows = ks_delta_snapshot_rows(s);
  part_size = 512; /* the new files go out as multipart uploads */
  optimize(f, 1 << 20);
  part_size = 0;
  assert_int_equal(f->status, 0);
  assert_int_equal(f->res.version, 2);
  assert_int_equal(f->res.removed, 5);
  assert_int_equal(f->res.added, 2);
  assert_int_equal(f->res.rows, 100);
  assert_int_equal(f->events[KS_OPT_BIN_WRITTEN], 2);
  assert_int_equal(s->nfiles, 3); /* a, b, and c alone */
  assert_int_equal(ks_delta_snapshot_rows(s), rows);
  for (size_t i = 0; i < s->nfiles; i++) {
    const ks_delta_add *a = &s->files[i];
    assert_int_equal(a->nparts, 1);
    if (strcmp(a->part_values[0], "c") == 0) {
      assert_string_equal(a->path, "p=c/part-5.snappy.parquet");
      continue;
    }
    int is_a = strcmp(a->part_values[0], "a") == 0;
    assert_memory_equal(a->path, is_a ? "p=a/part-00000-" : "p=b/part-00000-",
                        15);
    int64_t lo, hi;
    assert_int_equal(ids_in(f, a->path, &lo, &hi), is_a ? 60 : 40);
    assert_int_equal(a->num_records, is_a ? 60 : 40);
    char want[256];
    snprintf(want, sizeof want,
             "{\"numRecords\":%d,\"minValues\":{\"id\":%d,\"name\":\"n%d\"},"
             "\"maxValues\":{\"id\":%d,\"name\":\"n%d\"},\"nullCount\":{"
             "\"id\":0,\"name\":%d}}",
             is_a ? 60 : 40, is_a ? 0 : 40, is_a ? 1 : 41, is_a ? 79 : 99,
             is_a ? 9 : 99, is_a ? 15 : 10);
    assert_string_equal(a->stats, want);
    assert_int_equal(lo, is_a ? 0 : 40);
    assert_int_equal(hi, is_a ? 79 : 99);
  }
  /* the entry: removes with their metadata, dataChange false, OPTIMIZE */
  char log[512];
  snprintf(log, sizeof log, "%s/t/_delta_log/00000000000000000002.json",
           f->env.dir);
  FILE *fp = fopen(log, "rb");
  assert_non_null(fp);
  char text[16384];
  size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = 0;
  fclose(fp);
  assert_non_null(strstr(text, "{\"remove\":{\"path\":\"p=a/part-0.snappy."
                               "parquet\",\"deletionTimestamp\":"));
  assert_non_null(strstr(text, ",\"dataChange\":false,\"extendedFileMetadata\""
                               ":true,\"partitionValues\":{\"p\":\"a\"},"
                               "\"size\":"));
  assert_non_null(strstr(text, "\"modificationTime\":"));
  assert_null(strstr(text, "\"dataChange\":true"));
  assert_non_null(strstr(text, "\"operation\":\"OPTIMIZE\""));
  assert_non_null(strstr(text, "\"isBlindAppend\":false"));
  /* the old files stay in storage (vacuum's job), tombstoned */
  assert_true(exists(f, "p=a/part-0.snappy.parquet"));
  assert_int_equal(s->nremoves, 5);

  /* a second run has nothing to do */
  optimize(f, 1 << 20);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->res.version, -1);
  assert_int_equal(f->events[KS_OPT_BIN_WRITTEN], 0);
}

/* The other writer's entry at the version optimize tries first. */
static void race(fx *f, const char *entry) {
  f->rs.race = entry;
}

static void test_append_race_is_retried(void **state) {
  fx *f = *state;
  const char *parts[] = {"a", "a", "a"};
  make_table(f, parts, 3);
  race(f, "{\"add\":{\"path\":\"p=a/other.parquet\",\"partitionValues\":{"
          "\"p\":\"a\"},\"size\":1,\"modificationTime\":1,\"dataChange\":"
          "true,\"stats\":\"{\\\"numRecords\\\":7}\"}}\n");
  optimize(f, 1 << 20);
  assert_int_equal(f->rs.raced, 1);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->res.version, 3); /* v2 went to the other writer */
  const ks_delta_snapshot *s = ks_delta_table_snapshot(f->t);
  assert_int_equal(s->nfiles, 2);
  assert_non_null(ks_delta_snapshot_file(s, "p=a/other.parquet"));
  assert_int_equal(ks_delta_snapshot_rows(s), 60 + 7);
}

static void test_remove_race_abandons_the_bin(void **state) {
  fx *f = *state;
  const char *parts[] = {"a", "a", "b", "b"};
  make_table(f, parts, 4);
  race(f, "{\"remove\":{\"path\":\"p=a/part-1.snappy.parquet\","
          "\"deletionTimestamp\":5,\"dataChange\":true}}\n");
  optimize(f, 1 << 20);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->res.version, 3);
  assert_int_equal(f->res.removed, 2);
  assert_int_equal(f->res.abandoned, 1);
  assert_int_equal(f->events[KS_OPT_BIN_ABANDONED], 1);
  assert_string_equal(f->last_abandoned,
                      "another commit removed one of its files or deleted "
                      "rows from it");
  const ks_delta_snapshot *s = ks_delta_table_snapshot(f->t);
  /* p=a/part-0 untouched, p=b rewritten into one */
  assert_int_equal(s->nfiles, 2);
  assert_non_null(ks_delta_snapshot_file(s, "p=a/part-0.snappy.parquet"));
  assert_int_equal(ks_delta_snapshot_rows(s), 60);
  /* the abandoned bin's new file is gone from p=a/ */
  assert_int_equal(new_files(f, "p=a"), 0);
  assert_int_equal(new_files(f, "p=b"), 1);
}

/* Another writer deletes rows from an input (remove, and the same path
 * again with a deletion vector): the file is still there, but not as it
 * was read; its bin is given up (its rewrite would hold the deleted rows
 * again) and the other bin commits. */
static void test_delete_race_abandons_the_bin(void **state) {
  fx *f = *state;
  const char *parts[] = {"a", "a", "b", "b"};
  make_table(f, parts, 4);
  race(f,
       "{\"remove\":{\"path\":\"p=a/part-1.snappy.parquet\","
       "\"deletionTimestamp\":5,\"dataChange\":true}}\n"
       "{\"add\":{\"path\":\"p=a/part-1.snappy.parquet\",\"partitionValues\":"
       "{\"p\":\"a\"},\"size\":1,\"modificationTime\":5,\"dataChange\":true,"
       "\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":"
       "\"ab^-aqEH.-t@S}K{vb[*k^\",\"offset\":1,\"sizeInBytes\":36,"
       "\"cardinality\":3}}}\n");
  optimize(f, 1 << 20);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->res.version, 3);
  assert_int_equal(f->res.abandoned, 1);
  assert_string_equal(f->last_abandoned,
                      "another commit removed one of its files or deleted "
                      "rows from it");
  const ks_delta_snapshot *s = ks_delta_table_snapshot(f->t);
  const ks_delta_add *a =
      ks_delta_snapshot_file(s, "p=a/part-1.snappy.parquet");
  assert_non_null(a);
  assert_non_null(a->dv_id); /* still there, with its deletion vector */
  assert_non_null(ks_delta_snapshot_file(s, "p=a/part-0.snappy.parquet"));
  assert_int_equal(new_files(f, "p=a"), 0);
  assert_int_equal(new_files(f, "p=b"), 1);
}

static void test_metadata_race_abandons_all(void **state) {
  fx *f = *state;
  const char *parts[] = {"a", "a", "b", "b"};
  make_table(f, parts, 4);
  race(f, "{\"metaData\":{\"id\":\"tbl\",\"format\":{\"provider\":"
          "\"parquet\"},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
          "\\\"fields\\\":[]}\",\"partitionColumns\":[\"p\"],"
          "\"configuration\":{}}}\n");
  optimize(f, 1 << 20);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->res.version, -1);
  assert_int_equal(f->res.abandoned, 2);
  const ks_delta_snapshot *s = ks_delta_table_snapshot(f->t);
  assert_int_equal(s->version, 2);
  assert_int_equal(s->nfiles, 4);
  assert_int_equal(new_files(f, ""), 0);
}

static void overwrite(fx *f, const char *path, const char *bytes) {
  char key[256];
  snprintf(key, sizeof key, "t/%s", path);
  assert_int_equal(
      ks_storage_put(f->env.st, key, bytes, strlen(bytes), on_done_cb, f), 0);
  run(f);
}

static void test_unreadable_and_missing_inputs(void **state) {
  fx *f = *state;
  const char *parts[] = {"a", "a", "a", "b", "b"};
  make_table(f, parts, 5);
  overwrite(f, "p=a/part-1.snappy.parquet", "not parquet at all");
  char full[512];
  snprintf(full, sizeof full, "%s/t/p=b/part-4.snappy.parquet", f->env.dir);
  assert_int_equal(unlink(full), 0);
  optimize(f, 1 << 20);
  assert_int_equal(f->status, 0);
  assert_int_equal(f->events[KS_OPT_INPUT_SKIPPED], 1);
  assert_int_equal(f->events[KS_OPT_BIN_ABANDONED], 1);
  assert_string_equal(f->last_abandoned,
                      "one of its files is missing from storage");
  assert_int_equal(f->res.removed, 2); /* p=a/part-0 and part-2 */
  const ks_delta_snapshot *s = ks_delta_table_snapshot(f->t);
  assert_non_null(ks_delta_snapshot_file(s, "p=a/part-1.snappy.parquet"));
  assert_null(ks_delta_snapshot_file(s, "p=a/part-0.snappy.parquet"));
  assert_non_null(ks_delta_snapshot_file(s, "p=b/part-3.snappy.parquet"));
  assert_int_equal(s->nfiles, 4);
}

/* A stop during the run: the written bin's file is deleted, nothing is
 * committed; a cancel before the first step commits nothing either. */
static void test_cancel(void **state) {
  fx *f = *state;
  const char *parts[] = {"a", "a", "b", "b"};
  make_table(f, parts, 4);
  cancel_after_written = 1;
  optimize(f, 1 << 20);
  cancel_after_written = 0;
  assert_int_equal(f->status, KS_ECANCELED);
  assert_int_equal(f->events[KS_OPT_BIN_WRITTEN], 1);
  assert_int_equal(f->res.version, -1);
  const ks_delta_snapshot *s = ks_delta_table_snapshot(f->t);
  assert_int_equal(s->version, 1);
  assert_int_equal(s->nfiles, 4);
  assert_int_equal(new_files(f, ""), 0);

  ks_delta_optimize_opts o = {.target_size = 1 << 20};
  assert_int_equal(
      ks_delta_optimize_start(f->t, &o, NULL, on_optimized, f, &running), 0);
  ks_delta_optimize_cancel(running);
  run(f);
  assert_int_equal(f->status, KS_ECANCELED);
  assert_int_equal(ks_delta_table_snapshot(f->t)->version, 1);
  assert_int_equal(new_files(f, ""), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stats_merge),
      cmocka_unit_test(test_plan),
      cmocka_unit_test_setup_teardown(test_run_partitions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_append_race_is_retried, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_remove_race_abandons_the_bin, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_delete_race_abandons_the_bin, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_metadata_race_abandons_all, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_unreadable_and_missing_inputs, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
