#include "storage/parquet/rle.h"

#include "base/ks.h"

#include <string.h>

/* Below this a run costs more as RLE (header + value) than bit-packed, and
 * breaking a bit-packed stretch needs a group boundary anyway. */
#define RLE_MIN_RUN 8

int ks__rle_bit_width(uint32_t max) {
  int w = 0;
  while (max) {
    w++;
    max >>= 1;
  }
  return w;
}

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

static int emit_rle(ks_buf *out, uint32_t v, size_t run, int bit_width) {
  uint8_t tmp[16];
  size_t n = put_varint(tmp, (uint64_t)run << 1);
  /* the value takes ceil(bit_width / 8) bytes, little-endian */
  for (int b = 0; b < (bit_width + 7) / 8; b++)
    tmp[n++] = (uint8_t)(v >> (8 * b));
  return ks_buf_append(out, tmp, n);
}

/* Length of the run of vals[i] starting at i (levels: eight at a time). */
static inline size_t run8(const uint8_t *vals, size_t i, size_t n) {
  size_t run = 1;
  uint64_t pat = (uint64_t)vals[i] * KS__LANES;
  while (i + run + 8 <= n) {
    uint64_t w;
    memcpy(&w, vals + i + run, 8);
    uint64_t x = w ^ pat;
    if (x) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      return run + ((size_t)__builtin_ctzll(x) >> 3);
#else
      break;
#endif
    }
    run += 8;
  }
  while (i + run < n && vals[i + run] == vals[i])
    run++;
  return run;
}

static inline size_t run32(const uint32_t *vals, size_t i, size_t n) {
  size_t run = 1;
  while (i + run < n && vals[i + run] == vals[i])
    run++;
  return run;
}

/* A group of 8 levels of width 1 or 2 packed at once: each level's bits
 * moved to its place by shifts within one word (the levels are known to
 * fit their width). Returns 0 for other widths. */
static inline int pack_group8(uint8_t *p, const uint8_t *vals, int bit_width) {
  uint64_t w;
  memcpy(&w, vals, 8);
  if (bit_width == 1) {
    /* byte i's low bit lands on bit 56 + i; no two products overlap */
    p[0] = (uint8_t)((w * 0x0102040810204080ULL) >> 56);
    return 1;
  }
  if (bit_width == 2) {
    uint64_t t = w | (w >> 6); /* byte i: v[i] | v[i+1] << 2 */
    t |= t >> 12;              /* byte i: v[i..i+3], two bits each */
    p[0] = (uint8_t)t;
    p[1] = (uint8_t)(t >> 32);
    return 1;
  }
  return 0;
}

static inline int pack_group32(uint8_t *p, const uint32_t *vals,
                               int bit_width) {
  (void)p, (void)vals, (void)bit_width;
  return 0;
}

/* The two encoders below differ only in the element type: levels are
 * bytes, dictionary indices 32-bit. */
