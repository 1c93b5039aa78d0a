/*
 * conf/: the example config loads with the values it shows, defaults fill
 * what is omitted, ${ENV} interpolates, and every bad document fails with
 * exactly the one-line "file:line: key: message" a user would read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"

#ifndef KS_SOURCE_DIR
#define KS_SOURCE_DIR "."
#endif

static ks_conf *load_ok(const char *doc) {
  ks_conf *c = NULL;
  char err[1024] = "";
  int r = ks_conf_load_string(doc, strlen(doc), "t.yaml", &c, err, sizeof err);
  if (r != 0)
    print_error("unexpected error: %s\n", err);
  assert_int_equal(r, 0);
  assert_non_null(c);
  return c;
}

/* Returns 1 when doc fails with exactly want (printing the difference
 * otherwise), so one run reports every wrong message. */
static int expect_err(const char *doc, const char *want) {
  ks_conf *c = (ks_conf *)1;
  char err[1024] = "";
  int r = ks_conf_load_string(doc, strlen(doc), "t.yaml", &c, err, sizeof err);
  if (r == KS_ECONFIG && c == NULL && strcmp(err, want) == 0 &&
      strchr(err, '\n') == NULL)
    return 1;
  print_error("document:\n%s\nwant: %s\ngot:  %s (r=%d)\n\n", doc, want, err,
              r);
  if (r == 0)
    ks_conf_free(c);
  return 0;
}

/* ---- the shipped example ---------------------------------------------- */

