/*
 * The buffered evaluator: checks a value recorded on a token tape against
 * a compiled schema node, every draft-07 keyword. The streaming validator
 * calls it for each scalar (a one-token tape on its stack) and for each
 * container whose schema needs more than one look. Sub-schemas whose
 * failures do not count (anyOf branches, not, if, contains) run "quiet":
 * no message is formatted, the first failure just returns.
 *
 * Recursion is bounded twice: by depth (a $ref cycle that never consumes
 * input, like {"anyOf": [{"$ref": "#"}]}) and by a step budget per record
 * (schemas whose combinators multiply work). Either ends the record with
 * an error instead of a stack overflow or a stalled worker.
 */
#include "jsonschema/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_MAX_DEPTH 256
#define SEG_MAX 96

typedef struct ev {
  ks_js_validator *v;
  const ks_js_schema *s;
  const ks__tape *t;
  ks_js_num *num0; /* the already parsed number at token 0, if any */
  size_t nseg;
  int quiet, abort;
  int null_type; /* the failure is a null where the type forbids it */
  uint32_t depth;
  uint32_t segs[SEG_MAX]; /* key token index, or element index | TOP */
  size_t nsegs;
} ev;

#define SEG_INDEX 0x80000000u

static int eval(ev *e, const ks_js_node *n, uint32_t i);

/* ev.abort */
enum { ABORT_DEPTH = 1, ABORT_BUDGET = 2 };

/* The record costs more than its budget: the whole record fails with
 * keyword "budget", whatever a combinator around this value would make
 * of a failure. */
static int over_budget(ev *e) {
  e->abort = ABORT_BUDGET;
  return KS_EINVALID;
}

typedef struct item_hash {
  uint64_t h;
  uint32_t tok, index;
} item_hash;