#define KS__RLE_ENCODERS(T, SUFFIX)                                            \
  /* vals[0..n) as ceil(n / 8) groups of 8, the last one padded with zeros */ \
  static int emit_bitpacked##SUFFIX(ks_buf *out, const T *vals, size_t n,     \
                                    int bit_width) {                           \
    size_t groups = (n + 7) / 8;                                               \
    uint8_t hdr[10];                                                           \
    size_t hn = put_varint(hdr, (uint64_t)groups << 1 | 1);                    \
    int r = ks_buf_reserve(out, hn + groups * (size_t)bit_width);              \
    if (r)                                                                     \
      return r;                                                                \
    memcpy(out->data + out->len, hdr, hn);                                     \
    out->len += hn;                                                            \
    uint8_t *p = out->data + out->len;                                         \
    for (size_t g = 0; g < groups; g++) {                                      \
      /* 8 values of <= 32 bits: two halves of 4 in 64-bit accumulators */     \
      size_t base = g * 8;                                                     \
      size_t m = n - base < 8 ? n - base : 8;                                  \
      if (m == 8 && pack_group##SUFFIX(p, vals + base, bit_width)) {           \
        p += bit_width;                                                        \
        continue;                                                              \
      }                                                                        \
      uint64_t acc = 0;                                                        \
      int bits = 0;                                                            \
      for (size_t k = 0; k < m; k++) {                                         \
        acc |= (uint64_t)vals[base + k] << bits;                               \
        bits += bit_width;                                                     \
        while (bits >= 8) {                                                    \
          *p++ = (uint8_t)acc;                                                 \
          acc >>= 8;                                                           \
          bits -= 8;                                                           \
        }                                                                      \
      }                                                                        \
      size_t done = (m * (size_t)bit_width) / 8;                               \
      size_t want = (size_t)bit_width; /* bytes of a full group of 8 */        \
      if (bits > 0) {                                                          \
        *p++ = (uint8_t)acc;                                                   \
        done++;                                                                \
      }                                                                        \
      for (; done < want; done++)                                              \
        *p++ = 0;                                                              \
    }                                                                          \
    out->len += groups * (size_t)bit_width;                                    \
    return 0;                                                                  \
  }                                                                            \
                                                                               \
  /* Walks the input run by run. Short runs accumulate into a pending          \
   * bit-packed stretch starting at `bp`. A long run first lends values to     \
   * fill the pending stretch to a multiple of 8 (only the very last group     \
   * may be padded), then goes out as one RLE run if 8 or more remain. */      \
  static int encode##SUFFIX(ks_buf *out, const T *vals, size_t n,             \
                            int bit_width) {                                   \
    size_t bp = 0, i = 0;                                                      \
    int r;                                                                     \
    while (i < n) {                                                            \
      size_t run = run##SUFFIX(vals, i, n);                                    \
      size_t pend = i - bp;                                                    \
      size_t fill = pend % 8 ? 8 - pend % 8 : 0;                               \
      if (run >= fill + RLE_MIN_RUN || (i + run == n && pend == 0)) {          \
        if (pend + fill && (r = emit_bitpacked##SUFFIX(out, vals + bp,         \
                                                       pend + fill,            \
                                                       bit_width)))            \
          return r;                                                            \
        i += fill;                                                             \
        run -= fill;                                                           \
        if ((r = emit_rle(out, vals[i], run, bit_width)))                      \
          return r;                                                            \
        i += run;                                                              \
        bp = i;                                                                \
      } else {                                                                 \
        i += run;                                                              \
      }                                                                        \
    }                                                                          \
    if (i > bp &&                                                              \
        (r = emit_bitpacked##SUFFIX(out, vals + bp, i - bp, bit_width)))       \
      return r;                                                                \
    return 0;                                                                  \
  }

KS__RLE_ENCODERS(uint8_t, 8)
KS__RLE_ENCODERS(uint32_t, 32)

int ks__rle_encode(ks_buf *out, const uint8_t *vals, size_t n, int bit_width) {
  if (bit_width < 0 || bit_width > 8)
    return KS_EINVAL;
  return encode8(out, vals, n, bit_width);
}

int ks__rle_encode32(ks_buf *out, const uint32_t *vals, size_t n,
                     int bit_width) {
  if (bit_width < 0 || bit_width > 32)
    return KS_EINVAL;
  return encode32(out, vals, n, bit_width);
}

int ks__rle_encode_levels(ks_buf *out, const uint8_t *vals, size_t n,
                          int bit_width) {
  size_t at = out->len;
  int r = ks_buf_append(out, "\0\0\0\0", 4);
  if (r || (r = ks__rle_encode(out, vals, n, bit_width)))
    return r;
  size_t len = out->len - at - 4;
  if (len > INT32_MAX)
    return KS_ETOOBIG;
  for (int b = 0; b < 4; b++)
    out->data[at + (size_t)b] = (uint8_t)(len >> (8 * b));
  return 0;
}

int ks__bitpack_bools(ks_buf *out, const uint8_t *vals, size_t n) {
  size_t nbytes = (n + 7) / 8;
  int r = ks_buf_reserve(out, nbytes);
  if (r)
    return r;
  uint8_t *p = out->data + out->len;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    *p++ = (uint8_t)(vals[i] | vals[i + 1] << 1 | vals[i + 2] << 2 |
                     vals[i + 3] << 3 | vals[i + 4] << 4 | vals[i + 5] << 5 |
                     vals[i + 6] << 6 | vals[i + 7] << 7);
  if (i < n) {
    uint8_t b = 0;
    for (int k = 0; i < n; i++, k++)
      b |= (uint8_t)(vals[i] << k);
    *p = b;
  }
  out->len += nbytes;
  return 0;
}

/* ---- decoding (reader.c) ---------------------------------------------- */

int ks__rle_decode32(const uint8_t *p, size_t n, int bit_width, uint32_t *out,
                     size_t count) {
  if (bit_width < 0 || bit_width > 32)
    return KS_ECORRUPT;
  size_t pos = 0, got = 0;
  size_t vbytes = (size_t)(bit_width + 7) / 8;
  while (got < count) {
    uint64_t hdr = 0;
    int shift = 0;
    for (;;) {
      if (pos >= n || shift > 63)
        return KS_ECORRUPT;
      uint8_t b = p[pos++];
      hdr |= (uint64_t)(b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) == 0)
        break;
    }
    if (hdr & 1) { /* bit-packed: (hdr >> 1) groups of 8 */
      uint64_t groups = hdr >> 1;
      if (groups == 0 || groups > (uint64_t)SIZE_MAX / 8)
        return KS_ECORRUPT;
      uint64_t vals = groups * 8;
      size_t avail_bits = (n - pos) * 8;
      for (uint64_t k = 0; k < vals && got < count; k++) {
        uint64_t bit = k * (uint64_t)bit_width;
        if (bit + (uint64_t)bit_width > avail_bits)
          return KS_ECORRUPT;
        uint64_t v = 0;
        for (int i = 0; i < bit_width; i++) {
          uint64_t b = bit + (uint64_t)i;
          v |= (uint64_t)((p[pos + b / 8] >> (b % 8)) & 1) << i;
        }
        out[got++] = (uint32_t)v;
      }
      uint64_t used = (vals * (uint64_t)bit_width + 7) / 8;
      pos = used > n - pos ? n : pos + (size_t)used;
    } else { /* RLE: (hdr >> 1) copies of one value */
      uint64_t run = hdr >> 1;
      if (run == 0 || vbytes > n - pos)
        return KS_ECORRUPT;
      uint32_t v = 0;
      for (size_t i = 0; i < vbytes; i++)
        v |= (uint32_t)p[pos + i] << (8 * i);
      pos += vbytes;
      if (bit_width < 32 && (v >> bit_width) != 0)
        return KS_ECORRUPT;
      for (uint64_t k = 0; k < run && got < count; k++)
        out[got++] = v;
    }
  }
  return 0;
}
