/*
 * Helpers of test_writer.c (included by it): deterministic column data,
 * the text pq_read.mjs should print for it, the page walker and the
 * DuckDB runner. Kept apart so each file reads in one sitting.
 */
/* NULLS_RUNS: runs of 10 nulls and 13 values, so levels mix RLE runs
 * and bit-packed groups */
enum { NULLS_NONE, NULLS_SOME, NULLS_ALL, NULLS_RUNS };

typedef struct tcase {
  const ks_colspec *specs;
  const int *nulls; /* per column, NULLS_* */
  size_t ncols;
  const size_t *rg_rows; /* rows of each row group */
  size_t nrg;
  ks_pq_options opt;
  const double *dvals; /* DOUBLE values to cycle through, or NULL */
  size_t ndvals;
} tcase;

/* what a case produced */
typedef struct tresult {
  size_t pages;
  size_t max_sink; /* largest single sink call */
  uint64_t size;
} tresult;

static char tmpdir[] = "/tmp/ks_pq_test_XXXXXX";

/* ---- deterministic data --------------------------------------------- */

static int is_null(int mode, size_t g) {
  return mode == NULLS_ALL || (mode == NULLS_SOME && g % 3 == 1) ||
         (mode == NULLS_RUNS && g % 23 < 10);
}

static int gen_bool(size_t g) {
  return (g * 7) % 5 < 2;
}
static int32_t gen_i32(size_t g) {
  return (int32_t)(uint32_t)(g * 2654435761u);
}
static int64_t gen_i64(size_t g) {
  return (int64_t)(g * 1000003) * (g % 2 ? -1 : 1) + 42;
}
static double gen_double(const tcase *tc, size_t g) {
  if (tc->dvals)
    return tc->dvals[g % tc->ndvals];
  return (double)((long)((g * 37) % 4001) - 2000) / 4.0;
}
static int64_t gen_ts(size_t g) {
  return 1700000000000000LL + (int64_t)g * 1234567 - 500000000000LL;
}
static int32_t gen_date(size_t g) {
  return 19000 + (int32_t)(g % 400) - 300;
}
/* empty strings, UTF-8, quotes and control bytes, and a long one now
 * and then so pages of strings split on size */
static size_t gen_str(size_t g, char *buf) {
  if (g % 11 == 3)
    return 0;
  if (g % 13 == 6) /* above 'z' only in unsigned byte order */
    return (size_t)sprintf(buf, "\xc3\xa9t\xc3\xa9 %u", (unsigned)(g % 1000));
  if (g % 97 == 5) {
    memset(buf, 'z', 3000);
    return 3000;
  }
  return (size_t)sprintf(buf, "s%u-\xc3\xa9\"\\\t%c",
                         (unsigned)(g * 7919 % 100000), (int)('a' + g % 26));
}

/* ---- expected text ---------------------------------------------------- */

static void put_json(ks_buf *b, const char *s, size_t n) {
  ks_buf_append_byte(b, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      ks_buf_append_byte(b, '\\');
      ks_buf_append_byte(b, c);
    } else if (c == '\n') {
      ks_buf_append_str(b, "\\n");
    } else if (c == '\t') {
      ks_buf_append_str(b, "\\t");
    } else if (c < 0x20) {
      ks_buf_appendf(b, "\\u%04x", c);
    } else {
      ks_buf_append_byte(b, c);
    }
  }
  ks_buf_append_byte(b, '"');
}

static const char *duck_type(ks_coltype t) {
  static const char *n[] = {"BOOLEAN", "INTEGER", "BIGINT",
                            "DOUBLE",  "VARCHAR", "TIMESTAMP WITH TIME ZONE",
                            "DATE"};
  return n[t];
}

