/*
 * Value decoders of the Parquet reader (reader_int.h): PLAIN for every
 * physical type, and the DELTA_* encodings that parquet-mr, Spark and
 * others write in data pages v2. Dictionary indices and levels are the
 * RLE hybrid (rle.c); page and column handling stays in reader.c.
 */
#include "storage/parquet/reader_int.h"

#include "base/ks.h"

#include <string.h>

int ks__pq_put_bytes(ks_buf *blob, const uint8_t *p, size_t n, ks_pq_rval *v) {
  if (blob->len + n > UINT32_MAX)
    return KS_ETOOBIG;
  v->s.off = (uint32_t)blob->len;
  v->s.len = (uint32_t)n;
  return ks_buf_append(blob, p, n);
}

/* PLAIN values p[0..n) -> out[0..count). */
int ks__pq_decode_plain(const ks_pq_rnode *leaf, const uint8_t *p, size_t n,
                        size_t count, ks_pq_rval *out, ks_buf *blob) {
  size_t pos = 0;
  for (size_t i = 0; i < count; i++) {
    ks_pq_rval *v = &out[i];
    switch (leaf->type) {
    case KS_PQR_BOOLEAN:
      if (i / 8 >= n)
        return KS_ECORRUPT;
      v->i = (p[i / 8] >> (i % 8)) & 1;
      break;
    case KS_PQR_INT32: {
      if (n - pos < 4)
        return KS_ECORRUPT;
      int32_t x;
      memcpy(&x, p + pos, 4);
      v->i = x;
      pos += 4;
      break;
    }
    case KS_PQR_INT64:
      if (n - pos < 8)
        return KS_ECORRUPT;
      memcpy(&v->i, p + pos, 8);
      pos += 8;
      break;
    case KS_PQR_FLOAT: {
      if (n - pos < 4)
        return KS_ECORRUPT;
      float x;
      memcpy(&x, p + pos, 4);
      v->d = x;
      pos += 4;
      break;
    }
    case KS_PQR_DOUBLE:
      if (n - pos < 8)
        return KS_ECORRUPT;
      memcpy(&v->d, p + pos, 8);
      pos += 8;
      break;
    case KS_PQR_BYTE_ARRAY: {
      if (n - pos < 4)
        return KS_ECORRUPT;
      uint32_t len;
      memcpy(&len, p + pos, 4);
      pos += 4;
      if (len > n - pos)
        return KS_ECORRUPT;
      int rc = ks__pq_put_bytes(blob, p + pos, len, v);
      if (rc)
        return rc;
      pos += len;
      break;
    }
    case KS_PQR_FLBA: {
      size_t len = (size_t)leaf->type_length;
      if (len > n - pos)
        return KS_ECORRUPT;
      int rc = ks__pq_put_bytes(blob, p + pos, len, v);
      if (rc)
        return rc;
      pos += len;
      break;
    }
    default:
      return KS_EUNSUPPORTED;
    }
  }
  return 0;
}

/* ---- DELTA_* encodings (parquet-mr and others write them in v2 pages) -- */

static int rd_uvarint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= n)
      return KS_ECORRUPT;
    uint8_t b = p[(*pos)++];
    *v |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0)
      return 0;
  }
  return KS_ECORRUPT;
}

/* DELTA_BINARY_PACKED: count values into out (wrapping 64-bit sums, which
 * INT32 columns truncate); *used gets the bytes read. */
