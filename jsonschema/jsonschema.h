/*
 * JSON Schema draft-07: a schema is compiled once (ks_js_compile), then
 * every record is checked in one streaming pass, event by event, with no
 * DOM and no allocation per record. The engine knows JSON and JSON Schema
 * only; tables, columns and reject reasons belong to its callers.
 *
 * Callers:
 *  - stages/record/decode.c drives the validator from yajl's callbacks
 *    (ks_js_key ... ks_js_pop below) next to its column shredder, and
 *    reports failures through ks_js_fail so they carry the value's path;
 *  - stages/record/columns.c reads the compiled graph (the node view
 *    below) to map a schema to Parquet columns;
 *  - stages/record/shred.c converts date-time and date strings with the
 *    engine's one RFC 3339 parser (ks_datetime_parse, ks_date_parse).
 */
#ifndef KS_JSONSCHEMA_JSONSCHEMA_H
#define KS_JSONSCHEMA_JSONSCHEMA_H

#include "base/buf.h"
#include "base/ks.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- keywords ---- */

/* The keyword a failed check names (ks_js_error.keyword): every draft-07
 * assertion, "$ref" (a reference that recursed without consuming input),
 * "false" (a false schema), "maxDepth" (nesting past the validator's
 * limit), and "other" for counters of failures that name no keyword. */
#define KS_KEYWORD_MAP(XX)                                                     \
  XX(TYPE, "type")                                                             \
  XX(ENUM, "enum")                                                             \
  XX(CONST, "const")                                                           \
  XX(MULTIPLE_OF, "multipleOf")                                                \
  XX(MAXIMUM, "maximum")                                                       \
  XX(EXCLUSIVE_MAXIMUM, "exclusiveMaximum")                                    \
  XX(MINIMUM, "minimum")                                                       \
  XX(EXCLUSIVE_MINIMUM, "exclusiveMinimum")                                    \
  XX(MAX_LENGTH, "maxLength")                                                  \
  XX(MIN_LENGTH, "minLength")                                                  \
  XX(PATTERN, "pattern")                                                       \
  XX(ITEMS, "items")                                                           \
  XX(ADDITIONAL_ITEMS, "additionalItems")                                      \
  XX(MAX_ITEMS, "maxItems")                                                    \
  XX(MIN_ITEMS, "minItems")                                                    \
  XX(UNIQUE_ITEMS, "uniqueItems")                                              \
  XX(CONTAINS, "contains")                                                     \
  XX(MAX_PROPERTIES, "maxProperties")                                          \
  XX(MIN_PROPERTIES, "minProperties")                                          \
  XX(REQUIRED, "required")                                                     \
  XX(PROPERTIES, "properties")                                                 \
  XX(PATTERN_PROPERTIES, "patternProperties")                                  \
  XX(ADDITIONAL_PROPERTIES, "additionalProperties")                            \
  XX(DEPENDENCIES, "dependencies")                                             \
  XX(PROPERTY_NAMES, "propertyNames")                                          \
  XX(IF, "if")                                                                 \
  XX(THEN, "then")                                                             \
  XX(ELSE, "else")                                                             \
  XX(ALL_OF, "allOf")                                                          \
  XX(ANY_OF, "anyOf")                                                          \
  XX(ONE_OF, "oneOf")                                                          \
  XX(NOT, "not")                                                               \
  XX(FORMAT, "format")                                                         \
  XX(REF, "$ref")                                                              \
  XX(FALSE, "false")                                                           \
  XX(MAX_DEPTH, "maxDepth")                                                    \
  XX(BUDGET, "budget")                                                         \
  XX(OTHER, "other")
#define KS_KEYWORD_ENUM_(n, s) KS_KEYWORD_##n,
/* KS_KEYWORD_NONE: the failure names no keyword (a parse error, a value
 * its column cannot store); counted as KS_KEYWORD_OTHER. */
typedef enum ks_keyword {
  KS_KEYWORD_NONE = -1,
  KS_KEYWORD_MAP(KS_KEYWORD_ENUM_) KS_KEYWORD_COUNT
} ks_keyword;
#undef KS_KEYWORD_ENUM_
/* The keyword as written in a schema ("multipleOf"); "other" for NONE. */
const char *ks_keyword_name(int keyword);

