/*
 * The schema compiler's state, shared by compile.c (keywords) and refs.c
 * (URIs, $id scopes, $ref targets, remote and built-in documents), and the
 * length-keeping JSON tree both read (json_tree.c). Lives only while a
 * schema compiles.
 */
#ifndef KS_JSONSCHEMA_COMPILE_INT_H
#define KS_JSONSCHEMA_COMPILE_INT_H

#include "jsonschema/internal.h"

#include <yajl/yajl_tree.h>

/* One entry per schema object seen: its base URI (from the scan) and its
 * compiled node (once compiled). Keyed by the yajl_val's address. */
typedef struct ks__vent {
  yajl_val v;
  char *base;
  const ks_js_node *node;
} ks__vent;

/* A schema resource ("http://x/y.json") or plain-name anchor
 * ("http://x/y.json#foo") and the value it names. */
typedef struct ks__res {
  char *uri;
  yajl_val v;
} ks__res;

typedef struct ks__compiler {
  ks_js_schema *s;
  ks_buf ptr; /* JSON pointer of the schema being compiled */
  char *err;
  size_t errlen;
  const char *remote_dir, *remote_base;
  yajl_val *docs;
  size_t ndocs;
  ks__res *res;
  size_t nres;
  ks__vent *map;
  size_t map_cap, map_len;
  int depth;
} ks__compiler;

/* yajl_tree-shaped documents whose strings and keys keep their length
 * (json_tree.c); free with ks__jtree_free. NULL and err on bad JSON. */
yajl_val ks__jtree_parse(const char *text, size_t len, char *err,
                         size_t errlen);
void ks__jtree_free(yajl_val v);
size_t ks__jstr_len(const char *s);

/* Push "/<token>" (RFC 6901 escaped) onto c->ptr; returns the length to
 * pop back to. */
size_t ks__ptr_push(ks__compiler *c, const char *tok);
void ks__ptr_pop(ks__compiler *c, size_t old);
int ks__cfail(ks__compiler *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* RFC 3986 section 5.2 reference resolution into out (NUL-terminated). */
void ks__uri_resolve(const char *base, const char *ref, ks_buf *out);

/* Parses a document, registers its resources under uri, keeps it until
 * the load ends. */
int ks__doc_add(ks__compiler *c, const char *text, size_t len, const char *uri,
                yajl_val *out);
/* Registers $id scopes and bases of the schema objects under v. */
void ks__scan(ks__compiler *c, yajl_val v, const char *base);
ks__vent *ks__map_get(ks__compiler *c, yajl_val v, int create);
/* Finds the value a $ref names (loading a remote or the built-in
 * meta-schema when needed); *base is the target's base URI. */
int ks__ref_target(ks__compiler *c, const char *base, const char *ref,
                   yajl_val *out, const char **tbase);
void ks__compiler_free(ks__compiler *c);

#endif