static void test_example_file(void **state) {
  (void)state;
  ks_conf *c = NULL;
  char err[1024] = "";
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  unsetenv("KSINK_ADMIN_TOKEN");
  /* Load from another directory: the schema resolves against the config
   * file's directory. */
  assert_int_equal(chdir("/"), 0);
  int r =
      ks_conf_load_file(KS_SOURCE_DIR "/conf/ksink.yaml", &c, err, sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  assert_string_equal(c->file, KS_SOURCE_DIR "/conf/ksink.yaml");
  assert_string_equal(c->app_id, "ksink");
  assert_string_equal(ks_conf_kafka_get(c, "bootstrap.servers"),
                      "127.0.0.1:9092");
  assert_string_equal(ks_conf_kafka_get(c, "group.id"), "ksink");
  assert_string_equal(ks_conf_kafka_get(c, "auto.offset.reset"), "earliest");
  assert_int_equal(c->workers, 2);
  assert_int_equal(c->ncores, 2);
  assert_int_equal(c->cores[0], 0);
  assert_int_equal(c->cores[1], 1);
  assert_int_equal(c->memory_budget, 256 << 20);
  assert_string_equal(c->storage_url, "file:///var/lib/ksink/lake");
  assert_string_equal(c->s3.endpoint, "http://127.0.0.1:7480");
  assert_string_equal(c->s3.region, "us-east-1");
  assert_string_equal(c->s3.addressing, "path");
  assert_null(c->s3.access_key_id);
  assert_null(c->s3.secret_access_key);
  assert_null(c->s3.session_token);
  assert_int_equal(c->s3.part_size, 8 << 20);
  assert_int_equal(c->s3.max_parts_in_flight, 4);
  assert_string_equal(c->http_listen, "127.0.0.1:8083");
  assert_null(c->http_admin_token);
  assert_int_equal(c->ntables, 1);
  const ks_conf_table *t = &c->tables[0];
  assert_string_equal(t->name, "user_events");
  assert_int_equal(t->ntopics, 1);
  assert_string_equal(t->topics[0], "user-events");
  assert_string_equal(t->path, "user_events");
  assert_int_equal(t->format, KS_FORMAT_DELTA);
  assert_string_equal(t->schema_path,
                      KS_SOURCE_DIR "/conf/schemas/user-events.json");
  assert_int_equal(access(t->schema_path, R_OK), 0);
  assert_int_equal(t->codec, KS_CODEC_SNAPPY);
  assert_int_equal(t->zstd_level, 3);
  assert_int_equal(t->rowgroup_bytes, 128 << 20);
  assert_int_equal(t->flush_records, 500000);
  assert_int_equal(t->flush_bytes, 128 << 20);
  assert_int_equal(t->flush_interval_ms, 30000);
  assert_int_equal(t->errors_tolerate_all, 1);
  assert_int_equal(t->optimize_enabled, 0);
  assert_int_equal(t->optimize_target_size, 256 << 20);
  assert_int_equal(t->optimize_min_files, 10);
  assert_string_equal(t->dlq_topic, "dlq-topic");
  assert_true(t->line > 1);
  ks_conf_free(c);

  /* From the repository root the path as written exists: kept as is. */
  assert_int_equal(chdir(KS_SOURCE_DIR "/conf"), 0);
  assert_int_equal(ks_conf_load_file("ksink.yaml", &c, err, sizeof err), 0);
  assert_string_equal(c->tables[0].schema_path, "schemas/user-events.json");
  ks_conf_free(c);
}

static void test_missing_file(void **state) {
  (void)state;
  ks_conf *c = NULL;
  char err[256];
  assert_int_equal(
      ks_conf_load_file("/nonexistent/ksink.yaml", &c, err, sizeof err),
      KS_ECONFIG);
  assert_null(c);
  assert_string_equal(err,
                      "/nonexistent/ksink.yaml: cannot read: No such file or "
                      "directory");
}

/* ---- defaults --------------------------------------------------------- */

/* tables[].table_features and tables[].properties (Delta tables) */
static void test_table_features(void **state) {
  (void)state;
  ks_conf *c = load_ok("kafka: { bootstrap.servers: mock }\n"
                       "storage: { url: file:///tmp/x }\n"
                       "tables:\n"
                       "  - name: events\n"
                       "    topics: [a]\n"
                       "    table_features: [inCommitTimestamp, rowTracking]\n"
                       "    properties:\n"
                       "      delta.checkpointInterval: 20\n"
                       "      delta.parquet.compression.codec: zstd\n");
  const ks_conf_table *t = &c->tables[0];
  assert_int_equal(t->ntable_features, 2);
  assert_string_equal(t->table_features[1], "rowTracking");
  assert_int_equal(t->nproperties, 2);
  assert_string_equal(t->properties[0].key, "delta.checkpointInterval");
  assert_string_equal(t->properties[0].value, "20");
  ks_conf_free(c);
  int ok = 1;
  ok &= expect_err("kafka: { bootstrap.servers: mock }\n"
                   "storage: { url: file:///tmp/x }\n"
                   "tables:\n"
                   "  - name: events\n"
                   "    topics: [a]\n"
                   "    table_features: [identityColumns]\n",
                   "t.yaml:6: tables[0].table_features[0]: \"identityColumns\" "
                   "is not a feature ksink creates tables with; one of "
                   "appendOnly, changeDataFeed, deletionVectors, domainMetadata, "
                   "inCommitTimestamp, rowTracking, v2Checkpoint, "
                   "vacuumProtocolCheck, timestampNtz, typeWidening, "
                   "columnMapping");
  ok &= expect_err("kafka: { bootstrap.servers: mock }\n"
                   "storage: { url: file:///tmp/x }\n"
                   "tables:\n"
                   "  - name: events\n"
                   "    topics: [a]\n"
                   "    format: jsonl\n"
                   "    schema: " KS_SOURCE_DIR "/conf/schemas/user-events.json\n"
                   "    properties: { delta.appendOnly: \"true\" }\n",
                   "t.yaml:4: tables[0]: table_features and properties are "
                   "for Delta tables (format: delta)");
  assert_true(ok);
}

static void test_schema_registry(void **state) {
  (void)state;
  ks_conf *c = load_ok("kafka: { bootstrap.servers: mock }\n"
                       "storage: { url: file:///tmp/x }\n"
                       "schema_registry:\n"
                       "  url: [http://a:8081, \"https://b:8081/\"]\n"
                       "  basic_auth_user_info: \"u:p\"\n"
                       "tables:\n"
                       "  - name: events\n"
                       "    topics: [a]\n"
                       "    value_format: avro\n"
                       "  - name: other\n"
                       "    topics: [b]\n"
                       "    value_format: json_schema\n"
                       "  - name: plain\n"
                       "    topics: [c]\n"
                       "    schema: " KS_SOURCE_DIR
                       "/conf/schemas/user-events.json\n");
  assert_int_equal(c->nregistry_urls, 2);
  assert_string_equal(c->registry_urls[1], "https://b:8081/");
  assert_string_equal(c->registry_basic_auth, "u:p");
  assert_null(c->registry_bearer_token);
  assert_int_equal(c->tables[0].value_format, KS_VALUE_FORMAT_AVRO);
  assert_int_equal(c->tables[1].value_format, KS_VALUE_FORMAT_JSON_SCHEMA);
  assert_int_equal(c->tables[2].value_format, KS_VALUE_FORMAT_JSON);
  ks_conf_free(c);
  c = load_ok("kafka: { bootstrap.servers: mock }\n"
              "storage: { url: file:///tmp/x }\n"
              "schema_registry: { url: http://a:8081, bearer_token: t }\n"
              "tables:\n"
              "  - name: events\n"
              "    topics: [a]\n"
              "    value_format: avro\n");
  assert_int_equal(c->nregistry_urls, 1);
  assert_string_equal(c->registry_bearer_token, "t");
  ks_conf_free(c);
  int ok = 1;
  ok &= expect_err("kafka: { bootstrap.servers: mock }\n"
                   "storage: { url: file:///tmp/x }\n"
                   "tables:\n"
                   "  - name: events\n"
                   "    topics: [a]\n"
                   "    value_format: avro\n",
                   "t.yaml:6: tables[0].value_format: avro needs "
                   "schema_registry.url (the registry the record's schema id "
                   "refers to)");
  ok &= expect_err("kafka: { bootstrap.servers: mock }\n"
                   "storage: { url: file:///tmp/x }\n"
                   "schema_registry: { url: http://a:8081 }\n"
                   "tables:\n"
                   "  - name: events\n"
                   "    topics: [a]\n"
                   "    value_format: protobuf\n",
                   "t.yaml:7: tables[0].value_format: expected json, "
                   "json_schema or avro, got \"protobuf\"");
  ok &= expect_err("kafka: { bootstrap.servers: mock }\n"
                   "storage: { url: file:///tmp/x }\n"
                   "schema_registry: { url: \"sr:8081\" }\n"
                   "tables: [{ name: e, topics: [a] }]\n",
                   "t.yaml:3: schema_registry.url: expected an http:// or "
                   "https:// URL like http://schema-registry:8081");
  ok &= expect_err("kafka: { bootstrap.servers: mock }\n"
                   "storage: { url: file:///tmp/x }\n"
                   "schema_registry: { url: http://a, basic_auth_user_info: "
                   "\"u:p\", bearer_token: t }\n"
                   "tables: [{ name: e, topics: [a] }]\n",
                   "t.yaml:3: schema_registry.bearer_token: give "
                   "basic_auth_user_info or bearer_token, not both");
  ok &= expect_err("kafka: { bootstrap.servers: mock }\n"
                   "storage: { url: file:///tmp/x }\n"
                   "schema_registry: { basic_auth_user_info: \"u:p\" }\n"
                   "tables: [{ name: e, topics: [a] }]\n",
                   "t.yaml:3: schema_registry.url: missing; expected the "
                   "registry's URL like http://schema-registry:8081");
  assert_true(ok);
}

static void test_defaults(void **state) {
  (void)state;
  ks_conf *c = load_ok("kafka:\n"
                       "  bootstrap.servers: mock\n"
                       "storage:\n"
                       "  url: s3://bucket/prefix\n"
                       "tables:\n"
                       "  - name: events\n"
                       "    topics: [a, b]\n");
  assert_string_equal(c->app_id, "ksink");
  /* group.id is added so librdkafka gets one. */
  assert_string_equal(ks_conf_kafka_get(c, "group.id"), "ksink");
  assert_null(ks_conf_kafka_get(c, "nope"));
  assert_int_equal(c->workers, 0);
  assert_int_equal(c->ncores, 0);
  assert_int_equal(c->memory_budget, 256 << 20);
  assert_null(c->s3.endpoint);
  assert_null(c->s3.region); /* resolved by storage */
  assert_string_equal(c->s3.addressing, "virtual");
  assert_int_equal(c->s3.part_size, 8 << 20);
  assert_int_equal(c->s3.max_parts_in_flight, 4);
  assert_string_equal(c->http_listen, "127.0.0.1:8083");
  assert_null(c->http_admin_token);
  const ks_conf_table *t = &c->tables[0];
  assert_string_equal(t->path, "events");
  assert_int_equal(t->ntopics, 2);
  assert_string_equal(t->topics[1], "b");
  assert_int_equal(t->format, KS_FORMAT_DELTA);
  assert_null(t->schema_path);
  assert_int_equal(t->codec, KS_CODEC_SNAPPY);
  assert_int_equal(t->zstd_level, 3);
  assert_int_equal(t->flush_records, 500000);
  assert_int_equal(t->flush_bytes, 128 << 20);
  assert_int_equal(t->flush_interval_ms, 30000);
  assert_int_equal(t->rowgroup_bytes, 128 << 20);
  assert_int_equal(t->errors_tolerate_all, 1);
  assert_null(t->dlq_topic);
  assert_int_equal(t->line, 6);
  ks_conf_free(c);
}

static void test_s3_settings(void **state) {
  (void)state;
  ks_conf *c = load_ok("kafka: { bootstrap.servers: mock }\n"
                       "storage:\n"
                       "  url: s3://bucket/pre\n"
                       "  s3:\n"
                       "    endpoint: https://s3.example.com\n"
                       "    sse: aws:kms\n"
                       "    kms_key_id: arn:aws:kms:eu-west-1:1:key/k\n"
                       "    ca_file: /etc/ssl/ca.pem\n"
                       "    verify_tls: false\n"
                       "    unsigned_payload: true\n"
                       "    connect_timeout: 2s\n"
                       "    stall_timeout: 1m\n"
                       "    retry: { base: 50ms, cap: 5s, max_attempts: 3 }\n"
                       "    breaker: { failures: 9, cooldown: 30s }\n"
                       "    stale_upload_age: 10m\n"
                       "tables: [ { name: t, topics: [a] } ]\n");
  assert_string_equal(c->s3.sse, "aws:kms");
  assert_string_equal(c->s3.kms_key_id, "arn:aws:kms:eu-west-1:1:key/k");
  assert_string_equal(c->s3.ca_file, "/etc/ssl/ca.pem");
  assert_int_equal(c->s3.verify_tls, 0);
  assert_int_equal(c->s3.unsigned_payload, 1);
  assert_int_equal(c->s3.connect_timeout_ms, 2000);
  assert_int_equal(c->s3.stall_timeout_ms, 60000);
  assert_int_equal(c->s3.retry_base_ms, 50);
  assert_int_equal(c->s3.retry_cap_ms, 5000);
  assert_int_equal(c->s3.retry_max_attempts, 3);
  assert_int_equal(c->s3.breaker_failures, 9);
  assert_int_equal(c->s3.breaker_cooldown_ms, 30000);
  assert_int_equal(c->s3.stale_upload_age_ms, 600000);
  ks_conf_free(c);
  /* defaults */
  c = load_ok("kafka: { bootstrap.servers: mock }\n"
              "storage: { url: 's3://b' }\n"
              "tables: [ { name: t, topics: [a] } ]\n");
  assert_null(c->s3.sse);
  assert_null(c->s3.ca_file);
  assert_int_equal(c->s3.verify_tls, 1);
  assert_int_equal(c->s3.unsigned_payload, 0);
  assert_int_equal(c->s3.connect_timeout_ms, 5000);
  assert_int_equal(c->s3.stall_timeout_ms, 30000);
  assert_int_equal(c->s3.retry_base_ms, 100);
  assert_int_equal(c->s3.retry_cap_ms, 20000);
  assert_int_equal(c->s3.retry_max_attempts, 8);
  assert_int_equal(c->s3.breaker_failures, 5);
  assert_int_equal(c->s3.breaker_cooldown_ms, 5000);
  assert_int_equal(c->s3.stale_upload_age_ms, 3600000);
  ks_conf_free(c);
}

static void test_app_id_and_group_id(void **state) {
  (void)state;
  /* app_id defaults to group.id ... */
  ks_conf *c = load_ok("kafka: { bootstrap.servers: mock, group.id: g1 }\n"
                       "storage: { url: 'file:///l' }\n"
                       "tables: [ { name: t, topics: [a] } ]\n");
  assert_string_equal(c->app_id, "g1");
  ks_conf_free(c);
  /* ... and group.id to app_id. */
  c = load_ok("app_id: myapp\n"
              "kafka: { bootstrap.servers: mock }\n"
              "storage: { url: 'file:///l' }\n"
              "tables: [ { name: t, topics: [a] } ]\n");
  assert_string_equal(c->app_id, "myapp");
  assert_string_equal(ks_conf_kafka_get(c, "group.id"), "myapp");
  ks_conf_free(c);
}

static void test_values_and_flow_style(void **state) {
  (void)state;
  ks_conf *c = load_ok(
      "kafka:\n"
      "  bootstrap.servers: mock\n"
      "  fetch.wait.max.ms: 500\n"
      "  enable.auto.commit: false\n"
      "  client.id: \"quoted\"\n"
      "  statistics.interval.ms: 0x10\n"
      "reactor: { workers: 3, cores: [2, 4, 6], memory_budget: 1GiB }\n"
      "storage:\n"
      "  url: s3://b\n"
      "  s3: { endpoint: 'http://h:1', addressing: virtual, part_size: 5MiB,"
      " max_parts_in_flight: 8, access_key_id: AK, secret_access_key: SK }\n"
      "http: { listen: '0.0.0.0:9000', admin_token: tok }\n"
      "tables:\n"
      "  - name: a\n"
      "    topics: [t1]\n"
      "    path: lake/a\n"
      "    format: parquet\n"
      "    compression: zstd\n"
      "    zstd_level: 19\n"
      "    rowgroup_bytes: 64MB\n"
      "    flush: { records: 10, bytes: 1KiB, interval: 500ms }\n"
      "    optimize: { enabled: true, target_size: 64MiB, min_files: 4 }\n"
      "    errors:\n"
      "      tolerance: none\n"
      "      deadletterqueue.topic.name: dlq\n"
      "  - name: b\n"
      "    topics: [t2, t3]\n"
      "    format: jsonl\n"
      "    compression: gzip\n"
      "    errors: { deadletterqueue.topic: { name: dlq2 },"
      " deadletterqueue.context.headers.enable: true, log: { enable: true,"
      " include.messages: true } }\n"
      "  - name: c\n"
      "    topics: [t4]\n"
      "    compression: none\n"
      "    errors: { deadletterqueue: { topic.name: dlq3 },"
      " deadletter.path: errors/c }\n"
      "    schema_evolution: add_columns\n"
      "log: { level: warn }\n");
  assert_string_equal(c->tables[2].deadletter_path, "errors/c");
  assert_null(c->tables[1].deadletter_path);
  assert_int_equal(c->log_level, 2);
  assert_string_equal(ks_conf_kafka_get(c, "fetch.wait.max.ms"), "500");
  assert_string_equal(ks_conf_kafka_get(c, "enable.auto.commit"), "false");
  assert_string_equal(ks_conf_kafka_get(c, "client.id"), "quoted");
  assert_string_equal(ks_conf_kafka_get(c, "statistics.interval.ms"), "0x10");
  assert_int_equal(c->kafka[1].line, 3);
  assert_int_equal(c->workers, 3);
  assert_int_equal(c->ncores, 3);
  assert_int_equal(c->cores[2], 6);
  assert_int_equal(c->memory_budget, INT64_C(1) << 30);
  assert_string_equal(c->s3.addressing, "virtual");
  assert_int_equal(c->s3.part_size, 5 << 20);
  assert_int_equal(c->s3.max_parts_in_flight, 8);
  assert_string_equal(c->s3.access_key_id, "AK");
  assert_string_equal(c->s3.secret_access_key, "SK");
  assert_string_equal(c->http_listen, "0.0.0.0:9000");
  assert_string_equal(c->http_admin_token, "tok");
  assert_int_equal(c->ntables, 3);
  const ks_conf_table *t = &c->tables[0];
  assert_string_equal(t->path, "lake/a");
  assert_int_equal(t->format, KS_FORMAT_PARQUET);
  assert_int_equal(t->codec, KS_CODEC_ZSTD);
  assert_int_equal(t->zstd_level, 19);
  assert_int_equal(t->rowgroup_bytes, 64000000);
  assert_int_equal(t->flush_records, 10);
  assert_int_equal(t->flush_bytes, 1024);
  assert_int_equal(t->flush_interval_ms, 500);
  assert_int_equal(t->optimize_enabled, 1);
  assert_int_equal(t->optimize_target_size, 64 << 20);
  assert_int_equal(t->optimize_min_files, 4);
  assert_int_equal(t->errors_tolerate_all, 0);
  assert_string_equal(t->dlq_topic, "dlq");
  assert_int_equal(c->tables[1].format, KS_FORMAT_JSONL);
  assert_int_equal(c->tables[1].codec, KS_CODEC_GZIP);
  assert_string_equal(c->tables[1].dlq_topic, "dlq2");
  assert_int_equal(c->tables[1].errors_tolerate_all, 1);
  assert_int_equal(c->tables[1].dlq_context_headers, 1);
  assert_int_equal(c->tables[1].errors_log, 1);
  assert_int_equal(c->tables[1].errors_log_messages, 1);
  assert_int_equal(c->tables[0].dlq_context_headers, 0);
  assert_int_equal(c->tables[0].errors_log, 0);
  assert_int_equal(c->tables[2].codec, KS_CODEC_NONE);
  assert_string_equal(c->tables[2].dlq_topic, "dlq3");
  assert_int_equal(c->tables[2].line, 30);
  assert_int_equal(c->tables[2].add_columns, 1);
  assert_int_equal(c->tables[0].add_columns, 0);
  ks_conf_free(c);
}

/* ---- ${ENV} ----------------------------------------------------------- */

static void test_env_interpolation(void **state) {
  (void)state;
  setenv("KS_T_BROKERS", "10.0.0.1:9092,10.0.0.2:9092", 1);
  setenv("KS_T_BUCKET", "my-bucket", 1);
  setenv("KS_T_EMPTY", "", 1);
  setenv("KS_T_SECRET", "p@$$w0rd", 1);
  unsetenv("KS_T_UNSET");
  ks_conf *c =
      load_ok("kafka:\n"
              "  bootstrap.servers: ${KS_T_BROKERS}\n"
              "  sasl.password: ${KS_T_SECRET}\n"
              "  client.id: ${KS_T_UNSET:-fallback}\n"
              "  x.empty: ${KS_T_EMPTY:-used-when-empty}\n"
              "  x.dollar: cost $$5 and $x and $\n"
              "storage: { url: 's3://${KS_T_BUCKET}/pre/${KS_T_UNSET:-}x' }\n"
              "http: { admin_token: '${KS_T_EMPTY}' }\n"
              "tables: [ { name: t, topics: ['${KS_T_UNSET:-topic}-1'] } ]\n");
  assert_string_equal(ks_conf_kafka_get(c, "bootstrap.servers"),
                      "10.0.0.1:9092,10.0.0.2:9092");
  /* Values from the environment are not interpolated again. */
  assert_string_equal(ks_conf_kafka_get(c, "sasl.password"), "p@$$w0rd");
  assert_string_equal(ks_conf_kafka_get(c, "client.id"), "fallback");
  assert_string_equal(ks_conf_kafka_get(c, "x.empty"), "used-when-empty");
  assert_string_equal(ks_conf_kafka_get(c, "x.dollar"), "cost $5 and $x and $");
  assert_string_equal(c->storage_url, "s3://my-bucket/pre/x");
  assert_null(c->http_admin_token); /* set but empty = not set */
  assert_string_equal(c->tables[0].topics[0], "topic-1");
  ks_conf_free(c);
}

/* ---- bad documents: the exact message --------------------------------- */

#define HEAD                                                                   \
  "kafka: { bootstrap.servers: mock }\n"                                       \
  "storage: { url: 'file:///tmp/lake' }\n"                                     \
  "tables:\n"

typedef struct bad_case {
  const char *doc;
  const char *err;
} bad_case;

static const bad_case bad_cases[] = {
    /* listen addresses */
    {"http: { listen: localhost }\n" HEAD "  - { name: t, topics: [a] }\n",
     "t.yaml:1: http.listen: expected \"host:port\", \"[v6]:port\", "
     "\":port\" or \"off\", got \"localhost\""},
    {"http: { listen: '127.0.0.1:65536' }\n" HEAD
     "  - { name: t, topics: [a] }\n",
     "t.yaml:1: http.listen: expected \"host:port\", \"[v6]:port\", "
     "\":port\" or \"off\", got \"127.0.0.1:65536\""},
    /* off loopback, the admin token is required */
    {"http: { listen: '0.0.0.0:8083' }\n" HEAD "  - { name: t, topics: [a] }\n",
     "t.yaml:1: http: listen 0.0.0.0:8083 is not a loopback address: set http.admin_token (e.g. admin_token: "
     "${KSINK_ADMIN_TOKEN} from a secret) so that pause, resume, stop and "
     "restart need it, or listen on 127.0.0.1"},
    {"http: { listen: ':8083', admin_token: '' }\n" HEAD
     "  - { name: t, topics: [a] }\n",
     "t.yaml:1: http: listen :8083 is not a loopback address: set http.admin_token (e.g. admin_token: "
     "${KSINK_ADMIN_TOKEN} from a secret) so that pause, resume, stop and "
     "restart need it, or listen on 127.0.0.1"},
    {"http: { listen: '127.0.0.1:1', allowed_hosts: ['a:1'] }\n" HEAD
     "  - { name: t, topics: [a] }\n",
     "t.yaml:1: http.allowed_hosts[0]: expected a host name without port or "
     "scheme, got \"a:1\""},
    /* unknown keys */
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flsh: { records: 10 }\n",
     "t.yaml:6: tables[0].flsh: unknown key (did you mean \"flush\"?)"},
    {"wibble: 1\n" HEAD "  - { name: t, topics: [a] }\n",
     "t.yaml:1: wibble: unknown key"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 'file:///l', s3: { regoin: x } }\n"
     "tables: [ { name: t, topics: [a] } ]\n",
     "t.yaml:2: storage.s3.regoin: unknown key (did you mean \"region\"?)"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flush: { records: 10, intreval: 5s }\n",
     "t.yaml:6: tables[0].flush.intreval: unknown key (did you mean "
     "\"interval\"?)"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors: { deadletterqueue.topic.nmae: x }\n",
     "t.yaml:6: tables[0].errors.deadletterqueue.topic.nmae: unknown key (did "
     "you mean \"deadletterqueue.topic.name\"?)"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors:\n"
          "      deadletterqueue:\n"
          "        topik: { name: x }\n",
     "t.yaml:8: tables[0].errors.deadletterqueue.topik: unknown key (did you "
     "mean \"topic\"?)"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors: { deadletter: { pth: x } }\n",
     "t.yaml:6: tables[0].errors.deadletter.pth: unknown key (did you mean "
     "\"path\"?)"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors: { deadletter.path: t/errors }\n",
     "t.yaml:6: tables[0].errors.deadletter.path: \"t/errors\" overlaps the "
     "table's path \"t\"; expected a directory outside the table like "
     "\"errors/t\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors: { deadletter.path: ../x }\n",
     "t.yaml:6: tables[0].errors.deadletter.path: expected a path relative to "
     "storage.url without \"..\", got \"../x\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors:\n"
          "      tolerance: none\n"
          "      deadletter.path: errors/t\n",
     "t.yaml:8: tables[0].errors.deadletter.path: needs errors.tolerance: all "
     "(with none the pipeline stops at the first bad record)"},
    {"log: { level: verbose }\n" HEAD "  - { name: t, topics: [a] }\n",
     "t.yaml:1: log.level: expected debug, info, warn or error, got "
     "\"verbose\""},
    {"log: { levle: info }\n" HEAD "  - { name: t, topics: [a] }\n",
     "t.yaml:1: log.levle: unknown key"},
    /* durations, sizes, integers */
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flush: { records: 500000, bytes: 128MiB, interval: thirty }\n",
     "t.yaml:6: tables[0].flush.interval: expected a duration like \"30s\", "
     "got \"thirty\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flush:\n"
          "      interval: 30\n",
     "t.yaml:7: tables[0].flush.interval: expected a duration like \"30s\", "
     "got \"30\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flush: { interval: 0 }\n",
     "t.yaml:6: tables[0].flush.interval: expected a duration greater than 0 "
     "like \"30s\", got \"0\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    rowgroup_bytes: 12XB\n",
     "t.yaml:6: tables[0].rowgroup_bytes: expected a size like \"64KiB\", got "
     "\"12XB\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    optimize: { enabled: yes }\n",
     "t.yaml:6: tables[0].optimize.enabled: expected false or true, got "
     "\"yes\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    optimize: { min_files: 1 }\n",
     "t.yaml:6: tables[0].optimize.min_files: expected an integer >= 2, got "
     "\"1\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    optimize:\n"
          "      target_sise: 1GiB\n",
     "t.yaml:7: tables[0].optimize.target_sise: unknown key (did you mean "
     "\"target_size\"?)"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    optimize: { target_size: big }\n",
     "t.yaml:6: tables[0].optimize.target_size: expected a size like "
     "\"64KiB\", got \"big\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    optimize: 5\n",
     "t.yaml:6: tables[0].optimize: expected a mapping like { enabled: true, "
     "target_size: 256MiB, min_files: 10 }, got \"5\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flush: { records: 0 }\n",
     "t.yaml:6: tables[0].flush.records: expected an integer >= 1, got \"0\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flush: { bytes: -1MiB }\n",
     "t.yaml:6: tables[0].flush.bytes: expected a size like \"64KiB\", got "
     "\"-1MiB\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage:\n"
     "  url: s3://b\n"
     "  s3:\n"
     "    part_size: 1MiB\n"
     "tables: [ { name: t, topics: [a] } ]\n",
     "t.yaml:5: storage.s3.part_size: expected a size of at least 5MiB, got "
     "\"1MiB\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "reactor: { workers: -1 }\n",
     "t.yaml:2: reactor.workers: expected an integer from 0 to 4096, got "
     "\"-1\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "reactor: { workers: ' 5' }\n",
     "t.yaml:2: reactor.workers: expected an integer, got \" 5\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "reactor: { cores: [0, x] }\n",
     "t.yaml:2: reactor.cores[1]: expected an integer, got \"x\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    zstd_level: 40\n",
     "t.yaml:6: tables[0].zstd_level: expected an integer from 1 to 22, got "
     "\"40\""},
    /* enums */
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    format: csv\n",
     "t.yaml:6: tables[0].format: expected delta, parquet or jsonl, got "
     "\"csv\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    compression: lz4\n",
     "t.yaml:6: tables[0].compression: expected snappy, zstd, gzip or none, "
     "got \"lz4\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors: { tolerance: some }\n",
     "t.yaml:6: tables[0].errors.tolerance: expected all or none, got "
     "\"some\""},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    schema_evolution: add_fields\n",
     "t.yaml:6: tables[0].schema_evolution: expected none or add_columns, "
     "got \"add_fields\""},
    /* storage.s3 settings of the S3 backend */
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { sse: AES128 } }\n",
     "t.yaml:2: storage.s3.sse: expected AES256 or aws:kms, got \"AES128\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { sse: AES256, kms_key_id: k1 } }\n",
     "t.yaml:2: storage.s3.kms_key_id: needs sse: aws:kms next to it"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { verify_tls: maybe } }\n",
     "t.yaml:2: storage.s3.verify_tls: expected false or true, got \"maybe\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage:\n"
     "  url: s3://b\n"
     "  s3:\n"
     "    retry: { base: 2s, cap: 1s }\n",
     "t.yaml:5: storage.s3.retry.cap: expected at least retry.base (2000 ms), "
     "got 1000 ms"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { retry: { max_attempt: 3 } } }\n",
     "t.yaml:2: storage.s3.retry.max_attempt: unknown key (did you mean "
     "\"max_attempts\"?)"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { retry: 3 } }\n",
     "t.yaml:2: storage.s3.retry: expected a mapping, got \"3\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { breaker: { failures: 0 } } }\n",
     "t.yaml:2: storage.s3.breaker.failures: expected an integer from 1 to "
     "100000, got \"0\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { breaker: { cooldown: soon } } }\n",
     "t.yaml:2: storage.s3.breaker.cooldown: expected a duration like "
     "\"30s\", got \"soon\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { stale_upload_age: 500ms } }\n",
     "t.yaml:2: storage.s3.stale_upload_age: expected a duration of at least "
     "1000ms, got \"500ms\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { stale_upload_age: never } }\n",
     "t.yaml:2: storage.s3.stale_upload_age: expected a duration like "
     "\"30s\", got \"never\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { addressing: vhost } }\n",
     "t.yaml:2: storage.s3.addressing: expected path or virtual, got "
     "\"vhost\""},
    /* required keys and storage.url */
    {"kafka: { bootstrap.servers: mock }\n"
     "storage:\n"
     "  s3: { region: x }\n"
     "tables: [ { name: t, topics: [a] } ]\n",
     "t.yaml:2: storage.url: missing; expected a URL like "
     "\"file:///var/lib/ksink/lake\" or \"s3://bucket/prefix\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "tables: [ { name: t, topics: [a] } ]\n",
     "t.yaml:1: storage.url: missing; expected a URL like "
     "\"file:///var/lib/ksink/lake\" or \"s3://bucket/prefix\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 'file://lake' }\n",
     "t.yaml:2: storage.url: expected \"file://\" followed by an absolute "
     "path like \"file:///var/lib/ksink/lake\", got \"file://lake\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 'http://lake' }\n",
     "t.yaml:2: storage.url: expected a URL starting with \"file://\" or "
     "\"s3://\", got \"http://lake\""},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3:///x' }\n",
     "t.yaml:2: storage.url: expected \"s3://\" followed by a bucket like "
     "\"s3://bucket/prefix\", got \"s3:///x\""},
    {"app_id: x\n"
     "kafka:\n"
     "  group.id: g\n",
     "t.yaml:2: kafka.bootstrap.servers: missing; expected the Kafka brokers "
     "like \"127.0.0.1:9092\" (or \"mock\" for an in-process mock cluster)"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 'file:///l' }\n",
     "t.yaml:1: tables: missing; expected a non-empty sequence of tables"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 'file:///l' }\n"
     "tables: []\n",
     "t.yaml:3: tables: expected a non-empty sequence of tables, got an empty "
     "one"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 'file:///l' }\n"
     "tables: { name: t }\n",
     "t.yaml:3: tables: expected a non-empty sequence of tables, got a "
     "mapping"},
    {HEAD "  - name: t\n",
     "t.yaml:4: tables[0].topics: missing; expected a non-empty sequence of "
     "Kafka topics like [user-events], or topics_regex"},
    {HEAD "  - name: t\n"
          "    topics: []\n",
     "t.yaml:5: tables[0].topics: expected a non-empty sequence of Kafka "
     "topics like [user-events], got an empty one"},
    {HEAD "  - topics: [a]\n",
     "t.yaml:4: tables[0].name: missing; expected a table name made of "
     "[A-Za-z0-9_]"},
    {HEAD "  - name: user-events\n"
          "    topics: [a]\n",
     "t.yaml:4: tables[0].name: expected a table name made of [A-Za-z0-9_], "
     "got \"user-events\""},
    /* duplicates */
    {"kafka: { bootstrap.servers: mock }\n"
     "storage:\n"
     "  url: file:///a\n"
     "  url: file:///b\n",
     "t.yaml:4: storage.url: duplicate key (first defined at line 3)"},
    {"kafka: { bootstrap.servers: mock, group.id: a, group.id: b }\n",
     "t.yaml:1: kafka.group.id: duplicate key (first defined at line 1)"},
    {HEAD "  - name: a\n"
          "    topics: [x, y]\n"
          "  - name: b\n"
          "    topics: [z, y]\n",
     "t.yaml:7: tables[1].topics[1]: topic \"y\" already belongs to table "
     "\"a\" (line 4); a topic feeds one table only"},
    {HEAD "  - name: a\n"
          "    topics: [x, x]\n",
     "t.yaml:5: tables[0].topics[1]: topic \"x\" is listed twice in this "
     "table"},
    {HEAD "  - name: a\n"
          "    topics: [x]\n"
          "  - name: a\n"
          "    topics: [y]\n",
     "t.yaml:6: tables[1].name: duplicate table name \"a\" (first at line 4)"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    errors:\n"
          "      deadletterqueue: { topic: { name: x } }\n"
          "      deadletterqueue.topic.name: y\n",
     "t.yaml:8: tables[0].errors.deadletterqueue.topic.name: set twice (also "
     "at line 7)"},
    /* wrong types */
    {HEAD "  - name: { x: 1 }\n"
          "    topics: [a]\n",
     "t.yaml:4: tables[0].name: expected a string, got a mapping"},
    {HEAD "  - name: t\n"
          "    topics: a\n",
     "t.yaml:5: tables[0].topics: expected a non-empty sequence of Kafka "
     "topics like [user-events], got a scalar"},
    {HEAD "  - name: t\n"
          "    topics: [[a]]\n",
     "t.yaml:5: tables[0].topics[0]: expected a topic name, got a sequence"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    flush: 30s\n",
     "t.yaml:6: tables[0].flush: expected a mapping like { records: 500000, "
     "bytes: 128MiB, interval: 30s }, got \"30s\""},
    {"kafka: [a, b]\n", "t.yaml:1: kafka: expected a mapping, got a sequence"},
    {"kafka:\n"
     "  bootstrap.servers: mock\n"
     "  debug: [all]\n",
     "t.yaml:3: kafka.debug: expected a librdkafka property value (a scalar), "
     "got a sequence"},
    {"- a\n- b\n", "t.yaml:1: expected a mapping at the top level, got a "
                   "sequence"},
    {"", "t.yaml:1: the configuration is empty; expected a mapping with "
         "kafka, storage and tables"},
    {"kafka: { bootstrap.servers: mock }\n"
     "? [a]\n"
     ": b\n",
     "t.yaml:2: expected a plain key, got a sequence"},
    /* environment */
    {"kafka: { bootstrap.servers: mock }\n"
     "storage:\n"
     "  url: ${KS_TEST_SURELY_UNSET}\n",
     "t.yaml:3: storage.url: environment variable \"KS_TEST_SURELY_UNSET\" is "
     "not set (write ${KS_TEST_SURELY_UNSET:-default} to give a default)"},
    {"kafka: { bootstrap.servers: 'a${B' }\n",
     "t.yaml:1: kafka.bootstrap.servers: unterminated \"${\" in \"a${B\""},
    {"kafka: { bootstrap.servers: 'a${B C}' }\n",
     "t.yaml:1: kafka.bootstrap.servers: expected ${NAME} or "
     "${NAME:-default} with NAME made of [A-Za-z0-9_], got \"a${B C}\""},
    /* YAML features we refuse, and syntax */
    {"kafka: &k { bootstrap.servers: mock }\n",
     "t.yaml:1: kafka: YAML anchors are not supported (\"&k\")"},
    {"kafka: { bootstrap.servers: mock }\n"
     "app_id: *k\n",
     "t.yaml:2: app_id: YAML aliases are not supported (\"*k\")"},
    {"kafka: { bootstrap.servers: !!str mock }\n",
     "t.yaml:1: kafka.bootstrap.servers: YAML tags are not supported "
     "(\"tag:yaml.org,2002:str\")"},
    {"kafka: { bootstrap.servers: mock }\n"
     "---\n"
     "app_id: x\n",
     "t.yaml:2: more than one YAML document (\"---\") is not supported"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage:\n"
     "  url: file:///a\n"
     " bad: [\n",
     "t.yaml:4: YAML syntax error: did not find expected key"},
    {"kafka: { bootstrap.servers: mock\n"
     "app_id: x\n",
     "t.yaml:2: YAML syntax error: did not find expected ',' or '}'"},
    /* schema file */
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    schema: nope/none.json\n",
     "t.yaml:6: tables[0].schema: cannot read schema file "
     "\"nope/none.json\": No such file or directory"},
    {HEAD "  - name: t\n"
          "    topics: [a]\n"
          "    schema: /\n",
     "t.yaml:6: tables[0].schema: cannot read schema file \"/\": Is a "
     "directory"},
    /* secrets are never printed */
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 'file:///l' }\n"
     "http: { admin_token: 'hunter2${' }\n",
     "t.yaml:3: http.admin_token: unterminated \"${\" in <redacted>"},
    {"kafka:\n"
     "  bootstrap.servers: mock\n"
     "  sasl.password: 'hunter2${x y}'\n",
     "t.yaml:3: kafka.sasl.password: expected ${NAME} or ${NAME:-default} "
     "with NAME made of [A-Za-z0-9_], got <redacted>"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { secret_access_key: 'hunter2${' } }\n",
     "t.yaml:2: storage.s3.secret_access_key: unterminated \"${\" in "
     "<redacted>"},
    {"kafka: { bootstrap.servers: mock }\n"
     "storage: { url: 's3://b', s3: { session_token: 'hunter2${' } }\n",
     "t.yaml:2: storage.s3.session_token: unterminated \"${\" in <redacted>"},
    {"kafka:\n"
     "  bootstrap.servers: mock\n"
     "  sasl.oauthbearer.client.secret: 'hunter2${'\n",
     "t.yaml:3: kafka.sasl.oauthbearer.client.secret: unterminated \"${\" in "
     "<redacted>"},
};

