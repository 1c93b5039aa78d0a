/*
 * The token tape: a JSON value recorded as a flat array of tokens plus its
 * string bytes, for the keywords that need more than one look at a value
 * (and for enum/const values in the schema). Each container token knows
 * where its value ends, so walking members or skipping a subtree is an
 * index jump. The buffers are kept across records: recording costs no
 * allocation once they have grown to the largest buffered value.
 */
#include "jsonschema/internal.h"

#include <stdlib.h>
#include <string.h>

#define TAPE_MAX ((size_t)256 << 20)

void ks__tapebuf_init(ks__tapebuf *b) {
  ks_buf_init(&b->toks, TAPE_MAX);
  ks_buf_init(&b->bytes, TAPE_MAX);
  b->nopen = 0;
}

void ks__tapebuf_free(ks__tapebuf *b) {
  ks_buf_free(&b->toks);
  ks_buf_free(&b->bytes);
}

void ks__tapebuf_reset(ks__tapebuf *b) {
  b->toks.len = 0;
  b->bytes.len = 0;
  b->nopen = 0;
}

static uint32_t ntoks(const ks__tapebuf *b) {
  return (uint32_t)(b->toks.len / sizeof(ks__tok));
}

static void count_member(ks__tapebuf *b, uint32_t kind) {
  if (b->nopen == 0)
    return;
  ks__tok *t = (ks__tok *)b->toks.data + b->open[b->nopen - 1];
  if (kind != KS_JS_TK_KEY && t->kind == KS_JS_T_OBJECT)
    return; /* counted at its key */
  t->len++;
}

int ks__tape_scalar(ks__tapebuf *b, uint32_t kind, const void *p, size_t len,
                    size_t ncp) {
  if (len > UINT32_MAX || b->bytes.len > UINT32_MAX - len)
    return KS_ETOOBIG;
  ks__tok t = {kind, ntoks(b) + 1, (uint32_t)b->bytes.len, (uint32_t)len,
               (uint32_t)ncp};
  if (kind == KS_JS_T_BOOLEAN || kind == KS_JS_T_NULL) {
    t.off = 0; /* booleans: len is the value */
    len = 0;
  }
  if (len && ks_buf_append(&b->bytes, p, len))
    return KS_ETOOBIG;
  if (ks_buf_append(&b->toks, &t, sizeof t))
    return KS_ETOOBIG;
  count_member(b, kind);
  return 0;
}

int ks__tape_open(ks__tapebuf *b, uint32_t kind) {
  if (b->nopen == KS_ARRAY_SIZE(b->open))
    return KS_ETOOBIG;
  count_member(b, kind);
  ks__tok t = {kind, 0, 0, 0, 0};
  uint32_t at = ntoks(b);
  if (ks_buf_append(&b->toks, &t, sizeof t))
    return KS_ETOOBIG;
  b->open[b->nopen++] = at;
  return 0;
}

int ks__tape_close(ks__tapebuf *b) {
  ks__tok *t = (ks__tok *)b->toks.data + b->open[--b->nopen];
  t->next = ntoks(b);
  return 0;
}

static int num_equal(const ks__tape *a, const ks__tok *x, const ks__tape *b,
                     const ks__tok *y) {
  ks_js_num p, q;
  ks_js_num_parse(&p, (const char *)a->bytes + x->off, x->len);
  ks_js_num_parse(&q, (const char *)b->bytes + y->off, y->len);
  if (p.is_int != q.is_int)
    return 0;
  return ks__num_cmp(&p, &q) == 0;
}

int ks__tape_equal(const ks__tape *a, uint32_t ia, const ks__tape *b,
                   uint32_t ib) {
  const ks__tok *x = &a->tok[ia], *y = &b->tok[ib];
  unsigned nums = KS_JS_T_INTEGER | KS_JS_T_NUMBER;
  if ((x->kind & nums) && (y->kind & nums))
    return num_equal(a, x, b, y);
  if (x->kind != y->kind)
    return 0;
  switch (x->kind) {
  case KS_JS_T_NULL:
    return 1;
  case KS_JS_T_BOOLEAN:
    return x->len == y->len;
  case KS_JS_T_STRING:
    return x->len == y->len &&
           memcmp(a->bytes + x->off, b->bytes + y->off, x->len) == 0;
  case KS_JS_T_ARRAY: {
    if (x->len != y->len)
      return 0;
    uint32_t i = ia + 1, j = ib + 1;
    for (uint32_t k = 0; k < x->len; k++) {
      if (!ks__tape_equal(a, i, b, j))
        return 0;
      i = a->tok[i].next;
      j = b->tok[j].next;
    }
    return 1;
  }
  default: { /* objects: same names, equal values, any order */
    if (x->len != y->len)
      return 0;
    for (uint32_t i = ia + 1; i < x->next; i = a->tok[i + 1].next) {
      const ks__tok *k = &a->tok[i];
      uint32_t j = ib + 1;
      for (; j < y->next; j = b->tok[j + 1].next) {
        const ks__tok *l = &b->tok[j];
        if (l->len == k->len &&
            memcmp(a->bytes + k->off, b->bytes + l->off, k->len) == 0)
          break;
      }
      if (j >= y->next || !ks__tape_equal(a, i + 1, b, j + 1))
        return 0;
    }
    return 1;
  }
  }
}

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static uint64_t bytes_hash(const uint8_t *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

uint64_t ks__tape_hash(const ks__tape *t, uint32_t i, uint64_t *cost) {
  const ks__tok *x = &t->tok[i];
  (*cost)++;
  switch (x->kind) {
  case KS_JS_T_NULL:
    return 0x6e756c6cull;
  case KS_JS_T_BOOLEAN:
    return mix(0x626f6f6cull + x->len);
  case KS_JS_T_INTEGER:
  case KS_JS_T_NUMBER: {
    /* by value, as ks__tape_equal compares: "1", "1.0" and "10e-1" are
     * one double; numbers too long to copy share one bucket */
    char buf[64];
    if (x->len >= sizeof buf)
      return 0x6e756dull;
    memcpy(buf, t->bytes + x->off, x->len);
    buf[x->len] = 0;
    double d = strtod(buf, NULL);
    if (d == 0)
      d = 0; /* -0 == 0 */
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return mix(bits ^ 0x6e756dull);
  }
  case KS_JS_T_STRING:
    *cost += x->len / 64;
    return mix(bytes_hash(t->bytes + x->off, x->len));
  case KS_JS_T_ARRAY: {
    uint64_t h = 0x617272ull + x->len;
    for (uint32_t k = i + 1; k < x->next; k = t->tok[k].next)
      h = mix(h * 31 + ks__tape_hash(t, k, cost));
    return h;
  }
  default: { /* objects: members in any order */
    uint64_t h = 0x6f626aull + x->len;
    for (uint32_t k = i + 1; k < x->next; k = t->tok[k + 1].next) {
      const ks__tok *key = &t->tok[k];
      (*cost)++;
      h += mix(bytes_hash(t->bytes + key->off, key->len) ^
               (ks__tape_hash(t, k + 1, cost) * 0x9e3779b97f4a7c15ull));
    }
    return h;
  }
  }
}
