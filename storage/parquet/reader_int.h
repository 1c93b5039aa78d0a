/*
 * Internals shared by the Parquet reader (reader.c), its value decoders
 * (reader_values.c) and the concatenation of files (concat.c): one error
 * formatter, and the decoders of PLAIN and DELTA_* encoded values into
 * reader values. Each decoder checks every length against the bytes it is
 * given and returns KS_ECORRUPT rather than reading past them.
 */
#ifndef KS_STORAGE_PARQUET_READER_INT_H
#define KS_STORAGE_PARQUET_READER_INT_H

#include "base/buf.h"
#include "storage/parquet/reader.h"

#include <stddef.h>
#include <stdint.h>

/* Formats the message into err (when given) and returns code. */
int ks__pq_errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends p[0..n) to blob and points v at it (KS_ETOOBIG past 4 GiB). */
int ks__pq_put_bytes(ks_buf *blob, const uint8_t *p, size_t n, ks_pq_rval *v);
/* PLAIN values p[0..n) -> out[0..count); strings land in blob. */
int ks__pq_decode_plain(const ks_pq_rnode *leaf, const uint8_t *p, size_t n,
                        size_t count, ks_pq_rval *out, ks_buf *blob);
/* DELTA_BINARY_PACKED INT32/INT64 values. */
int ks__pq_decode_delta_ints(const ks_pq_rnode *leaf, const uint8_t *p,
                             size_t n, size_t count, ks_pq_rval *out);
/* DELTA_LENGTH_BYTE_ARRAY (with_prefix 0) and DELTA_BYTE_ARRAY (1). */
int ks__pq_decode_delta_bytes(const uint8_t *p, size_t n, size_t count,
                              int with_prefix, ks_pq_rval *out, ks_buf *blob);

/* in[0..n) with codec (parquet.thrift CompressionCodec: 1 snappy, 2 gzip,
 * 6 zstd) into exactly raw bytes at out (compress.c): KS_ECORRUPT when
 * it does not decompress to exactly raw, KS_EUNSUPPORTED for a codec. */
int ks__pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out,
                      size_t raw);

#endif
