/*
 * Validation overhead: records/s for parse-only against parse+validate on
 * the demo corpus (demo/events.h), with the seed schema (streamed in one
 * pass, nothing buffered) and with a schema whose anyOf and
 * patternProperties make the validator record the "properties" object on
 * its tape and evaluate it when it closes. All in one run, best of R
 * rounds; the ratios at the end are the overheads.
 *   bench_validate [--events N] [--rounds R]
 * Parse-only is yajl with no callbacks (a fresh handle per record, as the
 * decoder); "decode, schema true" is the validate-only decoder with the
 * schema `true`: the same callbacks, UTF-8 checks and arena, no keywords.
 */
#include "bench/bench_common.h"
#include "base/ks.h"
#include "demo/events.h"
#include "stages/record/decode.h"
#include "stages/record/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_parse.h>

static const char combo_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"user_id\":{\"type\":\"integer\",\"minimum\":1},"
    "\"event_type\":{\"type\":\"string\",\"pattern\":\"^[a-z_]+$\"},"
    "\"timestamp\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"properties\":{\"type\":\"object\","
    " \"anyOf\":[{\"required\":[\"url\"]},{\"required\":[\"sku\",\"price\"]},"
    "  {\"required\":[\"method\"]},{\"required\":[\"reason\"]},"
    "  {\"minProperties\":0}],"
    " \"patternProperties\":{"
    "  "
    "\"^(url|referrer)$\":{\"type\":[\"string\",\"null\"],\"format\":\"iri\"},"
    "  \"(_ms|_seconds)$\":{\"type\":\"integer\",\"minimum\":0}},"
    " \"properties\":{\"device\":{\"anyOf\":[{\"type\":\"object\","
    "  \"required\":[\"os\"]},{\"type\":\"null\"}]},"
    "  \"price\":{\"type\":\"number\",\"multipleOf\":0.01}}}},"
    "\"required\":[\"user_id\",\"event_type\",\"timestamp\"],"
    "\"additionalProperties\":false}";

static double decode(const bench_corpus *c, ks_decoder *d, size_t *ok) {
  double t0 = bench_now_s();
  *ok = 0;
  for (size_t i = 0; i < c->n; i++)
    *ok += ks_decoder_feed(d, c->data + c->off[i], c->off[i + 1] - c->off[i],
                           NULL) == 0;
  return bench_now_s() - t0;
}

static ks_schema *load(const char *json) {
  ks_schema_opts o = {.table = 0, .format_assertion = 1};
  ks_schema *s;
  char err[512];
  if (ks_schema_load_opts(json, strlen(json), "bench", &o, &s, err,
                          sizeof err)) {
    fprintf(stderr, "bench_validate: %s\n", err);
    exit(1);
  }
  return s;
}

int main(int argc, char **argv) {
  size_t n = 200000;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--events") == 0)
      n = (size_t)atol(argv[i + 1]);
    else if (strcmp(argv[i], "--rounds") == 0)
      rounds = atoi(argv[i + 1]);
  }
  bench_corpus c;
  bench_corpus_build(&c, n, 0);
  const char *names[] = {"parse only (yajl, no callbacks)",
                         "decode, schema true", "decode + seed schema",
                         "decode + anyOf/patternProperties"};
  ks_schema *schemas[] = {NULL, load("true"), load(bench_seed_schema),
                          load(combo_schema)};
  double best[4] = {1e30, 1e30, 1e30, 1e30};
  size_t ok[4] = {0};
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 4; k++) {
      double t;
      if (k == 0) {
        t = bench_bare_yajl(&c, &ok[k]);
      } else {
        ks_decoder *d = ks_decoder_new(schemas[k], NULL, 0);
        t = decode(&c, d, &ok[k]);
        ks_decoder_free(d);
      }
      if (t < best[k])
        best[k] = t;
    }
  }
  printf("bench_validate: %zu demo events, %.1f MB, best of %d rounds\n", c.n,
         (double)c.bytes / 1e6, rounds);
  for (int k = 0; k < 4; k++)
    printf("  %-34s %10.0f records/s %8.1f MB/s  %zu valid\n", names[k],
           (double)c.n / best[k], (double)c.bytes / 1e6 / best[k], ok[k]);
  printf("overhead vs parse only: seed schema %.2fx, anyOf/patternProperties "
         "%.2fx\n",
         best[2] / best[0], best[3] / best[0]);
  printf("overhead vs decode with schema true: seed schema %.2fx, "
         "anyOf/patternProperties %.2fx\n",
         best[2] / best[1], best[3] / best[1]);
  for (int k = 1; k < 4; k++)
    ks_schema_free(schemas[k]);
  bench_corpus_free(&c);
  return 0;
}