static const char *schema_text(ks_coltype t) {
  static const char *n[] = {
      "BOOLEAN\t%s\tnull\tnull",
      "INT32\t%s\tINT_32\tIntType(bitWidth= , isSigned=1)",
      "INT64\t%s\tINT_64\tIntType(bitWidth=@, isSigned=1)",
      "DOUBLE\t%s\tnull\tnull",
      "BYTE_ARRAY\t%s\tUTF8\tStringType()",
      "INT64\t%s\tTIMESTAMP_MICROS\tTimestampType(isAdjustedToUTC=1, "
      "unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))",
      "INT32\t%s\tDATE\tDateType()"};
  return n[t];
}

static const char *codec_name(ks_codec c) {
  static const char *n[] = {"UNCOMPRESSED", "SNAPPY", "ZSTD", "GZIP"};
  return n[c];
}

/* DuckDB's rendering of a statistic, as pq_read.mjs quotes it */
static void put_stat(ks_buf *b, ks_coltype t, int64_t i, double d,
                     const char *s, size_t sn) {
  char tmp[64];
  time_t secs;
  struct tm tm;
  switch (t) {
  case KS_COL_BOOLEAN:
    snprintf(tmp, sizeof tmp, "%s", i ? "true" : "false");
    break;
  case KS_COL_INT32:
  case KS_COL_INT64:
    snprintf(tmp, sizeof tmp, "%lld", (long long)i);
    break;
  case KS_COL_DOUBLE:
    if (d == 0)
      snprintf(tmp, sizeof tmp, "%s", signbit(d) ? "-0.0" : "0.0");
    else if (d == floor(d))
      snprintf(tmp, sizeof tmp, "%.1f", d);
    else
      snprintf(tmp, sizeof tmp, "%g", d);
    break;
  case KS_COL_STRING:
    put_json(b, s, sn);
    return;
  case KS_COL_TIMESTAMP: {
    int64_t us = ((i % 1000000) + 1000000) % 1000000;
    secs = (time_t)((i - us) / 1000000);
    gmtime_r(&secs, &tm);
    size_t n = strftime(tmp, sizeof tmp, "%Y-%m-%d %H:%M:%S", &tm);
    if (us) {
      n += (size_t)snprintf(tmp + n, sizeof tmp - n, ".%06lld", (long long)us);
      while (tmp[n - 1] == '0')
        tmp[--n] = 0;
    }
    snprintf(tmp + n, sizeof tmp - n, "+00");
    break;
  }
  case KS_COL_DATE:
    secs = (time_t)i * 86400;
    gmtime_r(&secs, &tm);
    strftime(tmp, sizeof tmp, "%Y-%m-%d", &tm);
    break;
  }
  put_json(b, tmp, strlen(tmp));
}

/* Stats of one chunk (rows g0..g1 of column c), computed naively. */
typedef struct xstats {
  int64_t nulls;
  int has;
  int64_t imin, imax;
  double dmin, dmax;
  char smin[4096], smax[4096];
  size_t nmin, nmax;
} xstats;

static int str_less(const char *a, size_t an, const char *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  return c ? c < 0 : an < bn;
}

static void xstats_add(xstats *x, const tcase *tc, size_t c, size_t g) {
  ks_coltype t = tc->specs[c].type;
  if (is_null(tc->nulls[c], g)) {
    x->nulls++;
    return;
  }
  int64_t i = 0;
  double d = 0;
  char s[4096];
  size_t n = 0;
  switch (t) {
  case KS_COL_BOOLEAN:
    i = gen_bool(g);
    break;
  case KS_COL_INT32:
    i = gen_i32(g);
    break;
  case KS_COL_INT64:
    i = gen_i64(g);
    break;
  case KS_COL_TIMESTAMP:
    i = gen_ts(g);
    break;
  case KS_COL_DATE:
    i = gen_date(g);
    break;
  case KS_COL_DOUBLE:
    d = gen_double(tc, g);
    if (isnan(d))
      return;
    break;
  case KS_COL_STRING:
    n = gen_str(g, s);
    break;
  }
  int first = !x->has;
  x->has = 1;
  if (t == KS_COL_DOUBLE) {
    if (first || d < x->dmin)
      x->dmin = d;
    if (first || d > x->dmax)
      x->dmax = d;
  } else if (t == KS_COL_STRING) {
    if (first || str_less(s, n, x->smin, x->nmin))
      memcpy(x->smin, s, x->nmin = n);
    if (first || str_less(x->smax, x->nmax, s, n))
      memcpy(x->smax, s, x->nmax = n);
  } else {
    if (first || i < x->imin)
      x->imin = i;
    if (first || i > x->imax)
      x->imax = i;
  }
}