static void test_bad_documents(void **state) {
  (void)state;
  unsetenv("KS_TEST_SURELY_UNSET");
  size_t good = 0, n = sizeof bad_cases / sizeof bad_cases[0];
  for (size_t i = 0; i < n; i++)
    good += (size_t)expect_err(bad_cases[i].doc, bad_cases[i].err);
  assert_int_equal(good, n);
}

static void test_secret_never_echoed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    ks_conf *c = NULL;
    char err[1024] = "";
    const char *doc = bad_cases[i].doc;
    ks_conf_load_string(doc, strlen(doc), "t.yaml", &c, err, sizeof err);
    assert_null(strstr(err, "hunter2"));
  }
  assert_true(ks_conf_kafka_is_secret("sasl.password"));
  assert_true(ks_conf_kafka_is_secret("ssl.key.PASSWORD"));
  assert_true(ks_conf_kafka_is_secret("sasl.oauthbearer.client.secret"));
  assert_false(ks_conf_kafka_is_secret("bootstrap.servers"));
}

/* Relative schema paths: as written from the current directory, else
 * relative to the config file's directory; the message says both. */
static void test_schema_resolution(void **state) {
  (void)state;
  char dir[] = "/tmp/ks_conf_test_XXXXXX";
  char path[256], err[1024];
  ks_conf *c = NULL;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/s.json", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{}", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/k.yaml", dir);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(HEAD "  - name: t\n"
             "    topics: [a]\n"
             "    schema: s.json\n"
             "  - name: u\n"
             "    topics: [b]\n"
             "    schema: missing.json\n",
        f);
  fclose(f);
  assert_int_equal(chdir("/"), 0);
  assert_int_equal(ks_conf_load_file(path, &c, err, sizeof err), KS_ECONFIG);
  char want[1024];
  snprintf(want, sizeof want,
           "%s:9: tables[1].schema: cannot read schema file "
           "\"missing.json\" (looked relative to the current directory and "
           "to \"%s\"): No such file or directory",
           path, dir);
  assert_string_equal(err, want);

  /* Fix the second table: loads, the first schema resolved next to the
   * config. */
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(HEAD "  - name: t\n"
             "    topics: [a]\n"
             "    schema: s.json\n",
        f);
  fclose(f);
  assert_int_equal(ks_conf_load_file(path, &c, err, sizeof err), 0);
  snprintf(want, sizeof want, "%s/s.json", dir);
  assert_string_equal(c->tables[0].schema_path, want);
  ks_conf_free(c);
  /* From inside the directory the path as written exists. */
  assert_int_equal(chdir(dir), 0);
  assert_int_equal(ks_conf_load_file("k.yaml", &c, err, sizeof err), 0);
  assert_string_equal(c->tables[0].schema_path, "s.json");
  ks_conf_free(c);
  assert_int_equal(chdir("/"), 0);
  unlink(want);
  unlink(path);
  rmdir(dir);
}

