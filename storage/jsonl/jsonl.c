#include "storage/jsonl/jsonl.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define KS_JSONL_CHUNK (64 * 1024)

struct ks_jsonl {
  ks_codec codec;
  ks_jsonl_sink_fn sink;
  void *arg;
  uint64_t bytes;
  z_stream z;
  ZSTD_CStream *zs;
  uint8_t *in; /* records gathered before compression */
  size_t nin;
  uint8_t *out; /* compressed bytes on their way to the sink */
};

const char *ks_jsonl_ext(ks_codec codec) {
  switch (codec) {
  case KS_CODEC_GZIP:
    return ".jsonl.gz";
  case KS_CODEC_ZSTD:
    return ".jsonl.zst";
  default:
    return ".jsonl";
  }
}

ks_jsonl *ks_jsonl_new(ks_codec codec, int level, ks_jsonl_sink_fn sink,
                       void *arg) {
  ks_jsonl *j = ks_calloc(1, sizeof *j);
  j->codec = codec;
  j->sink = sink;
  j->arg = arg;
  j->in = ks_malloc(KS_JSONL_CHUNK);
  j->out = ks_malloc(KS_JSONL_CHUNK);
  if (codec == KS_CODEC_GZIP) {
    /* 15 + 16: a gzip wrapper; the header has no name and mtime 0, so the
     * bytes depend on the records only */
    if (deflateInit2(&j->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
      abort(); /* out of memory: the allocation policy (base/ks.h) */
  } else if (codec == KS_CODEC_ZSTD) {
    j->zs = ZSTD_createCStream();
    if (j->zs == NULL)
      abort(); /* out of memory: the allocation policy (base/ks.h) */
    ZSTD_CCtx_setParameter(j->zs, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(j->zs, ZSTD_c_checksumFlag, 1);
  }
  return j;
}

static int emit(ks_jsonl *j, const uint8_t *p, size_t n) {
  if (n == 0)
    return 0;
  j->bytes += n;
  return j->sink(j->arg, p, n);
}

/* Compresses the gathered input; end: finish the stream. */
static int drain(ks_jsonl *j, int end) {
  int r = 0;
  if (j->codec == KS_CODEC_NONE) {
    r = emit(j, j->in, j->nin);
    j->nin = 0;
    return r;
  }
  if (j->codec == KS_CODEC_GZIP) {
    j->z.next_in = j->in;
    j->z.avail_in = (uInt)j->nin;
    int zr;
    do {
      j->z.next_out = j->out;
      j->z.avail_out = KS_JSONL_CHUNK;
      zr = deflate(&j->z, end ? Z_FINISH : Z_NO_FLUSH);
      if (zr == Z_STREAM_ERROR)
        return KS_EIO;
      r = emit(j, j->out, KS_JSONL_CHUNK - j->z.avail_out);
    } while (r == 0 && (j->z.avail_out == 0 || (end && zr != Z_STREAM_END)));
    j->nin = 0;
    return r;
  }
  ZSTD_inBuffer in = {j->in, j->nin, 0};
  size_t left;
  do {
    ZSTD_outBuffer out = {j->out, KS_JSONL_CHUNK, 0};
    left = ZSTD_compressStream2(j->zs, &out, &in,
                                end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left))
      return KS_EIO;
    r = emit(j, j->out, out.pos);
  } while (r == 0 && (in.pos < in.size || (end && left != 0)));
  j->nin = 0;
  return r;
}

static int put(ks_jsonl *j, const uint8_t *p, size_t n) {
  while (n) {
    size_t k = KS_JSONL_CHUNK - j->nin;
    if (k > n)
      k = n;
    memcpy(j->in + j->nin, p, k);
    j->nin += k;
    p += k;
    n -= k;
    if (j->nin == KS_JSONL_CHUNK) {
      int r = drain(j, 0);
      if (r)
        return r;
    }
  }
  return 0;
}

int ks_jsonl_write(ks_jsonl *j, const void *json, size_t len) {
  const uint8_t *p = json, *end = p + len;
  int r = 0;
  while (r == 0 && p < end) {
    const uint8_t *q = p;
    while (q < end && *q != '\n' && *q != '\r')
      q++;
    r = put(j, p, (size_t)(q - p));
    if (r == 0 && q < end)
      r = put(j, (const uint8_t *)" ", 1);
    p = q < end ? q + 1 : q;
  }
  return r ? r : put(j, (const uint8_t *)"\n", 1);
}

int ks_jsonl_finish(ks_jsonl *j) {
  return drain(j, 1);
}

uint64_t ks_jsonl_bytes(const ks_jsonl *j) {
  return j->bytes + j->nin;
}

void ks_jsonl_free(ks_jsonl *j) {
  if (j == NULL)
    return;
  if (j->codec == KS_CODEC_GZIP)
    deflateEnd(&j->z);
  if (j->zs)
    ZSTD_freeCStream(j->zs);
  ks_free(j->in);
  ks_free(j->out);
  ks_free(j);
}
