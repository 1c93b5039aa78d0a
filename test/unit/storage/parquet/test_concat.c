/*
 * Parquet concatenation (storage/parquet/concat.c): files written by
 * ksink's writer with different codecs, encodings, row groups and several
 * pages per chunk are concatenated; the result is read back by ksink's
 * reader (every column entry equal to the inputs' in order), by DuckDB
 * (test/tools/pq_read.mjs: the rows of the inputs, in order) and accepted
 * again as a concatenation input (offsets, offset indexes and chunk ranges
 * all consistent). Inputs with another schema, truncated or foreign bytes
 * are refused without writing anything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/ks.h"
#include "storage/parquet/concat.h"
#include "storage/parquet/reader.h"
#include "storage/parquet/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const ks_colspec specs[] = {{"id", KS_COL_INT64, 0},
                                   {"name", KS_COL_STRING, 1},
                                   {"d", KS_COL_DOUBLE, 1},
                                   {"ts", KS_COL_TIMESTAMP, 1}};
static const ks_colspec other[] = {{"id", KS_COL_INT64, 0},
                                   {"name", KS_COL_STRING, 0}};

static int to_buf(void *arg, const uint8_t *data, size_t len) {
  return ks_buf_append(arg, data, len);
}

/* A file of `rgs` row groups of `n` rows each, ids from first. */
static void make_file(ks_buf *out, const ks_colspec *sp, size_t ncols,
                      int64_t first, size_t rgs, size_t n,
                      const ks_pq_options *opt) {
  ks_buf_init(out, 0);
  ks_pq_writer *w = ks_pq_writer_new(sp, ncols, opt, to_buf, out);
  assert_non_null(w);
  ks_rowgroup rg;
  ks_rowgroup_init(&rg, sp, ncols);
  int64_t id = first;
  for (size_t g = 0; g < rgs; g++) {
    for (size_t i = 0; i < n; i++, id++) {
      char name[32];
      int len = snprintf(name, sizeof name, "name-%lld", (long long)(id % 37));
      ks_rowgroup_mark_row(&rg);
      assert_int_equal(ks_column_append_i64(&rg.cols[0], id), 0);
      if (ncols == 2 || id % 5)
        assert_int_equal(ks_column_append_str(&rg.cols[1], name, (size_t)len),
                         0);
      else
        assert_int_equal(ks_column_append_null(&rg.cols[1]), 0);
      if (ncols == 4 && id % 7)
        assert_int_equal(ks_column_append_double(&rg.cols[2], id * 0.5), 0);
      else if (ncols == 4)
        assert_int_equal(ks_column_append_null(&rg.cols[2]), 0);
      if (ncols == 4)
        assert_int_equal(ks_column_append_i64(&rg.cols[3], id * 1000000), 0);
      ks_rowgroup_commit_row(&rg);
    }
    assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), 0);
    ks_rowgroup_reset(&rg);
  }
  assert_int_equal(ks_pq_writer_close(w), 0);
  ks_pq_writer_free(w);
  ks_rowgroup_free(&rg);
}

static void read_col(const ks_buf *file, size_t leaf, ks_pq_rcolumn *c) {
  ks_pq_file *f;
  char err[256];
  assert_int_equal(ks_pq_file_open(file->data, file->len, &f, err, sizeof err),
                   0);
  int rc = ks_pq_file_read_column(f, leaf, c, err, sizeof err);
  if (rc)
    fail_msg("column %zu: %s", leaf, err);
  ks_pq_file_free(f);
}

/* Entry k of column c, as text, for comparison across files (a string's
 * bytes, not its offset into the column's blob). */
static void entry(const ks_pq_rcolumn *c, size_t k, int is_string, char *out,
                  size_t n) {
  const ks_pq_rval *v = &c->vals[k];
  if (c->defs[k] == 0)
    snprintf(out, n, "r%d null", c->reps[k]);
  else if (is_string)
    snprintf(out, n, "r%d s%.*s", c->reps[k], (int)v->s.len,
             (const char *)c->blob.data + v->s.off);
  else
    snprintf(out, n, "r%d i%lld", c->reps[k], (long long)v->i);
}