/* ---- units ------------------------------------------------------------ */

static void test_parse_duration(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int64_t ms;
  } ok[] = {{"500ms", 500},    {"30s", 30000},
            {"5m", 300000},    {"1h", 3600000},
            {"7d", 604800000}, {"0", 0},
            {"0s", 0},         {"0ms", 0},
            {"007s", 7000},    {"9223372036854775807ms", INT64_MAX}};
  static const char *const bad[] = {
      "",
      "30",
      "1",
      "s",
      "-1s",
      "+1s",
      " 1s",
      "1s ",
      "1 s",
      "1.5s",
      "30S",
      "30sec",
      "1h30m",
      "1w",
      "1y",
      "ms",
      "0x10s",
      "9223372036854775808ms",
      "106751991167301d" /* overflows once scaled */};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t v = -1;
    assert_int_equal(ks_conf_parse_duration(ok[i].s, &v), 0);
    assert_int_equal(v, ok[i].ms);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t v = -1;
    if (ks_conf_parse_duration(bad[i], &v) != KS_EINVAL)
      print_error("accepted duration \"%s\"\n", bad[i]);
    assert_int_equal(ks_conf_parse_duration(bad[i], &v), KS_EINVAL);
    assert_int_equal(v, -1);
  }
  int64_t v;
  assert_int_equal(ks_conf_parse_duration(NULL, &v), KS_EINVAL);
  assert_int_equal(ks_conf_parse_duration("106751991167d", &v), 0);
  assert_int_equal(v, INT64_C(106751991167) * 86400000);
}

