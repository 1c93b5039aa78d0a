/*
 * Internals shared by schema.c (load + compile), validate.c (the streaming
 * validator) and decode.c (yajl callbacks + shredder). Not for other
 * folders: they see ks_schema and ks_decoder only.
 *
 * A schema compiles into a tree of ks__snode, one per (sub)schema. Every
 * edge is non-NULL: an absent subschema points at the schema's shared
 * "accept anything" node, so the validator never tests for NULL. The later
 * draft-07 work adds keywords as fields of ks__snode and checks in
 * validate.c; the frame stack does not change.
 */
#ifndef KS_STAGES_SCHEMA_INT_H
#define KS_STAGES_SCHEMA_INT_H

#include "base/buf.h"
#include "stages/decode.h"
#include "stages/schema.h"

#include <stdint.h>

/* JSON value kinds as a bit set (the "type" keyword). An integer-valued
 * number has kind INTEGER and is accepted by INTEGER or NUMBER. */
enum {
  KS__T_NULL = 1 << 0,
  KS__T_BOOLEAN = 1 << 1,
  KS__T_INTEGER = 1 << 2,
  KS__T_NUMBER = 1 << 3,
  KS__T_STRING = 1 << 4,
  KS__T_OBJECT = 1 << 5,
  KS__T_ARRAY = 1 << 6,
  KS__T_ALL = (1 << 7) - 1
};

enum { KS__FMT_NONE, KS__FMT_DATE_TIME, KS__FMT_DATE };

/* ks__snode.flags */
enum {
  KS__N_FALSE = 1 << 0, /* the schema `false`: nothing validates */
  KS__N_MIN = 1 << 1,
  KS__N_MAX = 1 << 2,
  KS__N_MINLEN = 1 << 3,
  KS__N_MAXLEN = 1 << 4,
  KS__N_ENUM = 1 << 5
};

/* A JSON number as the validator needs it: its text (as written, for JSON
 * text columns), whether it is integer-valued, its exact int64 value when
 * it fits, and a double computed only on demand. */
typedef struct ks__num {
  const char *text;
  size_t len;
  int is_int; /* mathematically an integer (1, -0, 1.0, 1e2) */
  int fits;   /* is_int and within int64 */
  int64_t i;  /* when fits */
  int have_d;
  double d;
} ks__num;

/* Classifies a JSON number text (already grammar-checked by yajl). */
void ks__num_parse(ks__num *n, const char *text, size_t len);
/* n->d via strtod (C locale: ksink never calls setlocale). */
double ks__num_double(ks__num *n);

typedef struct ks__enumval {
  unsigned kind; /* one KS__T_* bit; INTEGER for integer-valued numbers */
  ks__num num;   /* text points into the schema's own copy */
  char *str;
  size_t len;
  int b;
} ks__enumval;

typedef struct ks__snode ks__snode;

typedef struct ks__prop {
  char *name;
  uint32_t len;
  uint32_t additional; /* only named by "required": governed by
                          additionalProperties, no column */
  int32_t col;         /* root properties: column index, else -1 */
  const ks__snode *node;
} ks__prop;

struct ks__snode {
  unsigned types; /* KS__T_* accepted */
  unsigned flags; /* KS__N_* */
  int format;     /* KS__FMT_*: asserted for strings */
  double min, max;
  int min_is_int, max_is_int; /* bound is integral and fits int64 */
  int64_t min_i, max_i;
  uint64_t min_len, max_len; /* code points */
  /* object */
  ks__prop *props;
  uint32_t nprops;
  uint32_t *hash; /* open addressing, prop index + 1, 0 = empty */
  uint32_t hmask;
  uint32_t *required; /* prop indices, in "required" order */
  uint32_t nrequired;
  const ks__snode *additional;
  /* array */
  const ks__snode *items;
  /* enum of scalars */
  ks__enumval *enums;
  size_t nenums;
  /* kinds the enum admits, for column mapping (ALL without enum) */
  unsigned enum_types;
  char *ptr; /* JSON pointer of this schema in its document */
};

/* How one column is filled. */
typedef struct ks__colinfo {
  int json; /* holds the value's JSON text (nested or mixed-type) */
  uint32_t prop;
} ks__colinfo;

struct ks_schema {
  char *name;
  const ks__snode *root;
  ks__snode any; /* `true`: the default for absent subschemas */
  ks__snode **nodes;
  size_t nnodes;
  ks_colspec *cols;
  ks__colinfo *colinfo;
  size_t ncols;
};

/* Property index for a key, or -1. */
int32_t ks__snode_find(const ks__snode *n, const char *key, size_t len);

/* ---- validator (validate.c) ---- */

#define KS__MAX_DEPTH 64

typedef struct ks__frame {
  const ks__snode *node;
  const ks__snode *child;    /* objects: schema of the current member */
  int32_t prop;              /* objects: current member's property, or -1 */
  uint32_t count;            /* members / elements so far */
  uint32_t seen;             /* offset of this object's bitmap in v->seen */
  uint32_t key_off, key_len; /* objects: current key in v->keys */
  uint8_t is_array;
} ks__frame;

/* Scalar values as seen by checks; format parses are kept for the
 * shredder so a timestamp is parsed once. */
typedef struct ks__str {
  const uint8_t *p;
  size_t len;
  size_t ncp;   /* code points (checked UTF-8) */
  int64_t ts;   /* KS__FMT_DATE_TIME */
  int32_t days; /* KS__FMT_DATE */
} ks__str;

typedef struct ks__validator {
  const ks_schema *schema;
  ks__frame stack[KS__MAX_DEPTH];
  size_t depth;
  ks_buf keys;    /* current key of every open object */
  uint64_t *seen; /* property bitmaps of open objects */
  size_t seen_len, seen_cap;
  ks_reject *rej;
} ks__validator;

void ks__v_init(ks__validator *v, const ks_schema *s);
void ks__v_free(ks__validator *v);
void ks__v_reset(ks__validator *v, ks_reject *rej);

/* Each returns 0, or fills v->rej and returns its code. The value
 * functions check the value against the schema at the current position
 * (root, the member after ks__v_key, or the next array element). */
int ks__v_key(ks__validator *v, const uint8_t *key, size_t len);
int ks__v_null(ks__validator *v);
int ks__v_bool(ks__validator *v, int b);
int ks__v_number(ks__validator *v, ks__num *n);
int ks__v_string(ks__validator *v, ks__str *s);
int ks__v_open(ks__validator *v, int is_array);
/* Checks "required" of the innermost object; does not pop. */
int ks__v_close_check(ks__validator *v);
void ks__v_pop(ks__validator *v);
/* Was property i of the innermost object present? */
int ks__v_seen(const ks__validator *v, uint32_t i);

/* Fills v->rej for the value at the current position (whole_path) or for
 * the innermost container itself. Returns code. */
int ks__v_fail(ks__validator *v, int code, const char *reason, int container,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Appends a quoted, JSON-escaped, length-capped rendering of s to a
 * message buffer. */
void ks__quote(char *out, size_t outlen, const uint8_t *s, size_t n);

#endif