static void xstats_put(ks_buf *b, const tcase *tc, size_t c, const xstats *x) {
  ks_coltype t = tc->specs[c].type;
  int legacy = x->has && t != KS_COL_BOOLEAN && t != KS_COL_STRING;
  double dmin = x->dmin == 0 ? -0.0 : x->dmin,
         dmax = x->dmax == 0 ? 0.0 : x->dmax;
  for (int k = 0; k < 2; k++) {
    int show = k == 0 ? legacy : x->has;
    if (!show) {
      ks_buf_append_str(b, "\tnull\tnull");
      continue;
    }
    ks_buf_append_byte(b, '\t');
    put_stat(b, t, x->imin, dmin, x->smin, x->nmin);
    ks_buf_append_byte(b, '\t');
    put_stat(b, t, x->imax, dmax, x->smax, x->nmax);
  }
}

static void expected_text(const tcase *tc, ks_buf *b) {
  size_t total = 0;
  for (size_t r = 0; r < tc->nrg; r++)
    total += tc->rg_rows[r];
  for (size_t c = 0; c < tc->ncols; c++)
    ks_buf_appendf(b, "type\t%s\t%s\n", tc->specs[c].name,
                   duck_type(tc->specs[c].type));
  for (size_t c = 0; c < tc->ncols; c++) {
    ks_buf_appendf(b, "schema\t%s\t", tc->specs[c].name);
    ks_buf_appendf(b, schema_text(tc->specs[c].type),
                   tc->specs[c].nullable ? "OPTIONAL" : "REQUIRED");
    ks_buf_append_byte(b, '\n');
  }
  char s[4096];
  for (size_t g = 0; g < total; g++) {
    ks_buf_append_str(b, "row");
    for (size_t c = 0; c < tc->ncols; c++) {
      ks_buf_append_byte(b, '\t');
      if (is_null(tc->nulls[c], g)) {
        ks_buf_append_str(b, "null");
        continue;
      }
      switch (tc->specs[c].type) {
      case KS_COL_BOOLEAN:
        ks_buf_append_str(b, gen_bool(g) ? "true" : "false");
        break;
      case KS_COL_INT32:
        ks_buf_appendf(b, "%d", gen_i32(g));
        break;
      case KS_COL_INT64:
        ks_buf_appendf(b, "%lld", (long long)gen_i64(g));
        break;
      case KS_COL_TIMESTAMP:
        ks_buf_appendf(b, "%lld", (long long)gen_ts(g));
        break;
      case KS_COL_DATE:
        ks_buf_appendf(b, "%d", gen_date(g));
        break;
      case KS_COL_DOUBLE: {
        double d = gen_double(tc, g);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        ks_buf_appendf(b, "d:%016llx", (unsigned long long)bits);
        break;
      }
      case KS_COL_STRING:
        put_json(b, s, gen_str(g, s));
        break;
      }
    }
    ks_buf_append_byte(b, '\n');
  }
  size_t g0 = 0;
  for (size_t r = 0; r < tc->nrg; r++) {
    for (size_t c = 0; c < tc->ncols; c++) {
      xstats *x = calloc(1, sizeof *x);
      for (size_t g = g0; g < g0 + tc->rg_rows[r]; g++)
        xstats_add(x, tc, c, g);
      ks_buf_appendf(b, "stat\t%zu\t%s", r, tc->specs[c].name);
      xstats_put(b, tc, c, x);
      /* RLE only where there are levels: REQUIRED flat columns have none */
      ks_buf_appendf(b, "\t%lld\t%zu\t%s\t%s\n", (long long)x->nulls,
                     tc->rg_rows[r], codec_name(tc->opt.codec),
                     tc->specs[c].nullable ? "PLAIN, RLE" : "PLAIN");
      free(x);
    }
    g0 += tc->rg_rows[r];
  }
  ks_buf_appendf(b, "file\t%s\t%zu\t%zu\t1\n",
                 tc->opt.created_by ? tc->opt.created_by
                                    : "ksink version 0.1.0",
                 total, tc->nrg);
}

