/*
 * Internals of the engine, shared by the compiler (compile.c, refs.c), the
 * streaming validator (validate.c), the buffered evaluator (eval.c) and
 * their helpers. Not for other folders: they see jsonschema.h only.
 *
 * A schema compiles into a graph of ks_js_node, one per (sub)schema. Every
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
#ifndef KS_JSONSCHEMA_INTERNAL_H
#define KS_JSONSCHEMA_INTERNAL_H

#include "base/buf.h"
#include "jsonschema/jsonschema.h"

#include <stdint.h>
#include <string.h>

/* -1, 0, 1: a compared with b, exactly when both fit int64. */
int ks__num_cmp(ks_js_num *a, ks_js_num *b);
/* Is a an integer multiple of b (b > 0)? Exact decimal arithmetic when the
 * significant digits allow, else a double fallback. */
int ks__num_multiple(ks_js_num *a, ks_js_num *b);

/* ---- token tape: a buffered JSON value ---- */

typedef struct ks__tok {
  uint32_t kind; /* one KS_JS_T_* bit or KS_JS_TK_KEY */
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
/* A hash consistent with ks__tape_equal (equal values, equal hashes;
 * object members in any order); *cost grows by the tokens visited. */
uint64_t ks__tape_hash(const ks__tape *t, uint32_t i, uint64_t *cost);
/* Deep equality (numbers by value: 1 == 1.0). */
int ks__tape_equal(const ks__tape *a, uint32_t ia, const ks__tape *b,
                   uint32_t ib);

/* ---- compiled schema ---- */

typedef struct ks_js_node ks_js_node;
typedef struct ks__regex ks__regex;

typedef struct ks__pprop {
  ks__regex *re;
  const ks_js_node *node;
} ks__pprop;

typedef struct ks__dep {
  uint32_t prop;         /* index into props (trigger) */
  const ks_js_node *node; /* schema form, or NULL */
  uint32_t *names;       /* array form: prop indices */
  uint32_t nnames;
} ks__dep;

struct ks_js_node {
  unsigned types; /* KS_JS_T_* accepted */
  unsigned flags; /* KS_JS_N_* */
  int format;     /* KS_JS_FMT_*: asserted for strings when enabled */
  int stream;     /* checkable in one look (see the top of this file) */
  unsigned simple; /* scalar kinds only "type" applies to: a value of one
                      of them is checked by its kind alone */
  uint32_t index;  /* in the schema's nodes */
  int opaque;      /* a container whose members or items no keyword looks
                      at, to any depth: its contents need no checks */
  const ks_js_node *ref;
  char *fmt_name;
  ks_js_num min, max, multiple; /* text owned by the node */
  uint64_t min_len, max_len;  /* code points */
  uint64_t min_items, max_items, min_props, max_props;
  ks__regex *pattern;
  /* object */
  ks_js_prop *props;
  uint32_t nprops;
  uint32_t *hash; /* open addressing, prop index + 1, 0 = empty */
  uint32_t hmask;
  uint32_t *required; /* prop indices, in "required" order */
  uint32_t nrequired;
  const ks_js_node *additional;
  ks__pprop *pprops;
  uint32_t npprops;
  ks__dep *deps;
  uint32_t ndeps;
  const ks_js_node *names; /* propertyNames */
  /* array */
  const ks_js_node *items;      /* schema form */
  const ks_js_node **items_arr; /* array form */
  uint32_t nitems_arr;
  const ks_js_node *add_items;
  const ks_js_node *contains;
  /* enum / const: values on a schema-owned tape */
  ks__tapebuf enum_tape;
  uint32_t *enums; /* token index of each value */
  size_t nenums;
  uint32_t const_tok; /* token index of the const value */
  /* kinds the enum admits, for column mapping (ALL without enum) */
  unsigned enum_types;
  /* applicators */
  const ks_js_node **all_of, **any_of, **one_of;
  uint32_t nall_of, nany_of, none_of;
  const ks_js_node *not_, *if_, *then_, *else_;
  char *ptr; /* JSON pointer of this schema in its document */
};

struct ks_js_schema {
  char *name;
  const ks_js_node *root;
  ks_js_node any; /* `true`: the default for absent subschemas */
  ks_js_node **nodes;
  size_t nnodes;
  ks__regex **regexes;
  size_t nregexes;
  int format_assertion;
  uint32_t max_set; /* most schemas one object member can be matched by */
};

/* Equality of a property name and a key of the same length n, without a
 * call for the short names records are made of: overlapping loads cover
 * both ends and read nothing past either. */
static inline int ks__key_eq(const char *a, const char *b, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8), memcpy(&b0, b, 8);
    memcpy(&a1, a + n - 8, 8), memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t a0, a1, b0, b1;
    memcpy(&a0, a, 4), memcpy(&b0, b, 4);
    memcpy(&a1, a + n - 4, 4), memcpy(&b1, b + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n < 4) {
    for (size_t i = 0; i < n; i++)
      if (a[i] != b[i])
        return 0;
    return 1;
  }
  return memcmp(a, b, n) == 0;
}

