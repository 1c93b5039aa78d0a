/*
 * Retry delays: exponential backoff with full jitter (uniform in
 * [0, min(cap, base * 2^attempt)]). Every retry loop of ksink calls it:
 * storage streams and the s3 transport, the committer, rewinds, error
 * files, the Kafka bridge.
 *
 * The jitter comes from a per-thread generator seeded from the kernel
 * (getrandom), the clock and the thread, so processes and workers that fail
 * together do not retry in lockstep against the same storage endpoint.
 */
#ifndef KS_BASE_BACKOFF_H
#define KS_BASE_BACKOFF_H

#include <stdint.h>

/* Backoff delay for attempt n (0-based): uniform in [0, min(cap, base*2^n)]
 * ("full jitter"); 0 when base or cap is 0. Thread-safe. */
uint64_t ks_backoff_ms(unsigned attempt, uint64_t base, uint64_t cap);

/* The calling thread's next pseudo-random 64 bits (not for secrets). */
uint64_t ks_backoff_random(void);

#endif
