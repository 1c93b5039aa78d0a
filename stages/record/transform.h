/*
 * Transforms: Kafka Connect's single message transforms, applied while a
 * record is parsed (no DOM). The decoder's parser hands each JSON event
 * to the first stage; each stage passes events on, drops, renames or
 * adds some, and the last hands them to the validator and shredder, so
 * the table's schema describes the transformed record. A stage keeps
 * only what it must wait for: debezium_unwrap records the `before` image
 * (as an event tape, only with deletes: rewrite) and the few scalars
 * add_fields names; every other stage holds nothing across events.
 *
 * Stages: debezium_unwrap (Debezium's ExtractNewRecordState), extract_field
 * (ExtractField$Value), insert_field (InsertField$Value), replace_field
 * (ReplaceField$Value), timestamp_converter (TimestampConverter$Value).
 * filter is decided on the Kafka record before parsing (ks_xf_keep).
 * Callers: stages/record/decode.c, stages/writer.c (ks_xf_keep).
 */
#ifndef KS_STAGES_RECORD_TRANSFORM_H
#define KS_STAGES_RECORD_TRANSFORM_H

#include "base/buf.h"
#include "conf/conf.h"

#include <stdint.h>
#include <yajl/yajl_parse.h>

/* What insert_field can add: the Kafka record's coordinates. */
typedef struct ks_xf_meta {
  const char *topic;
  int32_t partition;
  int64_t offset;
  int64_t ts_ms; /* < 0: none */
} ks_xf_meta;

typedef struct ks_xf ks_xf;

/* The chain of the streaming transforms among xs (filters are skipped),
 * ending in sink(sink_ctx); NULL when there is none. xs outlives it. */
ks_xf *ks_xf_new(const ks_conf_transform *xs, size_t n,
                 const yajl_callbacks *sink, void *sink_ctx);
void ks_xf_free(ks_xf *x);

/* Before each record. */
void ks_xf_begin(ks_xf *x, const ks_xf_meta *meta);
/* The chain's entry: feed it the record's events. */
const yajl_callbacks *ks_xf_callbacks(void);
void *ks_xf_entry(ks_xf *x);
/* A sink that writes the events to a yajl_gen (its ctx), as
 * ks_xf_render does. */
const yajl_callbacks *ks_xf_gen_callbacks(void);

/* After the events: 0, the record reached the sink; KS_XF_DROPPED, a
 * stage dropped it (a Debezium delete with deletes: drop); KS_XF_FAILED,
 * a stage could not apply (ks_xf_error says why, naming the transform). */
#define KS_XF_DROPPED 1
#define KS_XF_FAILED 2
int ks_xf_status(const ks_xf *x);
const char *ks_xf_error(const ks_xf *x);

/* The transformed record as JSON text into out (schemaless tables learn
 * new fields from it). 0, KS_XF_DROPPED, KS_XF_FAILED, or KS_EPARSE when
 * json is not one JSON text. */
int ks_xf_render(const ks_conf_transform *xs, size_t n, const uint8_t *json,
                 size_t len, const ks_xf_meta *meta, ks_buf *out);

/* The filter transforms of xs over a Kafka record: 1 keep, 0 drop.
 * has_header(arg, name) says whether the record has a header of that
 * name. */
int ks_xf_keep(const ks_conf_transform *xs, size_t n, const char *topic,
               int tombstone, int (*has_header)(void *, const char *),
               void *arg);

#endif
