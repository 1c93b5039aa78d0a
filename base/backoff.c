#include "base/backoff.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <pthread.h>

/* splitmix64: small, fast, and good enough to spread retries; its state
 * is per thread so no lock sits on the retry path. */
static _Thread_local uint64_t state;
static _Thread_local int seeded;

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* getrandom() can only fail on a kernel without it or when interrupted:
 * the clock, the thread and this thread's stack address still differ
 * between the threads and processes that would otherwise retry together. */
static void seed(void) {
  uint64_t k = 0;
  if (getrandom(&k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k)
    k = 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t s = k ^ ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
  splitmix64(&s);
  s ^= (uint64_t)pthread_self();
  splitmix64(&s);
  s ^= (uint64_t)(uintptr_t)&k;
  state = s;
  seeded = 1;
}

uint64_t ks_backoff_random(void) {
  if (!seeded)
    seed();
  return splitmix64(&state);
}

uint64_t ks_backoff_ms(unsigned attempt, uint64_t base, uint64_t cap) {
  uint64_t ceil = base;
  for (unsigned i = 0; i < attempt && ceil < cap; i++)
    ceil *= 2;
  if (ceil > cap)
    ceil = cap;
  return ceil ? ks_backoff_random() % (ceil + 1) : 0;
}
