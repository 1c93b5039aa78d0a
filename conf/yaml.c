/*
 * libyaml events -> a node tree with line numbers. The tree is deliberately
 * plainer than YAML: no anchors, aliases or tags (a config that needs them
 * is too clever to review), one document, unique scalar keys. Everything is
 * rejected here, while the parser still knows where it is, so load.c only
 * deals with shapes and values.
 */
#include "conf/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* Nesting deeper than this is not a config, and a bound keeps a hostile
 * file from growing the stack without limit. */
#define MAX_DEPTH 64

typedef struct frame {
  ks__conf_node *node;
  ks__conf_node *key; /* map: key read, value not yet */
  const char *cur;    /* map: key of the child being filled */
  size_t curidx;      /* seq: index of the child being filled */
} frame;

typedef struct builder {
  const char *name;
  char *err;
  size_t errlen;
  frame stack[MAX_DEPTH];
  int depth;
  ks__conf_node *root;
} builder;

static ks__conf_node *node_new(ks__conf_kind kind, int line) {
  ks__conf_node *n = ks_calloc(1, sizeof *n);
  n->kind = kind;
  n->line = line;
  return n;
}

void ks__conf_node_free(ks__conf_node *n) {
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->n; i++) {
    if (n->keys)
      ks__conf_node_free(n->keys[i]);
    ks__conf_node_free(n->vals[i]);
  }
  ks_free(n->keys);
  ks_free(n->vals);
  ks_free(n->text);
  ks_free(n);
}

static void append(ks__conf_node *parent, ks__conf_node *key,
                   ks__conf_node *val) {
  if (parent->n == parent->cap) {
    parent->cap = parent->cap ? parent->cap * 2 : 4;
    parent->vals = ks_realloc(parent->vals, parent->cap * sizeof *parent->vals);
    if (parent->kind == KS__CONF_MAP)
      parent->keys =
          ks_realloc(parent->keys, parent->cap * sizeof *parent->keys);
  }
  if (parent->kind == KS__CONF_MAP)
    parent->keys[parent->n] = key;
  parent->vals[parent->n++] = val;
}

/* Path of the node about to be added to the top frame; key is the scalar
 * being added as a key, if that is what it is. */
static void cur_path(const builder *b, const char *key, char *out, size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  for (int i = 0; i < b->depth; i++) {
    const frame *f = &b->stack[i];
    int top = i == b->depth - 1;
    int n;
    if (f->node->kind == KS__CONF_SEQ) {
      n = snprintf(out + len, cap - len, "[%zu]", top ? f->node->n : f->curidx);
    } else {
      const char *k = top ? (key ? key : f->key ? f->key->text : NULL) : f->cur;
      if (k == NULL)
        break;
      n = snprintf(out + len, cap - len, "%s%s", len ? "." : "", k);
    }
    if (n < 0 || (size_t)n >= cap - len)
      break;
    len += (size_t)n;
  }
}

