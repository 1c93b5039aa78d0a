/*
 * The compiler: the schema document is parsed with yajl's tree API (it is
 * small and read once) and compiled into a graph of ks_js_node (refs.c
 * resolves $ref and $id). Every
 * draft-07 keyword is compiled; a keyword whose value breaks the
 * meta-schema fails the load with the schema path, so a schema is never
 * half-enforced. Unknown keywords are ignored, as draft-07 requires.
 */
#include "base/file.h"
#include "jsonschema/compile_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KS__SCHEMA_FILE_MAX ((size_t)16 << 20)
#define COMPILE_MAX_DEPTH 200

typedef ks__compiler compiler;

static const char *const type_names[] = {
    "null", "boolean", "integer", "number", "string", "object", "array"};

int ks__cfail(compiler *c, const char *fmt, ...) {
  if (c->err && c->errlen && c->err[0] == 0) {
    ks_buf_cstr(&c->ptr);
    int n = snprintf(c->err, c->errlen, "%s: %s: ", c->s->name,
                     c->ptr.len ? (char *)c->ptr.data : "(root)");
    if (n >= 0 && (size_t)n < c->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return KS_ESCHEMA;
}
#define fail ks__cfail

/* Push "/<token>" (RFC 6901 escaped) onto the pointer; returns the old
 * length to pop back to. */
size_t ks__ptr_push(compiler *c, const char *tok) {
  size_t old = c->ptr.len;
  ks_buf_append_json_pointer(&c->ptr, tok);
  return old;
}

static size_t ptr_push_index(compiler *c, size_t i) {
  char tok[24];
  snprintf(tok, sizeof tok, "%zu", i);
  return ks__ptr_push(c, tok);
}

void ks__ptr_pop(compiler *c, size_t old) {
  c->ptr.len = old;
}

static ks_js_node *node_new(compiler *c) {
  ks_js_schema *s = c->s;
  ks_js_node *n = ks_calloc(1, sizeof *n);
  n->types = KS_JS_T_ALL;
  n->enum_types = KS_JS_T_ALL;
  n->additional = &s->any;
  n->items = &s->any;
  n->add_items = &s->any;
  n->names = &s->any;
  ks__tapebuf_init(&n->enum_tape);
  ks_buf_cstr(&c->ptr);
  n->ptr = ks_strndup(c->ptr.len ? (char *)c->ptr.data : "", c->ptr.len);
  s->nodes = ks_realloc(s->nodes, (s->nnodes + 1) * sizeof *s->nodes);
  n->index = (uint32_t)s->nnodes;
  s->nodes[s->nnodes++] = n;
  return n;
}

static void node_free(ks_js_node *n) {
  for (uint32_t i = 0; i < n->nprops; i++)
    ks_free(n->props[i].name);
  ks_free(n->props);
  ks_free(n->hash);
  ks_free(n->required);
  ks_free(n->pprops);
  for (uint32_t i = 0; i < n->ndeps; i++)
    ks_free(n->deps[i].names);
  ks_free(n->deps);
  ks_free(n->items_arr);
  ks__tapebuf_free(&n->enum_tape);
  ks_free(n->enums);
  ks_free(n->all_of);
  ks_free(n->any_of);
  ks_free(n->one_of);
  ks_free((char *)n->min.text);
  ks_free((char *)n->max.text);
  ks_free((char *)n->multiple.text);
  ks_free(n->fmt_name);
  ks_free(n->ptr);
  ks_free(n);
}

/* A property name's slot hash: the first and last (up to) eight bytes
 * and the length, one multiply round; longer names add their middle a
 * word at a time. Collisions only cost a probe. */
static uint32_t hash_key(const char *k, size_t len) {
  uint64_t a = 0, b = 0;
  if (len >= 8) {
    memcpy(&a, k, 8);
    memcpy(&b, k + len - 8, 8);
    for (size_t i = 8; i + 8 < len; i += 8) {
      uint64_t w;
      memcpy(&w, k + i, 8);
      a = (a ^ w) * 0x9e3779b97f4a7c15ULL;
    }
  } else if (len >= 4) {
    uint32_t x, y;
    memcpy(&x, k, 4);
    memcpy(&y, k + len - 4, 4);
    a = x, b = y;
  } else {
    for (size_t i = 0; i < len; i++)
      a = a << 8 | (uint8_t)k[i];
  }
  uint64_t h = (a ^ (b * 0xbf58476d1ce4e5b9ULL) ^ len) * 0x94d049bb133111ebULL;
  return (uint32_t)(h >> 32);
}

int32_t ks_js_node_find(const ks_js_node *n, const char *key, size_t len) {
  if (n->nprops == 0)
    return -1;
  for (uint32_t h = hash_key(key, len) & n->hmask;; h = (h + 1) & n->hmask) {
    uint32_t e = n->hash[h];
    if (e == 0)
      return -1;
    const ks_js_prop *p = &n->props[e - 1];
    if (p->len == len && ks__key_eq(p->name, key, len))
      return (int32_t)(e - 1);
  }
}

static int prop_add(compiler *c, ks_js_node *n, const char *name,
                    const ks_js_node *child, int additional) {
  if (ks_js_node_find(n, name, strlen(name)) >= 0)
    return fail(c, "property \"%s\" is declared twice", name);
  n->props = ks_realloc(n->props, (n->nprops + 1) * sizeof *n->props);
  ks_js_prop *p = &n->props[n->nprops++];
  p->name = ks_strdup(name);
  p->len = (uint32_t)strlen(name);
  p->additional = (uint32_t)additional;
  p->node = child;
  /* rebuild at load factor <= 1/2; schemas are small and loaded once */
  uint32_t size = 4;
  while (size < n->nprops * 2)
    size *= 2;
  ks_free(n->hash);
  n->hash = ks_calloc(size, sizeof *n->hash);
  n->hmask = size - 1;
  for (uint32_t i = 0; i < n->nprops; i++) {
    uint32_t h = hash_key(n->props[i].name, n->props[i].len) & n->hmask;
    while (n->hash[h])
      h = (h + 1) & n->hmask;
    n->hash[h] = i + 1;
  }
  return 0;
}

/* Index of a property name, added as an additional-governed entry when
 * the schema does not declare it. */
static int prop_index(compiler *c, ks_js_node *n, const char *name,
                      uint32_t *out) {
  int32_t p = ks_js_node_find(n, name, strlen(name));
  if (p < 0) {
    int r = prop_add(c, n, name, &c->s->any, 1);
    if (r)
      return r;
    p = (int32_t)n->nprops - 1;
  }
  *out = (uint32_t)p;
  return 0;
}

static int compile(compiler *c, yajl_val v, const char *base,
                   const ks_js_node **out);

static int compile_type(compiler *c, ks_js_node *n, yajl_val v) {
  unsigned types = 0;
  size_t count = YAJL_IS_ARRAY(v) ? v->u.array.len : 1;
  for (size_t i = 0; i < count; i++) {
    yajl_val t = YAJL_IS_ARRAY(v) ? v->u.array.values[i] : v;
    if (!YAJL_IS_STRING(t))
      return fail(c, "expected a type name or an array of type names");
    size_t k = 0;
    while (k < KS_ARRAY_SIZE(type_names) && strcmp(t->u.string, type_names[k]))
      k++;
    if (k == KS_ARRAY_SIZE(type_names))
      return fail(c,
                  "unknown type \"%s\" (expected one of null, boolean, "
                  "integer, number, string, object, array)",
                  t->u.string);
    if (types & (1u << k))
      return fail(c, "type \"%s\" is listed twice", t->u.string);
    types |= 1u << k;
  }
  n->types = types;
  return 0;
}

/* Records a schema value (enum member, const) on the node's tape. */
static void tape_value(ks__tapebuf *t, yajl_val e) {
  switch (e->type) {
  case yajl_t_null:
    ks__tape_scalar(t, KS_JS_T_NULL, NULL, 0, 0);
    break;
  case yajl_t_true:
  case yajl_t_false:
    ks__tape_scalar(t, KS_JS_T_BOOLEAN, NULL, e->type == yajl_t_true, 0);
    break;
  case yajl_t_string: {
    size_t len = ks__jstr_len(e->u.string), ncp = len;
    ks_utf8_check((const uint8_t *)e->u.string, len, &ncp);
    ks__tape_scalar(t, KS_JS_T_STRING, e->u.string, len, ncp);
    break;
  }
  case yajl_t_number: {
    ks_js_num num;
    ks_js_num_parse(&num, e->u.number.r, strlen(e->u.number.r));
    ks__tape_scalar(t, num.is_int ? KS_JS_T_INTEGER : KS_JS_T_NUMBER, e->u.number.r,
                    strlen(e->u.number.r), 0);
    break;
  }
  case yajl_t_object:
    ks__tape_open(t, KS_JS_T_OBJECT);
    for (size_t i = 0; i < e->u.object.len; i++) {
      const char *k = e->u.object.keys[i];
      ks__tape_scalar(t, KS_JS_TK_KEY, k, ks__jstr_len(k), 0);
      tape_value(t, e->u.object.values[i]);
    }
    ks__tape_close(t);
    break;
  default:
    ks__tape_open(t, KS_JS_T_ARRAY);
    for (size_t i = 0; i < e->u.array.len; i++)
      tape_value(t, e->u.array.values[i]);
    ks__tape_close(t);
    break;
  }
}

/* enum and const share the node's tape; const is one more value on it. */
static int compile_enum(compiler *c, ks_js_node *n, yajl_val v, int is_const) {
  size_t count = is_const ? 1 : YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
  if (!is_const && !YAJL_IS_ARRAY(v))
    return fail(c, "expected an array");
  if (!is_const)
    n->enums = ks_calloc(count ? count : 1, sizeof *n->enums);
  unsigned kinds = 0;
  for (size_t i = 0; i < count; i++) {
    yajl_val e = is_const ? v : v->u.array.values[i];
    uint32_t at = (uint32_t)(n->enum_tape.toks.len / sizeof(ks__tok));
    if (is_const)
      n->const_tok = at;
    else
      n->enums[n->nenums++] = at;
    tape_value(&n->enum_tape, e);
    const ks__tok *t = (const ks__tok *)n->enum_tape.toks.data + at;
    kinds |= t->kind;
    if (t->kind & (KS_JS_T_OBJECT | KS_JS_T_ARRAY))
      n->flags |= KS_JS_N_ENUM_CONTAINER;
  }
  n->enum_types &= kinds;
  n->flags |= is_const ? KS_JS_N_CONST : KS_JS_N_ENUM;
  return 0;
}

static int number(compiler *c, yajl_val v, ks_js_num *out) {
  if (!YAJL_IS_NUMBER(v))
    return fail(c, "expected a number");
  char *text = ks_strdup(v->u.number.r);
  ks_js_num_parse(out, text, strlen(text));
  ks_js_num_double(out);
  return 0;
}

static int nonneg(compiler *c, yajl_val v, uint64_t *out) {
  ks_js_num num;
  if (YAJL_IS_NUMBER(v))
    ks_js_num_parse(&num, v->u.number.r, strlen(v->u.number.r));
  if (!YAJL_IS_NUMBER(v) || !num.fits || num.i < 0)
    return fail(c, "expected a non-negative integer");
  *out = (uint64_t)num.i;
  return 0;
}

static int compile_properties(compiler *c, ks_js_node *n, yajl_val v,
                              const char *base) {
  if (!YAJL_IS_OBJECT(v))
    return fail(c, "expected an object of schemas");
  for (size_t i = 0; i < v->u.object.len; i++) {
    const ks_js_node *child;
    size_t old = ks__ptr_push(c, v->u.object.keys[i]);
    int r = compile(c, v->u.object.values[i], base, &child);
    if (r == 0)
      r = prop_add(c, n, v->u.object.keys[i], child, 0);
    if (r)
      return r;
    ks__ptr_pop(c, old);
  }
  return 0;
}

static ks__regex *regex(compiler *c, const char *pat) {
  char err[200];
  ks__regex *re = ks__regex_new(pat, strlen(pat), err, sizeof err);
  if (re == NULL) {
    fail(c, "invalid regular expression \"%s\": %s", pat, err);
    return NULL;
  }
  ks_js_schema *s = c->s;
  s->regexes = ks_realloc(s->regexes, (s->nregexes + 1) * sizeof *s->regexes);
  s->regexes[s->nregexes++] = re;
  return re;
}

static int compile_pattern_props(compiler *c, ks_js_node *n, yajl_val v,
                                 const char *base) {
  if (!YAJL_IS_OBJECT(v))
    return fail(c, "expected an object of schemas");
  n->pprops = ks_calloc(v->u.object.len + 1, sizeof *n->pprops);
  for (size_t i = 0; i < v->u.object.len; i++) {
    size_t old = ks__ptr_push(c, v->u.object.keys[i]);
    ks__pprop *pp = &n->pprops[n->npprops];
    if ((pp->re = regex(c, v->u.object.keys[i])) == NULL)
      return KS_ESCHEMA;
    int r = compile(c, v->u.object.values[i], base, &pp->node);
    if (r)
      return r;
    n->npprops++;
    ks__ptr_pop(c, old);
  }
  if (c->s->max_set < n->npprops + 1)
    c->s->max_set = n->npprops + 1;
  return 0;
}

static int compile_list(compiler *c, yajl_val v, const char *base,
                        const ks_js_node ***out, uint32_t *nout) {
  if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0)
    return fail(c, "expected a non-empty array of schemas");
  *out = ks_calloc(v->u.array.len, sizeof **out);
  for (size_t i = 0; i < v->u.array.len; i++) {
    size_t old = ptr_push_index(c, i);
    int r = compile(c, v->u.array.values[i], base, &(*out)[i]);
    if (r)
      return r;
    ks__ptr_pop(c, old);
    (*nout)++;
  }
  return 0;
}

static int string_list(compiler *c, ks_js_node *n, yajl_val v, uint32_t **out,
                       uint32_t *nout) {
  if (!YAJL_IS_ARRAY(v))
    return fail(c, "expected an array of property names");
  *out = ks_calloc(v->u.array.len + 1, sizeof **out);
  for (size_t i = 0; i < v->u.array.len; i++) {
    yajl_val e = v->u.array.values[i];
    if (!YAJL_IS_STRING(e))
      return fail(c, "expected an array of property names");
    uint32_t p;
    int r = prop_index(c, n, e->u.string, &p);
    if (r)
      return r;
    for (uint32_t k = 0; k < *nout; k++)
      if ((*out)[k] == p)
        return fail(c, "\"%s\" is listed twice", e->u.string);
    (*out)[(*nout)++] = p;
  }
  return 0;
}

static int compile_deps(compiler *c, ks_js_node *n, yajl_val v,
                        const char *base) {
  if (!YAJL_IS_OBJECT(v))
    return fail(c, "expected an object");
  n->deps = ks_calloc(v->u.object.len + 1, sizeof *n->deps);
  for (size_t i = 0; i < v->u.object.len; i++) {
    size_t old = ks__ptr_push(c, v->u.object.keys[i]);
    ks__dep *d = &n->deps[n->ndeps++];
    int r = prop_index(c, n, v->u.object.keys[i], &d->prop);
    yajl_val dv = v->u.object.values[i];
    if (r == 0 && YAJL_IS_ARRAY(dv))
      r = string_list(c, n, dv, &d->names, &d->nnames);
    else if (r == 0)
      r = compile(c, dv, base, &d->node);
    if (r)
      return r;
    ks__ptr_pop(c, old);
  }
  return 0;
}

static int compile_keyword(compiler *c, ks_js_node *n, const char *k, yajl_val v,
                           const char *base) {
  ks_js_schema *s = c->s;
  if (strcmp(k, "type") == 0)
    return compile_type(c, n, v);
  if (strcmp(k, "properties") == 0)
    return compile_properties(c, n, v, base);
  if (strcmp(k, "patternProperties") == 0)
    return compile_pattern_props(c, n, v, base);
  if (strcmp(k, "additionalProperties") == 0)
    return compile(c, v, base, &n->additional);
  if (strcmp(k, "propertyNames") == 0)
    return compile(c, v, base, &n->names);
  if (strcmp(k, "items") == 0) {
    if (!YAJL_IS_ARRAY(v))
      return compile(c, v, base, &n->items);
    n->flags |= KS_JS_N_ITEMS_ARRAY;
    n->items_arr = ks_calloc(v->u.array.len + 1, sizeof *n->items_arr);
    for (size_t i = 0; i < v->u.array.len; i++) {
      size_t old = ptr_push_index(c, i);
      int r = compile(c, v->u.array.values[i], base, &n->items_arr[i]);
      if (r)
        return r;
      ks__ptr_pop(c, old);
      n->nitems_arr++;
    }
    return 0;
  }
  if (strcmp(k, "additionalItems") == 0)
    return compile(c, v, base, &n->add_items);
  if (strcmp(k, "contains") == 0)
    return compile(c, v, base, &n->contains);
  if (strcmp(k, "enum") == 0)
    return compile_enum(c, n, v, 0);
  if (strcmp(k, "const") == 0)
    return compile_enum(c, n, v, 1);
  static const struct {
    const char *name;
    unsigned flag;
    size_t off;
  } nums[] = {{"minimum", KS_JS_N_MIN, offsetof(ks_js_node, min)},
              {"exclusiveMinimum", KS_JS_N_XMIN, offsetof(ks_js_node, min)},
              {"maximum", KS_JS_N_MAX, offsetof(ks_js_node, max)},
              {"exclusiveMaximum", KS_JS_N_XMAX, offsetof(ks_js_node, max)},
              {"multipleOf", KS_JS_N_MULTIPLE, offsetof(ks_js_node, multiple)}};
  for (size_t i = 0; i < KS_ARRAY_SIZE(nums); i++) {
    if (strcmp(k, nums[i].name))
      continue;
    ks_js_num *dst = (ks_js_num *)((char *)n + nums[i].off);
    ks_js_num val;
    int r = number(c, v, &val);
    if (r)
      return r;
    if (nums[i].flag == KS_JS_N_MULTIPLE && ks_js_num_double(&val) <= 0) {
      ks_free((char *)val.text);
      return fail(c, "expected a number greater than 0");
    }
    /* minimum and exclusiveMinimum together: keep the stricter bound */
    unsigned pair =
        nums[i].flag & (KS_JS_N_MIN | KS_JS_N_XMIN)   ? KS_JS_N_MIN | KS_JS_N_XMIN
        : nums[i].flag & (KS_JS_N_MAX | KS_JS_N_XMAX) ? KS_JS_N_MAX | KS_JS_N_XMAX
                                                  : nums[i].flag;
    if (n->flags & pair) {
      int cmp = ks__num_cmp(&val, dst);
      int lower = pair == (KS_JS_N_MIN | KS_JS_N_XMIN);
      int stricter = lower ? cmp > 0 : cmp < 0;
      if (cmp == 0)
        stricter = (nums[i].flag & (KS_JS_N_XMIN | KS_JS_N_XMAX)) != 0;
      if (!stricter) {
        ks_free((char *)val.text);
        return 0;
      }
      ks_free((char *)dst->text);
      n->flags &= ~pair;
    }
    *dst = val;
    n->flags |= nums[i].flag;
    return 0;
  }
  static const struct {
    const char *name;
    unsigned flag;
    size_t off;
  } counts[] = {
      {"minLength", KS_JS_N_MINLEN, offsetof(ks_js_node, min_len)},
      {"maxLength", KS_JS_N_MAXLEN, offsetof(ks_js_node, max_len)},
      {"minItems", KS_JS_N_MINITEMS, offsetof(ks_js_node, min_items)},
      {"maxItems", KS_JS_N_MAXITEMS, offsetof(ks_js_node, max_items)},
      {"minProperties", KS_JS_N_MINPROPS, offsetof(ks_js_node, min_props)},
      {"maxProperties", KS_JS_N_MAXPROPS, offsetof(ks_js_node, max_props)}};
  for (size_t i = 0; i < KS_ARRAY_SIZE(counts); i++) {
    if (strcmp(k, counts[i].name) == 0) {
      n->flags |= counts[i].flag;
      return nonneg(c, v, (uint64_t *)((char *)n + counts[i].off));
    }
  }
  if (strcmp(k, "uniqueItems") == 0) {
    if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
      return fail(c, "expected true or false");
    if (YAJL_IS_TRUE(v))
      n->flags |= KS_JS_N_UNIQUE;
    return 0;
  }
  if (strcmp(k, "pattern") == 0) {
    if (!YAJL_IS_STRING(v))
      return fail(c, "expected a regular expression string");
    return (n->pattern = regex(c, v->u.string)) ? 0 : KS_ESCHEMA;
  }
  if (strcmp(k, "format") == 0) {
    if (!YAJL_IS_STRING(v))
      return fail(c, "expected a format name");
    n->format = ks__format_id(v->u.string);
    n->fmt_name = ks_strdup(v->u.string);
    return 0;
  }
  if (strcmp(k, "allOf") == 0)
    return compile_list(c, v, base, &n->all_of, &n->nall_of);
  if (strcmp(k, "anyOf") == 0)
    return compile_list(c, v, base, &n->any_of, &n->nany_of);
  if (strcmp(k, "oneOf") == 0)
    return compile_list(c, v, base, &n->one_of, &n->none_of);
  if (strcmp(k, "not") == 0)
    return compile(c, v, base, &n->not_);
  if (strcmp(k, "if") == 0)
    return compile(c, v, base, &n->if_);
  if (strcmp(k, "then") == 0)
    return compile(c, v, base, &n->then_);
  if (strcmp(k, "else") == 0)
    return compile(c, v, base, &n->else_);
  KS_UNUSED(s);
  return 0; /* annotations, definitions (compiled when referenced) and
               unknown keywords */
}

static int compile_ref(compiler *c, ks_js_node *n, yajl_val ref,
                       const char *base) {
  if (!YAJL_IS_STRING(ref))
    return fail(c, "expected a URI reference");
  yajl_val t;
  const char *tbase;
  int r = ks__ref_target(c, base, ref->u.string, &t, &tbase);
  if (r)
    return r;
  ks_buf saved = c->ptr;
  ks_buf_init(&c->ptr, 0);
  const char *h = strchr(ref->u.string, '#');
  ks_buf_append_str(&c->ptr, h && h[1] == '/' ? h + 1 : ref->u.string);
  r = compile(c, t, tbase ? tbase : base, &n->ref);
  if (r == 0) {
    ks_buf_free(&c->ptr);
    c->ptr = saved;
  } else {
    ks_buf_free(&saved); /* keep the target's path for the message */
  }
  return r;
}

static int compile_body(compiler *c, ks_js_node *n, yajl_val v,
                        const char *base) {
  yajl_val required = NULL, deps = NULL;
  /* one value per keyword: a repeated name is ambiguous (RFC 8259 4) */
  for (size_t i = 0; i < v->u.object.len; i++)
    for (size_t k = 0; k < i; k++)
      if (strcmp(v->u.object.keys[i], v->u.object.keys[k]) == 0) {
        size_t old = ks__ptr_push(c, v->u.object.keys[i]);
        int r = fail(c, "keyword appears twice in one schema");
        ks__ptr_pop(c, old);
        return r;
      }
  for (size_t i = 0; i < v->u.object.len; i++) {
    const char *k = v->u.object.keys[i];
    if (strcmp(k, "$ref") == 0) {
      size_t old = ks__ptr_push(c, k);
      int r = compile_ref(c, n, v->u.object.values[i], base);
      if (r)
        return r;
      ks__ptr_pop(c, old);
      return 0; /* draft-07: every sibling of $ref is ignored */
    }
  }
  for (size_t i = 0; i < v->u.object.len; i++) {
    const char *k = v->u.object.keys[i];
    size_t old = ks__ptr_push(c, k);
    int r = 0;
    if (strcmp(k, "required") == 0)
      required = v->u.object.values[i];
    else if (strcmp(k, "dependencies") == 0)
      deps = v->u.object.values[i];
    else
      r = compile_keyword(c, n, k, v->u.object.values[i], base);
    if (r)
      return r;
    ks__ptr_pop(c, old);
  }
  /* after properties: names they do not declare get additional entries */
  if (required) {
    size_t old = ks__ptr_push(c, "required");
    int r = string_list(c, n, required, &n->required, &n->nrequired);
    if (r)
      return r;
    ks__ptr_pop(c, old);
  }
  if (deps) {
    size_t old = ks__ptr_push(c, "dependencies");
    int r = compile_deps(c, n, deps, base);
    if (r)
      return r;
    ks__ptr_pop(c, old);
  }
  if (n->then_ == NULL && n->else_ == NULL)
    n->if_ = NULL; /* "if" alone asserts nothing */
  return 0;
}

static int compile(compiler *c, yajl_val v, const char *base,
                   const ks_js_node **out) {
  if (YAJL_IS_TRUE(v)) {
    *out = &c->s->any;
    return 0;
  }
  ks__vent *e = YAJL_IS_OBJECT(v) ? ks__map_get(c, v, 1) : NULL;
  if (e && e->node) { /* shared by $ref, or a cycle back to an open node */
    *out = e->node;
    return 0;
  }
  ks_js_node *n = node_new(c);
  *out = n;
  if (YAJL_IS_FALSE(v)) {
    n->flags |= KS_JS_N_FALSE;
    n->types = 0;
    n->enum_types = 0;
    return 0;
  }
  if (!YAJL_IS_OBJECT(v))
    return fail(c, "a schema must be an object or a boolean");
  e->node = n;
  if (e->base)
    base = e->base;
  if (++c->depth > COMPILE_MAX_DEPTH)
    return fail(c, "schema nested deeper than %d levels", COMPILE_MAX_DEPTH);
  int r = compile_body(c, n, v, base);
  c->depth--;
  return r;
}

/* Collapses $ref chains so validation follows one pointer, refuses
 * cycles made only of $refs, and marks what streams in one look. */


static int finish(compiler *c) {
  ks_js_schema *s = c->s;
  for (size_t i = 0; i < s->nnodes; i++) {
    ks_js_node *n = s->nodes[i];
    const ks_js_node *t = n->ref;
    for (size_t steps = 0; t && t->ref; steps++) {
      if (steps > s->nnodes) {
        c->ptr.len = 0;
        ks_buf_append_str(&c->ptr, n->ptr);
        return fail(c, "$ref cycle: the reference never reaches a schema");
      }
      t = t->ref;
    }
    n->ref = t;
  }
  for (size_t i = 0; i < s->nnodes; i++) {
    ks_js_node *n = s->nodes[i];
    n->stream = !(n->nall_of || n->nany_of || n->none_of || n->not_ || n->if_ ||
                  n->contains || n->ndeps ||
                  (n->flags & (KS_JS_N_UNIQUE | KS_JS_N_ENUM_CONTAINER)));
    n->simple = 0;
    if (n->nall_of || n->nany_of || n->none_of || n->not_ || n->if_ ||
        (n->flags & (KS_JS_N_FALSE | KS_JS_N_ENUM | KS_JS_N_CONST)))
      continue;
    n->simple = KS_JS_T_NULL | KS_JS_T_BOOLEAN;
    if (!(n->flags & (KS_JS_N_MIN | KS_JS_N_XMIN | KS_JS_N_MAX | KS_JS_N_XMAX |
                      KS_JS_N_MULTIPLE)))
      n->simple |= KS_JS_T_INTEGER | KS_JS_T_NUMBER;
    if (!(n->flags & (KS_JS_N_MINLEN | KS_JS_N_MAXLEN)) && !n->pattern &&
        !(n->format && s->format_assertion))
      n->simple |= KS_JS_T_STRING;
  }
  ks__mark_opaque(s);
  return 0;
}

/* ---- compiling ---- */

static const ks_js_opts default_opts = {.format_assertion = 1};

int ks_js_compile(const char *json, size_t len, const char *name,
                  const ks_js_opts *o, ks_js_schema **out, char *err,
                  size_t errlen) {
  *out = NULL;
  if (o == NULL)
    o = &default_opts;
  if (err && errlen)
    err[0] = 0;
  ks_js_schema *s = ks_calloc(1, sizeof *s);
  s->name = ks_strdup(name ? name : "<schema>");
  s->any.types = KS_JS_T_ALL;
  s->any.enum_types = KS_JS_T_ALL;
  s->any.additional = &s->any;
  s->any.items = &s->any;
  s->any.add_items = &s->any;
  s->any.names = &s->any;
  s->any.stream = 1;
  s->any.simple = KS_JS_T_ALL;
  s->format_assertion = o->format_assertion;
  s->max_set = 1;
  compiler c = {.s = s,
                .err = err,
                .errlen = errlen,
                .remote_dir = o->remote_dir,
                .remote_base = o->remote_base};
  ks_buf_init(&c.ptr, 0);
  yajl_val doc;
  /* the base URI of a schema without $id; relative refs resolve to it */
  int r = ks__doc_add(&c, json, len, "ks:///schema.json", &doc);
  if (r == 0) {
    ks__vent *e = ks__map_get(&c, doc, 0);
    r = compile(&c, doc, e && e->base ? e->base : "ks:///schema.json",
                &s->root);
  }
  if (r == 0)
    r = finish(&c);
  ks__compiler_free(&c);
  if (r) {
    ks_js_free(s);
    return r;
  }
  *out = s;
  return 0;
}

int ks_js_compile_file(const char *path, const ks_js_opts *o,
                       ks_js_schema **out, char *err, size_t errlen) {
  *out = NULL;
  uint8_t *data;
  size_t len;
  int r = ks_read_file(path, KS__SCHEMA_FILE_MAX, &data, &len, NULL, 0);
  if (r) {
    if (r == KS_ETOOBIG)
      snprintf(err, errlen, "%s: schema file larger than 16 MiB", path);
    else
      snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
    return KS_ESCHEMA;
  }
  r = ks_js_compile((const char *)data, len, path, o, out, err, errlen);
  ks_free(data);
  return r;
}

void ks_js_free(ks_js_schema *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->nnodes; i++)
    node_free(s->nodes[i]);
  ks_free(s->nodes);
  for (size_t i = 0; i < s->nregexes; i++)
    ks__regex_free(s->regexes[i]);
  ks_free(s->regexes);
  ks_free(s->name);
  ks_free(s);
}

const char *ks_js_name(const ks_js_schema *s) {
  return s->name;
}
