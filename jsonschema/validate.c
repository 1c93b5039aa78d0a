/*
 * The streaming validator: a stack of frames, one per open object or
 * array, each pointing at the compiled schema node of its container. Every
 * yajl event is one call here; the schemas of the next value come from the
 * top frame (items of an array, the member's schemas after a key). A
 * scalar is checked at once by the evaluator (eval.c) on a one-token tape
 * on the stack. A container whose schema streams (internal.h) gets a
 * frame and its own checks at open, key and close; any other container is
 * recorded on the validator's tape while it streams and evaluated when it
 * closes. Only the first failure is reported: the caller stops the parse.
 */
#include "jsonschema/internal.h"
#include "jsonschema/jsonschema.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- positions ---- */

static int recording(const ks_js_validator *v) {
  return v->cap_depth != 0;
}

/* The schemas of the value that starts now, into v->set (object members
 * had theirs set by ks_js_key). */
static void position(ks_js_validator *v) {
  if (v->depth == 0) {
    v->set[0] = v->schema->root;
    v->nset = 1;
    return;
  }
  ks_js_frame *f = &v->stack[v->depth - 1];
  if (!f->is_array)
    return;
  uint32_t idx = f->count++;
  const ks_js_node *n = f->node;
  if (n == NULL)
    return;
  v->set[0] = !(n->flags & KS_JS_N_ITEMS_ARRAY) ? n->items
              : idx < n->nitems_arr           ? n->items_arr[idx]
                                              : n->add_items;
  v->nset = 1;
}

static int too_big(ks_js_validator *v) {
  return ks_js_fail(v, KS_ETOOBIG, 0, KS_KEYWORD_MAX_LENGTH,
                    "value too large to buffer for validation");
}

static int scalar(ks_js_validator *v, uint32_t kind, const void *p, size_t len,
                  size_t ncp, ks_js_num *num) {
  position(v);
  if (recording(v))
    return ks__tape_scalar(v->tape, kind, p, len, ncp) ? too_big(v) : 0;
  if (v->nset == 1) { /* the common case: a type check and nothing else */
    const ks_js_node *n = ks__deref(v->set[0]);
    unsigned ok = kind == KS_JS_T_INTEGER ? KS_JS_T_INTEGER | KS_JS_T_NUMBER : kind;
    if ((n->simple & kind) && (n->types & ok))
      return 0;
  }
  ks__tok tok = {kind, 1, 0, (uint32_t)len, (uint32_t)ncp};
  ks__tape t = {&tok, p ? p : ""};
  for (uint32_t k = 0; k < v->nset; k++) {
    int r = ks__eval(v, v->depth, v->set[k], &t, 0, num);
    if (r)
      return r;
  }
  return 0;
}

int ks_js_null(ks_js_validator *v) {
  return scalar(v, KS_JS_T_NULL, NULL, 0, 0, NULL);
}

int ks_js_bool(ks_js_validator *v, int b) {
  return scalar(v, KS_JS_T_BOOLEAN, NULL, b != 0, 0, NULL);
}

int ks_js_number(ks_js_validator *v, ks_js_num *n) {
  if (n->len > UINT32_MAX)
    return too_big(v);
  return scalar(v, n->is_int ? KS_JS_T_INTEGER : KS_JS_T_NUMBER, n->text, n->len, 0,
                n);
}

int ks_js_string(ks_js_validator *v, ks_js_str *s) {
  v->dt_text = NULL;
  if (s->len > UINT32_MAX)
    return too_big(v);
  return scalar(v, KS_JS_T_STRING, s->p, s->len, s->ncp, NULL);
}

/* ---- containers ---- */

static int open_checks(ks_js_validator *v, const ks_js_node *n, unsigned kind) {
  if (n->flags & KS_JS_N_FALSE)
    return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_FALSE,
                      "no value is allowed here (the schema is false)");
  if (!(n->types & kind)) {
    char want[96];
    ks__type_list(n->types, want, sizeof want);
    return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_TYPE,
                      "expected %s, got %s", want, ks__kind_name(kind));
  }
  if (n->flags & KS_JS_N_CONST) /* scalar values only on a streamed node */
    return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_CONST,
                      "%s is not the constant value (const)",
                      kind == KS_JS_T_ARRAY ? "an array" : "an object");
  if (n->flags & KS_JS_N_ENUM)
    return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_ENUM,
                      "%s is not one of the allowed values (enum)",
                      kind == KS_JS_T_ARRAY ? "an array" : "an object");
  return 0;
}

