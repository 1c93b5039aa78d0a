/*
 * RLE / bit-packed hybrid encoding (Parquet Encodings.md) for definition
 * levels and dictionary indices, and plain bit-packing for BOOLEAN values. Called by the page
 * writer of this folder with one byte per input value.
 */
#ifndef KS_STORAGE_PARQUET_RLE_H
#define KS_STORAGE_PARQUET_RLE_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Bits needed to store every value in 0..max (0 for max == 0). */
int ks__rle_bit_width(uint32_t max);

/* Appends the hybrid encoding of vals[0..n) (each < 2^bit_width,
 * bit_width 0..8) to out: RLE runs where a value repeats 8 times or more,
 * bit-packed groups of 8 elsewhere. Returns 0 or KS_ETOOBIG. */
int ks__rle_encode(ks_buf *out, const uint8_t *vals, size_t n, int bit_width);

/* The same for 32-bit values (dictionary indices), bit_width 0..32. */
int ks__rle_encode32(ks_buf *out, const uint32_t *vals, size_t n,
                     int bit_width);

/* Same, preceded by the 4-byte little-endian length of the encoded bytes,
 * as data page v1 stores its levels. */
int ks__rle_encode_levels(ks_buf *out, const uint8_t *vals, size_t n,
                          int bit_width);

/* Appends vals[0..n) (0/1 bytes) packed LSB first, 8 per byte: the PLAIN
 * encoding of BOOLEAN. */
int ks__bitpack_bools(ks_buf *out, const uint8_t *vals, size_t n);

/* Decodes count values of the hybrid encoding in p[0..n) (bit_width
 * 0..32) into out (the file reader). A bit-packed run may end early only
 * where its values are not needed. Returns 0 or KS_ECORRUPT. */
int ks__rle_decode32(const uint8_t *p, size_t n, int bit_width, uint32_t *out,
                     size_t count);

/* Levels eight at a time (levels are below 0x80): the high bit of each
 * byte of w above n, or equal to n; and how many bytes such a mask has. */
#define KS__LANES 0x0101010101010101ULL
static inline uint64_t ks__lanes_above(uint64_t w, unsigned n) {
  /* a byte past 0x7F sets its own bit; its carry only spoils the lanes
   * above it in a word that is refused anyway */
  return ((w + KS__LANES * (127 - n)) | w) & (KS__LANES * 0x80);
}
static inline uint64_t ks__lanes_equal(uint64_t w, unsigned n) {
  uint64_t x = w ^ (KS__LANES * n);
  return ~(((x & (KS__LANES * 0x7F)) + KS__LANES * 0x7F) | x) &
         (KS__LANES * 0x80);
}
static inline size_t ks__lanes_count(uint64_t m) {
  return (size_t)(((m >> 7) * KS__LANES) >> 56);
}

#endif