static int fail(builder *b, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(builder *b, int line, const char *key, const char *fmt, ...) {
  char path[512], msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cur_path(b, key, path, sizeof path);
  if (path[0])
    snprintf(b->err, b->errlen, "%s:%d: %s: %s", b->name, line, path, msg);
  else
    snprintf(b->err, b->errlen, "%s:%d: %s", b->name, line, msg);
  ks__conf_one_line(b->err);
  return KS_ECONFIG;
}

static int add(builder *b, ks__conf_node *n) {
  if (b->depth == 0) {
    b->root = n;
    return 0;
  }
  frame *f = &b->stack[b->depth - 1];
  if (f->node->kind == KS__CONF_SEQ) {
    f->curidx = f->node->n;
    append(f->node, NULL, n);
    return 0;
  }
  if (f->key == NULL) {
    if (n->kind != KS__CONF_SCALAR) {
      int r = fail(b, n->line, NULL, "expected a plain key, got %s",
                   ks__conf_kind_name(n));
      ks__conf_node_free(n);
      return r;
    }
    for (size_t i = 0; i < f->node->n; i++) {
      if (strcmp(f->node->keys[i]->text, n->text) == 0) {
        int r = fail(b, n->line, n->text,
                     "duplicate key (first defined at line %d)",
                     f->node->keys[i]->line);
        ks__conf_node_free(n);
        return r;
      }
    }
    f->key = n;
    return 0;
  }
  f->cur = f->key->text;
  append(f->node, f->key, n);
  f->key = NULL;
  return 0;
}

static int check_props(builder *b, int line, const yaml_char_t *anchor,
                       const yaml_char_t *tag) {
  if (anchor)
    return fail(b, line, NULL, "YAML anchors are not supported (\"&%s\")",
                (const char *)anchor);
  if (tag)
    return fail(b, line, NULL, "YAML tags are not supported (\"%s\")",
                (const char *)tag);
  return 0;
}

static int push(builder *b, ks__conf_node *n) {
  if (b->depth == MAX_DEPTH) {
    int r = fail(b, n->line, NULL, "nesting deeper than %d levels", MAX_DEPTH);
    ks__conf_node_free(n);
    return r;
  }
  int r = add(b, n);
  if (r)
    return r;
  b->stack[b->depth++] = (frame){.node = n};
  return 0;
}

/* One event into the tree. Returns 1 at the end of the stream. */
static int on_event(builder *b, const yaml_event_t *ev, int *ndocs) {
  int line = (int)ev->start_mark.line + 1;
  int r;
  ks__conf_node *n;
  switch (ev->type) {
  case YAML_DOCUMENT_START_EVENT:
    if (++*ndocs > 1)
      return fail(b, line, NULL,
                  "more than one YAML document (\"---\") is not supported");
    return 0;
  case YAML_STREAM_END_EVENT:
    return 1;
  case YAML_ALIAS_EVENT:
    return fail(b, line, NULL, "YAML aliases are not supported (\"*%s\")",
                (const char *)ev->data.alias.anchor);
  case YAML_SCALAR_EVENT:
    if ((r = check_props(b, line, ev->data.scalar.anchor, ev->data.scalar.tag)))
      return r;
    if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length)
      return fail(b, line, NULL, "value contains a NUL character");
    n = node_new(KS__CONF_SCALAR, line);
    n->text =
        ks_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    return add(b, n);
  case YAML_SEQUENCE_START_EVENT:
    if ((r = check_props(b, line, ev->data.sequence_start.anchor,
                         ev->data.sequence_start.tag)))
      return r;
    return push(b, node_new(KS__CONF_SEQ, line));
  case YAML_MAPPING_START_EVENT:
    if ((r = check_props(b, line, ev->data.mapping_start.anchor,
                         ev->data.mapping_start.tag)))
      return r;
    return push(b, node_new(KS__CONF_MAP, line));
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    b->depth--;
    return 0;
  default: /* stream start, document end, none */
    return 0;
  }
}

int ks__conf_yaml_parse(const char *text, size_t len, const char *name,
                        ks__conf_node **root, char *err, size_t errlen) {
  yaml_parser_t parser;
  builder b = {.name = name, .err = err, .errlen = errlen};
  int ndocs = 0, r = 0;

  *root = NULL;
  if (!yaml_parser_initialize(&parser)) {
    snprintf(err, errlen, "%s: cannot initialize the YAML parser", name);
    return KS_ECONFIG;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      snprintf(err, errlen, "%s:%d: YAML syntax error: %s", name,
               (int)parser.problem_mark.line + 1,
               parser.problem ? parser.problem : "unknown problem");
      ks__conf_one_line(err);
      r = KS_ECONFIG;
      break;
    }
    r = on_event(&b, &ev, &ndocs);
    yaml_event_delete(&ev);
    if (r) {
      if (r == 1)
        r = 0;
      break;
    }
  }
  yaml_parser_delete(&parser);
  /* A pending key belongs to no map yet: free it with the tree. */
  for (int i = 0; i < b.depth; i++)
    if (b.stack[i].key)
      ks__conf_node_free(b.stack[i].key);
  if (r) {
    ks__conf_node_free(b.root);
    return r;
  }
  *root = b.root;
  return 0;
}
