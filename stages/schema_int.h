/*
 * Internals shared by the schema compiler (schema.c, schema_ref.c), the
 * streaming validator (validate.c), the buffered evaluator (eval.c) and
 * decode.c (yajl callbacks + shredder). Not for other folders: they see
 * ks_schema and ks_decoder only.
 *
 * A schema compiles into a graph of ks__snode, one per (sub)schema. Every
 * edge is non-NULL: an absent subschema points at the schema's shared
 * "accept anything" node, so the validator never tests for NULL. A $ref
 * node carries the resolved target in `ref` (chains collapsed at load).
 *
 * Validation has two paths over one compiled graph:
 *  - streaming (validate.c): a frame per open container, each value
 *    checked as its event arrives. Nodes whose keywords look at a value
 *    only once (`stream` set) are checked this way with no buffering.
 *  - buffered (eval.c): a container whose schema needs more than one look
 *    (anyOf/oneOf/allOf/not/if, contains, uniqueItems, dependencies, enum or
 *    const holding containers, or a member matched by several schemas) is
 *    recorded as it streams into a flat token tape, reused from record to
 *    record, and checked when it closes. Scalars always go straight to the
 *    evaluator through a one-token tape on the stack.
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
  KS__T_ALL = (1 << 7) - 1,
  KS__TK_KEY = 1 << 7 /* tape only: an object member's name */
};

enum {
  KS__FMT_NONE,
  KS__FMT_DATE_TIME,
  KS__FMT_DATE,
  KS__FMT_TIME,
  KS__FMT_EMAIL,
  KS__FMT_IDN_EMAIL,
  KS__FMT_HOSTNAME,
  KS__FMT_IPV4,
  KS__FMT_IPV6,
  KS__FMT_URI,
  KS__FMT_URI_REFERENCE,
  KS__FMT_IRI,
  KS__FMT_IRI_REFERENCE,
  KS__FMT_UUID,
  KS__FMT_REGEX,
  KS__FMT_JSON_POINTER,
  KS__FMT_REL_JSON_POINTER,
  KS__FMT_URI_TEMPLATE,
  KS__FMT_OTHER /* not asserted (idn-hostname, unknown names) */
};

