/*
 * libFuzzer target for JSON Schemas with references as a Schema Registry
 * returns them: the input is split at NUL bytes into up to 8 documents,
 * the last the root, the others referenced schemas named "r<i>.json".
 * They are bundled into one document (stages/registry.h), which must be
 * refused with a message or be JSON that the schema loader then compiles
 * or refuses with a message.
 */
#include "base/ks.h"
#include "stages/record/schema.h"
#include "stages/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return 0;
  char *texts[8], *names[8];
  size_t lens[8], n = 0, start = 0;
  for (size_t i = 0; i <= size && n < 8; i++) {
    if (i < size && data[i] != 0)
      continue;
    texts[n] = malloc(i - start + 1);
    memcpy(texts[n], data + start, i - start);
    texts[n][i - start] = 0;
    lens[n] = i - start;
    names[n] = malloc(16);
    snprintf(names[n], 16, "r%zu.json", n);
    n++;
    start = i + 1;
  }
  char *out = NULL, err[512] = "";
  size_t outlen = 0;
  int r = ks_registry_bundle_json(texts, lens, names, n, &out, &outlen, err,
                                  sizeof err);
  if (r != 0) {
    if (err[0] == 0 || out != NULL)
      abort();
  } else {
    ks_schema *s = NULL;
    if (out == NULL || strlen(out) != outlen)
      abort();
    if (ks_schema_load_string(out, outlen, "fuzz", &s, err, sizeof err) == 0)
      ks_schema_free(s);
    else if (err[0] == 0)
      abort();
    ks_free(out);
  }
  for (size_t i = 0; i < n; i++) {
    free(texts[i]);
    free(names[i]);
  }
  return 0;
}