/* ---- writing ---------------------------------------------------------- */

typedef struct filesink {
  FILE *f;
  size_t max_call;
  int fail_after; /* calls before failing; < 0: never */
} filesink;

static int sink_file(void *arg, const uint8_t *data, size_t len) {
  filesink *s = arg;
  if (s->fail_after == 0)
    return KS_EIO;
  if (s->fail_after > 0)
    s->fail_after--;
  if (len > s->max_call)
    s->max_call = len;
  return fwrite(data, 1, len, s->f) == len ? 0 : KS_EIO;
}

static void fill_rowgroup(const tcase *tc, ks_rowgroup *rg, size_t g0,
                          size_t n) {
  char s[4096];
  for (size_t g = g0; g < g0 + n; g++) {
    ks_rowgroup_mark_row(rg);
    for (size_t c = 0; c < tc->ncols; c++) {
      ks_column *col = &rg->cols[c];
      if (is_null(tc->nulls[c], g)) {
        assert_int_equal(ks_column_append_null(col), 0);
        continue;
      }
      int r = 0;
      switch (tc->specs[c].type) {
      case KS_COL_BOOLEAN:
        r = ks_column_append_bool(col, gen_bool(g));
        break;
      case KS_COL_INT32:
        r = ks_column_append_i32(col, gen_i32(g));
        break;
      case KS_COL_INT64:
        r = ks_column_append_i64(col, gen_i64(g));
        break;
      case KS_COL_TIMESTAMP:
        r = ks_column_append_i64(col, gen_ts(g));
        break;
      case KS_COL_DATE:
        r = ks_column_append_i32(col, gen_date(g));
        break;
      case KS_COL_DOUBLE:
        r = ks_column_append_double(col, gen_double(tc, g));
        break;
      case KS_COL_STRING:
        r = ks_column_append_str(col, s, gen_str(g, s));
        break;
      }
      assert_int_equal(r, 0);
    }
    ks_rowgroup_commit_row(rg);
  }
}

/* File-level statistics must be the merge of every row group's. */
static void check_file_stats(const tcase *tc, const ks_pq_writer *w,
                             size_t total) {
  for (size_t c = 0; c < tc->ncols; c++) {
    xstats *x = calloc(1, sizeof *x);
    for (size_t g = 0; g < total; g++)
      xstats_add(x, tc, c, g);
    const ks_pq_colstats *st = ks_pq_writer_stats(w, c);
    assert_non_null(st);
    assert_int_equal(st->null_count, x->nulls);
    assert_int_equal(st->has_minmax, x->has);
    if (x->has) {
      switch (tc->specs[c].type) {
      case KS_COL_DOUBLE: {
        double lo = x->dmin == 0 ? -0.0 : x->dmin;
        double hi = x->dmax == 0 ? 0.0 : x->dmax;
        assert_memory_equal(&st->min.d, &lo, 8); /* -0.0 vs 0.0 matters */
        assert_memory_equal(&st->max.d, &hi, 8);
        break;
      }
      case KS_COL_STRING:
        assert_int_equal(st->min_s.len, x->nmin);
        assert_int_equal(st->max_s.len, x->nmax);
        if (x->nmin)
          assert_memory_equal(st->min_s.data, x->smin, x->nmin);
        if (x->nmax)
          assert_memory_equal(st->max_s.data, x->smax, x->nmax);
        break;
      default:
        assert_int_equal(st->min.i, x->imin);
        assert_int_equal(st->max.i, x->imax);
      }
    }
    free(x);
  }
  assert_null(ks_pq_writer_stats(w, tc->ncols));
}