/* Every column of out equals the inputs' columns one after another. */
static void assert_columns(const ks_buf *out, const ks_buf *ins, size_t nin) {
  for (size_t leaf = 0; leaf < 4; leaf++) {
    ks_pq_rcolumn got;
    read_col(out, leaf, &got);
    size_t at = 0;
    for (size_t i = 0; i < nin; i++) {
      ks_pq_rcolumn want;
      read_col(&ins[i], leaf, &want);
      for (size_t k = 0; k < want.n; k++, at++) {
        assert_true(at < got.n);
        char a[128], b[128];
        entry(&got, at, leaf == 1, a, sizeof a);
        entry(&want, k, leaf == 1, b, sizeof b);
        if (strcmp(a, b) != 0)
          fail_msg("leaf %zu entry %zu: %s, want %s", leaf, at, a, b);
      }
      ks_pq_rcolumn_free(&want);
    }
    assert_int_equal(at, got.n);
    ks_pq_rcolumn_free(&got);
  }
}

static void write_file(const char *path, const ks_buf *b) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
  assert_int_equal(fclose(f), 0);
}

/* The "row" lines DuckDB prints for a file. */
static void duckdb_rows(const char *path, ks_buf *rows) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "node '%s/test/tools/pq_read.mjs' '%s' 2>&1",
           KS_SOURCE_DIR, path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char line[4096];
  ks_buf all;
  ks_buf_init(&all, 0);
  while (fgets(line, sizeof line, p)) {
    ks_buf_append_str(&all, line);
    if (strncmp(line, "row\t", 4) == 0)
      ks_buf_append_str(rows, line);
  }
  int st = pclose(p);
  if (st != 0)
    fail_msg("pq_read.mjs %s failed (%d): %.*s", path, st, (int)all.len,
             (const char *)all.data);
  ks_buf_free(&all);
}

static void test_concat_reads_back(void **state) {
  (void)state;
  ks_buf in[3], out;
  ks_pq_options o1 = {.codec = KS_CODEC_SNAPPY, .page_bytes = 2048};
  ks_pq_options o2 = {.codec = KS_CODEC_ZSTD,
                      .no_dictionary = 1,
                      .page_v2 = 1,
                      .page_bytes = 4096};
  ks_pq_options o3 = {.codec = KS_CODEC_NONE};
  make_file(&in[0], specs, 4, 0, 2, 1000, &o1);
  make_file(&in[1], specs, 4, 2000, 1, 700, &o2);
  make_file(&in[2], specs, 4, 2700, 3, 50, &o3);
  ks_buf_init(&out, 0);
  ks_pq_concat *c = ks_pq_concat_new(to_buf, &out);
  char err[256];
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        ks_pq_concat_add(c, in[i].data, in[i].len, err, sizeof err), 0);
  assert_int_equal(ks_pq_concat_files(c), 3);
  assert_int_equal(ks_pq_concat_rows(c), 2000 + 700 + 150);
  assert_int_equal(ks_pq_concat_finish(c), 0);
  assert_int_equal(ks_pq_concat_bytes(c), out.len);
  ks_pq_concat_free(c);

  ks_pq_file *f;
  assert_int_equal(ks_pq_file_open(out.data, out.len, &f, err, sizeof err), 0);
  assert_int_equal(ks_pq_file_rows(f), 2850);
  assert_int_equal(ks_pq_file_nleaves(f), 4);
  ks_pq_file_free(f);
  assert_columns(&out, in, 3);

  /* the output is a valid input again: every offset it states checks */
  ks_buf twice;
  ks_buf_init(&twice, 0);
  c = ks_pq_concat_new(to_buf, &twice);
  assert_int_equal(ks_pq_concat_add(c, out.data, out.len, err, sizeof err), 0);
  assert_int_equal(ks_pq_concat_add(c, in[1].data, in[1].len, err, sizeof err),
                   0);
  assert_int_equal(ks_pq_concat_finish(c), 0);
  ks_pq_concat_free(c);
  ks_buf again[4] = {in[0], in[1], in[2], in[1]};
  assert_columns(&twice, again, 4);

  /* DuckDB: the inputs' rows, in order */
  char dir[] = "/tmp/ks-concat-XXXXXX", path[128];
  assert_non_null(mkdtemp(dir));
  ks_buf want, got;
  ks_buf_init(&want, 0);
  ks_buf_init(&got, 0);
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/in%d.parquet", dir, i);
    write_file(path, &in[i]);
    duckdb_rows(path, &want);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/out.parquet", dir);
  write_file(path, &out);
  duckdb_rows(path, &got);
  unlink(path);
  rmdir(dir);
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, want.len);
  ks_buf_free(&want);
  ks_buf_free(&got);
  ks_buf_free(&twice);
  for (int i = 0; i < 3; i++)
    ks_buf_free(&in[i]);
  ks_buf_free(&out);
}

