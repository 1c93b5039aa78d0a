/*
 * SigV4 against vectors of the published AWS Signature Version 4 test
 * suite (service "service", region us-east-1, 2015-08-30T12:36:00Z,
 * credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY), plus
 * the S3 specifics the suite does not cover: valueless parameters are
 * written "uploads=", keys keep '/', and reserved characters are %XX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "storage/s3/sigv4.h"

#include <string.h>

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define CRED "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"

static const ks_sigv4_header vanilla_headers[] = {
    {"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};

static ks_sigv4_req suite_req(const char *method, const char *path,
                              const ks_sigv4_param *q, size_t nq,
                              const ks_sigv4_header *h, size_t nh) {
  ks_sigv4_req r = {.method = method,
                    .path = path,
                    .query = q,
                    .nquery = nq,
                    .headers = h,
                    .nheaders = nh,
                    .payload_hash = EMPTY_SHA,
                    .amz_date = "20150830T123600Z",
                    .region = "us-east-1",
                    .service = "service",
                    .access_key = "AKIDEXAMPLE",
                    .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
  return r;
}

static void expect_authz(const ks_sigv4_req *r, const char *expected) {
  ks_buf a;
  ks_buf_init(&a, 0);
  assert_int_equal(ks_sigv4_sign(r, &a, NULL, NULL), 0);
  ks_buf_cstr(&a);
  assert_string_equal((char *)a.data, expected);
  ks_buf_free(&a);
}

/* get-vanilla-query-order-key: GET /?Param1=value2&Param1=Value1 */
static void test_query_order_key(void **state) {
  (void)state;
  ks_sigv4_param q[] = {{"Param1", "value2"}, {"Param1", "Value1"}};
  ks_sigv4_req r = suite_req("GET", "/", q, 2, vanilla_headers, 2);
  ks_buf a, creq, sts;
  ks_buf_init(&a, 0);
  ks_buf_init(&creq, 0);
  ks_buf_init(&sts, 0);
  assert_int_equal(ks_sigv4_sign(&r, &a, &creq, &sts), 0);
  ks_buf_cstr(&a);
  ks_buf_cstr(&creq);
  ks_buf_cstr(&sts);
  assert_string_equal((char *)creq.data,
                      "GET\n/\nParam1=Value1&Param1=value2\n"
                      "host:example.amazonaws.com\n"
                      "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA);
  assert_string_equal((char *)sts.data,
                      "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/"
                      "service/aws4_request\n"
                      "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89");
  assert_string_equal(
      (char *)a.data,
      "AWS4-HMAC-SHA256 Credential=" CRED ", SignedHeaders=host;x-amz-date, "
      "Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
  ks_buf_free(&a);
  ks_buf_free(&creq);
  ks_buf_free(&sts);
}

/* get-vanilla-empty-query-key: GET /?Param1=value1 */
static void test_get_query(void **state) {
  (void)state;
  ks_sigv4_param q[] = {{"Param1", "value1"}};
  ks_sigv4_req r = suite_req("GET", "/", q, 1, vanilla_headers, 2);
  expect_authz(&r, "AWS4-HMAC-SHA256 Credential=" CRED
                   ", SignedHeaders=host;x-amz-date, "
                   "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb");
}

/* post-vanilla-empty-query-value: POST /?Param1=value1 */
static void test_post_query(void **state) {
  (void)state;
  ks_sigv4_param q[] = {{"Param1", "value1"}};
  ks_sigv4_req r = suite_req("POST", "/", q, 1, vanilla_headers, 2);
  expect_authz(&r, "AWS4-HMAC-SHA256 Credential=" CRED
                   ", SignedHeaders=host;x-amz-date, "
                   "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
}

/* get-unreserved: every unreserved character stays as is in the path. */
static void test_unreserved(void **state) {
  (void)state;
  const char *raw =
      "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  ks_buf p;
  ks_buf_init(&p, 0);
  ks_sigv4_uri_encode(&p, raw, strlen(raw), 1);
  ks_buf_cstr(&p);
  assert_string_equal((char *)p.data, raw);
  ks_sigv4_req r = suite_req("GET", (char *)p.data, NULL, 0, vanilla_headers, 2);
  expect_authz(&r, "AWS4-HMAC-SHA256 Credential=" CRED
                   ", SignedHeaders=host;x-amz-date, "
                   "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
  ks_buf_free(&p);
}

/* post-sts-header-before: the session token is a signed header. */
static void test_session_token(void **state) {
  (void)state;
  ks_sigv4_header h[] = {
      {"Host", "example.amazonaws.com"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"X-Amz-Security-Token",
       "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsK"
       "WHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM"
       "4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6"
       "fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC"
       "9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="}};
  ks_sigv4_req r = suite_req("POST", "/", NULL, 0, h, 3);
  expect_authz(&r, "AWS4-HMAC-SHA256 Credential=" CRED
                   ", SignedHeaders=host;x-amz-date;x-amz-security-token, "
                   "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

/* S3 specifics: "?uploads" signs and travels as "uploads=", query values
 * are encoded ('/' too), sorting is by encoded name. */
static void test_s3_query(void **state) {
  (void)state;
  ks_sigv4_param q[] = {{"prefix", "t/_delta_log/"},
                        {"list-type", "2"},
                        {"uploads", NULL},
                        {"continuation-token", "a b+c="}};
  ks_buf b;
  ks_buf_init(&b, 0);
  assert_int_equal(ks_sigv4_query(&b, q, 4), 0);
  ks_buf_cstr(&b);
  assert_string_equal((char *)b.data,
                      "continuation-token=a%20b%2Bc%3D&list-type=2&"
                      "prefix=t%2F_delta_log%2F&uploads=");
  ks_buf_free(&b);
  ks_buf_init(&b, 0);
  ks_sigv4_uri_encode(&b, "/bkt/a b/ü.json", strlen("/bkt/a b/ü.json"), 1);
  ks_buf_cstr(&b);
  assert_string_equal((char *)b.data, "/bkt/a%20b/%C3%BC.json");
  ks_buf_free(&b);
  char d[17];
  ks_sigv4_amz_date(1440938160, d);
  assert_string_equal(d, "20150830T123600Z");
  char h[65];
  ks_sigv4_sha256_hex("", 0, h);
  assert_string_equal(h, EMPTY_SHA);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_query_order_key), cmocka_unit_test(test_get_query),
      cmocka_unit_test(test_post_query),      cmocka_unit_test(test_unreserved),
      cmocka_unit_test(test_session_token),   cmocka_unit_test(test_s3_query),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
