/*
 * Nested columns and string bounds: the levels a shredder produces through
 * the public append API for lists, maps, empty and null containers, the row
 * protocol's rollback of a multi-entry row, the checks a row group must
 * pass, and the truncation of long string bounds. Files with these shapes
 * are read back by three readers in test/conformance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "storage/parquet/internal.h"

static int sink_null(void *arg, const uint8_t *p, size_t n) {
  (void)p;
  *(size_t *)arg += n;
  return 0;
}

/* a: OPTIONAL LIST of OPTIONAL struct {b: OPTIONAL INT64};
 * m: OPTIONAL MAP<string, OPTIONAL STRING> */
static ks_pq_schema *example_schema(void) {
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_node *root = ks_pq_schema_root(s);
  ks_pq_node *el = ks_pq_add_struct(ks_pq_add_list(root, "a", KS_PQ_OPTIONAL),
                                    "element", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(el, "b", KS_PQ_OPTIONAL, KS_COL_INT64);
  ks_pq_add_leaf(ks_pq_add_map(root, "m", KS_PQ_OPTIONAL), "value",
                 KS_PQ_OPTIONAL, KS_COL_STRING);
  assert_int_equal(ks_pq_schema_finish(s), 0);
  return s;
}

static void levels(const ks_column *c, const char *want_rep,
                   const char *want_def) {
  size_t n = c->defs.len;
  assert_int_equal(n, strlen(want_def));
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(c->defs.data[i], want_def[i] - '0');
    if (c->max_rep)
      assert_int_equal(c->reps.data[i], want_rep[i] - '0');
  }
}

static void nested_levels(void **state) {
  (void)state;
  ks_pq_schema *s = example_schema();
  assert_int_equal(ks_pq_schema_nleaves(s), 3);
  const ks_pq_node *b = ks_pq_schema_leaf(s, 0), *k = ks_pq_schema_leaf(s, 1),
                   *v = ks_pq_schema_leaf(s, 2);
  assert_string_equal(b->name, "b");
  assert_int_equal(b->max_def, 4);
  assert_int_equal(b->max_rep, 1);
  assert_string_equal(k->name, "key");
  assert_int_equal(k->max_def, 2);
  assert_int_equal(v->max_def, 3);

  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, s);
  ks_column *cb = &rg.cols[0], *ck = &rg.cols[1], *cv = &rg.cols[2];
  /* {"a": [{"b": null}, {"b": 1}], "m": {"k": "v"}} */
  ks_rowgroup_mark_row(&rg);
  assert_int_equal(ks_column_append_levels(cb, 0, 3), 0);
  assert_int_equal(ks_column_append_i64_rep(cb, 1, 1), 0);
  assert_int_equal(ks_column_append_str_rep(ck, 0, "k", 1), 0);
  assert_int_equal(ks_column_append_str_rep(cv, 0, "v", 1), 0);
  ks_rowgroup_commit_row(&rg);
  /* {"a": [], "m": null} */
  ks_rowgroup_mark_row(&rg);
  assert_int_equal(ks_column_append_levels(cb, 0, 1), 0);
  assert_int_equal(ks_column_append_levels(ck, 0, 0), 0);
  assert_int_equal(ks_column_append_levels(cv, 0, 0), 0);
  ks_rowgroup_commit_row(&rg);
  /* {"a": [null, {}], "m": {"x": null, "y": "z"}}, then rolled back */
  ks_rowgroup_mark_row(&rg);
  assert_int_equal(ks_column_append_levels(cb, 0, 2), 0);
  assert_int_equal(ks_column_append_levels(cb, 1, 3), 0);
  assert_int_equal(ks_column_append_str_rep(ck, 0, "x", 1), 0);
  assert_int_equal(ks_column_append_levels(cv, 0, 2), 0);
  ks_rowgroup_rollback_row(&rg);
  /* the same row again, committed */
  ks_rowgroup_mark_row(&rg);
  assert_int_equal(ks_column_append_levels(cb, 0, 2), 0);
  assert_int_equal(ks_column_append_levels(cb, 1, 3), 0);
  assert_int_equal(ks_column_append_str_rep(ck, 0, "x", 1), 0);
  assert_int_equal(ks_column_append_levels(cv, 0, 2), 0);
  assert_int_equal(ks_column_append_str_rep(ck, 1, "y", 1), 0);
  assert_int_equal(ks_column_append_str_rep(cv, 1, "z", 1), 0);
  ks_rowgroup_commit_row(&rg);

  levels(cb, "01001", "34123");
  levels(ck, "0001", "2022");
  levels(cv, "0001", "3023");
  assert_int_equal(cb->nvalues, 1);
  assert_int_equal(cv->nvalues, 2);

  /* out-of-range levels are refused at append time */
  assert_int_equal(ks_column_append_levels(cb, 2, 1), KS_EINVAL);
  assert_int_equal(ks_column_append_levels(cb, 0, 4), KS_EINVAL);
  assert_int_equal(ks_column_append_i64_rep(cb, 2, 5), KS_EINVAL);

  size_t bytes = 0;
  ks_pq_writer *w = ks_pq_writer_new_schema(s, NULL, sink_null, &bytes);
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), 0);
  /* a row count that disagrees with the rep-0 entries is refused */
  rg.nrows = 4;
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), KS_EINVAL);
  rg.nrows = 3;
  /* a continuation entry first in a column is refused */
  ks_rowgroup_reset(&rg);
  ks_column_append_i64_rep(cb, 1, 1);
  ks_column_append_levels(ck, 0, 0);
  ks_column_append_levels(cv, 0, 0);
  rg.nrows = 1;
  assert_int_equal(ks_pq_writer_write_rowgroup(w, &rg), KS_EINVAL);
  assert_int_equal(ks_pq_writer_close(w), 0);
  assert_int_equal(ks_pq_writer_rows(w), 3);
  const ks_pq_colstats *st = ks_pq_writer_stats(w, 0);
  assert_int_equal(st->null_count, 4);
  assert_int_equal(st->min.i, 1);
  assert_int_equal(ks_pq_writer_stats(w, 1)->null_count, 1);
  ks_pq_writer_free(w);
  ks_rowgroup_free(&rg);
  ks_pq_schema_free(s);
}

