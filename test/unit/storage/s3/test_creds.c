/*
 * The credential chain's parsers of outside input (STS XML, IMDS and
 * container JSON, the shared config and credentials INI files), the
 * container URL host rule, and which source the chain picks from a given
 * environment (the SDKs' order; a broken source is an error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka needs the three above first */
#include <cmocka.h>

#include "storage/s3/creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char sts_web[] =
    "<AssumeRoleWithWebIdentityResponse "
    "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    "
    "<SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"
    "</SubjectFromWebIdentityToken>\n"
    "    "
    "<Audience>client.5498841531868486423.1548@apps.example.com</Audience>\n"
    "    <AssumedRoleUser>\n"
    "      "
    "<Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/"
    "app1</Arn>\n"
    "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE&amp;x"
    "</SessionToken>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    "</SecretAccessKey>\n"
    "      <Expiration>2014-10-24T23:00:23Z</Expiration>\n"
    "      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <Provider>www.amazon.com</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static void test_sts(void **state) {
  (void)state;
  ks__s3_creds c;
  char err[256];
  assert_int_equal(
      ks__s3_parse_sts(sts_web, strlen(sts_web), &c, err, sizeof err), 0);
  assert_string_equal(c.access_key, "ASgeIAIOSFODNN7EXAMPLE");
  assert_string_equal(c.secret_key,
                      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  assert_string_equal(c.token,
                      "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE&x");
  assert_int_equal(c.expires_ms, INT64_C(1414191623000));
  ks__s3_creds_free(&c);

  static const char error_doc[] =
      "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
      "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
      "<Message>bad</Message></Error></ErrorResponse>";
  assert_int_equal(
      ks__s3_parse_sts(error_doc, strlen(error_doc), &c, err, sizeof err),
      KS_EINVAL);
  assert_string_equal(err, "STS answer without <Credentials>");
  static const char no_exp[] =
      "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
      "</SecretAccessKey><SessionToken>T</SessionToken></Credentials>";
  assert_int_equal(
      ks__s3_parse_sts(no_exp, strlen(no_exp), &c, err, sizeof err), KS_EINVAL);
  assert_null(c.access_key);
  static const char no_token[] =
      "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S"
      "</SecretAccessKey><Expiration>2030-01-01T00:00:00Z</Expiration>"
      "</Credentials>";
  assert_int_equal(
      ks__s3_parse_sts(no_token, strlen(no_token), &c, err, sizeof err),
      KS_EINVAL);
  /* truncated mid-element */
  assert_int_equal(ks__s3_parse_sts(sts_web, 600, &c, err, sizeof err),
                   KS_EINVAL);
}

static void test_json(void **state) {
  (void)state;
  ks__s3_creds c;
  char err[256];
  static const char imds[] =
      "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : "
      "\"2026-12-07T03:00:00Z\",\n  \"Type\" : \"AWS-HMAC\",\n"
      "  \"AccessKeyId\" : \"ASIAEXAMPLE\",\n  \"SecretAccessKey\" : \"sk\",\n"
      "  \"Token\" : \"tok\",\n  \"Expiration\" : \"2026-12-07T09:00:00Z\"\n}";
  assert_int_equal(
      ks__s3_parse_json_creds(imds, strlen(imds), &c, err, sizeof err), 0);
  assert_string_equal(c.access_key, "ASIAEXAMPLE");
  assert_string_equal(c.secret_key, "sk");
  assert_string_equal(c.token, "tok");
  assert_int_equal(c.expires_ms, INT64_C(1796634000000));
  ks__s3_creds_free(&c);
  /* container: no Code; the RoleArn is ignored */
  static const char ecs[] =
      "{\"RoleArn\":\"arn:aws:iam::1:role/x\",\"AccessKeyId\":\"AK\","
      "\"SecretAccessKey\":\"SK\",\"Token\":\"T\",\"Expiration\":"
      "\"2026-12-07T09:00:00.123Z\"}";
  assert_int_equal(
      ks__s3_parse_json_creds(ecs, strlen(ecs), &c, err, sizeof err), 0);
  assert_int_equal(c.expires_ms, INT64_C(1796634000123));
  ks__s3_creds_free(&c);
  static const char failed[] =
      "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no\"}";
  assert_int_equal(
      ks__s3_parse_json_creds(failed, strlen(failed), &c, err, sizeof err),
      KS_EINVAL);
  assert_string_equal(
      err, "credentials answer: Code AssumeRoleUnauthorizedAccess: no");
  const char *bad[] = {"[]",
                       "{",
                       "",
                       "{\"AccessKeyId\":\"A\"}",
                       "{\"AccessKeyId\":1,\"SecretAccessKey\":\"S\"}",
                       "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\","
                       "\"Expiration\":\"soon\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(
        ks__s3_parse_json_creds(bad[i], strlen(bad[i]), &c, err, sizeof err),
        KS_EINVAL);
  assert_int_equal(ks__s3_parse_json_creds("{}\0{}", 5, &c, err, sizeof err),
                   KS_EINVAL);
}

