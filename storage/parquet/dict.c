/*
 * Dictionary encoding of a column chunk. One pass over the values hashes
 * each (a 64-bit multiply-xorshift mix; strings 8 bytes at a time) into a
 * power-of-two open-addressing table of entry numbers, linear probing.
 * Entries point at each value's first occurrence in the column buffer, so
 * nothing is copied and nothing is allocated per value; the table and the
 * entries grow by doubling and are kept for the next chunk.
 */
#include "storage/parquet/internal.h"

#include <string.h>

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t k;
    memcpy(&k, p, 8);
    h = rotl((h ^ k) * 0xbf58476d1ce4e5b9ULL, 31);
    p += 8;
    n -= 8;
  }
  uint64_t k = 0;
  if (n)
    memcpy(&k, p, n);
  return mix64(h ^ k * 0x94d049bb133111ebULL);
}

static uint64_t hash_fixed(const uint8_t *p, size_t w) {
  uint64_t a = 0, b = 0;
  memcpy(&a, p, w < 8 ? w : 8);
  if (w > 8)
    memcpy(&b, p + 8, w - 8);
  return mix64(a ^ mix64(b + w));
}

/* Slot hash of a 4- or 8-byte value (one multiply round: the value
 * itself decides equality, so collisions only cost a probe). */
static inline uint64_t mix_small(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  return x ^ (x >> 29);
}

static void grow_table(ks__pq_dict *d) {
  size_t cap = d->cap ? d->cap * 2 : 1024;
  ks_free(d->slots);
  d->slots = ks_calloc(cap, sizeof *d->slots);
  d->cap = cap;
  for (size_t i = 0; i < d->n; i++) {
    uint64_t h = d->raw ? mix_small(d->ents[i].hash) : d->ents[i].hash;
    size_t s = (size_t)h & (cap - 1);
    while (d->slots[s])
      s = (s + 1) & (cap - 1);
    d->slots[s] = (uint32_t)i + 1;
  }
}

/* The table keeps the size the chunk with the most distinct values gave
 * it: a later chunk of few values clears just the slots the last one
 * used (each entry's probe from its home slot) instead of all of them. */
static void reset(ks__pq_dict *d) {
  if (d->cap && d->n * 16 < d->cap) {
    size_t mask = d->cap - 1;
    for (size_t i = 0; i < d->n; i++) {
      uint64_t h = d->raw ? mix_small(d->ents[i].hash) : d->ents[i].hash;
      size_t s = (size_t)h & mask;
      while (d->slots[s] != (uint32_t)i + 1)
        s = (s + 1) & mask;
      d->slots[s] = 0;
    }
  } else if (d->cap) {
    memset(d->slots, 0, d->cap * sizeof *d->slots);
  }
  d->n = 0;
  d->bytes = 0;
}

/* 4- and 8-byte values: the entry keeps the value in place of a hash, so
 * a probe compares one word and never touches the column buffer. */
static inline size_t build_small(ks__pq_dict *d, uint32_t *out,
                                 const uint8_t *base, size_t v, size_t nv,
                                 size_t w, uint64_t limit) {
  for (; v < nv; v++) {
    uint64_t x = 0;
    memcpy(&x, base + v * w, w);
    size_t mask = d->cap - 1, s = (size_t)mix_small(x) & mask;
    uint32_t id;
    while ((id = d->slots[s]) != 0 && d->ents[id - 1].hash != x)
      s = (s + 1) & mask;
    if (id == 0) {
      if (d->bytes + w > limit || d->n >= UINT32_MAX - 1)
        break;
      if (d->n == d->ents_cap) {
        d->ents_cap = d->ents_cap ? d->ents_cap * 2 : 1024;
        d->ents = ks_realloc(d->ents, d->ents_cap * sizeof *d->ents);
      }
      d->ents[d->n] = (ks__pq_dict_entry){(uint32_t)(v * w), (uint32_t)w, x};
      d->slots[s] = id = (uint32_t)++d->n;
      d->bytes += w;
      if (d->n * 2 > d->cap)
        grow_table(d);
    }
    out[v] = id - 1;
  }
  return v;
}

void ks__pq_dict_start(ks__pq_dict *d, ks_buf *idx, const ks_column *c,
                       ks__pq_kind kind) {
  reset(d);
  d->raw = kind != KS__K_BYTES && kind != KS__K_FLBA &&
           (c->width == 4 || c->width == 8);
  d->done = d->off = 0;
  d->stopped = 0;
  if (!d->cap)
    grow_table(d);
  idx->len = 0;
  if (ks_buf_reserve(idx, c->nvalues * 4)) /* scratch: cannot fail */
    d->stopped = 1;
}

