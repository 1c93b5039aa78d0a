/*
 * Circuit breaker per endpoint, shared by every storage instance (every
 * worker) of the process that talks to it: closed -> open after N
 * consecutive failed attempts (failures a retry could fix: no answer, 5xx,
 * 429...), open -> half-open after the cooldown, when exactly one request
 * goes out as a probe; its success closes the breaker, its failure opens
 * it for another cooldown. While it is not closed, requests wait in their
 * storage's park list (transport.c) and workers pause their partitions.
 *
 * State lives in atomics so /readyz and the workers read it without locks;
 * the registry of endpoints is behind a mutex taken only at open/close.
 */
#include "storage/s3/s3_int.h"

#include "base/log.h"

#include <pthread.h>
#include <string.h>

enum { B_CLOSED, B_OPEN, B_HALF_OPEN };
static const char *const state_names[] = {"closed", "open", "half-open"};

struct ks__s3_breaker {
  ks__s3_breaker *next;
  char *endpoint;
  int refs;
  int failures_to_open;
  uint64_t cooldown_ms;
  atomic_int state;
  atomic_int consecutive;
  atomic_uint_fast64_t opened_ms;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static ks__s3_breaker *registry;

int ks_s3_breakers_open(void) {
  return atomic_load_explicit(&ks_s3_stats_g.breakers_open,
                              memory_order_relaxed);
}

ks__s3_breaker *ks__s3_breaker_get(const char *endpoint, int failures,
                                   uint64_t cooldown_ms) {
  pthread_mutex_lock(&reg_lock);
  ks__s3_breaker *b = registry;
  while (b && strcmp(b->endpoint, endpoint) != 0)
    b = b->next;
  if (b == NULL) {
    b = ks_calloc(1, sizeof *b);
    b->endpoint = ks_strdup(endpoint);
    b->failures_to_open = failures > 0 ? failures : 5;
    b->cooldown_ms = cooldown_ms ? cooldown_ms : 5000;
    b->next = registry;
    registry = b;
  }
  b->refs++;
  pthread_mutex_unlock(&reg_lock);
  return b;
}

void ks__s3_breaker_put(ks__s3_breaker *b) {
  if (b == NULL)
    return;
  pthread_mutex_lock(&reg_lock);
  if (--b->refs == 0) {
    ks__s3_breaker **pp = &registry;
    while (*pp != b)
      pp = &(*pp)->next;
    *pp = b->next;
    if (atomic_load(&b->state) != B_CLOSED)
      atomic_fetch_sub(&ks_s3_stats_g.breakers_open, 1);
    ks_free(b->endpoint);
    ks_free(b);
  }
  pthread_mutex_unlock(&reg_lock);
}

static void transition(ks__s3_breaker *b, int from, int to) {
  ks_log_warn("s3: circuit breaker for %s: %s -> %s", b->endpoint,
              state_names[from], state_names[to]);
  if (from == B_CLOSED) {
    atomic_fetch_add(&ks_s3_stats_g.breakers_open, 1);
    atomic_fetch_add(&ks_s3_stats_g.breaker_opened, 1);
  } else if (to == B_CLOSED) {
    atomic_fetch_sub(&ks_s3_stats_g.breakers_open, 1);
  }
}

int ks__s3_breaker_allow(ks__s3_breaker *b, int *probe) {
  *probe = 0;
  int st = atomic_load(&b->state);
  if (st == B_CLOSED)
    return 1;
  if (st == B_HALF_OPEN)
    return 0; /* the probe is out */
  if (ks_mono_ms() - atomic_load(&b->opened_ms) < b->cooldown_ms)
    return 0;
  int expect = B_OPEN;
  if (!atomic_compare_exchange_strong(&b->state, &expect, B_HALF_OPEN))
    return 0;
  transition(b, B_OPEN, B_HALF_OPEN);
  *probe = 1;
  return 1;
}

void ks__s3_breaker_result(ks__s3_breaker *b, int ok, int probe) {
  if (ok) {
    atomic_store(&b->consecutive, 0);
    int st = atomic_load(&b->state);
    /* A straggler's success proves the endpoint answers, too. */
    if (st != B_CLOSED && atomic_compare_exchange_strong(&b->state, &st,
                                                         B_CLOSED))
      transition(b, st, B_CLOSED);
    return;
  }
  int n = atomic_fetch_add(&b->consecutive, 1) + 1;
  if (probe) {
    int expect = B_HALF_OPEN;
    atomic_store(&b->opened_ms, ks_mono_ms());
    if (atomic_compare_exchange_strong(&b->state, &expect, B_OPEN))
      transition(b, B_HALF_OPEN, B_OPEN);
    return;
  }
  if (n >= b->failures_to_open && atomic_load(&b->state) == B_CLOSED) {
    int expect = B_CLOSED;
    atomic_store(&b->opened_ms, ks_mono_ms());
    if (atomic_compare_exchange_strong(&b->state, &expect, B_OPEN))
      transition(b, B_CLOSED, B_OPEN);
  }
}

uint64_t ks__s3_breaker_wait_ms(ks__s3_breaker *b) {
  if (atomic_load(&b->state) != B_OPEN)
    return 100;
  uint64_t since = ks_mono_ms() - atomic_load(&b->opened_ms);
  return since >= b->cooldown_ms ? 50 : b->cooldown_ms - since;
}
