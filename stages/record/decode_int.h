/*
 * The decoder's state and the steps its two front ends share: the yajl
 * parse of JSON records (decode.c) and the events that decoders of other
 * encodings produce themselves (decode_events.c, for avro.c). For
 * stages/record/ only.
 */
#ifndef KS_STAGES_RECORD_DECODE_INT_H
#define KS_STAGES_RECORD_DECODE_INT_H

#include "jsonschema/jsonschema.h"
#include "stages/record/arena.h"
#include "stages/record/decode.h"
#include "stages/record/shred.h"
#include "stages/record/transform.h"

#include <yajl/yajl_parse.h>

typedef struct colmark {
  size_t values, lens, defs, reps, nvalues;
} colmark;

struct ks_decoder {
  const ks_schema *schema;
  ks_column *cols; /* NULL: validate only */
  size_t ncols;
  colmark *marks;
  ks_js_validator v;
  ks__shredder sh;
  ks_js_error err;  /* the validator's (and shredder's) failure */
  ks_reason reason; /* the decoder's own reason for err, or NONE */
  ks__arena arena;
  yajl_handle h;
  const uint8_t *in;
  size_t in_len, max_record;
  int refuse_dropped;     /* ks_decoder_set_refuse_dropped */
  int caller_marks;       /* ks_decoder_set_caller_marks */
  ks_xf *xf;              /* the table's transforms, NULL: none */
  const ks_xf_meta *meta; /* ks_decoder_set_meta, for the next record */
  /* Inside an opaque value (skip > 0: its nesting depth, 1 = the value's
   * own container): one the validator does not look into and the
   * shredder copies from the text at its close, so its members and items
   * are only checked for UTF-8 and nesting. A failure there sets
   * skip_failed and the record is fed again with no_skip, for a verdict
   * that names the exact place. */
  uint32_t skip;
  size_t skip_from; /* where the opaque value's text starts */
  int skip_failed;
  int no_skip; /* ks_decoder_set_skip_opaque(d, 0), or a record fed again */
  /* An opaque value ks_json_skim vouched for is not lexed by yajl at all:
   * the parse stops at its start and a new handle goes on from resume
   * (see resume_after). base: where the current handle's text starts in
   * the record. cbs: the handle's callbacks, muted while it is brought
   * back to the state the value left. */
  size_t resume, base;
  int finished; /* the skimmed value's enclosing containers closed too */
  int root_closed; /* the record's top container closed */
  uint32_t xf_depth; /* with transforms: the record's containers open */
  /* Each resume costs a new handle and a prefix as long as the nesting:
   * many small free-form values deep down would cost more than lexing
   * them, so a record gets this many, then its values are lexed. */
  int resumes_left;
  yajl_callbacks cbs;
  size_t skimmed; /* values passed over that way */
  ks_reject scratch;
};

/* decode.c: the parser's callbacks (ctx: the decoder) */
extern const yajl_callbacks ks__dec_callbacks;
/* A string or key's UTF-8 (ncp: its code points), else the record's
 * failure (key: a property name). 1 when it passes. */
int ks__dec_text_ok(ks_decoder *d, const uint8_t *s, size_t n, size_t *ncp,
                    int key);
/* The sink: the validator, then the shredder; 0 stops the record. */
int ks__dec_sink_string(ks_decoder *d, const uint8_t *s, size_t n, size_t ncp);
int ks__dec_sink_num(ks_decoder *d, ks_js_num *num);
int ks__dec_sink_key(ks_decoder *d, const uint8_t *k, size_t n, size_t ncp);
int ks__dec_sink_open(ks_decoder *d, int is_array);
int ks__dec_sink_close(ks_decoder *d);
/* The row's start in every column, and the way back to it. */
void ks__dec_mark(ks_decoder *d);
void ks__dec_rollback(ks_decoder *d);
/* A record the parse or the events accepted (xs: the transforms' status),
 * before its row is kept: values outside the columns when the table
 * refuses them, a record the transforms dropped (KS_DECODE_SKIPPED), the
 * table's constraints. 0 keeps the row; else it is rolled back and r
 * says why. */
int ks__dec_accept(ks_decoder *d, int xs, ks_reject *r);
/* The table's max_record_bytes (ks_decoder_set_max_record): 1, with the
 * validator failed (KS_ETOOBIG), when a value of len bytes is over it. */
int ks__dec_too_large(ks_decoder *d, size_t len);
/* The validator's failure into r; returns r->code. */
int ks__dec_take_error(ks_decoder *d, ks_reject *r);

#endif
