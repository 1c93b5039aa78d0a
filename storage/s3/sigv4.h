/*
 * AWS Signature Version 4 (header auth) on OpenSSL: canonical request,
 * string to sign, signing key, Authorization header. Pure functions with
 * no I/O, so they are unit-tested against the published AWS SigV4 test
 * suite. Callers: storage/s3 (every request), tools that talk to S3.
 *
 * The canonical query string built here is also the query string the
 * request is sent with: RGW and S3 verify what they receive, so signing
 * one string and sending another is how signatures go wrong.
 */
#ifndef KS_STORAGE_S3_SIGV4_H
#define KS_STORAGE_S3_SIGV4_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/* A query parameter, not yet encoded. value NULL: a valueless parameter
 * ("?uploads"), written "uploads=". */
typedef struct ks_sigv4_param {
  const char *name;
  const char *value;
} ks_sigv4_param;

typedef struct ks_sigv4_header {
  const char *name; /* any case; signed lower-cased */
  const char *value;
} ks_sigv4_header;

typedef struct ks_sigv4_req {
  const char *method;
  const char *path; /* URI-encoded already (ks_sigv4_uri_encode, '/' kept) */
  const ks_sigv4_param *query;
  size_t nquery;
  const ks_sigv4_header *headers; /* every header to sign, host included */
  size_t nheaders;
  const char *payload_hash; /* hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
  const char *amz_date;     /* "20150830T123600Z" */
  const char *region;
  const char *service;
  const char *access_key;
  const char *secret_key;
} ks_sigv4_req;

/* RFC 3986 unreserved characters stay, everything else becomes %XX
 * (upper-case hex); '/' stays when keep_slash. */
int ks_sigv4_uri_encode(ks_buf *b, const char *s, size_t n, int keep_slash);
/* Sorted (by encoded name, then value), encoded "a=1&b=&c=2". */
int ks_sigv4_query(ks_buf *b, const ks_sigv4_param *q, size_t n);
/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void ks_sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/* "YYYYMMDDTHHMMSSZ" for a Unix time. */
void ks_sigv4_amz_date(int64_t unix_s, char out[17]);

/* Writes the Authorization header value into authz; when creq/sts are not
 * NULL, also the canonical request and the string to sign (for tests and
 * for debugging a SignatureDoesNotMatch). */
int ks_sigv4_sign(const ks_sigv4_req *r, ks_buf *authz, ks_buf *creq,
                  ks_buf *sts);

#endif