/* The encoder's own check of a column's levels (eight at a time, then
 * the tail): every length up to 40 entries, and every single bad level,
 * value count or row count at every position, is caught. */
static void check_column_catches_every_flaw(void **state) {
  (void)state;
  ks_pq_schema *s = example_schema();
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, s);
  ks_column *c = &rg.cols[0]; /* b: max_def 4, max_rep 1 */
  uint8_t def[40], rep[40];
  for (size_t E = 0; E <= 40; E++) {
    size_t values = 0, rows = 0;
    for (size_t e = 0; e < E; e++) {
      def[e] = (uint8_t)((e * 7 + E) % 5);
      rep[e] = e == 0 || (e * 3 + E) % 4 == 0 ? 0 : 1;
      values += def[e] == 4;
      rows += rep[e] == 0;
    }
    ks_rowgroup_reset(&rg);
    uint8_t zero[8 * 40] = {0};
    assert_int_equal(ks_buf_append(&c->defs, def, E), 0);
    assert_int_equal(ks_buf_append(&c->reps, rep, E), 0);
    assert_int_equal(ks_buf_append(&c->values, zero, 8 * values), 0);
    c->nvalues = values;
    assert_int_equal(ks__pq_check_column(c, rows), 0);
    assert_int_equal(ks__pq_check_column(c, rows + 1), KS_EINVAL);
    c->nvalues = values + 1;
    c->values.len += 8;
    assert_int_equal(ks__pq_check_column(c, rows), KS_EINVAL);
    c->nvalues = values;
    c->values.len -= 8;
    for (size_t e = 0; e < E; e++) {
      c->defs.data[e] = 5; /* past max_def */
      assert_int_equal(ks__pq_check_column(c, rows), KS_EINVAL);
      c->defs.data[e] = 0x80 | 4;
      assert_int_equal(ks__pq_check_column(c, rows), KS_EINVAL);
      c->defs.data[e] = def[e];
      c->reps.data[e] = 2; /* past max_rep */
      assert_int_equal(ks__pq_check_column(c, rows), KS_EINVAL);
      c->reps.data[e] = rep[e];
    }
    if (E) {
      c->reps.data[0] = 1; /* a first entry that continues a row */
      assert_int_equal(ks__pq_check_column(c, rows - 1), KS_EINVAL);
      c->reps.data[0] = 0;
    }
    assert_int_equal(ks__pq_check_column(c, rows), 0);
  }
  ks_rowgroup_free(&rg);
  ks_pq_schema_free(s);
}

