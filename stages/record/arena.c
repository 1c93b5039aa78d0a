#include "stages/record/arena.h"
#include "base/ks.h"

#include <string.h>

#define ARENA_HDR 16
#define ARENA_INIT ((size_t)8 << 10)
#define ARENA_MAX ((size_t)1 << 20) /* past this, big records spill */

static size_t align16(size_t n) {
  return (n + 15) & ~(size_t)15;
}

static void *arena_malloc(void *ctx, size_t n) {
  ks__arena *a = ctx;
  size_t need = ARENA_HDR + align16(n);
  uint8_t *p;
  if (need <= a->cap - a->used) {
    p = a->mem + a->used;
    a->last = a->used;
    a->used += need;
  } else {
    p = ks_malloc(ARENA_HDR + n);
    if (a->nspills == a->spills_cap) {
      a->spills_cap = a->spills_cap ? a->spills_cap * 2 : 8;
      a->spills = ks_realloc(a->spills, a->spills_cap * sizeof *a->spills);
    }
    a->spills[a->nspills++] = p;
    a->spilled += need;
  }
  memcpy(p, &n, sizeof n);
  return p + ARENA_HDR;
}

static void *arena_realloc(void *ctx, void *ptr, size_t n) {
  ks__arena *a = ctx;
  if (ptr == NULL)
    return arena_malloc(ctx, n);
  uint8_t *p = (uint8_t *)ptr - ARENA_HDR;
  size_t old;
  memcpy(&old, p, sizeof old);
  if (n <= old)
    return ptr;
  /* the newest block grows in place: yajl's buffers grow one at a time */
  if (p == a->mem + a->last && a->used > a->last &&
      ARENA_HDR + align16(n) <= a->cap - a->last) {
    memcpy(p, &n, sizeof n);
    a->used = a->last + ARENA_HDR + align16(n);
    return ptr;
  }
  void *q = arena_malloc(ctx, n);
  memcpy(q, ptr, old);
  return q;
}

static void arena_free(void *ctx, void *ptr) {
  KS_UNUSED(ctx);
  KS_UNUSED(ptr); /* everything goes at the next reset */
}

void ks__arena_init(ks__arena *a) {
  memset(a, 0, sizeof *a);
  a->mem = ks_malloc(ARENA_INIT);
  a->cap = ARENA_INIT;
  a->funcs = (yajl_alloc_funcs){arena_malloc, arena_realloc, arena_free, a};
}

void ks__arena_reset(ks__arena *a) {
  for (size_t i = 0; i < a->nspills; i++)
    ks_free(a->spills[i]);
  a->nspills = 0;
  if (a->spilled && a->cap < ARENA_MAX) {
    size_t cap = a->cap;
    while (cap < a->used + a->spilled && cap < ARENA_MAX)
      cap *= 2;
    ks_free(a->mem);
    a->mem = ks_malloc(cap);
    a->cap = cap;
  }
  a->spilled = 0;
  a->used = a->last = 0;
}

void ks__arena_free(ks__arena *a) {
  ks__arena_reset(a);
  ks_free(a->mem);
  ks_free(a->spills);
}
