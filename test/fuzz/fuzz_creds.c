/*
 * libFuzzer target for the parsers of what credential sources answer
 * (storage/s3/creds_parse.c): any bytes as an STS XML answer, as IMDS /
 * container credentials JSON, as an AWS shared config or credentials INI
 * file, and (up to the first NUL) as a container credentials URL. What
 * parses must carry a non-empty access key and secret; nothing may read
 * outside the input or leak.
 */
#include "storage/s3/s3_int.h"

#include <stdlib.h>
#include <string.h>

static void check(int r, ks__s3_creds *c) {
  if (r == 0 && (c->access_key == NULL || c->secret_key == NULL ||
                 c->access_key[0] == '\0' || c->secret_key[0] == '\0'))
    abort();
  if (r != 0 && (c->access_key || c->secret_key || c->token))
    abort();
  ks__s3_creds_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  ks__s3_creds c;
  char err[256];
  check(ks__s3_parse_sts(s, size, &c, err, sizeof err), &c);
  check(ks__s3_parse_json_creds(s, size, &c, err, sizeof err), &c);
  static const char *const sections[] = {"default", "profile app", "x"};
  static const char *const keys[] = {"aws_access_key_id", "role_arn", "region"};
  for (size_t i = 0; i < 3; i++) {
    char *v = NULL;
    if (ks__s3_ini_get(s, size, sections[i], keys[i], &v) == 0) {
      if (v == NULL || v[0] == '\0')
        abort();
      ks_free(v);
    }
    (void)ks__s3_ini_has(s, size, sections[i]);
  }
  char url[257];
  size_t n = size < 256 ? size : 256;
  memcpy(url, data, n);
  url[n] = '\0';
  (void)ks__s3_container_host_allowed(url);
  char *b = NULL, *p = NULL;
  if (ks__s3_split_url(url, &b, &p) == 0) {
    if (p[0] != '/')
      abort();
    ks_free(b);
    ks_free(p);
  }
  return 0;
}
