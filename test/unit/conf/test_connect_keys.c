/*
 * conf/: what a user migrating from Kafka Connect meets -- a Connect key
 * in a ksink file is named with its ksink key (and a typo still gets its
 * "did you mean"), storage.url takes s3a:// and a bare absolute path, and
 * log.format takes json, text or auto.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/connect_keys.h"

#define HEAD                                                                   \
  "kafka:\n"                                                                   \
  "  bootstrap.servers: mock\n"                                                \
  "storage:\n"                                                                 \
  "  url: s3://bucket/prefix\n"

static ks_conf *load(const char *doc, char *err, size_t n) {
  ks_conf *c = NULL;
  err[0] = 0;
  if (ks_conf_load_string(doc, strlen(doc), "t.yaml", &c, err, n) != 0)
    return NULL;
  return c;
}

static void expect_err(const char *doc, const char *want) {
  char err[1024];
  ks_conf *c = load(doc, err, sizeof err);
  if (c) {
    ks_conf_free(c);
    fail_msg("loaded: %s", doc);
  }
  if (strcmp(err, want) != 0)
    fail_msg("want: %s\ngot:  %s", want, err);
}

static void test_connect_key_hints(void **state) {
  (void)state;
  expect_err(HEAD "tables:\n"
                  "  - name: t\n"
                  "    topics: [a]\n"
                  "    flush.size: 1000\n",
             "t.yaml:8: tables[0].flush.size: a Kafka Connect key; in ksink "
             "it is tables[].flush.records");
  expect_err(HEAD "s3.bucket.name: lake\n"
                  "tables:\n"
                  "  - name: t\n"
                  "    topics: [a]\n",
             "t.yaml:5: s3.bucket.name: a Kafka Connect key; in ksink it is "
             "storage.url (s3://<bucket>/<prefix>)");
  expect_err(HEAD "tables:\n"
                  "  - name: t\n"
                  "    topics.regex: \"a.*\"\n",
             "t.yaml:7: tables[0].topics.regex: a Kafka Connect key; in ksink "
             "it is tables[].topics_regex (a POSIX extended regular "
             "expression the whole topic name matches)");
  /* not a Connect key: the usual suggestion */
  expect_err(HEAD "tables:\n"
                  "  - name: t\n"
                  "    topics: [a]\n"
                  "    flsh: {records: 1}\n",
             "t.yaml:8: tables[0].flsh: unknown key (did you mean "
             "\"flush\"?)");
}

static void test_connect_key_table(void **state) {
  (void)state;
  const ks_conf_connect_key *k = ks_conf_connect_key_find("flush.size");
  assert_non_null(k);
  assert_string_equal(k->ksink, "tables[].flush.records");
  k = ks_conf_connect_key_find("consumer.override.fetch.max.bytes");
  assert_non_null(k);
  assert_string_equal(k->ksink, "kafka.");
  assert_null(ks_conf_connect_key_find("consumer.override."));
  assert_null(ks_conf_connect_key_find("flush"));
  assert_non_null(ks_conf_connect_key_find("transforms.unwrap.type"));
}

static void test_url_forms(void **state) {
  (void)state;
  char err[1024];
  ks_conf *c = load("kafka: {bootstrap.servers: mock}\n"
                    "storage: {url: \"s3a://bucket/lake\"}\n"
                    "tables: [{name: t, topics: [a]}]\n",
                    err, sizeof err);
  assert_non_null(c);
  assert_string_equal(c->storage_url, "s3://bucket/lake");
  ks_conf_free(c);
  c = load("kafka: {bootstrap.servers: mock}\n"
           "storage: {url: /var/lib/ksink/lake}\n"
           "tables: [{name: t, topics: [a]}]\n",
           err, sizeof err);
  assert_non_null(c);
  assert_string_equal(c->storage_url, "file:///var/lib/ksink/lake");
  ks_conf_free(c);
  char *u = ks_conf_normalize_url("s3n://b/p");
  assert_string_equal(u, "s3://b/p");
  ks_free(u);
  u = ks_conf_normalize_url("file:///x");
  assert_string_equal(u, "file:///x");
  ks_free(u);
  expect_err("kafka: {bootstrap.servers: mock}\n"
             "storage: {url: \"lake\"}\n"
             "tables: [{name: t, topics: [a]}]\n",
             "t.yaml:2: storage.url: expected a URL starting with \"file://\" "
             "or \"s3://\", got \"lake\"");
}

static void test_log_format(void **state) {
  (void)state;
  static const struct {
    const char *v;
    int want;
  } cases[] = {{"auto", 0}, {"json", 1}, {"text", 2}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char doc[256], err[1024];
    snprintf(doc, sizeof doc, HEAD "log: {format: %s}\ntables: [{name: t, topics: [a]}]\n",
             cases[i].v);
    ks_conf *c = load(doc, err, sizeof err);
    if (c == NULL)
      fail_msg("%s: %s", cases[i].v, err);
    assert_int_equal(c->log_format, cases[i].want);
    ks_conf_free(c);
  }
  char err[1024];
  ks_conf *c = load(HEAD "tables: [{name: t, topics: [a]}]\n", err, sizeof err);
  assert_non_null(c);
  assert_int_equal(c->log_format, 0); /* auto by default */
  ks_conf_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_key_hints),
      cmocka_unit_test(test_connect_key_table),
      cmocka_unit_test(test_url_forms),
      cmocka_unit_test(test_log_format),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