/* Property bitmap for an object frame whose names are looked up in pn. */
static void seen_alloc(ks_js_validator *v, ks_js_frame *f, const ks_js_node *pn) {
  f->seen = (uint32_t)v->seen_len;
  if (pn == NULL || pn->nprops == 0)
    return;
  size_t words = (pn->nprops + 63) / 64;
  if (v->seen_len + words > v->seen_cap) {
    v->seen_cap = (v->seen_len + words) * 2;
    v->seen = ks_realloc(v->seen, v->seen_cap * sizeof *v->seen);
  }
  for (size_t i = 0; i < words; i++) /* one word up to 64 properties */
    v->seen[v->seen_len + i] = 0;
  v->seen_len += words;
}

int ks_js_open(ks_js_validator *v, int is_array) {
  unsigned kind = is_array ? KS_JS_T_ARRAY : KS_JS_T_OBJECT;
  position(v);
  const ks_js_node *n = NULL;
  if (!recording(v)) {
    n = v->nset == 1 ? ks__deref(v->set[0]) : NULL;
    if (n && !n->stream)
      n = NULL;
    if (n) {
      int r = open_checks(v, n, kind);
      if (r)
        return r;
    }
  }
  if (v->depth == KS_JS_MAX_DEPTH)
    return ks_js_fail(v, KS_ETOOBIG, 0, KS_KEYWORD_MAX_DEPTH,
                      "nesting too deep (more than %d levels)", KS_JS_MAX_DEPTH);
  if (n == NULL && !recording(v)) { /* record this value, check at close */
    memcpy(v->cap_set, v->set, v->nset * sizeof *v->set);
    v->ncap_set = v->nset;
    v->cap_depth = v->depth + 1;
    ks__tapebuf_reset(v->tape);
  }
  if (recording(v) && ks__tape_open(v->tape, kind))
    return too_big(v);
  ks_js_frame *f = &v->stack[v->depth++];
  f->node = n;
  f->prop = -1;
  f->count = 0;
  f->is_array = (uint8_t)is_array;
  f->key_off = (uint32_t)v->keys.len;
  f->key_len = 0;
  f->key_at = NULL;
  /* the root object always tracks its properties: the shredder needs
   * them even while the record is being recorded */
  f->pnode = is_array        ? NULL
             : n             ? n
             : v->depth == 1 ? ks__deref(v->schema->root)
                             : NULL;
  seen_alloc(v, f, f->pnode);
  return 0;
}

int ks_js_fail_value(ks_js_validator *v, int code, ks_keyword keyword,
                     const char *msg) {
  position(v);
  return ks_js_fail(v, code, 0, keyword, "%s", msg);
}

int ks_js_opaque(const ks_js_validator *v) {
  const ks_js_node *n = v->stack[v->depth - 1].node;
  return !recording(v) && n != NULL && n->opaque;
}

/* ks_js_find_member's body: the hint, then the hash. */
static inline int32_t find_member(ks_js_validator *v, const ks_js_node *n,
                                  uint32_t pos, const char *key, size_t len) {
  if (n->nprops == 0) /* an object that only constrains its values */
    return -1;
  struct ks_js_hint *h =
      &v->hints[((uintptr_t)n / sizeof(void *) * 31 + pos) % KS_JS_HINTS];
  if (h->node == n && h->pos == pos) {
    const ks_js_prop *p = &n->props[h->prop];
    if (p->len == len && ks__key_eq(p->name, key, len))
      return h->prop;
  }
  int32_t p = ks_js_node_find(n, key, len);
  if (p >= 0)
    *h = (struct ks_js_hint){n, pos, p};
  return p;
}

int32_t ks_js_find_member(ks_js_validator *v, const ks_js_node *n, uint32_t pos,
                          const char *key, size_t len) {
  return find_member(v, n, pos, key, len);
}

/* A key kept in v->keys: one not in the record's text (escaped, or from a
 * transform). */
static __attribute__((noinline)) int copy_key(ks_js_validator *v,
                                              ks_js_frame *f,
                                              const uint8_t *key, size_t len) {
  v->keys.len = f->key_off;
  f->key_at = NULL;
  if (len > UINT32_MAX || ks_buf_append(&v->keys, key, len))
    return ks_js_fail(v, KS_ETOOBIG, 1, KS_KEYWORD_MAX_LENGTH,
                      "key too long");
  return 0;
}

