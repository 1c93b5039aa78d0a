/* Table features: the protocol's feature lists, the append verdict,
 * deletion vectors (files keyed by path and vector, the vector's file),
 * domainMetadata, in-commit timestamps and row ids of the commits ksink
 * writes, and a checkpoint carrying all of it. */
#include "base/buf.h"
#include "base/ks.h"
#include "storage/delta/delta.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define META                                                                   \
  "{\"metaData\":{\"id\":\"m\",\"format\":{\"provider\":\"parquet\","       \
  "\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","        \
  "\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{%s}}}\n"

static void apply(ks_delta_snapshot *s, const char *text) {
  char err[256];
  int rc = ks_delta_snapshot_apply(s, s->version + 1, (const uint8_t *)text,
                                   strlen(text), err, sizeof err);
  if (rc)
    fail_msg("apply: %s", err);
}

static void v0(ks_delta_snapshot *s, const char *protocol, const char *conf) {
  char buf[2048];
  snprintf(buf, sizeof buf, "%s\n" META, protocol, conf);
  ks_delta_snapshot_init(s);
  apply(s, buf);
}

static int verdict(const char *protocol, const char *conf, char *why,
                   size_t n) {
  ks_delta_snapshot s;
  v0(&s, protocol, conf);
  int rc = ks_delta_protocol_check(&s, why, n);
  ks_delta_snapshot_free(&s);
  return rc;
}

static void test_verdicts(void **state) {
  (void)state;
  char why[400];
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}",
              "", why, sizeof why),
      0);
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
              "\"readerFeatures\":[\"deletionVectors\",\"v2Checkpoint\"],"
              "\"writerFeatures\":[\"deletionVectors\",\"v2Checkpoint\","
              "\"rowTracking\",\"domainMetadata\",\"inCommitTimestamp\","
              "\"invariants\",\"appendOnly\"]}}",
              "", why, sizeof why),
      0);
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
              "\"readerFeatures\":[\"variantType\"],"
              "\"writerFeatures\":[\"variantType\"]}}",
              "", why, sizeof why),
      KS_EUNSUPPORTED);
  assert_non_null(strstr(why, "table feature variantType:"));
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,"
              "\"writerFeatures\":[\"blahabl\"]}}",
              "", why, sizeof why),
      KS_EUNSUPPORTED);
  assert_string_equal(why, "table feature blahabl: not known to ksink");
  /* legacy writer 3 implies checkConstraints: accepted while every one
   * is an expression ksink evaluates, refused naming the one that is not */
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":3}}",
              "\"delta.constraints.pos\":\"a > 0\"", why, sizeof why),
      0);
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":3}}",
              "\"delta.constraints.pos\":\"length(a) > 0\"", why,
              sizeof why),
      KS_EUNSUPPORTED);
  assert_non_null(strstr(why, "table feature checkConstraints: the CHECK "
                              "constraint pos (length(a) > 0) is not an "
                              "expression ksink evaluates: a function call"));
  /* reader 2 is column mapping, which ksink writes */
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}",
              "\"delta.columnMapping.mode\":\"name\"", why, sizeof why),
      0);
  /* legacy writer 4 implies generatedColumns: refused once one is used */
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":4}}",
              "", why, sizeof why),
      0);
  assert_int_equal(
      verdict("{\"protocol\":{\"minReaderVersion\":4,\"minWriterVersion\":7}}",
              "", why, sizeof why),
      KS_EUNSUPPORTED);
}

