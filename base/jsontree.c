#include "base/jsontree.h"

#include "base/buf.h"
#include "base/jsontext.h"
#include "base/ks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

yajl_val ks_json_tree_parse(const char *text, int max_depth, char *err,
                            size_t errlen) {
  if (text == NULL)
    text = "";
  if (ks_json_too_deep(text, strlen(text), max_depth)) {
    if (err && errlen)
      snprintf(err, errlen, "JSON nested more than %d levels deep", max_depth);
    return NULL;
  }
  return yajl_tree_parse(text, err, errlen);
}

/* yajl_tree_parse allocates with yajl's default allocator (malloc): the
 * nodes, strings, keys and arrays are released here with free(), as
 * yajl_tree_free does, children first pushed onto a growing stack. */
void ks_json_tree_free(yajl_val v) {
  if (v == NULL)
    return;
  size_t cap = 64, n = 0;
  yajl_val *stack = ks_malloc(cap * sizeof *stack);
  stack[n++] = v;
  while (n > 0) {
    yajl_val x = stack[--n];
    size_t kids = 0;
    yajl_val *vals = NULL;
    if (YAJL_IS_OBJECT(x)) {
      kids = x->u.object.len;
      vals = x->u.object.values;
      for (size_t i = 0; i < kids; i++)
        free((void *)x->u.object.keys[i]);
      free((void *)x->u.object.keys);
    } else if (YAJL_IS_ARRAY(x)) {
      kids = x->u.array.len;
      vals = x->u.array.values;
    } else if (YAJL_IS_STRING(x)) {
      free(x->u.string);
    } else if (YAJL_IS_NUMBER(x)) {
      free(x->u.number.r);
    }
    if (kids > cap - n) {
      while (kids > cap - n)
        cap *= 2;
      stack = ks_realloc(stack, cap * sizeof *stack);
    }
    for (size_t i = 0; i < kids; i++)
      if (vals[i])
        stack[n++] = vals[i];
    free(vals);
    free(x);
  }
  ks_free(stack);
}

void ks_json_tree_write(ks_buf *b, yajl_val v) {
  if (YAJL_IS_STRING(v)) {
    const char *x = YAJL_GET_STRING(v);
    ks_buf_append_json_str(b, x, strlen(x));
  } else if (YAJL_IS_NUMBER(v)) {
    ks_buf_append_str(b, v->u.number.r);
  } else if (YAJL_IS_TRUE(v)) {
    ks_buf_append_str(b, "true");
  } else if (YAJL_IS_FALSE(v)) {
    ks_buf_append_str(b, "false");
  } else if (YAJL_IS_OBJECT(v)) {
    ks_buf_append_byte(b, '{');
    for (size_t i = 0; i < v->u.object.len; i++) {
      if (i)
        ks_buf_append_byte(b, ',');
      const char *k = v->u.object.keys[i];
      ks_buf_append_json_str(b, k, strlen(k));
      ks_buf_append_byte(b, ':');
      ks_json_tree_write(b, v->u.object.values[i]);
    }
    ks_buf_append_byte(b, '}');
  } else if (YAJL_IS_ARRAY(v)) {
    ks_buf_append_byte(b, '[');
    for (size_t i = 0; i < v->u.array.len; i++) {
      if (i)
        ks_buf_append_byte(b, ',');
      ks_json_tree_write(b, v->u.array.values[i]);
    }
    ks_buf_append_byte(b, ']');
  } else {
    ks_buf_append_str(b, "null");
  }
}