static __attribute__((noinline)) int duplicate(ks_js_validator *v) {
  return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_PROPERTIES,
                    "duplicate property");
}

/* The schemas of the member after its key, beyond one declared property:
 * patternProperties, additionalProperties, propertyNames. */
static __attribute__((noinline)) int member_schemas(ks_js_validator *v,
                                                    const ks_js_node *n,
                                                    int32_t p,
                                                    const uint8_t *key,
                                                    size_t len, size_t ncp) {
  v->nset = 0;
  if (p >= 0 && !n->props[p].additional)
    v->set[v->nset++] = n->props[p].node;
  for (uint32_t j = 0; j < n->npprops; j++) {
    int m = ks__regex_search(n->pprops[j].re, v->rm, key, len, &v->budget);
    if (m == KS__RE_BUDGET || ks__over_deadline(v))
      return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_BUDGET,
                        "the record costs more than its validation budget "
                        "(patternProperties backtracking)");
    if (m == 1)
      v->set[v->nset++] = n->pprops[j].node;
  }
  if (v->nset == 0) {
    if (n->additional->flags & KS_JS_N_FALSE)
      return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_ADDITIONAL_PROPERTIES,
                        "additional property not allowed");
    v->set[v->nset++] = n->additional;
  }
  if (n->names != &v->schema->any) {
    ks__tok tok = {KS_JS_T_STRING, 1, 0, (uint32_t)len, (uint32_t)ncp};
    ks__tape t = {&tok, key};
    ks_js_error *err = v->err;
    v->err = NULL; /* the verdict only: the message names the key */
    int r = ks__eval(v, v->depth, n->names, &t, 0, NULL);
    v->err = err;
    if (r) {
      char shown[160];
      ks_js_quote(shown, sizeof shown, key, len);
      return ks_js_fail(v, KS_EINVALID, 0, KS_KEYWORD_PROPERTY_NAMES,
                        "property name %s does not match propertyNames",
                        shown);
    }
  }
  return 0;
}

int ks_js_key(ks_js_validator *v, const uint8_t *key, size_t len, size_t ncp) {
  ks_js_frame *f = &v->stack[v->depth - 1];
  f->count++;
  int r;
  if (v->text && key >= v->text && len <= v->text_len &&
      (size_t)(key - v->text) <= v->text_len - len && len <= UINT32_MAX)
    f->key_at = key; /* read from the record, where it stays */
  else if ((r = copy_key(v, f, key, len)) != 0)
    return r;
  f->key_len = (uint32_t)len;
  int32_t p = -1;
  if (f->pnode) {
    /* f->prop: the previous member's property (-1 at the first) */
    p = find_member(v, f->pnode, (uint32_t)(f->prop + 1), (const char *)key,
                    len);
    if (p >= 0) {
      uint64_t *w = &v->seen[f->seen + (uint32_t)p / 64];
      uint64_t bit = (uint64_t)1 << ((uint32_t)p % 64);
      if (*w & bit)
        return duplicate(v);
      *w |= bit;
    }
  }
  f->prop = p;
  if (recording(v))
    return ks__tape_scalar(v->tape, KS_JS_TK_KEY, key, len, ncp) ? too_big(v)
                                                                : 0;
  const ks_js_node *n = f->node;
  /* the common case: one declared property, nothing else applies */
  if (p >= 0 && !n->props[p].additional && n->npprops == 0 &&
      n->names == &v->schema->any) {
    v->set[0] = n->props[p].node;
    v->nset = 1;
    return 0;
  }
  return member_schemas(v, n, p, key, len, ncp);
}

int ks_js_seen(const ks_js_validator *v, uint32_t i) {
  const ks_js_frame *f = &v->stack[v->depth - 1];
  return (v->seen[f->seen + i / 64] >> (i % 64)) & 1;
}