static void schema_shapes(void **state) {
  (void)state;
  /* a LIST without its element, a group without children */
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_add_list(ks_pq_schema_root(s), "l", KS_PQ_OPTIONAL);
  assert_int_equal(ks_pq_schema_finish(s), KS_EINVAL);
  ks_pq_schema_free(s);
  s = ks_pq_schema_new();
  ks_pq_add_struct(ks_pq_schema_root(s), "g", KS_PQ_OPTIONAL);
  assert_int_equal(ks_pq_schema_finish(s), KS_EINVAL);
  ks_pq_schema_free(s);
  s = ks_pq_schema_new();
  ks_pq_add_decimal(ks_pq_schema_root(s), "d", KS_PQ_OPTIONAL, 39, 0);
  assert_int_equal(ks_pq_schema_finish(s), KS_EINVAL);
  ks_pq_schema_free(s);
  /* 128 nested optional structs: levels past one byte */
  s = ks_pq_schema_new();
  ks_pq_node *n = ks_pq_schema_root(s);
  for (int i = 0; i < 128; i++)
    n = ks_pq_add_struct(n, "g", KS_PQ_OPTIONAL);
  ks_pq_add_leaf(n, "x", KS_PQ_OPTIONAL, KS_COL_INT32);
  assert_int_equal(ks_pq_schema_finish(s), KS_EINVAL);
  ks_pq_schema_free(s);
  /* DECIMAL widths: 38 digits take 16 bytes, 19 take 9 */
  assert_int_equal(ks_pq_decimal_width(38), 16);
  assert_int_equal(ks_pq_decimal_width(19), 9);
  assert_int_equal(ks_pq_decimal_width(18), 8);
}

static void decimal_range(void **state) {
  (void)state;
  ks_pq_schema *s = ks_pq_schema_new();
  ks_pq_add_decimal(ks_pq_schema_root(s), "d", KS_PQ_REQUIRED, 3, 1);
  assert_int_equal(ks_pq_schema_finish(s), 0);
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, s);
  assert_int_equal(ks_column_append_decimal(&rg.cols[0], 0, 999), 0);
  assert_int_equal(ks_column_append_decimal(&rg.cols[0], 0, -999), 0);
  assert_int_equal(ks_column_append_decimal(&rg.cols[0], 0, 1000), KS_EINVAL);
  assert_int_equal(rg.cols[0].values.len, 8); /* INT32 storage */
  ks_rowgroup_free(&rg);
  ks_pq_schema_free(s);
  /* the largest value of each precision in, the next one out, across the
   * INT32 / INT64 / FIXED_LEN_BYTE_ARRAY storage steps */
  static const int precisions[] = {1, 9, 10, 18, 19, 20, 36, 37, 38};
  for (size_t i = 0; i < sizeof precisions / sizeof *precisions; i++) {
    int p = precisions[i];
    s = ks_pq_schema_new();
    ks_pq_add_decimal(ks_pq_schema_root(s), "d", KS_PQ_REQUIRED, p, 0);
    assert_int_equal(ks_pq_schema_finish(s), 0);
    ks_rowgroup_init_schema(&rg, s);
    ks_int128 lim = 1;
    for (int k = 0; k < p; k++)
      lim *= 10;
    ks_column *c = &rg.cols[0];
    assert_int_equal(ks_column_append_decimal(c, 0, lim - 1), 0);
    assert_int_equal(ks_column_append_decimal(c, 0, -(lim - 1)), 0);
    assert_int_equal(ks_column_append_decimal(c, 0, lim), KS_EINVAL);
    assert_int_equal(ks_column_append_decimal(c, 0, -lim), KS_EINVAL);
    assert_int_equal(c->nvalues, 2);
    assert_int_equal(c->defs.len, 2);
    ks_rowgroup_free(&rg);
    ks_pq_schema_free(s);
  }
}

