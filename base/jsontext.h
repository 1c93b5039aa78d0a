/*
 * JSON text looked at without a parser. yajl's tree (yajl_tree_parse) is
 * freed recursively: a document nested deeper than its reader expects is
 * refused before it is built.
 *
 * Callers: jsonschema/refs.c (schema documents), stages/table/cuts.c
 * (recorded cuts), stages/record/shred.c (free-form values kept as JSON
 * text, copied from the record instead of rebuilt event by event).
 */
#ifndef KS_BASE_JSONTEXT_H
#define KS_BASE_JSONTEXT_H

#include "base/buf.h"

#include <stddef.h>

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

#endif