static const char ini[] = "# comment\n"
                          "[default]\n"
                          "aws_access_key_id = AKDEFAULT\n"
                          "aws_secret_access_key=SKDEFAULT   \n"
                          "; another\n"
                          "[profile app]\n"
                          "role_arn = arn:aws:iam::1:role/app\n"
                          "s3 =\n"
                          "  region = nested-not-read\n"
                          "region = eu-west-1\n"
                          "region = eu-west-2\n"
                          "[ spaced ]\n"
                          "empty =\n"
                          "key=v=with=equals";

static void test_ini(void **state) {
  (void)state;
  char *v = NULL;
  size_t n = strlen(ini);
  assert_int_equal(ks__s3_ini_get(ini, n, "default", "aws_access_key_id", &v),
                   0);
  assert_string_equal(v, "AKDEFAULT");
  ks_free(v);
  assert_int_equal(
      ks__s3_ini_get(ini, n, "default", "aws_secret_access_key", &v), 0);
  assert_string_equal(v, "SKDEFAULT");
  ks_free(v);
  assert_int_equal(ks__s3_ini_get(ini, n, "profile app", "region", &v), 0);
  assert_string_equal(v, "eu-west-2"); /* the later one, never the nested */
  ks_free(v);
  assert_int_equal(ks__s3_ini_get(ini, n, "spaced", "key", &v), 0);
  assert_string_equal(v, "v=with=equals");
  ks_free(v);
  assert_int_equal(ks__s3_ini_get(ini, n, "spaced", "empty", &v), KS_ENOENT);
  assert_int_equal(ks__s3_ini_get(ini, n, "app", "role_arn", &v), KS_ENOENT);
  assert_int_equal(ks__s3_ini_get(ini, n, "default", "region", &v), KS_ENOENT);
  assert_true(ks__s3_ini_has(ini, n, "profile app"));
  assert_true(ks__s3_ini_has(ini, n, "spaced"));
  assert_false(ks__s3_ini_has(ini, n, "app"));
  assert_false(ks__s3_ini_has("[unterminated\n", 14, "unterminated"));
}

static void test_container_hosts(void **state) {
  (void)state;
  assert_true(ks__s3_container_host_allowed("http://127.0.0.1:8080/creds"));
  assert_true(ks__s3_container_host_allowed("http://127.1.2.3/x"));
  assert_true(ks__s3_container_host_allowed("http://localhost/x"));
  assert_true(ks__s3_container_host_allowed("http://[::1]:80/x"));
  assert_true(ks__s3_container_host_allowed("http://169.254.170.2/v2/c"));
  assert_true(ks__s3_container_host_allowed("http://169.254.170.23/v1/c"));
  assert_true(ks__s3_container_host_allowed("http://[fd00:ec2::23]/v1/c"));
  assert_true(ks__s3_container_host_allowed("https://creds.example.com/x"));
  assert_false(ks__s3_container_host_allowed("http://creds.example.com/x"));
  assert_false(ks__s3_container_host_allowed("http://169.254.169.254/x"));
  assert_false(ks__s3_container_host_allowed("http://10.0.0.1/x"));
  assert_false(ks__s3_container_host_allowed("ftp://127.0.0.1/x"));
  assert_false(ks__s3_container_host_allowed("not a url"));
  char *b, *p;
  assert_int_equal(
      ks__s3_split_url("http://127.0.0.1:1/v1/credentials", &b, &p), 0);
  assert_string_equal(b, "http://127.0.0.1:1");
  assert_string_equal(p, "/v1/credentials");
  ks_free(b);
  ks_free(p);
  assert_int_equal(ks__s3_split_url("https://sts.amazonaws.com", &b, &p), 0);
  assert_string_equal(p, "/");
  ks_free(b);
  ks_free(p);
  assert_int_equal(ks__s3_split_url("sts.amazonaws.com", &b, &p), KS_EINVAL);
}