#define PROTO_DV                                                               \
  "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"           \
  "\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":["           \
  "\"deletionVectors\",\"rowTracking\",\"domainMetadata\","                 \
  "\"inCommitTimestamp\"]}}"

/* PROTOCOL.md's example: prefix "ab", UUID d2c639aa-8816-431a-aaf6-... */
#define DV(card)                                                               \
  "\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":"           \
  "\"ab^-aqEH.-t@S}K{vb[*k^\",\"offset\":4,\"sizeInBytes\":40,"             \
  "\"cardinality\":" #card "}"

static void test_deletion_vectors_and_domains(void **state) {
  (void)state;
  ks_delta_snapshot s;
  v0(&s, PROTO_DV, "\"delta.enableInCommitTimestamps\":\"true\"");
  apply(&s, "{\"commitInfo\":{\"inCommitTimestamp\":5000,\"timestamp\":1}}\n"
            "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},"
            "\"size\":10,\"modificationTime\":1,\"dataChange\":true,"
            "\"stats\":\"{\\\"numRecords\\\":10}\",\"baseRowId\":0,"
            "\"defaultRowCommitVersion\":1,\"tags\":{\"x\":\"y\"}}}\n"
            "{\"domainMetadata\":{\"domain\":\"delta.rowTracking\","
            "\"configuration\":\"{\\\"rowIdHighWaterMark\\\":9}\","
            "\"removed\":false}}\n"
            "{\"domainMetadata\":{\"domain\":\"other\",\"configuration\":"
            "\"{}\",\"removed\":false}}\n");
  assert_int_equal(s.last_ict, 5000);
  assert_int_equal(ks_delta_row_id_high_water_mark(&s), 9);
  assert_int_equal(ks_delta_row_tracking(&s), 1);
  assert_int_equal(ks_delta_in_commit_timestamps(&s), 1);
  /* a DELETE as Spark writes it: the add of the new vector, then the
   * remove of the file without one; the file stays, with its vector */
  apply(&s, "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},"
            "\"size\":10,\"modificationTime\":1,\"dataChange\":true,"
            "\"stats\":\"{\\\"numRecords\\\":10}\"," DV(3) "}}\n"
            "{\"remove\":{\"path\":\"a.parquet\",\"dataChange\":true,"
            "\"deletionTimestamp\":2}}\n"
            "{\"domainMetadata\":{\"domain\":\"other\",\"configuration\":"
            "\"{}\",\"removed\":true}}\n");
  assert_int_equal(s.last_ict, -1);
  assert_int_equal(s.nfiles, 1);
  assert_int_equal(ks_delta_snapshot_rows(&s), 7);
  assert_string_equal(s.files[0].dv_file,
                      "ab/deletion_vector_d2c639aa-8816-431a-aaf6-"
                      "d3fe2512ff61.bin");
  assert_non_null(strstr(s.files[0].extra, "\"cardinality\":3"));
  assert_int_equal(s.ndomains, 1);
  assert_string_equal(s.domains[0].domain, "delta.rowTracking");

  /* a file with tags and a clustering provider, and a file removed with
   * its vector: the tombstone keeps the vector */
  apply(&s, "{\"add\":{\"path\":\"c.parquet\",\"partitionValues\":{},"
            "\"size\":4,\"modificationTime\":1,\"dataChange\":true,"
            "\"tags\":{\"INSERTION_TIME\":\"17\"},"
            "\"clusteringProvider\":\"liquid\"}}\n"
            "{\"remove\":{\"path\":\"b.parquet\",\"dataChange\":true,"
            "\"deletionTimestamp\":8," DV(2) "}}\n");
  assert_int_equal(s.nremoves, 1);
  assert_non_null(s.removes[0].dv_json);

  /* a checkpoint carries the features, the vector and the domain */
  ks_buf ck;
  ks_buf_init(&ck, 0);
  assert_int_equal(ks_delta_checkpoint_build(&s, 10, &ck, NULL), 0);
  ks_delta_snapshot r;
  ks_delta_snapshot_init(&r);
  char err[256];
  assert_int_equal(
      ks_delta_checkpoint_apply(&r, ck.data, ck.len, 0, err, sizeof err), 0);
  assert_int_equal(r.min_reader, 3);
  assert_int_equal(r.nwriter_features, 4);
  assert_string_equal(r.writer_features[1], "rowTracking");
  assert_int_equal(r.nfiles, 2);
  assert_int_equal(r.files[0].dv_cardinality, 3);
  assert_string_equal(r.files[0].dv_file, s.files[0].dv_file);
  assert_non_null(strstr(r.files[1].extra,
                         "\"tags\":{\"INSERTION_TIME\":\"17\"}"));
  assert_non_null(
      strstr(r.files[1].extra, "\"clusteringProvider\":\"liquid\""));
  assert_int_equal(r.nremoves, 1);
  assert_string_equal(r.removes[0].path, "b.parquet");
  assert_non_null(r.removes[0].dv_json);
  assert_non_null(strstr(r.removes[0].dv_json, "\"cardinality\":2"));
  assert_non_null(strstr(r.removes[0].dv_json, "\"sizeInBytes\":40"));
  /* written back into a log entry with its vector */
  ks_buf rm;
  ks_buf_init(&rm, 0);
  assert_int_equal(ks_delta_write_remove(&rm, &r.removes[0]), 0);
  ks_buf_cstr(&rm);
  assert_non_null(strstr((char *)rm.data, "\"deletionVector\":{"));
  ks_buf_free(&rm);
  assert_int_equal(ks_delta_row_id_high_water_mark(&r), 9);
  ks_delta_snapshot_free(&r);
  ks_buf_free(&ck);
  ks_delta_snapshot_free(&s);
}

/* A V2 checkpoint in JSON: its actions applied, its sidecars listed (only
 * names inside _delta_log/_sidecars/). */
static void test_v2_json_checkpoint(void **state) {
  (void)state;
  char text[4096];
  snprintf(text, sizeof text,
           "{\"checkpointMetadata\":{\"version\":8,\"tags\":{}}}\n"
           "%s\n" META
           "{\"txn\":{\"appId\":\"app\",\"version\":4}}\n"
           "{\"sidecar\":{\"path\":\"00000000000000000008.checkpoint.0000000001"
           ".0000000001.d55f.parquet\",\"sizeInBytes\":9,"
           "\"modificationTime\":1}}\n"
           "{\"add\":{\"path\":\"x.parquet\",\"partitionValues\":{},"
           "\"size\":3,\"modificationTime\":1,\"dataChange\":false}}\n",
           PROTO_DV, "");
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  char err[256];
  assert_int_equal(ks_delta_checkpoint_apply_json(
                       &s, (const uint8_t *)text, strlen(text), err,
                       sizeof err),
                   0);
  assert_int_equal(s.has_protocol && s.has_metadata, 1);
  assert_int_equal(s.nfiles, 1);
  assert_int_equal(ks_delta_snapshot_txn(&s, "app"), 4);
  assert_int_equal(s.nsidecars, 1);
  assert_string_equal(s.sidecars[0], "00000000000000000008.checkpoint."
                                     "0000000001.0000000001.d55f.parquet");
  ks_delta_snapshot_free(&s);
  snprintf(text, sizeof text,
           "%s\n" META
           "{\"sidecar\":{\"path\":\"../../elsewhere.parquet\"}}\n",
           PROTO_DV, "");
  ks_delta_snapshot_init(&s);
  assert_int_equal(ks_delta_checkpoint_apply_json(&s, (const uint8_t *)text,
                                                  strlen(text), err,
                                                  sizeof err),
                   KS_EUNSUPPORTED);
  ks_delta_snapshot_free(&s);
}

static void test_create_protocol(void **state) {
  (void)state;
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  const char *f[] = {"rowTracking", "inCommitTimestamp", "v2Checkpoint"};
  const char *k[] = {"delta.checkpointInterval"}, *v[] = {"3"};
  ks_delta_create_protocol(&s, f, 3, k, v, 1);
  ks_buf b;
  ks_buf_init(&b, 0);
  ks_delta_write_protocol_of(&b, &s);
  ks_buf_cstr(&b);
  assert_string_equal((char *)b.data,
                      "{\"protocol\":{\"minReaderVersion\":3,"
                      "\"minWriterVersion\":7,\"readerFeatures\":"
                      "[\"v2Checkpoint\"],\"writerFeatures\":[\"rowTracking\","
                      "\"domainMetadata\",\"inCommitTimestamp\","
                      "\"v2Checkpoint\"]}}\n");
  assert_string_equal(ks_delta_snapshot_conf(&s, "delta.enableRowTracking"),
                      "true");
  /* row tracking is on only with its materialized columns named */
  const char *rid = ks_delta_snapshot_conf(
      &s, "delta.rowTracking.materializedRowIdColumnName");
  const char *rcv = ks_delta_snapshot_conf(
      &s, "delta.rowTracking.materializedRowCommitVersionColumnName");
  assert_non_null(rid);
  assert_non_null(rcv);
  assert_int_equal(strncmp(rid, "_row-id-col-", 12), 0);
  assert_int_equal(strlen(rid), 12 + 36);
  assert_int_equal(strncmp(rcv, "_row-commit-version-col-", 24), 0);
  assert_string_not_equal(rid + 12, rcv + 24);
  assert_string_equal(ks_delta_snapshot_conf(&s, "delta.checkpointPolicy"),
                      "v2");
  assert_string_equal(ks_delta_snapshot_conf(&s, "delta.checkpointInterval"),
                      "3");
  ks_buf_free(&b);
  ks_delta_snapshot_free(&s);
}

static void test_schema_merge(void **state) {
  (void)state;
  ks_buf b;
  ks_buf_init(&b, 0);
  const char *table =
      "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"integer\","
      "\"nullable\":true,\"metadata\":{\"comment\":\"kept\"}},{\"name\":\"s\","
      "\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":"
      "\"long\",\"nullable\":true,\"metadata\":{}}]},\"nullable\":true,"
      "\"metadata\":{}}]}";
  const char *next =
      "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"integer\","
      "\"nullable\":true,\"metadata\":{}},{\"name\":\"s\",\"type\":{\"type\":"
      "\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"long\",\"nullable\":"
      "true,\"metadata\":{}},{\"name\":\"y\",\"type\":\"string\",\"nullable\":"
      "true,\"metadata\":{}}]},\"nullable\":true,\"metadata\":{}},{\"name\":"
      "\"_kafka_offset\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}";
  assert_int_equal(ks_delta_schema_merge(table, next, NULL, &b), 0);
  ks_buf_cstr(&b);
  assert_string_equal(
      (char *)b.data,
      "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"integer\","
      "\"nullable\":true,\"metadata\":{\"comment\":\"kept\"}},{\"name\":\"s\","
      "\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":"
      "\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"y\",\"type\":"
      "\"string\",\"nullable\":true,\"metadata\":{}}]},\"nullable\":true,"
      "\"metadata\":{}},{\"name\":\"_kafka_offset\",\"type\":\"long\","
      "\"nullable\":true,\"metadata\":{}}]}");
  ks_buf_reset(&b);
  assert_int_equal(ks_delta_schema_merge("[]", next, NULL, &b), KS_ECORRUPT);
  /* column mapping: the new fields get ids from next_id and physical
   * names; the table's keep theirs */
  const char *mapped =
      "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"integer\","
      "\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":7,"
      "\"delta.columnMapping.physicalName\":\"col-x\"}}]}";
  int64_t next_id = 8;
  ks_buf_reset(&b);
  assert_int_equal(ks_delta_schema_merge(mapped, next, &next_id, &b), 0);
  ks_buf_cstr(&b);
  /* s 8, its x 9 and y 10 (pre-order), _kafka_offset 11 */
  assert_int_equal(next_id, 12);
  assert_int_equal(ks_delta_schema_max_column_id((char *)b.data), 11);
  assert_non_null(strstr((char *)b.data, "\"delta.columnMapping.physicalName\":"
                                         "\"col-x\""));
  assert_non_null(strstr((char *)b.data, "{\"name\":\"_kafka_offset\",\"type\":"
                                         "\"long\",\"nullable\":true,\"metadata\":"
                                         "{\"delta.columnMapping.id\":11,"));
  /* structs inside a new array and a new map get ids too: every column,
   * nested or leaf, has one (PROTOCOL.md, column mapping) */
  const char *nested =
      "{\"type\":\"struct\",\"fields\":[{\"name\":\"arr\",\"type\":{\"type\":"
      "\"array\",\"elementType\":{\"type\":\"struct\",\"fields\":[{\"name\":"
      "\"p\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]},"
      "\"containsNull\":true},\"nullable\":true,\"metadata\":{}},{\"name\":"
      "\"m\",\"type\":{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":"
      "{\"type\":\"array\",\"elementType\":{\"type\":\"struct\",\"fields\":[{"
      "\"name\":\"q\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]"
      "},\"containsNull\":true},\"valueContainsNull\":true},\"nullable\":"
      "true,\"metadata\":{}}]}";
  next_id = 8;
  ks_buf_reset(&b);
  assert_int_equal(ks_delta_schema_merge(mapped, nested, &next_id, &b), 0);
  ks_buf_cstr(&b);
  /* arr 8, its p 9, m 10, its q 11 */
  assert_int_equal(next_id, 12);
  assert_int_equal(ks_delta_schema_max_column_id((char *)b.data), 11);
  assert_null(strstr((char *)b.data, "\"metadata\":{}"));
  assert_non_null(strstr((char *)b.data,
                         "\"containsNull\":true},\"valueContainsNull\":true}"));
  assert_non_null(strstr((char *)b.data, "{\"name\":\"q\",\"type\":\"string\","
                                         "\"nullable\":true,\"metadata\":{"
                                         "\"delta.columnMapping.id\":11,"));
  ks_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verdicts),
      cmocka_unit_test(test_deletion_vectors_and_domains),
      cmocka_unit_test(test_v2_json_checkpoint),
      cmocka_unit_test(test_create_protocol),
      cmocka_unit_test(test_schema_merge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
