/*
 * Configuration: one YAML file (libyaml), ${ENV} interpolation, strict
 * validation. Unknown keys and bad values fail at start-up with
 * "file:line: key: what was expected, what was found". cli/ loads it once;
 * every other module reads the resulting structs and never the YAML.
 */
#ifndef KS_CONF_CONF_H
#define KS_CONF_CONF_H

#include "base/ks.h"
#include "storage/s3/s3_conf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ks_format {
  KS_FORMAT_DELTA,
  KS_FORMAT_PARQUET,
  KS_FORMAT_JSONL
} ks_format;

/* derive: {<name>: {from: <column>, as: date|year|month|day|hour}} */
typedef enum ks_derive_unit {
  KS_DERIVE_DATE,
  KS_DERIVE_YEAR,
  KS_DERIVE_MONTH,
  KS_DERIVE_DAY,
  KS_DERIVE_HOUR
} ks_derive_unit;

typedef struct ks_conf_derive {
  char *name;
  char *from; /* a top-level timestamp or date column */
  ks_derive_unit as;
  int line;
} ks_conf_derive;

typedef struct ks_conf_kv {
  char *key;
  char *value;
  int line;
} ks_conf_kv;

/* tables[].key.format: how the record key becomes its column */
typedef enum ks_key_format {
  KS_KEY_NONE,   /* no key column (key: absent) */
  KS_KEY_STRING, /* UTF-8 text -> string */
  KS_KEY_JSON,   /* a JSON text -> its compact text in a string column */
  KS_KEY_BYTES   /* the bytes, base64 -> string */
} ks_key_format;

/* tables[].null_values: what a record whose value is null (a tombstone)
 * does */
typedef enum ks_null_values {
  KS_NULLS_DLQ,    /* rejected as null_value (default) */
  KS_NULLS_IGNORE, /* skipped: counted, its offset still moves on */
  KS_NULLS_FAIL    /* the pipeline stops */
} ks_null_values;

/* tables[].transforms[]: Kafka Connect's single message transforms that
 * ksink applies while it parses (stages/record/transform.h) */
typedef enum ks_xf_kind {
  KS_XF_DEBEZIUM_UNWRAP,    /* io.debezium.transforms.ExtractNewRecordState */
  KS_XF_EXTRACT_FIELD,      /* ExtractField$Value */
  KS_XF_INSERT_FIELD,       /* InsertField$Value */
  KS_XF_REPLACE_FIELD,      /* ReplaceField$Value */
  KS_XF_TIMESTAMP_CONVERTER, /* TimestampConverter$Value */
  KS_XF_FILTER              /* Filter with a predicate */
} ks_xf_kind;

typedef enum ks_ts_target {
  KS_TS_TIMESTAMP, /* RFC 3339 text (a date-time column) */
  KS_TS_STRING,    /* text in the transform's format */
  KS_TS_UNIX,      /* milliseconds since the epoch */
  KS_TS_DATE       /* YYYY-MM-DD (a date column) */
} ks_ts_target;

typedef enum ks_predicate {
  KS_PRED_TOMBSTONE, /* RecordIsTombstone */
  KS_PRED_TOPIC,     /* TopicNameMatches (a regex, whole name) */
  KS_PRED_HEADER     /* HasHeaderKey */
} ks_predicate;

typedef struct ks_conf_transform {
  ks_xf_kind kind;
  int line;
  /* debezium_unwrap */
  int deletes_rewrite; /* deletes: rewrite (1) | drop (0, default) */
  char **add_fields;   /* envelope paths: op, source.ts_ms, ... */
  size_t nadd_fields;
  /* extract_field, timestamp_converter: the field */
  char *field;
  /* insert_field */
  ks_conf_kv *statics;
  size_t nstatics;
  char *ts_col, *topic_col, *partition_col, *offset_col;
  /* replace_field */
  char **include, **exclude;
  size_t ninclude, nexclude;
  ks_conf_kv *renames; /* key: from, value: to */
  size_t nrenames;
  /* timestamp_converter */
  char *format; /* Java SimpleDateFormat pattern, NULL: none */
  ks_ts_target target;
  /* filter */
  ks_predicate predicate;
  char *pred_arg; /* topic regex or header name */
  void *pred_re;  /* the compiled topic regex (regex_t) */
  int negate;
} ks_conf_transform;

