/* The Connect key table of connect_keys.h; one row per property. */
#include "conf/connect_keys.h"

#include <string.h>

static const ks_conf_connect_key keys[] = {
    {"connector.class", NULL,
     "ksink is the connector; only io.confluent.connect.s3.S3SinkConnector "
     "configs are converted"},
    {"tasks.max", "reactor.workers",
     "workers are event-loop threads of one process; run more replicas to "
     "spread partitions over machines"},
    {"topics.regex", "tables[].topics_regex",
     "a POSIX extended regular expression the whole topic name matches"},
    {"topics.dir", "storage.url",
     "the prefix under the bucket: s3://<bucket>/<topics.dir>"},
    {"flush.size", "tables[].flush.records", NULL},
    {"rotate.interval.ms", "tables[].flush.interval",
     "ksink's interval is wall-clock time from a batch's first record, "
     "not record time"},
    {"rotate.schedule.interval.ms", "tables[].flush.interval",
     "ksink's interval is measured from a batch's first record, not "
     "aligned to the clock"},
    {"s3.bucket.name", "storage.url", "s3://<bucket>/<prefix>"},
    {"s3.region", "storage.s3.region", NULL},
    {"store.url", "storage.s3.endpoint", NULL},
    {"s3.part.size", "storage.s3.part_size", NULL},
    {"s3.path.style.access.enabled", "storage.s3.addressing",
     "path or virtual"},
    {"s3.ssea.name", "storage.s3.sse", "AES256 or aws:kms"},
    {"s3.sse.kms.key.id", "storage.s3.kms_key_id", NULL},
    {"s3.part.retries", "storage.s3.retry.max_attempts", NULL},
    {"s3.retry.backoff.ms", "storage.s3.retry.base", NULL},
    {"aws.access.key.id", "storage.s3.access_key_id", NULL},
    {"aws.secret.access.key", "storage.s3.secret_access_key", NULL},
    {"s3.acl.canned", NULL, "ksink writes objects with the bucket's default "
                            "ACL"},
    {"s3.compression.type", "tables[].compression",
     "gzip for jsonl files"},
    {"s3.compression.level", "tables[].zstd_level",
     "ksink sets a level for zstd only"},
    {"parquet.codec", "tables[].compression",
     "snappy, zstd, gzip or none"},
    {"format.class", "tables[].format",
     "ParquetFormat is parquet, JsonFormat is jsonl; ksink also writes "
     "delta"},
    {"storage.class", NULL, "ksink picks the store from storage.url"},
    {"partitioner.class", "tables[].partition_by",
     "FieldPartitioner is partition_by; TimeBasedPartitioner, Daily and "
     "Hourly are path_format"},
    {"partition.field.name", "tables[].partition_by", NULL},
    {"path.format", "tables[].path_format", NULL},
    {"partition.duration.ms", NULL,
     "ksink derives the directory from path_format alone"},
    {"timestamp.extractor", "tables[].timestamp_field",
     "Record is the default (no timestamp_field); RecordField is "
     "timestamp_field"},
    {"timestamp.field", "tables[].timestamp_field", NULL},
    {"timezone", "tables[].timezone", NULL},
    {"locale", NULL, "ksink's path_format has numeric fields only"},
    {"schema.compatibility", "tables[].schema_evolution",
     "none or add_columns (Delta tables)"},
    {"behavior.on.null.values", "tables[].null_values",
     "ignore, dlq (rejected as null_value) or fail"},
    {"key.converter", "tables[].key.format",
     "string, json or bytes; the key is stored with store.kafka.keys"},
    {"store.kafka.keys", "tables[].key", "a key column beside the value's"},
    {"store.kafka.headers", "tables[].headers",
     "a map column beside the value's"},
    {"value.converter", "tables[].schema",
     "records are JSON validated against the table's JSON Schema"},
    {"value.converter.schemas.enable", NULL,
     "ksink reads plain JSON values; the schema is tables[].schema"},
    {"value.converter.schema.registry.url", NULL,
     "ksink does not read a Schema Registry yet"},
    {"errors.tolerance", "tables[].errors.tolerance", NULL},
    {"errors.deadletterqueue.topic.name",
     "tables[].errors.deadletterqueue.topic.name", NULL},
    {"errors.deadletterqueue.context.headers.enable",
     "tables[].errors.deadletterqueue.context.headers.enable", NULL},
    {"errors.log.enable", "tables[].errors.log.enable", NULL},
    {"errors.log.include.messages", "tables[].errors.log.include.messages",
     NULL},
    {"consumer.override.", "kafka.",
     "consumer properties go to kafka.* without the prefix"},
    {"transforms", "tables[].transforms",
     "ExtractField, InsertField, ReplaceField, TimestampConverter and Filter "
     "on values, and Debezium's ExtractNewRecordState"},
    {"transforms.", "tables[].transforms", NULL},
    {"predicates", "tables[].transforms", "filter: { predicate: ... }"},
    {"predicates.", "tables[].transforms", "filter: { predicate: ... }"},
    {"filename.offset.zero.pad.width", NULL,
     "ksink names its files itself"},
    {"directory.delim", NULL, "ksink writes '/' between directories"},
    {"file.delim", NULL, "ksink names its files itself"},
    {"schema.cache.size", NULL, "no converter cache in ksink"},
    {"enhanced.avro.schema.support", NULL, "ksink does not write Avro"},
    {"avro.codec", NULL, "ksink does not write Avro"},
};

const ks_conf_connect_key *ks_conf_connect_key_find(const char *key) {
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    size_t n = strlen(keys[i].connect);
    if (keys[i].connect[n - 1] == '.') {
      if (strncmp(key, keys[i].connect, n) == 0 && key[n])
        return &keys[i];
    } else if (strcmp(key, keys[i].connect) == 0) {
      return &keys[i];
    }
  }
  return NULL;
}