/* ---- compiling ---- */

typedef struct ks_js_schema ks_js_schema; /* a compiled schema */
typedef struct ks_js_node ks_js_node;     /* one compiled (sub)schema */

typedef struct ks_js_opts {
  int format_assertion;    /* "format" asserts */
  const char *remote_dir;  /* $ref to a URI under remote_base reads the */
  const char *remote_base; /* file at the same path under remote_dir */
} ks_js_opts;

/* Compiles a schema document; name prefixes messages ("<name>: <schema
 * path>: reason" in err, KS_ESCHEMA). Every keyword whose value breaks the
 * meta-schema fails the compile. */
int ks_js_compile(const char *json, size_t len, const char *name,
                  const ks_js_opts *o, ks_js_schema **out, char *err,
                  size_t errlen);
/* Reads the file (at most 16 MiB) and compiles it under its path. */
int ks_js_compile_file(const char *path, const ks_js_opts *o,
                       ks_js_schema **out, char *err, size_t errlen);
void ks_js_free(ks_js_schema *s);
const char *ks_js_name(const ks_js_schema *s);

/* ---- the compiled graph, read-only (column mapping) ---- */

/* JSON value kinds as a bit set (the "type" keyword). An integer-valued
 * number has kind INTEGER and is accepted by INTEGER or NUMBER. */
enum {
  KS_JS_T_NULL = 1 << 0,
  KS_JS_T_BOOLEAN = 1 << 1,
  KS_JS_T_INTEGER = 1 << 2,
  KS_JS_T_NUMBER = 1 << 3,
  KS_JS_T_STRING = 1 << 4,
  KS_JS_T_OBJECT = 1 << 5,
  KS_JS_T_ARRAY = 1 << 6,
  KS_JS_T_ALL = (1 << 7) - 1,
  KS_JS_TK_KEY = 1 << 7 /* the engine's tapes only: an object member's name */
};

/* The "format" names the engine asserts (ks_js_node_format). */
enum {
  KS_JS_FMT_NONE,
  KS_JS_FMT_DATE_TIME,
  KS_JS_FMT_DATE,
  KS_JS_FMT_TIME,
  KS_JS_FMT_EMAIL,
  KS_JS_FMT_IDN_EMAIL,
  KS_JS_FMT_HOSTNAME,
  KS_JS_FMT_IPV4,
  KS_JS_FMT_IPV6,
  KS_JS_FMT_URI,
  KS_JS_FMT_URI_REFERENCE,
  KS_JS_FMT_IRI,
  KS_JS_FMT_IRI_REFERENCE,
  KS_JS_FMT_UUID,
  KS_JS_FMT_REGEX,
  KS_JS_FMT_JSON_POINTER,
  KS_JS_FMT_REL_JSON_POINTER,
  KS_JS_FMT_URI_TEMPLATE,
  KS_JS_FMT_OTHER /* not asserted (idn-hostname, unknown names) */
};

/* Which keywords a node has (ks_js_node_flags). */
enum {
  KS_JS_N_FALSE = 1 << 0, /* the schema `false`: nothing validates */
  KS_JS_N_MIN = 1 << 1,
  KS_JS_N_MAX = 1 << 2,
  KS_JS_N_MINLEN = 1 << 3,
  KS_JS_N_MAXLEN = 1 << 4,
  KS_JS_N_ENUM = 1 << 5,
  KS_JS_N_CONST = 1 << 6,
  KS_JS_N_XMIN = 1 << 7,
  KS_JS_N_XMAX = 1 << 8,
  KS_JS_N_MULTIPLE = 1 << 9,
  KS_JS_N_MINITEMS = 1 << 10,
  KS_JS_N_MAXITEMS = 1 << 11,
  KS_JS_N_UNIQUE = 1 << 12,
  KS_JS_N_MINPROPS = 1 << 13,
  KS_JS_N_MAXPROPS = 1 << 14,
  KS_JS_N_ITEMS_ARRAY = 1 << 15, /* items is an array of schemas */
  KS_JS_N_ENUM_CONTAINER = 1 << 16
};

