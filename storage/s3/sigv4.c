#include "storage/s3/sigv4.h"

#include "base/ks.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const uint8_t *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hexdig[d[i] >> 4];
    out[2 * i + 1] = hexdig[d[i] & 15];
  }
  out[2 * n] = '\0';
}

void ks_sigv4_sha256_hex(const void *data, size_t len, char out[65]) {
  uint8_t md[SHA256_DIGEST_LENGTH];
  SHA256(data, len, md);
  to_hex(md, sizeof md, out);
}

void ks_sigv4_amz_date(int64_t unix_s, char out[17]) {
  time_t t = (time_t)unix_s;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int unreserved(unsigned char c) {
  return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int ks_sigv4_uri_encode(ks_buf *b, const char *s, size_t n, int keep_slash) {
  static const char up[] = "0123456789ABCDEF";
  int r = ks_buf_reserve(b, n);
  for (size_t i = 0; i < n && r == 0; i++) {
    unsigned char c = (unsigned char)s[i];
    if (unreserved(c) || (keep_slash && c == '/')) {
      r = ks_buf_append_byte(b, c);
    } else {
      char esc[3] = {'%', up[c >> 4], up[c & 15]};
      r = ks_buf_append(b, esc, 3);
    }
  }
  return r;
}

typedef struct enc_param {
  char *name, *value;
} enc_param;

static int cmp_param(const void *a, const void *b) {
  const enc_param *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s) {
  ks_buf b;
  ks_buf_init(&b, 0);
  if (s)
    ks_sigv4_uri_encode(&b, s, strlen(s), 0);
  ks_buf_append_byte(&b, 0);
  return (char *)ks_buf_steal(&b, NULL);
}

int ks_sigv4_query(ks_buf *b, const ks_sigv4_param *q, size_t n) {
  if (n == 0)
    return 0;
  enc_param *e = ks_calloc(n, sizeof *e);
  for (size_t i = 0; i < n; i++) {
    e[i].name = encode_dup(q[i].name);
    e[i].value = encode_dup(q[i].value);
  }
  qsort(e, n, sizeof *e, cmp_param);
  int r = 0;
  for (size_t i = 0; i < n; i++) {
    if (r == 0)
      r = ks_buf_appendf(b, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
    ks_free(e[i].name);
    ks_free(e[i].value);
  }
  ks_free(e);
  return r;
}

typedef struct canon_header {
  char *name;  /* lower-case */
  char *value; /* trimmed, inner runs of spaces collapsed */
} canon_header;

static int cmp_header(const void *a, const void *b) {
  return strcmp(((const canon_header *)a)->name,
                ((const canon_header *)b)->name);
}

static char *canon_value(const char *v) {
  size_t n = strlen(v);
  char *o = ks_malloc(n + 1), *p = o;
  int space = 0;
  while (*v == ' ' || *v == '\t')
    v++;
  for (; *v; v++) {
    if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') {
      space = 1;
      continue;
    }
    if (space && p != o)
      *p++ = ' ';
    space = 0;
    *p++ = *v;
  }
  *p = '\0';
  return o;
}

static void hmac(const void *key, size_t klen, const char *msg,
                 uint8_t out[32]) {
  unsigned int len = 32;
  HMAC(EVP_sha256(), key, (int)klen, (const uint8_t *)msg, strlen(msg), out,
       &len);
}

int ks_sigv4_sign(const ks_sigv4_req *r, ks_buf *authz, ks_buf *creq_out,
                  ks_buf *sts_out) {
  if (r->amz_date == NULL || strlen(r->amz_date) != 16)
    return KS_EINVAL;
  char date[9];
  memcpy(date, r->amz_date, 8);
  date[8] = '\0';

  canon_header *h = ks_calloc(r->nheaders ? r->nheaders : 1, sizeof *h);
  for (size_t i = 0; i < r->nheaders; i++) {
    h[i].name = ks_strdup(r->headers[i].name);
    for (char *c = h[i].name; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    h[i].value = canon_value(r->headers[i].value);
  }
  qsort(h, r->nheaders, sizeof *h, cmp_header);

  ks_buf creq, signed_h;
  ks_buf_init(&creq, 0);
  ks_buf_init(&signed_h, 0);
  ks_buf_appendf(&creq, "%s\n%s\n", r->method, r->path);
  ks_sigv4_query(&creq, r->query, r->nquery);
  ks_buf_append_byte(&creq, '\n');
  /* Repeated headers are joined with commas, in the order given. */
  for (size_t i = 0; i < r->nheaders; i++) {
    if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
      ks_buf_truncate(&creq, creq.len - 1);
      ks_buf_appendf(&creq, ",%s\n", h[i].value);
      continue;
    }
    ks_buf_appendf(&creq, "%s:%s\n", h[i].name, h[i].value);
    ks_buf_appendf(&signed_h, "%s%s", signed_h.len ? ";" : "", h[i].name);
  }
  ks_buf_append_byte(&signed_h, 0);
  ks_buf_appendf(&creq, "\n%s\n%s", (char *)signed_h.data, r->payload_hash);

  char creq_hash[65];
  ks_sigv4_sha256_hex(creq.data, creq.len, creq_hash);
  ks_buf sts;
  ks_buf_init(&sts, 0);
  ks_buf_appendf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
                 r->amz_date, date, r->region, r->service, creq_hash);
  ks_buf_append_byte(&sts, 0);

  /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
   * service), "aws4_request") */
  size_t sklen = strlen(r->secret_key) + 4;
  char *k0 = ks_malloc(sklen + 1);
  memcpy(k0, "AWS4", 4);
  memcpy(k0 + 4, r->secret_key, sklen - 4 + 1);
  uint8_t k1[32], k2[32], k3[32], k4[32], sig[32];
  hmac(k0, sklen, date, k1);
  hmac(k1, 32, r->region, k2);
  hmac(k2, 32, r->service, k3);
  hmac(k3, 32, "aws4_request", k4);
  hmac(k4, 32, (const char *)sts.data, sig);
  OPENSSL_cleanse(k0, sklen);
  ks_free(k0);
  char sighex[65];
  to_hex(sig, 32, sighex);

  int rc = ks_buf_appendf(
      authz,
      "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
      "SignedHeaders=%s, Signature=%s",
      r->access_key, date, r->region, r->service, (char *)signed_h.data,
      sighex);
  if (creq_out)
    ks_buf_append(creq_out, creq.data, creq.len);
  if (sts_out)
    ks_buf_append(sts_out, sts.data, sts.len - 1);
  for (size_t i = 0; i < r->nheaders; i++) {
    ks_free(h[i].name);
    ks_free(h[i].value);
  }
  ks_free(h);
  ks_buf_free(&creq);
  ks_buf_free(&signed_h);
  ks_buf_free(&sts);
  OPENSSL_cleanse(k1, 32);
  OPENSSL_cleanse(k4, 32);
  return rc;
}
