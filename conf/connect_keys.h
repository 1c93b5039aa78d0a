/*
 * Kafka Connect S3 sink keys and where their meaning lives in ksink: the
 * config loader names the ksink key when a Connect key turns up in a ksink
 * file ("flush.size: a Kafka Connect key; in ksink it is
 * tables[].flush.records"), and `ksink convert-connect` uses the same
 * table for what it cannot carry over. Key names follow Confluent's S3
 * sink connector configuration reference and Apache Kafka's sink connector
 * configs (errors.*, topics.regex).
 */
#ifndef KS_CONF_CONNECT_KEYS_H
#define KS_CONF_CONNECT_KEYS_H

typedef struct ks_conf_connect_key {
  const char *connect; /* the Connect property name */
  const char *ksink;   /* the ksink key with that meaning, or NULL */
  const char *note;    /* how it differs, or why ksink has none */
} ks_conf_connect_key;

/* The entry for a Connect property name, or NULL. Keys with a prefix
 * (consumer.override.*, transforms.*) match on the prefix. */
const ks_conf_connect_key *ks_conf_connect_key_find(const char *key);

#endif