/* A JSON number as the validator needs it: its text (as written, for JSON
 * text columns), whether it is integer-valued, its exact int64 value when
 * it fits, and a double computed only on demand. */
typedef struct ks_js_num {
  const char *text;
  size_t len;
  int is_int; /* mathematically an integer (1, -0, 1.0, 1e2) */
  int fits;   /* is_int and within int64 */
  int64_t i;  /* when fits */
  int have_d;
  double d;
} ks_js_num;

/* Classifies a JSON number text (already grammar-checked by yajl). */
void ks_js_num_parse(ks_js_num *n, const char *text, size_t len);
/* n->d via strtod (C locale: ksink never calls setlocale). */
double ks_js_num_double(ks_js_num *n);

/* A property named by "properties" (or only by "required" or
 * "dependencies": then `additional`, governed by patternProperties and
 * additionalProperties). */
typedef struct ks_js_prop {
  char *name;
  uint32_t len;
  uint32_t additional;
  const ks_js_node *node;
} ks_js_prop;

/* The view a column mapper reads; called at load, not per record. A
 * node's $ref is followed by ks_js_node_deref; absent subschemas are the
 * schema's `true` node (ks_js_any), never NULL. */
const ks_js_node *ks_js_root(const ks_js_schema *s);
const ks_js_node *ks_js_any(const ks_js_schema *s);
const ks_js_node *ks_js_node_deref(const ks_js_node *n);
/* Kinds the node's "type" admits; kinds "type" and "enum"/"const" both
 * admit. */
unsigned ks_js_node_types(const ks_js_node *n);
unsigned ks_js_node_kinds(const ks_js_node *n);
unsigned ks_js_node_flags(const ks_js_node *n);
int ks_js_node_format(const ks_js_node *n);
/* minimum / exclusiveMinimum, maximum / exclusiveMaximum, multipleOf
 * (meaningful when the matching KS_JS_N_* flag is set). */
const ks_js_num *ks_js_node_min(const ks_js_node *n);
const ks_js_num *ks_js_node_max(const ks_js_node *n);
const ks_js_num *ks_js_node_multiple(const ks_js_node *n);
/* Properties in declaration order; the index is the one
 * ks_js_node_find returns and ks_js_frame.prop holds. */
uint32_t ks_js_node_nprops(const ks_js_node *n);
const ks_js_prop *ks_js_node_prop(const ks_js_node *n, uint32_t i);
int ks_js_node_required(const ks_js_node *n, uint32_t prop);
uint32_t ks_js_node_npattern_props(const ks_js_node *n);
const ks_js_node *ks_js_node_additional(const ks_js_node *n);
const ks_js_node *ks_js_node_items(const ks_js_node *n);
/* Property index for a member name, or -1. */
int32_t ks_js_node_find(const ks_js_node *n, const char *key, size_t len);

/* ---- validating one record, event by event ---- */

#define KS_JS_MAX_DEPTH 64

/* The first failure of a record. */
typedef struct ks_js_error {
  int code;           /* KS_EINVALID, or KS_ETOOBIG past a limit (depth,
                         key or buffered value size); callers may report
                         their own failures with other codes */
  ks_keyword keyword; /* the failing keyword, or KS_KEYWORD_NONE */
  int is_null;        /* a null refused by "type": callers may count it
                         apart from other failures (null_value) */
  char path[256];     /* JSON pointer of the failing value ("" = root) */
  char message[512];  /* "/user_id: expected integer, got string" */
} ks_js_error;

/* One open object or array. Callers read `prop` (objects: the current
 * member's property index in `pnode`, or -1) through ks_js_top. */
#define KS_JS_HINTS 256 /* member hints per validator */

typedef struct ks_js_frame {
  const ks_js_node *node;    /* NULL inside a buffered value */
  const ks_js_node *pnode;   /* objects: where names are looked up for
                                prop and the seen bitmap, or NULL */
  int32_t prop;              /* objects: current member's property, or -1 */
  uint32_t count;            /* members / elements so far */
  uint32_t seen;             /* offset of this object's bitmap in v->seen */
  uint32_t key_off, key_len; /* objects: current key in v->keys */
  const uint8_t *key_at;     /* or in the record's text (ks_js_set_text) */
  uint8_t is_array;
} ks_js_frame;

