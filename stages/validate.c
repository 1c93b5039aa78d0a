/*
 * The streaming validator: a stack of frames, one per open object or
 * array, each pointing at the compiled schema node of its container. Every
 * yajl event is one call here; the schemas of the next value come from the
 * top frame (items of an array, the member's schemas after a key). A
 * scalar is checked at once by the evaluator (eval.c) on a one-token tape
 * on the stack. A container whose schema streams (schema_int.h) gets a
 * frame and its own checks at open, key and close; any other container is
 * recorded on the validator's tape while it streams and evaluated when it
 * closes. Only the first failure is reported: the caller stops the parse.
 */
#include "stages/schema_int.h"
#include "stages/utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- failures ---- */

static size_t put(char *out, size_t outlen, size_t o, const char *s, size_t n) {
  for (size_t i = 0; i < n && o + 1 < outlen; i++)
    out[o++] = s[i];
  out[o < outlen ? o : outlen - 1] = 0;
  return o;
}

/* Byte truncation may cut a UTF-8 sequence: drop the incomplete tail. */
static size_t trim_partial(char *out, size_t o) {
  size_t l = o;
  while (l > 0 && o - l < 4 && ((uint8_t)out[l - 1] & 0xC0) == 0x80)
    l--;
  if (l > 0 && (uint8_t)out[l - 1] >= 0xC0) {
    uint8_t c = (uint8_t)out[l - 1];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (o - (l - 1) < need)
      o = l - 1;
  }
  out[o] = 0;
  return o;
}

static size_t render_path(const ks__validator *v, size_t nseg, char *out,
                          size_t outlen) {
  size_t o = 0;
  out[0] = 0;
  for (size_t i = 0; i < nseg; i++) {
    const ks__frame *f = &v->stack[i];
    o = put(out, outlen, o, "/", 1);
    if (f->is_array) {
      char num[24];
      int k = snprintf(num, sizeof num, "%" PRIu32, f->count - 1);
      o = put(out, outlen, o, num, (size_t)k);
      continue;
    }
    if (f->key_len == 0)
      continue; /* "" as a key: the segment is just "/" */
    const char *key = (const char *)v->keys.data + f->key_off;
    for (uint32_t k = 0; k < f->key_len; k++) {
      if (key[k] == '~')
        o = put(out, outlen, o, "~0", 2);
      else if (key[k] == '/')
        o = put(out, outlen, o, "~1", 2);
      else
        o = put(out, outlen, o, key + k, 1);
    }
  }
  return trim_partial(out, o);
}

int ks__v_reject(ks__validator *v, int code, const char *reason, size_t nseg,
                 const char *suffix, const char *keyword, const char *text) {
  ks_reject *rej = v->rej;
  if (rej == NULL)
    return code;
  rej->code = code;
  rej->reason = reason;
  rej->keyword = keyword;
  size_t plen = render_path(v, nseg, rej->path, sizeof rej->path);
  plen = put(rej->path, sizeof rej->path, plen, suffix, strlen(suffix));
  plen = trim_partial(rej->path, plen);
  memcpy(rej->message, rej->path, plen);
  size_t o = put(rej->message, sizeof rej->message, plen, ": ", 2);
  o = put(rej->message, sizeof rej->message, o, text, strlen(text));
  trim_partial(rej->message, o);
  return code;
}

