/*
 * yajl trees of outside input (Delta log entries, their stats strings,
 * _last_checkpoint): yajl builds a tree of any depth and yajl_tree_free
 * frees it recursively, so a 300,000-deep document from a table written by
 * anyone would overflow the stack. Here a document is refused before it is
 * built when it nests deeper than its reader allows, and every tree is
 * freed with an explicit stack, whatever its depth.
 *
 * Callers: storage/delta (log entries, stats, checkpoints' JSON columns),
 * stages/table (schemaString), cli (inspect).
 */
#ifndef KS_BASE_JSONTREE_H
#define KS_BASE_JSONTREE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

/* Deepest nesting a Delta log document may have: a schema of 60 nested
 * structs, or stats of as many, fit well below it. */
#define KS_JSON_MAX_DEPTH 256

/* yajl_tree_parse of the NUL-terminated text, or NULL with a message in
 * err when it does not parse or nests more than max_depth deep. */
yajl_val ks_json_tree_parse(const char *text, int max_depth, char *err,
                            size_t errlen);
/* Frees a tree from yajl_tree_parse or ks_json_tree_parse without
 * recursion. NULL is a no-op. */
void ks_json_tree_free(yajl_val v);
/* Appends v to b as compact JSON text (numbers as they were written). */
struct ks_buf;
void ks_json_tree_write(struct ks_buf *b, yajl_val v);

#endif