/* ---- the chain's choice ---------------------------------------------------
 */

static char dir[64];

static void clear_env(void) {
  static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                     "AWS_SECRET_ACCESS_KEY",
                                     "AWS_SESSION_TOKEN",
                                     "AWS_WEB_IDENTITY_TOKEN_FILE",
                                     "AWS_ROLE_ARN",
                                     "AWS_ROLE_SESSION_NAME",
                                     "AWS_PROFILE",
                                     "AWS_SHARED_CREDENTIALS_FILE",
                                     "AWS_CONFIG_FILE",
                                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                     "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                     "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                     "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                     "AWS_EC2_METADATA_DISABLED",
                                     "AWS_REGION",
                                     "AWS_DEFAULT_REGION",
                                     "AWS_ENDPOINT_URL_STS"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    unsetenv(vars[i]);
  setenv("HOME", dir, 1);
}

static void put(const char *name, const char *text) {
  char p[128];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Opens a chain like ks_s3_open does (no transport): the provider, or a
 * negative code. */
static int pick(const ks_conf_s3 *conf) {
  ks__s3 s3;
  memset(&s3, 0, sizeof s3);
  s3.region = ks__s3_region(conf);
  int r = ks__s3_chain_open(&s3, conf);
  int p = r ? r : s3.chain->provider;
  ks__s3_chain_free(s3.chain);
  ks_free(s3.region);
  return p;
}

/* The STS endpoint is regional unless AWS_ENDPOINT_URL_STS says where. */
static void test_sts_endpoint(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/ks-creds-sts-%d", (int)getpid());
  clear_env();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  assert_int_equal(system(cmd), 0);
  put("token", "jwt");
  char tok[128];
  snprintf(tok, sizeof tok, "%s/token", dir);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
  setenv("AWS_REGION", "eu-west-3", 1);
  ks__s3 s3;
  memset(&s3, 0, sizeof s3);
  s3.region = ks__s3_region(NULL);
  assert_int_equal(ks__s3_chain_open(&s3, NULL), 0);
  assert_string_equal(s3.chain->sts_url, "https://sts.eu-west-3.amazonaws.com");
  assert_string_equal(s3.chain->sts_path, "/");
  assert_string_equal(s3.chain->sts_host, "sts.eu-west-3.amazonaws.com");
  assert_string_equal(s3.chain->web_role_arn, "arn:aws:iam::1:role/r");
  ks__s3_chain_free(s3.chain);
  setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566/sts", 1);
  setenv("AWS_ROLE_SESSION_NAME", "pod-1", 1);
  assert_int_equal(ks__s3_chain_open(&s3, NULL), 0);
  assert_string_equal(s3.chain->sts_url, "http://127.0.0.1:4566");
  assert_string_equal(s3.chain->sts_path, "/sts");
  assert_string_equal(s3.chain->session_name, "pod-1");
  ks__s3_chain_free(s3.chain);
  setenv("AWS_ENDPOINT_URL_STS", "sts.example.com", 1);
  assert_int_equal(ks__s3_chain_open(&s3, NULL), KS_ECONFIG);
  ks__s3_chain_free(s3.chain);
  /* the container token from the environment (no file) */
  clear_env();
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/v1/c", 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer x", 1);
  assert_int_equal(ks__s3_chain_open(&s3, NULL), 0);
  assert_string_equal(s3.chain->container_token, "Bearer x");
  assert_string_equal(s3.chain->container_url, "http://127.0.0.1:1");
  assert_string_equal(s3.chain->container_path, "/v1/c");
  ks__s3_chain_free(s3.chain);
  ks_free(s3.region);
  clear_env();
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_chain(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/ks-creds-%d", (int)getpid());
  char cmd[128];
  snprintf(cmd, sizeof cmd, "mkdir -p %s/.aws", dir);
  assert_int_equal(system(cmd), 0);
  clear_env();
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  assert_int_equal(pick(NULL), KS_EACCES); /* nothing */
  unsetenv("AWS_EC2_METADATA_DISABLED");
  assert_int_equal(pick(NULL), KS_S3_CRED_IMDS); /* the last resort */

  put(".aws/credentials", "[default]\naws_access_key_id=A\n"
                          "aws_secret_access_key=S\n");
  assert_int_equal(pick(NULL), KS_S3_CRED_PROFILE);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/c", 1);
  assert_int_equal(pick(NULL), KS_S3_CRED_PROFILE); /* files come first */
  put("token", "jwt\n");
  char tok[128];
  snprintf(tok, sizeof tok, "%s/token", dir);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
  assert_int_equal(pick(NULL), KS_S3_CRED_WEB_IDENTITY);
  setenv("AWS_ACCESS_KEY_ID", "AK", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
  assert_int_equal(pick(NULL), KS_S3_CRED_ENV);
  ks_conf_s3 conf;
  memset(&conf, 0, sizeof conf);
  conf.access_key_id = "CK";
  conf.secret_access_key = "CS";
  assert_int_equal(pick(&conf), KS_S3_CRED_CONFIG);

  /* a broken web identity token file stops the chain */
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
  assert_int_equal(pick(NULL), KS_EACCES);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
  unsetenv("AWS_ROLE_ARN");
  assert_int_equal(pick(NULL), KS_ECONFIG); /* half of web identity */
  unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");

  /* a named profile that does not exist is an error, not a fallthrough */
  setenv("AWS_PROFILE", "nope", 1);
  assert_int_equal(pick(NULL), KS_EACCES);
  /* role_arn + source_profile in the config file */
  put(".aws/config", "[profile app]\nrole_arn = arn:aws:iam::1:role/app\n"
                     "source_profile = default\nregion = sa-east-1\n"
                     "[profile web]\nrole_arn = arn:aws:iam::1:role/w\n"
                     "web_identity_token_file = /nonexistent\n"
                     "[profile lonely]\nrole_arn = arn:aws:iam::1:role/l\n");
  setenv("AWS_PROFILE", "app", 1);
  assert_int_equal(pick(NULL), KS_S3_CRED_PROFILE);
  char *region = ks__s3_region(NULL);
  assert_string_equal(region, "sa-east-1");
  ks_free(region);
  setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
  region = ks__s3_region(NULL);
  assert_string_equal(region, "eu-north-1");
  ks_free(region);
  setenv("AWS_REGION", "eu-south-1", 1);
  region = ks__s3_region(NULL);
  assert_string_equal(region, "eu-south-1");
  ks_free(region);
  conf.region = "me-south-1";
  region = ks__s3_region(&conf);
  assert_string_equal(region, "me-south-1");
  ks_free(region);
  setenv("AWS_PROFILE", "web", 1);
  assert_int_equal(pick(NULL), KS_EACCES); /* its token file is missing */
  setenv("AWS_PROFILE", "lonely", 1);
  assert_int_equal(pick(NULL), KS_ECONFIG); /* role_arn without a source */

  /* container hosts */
  unsetenv("AWS_PROFILE");
  unlink(tok);
  snprintf(cmd, sizeof cmd, "rm -rf %s/.aws", dir);
  assert_int_equal(system(cmd), 0);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds", 1);
  assert_int_equal(pick(NULL), KS_ECONFIG);
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/c", 1);
  assert_int_equal(pick(NULL), KS_S3_CRED_CONTAINER);
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
  assert_int_equal(pick(NULL), KS_S3_CRED_CONTAINER); /* relative wins */
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sts),   cmocka_unit_test(test_json),
      cmocka_unit_test(test_ini),   cmocka_unit_test(test_container_hosts),
      cmocka_unit_test(test_chain), cmocka_unit_test(test_sts_endpoint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
