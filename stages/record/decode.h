/*
 * decode -> validate -> shred, in one pass. yajl's streaming callbacks
 * drive the engine's validator (jsonschema.h) and the column shredder
 * (shred.h) together:
 * each value is checked and appended to its column as it is parsed, with
 * no DOM and no per-record heap allocation. A record that fails is rolled
 * back from the columns and described in a ks_reject (reject.h).
 * Callers: the table writer (stages/flush.c), `ksink validate`
 * (cli/validate.c, a decoder without columns) and the conformance tests.
 */
#ifndef KS_STAGES_RECORD_DECODE_H
#define KS_STAGES_RECORD_DECODE_H

#include "stages/record/reject.h"
#include "stages/record/schema.h"
#include "stages/record/transform.h"
#include "storage/parquet/column.h"

typedef struct ks_decoder ks_decoder;

/* Shreds into rg->cols[first_col .. first_col + ks_schema_ncolumns(s)).
 * schema and rg must outlive the decoder. */
ks_decoder *ks_decoder_new(const ks_schema *s, ks_rowgroup *rg,
                           size_t first_col);
void ks_decoder_free(ks_decoder *d);
/* ks_decoder_new also takes rg == NULL: that decoder only validates
 * (ksink validate: no allocation per line, the same verdicts). */

/* Records longer than bytes are rejected as too_large (0 = no limit, the
 * default; column buffers keep their own caps). */
void ks_decoder_set_max_record(ks_decoder *d, size_t bytes);

/* Schemaless tables: a record with a non-null value outside the
 * decoder's columns (a field the table does not have yet) fails with
 * KS_ENEWFIELD, columns as before, instead of dropping the value; the
 * caller learns the field (stages/schemaless.h) and feeds it again. */
void ks_decoder_set_refuse_dropped(ks_decoder *d, int on);

/* The caller marks the decoder's columns before every feed
 * (ks_rowgroup_mark_row on the row group, as the table writer does): a
 * failed record is rolled back to those marks, and the decoder saves no
 * marks of its own (a loop over every column per record, saved). */
void ks_decoder_set_caller_marks(ks_decoder *d, int on);

/* On by default: a free-form value that no keyword looks into and that is
 * kept as its own text gets no validator or shredder events, only its
 * UTF-8 and nesting are checked (same verdicts, same columns); when
 * ks_json_skim vouches for its syntax, yajl does not even lex it. Off:
 * every event goes through (the fuzz target compares the two). */
void ks_decoder_set_skip_opaque(ks_decoder *d, int on);
/* Free-form values this decoder passed over without yajl so far. */
size_t ks_decoder_skimmed(const ks_decoder *d);

/* Parses and validates one record (a complete JSON text). On success
 * appends exactly one entry to each of the decoder's columns and returns 0;
 * the caller appends the other columns and commits the row. On failure the
 * decoder's columns are as before the call, rej is filled, and the return
 * is rej->code. rej may be NULL. */
int ks_decoder_feed(ks_decoder *d, const uint8_t *json, size_t len,
                    ks_reject *rej);

/* The table's transforms (transform.h), applied between the parser and
 * the validator: the schema describes the transformed record. xs
 * outlives the decoder. */
void ks_decoder_set_transforms(ks_decoder *d, const ks_conf_transform *xs,
                               size_t n);
/* ks_decoder_feed with the Kafka record's coordinates (insert_field);
 * meta may be NULL. Returns KS_DECODE_SKIPPED when a transform dropped
 * the record (the columns are as before; not a reject). A transform that
 * cannot apply rejects the record with reason transform. */
#define KS_DECODE_SKIPPED 1
int ks_decoder_feed_meta(ks_decoder *d, const uint8_t *json, size_t len,
                         const ks_xf_meta *meta, ks_reject *rej);

/* Validates without shredding (ksink validate). Same verdicts. */
int ks_schema_validate(const ks_schema *s, const uint8_t *json, size_t len,
                       ks_reject *rej);

/* ---- for decoders of other encodings (stages/record/avro.c) ----
 * They produce the value events themselves and drive the same validator
 * and shredder: begin, one call per event (each 0, or KS_EINVALID with
 * the failure recorded; stop at the first), then end, which returns and
 * fills r as ks_decoder_feed does and rolls the columns back on failure.
 * ks__decoder_fail records a failure of the encoding itself. The table's
 * transforms apply to these events too; ks_decoder_set_meta gives them the
 * next record's Kafka coordinates, and end returns KS_DECODE_SKIPPED when
 * a transform dropped the record. */
void ks_decoder_set_meta(ks_decoder *d, const ks_xf_meta *meta);
void ks__decoder_begin(ks_decoder *d);
int ks__decoder_null(ks_decoder *d);
int ks__decoder_bool(ks_decoder *d, int b);
int ks__decoder_number(ks_decoder *d, const char *text, size_t n);
int ks__decoder_string(ks_decoder *d, const uint8_t *s, size_t n);
int ks__decoder_key(ks_decoder *d, const uint8_t *k, size_t n);
int ks__decoder_open(ks_decoder *d, int is_array);
int ks__decoder_close(ks_decoder *d, int is_array);
int ks__decoder_fail(ks_decoder *d, ks_reason reason, const char *msg);
int ks__decoder_end(ks_decoder *d, int failed, ks_reject *r);

#endif