/* Minimal compact-protocol reader for page headers: i32 fields and
 * nested structs are all a data page header holds. */
static uint64_t rd_varint(const uint8_t *p, size_t *i) {
  uint64_t v = 0;
  int sh = 0;
  do {
    v |= (uint64_t)(p[*i] & 0x7f) << sh;
    sh += 7;
  } while (p[(*i)++] & 0x80);
  return v;
}

static int64_t rd_zz(const uint8_t *p, size_t *i) {
  uint64_t v = rd_varint(p, i);
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Reads the struct at *i; records field `want` (path of ids) into *out. */
static void rd_struct(const uint8_t *p, size_t *i, const int *want,
                      int64_t *out) {
  int id = 0;
  for (;;) {
    uint8_t h = p[(*i)++];
    if (h == 0)
      return;
    int type = h & 0x0f;
    id = h >> 4 ? id + (h >> 4) : (int)rd_zz(p, i);
    if (type == 12) {
      rd_struct(p, i, id == want[0] ? want + 1 : (const int[]){0}, out);
    } else {
      assert_true(type == 5 || type == 6);
      int64_t v = rd_zz(p, i);
      if (id == want[0] && want[1] == 0)
        *out = v;
    }
  }
}

/* Walks every column chunk page by page from offset 4; the page counts
 * must add up to each row group's rows and end before the footer (the
 * page indexes sit between the last row group and the footer). */
static size_t count_pages(const tcase *tc, const uint8_t *file, size_t size) {
  size_t i = 4, pages = 0;
  for (size_t r = 0; r < tc->nrg; r++) {
    for (size_t c = 0; c < tc->ncols; c++) {
      int64_t rows = 0;
      while (rows < (int64_t)tc->rg_rows[r]) {
        int64_t comp = -1, nv = -1;
        size_t h = i;
        rd_struct(file, &h, (const int[]){3, 0}, &comp);
        size_t h2 = i;
        rd_struct(file, &h2, (const int[]){5, 1, 0}, &nv);
        assert_true(comp >= 0 && nv > 0);
        rows += nv;
        i = h + (size_t)comp;
        pages++;
      }
      assert_int_equal(rows, tc->rg_rows[r]);
    }
  }
  uint32_t flen;
  memcpy(&flen, file + size - 8, 4);
  assert_true(i <= size - 8 - flen);
  assert_memory_equal(file + size - 4, "PAR1", 4);
  return pages;
}

static void read_file(const char *path, ks_buf *b) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
    assert_int_equal(ks_buf_append(b, tmp, n), 0);
  fclose(f);
}

/* Runs the DuckDB reader; a missing node or a reader error fails. */
static void read_back(const char *path, ks_buf *out) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "node '%s/test/tools/pq_read.mjs' '%s' 2>&1",
           KS_SOURCE_DIR, path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
    assert_int_equal(ks_buf_append(out, tmp, n), 0);
  int st = pclose(p);
  if (st != 0)
    fprintf(stderr, "pq_read.mjs failed (%d):\n%.*s\n", st, (int)out->len,
            (const char *)out->data);
  assert_int_equal(st, 0);
}

static void assert_same_text(const ks_buf *got, const ks_buf *want) {
  if (got->len == want->len && memcmp(got->data, want->data, got->len) == 0)
    return;
  /* report the first line that differs */
  size_t i = 0, line = 1, start = 0;
  while (i < got->len && i < want->len && got->data[i] == want->data[i]) {
    if (got->data[i] == '\n') {
      line++;
      start = i + 1;
    }
    i++;
  }
  const char *g = (const char *)got->data + start,
             *w = (const char *)want->data + start;
  int gl = (int)(strcspn(g, "\n")), wl = (int)(strcspn(w, "\n"));
  if (start + (size_t)gl > got->len)
    gl = (int)(got->len - start);
  if (start + (size_t)wl > want->len)
    wl = (int)(want->len - start);
  fail_msg("DuckDB disagrees at line %zu:\n  got:  %.*s\n  want: %.*s", line,
           gl, g, wl, w);
}