/* A string value: bytes and code points (its UTF-8 already checked). */
typedef struct ks_js_str {
  const uint8_t *p;
  size_t len;
  size_t ncp;
} ks_js_str;

struct ks__tapebuf;
struct ks__rematch;

/* Embedded by its caller (no indirection per event); the fields are the
 * engine's, but for the frames read through ks_js_top. */
typedef struct ks_js_validator {
  const ks_js_schema *schema;
  ks_js_frame stack[KS_JS_MAX_DEPTH];
  size_t depth;
  ks_buf keys;    /* current key of every open object */
  const uint8_t *text; /* the record's text (ks_js_set_text), or NULL */
  size_t text_len;
  uint64_t *seen; /* property bitmaps of open objects */
  size_t seen_len, seen_cap;
  ks_js_error *err;
  /* schemas of the next value when more than one applies */
  const ks_js_node **set;
  uint32_t nset;
  /* buffering: the value opened at depth cap_depth is being recorded */
  size_t cap_depth;
  const ks_js_node **cap_set;
  uint32_t ncap_set;
  struct ks__tapebuf *tape;
  struct ks__rematch *rm;
  uint64_t budget; /* evaluator steps left for this record (uniqueItems
                     and pattern matches are charged here too) */
  uint64_t deadline_ms; /* coarse monotonic ms past which the record is
                           over its CPU budget */
  /* the date-time a format check of the current string event parsed (its
   * text and value), for a caller converting the same text */
  const uint8_t *dt_text;
  size_t dt_len;
  int64_t dt_us;
  /* the property each (object schema, place) pair had last time, the
   * place being the property before it: records of one topic nearly
   * always share key order, so a name is first compared with the one that
   * followed the same property before (see ks_js_find_member) */
  struct ks_js_hint {
    const ks_js_node *node;
    uint32_t pos;
    int32_t prop;
  } hints[KS_JS_HINTS];
} ks_js_validator;

void ks_js_validator_init(ks_js_validator *v, const ks_js_schema *s);
void ks_js_validator_free(ks_js_validator *v);
/* Before each record; failures go to err (NULL: verdicts only). */
void ks_js_validator_reset(ks_js_validator *v, ks_js_error *err);

/* The record's text, after ks_js_validator_reset: keys inside it are
 * referred to where they are (for the paths of failures) instead of being
 * copied; text must stay unchanged until the next reset. */
static inline void ks_js_set_text(ks_js_validator *v, const uint8_t *text,
                                  size_t len) {
  v->text = text;
  v->text_len = len;
}

/* Each returns 0, or fills v->err and returns its code. The value
 * functions check the value against the schema at the current position
 * (root, the member after ks_js_key, or the next array element). */
int ks_js_key(ks_js_validator *v, const uint8_t *key, size_t len, size_t ncp);
int ks_js_null(ks_js_validator *v);
int ks_js_bool(ks_js_validator *v, int b);
int ks_js_number(ks_js_validator *v, ks_js_num *n);
int ks_js_string(ks_js_validator *v, ks_js_str *s);
int ks_js_open(ks_js_validator *v, int is_array);
/* ks_js_fail for the value that starts now, before any event of it
 * reached the validator (its text is not valid UTF-8): an array element
 * is named by its own index. */
int ks_js_fail_value(ks_js_validator *v, int code, ks_keyword keyword,
                     const char *msg);
/* Nonzero when the container just opened (ks_js_open) is opaque: no
 * keyword looks at its members or items, to any depth, so the caller may
 * send no events for them and go on with ks_js_close_check at its end.
 * Only the nesting limit (KS_JS_MAX_DEPTH) is then the caller's to keep. */
int ks_js_opaque(const ks_js_validator *v);
/* Checks the innermost container as a whole; does not pop. */
int ks_js_close_check(ks_js_validator *v);
void ks_js_pop(ks_js_validator *v);
/* 1 and *us when the checks of the current string event (the last
 * ks_js_string) parsed s[0, n) as a date-time already, else 0: the
 * shredder converts a timestamp column's value without parsing it again. */
