/*
 * A yajl_tree-shaped parse of schema documents, built on yajl's streaming
 * parser because yajl_tree's NUL-terminated strings lose everything after
 * an escaped \u0000 ("hello\u0000there" in an enum). Strings and keys
 * carry their byte length in a hidden prefix (ks__jstr_len). Nodes are
 * freed with ks__jtree_free, never yajl_tree_free. Only schemas (loaded
 * once) and test drivers use it: records never become trees.
 */
#include "jsonschema/compile_int.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define JT_MAX_DEPTH 256

typedef struct jt {
  yajl_val stack[JT_MAX_DEPTH + 1];
  char *keys[JT_MAX_DEPTH + 1]; /* pending key of each open object */
  size_t depth;
  yajl_val root;
} jt;

static char *jstr(const char *s, size_t n) {
  char *p = ks_malloc(sizeof(size_t) + n + 1);
  memcpy(p, &n, sizeof n);
  memcpy(p + sizeof n, s, n);
  p[sizeof n + n] = 0;
  return p + sizeof n;
}

size_t ks__jstr_len(const char *s) {
  size_t n;
  memcpy(&n, s - sizeof n, sizeof n);
  return n;
}

static void jstr_free(const char *s) {
  if (s)
    ks_free((char *)s - sizeof(size_t));
}

void ks__jtree_free(yajl_val v) {
  if (v == NULL)
    return;
  switch (v->type) {
  case yajl_t_string:
    jstr_free(v->u.string);
    break;
  case yajl_t_number:
    ks_free(v->u.number.r);
    break;
  case yajl_t_object:
    for (size_t i = 0; i < v->u.object.len; i++) {
      jstr_free(v->u.object.keys[i]);
      ks__jtree_free(v->u.object.values[i]);
    }
    ks_free(v->u.object.keys);
    ks_free(v->u.object.values);
    break;
  case yajl_t_array:
    for (size_t i = 0; i < v->u.array.len; i++)
      ks__jtree_free(v->u.array.values[i]);
    ks_free(v->u.array.values);
    break;
  default:
    break;
  }
  ks_free(v);
}

static int add(jt *t, yajl_val v) {
  if (t->depth == 0) {
    t->root = v;
    return 1;
  }
  yajl_val p = t->stack[t->depth - 1];
  if (p->type == yajl_t_object) {
    size_t n = p->u.object.len;
    p->u.object.keys =
        ks_realloc(p->u.object.keys, (n + 1) * sizeof *p->u.object.keys);
    p->u.object.values =
        ks_realloc(p->u.object.values, (n + 1) * sizeof *p->u.object.values);
    p->u.object.keys[n] = t->keys[t->depth - 1];
    t->keys[t->depth - 1] = NULL;
    p->u.object.values[n] = v;
    p->u.object.len++;
  } else {
    size_t n = p->u.array.len;
    p->u.array.values =
        ks_realloc(p->u.array.values, (n + 1) * sizeof *p->u.array.values);
    p->u.array.values[n] = v;
    p->u.array.len++;
  }
  return 1;
}

static yajl_val node(yajl_type type) {
  yajl_val v = ks_calloc(1, sizeof *v);
  v->type = type;
  return v;
}

static int on_null(void *ctx) {
  return add(ctx, node(yajl_t_null));
}
static int on_bool(void *ctx, int b) {
  return add(ctx, node(b ? yajl_t_true : yajl_t_false));
}
static int on_number(void *ctx, const char *s, size_t n) {
  yajl_val v = node(yajl_t_number);
  v->u.number.r = ks_strndup(s, n);
  return add(ctx, v);
}
static int on_string(void *ctx, const unsigned char *s, size_t n) {
  yajl_val v = node(yajl_t_string);
  v->u.string = jstr((const char *)s, n);
  return add(ctx, v);
}
static int on_key(void *ctx, const unsigned char *s, size_t n) {
  jt *t = ctx;
  jstr_free(t->keys[t->depth - 1]);
  t->keys[t->depth - 1] = jstr((const char *)s, n);
  return 1;
}
static int open_(jt *t, yajl_type type) {
  if (t->depth == JT_MAX_DEPTH)
    return 0;
  yajl_val v = node(type);
  add(t, v);
  t->keys[t->depth] = NULL;
  t->stack[t->depth++] = v;
  return 1;
}
static int on_start_map(void *ctx) {
  return open_(ctx, yajl_t_object);
}
static int on_start_array(void *ctx) {
  return open_(ctx, yajl_t_array);
}
static int on_end(void *ctx) {
  jt *t = ctx;
  t->depth--;
  return 1;
}

static const yajl_callbacks cbs = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

yajl_val ks__jtree_parse(const char *text, size_t len, char *err,
                         size_t errlen) {
  jt *t = ks_calloc(1, sizeof *t);
  yajl_handle h = yajl_alloc(&cbs, NULL, t);
  yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  yajl_val root = t->root;
  if (st != yajl_status_ok || root == NULL) {
    if (t->depth == JT_MAX_DEPTH) {
      snprintf(err, errlen, "nested deeper than %d levels", JT_MAX_DEPTH);
    } else {
      unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)text, len);
      snprintf(err, errlen, "%s", m ? (char *)m : "parse error");
      if (m)
        yajl_free_error(h, m);
    }
    for (size_t i = 0; i <= t->depth && i <= JT_MAX_DEPTH; i++)
      jstr_free(t->keys[i]);
    ks__jtree_free(root);
    root = NULL;
  }
  yajl_free(h);
  ks_free(t);
  return root;
}
