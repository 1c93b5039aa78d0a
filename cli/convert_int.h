/*
 * Cross-file internals of `ksink convert-connect`: the Connect properties
 * as read (convert_connect.c) and the helpers the record keys' part
 * (convert_record.c: keys, headers, null values, transforms) shares.
 */
#ifndef KS_CLI_CONVERT_INT_H
#define KS_CLI_CONVERT_INT_H

#include "base/buf.h"

#include <stddef.h>

typedef struct kv {
  char *key, *value;
  int used; /* carried over, or reported */
} kv;

typedef struct props {
  kv *v;
  size_t n, cap;
} props;

/* The value of key (marked used), or NULL. */
const char *ks__cc_get(props *p, const char *key);
/* s as a double-quoted YAML scalar (${ kept literal). */
void ks__cc_yq(ks_buf *o, const char *s);
/* Names key on stderr as not carried over, unless already used. */
void ks__cc_dropped(props *p, const char *key, const char *why);
/* The class name after its last '.'. */
const char *ks__cc_suffix(const char *cls);

/* The table keys of Connect's key/header storage, null values and single
 * message transforms, appended to a table's body (convert_record.c). */
void ks__cc_record(props *p, ks_buf *o);

#endif