int ks_js_close_check(ks_js_validator *v) {
  const ks_js_frame *f = &v->stack[v->depth - 1];
  if (recording(v)) {
    ks__tape_close(v->tape);
    if (v->depth != v->cap_depth)
      return 0;
    ks__tape t = ks__tape_view(v->tape);
    for (uint32_t k = 0; k < v->ncap_set; k++) {
      int r = ks__eval(v, v->depth - 1, v->cap_set[k], &t, 0, NULL);
      if (r)
        return r;
    }
    return 0;
  }
  const ks_js_node *n = f->node;
  if (f->is_array) {
    if ((n->flags & KS_JS_N_MINITEMS) && f->count < n->min_items)
      return ks_js_fail(v, KS_EINVALID, 1, KS_KEYWORD_MIN_ITEMS,
                        "array has %" PRIu32 " items, fewer than minItems "
                        "%" PRIu64,
                        f->count, n->min_items);
    if ((n->flags & KS_JS_N_MAXITEMS) && f->count > n->max_items)
      return ks_js_fail(v, KS_EINVALID, 1, KS_KEYWORD_MAX_ITEMS,
                        "array has %" PRIu32 " items, more than maxItems "
                        "%" PRIu64,
                        f->count, n->max_items);
    return 0;
  }
  if ((n->flags & KS_JS_N_MINPROPS) && f->count < n->min_props)
    return ks_js_fail(v, KS_EINVALID, 1, KS_KEYWORD_MIN_PROPERTIES,
                      "object has %" PRIu32 " properties, fewer than "
                      "minProperties %" PRIu64,
                      f->count, n->min_props);
  if ((n->flags & KS_JS_N_MAXPROPS) && f->count > n->max_props)
    return ks_js_fail(v, KS_EINVALID, 1, KS_KEYWORD_MAX_PROPERTIES,
                      "object has %" PRIu32 " properties, more than "
                      "maxProperties %" PRIu64,
                      f->count, n->max_props);
  for (uint32_t k = 0; k < n->nrequired; k++) {
    uint32_t i = n->required[k];
    if (!ks_js_seen(v, i)) {
      char shown[160];
      ks_js_quote(shown, sizeof shown, (const uint8_t *)n->props[i].name,
                n->props[i].len);
      return ks_js_fail(v, KS_EINVALID, 1, KS_KEYWORD_REQUIRED,
                        "missing required property %s", shown);
    }
  }
  return 0;
}

void ks_js_pop(ks_js_validator *v) {
  if (v->cap_depth == v->depth)
    v->cap_depth = 0;
  ks_js_frame *f = &v->stack[--v->depth];
  v->keys.len = f->key_off;
  v->seen_len = f->seen;
}

void ks_js_validator_init(ks_js_validator *v, const ks_js_schema *s) {
  memset(v, 0, sizeof *v);
  v->schema = s;
  ks_buf_init(&v->keys, 0);
  v->set = ks_calloc(s->max_set, sizeof *v->set);
  v->cap_set = ks_calloc(s->max_set, sizeof *v->cap_set);
  v->tape = ks_malloc(sizeof *v->tape);
  ks__tapebuf_init(v->tape);
  v->rm = ks__rematch_new();
}

void ks_js_validator_free(ks_js_validator *v) {
  ks_buf_free(&v->keys);
  ks_free(v->seen);
  ks_free(v->set);
  ks_free(v->cap_set);
  ks__tapebuf_free(v->tape);
  ks_free(v->tape);
  ks__rematch_free(v->rm);
}

/* A record's validation budget, in evaluator steps (uniqueItems items
 * and compared tokens, pattern backtracking: ks__regex_search): far above
 * any real schema's need, low enough that a combinatorial schema, a
 * backtracking pattern or uniqueItems over a huge array fails the record
 * in well under a second. The clock bounds what steps cannot see (a
 * pattern just under its limit on every string). */
#define EVAL_BUDGET ((uint64_t)1 << 22)
#define RECORD_CPU_MS 2000

uint64_t ks__coarse_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ks__over_deadline(const ks_js_validator *v) {
  return v->deadline_ms && ks__coarse_ms() > v->deadline_ms;
}

void ks_js_validator_reset(ks_js_validator *v, ks_js_error *err) {
  v->depth = 0;
  v->keys.len = 0;
  v->text = NULL;
  v->text_len = 0;
  v->seen_len = 0;
  v->err = err;
  v->cap_depth = 0;
  v->nset = 0;
  v->budget = EVAL_BUDGET;
  v->deadline_ms = ks__coarse_ms() + RECORD_CPU_MS;
  v->dt_text = NULL;
}
