/*
 * The arena yajl allocates from, one per decoder. yajl 2.1 cannot reset a
 * handle, so each record gets a fresh one: its allocations (handle, lexer,
 * state stack, the buffer for unescaped strings) are bump-allocated here
 * and all dropped at the next record. In the steady state a record costs
 * no malloc at all; a record too big for the arena spills into blocks of
 * its own, and the arena grows (up to 1 MiB) for the next.
 */
#ifndef KS_STAGES_RECORD_ARENA_H
#define KS_STAGES_RECORD_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_common.h>

typedef struct ks__arena {
  uint8_t *mem;
  size_t cap, used, last;
  void **spills; /* blocks that did not fit, freed at reset */
  size_t nspills, spills_cap, spilled;
  yajl_alloc_funcs funcs; /* for yajl_alloc, bound to this arena */
} ks__arena;

void ks__arena_init(ks__arena *a);
/* Drops every allocation (and the spilled blocks). */
void ks__arena_reset(ks__arena *a);
void ks__arena_free(ks__arena *a);

#endif