static void test_refused_inputs_write_nothing(void **state) {
  (void)state;
  ks_buf a, b, out;
  ks_pq_options o = {.codec = KS_CODEC_SNAPPY};
  make_file(&a, specs, 4, 0, 1, 100, &o);
  make_file(&b, other, 2, 0, 1, 100, &o);
  ks_buf_init(&out, 0);
  ks_pq_concat *c = ks_pq_concat_new(to_buf, &out);
  char err[256];
  assert_int_equal(ks_pq_concat_finish(c), KS_EINVAL); /* nothing added */
  assert_int_equal(ks_pq_concat_add(c, a.data, a.len, err, sizeof err), 0);
  size_t len = out.len;
  assert_int_equal(ks_pq_concat_add(c, b.data, b.len, err, sizeof err),
                   KS_ESCHEMA);
  assert_non_null(strstr(err, "schema differs"));
  assert_int_equal(ks_pq_concat_add(c, a.data, a.len - 9, err, sizeof err),
                   KS_ECORRUPT);
  assert_int_equal(
      ks_pq_concat_add(c, (const uint8_t *)"PAR1", 4, err, sizeof err),
      KS_ECORRUPT);
  /* a footer length pointing before the file */
  ks_buf bad;
  ks_buf_init(&bad, 0);
  ks_buf_append(&bad, a.data, a.len);
  bad.data[bad.len - 6] = 0x7f;
  assert_int_equal(ks_pq_concat_add(c, bad.data, bad.len, err, sizeof err),
                   KS_ECORRUPT);
  /* every byte of the footer flipped in turn: refused or accepted, never
   * out of bounds (ASan watches) */
  uint32_t flen = (uint32_t)a.data[a.len - 8] |
                  (uint32_t)a.data[a.len - 7] << 8 |
                  (uint32_t)a.data[a.len - 6] << 16;
  for (size_t i = a.len - 8 - flen; i < a.len - 8; i++) {
    memcpy(bad.data, a.data, a.len);
    bad.data[i] ^= 0x5a;
    ks_buf scratch;
    ks_buf_init(&scratch, 0);
    ks_pq_concat *d = ks_pq_concat_new(to_buf, &scratch);
    if (ks_pq_concat_add(d, bad.data, bad.len, err, sizeof err) == 0)
      (void)ks_pq_concat_finish(d);
    ks_pq_concat_free(d);
    ks_buf_free(&scratch);
  }
  ks_buf_free(&bad);
  assert_int_equal(out.len, len);
  assert_int_equal(ks_pq_concat_files(c), 1);
  assert_int_equal(ks_pq_concat_add(c, a.data, a.len, err, sizeof err), 0);
  assert_int_equal(ks_pq_concat_finish(c), 0);
  ks_pq_concat_free(c);
  ks_buf ins[2] = {a, a};
  assert_columns(&out, ins, 2);
  ks_buf_free(&a);
  ks_buf_free(&b);
  ks_buf_free(&out);
}

static int failing_sink(void *arg, const uint8_t *data, size_t len) {
  (void)data, (void)len;
  int *calls = arg;
  return ++*calls > 1 ? KS_EIO : 0;
}

static void test_sink_error_fails(void **state) {
  (void)state;
  ks_buf a;
  ks_pq_options o = {.codec = KS_CODEC_NONE};
  make_file(&a, specs, 4, 0, 2, 100, &o);
  int calls = 0;
  ks_pq_concat *c = ks_pq_concat_new(failing_sink, &calls);
  char err[64];
  assert_int_equal(ks_pq_concat_add(c, a.data, a.len, err, sizeof err), KS_EIO);
  assert_int_equal(ks_pq_concat_finish(c), KS_EIO);
  ks_pq_concat_free(c);
  ks_buf_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concat_reads_back),
      cmocka_unit_test(test_refused_inputs_write_nothing),
      cmocka_unit_test(test_sink_error_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