static inline int ks_js_datetime_parsed(const ks_js_validator *v,
                                        const uint8_t *s, size_t n,
                                        int64_t *us) {
  if (v->dt_text != s || v->dt_len != n || s == NULL)
    return 0;
  *us = v->dt_us;
  return 1;
}
/* ks_js_node_find for a member of object n at place pos: the property
 * found at that place last time is tried first, then n's hash. The
 * validator's place is the property before the member + 1 (0: first or
 * after an undeclared one), so records of different shapes that share
 * runs of properties share hints; the shredder's is the member's
 * position. Key order may change from one record to the next: a hint is
 * only taken when its name matches. */
int32_t ks_js_find_member(ks_js_validator *v, const ks_js_node *n, uint32_t pos,
                          const char *key, size_t len);
/* Was property i of the innermost object present? */
int ks_js_seen(const ks_js_validator *v, uint32_t i);

/* The innermost open container (depth > 0). */
static inline const ks_js_frame *ks_js_top(const ks_js_validator *v) {
  return &v->stack[v->depth - 1];
}

/* Fills v->err for a failure of the caller's own at the current position:
 * the value being checked, or the innermost container itself (container).
 * Returns code. */
int ks_js_fail(ks_js_validator *v, int code, int container, ks_keyword keyword,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A quoted, JSON-escaped rendering of s, cut at 64 bytes, for messages. */
void ks_js_quote(char *out, size_t outlen, const uint8_t *s, size_t n);

/* ---- UTF-8 (RFC 3629) ---- */

/* yajl's lexer only checks the lead/continuation byte pattern, so overlong
 * forms, encoded surrogates and code points past U+10FFFF get through it;
 * decoders run every string and key through this check as well. 0 if
 * s[0..n) is well-formed UTF-8 (then *ncp = code points, if ncp is not
 * NULL), -1 otherwise. */
int ks_utf8_check(const uint8_t *s, size_t n, size_t *ncp);
/* Nonzero when s[0, n) has a byte past 0x7F. Overlapping loads cover the
 * ragged ends without a byte loop: record keys and most values are short,
 * ASCII and called for one at a time. */
static inline int ks__utf8_any_high(const uint8_t *s, size_t n) {
  if (n >= 8) {
    uint64_t acc, w;
    memcpy(&acc, s + n - 8, 8);
    for (size_t i = 0; i + 8 < n; i += 8) {
      memcpy(&w, s + i, 8);
      acc |= w;
    }
    return (acc & 0x8080808080808080ULL) != 0;
  }
  if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, s, 4);
    memcpy(&b, s + n - 4, 4);
    return ((a | b) & 0x80808080u) != 0;
  }
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++)
    acc |= s[i];
  return acc >= 0x80;
}
/* The same as ks_utf8_check, with a short all-ASCII text (most keys and
 * values of a record) settled inline. */
static inline int ks_utf8_check_short(const uint8_t *s, size_t n,
                                      size_t *ncp) {
  if (n > 16 || ks__utf8_any_high(s, n))
    return ks_utf8_check(s, n, ncp);
  *ncp = n;
  return 0;
}
/* Length of the longest prefix of s[0..n) of at most max bytes that does
 * not split a multi-byte sequence (for truncating text in messages). */
size_t ks_utf8_prefix(const uint8_t *s, size_t n, size_t max);

/* ---- RFC 3339 (the "date-time", "date" and "time" formats) ---- */

/* The one parser behind the format assertion and the column values.
 * "1985-04-12T23:20:50.52Z", "1996-12-19T16:39:57-08:00": 0 and *us
 * (microseconds since the epoch, UTC), or -1. 'T' and 'Z' may be lower
 * case; digits past microseconds are truncated; a leap second (:60) is
 * accepted only at 23:59:60 UTC and counts as the next second. */
int ks_datetime_parse(const char *s, size_t n, int64_t *us);
/* full-date "1985-04-12": 0 and *days since the epoch, or -1. */
int ks_date_parse(const char *s, size_t n, int32_t *days);
/* full-time "23:20:50.52Z": 0 or -1. */
int ks_time_parse(const char *s, size_t n);

#endif
