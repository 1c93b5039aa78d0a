/*
 * demo/events: a deterministic generator of realistic user events (the
 * records of conf/schemas/user-events.json). `ksink demo`, the test producer
 * (test/fixtures/ks_produce.c) and the benches call it. The same seed always
 * yields the same byte-for-byte sequence, so a test can regenerate what it
 * produced. No allocation per event: text is appended to the caller's buffer.
 *
 * A configurable share of events is deliberately invalid, each in one named
 * way (see KS_DEMO_INVALID_KINDS), so the error path sees every kind of bad
 * input a real topic carries.
 */
#ifndef KS_DEMO_EVENTS_H
#define KS_DEMO_EVENTS_H

#include "base/buf.h"

#include <stdint.h>

typedef struct ks_demo_gen {
  uint64_t rng;         /* xorshift64* state, never 0 */
  uint64_t seq;         /* events generated so far */
  int invalid_permille; /* share of invalid events, 0..1000 */
  int64_t base_us;      /* event clock, microseconds since the epoch */
} ks_demo_gen;

/* Every kind of invalid event the generator makes, in a fixed order. */
#define KS_DEMO_INVALID_KINDS(XX)                                           \
  XX(MALFORMED_JSON, "malformed_json")                                      \
  XX(MISSING_REQUIRED, "missing_required")                                  \
  XX(WRONG_TYPE, "wrong_type")                                              \
  XX(BAD_TIMESTAMP, "bad_timestamp")                                        \
  XX(ADDITIONAL_PROPERTY, "additional_property")                            \
  XX(INVALID_UTF8, "invalid_utf8")                                          \
  XX(NOT_AN_OBJECT, "not_an_object")                                        \
  XX(NULL_REQUIRED, "null_required")

/* Seeds the generator; invalid_permille is clamped to 0..1000 (50 = 5%). */
void ks_demo_gen_init(ks_demo_gen *g, uint64_t seed, int invalid_permille);

/* Appends one event (JSON text, no newline) to out and writes the Kafka key
 * (the user id in decimal, NUL-terminated) into key. Returns 0 for a valid
 * event, 1 for a deliberately invalid one with *kind set to a static name
 * from KS_DEMO_INVALID_KINDS (kind may be NULL; *kind is NULL for valid
 * events), or a negative ks error if out hit its cap. */
int ks_demo_gen_next(ks_demo_gen *g, ks_buf *out, char key[32],
                     const char **kind);

#endif
