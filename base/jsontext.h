/*
 * JSON text looked at without a parser's events (ks_json_value_end runs
 * yajl and keeps only where the value ends). yajl's tree (yajl_tree_parse) is
 * freed recursively: a document nested deeper than its reader expects is
 * refused before it is built.
 *
 * Callers: jsonschema/refs.c (schema documents), stages/table/cuts.c
 * (recorded cuts), stages/record/shred.c (free-form values kept as JSON
 * text, copied from the record instead of rebuilt event by event),
 * stages/record/decode.c (free-form values passed over: ks_json_skim;
 * the end of a record whose top value is a scalar: ks_json_value_end),
 * stages/record/keyhdr.c (JSON keys: ks_json_value_end).
 */
#ifndef KS_BASE_JSONTEXT_H
#define KS_BASE_JSONTEXT_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/* 1 when arrays and objects nest more than max_depth deep in the n bytes
 * of text (strings and their escapes skipped), else 0. */
int ks_json_too_deep(const void *text, size_t n, int max_depth);

/* Appends the compact form of one JSON value that a strict parser has
 * already accepted (well-formed, strings valid UTF-8, surrogate escapes
 * paired): whitespace between tokens dropped, numbers and literals as
 * written, every string re-escaped as ks_buf_append_json_str writes it.
 * The result is byte for byte what serializing the parser's events gives.
 * 0, or KS_ETOOBIG (b as before) when n more bytes do not fit b's cap. */
int ks_json_compact(ks_buf *b, const void *text, size_t n);

/* Bytes of JSON whitespace (space, tab, line feed, carriage return) at
 * the start of the n bytes of text. */
size_t ks_json_ws(const void *text, size_t n);
/* The same with the two bytes yajl's lexer also skips: \v and \f. */
size_t ks_json_ws_yajl(const void *text, size_t n);

/* Where the one JSON value the n bytes of text start with (after
 * whitespace) ends: the offset just past its last byte, once a strict
 * parser (yajl with its defaults) accepted it up to there; what follows
 * is not looked at. 0 when the text holds no whole value: malformed, cut
 * off, or nothing but whitespace. A caller that wants the text to be one
 * JSON value checks that only whitespace follows: completing a parse
 * instead lets a token the text's end cuts off through (`{} "ab`). */
size_t ks_json_value_end(const void *text, size_t n);

/* The four hex digits at p (before end) as a code unit: 0, or -1 when
 * they are not four hex digits. */
int ks_json_hex4(const uint8_t *p, const uint8_t *end, unsigned *cp);

/* Length of the JSON array or object at the start of the n bytes of text
 * (text[0] is '{' or '['), checked for well-formedness without a parser's
 * events, or 0 when this scan is not sure a strict parser (yajl with its
 * defaults) accepts it: malformed; containers nested more than max_depth
 * deep, the outer one counted; a \u escape of a surrogate; whitespace
 * other than space, tab, line feed and carriage return; any byte of
 * 0x80 and above outside a string. Inside strings such bytes are not
 * looked at: the caller checks the value's UTF-8 (ks_utf8_check).
 * *compact: 1 when the value is its own compact form (no whitespace
 * between tokens, no escape), as ks_json_compact would write it.
 * Written by hand because yajl cannot pass over a value without
 * lexing each of its tokens into a callback; a caller that gets 0
 * lets the parser read the value after all. */
size_t ks_json_skim(const void *text, size_t n, unsigned max_depth,
                    int *compact);

#endif