/* What each buffer holds, to see that a refused append left nothing. */
typedef struct col_lens {
  size_t values, lens, defs, reps, nvalues;
} col_lens;

static col_lens lens_of(const ks_column *c) {
  return (col_lens){c->values.len, c->lens.len, c->defs.len, c->reps.len,
                    c->nvalues};
}

static void same_lens(const ks_column *c, col_lens want) {
  col_lens got = lens_of(c);
  assert_int_equal(got.values, want.values);
  assert_int_equal(got.lens, want.lens);
  assert_int_equal(got.defs, want.defs);
  assert_int_equal(got.reps, want.reps);
  assert_int_equal(got.nvalues, want.nvalues);
}

/* The appends' inline common case and their out-of-line rest agree: up to
 * each buffer's cap every append lands whole, past it (values, lengths,
 * levels, in turn) or with a repetition level out of range nothing does. */
static void appends_at_caps(void **state) {
  (void)state;
  ks_pq_schema *s = example_schema();
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, s);
  ks_column *b = &rg.cols[0], *v = &rg.cols[2]; /* INT64 and STRING, rep 1 */
  col_lens was = lens_of(b);
  assert_int_equal(ks_column_append_i64_rep(b, 2, 7), KS_EINVAL);
  assert_int_equal(ks_column_append_i64_rep(b, -1, 7), KS_EINVAL);
  same_lens(b, was);
  was = lens_of(v);
  assert_int_equal(ks_column_append_str_rep(v, 2, "x", 1), KS_EINVAL);
  assert_int_equal(ks_column_append_str_rep(v, -1, "x", 1), KS_EINVAL);
  same_lens(v, was);

  /* values: room for two INT64s; the buffer's allocation may be larger */
  b->values.max = 16;
  assert_int_equal(ks_column_append_i64_rep(b, 0, 1), 0);
  assert_int_equal(ks_column_append_i64_rep(b, 1, 2), 0);
  was = lens_of(b);
  assert_int_equal(ks_column_append_i64_rep(b, 1, 3), KS_ETOOBIG);
  same_lens(b, was);
  levels(b, "01", "44");
  /* definition levels: full at three entries */
  b->values.max = KS_BUF_UNLIMITED;
  b->defs.max = 3;
  assert_int_equal(ks_column_append_i64_rep(b, 1, 3), 0);
  was = lens_of(b);
  assert_int_equal(ks_column_append_i64_rep(b, 0, 4), KS_ETOOBIG);
  same_lens(b, was);
  /* repetition levels: full one entry sooner than the definition levels */
  b->defs.max = 5;
  b->reps.max = 4;
  assert_int_equal(ks_column_append_i64_rep(b, 1, 4), 0);
  was = lens_of(b);
  assert_int_equal(ks_column_append_i64_rep(b, 1, 5), KS_ETOOBIG);
  same_lens(b, was);
  levels(b, "0111", "4444");
  int64_t got[4];
  memcpy(got, b->values.data, sizeof got);
  for (int i = 0; i < 4; i++)
    assert_int_equal(got[i], i + 1);

  /* strings: the bytes, then the length, then the levels */
  v->values.max = 5;
  assert_int_equal(ks_column_append_str_rep(v, 0, "abc", 3), 0);
  was = lens_of(v);
  assert_int_equal(ks_column_append_str_rep(v, 1, "def", 3), KS_ETOOBIG);
  same_lens(v, was);
  v->values.max = KS_BUF_UNLIMITED;
  v->lens.max = 8;
  assert_int_equal(ks_column_append_str_rep(v, 1, "de", 2), 0);
  was = lens_of(v);
  assert_int_equal(ks_column_append_str_rep(v, 1, "f", 1), KS_ETOOBIG);
  same_lens(v, was);
  v->lens.max = KS_BUF_UNLIMITED;
  v->defs.max = 2;
  assert_int_equal(ks_column_append_str_rep(v, 0, "f", 1), KS_ETOOBIG);
  same_lens(v, was);
  /* a string built in pieces: refused at its end, its bytes go too */
  size_t start;
  ks_column_str_begin(v, &start);
  assert_int_equal(ks_buf_append(&v->values, "ghi", 3), 0);
  assert_int_equal(ks_column_str_end_rep(v, start, 1), KS_ETOOBIG);
  same_lens(v, was);
  v->defs.max = KS_BUF_UNLIMITED;
  ks_column_str_begin(v, &start);
  assert_int_equal(ks_buf_append(&v->values, "ghi", 3), 0);
  assert_int_equal(ks_column_str_end_rep(v, start, 1), 0);
  levels(v, "011", "333");
  assert_int_equal(v->values.len, 8);
  assert_memory_equal(v->values.data, "abcdeghi", 8);
  uint32_t l[3];
  memcpy(l, v->lens.data, sizeof l);
  assert_int_equal(l[0], 3);
  assert_int_equal(l[1], 2);
  assert_int_equal(l[2], 3);
  ks_rowgroup_free(&rg);
  ks_pq_schema_free(s);
}

