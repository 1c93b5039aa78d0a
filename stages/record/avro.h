/*
 * Avro binary decoding into a table's columns: walks a record's bytes
 * with its writer schema (avro_schema.h, from the Schema Registry) and
 * drives the table decoder's validator and shredder (decode.h) with the
 * same value events a JSON text would, so Avro and JSON records of one
 * table land by the same rules and share the rollback, the rejects and
 * the schema checks. No DOM: each value goes to its column as it is read.
 *
 * Resolution against the table is by field name, which is Avro's rule:
 * a writer field the table lacks is dropped (or, on a table that evolves,
 * learnt), a table field the writer lacks reads null (the table maps
 * fields with defaults to nullable columns), int -> long -> float ->
 * double promote because the columns compare numbers by value, and an
 * enum symbol is just a string. Callers: the table writer, `ksink
 * validate --value-format avro`, the bench and the fuzz target.
 */
#ifndef KS_STAGES_RECORD_AVRO_H
#define KS_STAGES_RECORD_AVRO_H

#include "stages/record/avro_schema.h"
#include "stages/record/decode.h"

typedef struct ks_avro_decoder ks_avro_decoder;

/* d must outlive it. */
ks_avro_decoder *ks_avro_decoder_new(ks_decoder *d);
void ks_avro_decoder_free(ks_avro_decoder *a);
/* A record field of type ["null", X] that holds null is left out instead
 * of fed as null. Only for tables whose nullable columns are not
 * `required` (those mapped from Avro, avro_schema.h): an absent property
 * then shreds as the null does, and Avro records with many optional
 * fields cost what their present values cost. */
void ks_avro_decoder_skip_null_fields(ks_avro_decoder *a, int on);

/* Decodes one record of writer schema w (the payload after the wire
 * prefix) into d's columns: 0, or as ks_decoder_feed (columns as before,
 * r filled; a payload over d's max record is too_large, as a JSON value
 * is; bytes that do not follow the schema are malformed_json's Avro kin:
 * reason bad_wire_format with the byte offset). */
int ks_avro_decoder_feed(ks_avro_decoder *a, const ks_avro_node *w,
                         const uint8_t *p, size_t n, ks_reject *r);

#endif