/* The insert-or-find loop, specialized for fixed widths and strings so the
 * compiler sees constant sizes. Returns the values indexed so far. */
size_t ks__pq_dict_build(ks__pq_dict *d, ks_buf *idx, const ks_column *c,
                         ks__pq_kind kind, uint64_t limit, size_t upto) {
  size_t nv = upto < c->nvalues ? upto : c->nvalues;
  if (d->stopped || d->done >= nv)
    return d->done;
  uint32_t *out = (uint32_t *)(void *)idx->data;
  if (d->raw) {
    size_t v = c->width == 4 ? build_small(d, out, ks__pq_values(c), d->done,
                                           nv, 4, limit)
                             : build_small(d, out, ks__pq_values(c), d->done,
                                           nv, 8, limit);
    d->stopped = v < nv;
    d->done = v;
    idx->len = v * 4;
    return v;
  }
  const uint8_t *base = ks__pq_values(c);
  const uint8_t *lens = c->lens.data;
  size_t w = kind == KS__K_FLBA ? (size_t)ks_pq_decimal_width(c->node->precision)
                                : 0;
  size_t off = d->off;
  size_t v = d->done;
  for (; v < nv; v++) {
    uint32_t len;
    uint64_t h;
    if (kind == KS__K_BYTES) {
      memcpy(&len, lens + v * 4, 4);
      h = hash_bytes(base + off, len);
    } else {
      len = c->width;
      h = hash_fixed(base + off, len);
    }
    size_t mask = d->cap - 1, s = (size_t)h & mask;
    uint32_t id;
    for (;;) {
      id = d->slots[s];
      if (id == 0)
        break;
      const ks__pq_dict_entry *e = &d->ents[id - 1];
      if (e->hash == h && e->len == len &&
          (len == 0 || memcmp(base + e->off, base + off, len) == 0))
        break;
      s = (s + 1) & mask;
    }
    if (id == 0) {
      uint64_t cost = kind == KS__K_BYTES ? 4 + (uint64_t)len
                      : kind == KS__K_FLBA ? w
                                           : len;
      if (d->bytes + cost > limit || d->n >= UINT32_MAX - 1)
        break;
      if (d->n == d->ents_cap) {
        d->ents_cap = d->ents_cap ? d->ents_cap * 2 : 1024;
        d->ents = ks_realloc(d->ents, d->ents_cap * sizeof *d->ents);
      }
      d->ents[d->n] = (ks__pq_dict_entry){(uint32_t)off, len, h};
      d->slots[s] = id = (uint32_t)++d->n;
      d->bytes += cost;
      if (d->n * 2 > d->cap)
        grow_table(d);
    }
    out[v] = id - 1;
    off += len;
  }
  d->stopped = v < nv;
  d->done = v;
  d->off = off;
  idx->len = v * 4;
  return v;
}

static void put_be(uint8_t *p, const uint8_t *le16, size_t w) {
  /* the low w bytes of a 16-byte little-endian value, big-endian */
  for (size_t k = 0; k < w; k++)
    p[k] = le16[w - 1 - k];
}

int ks__pq_dict_page(const ks__pq_dict *d, const ks_column *c,
                     ks__pq_kind kind, ks_buf *out) {
  ks_buf_reset(out);
  int r = ks_buf_reserve(out, (size_t)d->bytes);
  if (r)
    return r;
  uint8_t *p = out->data;
  size_t w = kind == KS__K_FLBA ? (size_t)ks_pq_decimal_width(c->node->precision)
                                : 0;
  for (size_t i = 0; i < d->n; i++) {
    const ks__pq_dict_entry *e = &d->ents[i];
    const uint8_t *src = ks__pq_values(c) + e->off;
    if (kind == KS__K_BYTES) {
      memcpy(p, &e->len, 4);
      p += 4;
    } else if (kind == KS__K_FLBA) {
      put_be(p, src, w);
      p += w;
      continue;
    }
    if (e->len)
      memcpy(p, src, e->len);
    p += e->len;
  }
  out->len = (size_t)(p - out->data);
  return 0;
}

uint8_t *ks__pq_dict_marks(ks__pq_dict *d) {
  if (d->marks_cap < d->n) {
    d->marks = ks_realloc(d->marks, d->ents_cap);
    memset(d->marks + d->marks_cap, 0, d->ents_cap - d->marks_cap);
    d->marks_cap = d->ents_cap;
  }
  return d->marks;
}

void ks__pq_dict_free(ks__pq_dict *d) {
  ks_free(d->slots);
  ks_free(d->ents);
  ks_free(d->marks);
  memset(d, 0, sizeof *d);
}
