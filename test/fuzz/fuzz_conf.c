/*
 * libFuzzer target for the config loader: any bytes as a YAML document.
 * The loader must either accept it or return KS_ECONFIG with a one-line
 * message; it must never crash, leak or print a secret.
 */
#include "conf/conf.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[1024];
  ks_conf *c = NULL;
  int r = ks_conf_load_string((const char *)data, size, "fuzz.yaml", &c, err,
                              sizeof err);
  if (r == 0) {
    ks_conf_free(c);
    return 0;
  }
  if (r != KS_ECONFIG || strchr(err, '\n') != NULL)
    abort();
  return 0;
}