typedef struct ks_conf_table {
  char *name;
  char **topics;
  size_t ntopics;
  /* topics_regex (Connect's topics.regex): a POSIX extended regular
   * expression every whole topic name it matches feeds this table;
   * NULL: none. topics_re is it compiled (regex_t). */
  char *topics_regex;
  void *topics_re;
  ks_key_format key_format; /* key.format; NONE: no key column */
  char *key_column;         /* key.column (default _kafka_key) */
  char *headers_column;     /* headers.column; NULL: no headers column */
  ks_null_values null_values;
  ks_conf_transform *transforms;
  size_t ntransforms;
  char *path;            /* relative to storage.url; default: name */
  ks_format format;      /* default delta */
  char *schema_path;     /* resolved: as written if it exists relative to the
                            current directory, else relative to the config
                            file's directory; NULL when omitted */
  ks_codec codec;        /* default snappy */
  int zstd_level;        /* default 3 */
  int64_t flush_records; /* default 500000 */
  int64_t flush_bytes;   /* default 128 MiB */
  int64_t flush_interval_ms; /* default 30 s */
  int64_t rowgroup_bytes;    /* default 128 MiB */
  int64_t max_record_bytes;  /* default 8 MiB: larger records are too_large */
  int errors_tolerate_all;   /* errors.tolerance: all (1, default) | none */
  char *dlq_topic;           /* errors.deadletterqueue.topic.name */
  int dlq_context_headers;   /* errors.deadletterqueue.context.headers.enable:
                                add Connect's __connect.errors.* headers */
  char *deadletter_path;     /* errors.deadletter.path: rejected records as
                                JSON Lines files under storage.url/<path> */
  int errors_log;            /* errors.log.enable: log every reject */
  int errors_log_messages;   /* errors.log.include.messages: with the record */
  char **partition_by;       /* Hive-style partition columns, in order */
  size_t npartition_by;
  int partition_by_line;
  ks_conf_derive *derive; /* derived partition columns (UTC) */
  size_t nderive;
  char *path_format; /* TimeBasedPartitioner layout (parquet, jsonl) */
  int path_format_line;
  char *timestamp_field; /* path_format's time: this column, else the
                            Kafka record timestamp */
  int timestamp_field_line;
  struct ks_tz *tz; /* timezone (base/tz.h): NULL = UTC, a fixed offset or
                       a named zone */
  int64_t cut_retention_ms; /* parquet/jsonl: recorded cuts older than
                               this are removed, never a partition's
                               newest (default 7 days) */
  int64_t max_open_partitions; /* open partition files per table per
                                  worker; default 64 */
  int value_format;          /* value_format: KS_VALUE_FORMAT_* */
  int add_columns;           /* schema_evolution: add_columns (1) | none (0,
                                default): a changed schema may add nullable
                                columns to an existing table */
  /* optimize: automatic bin-packing of small files by the committer */
  int optimize_enabled;         /* default false */
  int64_t optimize_target_size; /* default 256 MiB */
  int64_t optimize_min_files;   /* default 10, at least 2 */
  /* Delta tables ksink creates: table features (writer v7; none: reader
   * 1 / writer 2) and metaData.configuration properties */
  char **table_features;
  size_t ntable_features;
  ks_conf_kv *properties;
  size_t nproperties;
  int line;                  /* where the table starts, for messages */
} ks_conf_table;


/* tables[].value_format: plain JSON checked against `schema` (default),
 * or Confluent's wire format with the schema from schema_registry. */
enum { KS_VALUE_FORMAT_JSON, KS_VALUE_FORMAT_JSON_SCHEMA,
       KS_VALUE_FORMAT_AVRO };

typedef struct ks_conf {
  char *file;   /* the config file's path (or a name for strings) */
  char *app_id; /* default: kafka group.id, else "ksink" */
  ks_conf_kv *kafka;
  size_t nkafka;
  int workers; /* reactor.workers; 0 = online cores */
  int *cores;  /* reactor.cores */
  size_t ncores;
  int64_t memory_budget; /* reactor.memory_budget; default 256 MiB */
  int64_t dlq_unready_after_ms; /* reactor.deadletter_unready_after: a DLQ
                                   failing transiently this long makes
                                   /readyz unready; default 60 s */
  int64_t storage_unready_after; /* storage.unready_after_failures: this many
                                    refusals in a row (4xx that no retry
                                    heals) make /readyz unready; default 3 */
  char *storage_url;     /* required */
  ks_conf_s3 s3;
  char *http_listen; /* default 127.0.0.1:8083 */
  char *http_admin_token;
  char **http_allowed_hosts; /* Host names mutating calls may carry */
  size_t nhttp_allowed_hosts;
  int log_level; /* log.level: 0 debug, 1 info (default), 2 warn, 3 error
                    (the order of base/log.h's levels) */
  int log_format; /* log.format: 0 auto (JSON unless stderr is a terminal,
                     default), 1 json, 2 text */
  ks_conf_table *tables;
  size_t ntables;
  /* schema_registry (conf/registry.c): URLs tried in turn, credentials */
  char **registry_urls;
  size_t nregistry_urls;
  char *registry_basic_auth;   /* basic_auth_user_info "user:password" */
  char *registry_bearer_token; /* bearer_token */
} ks_conf;

/* Loads and validates. On error returns KS_ECONFIG and writes one line
 * naming file:line and the key into err. */
int ks_conf_load_file(const char *path, ks_conf **out, char *err,
                      size_t errlen);
/* Same for an in-memory document; name stands for the file in messages and
 * relative schema paths resolve against the current directory. */
int ks_conf_load_string(const char *text, size_t len, const char *name,
                        ks_conf **out, char *err, size_t errlen);
void ks_conf_free(ks_conf *c);

/* The table a topic feeds: the one that lists it, else the first whose
 * topics_regex matches it; -1 for none. */
int ks_conf_table_of(const ks_conf *c, const char *topic);
/* Whether topic matches table t's topics_regex. */
int ks_conf_topic_matches(const ks_conf_table *t, const char *topic);

/* Value of a kafka.* key, or NULL. */
const char *ks_conf_kafka_get(const ks_conf *c, const char *key);

/* Whether a kafka.* property holds a credential (its name contains
 * "password" or "secret"): log its value as "<redacted>". */
int ks_conf_kafka_is_secret(const char *key);

/* A storage or table URL as ksink spells it (malloc'd): s3a:// and s3n://
 * (Hadoop's names) become s3://, an absolute path /p becomes file:///p;
 * anything else is copied as is. */
char *ks_conf_normalize_url(const char *url);

/* "500ms" "30s" "5m" "1h" "7d" -> milliseconds. */
int ks_conf_parse_duration(const char *s, int64_t *ms);
/* "512" "64KiB" "8MiB" "1GiB" (also KB/MB/GB as powers of 1000) -> bytes. */
int ks_conf_parse_size(const char *s, int64_t *bytes);

#endif