static void test_parse_size(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int64_t bytes;
  } ok[] = {{"0", 0},
            {"512", 512},
            {"512B", 512},
            {"64KiB", 65536},
            {"8MiB", 8388608},
            {"1GiB", 1073741824},
            {"2TiB", INT64_C(2) << 40},
            {"1KB", 1000},
            {"5MB", 5000000},
            {"3GB", 3000000000},
            {"9223372036854775807", INT64_MAX},
            {"8388607TiB", INT64_C(8388607) << 40}};
  static const char *const bad[] = {"",
                                    "-1",
                                    "+1",
                                    "1.5MiB",
                                    "1 MiB",
                                    " 1",
                                    "1MiB ",
                                    "1mib",
                                    "1kb",
                                    "1K",
                                    "1M",
                                    "MiB",
                                    "1MiBB",
                                    "0x10",
                                    "1e6",
                                    "1PiB",
                                    "9223372036854775808",
                                    "8388608TiB",
                                    "99999999999999999999GB"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t v = -1;
    assert_int_equal(ks_conf_parse_size(ok[i].s, &v), 0);
    assert_int_equal(v, ok[i].bytes);
  }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t v = -1;
    if (ks_conf_parse_size(bad[i], &v) != KS_EINVAL)
      print_error("accepted size \"%s\"\n", bad[i]);
    assert_int_equal(ks_conf_parse_size(bad[i], &v), KS_EINVAL);
    assert_int_equal(v, -1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_file),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_table_features),
      cmocka_unit_test(test_schema_registry),
      cmocka_unit_test(test_app_id_and_group_id),
      cmocka_unit_test(test_s3_settings),
      cmocka_unit_test(test_values_and_flow_style),
      cmocka_unit_test(test_env_interpolation),
      cmocka_unit_test(test_bad_documents),
      cmocka_unit_test(test_secret_never_echoed),
      cmocka_unit_test(test_schema_resolution),
      cmocka_unit_test(test_parse_duration),
      cmocka_unit_test(test_parse_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
