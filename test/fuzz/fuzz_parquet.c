/*
 * libFuzzer target for the Parquet writer: fuzzed bytes become a schema
 * tree, writer options and JSON records (the format of
 * test/conformance/parquet_fuzzin.h), records go through the test
 * reference shredder into column buffers and the writer encodes them. No
 * crash, no sanitizer report, every row group the shredder accepted is
 * written without error, a record the shredder refuses leaves every column
 * as it was, and the file ends with its footer. The conformance suite reads
 * the files of this corpus back with DuckDB and the other readers
 * (conformance/parquet_fuzz_seeds).
 * Build: cmake -B build-fuzz -DCMAKE_C_COMPILER=clang -DKS_FUZZ=ON
 */
#include "../conformance/parquet_fuzzin.c"
#include "../conformance/parquet_ref.c"

#include <stdlib.h>
#include <string.h>

typedef struct fz_sink {
  uint64_t bytes;
  uint8_t tail[4];
} fz_sink;

static int fz_sink_fn(void *arg, const uint8_t *p, size_t n) {
  fz_sink *s = arg;
  s->bytes += n;
  if (n >= 4) {
    memcpy(s->tail, p + n - 4, 4);
  } else {
    memmove(s->tail, s->tail + n, 4 - n);
    memcpy(s->tail + 4 - n, p, n);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1 << 16))
    return 0;
  fz_case c;
  if (fz_decode(data, size, &c))
    return 0;
  ks_rowgroup rg;
  ks_rowgroup_init_schema(&rg, c.schema);
  fz_sink sink = {0};
  ks_pq_writer *w = ks_pq_writer_new_schema(c.schema, &c.opt, fz_sink_fn,
                                            &sink);
  size_t *before = calloc(rg.ncols ? rg.ncols : 1, sizeof *before);
  const uint8_t *p = c.recs, *end = c.recs + c.recs_len;
  int records = 0;
  while (p < end && records++ < 200) {
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
      nl = end;
    jarena a = {0};
    jval v;
    if (jparse(&a, (const char *)p, (size_t)(nl - p), &v) == 0) {
      for (size_t i = 0; i < rg.ncols; i++)
        before[i] = ks_column_entries(&rg.cols[i]);
      if (ref_shred(&rg, c.schema, &v)) {
        for (size_t i = 0; i < rg.ncols; i++)
          if (ks_column_entries(&rg.cols[i]) != before[i])
            abort(); /* rollback left entries behind */
      } else {
        for (size_t i = 0; i < rg.ncols; i++)
          if (ks_column_entries(&rg.cols[i]) <= before[i])
            abort(); /* a row without an entry in some column */
      }
    }
    jarena_free(&a);
    p = nl + 1;
    if (rg.nrows >= c.rg_rows) {
      if (ks_pq_writer_write_rowgroup(w, &rg))
        abort();
      ks_rowgroup_reset(&rg);
    }
  }
  if (ks_pq_writer_write_rowgroup(w, &rg) || ks_pq_writer_close(w) ||
      sink.bytes != ks_pq_writer_bytes(w) || memcmp(sink.tail, "PAR1", 4))
    abort();
  free(before);
  ks_pq_writer_free(w);
  ks_rowgroup_free(&rg);
  ks_pq_schema_free(c.schema);
  return 0;
}