static int by_hash(const void *a, const void *b) {
  const item_hash *x = a, *y = b;
  if (x->h != y->h)
    return x->h < y->h ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

/* uniqueItems in O(n log n): items sorted by a hash consistent with
 * equality, only items of one hash compared. Hashing and comparisons are
 * charged to the record's budget. 0, KS_EINVALID with *x < *y the first
 * equal pair, or over_budget. */
static int unique_items(ev *e, uint32_t i, uint32_t *fx, uint32_t *fy) {
  const ks__tape *t = e->t;
  const ks__tok *a = &t->tok[i];
  uint32_t n = a->len;
  if (n < 2)
    return 0;
  item_hash *hs = ks_malloc((size_t)n * sizeof *hs);
  uint64_t cost = 0;
  uint32_t x = 0;
  for (uint32_t k = i + 1; k < a->next; k = t->tok[k].next, x++) {
    hs[x].h = ks__tape_hash(t, k, &cost);
    hs[x].tok = k;
    hs[x].index = x;
  }
  cost += n; /* the sort, roughly: a step per item and level is overkill */
  int r = 0;
  if (cost >= e->v->budget || ks__over_deadline(e->v)) {
    r = over_budget(e);
    goto done;
  }
  e->v->budget -= cost;
  qsort(hs, n, sizeof *hs, by_hash);
  uint32_t bx = UINT32_MAX, by = UINT32_MAX;
  for (uint32_t s = 0; s < n;) {
    uint32_t end = s + 1;
    while (end < n && hs[end].h == hs[s].h)
      end++;
    for (uint32_t p = s; p < end; p++)
      for (uint32_t q = p + 1; q < end; q++) {
        uint64_t c = t->tok[hs[p].tok].next - hs[p].tok;
        if (c >= e->v->budget) {
          r = over_budget(e);
          goto done;
        }
        e->v->budget -= c;
        if (ks__tape_equal(t, hs[p].tok, t, hs[q].tok) &&
            (hs[p].index < bx ||
             (hs[p].index == bx && hs[q].index < by))) {
          bx = hs[p].index;
          by = hs[q].index;
        }
      }
    s = end;
  }
  if (bx != UINT32_MAX) {
    *fx = bx;
    *fy = by;
    r = KS_EINVALID;
  }
done:
  ks_free(hs);
  return r;
}

static size_t esc_append(char *out, size_t o, size_t cap, const uint8_t *p,
                         size_t n) {
  for (size_t k = 0; k < n && o + 3 < cap; k++) {
    if (p[k] == '~' || p[k] == '/') {
      out[o++] = '~';
      out[o++] = p[k] == '~' ? '0' : '1';
    } else {
      out[o++] = (char)p[k];
    }
  }
  out[o] = 0;
  return o;
}

static int fail(ev *e, ks_keyword keyword, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ev *e, ks_keyword keyword, const char *fmt, ...) {
  if (e->quiet || e->abort)
    return KS_EINVALID;
  char suffix[256], text[400];
  size_t o = 0;
  suffix[0] = 0;
  for (size_t k = 0; k < e->nsegs && o + 24 < sizeof suffix; k++) {
    suffix[o++] = '/';
    if (e->segs[k] & SEG_INDEX) {
      o += (size_t)snprintf(suffix + o, sizeof suffix - o, "%" PRIu32,
                            e->segs[k] & ~SEG_INDEX);
    } else {
      const ks__tok *kt = &e->t->tok[e->segs[k]];
      o = esc_append(suffix, o, sizeof suffix, e->t->bytes + kt->off, kt->len);
    }
  }
  suffix[o] = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  ks__v_reject(e->v, KS_EINVALID, e->nseg, suffix, keyword, text);
  if (e->v->err)
    e->v->err->is_null = e->null_type;
  e->quiet = 1; /* one report: the rest of this evaluation is silent */
  return KS_EINVALID;
}

/* A short rendering of value i for messages. */
static void shown(const ev *e, uint32_t i, char *out, size_t outlen) {
  const ks__tok *t = &e->t->tok[i];
  const uint8_t *p = e->t->bytes + t->off;
  switch (t->kind) {
  case KS_JS_T_NULL:
    snprintf(out, outlen, "null");
    break;
  case KS_JS_T_BOOLEAN:
    snprintf(out, outlen, t->len ? "true" : "false");
    break;
  case KS_JS_T_INTEGER:
  case KS_JS_T_NUMBER:
    snprintf(out, outlen, "%.*s%s", (int)(t->len > 64 ? 64 : t->len), p,
             t->len > 64 ? "..." : "");
    break;
  case KS_JS_T_OBJECT:
    snprintf(out, outlen, "an object");
    break;
  case KS_JS_T_ARRAY:
    snprintf(out, outlen, "an array");
    break;
  default:
    ks_js_quote(out, outlen, p, t->len);
  }
}

static int quiet_eval(ev *e, const ks_js_node *n, uint32_t i) {
  int q = e->quiet;
  e->quiet = 1;
  int r = eval(e, n, i);
  e->quiet = q;
  return r;
}

/* ---- scalars ---- */

static int check_number(ev *e, const ks_js_node *n, uint32_t i) {
  const unsigned want =
      KS_JS_N_MIN | KS_JS_N_XMIN | KS_JS_N_MAX | KS_JS_N_XMAX | KS_JS_N_MULTIPLE;
  if (!(n->flags & want))
    return 0;
  const ks__tok *t = &e->t->tok[i];
  ks_js_num local, *num = &local;
  if (i == 0 && e->num0)
    num = e->num0;
  else
    ks_js_num_parse(&local, (const char *)e->t->bytes + t->off, t->len);
  ks_js_node *m = (ks_js_node *)n; /* bounds cache their double */
  char sh[80];
  if ((n->flags & KS_JS_N_MIN) && ks__num_cmp(num, &m->min) < 0) {
    shown(e, i, sh, sizeof sh);
    return fail(e, KS_KEYWORD_MINIMUM, "%s is less than the minimum %s", sh,
                n->min.text);
  }
  if ((n->flags & KS_JS_N_XMIN) && ks__num_cmp(num, &m->min) <= 0) {
    shown(e, i, sh, sizeof sh);
    return fail(e, KS_KEYWORD_EXCLUSIVE_MINIMUM,
                "%s is not greater than the exclusive minimum %s", sh,
                n->min.text);
  }
  if ((n->flags & KS_JS_N_MAX) && ks__num_cmp(num, &m->max) > 0) {
    shown(e, i, sh, sizeof sh);
    return fail(e, KS_KEYWORD_MAXIMUM, "%s is greater than the maximum %s", sh,
                n->max.text);
  }
  if ((n->flags & KS_JS_N_XMAX) && ks__num_cmp(num, &m->max) >= 0) {
    shown(e, i, sh, sizeof sh);
    return fail(e, KS_KEYWORD_EXCLUSIVE_MAXIMUM,
                "%s is not less than the exclusive maximum %s", sh,
                n->max.text);
  }
  if ((n->flags & KS_JS_N_MULTIPLE) && !ks__num_multiple(num, &m->multiple)) {
    shown(e, i, sh, sizeof sh);
    return fail(e, KS_KEYWORD_MULTIPLE_OF, "%s is not a multiple of %s", sh,
                n->multiple.text);
  }
  return 0;
}


/* A date-time that passes is remembered with its value: the shredder
 * converts the same text next (ks_js_datetime_parsed). */
static int format_ok(ks_js_validator *v, const ks_js_node *n, const uint8_t *p,
                     size_t len) {
  if (n->format != KS_JS_FMT_DATE_TIME)
    return ks__format_check(n->format, p, len, v->rm);
  int64_t us;
  if (ks_datetime_parse((const char *)p, len, &us))
    return 0;
  v->dt_text = p;
  v->dt_len = len;
  v->dt_us = us;
  return 1;
}
static int check_string(ev *e, const ks_js_node *n, uint32_t i) {
  const ks__tok *t = &e->t->tok[i];
  const uint8_t *p = e->t->bytes + t->off;
  char sh[160];
  if ((n->flags & KS_JS_N_MINLEN) && t->ncp < n->min_len)
    return fail(e, KS_KEYWORD_MIN_LENGTH,
                "string of %" PRIu32 " characters is shorter than minLength "
                "%" PRIu64,
                t->ncp, n->min_len);
  if ((n->flags & KS_JS_N_MAXLEN) && t->ncp > n->max_len)
    return fail(e, KS_KEYWORD_MAX_LENGTH,
                "string of %" PRIu32 " characters is longer than maxLength "
                "%" PRIu64,
                t->ncp, n->max_len);
  int m = n->pattern ? ks__regex_search(n->pattern, e->v->rm, p, t->len,
                                        &e->v->budget)
                     : 1;
  if (m == KS__RE_BUDGET || (n->pattern && ks__over_deadline(e->v)))
    return over_budget(e);
  if (m != 1) {
    if (e->quiet)
      return KS_EINVALID;
    ks_js_quote(sh, sizeof sh, p, t->len);
    return fail(e, KS_KEYWORD_PATTERN, "%s does not match the pattern \"%s\"", sh,
                ks__regex_source(n->pattern));
  }
  if (n->format && e->s->format_assertion && !format_ok(e->v, n, p, t->len)) {
    if (e->quiet)
      return KS_EINVALID;
    ks_js_quote(sh, sizeof sh, p, t->len);
    if (n->format == KS_JS_FMT_DATE_TIME)
      return fail(e, KS_KEYWORD_FORMAT,
                  "%s is not a valid date-time (RFC 3339, like "
                  "2024-01-31T12:00:00Z)",
                  sh);
    if (n->format == KS_JS_FMT_DATE)
      return fail(e, KS_KEYWORD_FORMAT, "%s is not a valid date (like 2024-01-31)", sh);
    return fail(e, KS_KEYWORD_FORMAT, "%s is not a valid %s", sh, n->fmt_name);
  }
  return 0;
}

/* ---- containers ---- */

static int has_key(const ks__tape *t, uint32_t obj, const char *name,
                   size_t len) {
  for (uint32_t k = obj + 1; k < t->tok[obj].next; k = t->tok[k + 1].next)
    if (t->tok[k].len == len &&
        memcmp(t->bytes + t->tok[k].off, name, len) == 0)
      return 1;
  return 0;
}

static int push(ev *e, uint32_t seg) {
  if (e->nsegs == SEG_MAX)
    return -1;
  e->segs[e->nsegs++] = seg;
  return 0;
}

static int check_member(ev *e, const ks_js_node *n, uint32_t k) {
  const ks__tape *t = e->t;
  const ks__tok *key = &t->tok[k];
  const uint8_t *kp = t->bytes + key->off;
  int32_t p = ks_js_node_find(n, (const char *)kp, key->len);
  int matched = 0, r;
  if (p >= 0 && !n->props[p].additional) {
    matched = 1;
    if ((r = eval(e, n->props[p].node, k + 1)))
      return r;
  }
  for (uint32_t j = 0; j < n->npprops; j++) {
    int m = ks__regex_search(n->pprops[j].re, e->v->rm, kp, key->len,
                             &e->v->budget);
    if (m == KS__RE_BUDGET || ks__over_deadline(e->v))
      return over_budget(e);
    if (m == 1) {
      matched = 1;
      if ((r = eval(e, n->pprops[j].node, k + 1)))
        return r;
    }
  }
  if (!matched) {
    if (n->additional->flags & KS_JS_N_FALSE)
      return fail(e, KS_KEYWORD_ADDITIONAL_PROPERTIES, "additional property not allowed");
    if ((r = eval(e, n->additional, k + 1)))
      return r;
  }
  if (n->names != &e->s->any && quiet_eval(e, n->names, k)) {
    char sh[160];
    ks_js_quote(sh, sizeof sh, kp, key->len);
    return fail(e, KS_KEYWORD_PROPERTY_NAMES,
                "property name %s does not match propertyNames", sh);
  }
  return 0;
}

static int check_object(ev *e, const ks_js_node *n, uint32_t i) {
  const ks__tape *t = e->t;
  const ks__tok *o = &t->tok[i];
  int r;
  if ((n->flags & KS_JS_N_MINPROPS) && o->len < n->min_props)
    return fail(e, KS_KEYWORD_MIN_PROPERTIES,
                "object has %" PRIu32 " properties, fewer than minProperties "
                "%" PRIu64,
                o->len, n->min_props);
  if ((n->flags & KS_JS_N_MAXPROPS) && o->len > n->max_props)
    return fail(e, KS_KEYWORD_MAX_PROPERTIES,
                "object has %" PRIu32 " properties, more than maxProperties "
                "%" PRIu64,
                o->len, n->max_props);
  for (uint32_t k = 0; k < n->nrequired; k++) {
    const ks_js_prop *p = &n->props[n->required[k]];
    if (!has_key(t, i, p->name, p->len)) {
      char sh[160];
      ks_js_quote(sh, sizeof sh, (const uint8_t *)p->name, p->len);
      return fail(e, KS_KEYWORD_REQUIRED, "missing required property %s", sh);
    }
  }
  int check_members = n->nprops || n->npprops || n->additional != &e->s->any ||
                      n->names != &e->s->any;
  for (uint32_t k = i + 1; check_members && k < o->next;
       k = t->tok[k + 1].next) {
    if (push(e, k))
      return fail(e, KS_KEYWORD_PROPERTIES, "nesting too deep");
    r = check_member(e, n, k);
    e->nsegs--;
    if (r)
      return r;
  }
  for (uint32_t d = 0; d < n->ndeps; d++) {
    const ks__dep *dep = &n->deps[d];
    const ks_js_prop *p = &n->props[dep->prop];
    if (!has_key(t, i, p->name, p->len))
      continue;
    for (uint32_t k = 0; k < dep->nnames; k++) {
      const ks_js_prop *q = &n->props[dep->names[k]];
      if (!has_key(t, i, q->name, q->len)) {
        char a[160], b[160];
        ks_js_quote(a, sizeof a, (const uint8_t *)p->name, p->len);
        ks_js_quote(b, sizeof b, (const uint8_t *)q->name, q->len);
        return fail(e, KS_KEYWORD_DEPENDENCIES, "property %s requires property %s", a,
                    b);
      }
    }
    if (dep->node && (r = eval(e, dep->node, i)))
      return r;
  }
  return 0;
}

static int check_array(ev *e, const ks_js_node *n, uint32_t i) {
  const ks__tape *t = e->t;
  const ks__tok *a = &t->tok[i];
  int r;
  if ((n->flags & KS_JS_N_MINITEMS) && a->len < n->min_items)
    return fail(e, KS_KEYWORD_MIN_ITEMS,
                "array has %" PRIu32 " items, fewer than minItems %" PRIu64,
                a->len, n->min_items);
  if ((n->flags & KS_JS_N_MAXITEMS) && a->len > n->max_items)
    return fail(e, KS_KEYWORD_MAX_ITEMS,
                "array has %" PRIu32 " items, more than maxItems %" PRIu64,
                a->len, n->max_items);
  int arr = (n->flags & KS_JS_N_ITEMS_ARRAY) != 0;
  if (arr || n->items != &e->s->any) {
    uint32_t idx = 0;
    for (uint32_t k = i + 1; k < a->next; k = t->tok[k].next, idx++) {
      const ks_js_node *in = !arr                  ? n->items
                            : idx < n->nitems_arr ? n->items_arr[idx]
                                                  : n->add_items;
      if (push(e, idx | SEG_INDEX))
        return fail(e, KS_KEYWORD_ITEMS, "nesting too deep");
      r = eval(e, in, k);
      e->nsegs--;
      if (r)
        return r;
    }
  }
  if (n->contains) {
    int found = 0;
    for (uint32_t k = i + 1; !found && k < a->next; k = t->tok[k].next)
      found = quiet_eval(e, n->contains, k) == 0;
    if (e->abort)
      return KS_EINVALID;
    if (!found)
      return fail(e, KS_KEYWORD_CONTAINS, "no item matches the contains schema");
  }
  if (n->flags & KS_JS_N_UNIQUE) {
    uint32_t x = 0, y = 0;
    int u = unique_items(e, i, &x, &y);
    if (e->abort)
      return KS_EINVALID;
    if (u)
      return fail(e, KS_KEYWORD_UNIQUE_ITEMS,
                  "items %" PRIu32 " and %" PRIu32 " are equal", x, y);
  }
  return 0;
}

/* ---- applicators ---- */

static int check_applicators(ev *e, const ks_js_node *n, uint32_t i) {
  int r;
  for (uint32_t k = 0; k < n->nall_of; k++)
    if ((r = eval(e, n->all_of[k], i)))
      return r;
  if (n->nany_of) {
    int ok = 0;
    for (uint32_t k = 0; k < n->nany_of && !ok; k++)
      ok = quiet_eval(e, n->any_of[k], i) == 0;
    if (!ok)
      return fail(e, KS_KEYWORD_ANY_OF, "matches none of the anyOf schemas");
  }
  if (n->none_of) {
    int first = -1;
    for (uint32_t k = 0; k < n->none_of; k++) {
      if (quiet_eval(e, n->one_of[k], i))
        continue;
      if (first >= 0)
        return fail(e, KS_KEYWORD_ONE_OF,
                    "matches oneOf schemas %d and %" PRIu32
                    ", exactly one must match",
                    first, k);
      first = (int)k;
    }
    if (first < 0)
      return fail(e, KS_KEYWORD_ONE_OF, "matches none of the oneOf schemas");
  }
  if (n->not_ && quiet_eval(e, n->not_, i) == 0 && !e->abort)
    return fail(e, KS_KEYWORD_NOT, "must not match the schema in \"not\"");
  if (n->if_) {
    const ks_js_node *branch =
        quiet_eval(e, n->if_, i) == 0 ? n->then_ : n->else_;
    if (branch && (r = eval(e, branch, i)))
      return r;
  }
  return e->abort ? KS_EINVALID : 0;
}

static int eval_node(ev *e, const ks_js_node *n, uint32_t i) {
  const ks__tok *t = &e->t->tok[i];
  unsigned kind = t->kind == KS_JS_TK_KEY ? KS_JS_T_STRING : t->kind;
  char sh[160];
  if (n->flags & KS_JS_N_FALSE)
    return fail(e, KS_KEYWORD_FALSE, "no value is allowed here (the schema is false)");
  unsigned ok = kind == KS_JS_T_INTEGER ? KS_JS_T_INTEGER | KS_JS_T_NUMBER : kind;
  if (!(n->types & ok)) {
    if (e->quiet)
      return KS_EINVALID;
    char want[96];
    ks__type_list(n->types, want, sizeof want);
    e->null_type = kind == KS_JS_T_NULL;
    return fail(e, KS_KEYWORD_TYPE, "expected %s, got %s", want, ks__kind_name(kind));
  }
  if (n->flags & (KS_JS_N_ENUM | KS_JS_N_CONST)) {
    const ks__tape et = ks__tape_view(&n->enum_tape);
    ks__tok key_as_str;
    ks__tape kt = *e->t;
    uint32_t ki = i;
    if (t->kind == KS_JS_TK_KEY) { /* propertyNames: the key as a string */
      key_as_str = *t;
      key_as_str.kind = KS_JS_T_STRING;
      kt.tok = &key_as_str;
      ki = 0;
    }
    if ((n->flags & KS_JS_N_CONST) &&
        !ks__tape_equal(&kt, ki, &et, n->const_tok)) {
      if (e->quiet)
        return KS_EINVALID;
      shown(e, i, sh, sizeof sh);
      return fail(e, KS_KEYWORD_CONST, "%s is not the constant value (const)", sh);
    }
    size_t k = 0;
    while (k < n->nenums && !ks__tape_equal(&kt, ki, &et, n->enums[k]))
      k++;
    if ((n->flags & KS_JS_N_ENUM) && k == n->nenums) {
      if (e->quiet)
        return KS_EINVALID;
      shown(e, i, sh, sizeof sh);
      return fail(e, KS_KEYWORD_ENUM, "%s is not one of the allowed values (enum)", sh);
    }
  }
  int r = 0;
  switch (kind) {
  case KS_JS_T_INTEGER:
  case KS_JS_T_NUMBER:
    r = check_number(e, n, i);
    break;
  case KS_JS_T_STRING:
    r = check_string(e, n, i);
    break;
  case KS_JS_T_OBJECT:
    r = check_object(e, n, i);
    break;
  case KS_JS_T_ARRAY:
    r = check_array(e, n, i);
    break;
  }
  if (r)
    return r;
  return check_applicators(e, n, i);
}

static int eval(ev *e, const ks_js_node *n, uint32_t i) {
  n = ks__deref(n);
  if (n == &e->s->any)
    return 0;
  if (e->abort)
    return KS_EINVALID;
  if (e->depth >= EVAL_MAX_DEPTH) {
    e->abort = ABORT_DEPTH;
    return KS_EINVALID;
  }
  if (e->v->budget == 0 ||
      ((e->v->budget & 1023) == 0 && ks__over_deadline(e->v)))
    return over_budget(e);
  e->v->budget--;
  e->depth++;
  int r = eval_node(e, n, i);
  e->depth--;
  return r;
}

int ks__eval(ks_js_validator *v, size_t nseg, const ks_js_node *n,
             const ks__tape *t, uint32_t i, ks_js_num *num0) {
  ev e = {.v = v, .s = v->schema, .t = t, .num0 = num0, .nseg = nseg};
  int r = eval(&e, n, i);
  if (e.abort == ABORT_BUDGET)
    return ks__v_reject(v, KS_EINVALID, nseg, "", KS_KEYWORD_BUDGET,
                        "the record costs more than its validation budget "
                        "(backtracking patterns, uniqueItems over many "
                        "items, or combinators multiplying work)");
  if (e.abort)
    return ks__v_reject(v, KS_EINVALID, nseg, "", KS_KEYWORD_REF,
                        "the schema recurses too deep for this value");
  return r;
}