/* Sets every node's opaque flag (opaque.c): once, after $ref chains are
 * resolved and "stream" and "simple" are known. */
void ks__mark_opaque(ks_js_schema *s);

static inline const ks_js_node *ks__deref(const ks_js_node *n) {
  return n->ref ? n->ref : n;
}

/* ---- regular expressions (regex.c): ECMA-262 on PCRE2 ---- */

/* NULL and a message in err when the pattern does not compile. */
ks__regex *ks__regex_new(const char *pat, size_t len, char *err, size_t errlen);
void ks__regex_free(ks__regex *re);
/* Per-thread match state (validators each own one). */
typedef struct ks__rematch ks__rematch;
ks__rematch *ks__rematch_new(void);
void ks__rematch_free(ks__rematch *m);
/* 1 match, 0 no match, KS__RE_BUDGET when the match ran past its
 * backtracking limit or the record's budget (*budget: steps left, charged
 * for the match; the record is then rejected with keyword "budget"). */
#define KS__RE_BUDGET (-2)
int ks__regex_search(const ks__regex *re, ks__rematch *m, const uint8_t *s,
                     size_t n, uint64_t *budget);
/* A compiled "format": "regex" value, cached by text (bounded; per
 * validator thread). 1 valid, 0 not. */
int ks__regex_valid_cached(ks__rematch *m, const uint8_t *s, size_t n);
/* The record's CPU budget: a coarse clock (cheap enough to read per
 * pattern match) against the validator's deadline. */
uint64_t ks__coarse_ms(void);
int ks__over_deadline(const ks_js_validator *v);
const char *ks__regex_source(const ks__regex *re);

/* ---- formats (formats.c) ---- */

int ks__format_id(const char *name);
/* 1 if s is valid for the format (KS_JS_FMT_OTHER: always 1). */
int ks__format_check(int fmt, const uint8_t *s, size_t n, ks__rematch *m);

/* ---- diagnostics (diag.c): the text of a failure ---- */

/* Fills v->err: path = the first nseg frames + suffix (already a JSON
 * pointer, may be ""). Returns code. */
int ks__v_reject(ks_js_validator *v, int code, size_t nseg, const char *suffix,
                 ks_keyword keyword, const char *text);
/* "integer" for one KS_JS_T_* bit. */
const char *ks__kind_name(unsigned kind);
/* "integer or null" for the expected side of a type mismatch. */
void ks__type_list(unsigned types, char *out, size_t outlen);

/* ---- buffered evaluator (eval.c) ---- */

/* Checks tape value i against n. Failures are reported through v with the
 * path = first nseg frames + the path inside the value. Returns 0 or
 * KS_EINVALID. num0: token 0 already parsed (streamed numbers), or NULL. */
int ks__eval(ks_js_validator *v, size_t nseg, const ks_js_node *n,
             const ks__tape *t, uint32_t i, ks_js_num *num0);

#endif