static void bound(const char *s, size_t max, const char *want_min,
                  const char *want_max) {
  size_t n = strlen(s);
  size_t m = ks__pq_trunc_min((const uint8_t *)s, n, max);
  assert_int_equal(m, strlen(want_min));
  assert_memory_equal(s, want_min, m);
  uint8_t out[64];
  size_t on = 0;
  int has = ks__pq_trunc_max((const uint8_t *)s, n, max, out, &on);
  if (!want_max) {
    assert_int_equal(has, 0);
    return;
  }
  assert_int_equal(has, 1);
  assert_int_equal(on, strlen(want_max));
  assert_memory_equal(out, want_max, on);
}

static void string_bounds(void **state) {
  (void)state;
  bound("abcdef", 3, "abc", "abd");
  bound("ab\xc3\xa9z", 3, "ab", "ac"); /* no cut inside é */
  bound("a\xc3\xa9z", 3, "a\xc3\xa9", "a\xc3\xaa");
  bound("az\x7f\x7fq", 3, "az\x7f", "az\xc2\x80"); /* U+007F + 1 */
  /* U+10FFFF cannot grow: the previous code point is incremented */
  bound("a\xf4\x8f\xbf\xbfzz", 5, "a\xf4\x8f\xbf\xbf", "b");
  bound("\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbfz", 8,
        "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf", NULL);
  /* U+D7FF + 1 skips the surrogates */
  bound("\xed\x9f\xbfxy", 3, "\xed\x9f\xbf", "\xee\x80\x80");
  /* bytes that are not UTF-8: byte-wise */
  bound("a\xff\xfe\xff\xffq", 5, "a\xff\xfe\xff\xff", "a\xff\xff");
  bound("\xff\xff\xff\xff", 3, "\xff\xff\xff", NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nested_levels),
      cmocka_unit_test(schema_shapes),
      cmocka_unit_test(check_column_catches_every_flaw),
      cmocka_unit_test(decimal_range),
      cmocka_unit_test(appends_at_caps),
      cmocka_unit_test(string_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
