/*
 * Levels of a column chunk: where pages end (always at a row start, as
 * page v2 and the page indexes require, and v1 readers that skip pages
 * expect) and the RLE/bit-packed hybrid of repetition and definition
 * levels.
 */
#include "storage/parquet/internal.h"
#include "storage/parquet/rle.h"

#include <string.h>

static uint32_t str_len(const ks_column *c, size_t v) {
  uint32_t len;
  memcpy(&len, c->lens.data + v * 4, 4);
  return len;
}

/* Flat REQUIRED fixed-width columns: one value per row, no walk. */
static int split_fixed_required(const ks_column *c, size_t e_end,
                                uint64_t limit, uint64_t vbits,
                                ks__pq_span *s) {
  if (c->max_def || c->max_rep || !vbits)
    return 0;
  uint64_t k = (limit + vbits - 1) / vbits;
  size_t left = e_end - s->e0;
  size_t take = k == 0 ? 1 : k < left ? (size_t)k : left;
  s->e1 = s->e0 + take;
  s->v1 = s->v0 + take;
  s->rows = take;
  return 1;
}

void ks__pq_split(const ks_column *c, size_t e_end, uint64_t limit,
                  int idx_bits, ks__pq_span *s) {
  /* bits per present value: the index width for dictionary pages */
  uint64_t vbits = idx_bits ? (uint64_t)idx_bits
                   : c->width == 1 && c->node->precision == 0
                       ? 1
                       : (uint64_t)c->width * 8;
  int is_str = c->width == 0 && !idx_bits;
  s->s1 = s->s0;
  if (c->width && split_fixed_required(c, e_end, limit, vbits, s))
    return;
  const uint8_t *defs = c->defs.data;
  const uint8_t *reps = c->max_rep ? c->reps.data : NULL;
  uint8_t D = c->max_def;
  /* levels cost about a bit per entry and per level stream once packed */
  uint64_t lbits = (uint64_t)(c->max_def > 0) + (uint64_t)(c->max_rep > 0);
  uint64_t bits = 0;
  size_t e = s->e0, v = s->v0, rows = 0, so = s->s0;
  if (c->width && !reps) {
    /* fixed-width values without repetition: eight entries at a time
     * while a whole word stays under the limit (the walk below ends at
     * the same entry) */
    uint64_t word = 8 * (lbits + vbits);
    while (e + 8 <= e_end && bits + word < limit) {
      uint64_t w;
      memcpy(&w, defs + e, 8);
      size_t present = ks__lanes_count(ks__lanes_equal(w, D));
      bits += 8 * lbits + present * vbits;
      v += present;
      rows += 8;
      e += 8;
    }
  }
  if (e < e_end) /* what the words above left, or every entry */
    do {
      if (!reps || reps[e] == 0)
        rows++;
      bits += lbits;
      if (defs[e] == D) {
        if (c->width == 0) {
          uint32_t len = str_len(c, v);
          so += len;
          bits += is_str ? 8 * (4 + (uint64_t)len) : vbits;
        } else {
          bits += vbits;
        }
        v++;
      }
      e++;
    } while (e < e_end && (bits < limit || (reps && reps[e] != 0)));
  s->e1 = e;
  s->v1 = v;
  s->s1 = so;
  s->rows = rows;
}

void ks__pq_row_of_value(const ks_column *c, size_t v, size_t *e_out,
                         size_t *vb_out) {
  const uint8_t *defs = c->defs.data;
  const uint8_t *reps = c->max_rep ? c->reps.data : NULL;
  size_t row_e = 0, row_v = 0, nv = 0;
  for (size_t e = 0; e < c->defs.len; e++) {
    if (!reps || reps[e] == 0) {
      row_e = e;
      row_v = nv;
    }
    if (defs[e] == c->max_def) {
      if (nv == v)
        break;
      nv++;
    }
  }
  *e_out = row_e;
  *vb_out = row_v;
}

static int put_run(ks_buf *out, const uint8_t *lv, size_t n, int max,
                   int prefix, size_t *len) {
  size_t at = out->len;
  int bw = ks__rle_bit_width((uint32_t)max);
  int r = prefix ? ks__rle_encode_levels(out, lv, n, bw)
                 : ks__rle_encode(out, lv, n, bw);
  *len = out->len - at;
  return r;
}

int ks__pq_levels(ks_buf *out, const ks_column *c, size_t e0, size_t e1,
                  int prefix, size_t *rep_n, size_t *def_n) {
  int r = 0;
  *rep_n = *def_n = 0;
  if (c->max_rep &&
      (r = put_run(out, c->reps.data + e0, e1 - e0, c->max_rep, prefix, rep_n)))
    return r;
  if (c->max_def &&
      (r = put_run(out, c->defs.data + e0, e1 - e0, c->max_def, prefix, def_n)))
    return r;
  return 0;
}
