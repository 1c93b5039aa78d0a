#include "storage/parquet/internal.h"
#include "storage/parquet/reader_int.h"

#include <snappy-c.h>

void ks__pq_codec_init(ks__pq_codec *c, ks_codec codec, int level) {
  c->codec = codec;
  c->level = level;
  c->zstd = NULL;
  c->gz = NULL;
}

void ks__pq_codec_free(ks__pq_codec *c) {
  if (c->zstd)
    ZSTD_freeCCtx(c->zstd);
  if (c->gz) {
    deflateEnd(c->gz);
    ks_free(c->gz);
  }
  c->zstd = NULL;
  c->gz = NULL;
}

int ks__pq_codec_thrift_id(ks_codec codec) {
  switch (codec) {
  case KS_CODEC_NONE:
    return 0;
  case KS_CODEC_SNAPPY:
    return 1;
  case KS_CODEC_GZIP:
    return 2;
  case KS_CODEC_ZSTD:
    return 6;
  }
  return -1;
}

static int compress_snappy(const uint8_t *in, size_t n, ks_buf *out) {
  size_t cap = snappy_max_compressed_length(n);
  int r = ks_buf_reserve(out, cap);
  if (r)
    return r;
  size_t len = cap;
  if (snappy_compress((const char *)in, n, (char *)out->data, &len) !=
      SNAPPY_OK)
    return KS_EIO;
  out->len = len;
  return 0;
}

static int compress_zstd(ks__pq_codec *c, const uint8_t *in, size_t n,
                         ks_buf *out) {
  if (!c->zstd && !(c->zstd = ZSTD_createCCtx()))
    return KS_ENOMEM;
  size_t cap = ZSTD_compressBound(n);
  int r = ks_buf_reserve(out, cap);
  if (r)
    return r;
  /* level 0 is zstd's own default (3) */
  size_t len = ZSTD_compressCCtx(c->zstd, out->data, cap, in, n, c->level);
  if (ZSTD_isError(len))
    return KS_EIO;
  out->len = len;
  return 0;
}

/* Parquet's GZIP is the gzip format (RFC 1952), not a raw or zlib stream:
 * windowBits 15 + 16 asks zlib for the gzip header and trailer. */
static int compress_gzip(ks__pq_codec *c, const uint8_t *in, size_t n,
                         ks_buf *out) {
  if (!c->gz) {
    c->gz = ks_calloc(1, sizeof *c->gz);
    if (deflateInit2(c->gz, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      ks_free(c->gz);
      c->gz = NULL;
      return KS_ENOMEM;
    }
  } else if (deflateReset(c->gz) != Z_OK) {
    return KS_EIO;
  }
  if (n > UINT32_MAX)
    return KS_ETOOBIG;
  size_t cap = deflateBound(c->gz, (uLong)n);
  int r = ks_buf_reserve(out, cap);
  if (r)
    return r;
  c->gz->next_in = (Bytef *)in;
  c->gz->avail_in = (uInt)n;
  c->gz->next_out = out->data;
  c->gz->avail_out = (uInt)cap;
  if (deflate(c->gz, Z_FINISH) != Z_STREAM_END)
    return KS_EIO;
  out->len = cap - c->gz->avail_out;
  return 0;
}

int ks__pq_compress(ks__pq_codec *c, const uint8_t *in, size_t n, ks_buf *out) {
  ks_buf_reset(out);
  switch (c->codec) {
  case KS_CODEC_NONE:
    return ks_buf_append(out, in, n);
  case KS_CODEC_SNAPPY:
    return compress_snappy(in, n, out);
  case KS_CODEC_ZSTD:
    return compress_zstd(c, in, n, out);
  case KS_CODEC_GZIP:
    return compress_gzip(c, in, n, out);
  }
  return KS_EINVAL;
}

/* The reader's side: in[0..n) decompressed into exactly raw bytes at
 * out_ (the caller sized it, after checking raw against its limits). */
int ks__pq_decompress(int codec, const uint8_t *in, size_t n, uint8_t *out_,
                      size_t raw) {
  char *out = (char *)out_;
  switch (codec) {
  case 1: { /* SNAPPY */
    size_t len = 0;
    if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK ||
        len != raw)
      return KS_ECORRUPT;
    if (snappy_uncompress((const char *)in, n, out, &len) != SNAPPY_OK ||
        len != raw)
      return KS_ECORRUPT;
    break;
  }
  case 2: { /* GZIP (gzip or zlib framing, as readers accept) */
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK)
      return KS_ENOMEM;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)raw;
    int zr = n > UINT32_MAX ? Z_DATA_ERROR : inflate(&z, Z_FINISH);
    size_t got = raw - z.avail_out;
    inflateEnd(&z);
    if ((zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && raw == 0)) || got != raw)
      return KS_ECORRUPT;
    break;
  }
  case 6: { /* ZSTD */
    size_t got = ZSTD_decompress(out, raw, in, n);
    if (ZSTD_isError(got) || got != raw)
      return KS_ECORRUPT;
    break;
  }
  default:
    return KS_EUNSUPPORTED;
  }
  return 0;
}