static int decode_dbp(const uint8_t *p, size_t n, size_t count, int64_t *out,
                      size_t *used) {
  size_t pos = 0;
  uint64_t block, nmini, total, first;
  if (rd_uvarint(p, n, &pos, &block) || rd_uvarint(p, n, &pos, &nmini) ||
      rd_uvarint(p, n, &pos, &total) || rd_uvarint(p, n, &pos, &first))
    return KS_ECORRUPT;
  if (block == 0 || block % 128 || nmini == 0 || nmini > block ||
      (block / nmini) % 32 || total < count || block > (1u << 20))
    return KS_ECORRUPT;
  uint64_t per_mini = block / nmini;
  uint64_t cur = (uint64_t)((int64_t)(first >> 1) ^ -(int64_t)(first & 1));
  size_t got = 0;
  if (total > 0) {
    if (count > 0)
      out[got++] = (int64_t)cur;
    uint64_t left = total - 1; /* values still encoded */
    while (left > 0) {
      uint64_t zmin;
      if (rd_uvarint(p, n, &pos, &zmin) || nmini > n - pos)
        return KS_ECORRUPT;
      uint64_t min_delta =
          (uint64_t)((int64_t)(zmin >> 1) ^ -(int64_t)(zmin & 1));
      const uint8_t *widths = p + pos;
      pos += nmini;
      for (uint64_t m = 0; m < nmini && left > 0; m++) {
        int w = widths[m];
        if (w > 64)
          return KS_ECORRUPT;
        uint64_t bytes = per_mini * (uint64_t)w / 8;
        size_t avail = n - pos;
        for (uint64_t k = 0; k < per_mini && left > 0; k++, left--) {
          uint64_t bit = k * (uint64_t)w, d = 0;
          if ((bit + (uint64_t)w + 7) / 8 > avail)
            return KS_ECORRUPT;
          for (int b = 0; b < w; b++) {
            uint64_t at = bit + (uint64_t)b;
            d |= (uint64_t)((p[pos + at / 8] >> (at % 8)) & 1) << b;
          }
          cur += min_delta + d;
          if (got < count)
            out[got++] = (int64_t)cur;
        }
        pos += bytes < avail ? (size_t)bytes : avail;
      }
    }
  }
  if (got < count)
    return KS_ECORRUPT;
  *used = pos;
  return 0;
}

/* DELTA_LENGTH_BYTE_ARRAY (prefixes NULL) and DELTA_BYTE_ARRAY. */
int ks__pq_decode_delta_bytes(const uint8_t *p, size_t n, size_t count,
                              int with_prefix, ks_pq_rval *out, ks_buf *blob) {
  int64_t *pre = ks_calloc(count ? count : 1, sizeof *pre);
  int64_t *len = ks_calloc(count ? count : 1, sizeof *len);
  size_t pos = 0, used = 0;
  int rc = 0;
  if (with_prefix && (rc = decode_dbp(p, n, count, pre, &used)) == 0)
    pos += used;
  if (rc == 0 && (rc = decode_dbp(p + pos, n - pos, count, len, &used)) == 0)
    pos += used;
  size_t prev_n = 0;
  for (size_t i = 0; rc == 0 && i < count; i++) {
    if (len[i] < 0 || (uint64_t)len[i] > n - pos || pre[i] < 0 ||
        (uint64_t)pre[i] > prev_n) {
      rc = KS_ECORRUPT;
      break;
    }
    size_t pl = (size_t)pre[i], sl = (size_t)len[i], start = blob->len;
    if (start + pl + sl > UINT32_MAX) {
      rc = KS_ETOOBIG;
      break;
    }
    /* the prefix is copied from the previous value, inside blob: reserve
     * first so the copy's source does not move */
    if ((rc = ks_buf_reserve(blob, pl + sl)))
      break;
    if (pl)
      memcpy(blob->data + start, blob->data + out[i - 1].s.off, pl);
    if (sl)
      memcpy(blob->data + start + pl, p + pos, sl);
    blob->len = start + pl + sl;
    pos += sl;
    out[i].s.off = (uint32_t)start;
    out[i].s.len = (uint32_t)(pl + sl);
    prev_n = pl + sl;
  }
  ks_free(pre);
  ks_free(len);
  return rc;
}

int ks__pq_decode_delta_ints(const ks_pq_rnode *leaf, const uint8_t *p,
                             size_t n, size_t count, ks_pq_rval *out) {
  int64_t *v = ks_calloc(count ? count : 1, sizeof *v);
  size_t used;
  int rc = decode_dbp(p, n, count, v, &used);
  for (size_t i = 0; rc == 0 && i < count; i++)
    out[i].i = leaf->type == KS_PQR_INT32 ? (int32_t)(uint32_t)v[i] : v[i];
  ks_free(v);
  return rc;
}
