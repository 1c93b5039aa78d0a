/* A record of the seed schema costs no heap allocation once the decoder's
 * buffers have grown (the "common case"), also when the schema
 * adds keywords checked on the stack (pattern, enum, bounds): malloc,
 * calloc and realloc are counted around the steady-state loop. Skipped
 * under AddressSanitizer, which owns malloc. */
#include "base/ks.h"
#include "demo/events.h"
#include "stages/record/decode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define KS_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KS_NO_INTERPOSE 1
#endif
#endif

static volatile long allocs;
#ifndef KS_NO_INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
void *malloc(size_t n) {
  allocs++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
  allocs++;
  return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
  allocs++;
  return __libc_realloc(p, n);
}
#endif

static void count(const char *schema_json, int table) {
#ifdef KS_NO_INTERPOSE
  skip();
#endif
  ks_schema_opts o = {.table = table, .format_assertion = 1};
  ks_schema *s;
  char err[512];
  assert_int_equal(ks_schema_load_opts(schema_json, strlen(schema_json), "t",
                                       &o, &s, err, sizeof err),
                   0);
#ifndef KS_NO_INTERPOSE
  assert_true(allocs > 0); /* the counter sees the library's allocations */
#endif
  ks_rowgroup rg;
  if (table)
    ks_rowgroup_init_schema(&rg, ks_schema_tree(s));
  ks_decoder *d = ks_decoder_new(s, table ? &rg : NULL, 0);
  ks_demo_gen g;
  ks_demo_gen_init(&g, 7, 0);
  ks_buf b;
  ks_buf_init(&b, 0);
  enum { N = 2000 };
  size_t off[N + 1];
  for (size_t i = 0; i < N; i++) {
    off[i] = b.len;
    char key[32];
    const char *kind;
    ks_demo_gen_next(&g, &b, key, &kind);
  }
  off[N] = b.len;
  /* warm-up: buffers grow to the largest record, columns to N rows */
  for (int round = 0; round < 2; round++) {
    if (table)
      ks_rowgroup_reset(&rg);
    for (size_t i = 0; i < N; i++) {
      assert_int_equal(
          ks_decoder_feed(d, b.data + off[i], off[i + 1] - off[i], NULL), 0);
      if (table)
        ks_rowgroup_commit_row(&rg);
    }
  }
  if (table)
    ks_rowgroup_reset(&rg);
  long before = allocs;
  for (size_t i = 0; i < N; i++) {
    ks_decoder_feed(d, b.data + off[i], off[i + 1] - off[i], NULL);
    if (table)
      ks_rowgroup_commit_row(&rg);
  }
  long n = allocs - before;
  ks_decoder_free(d);
  if (table)
    ks_rowgroup_free(&rg);
  ks_buf_free(&b);
  ks_schema_free(s);
  assert_int_equal(n, 0);
}

static void seed_schema_allocates_nothing(void **state) {
  count("{\"type\":\"object\",\"properties\":{"
        "\"user_id\":{\"type\":\"integer\"},"
        "\"event_type\":{\"type\":\"string\"},"
        "\"timestamp\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"properties\":{\"type\":\"object\"}},"
        "\"required\":[\"user_id\",\"event_type\",\"timestamp\"],"
        "\"additionalProperties\":false}",
        1);
}

static void scalar_keywords_allocate_nothing(void **state) {
  count("{\"type\":\"object\",\"properties\":{"
        "\"user_id\":{\"type\":\"integer\",\"minimum\":1,\"multipleOf\":1},"
        "\"event_type\":{\"type\":\"string\",\"pattern\":\"^[a-z_]+$\","
        "\"maxLength\":40},"
        "\"timestamp\":{\"type\":\"string\",\"format\":\"date-time\"},"
        "\"properties\":{\"type\":\"object\",\"propertyNames\":"
        "{\"pattern\":\"^[a-z_]+$\"}}},"
        "\"required\":[\"user_id\",\"event_type\",\"timestamp\"],"
        "\"additionalProperties\":false}",
        0);
}

/* The demo schema: structs, a list of structs, DECIMAL money, shredded. */
static void nested_demo_schema_allocates_nothing(void **state) {
  FILE *f = fopen(KS_SOURCE_DIR "/conf/schemas/user-events.json", "rb");
  if (f == NULL)
    skip();
  static char text[16384];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  count(text, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(nested_demo_schema_allocates_nothing),
      cmocka_unit_test(seed_schema_allocates_nothing),
      cmocka_unit_test(scalar_keywords_allocate_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