int ks__v_fail(ks__validator *v, int code, const char *reason, int container,
               const char *keyword, const char *fmt, ...) {
  if (v->rej == NULL)
    return code;
  char text[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  size_t nseg = v->depth - (container && v->depth ? 1 : 0);
  return ks__v_reject(v, code, reason, nseg, "", keyword, text);
}

void ks__quote(char *out, size_t outlen, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t keep = ks_utf8_prefix(s, n, 64), o = 0;
  o = put(out, outlen, o, "\"", 1);
  for (size_t i = 0; i < keep; i++) {
    char e[7];
    size_t el = 2;
    e[0] = '\\';
    switch (s[i]) {
    case '"':
      e[1] = '"';
      break;
    case '\\':
      e[1] = '\\';
      break;
    case '\n':
      e[1] = 'n';
      break;
    case '\r':
      e[1] = 'r';
      break;
    case '\t':
      e[1] = 't';
      break;
    default:
      if (s[i] < 0x20 || s[i] == 0x7f) {
        memcpy(e + 1, "u00", 3);
        e[4] = hex[s[i] >> 4];
        e[5] = hex[s[i] & 15];
        el = 6;
      } else {
        e[0] = (char)s[i];
        el = 1;
      }
    }
    o = put(out, outlen, o, e, el);
  }
  o = put(out, outlen, o, keep < n ? "\"..." : "\"", keep < n ? 4 : 1);
}

const char *ks__kind_name(unsigned kind) {
  switch (kind) {
  case KS__T_NULL:
    return "null";
  case KS__T_BOOLEAN:
    return "boolean";
  case KS__T_INTEGER:
    return "integer";
  case KS__T_NUMBER:
    return "number";
  case KS__T_STRING:
    return "string";
  case KS__T_OBJECT:
    return "object";
  default:
    return "array";
  }
}

/* "integer or null" for the expected side of a type mismatch. */
void ks__type_list(unsigned types, char *out, size_t outlen) {
  static const unsigned order[] = {KS__T_OBJECT,  KS__T_ARRAY,  KS__T_STRING,
                                   KS__T_INTEGER, KS__T_NUMBER, KS__T_BOOLEAN,
                                   KS__T_NULL};
  size_t o = 0;
  out[0] = 0;
  if ((types & KS__T_NUMBER))
    types &= ~(unsigned)KS__T_INTEGER; /* number covers integer */
  for (size_t i = 0; i < KS_ARRAY_SIZE(order); i++) {
    if (!(types & order[i]))
      continue;
    if (o)
      o = put(out, outlen, o, " or ", 4);
    const char *nm = ks__kind_name(order[i]);
    o = put(out, outlen, o, nm, strlen(nm));
  }
}

/* ---- positions ---- */

static int recording(const ks__validator *v) {
  return v->cap_depth != 0;
}

/* The schemas of the value that starts now, into v->set (object members
 * had theirs set by ks__v_key). */
static void position(ks__validator *v) {
  if (v->depth == 0) {
    v->set[0] = v->schema->root;
    v->nset = 1;
    return;
  }
  ks__frame *f = &v->stack[v->depth - 1];
  if (!f->is_array)
    return;
  uint32_t idx = f->count++;
  const ks__snode *n = f->node;
  if (n == NULL)
    return;
  v->set[0] = !(n->flags & KS__N_ITEMS_ARRAY) ? n->items
              : idx < n->nitems_arr           ? n->items_arr[idx]
                                              : n->add_items;
  v->nset = 1;
}

static int too_big(ks__validator *v) {
  return ks__v_fail(v, KS_ETOOBIG, "too_large", 0, "maxLength",
                    "value too large to buffer for validation");
}

static int scalar(ks__validator *v, uint32_t kind, const void *p, size_t len,
                  size_t ncp, ks__num *num) {
  position(v);
  if (recording(v))
    return ks__tape_scalar(&v->tape, kind, p, len, ncp) ? too_big(v) : 0;
  if (v->nset == 1) { /* the common case: a type check and nothing else */
    const ks__snode *n = ks__deref(v->set[0]);
    unsigned ok = kind == KS__T_INTEGER ? KS__T_INTEGER | KS__T_NUMBER : kind;
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

int ks__v_null(ks__validator *v) {
  return scalar(v, KS__T_NULL, NULL, 0, 0, NULL);
}

int ks__v_bool(ks__validator *v, int b) {
  return scalar(v, KS__T_BOOLEAN, NULL, b != 0, 0, NULL);
}

int ks__v_number(ks__validator *v, ks__num *n) {
  if (n->len > UINT32_MAX)
    return too_big(v);
  return scalar(v, n->is_int ? KS__T_INTEGER : KS__T_NUMBER, n->text, n->len, 0,
                n);
}

int ks__v_string(ks__validator *v, ks__str *s) {
  if (s->len > UINT32_MAX)
    return too_big(v);
  return scalar(v, KS__T_STRING, s->p, s->len, s->ncp, NULL);
}

/* ---- containers ---- */

static int open_checks(ks__validator *v, const ks__snode *n, unsigned kind) {
  if (n->flags & KS__N_FALSE)
    return ks__v_fail(v, KS_EINVALID, "schema", 0, "false",
                      "no value is allowed here (the schema is false)");
  if (!(n->types & kind)) {
    char want[96];
    ks__type_list(n->types, want, sizeof want);
    return ks__v_fail(v, KS_EINVALID, "schema", 0, "type",
                      "expected %s, got %s", want, ks__kind_name(kind));
  }
  if (n->flags & KS__N_CONST) /* scalar values only on a streamed node */
    return ks__v_fail(v, KS_EINVALID, "schema", 0, "const",
                      "%s is not the constant value (const)",
                      kind == KS__T_ARRAY ? "an array" : "an object");
  if (n->flags & KS__N_ENUM)
    return ks__v_fail(v, KS_EINVALID, "schema", 0, "enum",
                      "%s is not one of the allowed values (enum)",
                      kind == KS__T_ARRAY ? "an array" : "an object");
  return 0;
}

/* Property bitmap for an object frame whose names are looked up in pn. */
static void seen_alloc(ks__validator *v, ks__frame *f, const ks__snode *pn) {
  f->seen = (uint32_t)v->seen_len;
  if (pn == NULL || pn->nprops == 0)
    return;
  size_t words = (pn->nprops + 63) / 64;
  if (v->seen_len + words > v->seen_cap) {
    v->seen_cap = (v->seen_len + words) * 2;
    v->seen = ks_realloc(v->seen, v->seen_cap * sizeof *v->seen);
  }
  memset(v->seen + v->seen_len, 0, words * sizeof *v->seen);
  v->seen_len += words;
}

int ks__v_open(ks__validator *v, int is_array) {
  unsigned kind = is_array ? KS__T_ARRAY : KS__T_OBJECT;
  position(v);
  const ks__snode *n = NULL;
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
  if (v->depth == KS__MAX_DEPTH)
    return ks__v_fail(v, KS_ETOOBIG, "too_large", 0, "maxDepth",
                      "nesting too deep (more than %d levels)", KS__MAX_DEPTH);
  if (n == NULL && !recording(v)) { /* record this value, check at close */
    memcpy(v->cap_set, v->set, v->nset * sizeof *v->set);
    v->ncap_set = v->nset;
    v->cap_depth = v->depth + 1;
    ks__tapebuf_reset(&v->tape);
  }
  if (recording(v) && ks__tape_open(&v->tape, kind))
    return too_big(v);
  ks__frame *f = &v->stack[v->depth++];
  f->node = n;
  f->prop = -1;
  f->count = 0;
  f->is_array = (uint8_t)is_array;
  f->key_off = (uint32_t)v->keys.len;
  f->key_len = 0;
  /* the root object always tracks its properties: the shredder needs
   * them even while the record is being recorded */
  f->pnode = is_array        ? NULL
             : n             ? n
             : v->depth == 1 ? ks__deref(v->schema->root)
                             : NULL;
  seen_alloc(v, f, f->pnode);
  return 0;
}

int ks__v_key(ks__validator *v, const uint8_t *key, size_t len, size_t ncp) {
  ks__frame *f = &v->stack[v->depth - 1];
  f->count++;
  v->keys.len = f->key_off;
  if (len > UINT32_MAX || ks_buf_append(&v->keys, key, len))
    return ks__v_fail(v, KS_ETOOBIG, "too_large", 1, "maxLength",
                      "key too long");
  f->key_len = (uint32_t)len;
  int32_t p = -1;
  if (f->pnode) {
    p = ks__snode_find(f->pnode, (const char *)key, len);
    if (p >= 0) {
      uint64_t *w = &v->seen[f->seen + (uint32_t)p / 64];
      uint64_t bit = (uint64_t)1 << ((uint32_t)p % 64);
      if (*w & bit)
        return ks__v_fail(v, KS_EINVALID, "schema", 0, "properties",
                          "duplicate property");
      *w |= bit;
    }
  }
  f->prop = p;
  if (recording(v))
    return ks__tape_scalar(&v->tape, KS__TK_KEY, key, len, ncp) ? too_big(v)
                                                                : 0;
  const ks__snode *n = f->node;
  v->nset = 0;
  if (p >= 0 && !n->props[p].additional)
    v->set[v->nset++] = n->props[p].node;
  for (uint32_t j = 0; j < n->npprops; j++)
    if (ks__regex_search(n->pprops[j].re, v->rm, key, len) == 1)
      v->set[v->nset++] = n->pprops[j].node;
  if (v->nset == 0) {
    if (n->additional->flags & KS__N_FALSE)
      return ks__v_fail(v, KS_EINVALID, "schema", 0, "additionalProperties",
                        "additional property not allowed");
    v->set[v->nset++] = n->additional;
  }
  if (n->names != &v->schema->any) {
    ks__tok tok = {KS__T_STRING, 1, 0, (uint32_t)len, (uint32_t)ncp};
    ks__tape t = {&tok, key};
    ks_reject *rej = v->rej;
    v->rej = NULL; /* the verdict only: the message names the key */
    int r = ks__eval(v, v->depth, n->names, &t, 0, NULL);
    v->rej = rej;
    if (r) {
      char shown[160];
      ks__quote(shown, sizeof shown, key, len);
      return ks__v_fail(v, KS_EINVALID, "schema", 0, "propertyNames",
                        "property name %s does not match propertyNames", shown);
    }
  }
  return 0;
}

int ks__v_seen(const ks__validator *v, uint32_t i) {
  const ks__frame *f = &v->stack[v->depth - 1];
  return (v->seen[f->seen + i / 64] >> (i % 64)) & 1;
}

int ks__v_close_check(ks__validator *v) {
  const ks__frame *f = &v->stack[v->depth - 1];
  if (recording(v)) {
    ks__tape_close(&v->tape);
    if (v->depth != v->cap_depth)
      return 0;
    ks__tape t = ks__tape_view(&v->tape);
    for (uint32_t k = 0; k < v->ncap_set; k++) {
      int r = ks__eval(v, v->depth - 1, v->cap_set[k], &t, 0, NULL);
      if (r)
        return r;
    }
    return 0;
  }
  const ks__snode *n = f->node;
  if (f->is_array) {
    if ((n->flags & KS__N_MINITEMS) && f->count < n->min_items)
      return ks__v_fail(v, KS_EINVALID, "schema", 1, "minItems",
                        "array has %" PRIu32 " items, fewer than minItems "
                        "%" PRIu64,
                        f->count, n->min_items);
    if ((n->flags & KS__N_MAXITEMS) && f->count > n->max_items)
      return ks__v_fail(v, KS_EINVALID, "schema", 1, "maxItems",
                        "array has %" PRIu32 " items, more than maxItems "
                        "%" PRIu64,
                        f->count, n->max_items);
    return 0;
  }
  if ((n->flags & KS__N_MINPROPS) && f->count < n->min_props)
    return ks__v_fail(v, KS_EINVALID, "schema", 1, "minProperties",
                      "object has %" PRIu32 " properties, fewer than "
                      "minProperties %" PRIu64,
                      f->count, n->min_props);
  if ((n->flags & KS__N_MAXPROPS) && f->count > n->max_props)
    return ks__v_fail(v, KS_EINVALID, "schema", 1, "maxProperties",
                      "object has %" PRIu32 " properties, more than "
                      "maxProperties %" PRIu64,
                      f->count, n->max_props);
  for (uint32_t k = 0; k < n->nrequired; k++) {
    uint32_t i = n->required[k];
    if (!ks__v_seen(v, i)) {
      char shown[160];
      ks__quote(shown, sizeof shown, (const uint8_t *)n->props[i].name,
                n->props[i].len);
      return ks__v_fail(v, KS_EINVALID, "schema", 1, "required",
                        "missing required property %s", shown);
    }
  }
  return 0;
}

void ks__v_pop(ks__validator *v) {
  if (v->cap_depth == v->depth)
    v->cap_depth = 0;
  ks__frame *f = &v->stack[--v->depth];
  v->keys.len = f->key_off;
  v->seen_len = f->seen;
}

void ks__v_init(ks__validator *v, const ks_schema *s) {
  memset(v, 0, sizeof *v);
  v->schema = s;
  ks_buf_init(&v->keys, 0);
  v->set = ks_calloc(s->max_set, sizeof *v->set);
  v->cap_set = ks_calloc(s->max_set, sizeof *v->cap_set);
  ks__tapebuf_init(&v->tape);
  v->rm = ks__rematch_new();
}

void ks__v_free(ks__validator *v) {
  ks_buf_free(&v->keys);
  ks_free(v->seen);
  ks_free(v->set);
  ks_free(v->cap_set);
  ks__tapebuf_free(&v->tape);
  ks__rematch_free(v->rm);
}

/* Evaluator steps per record: far above any real schema's need, low
 * enough that a combinatorial schema fails a record in milliseconds. */
#define EVAL_BUDGET ((uint64_t)1 << 22)

void ks__v_reset(ks__validator *v, ks_reject *rej) {
  v->depth = 0;
  v->keys.len = 0;
  v->seen_len = 0;
  v->rej = rej;
  v->cap_depth = 0;
  v->nset = 0;
  v->budget = EVAL_BUDGET;
}