/* ks__snode.flags */
enum {
  KS__N_FALSE = 1 << 0, /* the schema `false`: nothing validates */
  KS__N_MIN = 1 << 1,
  KS__N_MAX = 1 << 2,
  KS__N_MINLEN = 1 << 3,
  KS__N_MAXLEN = 1 << 4,
  KS__N_ENUM = 1 << 5,
  KS__N_CONST = 1 << 6,
  KS__N_XMIN = 1 << 7,
  KS__N_XMAX = 1 << 8,
  KS__N_MULTIPLE = 1 << 9,
  KS__N_MINITEMS = 1 << 10,
  KS__N_MAXITEMS = 1 << 11,
  KS__N_UNIQUE = 1 << 12,
  KS__N_MINPROPS = 1 << 13,
  KS__N_MAXPROPS = 1 << 14,
  KS__N_ITEMS_ARRAY = 1 << 15, /* items is an array of schemas */
  KS__N_ENUM_CONTAINER = 1 << 16
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
/* -1, 0, 1: a compared with b, exactly when both fit int64. */
int ks__num_cmp(ks__num *a, ks__num *b);
/* Is a an integer multiple of b (b > 0)? Exact decimal arithmetic when the
 * significant digits allow, else a double fallback. */
int ks__num_multiple(ks__num *a, ks__num *b);

/* ---- token tape: a buffered JSON value ---- */

typedef struct ks__tok {
  uint32_t kind; /* one KS__T_* bit or KS__TK_KEY */
  uint32_t next; /* index of the token after this value */
  uint32_t off;  /* strings, keys, numbers: bytes offset */
  uint32_t len;  /* bytes; containers: member count; booleans: value */
  uint32_t ncp;  /* strings and keys: code points */
} ks__tok;

typedef struct ks__tape {
  const ks__tok *tok;
  const uint8_t *bytes;
} ks__tape;

/* A tape under construction: buffers kept across records. */
typedef struct ks__tapebuf {
  ks_buf toks, bytes;
  uint32_t open[80]; /* token index of each open container */
  size_t nopen;
} ks__tapebuf;

void ks__tapebuf_init(ks__tapebuf *b);
void ks__tapebuf_free(ks__tapebuf *b);
void ks__tapebuf_reset(ks__tapebuf *b);
int ks__tape_scalar(ks__tapebuf *b, uint32_t kind, const void *p, size_t len,
                    size_t ncp);
int ks__tape_open(ks__tapebuf *b, uint32_t kind);
int ks__tape_close(ks__tapebuf *b);
static inline ks__tape ks__tape_view(const ks__tapebuf *b) {
  /* never NULL bytes: offsets are added to it even for empty strings */
  return (ks__tape){(const ks__tok *)b->toks.data,
                    b->bytes.data ? b->bytes.data : (const uint8_t *)""};
}
/* Deep equality (numbers by value: 1 == 1.0). */
int ks__tape_equal(const ks__tape *a, uint32_t ia, const ks__tape *b,
                   uint32_t ib);

/* ---- compiled schema ---- */

typedef struct ks__snode ks__snode;
typedef struct ks__regex ks__regex;

typedef struct ks__prop {
  char *name;
  uint32_t len;
  uint32_t additional; /* only named by "required"/"dependencies": governed
                          by patternProperties/additionalProperties, no
                          column */
  const ks__snode *node;
} ks__prop;

typedef struct ks__pprop {
  ks__regex *re;
  const ks__snode *node;
} ks__pprop;

typedef struct ks__dep {
  uint32_t prop;         /* index into props (trigger) */
  const ks__snode *node; /* schema form, or NULL */
  uint32_t *names;       /* array form: prop indices */
  uint32_t nnames;
} ks__dep;

struct ks__snode {
  unsigned types; /* KS__T_* accepted */
  unsigned flags; /* KS__N_* */
  int format;     /* KS__FMT_*: asserted for strings when enabled */
  int stream;     /* checkable in one look (see the top of this file) */
  unsigned simple; /* scalar kinds only "type" applies to: a value of one
                      of them is checked by its kind alone */
  const ks__snode *ref;
  char *fmt_name;
  ks__num min, max, multiple; /* text owned by the node */
  uint64_t min_len, max_len;  /* code points */
  uint64_t min_items, max_items, min_props, max_props;
  ks__regex *pattern;
  /* object */
  ks__prop *props;
  uint32_t nprops;
  uint32_t *hash; /* open addressing, prop index + 1, 0 = empty */
  uint32_t hmask;
  uint32_t *required; /* prop indices, in "required" order */
  uint32_t nrequired;
  const ks__snode *additional;
  ks__pprop *pprops;
  uint32_t npprops;
  ks__dep *deps;
  uint32_t ndeps;
  const ks__snode *names; /* propertyNames */
  /* array */
  const ks__snode *items;      /* schema form */
  const ks__snode **items_arr; /* array form */
  uint32_t nitems_arr;
  const ks__snode *add_items;
  const ks__snode *contains;
  /* enum / const: values on a schema-owned tape */
  ks__tapebuf enum_tape;
  uint32_t *enums; /* token index of each value */
  size_t nenums;
  uint32_t const_tok; /* token index of the const value */
  /* kinds the enum admits, for column mapping (ALL without enum) */
  unsigned enum_types;
  /* applicators */
  const ks__snode **all_of, **any_of, **one_of;
  uint32_t nall_of, nany_of, none_of;
  const ks__snode *not_, *if_, *then_, *else_;
  char *ptr; /* JSON pointer of this schema in its document */
};

struct ks__shnode;
struct ks_pq_schema;

struct ks_schema {
  char *name;
  const ks__snode *root;
  ks__snode any; /* `true`: the default for absent subschemas */
  ks__snode **nodes;
  size_t nnodes;
  ks__regex **regexes;
  size_t nregexes;
  /* table mapping (schema_map.c, shred.h): the shred tree, the data
   * columns' Parquet tree, and one spec per leaf (dotted path names) */
  struct ks__shnode *shroot;
  struct ks__shnode **shnodes;
  size_t nshnodes, shcap;
  struct ks_pq_schema *pq;
  ks_colspec *cols;
  size_t ncols;
  int format_assertion;
  int allow_no_columns;
  uint32_t max_set; /* most schemas one object member can be matched by */
};

static inline const ks__snode *ks__deref(const ks__snode *n) {
  return n->ref ? n->ref : n;
}

/* Property index for a key, or -1. */
int32_t ks__snode_find(const ks__snode *n, const char *key, size_t len);

/* ---- regular expressions (regex.c): ECMA-262 on PCRE2 ---- */

/* NULL and a message in err when the pattern does not compile. */
ks__regex *ks__regex_new(const char *pat, size_t len, char *err, size_t errlen);
void ks__regex_free(ks__regex *re);
/* Per-thread match state (validators each own one). */
typedef struct ks__rematch ks__rematch;
ks__rematch *ks__rematch_new(void);
void ks__rematch_free(ks__rematch *m);
/* 1 match, 0 no match (a match-limit overrun counts as no match: -1). */
int ks__regex_search(const ks__regex *re, ks__rematch *m, const uint8_t *s,
                     size_t n);
const char *ks__regex_source(const ks__regex *re);

/* ---- formats (format.c) ---- */

int ks__format_id(const char *name);
/* 1 if s is valid for the format (KS__FMT_OTHER: always 1). */
int ks__format_check(int fmt, const uint8_t *s, size_t n);

/* ---- validator (validate.c) ---- */

#define KS__MAX_DEPTH 64

typedef struct ks__frame {
  const ks__snode *node;     /* NULL inside a buffered value */
  const ks__snode *pnode;    /* objects: where names are looked up for
                                prop and the seen bitmap, or NULL */
  int32_t prop;              /* objects: current member's property, or -1 */
  uint32_t count;            /* members / elements so far */
  uint32_t seen;             /* offset of this object's bitmap in v->seen */
  uint32_t key_off, key_len; /* objects: current key in v->keys */
  uint8_t is_array;
} ks__frame;

/* Scalar values as seen by checks. */
typedef struct ks__str {
  const uint8_t *p;
  size_t len;
  size_t ncp; /* code points (checked UTF-8) */
} ks__str;

typedef struct ks__validator {
  const ks_schema *schema;
  ks__frame stack[KS__MAX_DEPTH];
  size_t depth;
  ks_buf keys;    /* current key of every open object */
  uint64_t *seen; /* property bitmaps of open objects */
  size_t seen_len, seen_cap;
  ks_reject *rej;
  /* schemas of the next value when more than one applies */
  const ks__snode **set;
  uint32_t nset;
  /* buffering: the value opened at depth cap_depth is being recorded */
  size_t cap_depth;
  const ks__snode **cap_set;
  uint32_t ncap_set;
  ks__tapebuf tape;
  ks__rematch *rm;
  uint64_t budget; /* evaluator steps left for this record */
} ks__validator;

void ks__v_init(ks__validator *v, const ks_schema *s);
void ks__v_free(ks__validator *v);
void ks__v_reset(ks__validator *v, ks_reject *rej);

/* Each returns 0, or fills v->rej and returns its code. The value
 * functions check the value against the schema at the current position
 * (root, the member after ks__v_key, or the next array element). */
int ks__v_key(ks__validator *v, const uint8_t *key, size_t len, size_t ncp);
int ks__v_null(ks__validator *v);
int ks__v_bool(ks__validator *v, int b);
int ks__v_number(ks__validator *v, ks__num *n);
int ks__v_string(ks__validator *v, ks__str *s);
int ks__v_open(ks__validator *v, int is_array);
/* Checks the innermost container as a whole; does not pop. */
int ks__v_close_check(ks__validator *v);
void ks__v_pop(ks__validator *v);
/* Was property i of the innermost object present? */
int ks__v_seen(const ks__validator *v, uint32_t i);

/* Fills v->rej for the value at the current position or for the innermost
 * container itself (container). Returns code. */
int ks__v_fail(ks__validator *v, int code, const char *reason, int container,
               const char *keyword, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Lower level: path = the first nseg frames + suffix (already a JSON
 * pointer, may be ""). */
int ks__v_reject(ks__validator *v, int code, const char *reason, size_t nseg,
                 const char *suffix, const char *keyword, const char *text);
/* Appends a quoted, JSON-escaped, length-capped rendering of s to a
 * message buffer. */
void ks__quote(char *out, size_t outlen, const uint8_t *s, size_t n);
const char *ks__kind_name(unsigned kind);
void ks__type_list(unsigned types, char *out, size_t outlen);

/* ---- buffered evaluator (eval.c) ---- */

/* Checks tape value i against n. Failures are reported through v with the
 * path = first nseg frames + the path inside the value. Returns 0 or
 * KS_EINVALID. num0: token 0 already parsed (streamed numbers), or NULL. */
int ks__eval(ks__validator *v, size_t nseg, const ks__snode *n,
             const ks__tape *t, uint32_t i, ks__num *num0);

#endif
