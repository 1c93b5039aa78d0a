/*
 * JSON text looked at without a parser. yajl's tree (yajl_tree_parse) is
 * freed recursively: a document nested deeper than its reader expects is
 * refused before it is built.
 *
 * Callers: jsonschema/refs.c (schema documents), stages/table/cuts.c
 * (recorded cuts).
 */
#ifndef KS_BASE_JSONTEXT_H
#define KS_BASE_JSONTEXT_H

#include <stddef.h>

/* 1 when arrays and objects nest more than max_depth deep in the n bytes
 * of text (strings and their escapes skipped), else 0. */
int ks_json_too_deep(const void *text, size_t n, int max_depth);

#endif
