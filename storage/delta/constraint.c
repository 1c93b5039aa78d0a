/*
 * Constraint expressions (constraint.h): a recursive-descent parser into a
 * small tree, a type check once the columns are bound, and an evaluator
 * with SQL's three-valued logic. Expressions are parsed once per table at
 * start-up; a record costs one walk of the tree.
 */
#include "storage/delta/constraint.h"
#include "storage/delta/delta_int.h"

#include "base/ks.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum op {
  OP_LIT,
  OP_COL,
  OP_NEG,
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_EQ,
  OP_NE,
  OP_LT,
  OP_LE,
  OP_GT,
  OP_GE,
  OP_NSEQ, /* <=> */
  OP_ISNULL,
  OP_NOTNULL,
  OP_IN, /* kids[0] IN kids[1..] */
  OP_AND,
  OP_OR,
  OP_NOT
} op;

typedef struct node node;
struct node {
  op op;
  ks_delta_value lit; /* OP_LIT (strings owned in str) */
  char *str;
  size_t col;         /* OP_COL */
  node **kids;
  size_t nkids;
};

struct ks_delta_expr {
  node *root;
  char **cols;
  size_t ncols;
};

typedef struct parser {
  const char *p;
  ks_delta_expr *e;
  char *err;
  size_t errlen;
  int failed;
} parser;

static void perr(parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void perr(parser *ps, const char *fmt, ...) {
  if (ps->failed)
    return;
  ps->failed = 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->err, ps->errlen, fmt, ap);
  va_end(ap);
}

static node *mk(op o) {
  node *n = ks_calloc(1, sizeof *n);
  n->op = o;
  return n;
}

static void kid(node *n, node *k) {
  n->kids = ks_realloc(n->kids, (n->nkids + 1) * sizeof *n->kids);
  n->kids[n->nkids++] = k;
}

static node *bin(op o, node *a, node *b) {
  node *n = mk(o);
  kid(n, a);
  kid(n, b);
  return n;
}

static void node_free(node *n) {
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->nkids; i++)
    node_free(n->kids[i]);
  ks_free(n->kids);
  ks_free(n->str);
  ks_free(n);
}

static void ws(parser *ps) {
  while (isspace((unsigned char)*ps->p))
    ps->p++;
}

/* A keyword (case-insensitive, not followed by a name character). */
static int kw(parser *ps, const char *k) {
  ws(ps);
  size_t n = strlen(k);
  if (strncasecmp(ps->p, k, n) != 0 ||
      isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_')
    return 0;
  ps->p += n;
  return 1;
}

static int sym(parser *ps, const char *s) {
  ws(ps);
  size_t n = strlen(s);
  if (strncmp(ps->p, s, n) != 0)
    return 0;
  ps->p += n;
  return 1;
}

static node *parse_or(parser *ps);

static size_t col_index(ks_delta_expr *e, const char *name, size_t n) {
  for (size_t i = 0; i < e->ncols; i++)
    if (strlen(e->cols[i]) == n && strncasecmp(e->cols[i], name, n) == 0)
      return i;
  e->cols = ks_realloc(e->cols, (e->ncols + 1) * sizeof *e->cols);
  e->cols[e->ncols] = ks_strndup(name, n);
  return e->ncols++;
}

static int reserved(const char *s, size_t n) {
  static const char *const words[] = {"and", "or",   "not",  "is",
                                      "in",  "null", "true", "false",
                                      "between"};
  for (size_t i = 0; i < KS_ARRAY_SIZE(words); i++)
    if (strlen(words[i]) == n && strncasecmp(words[i], s, n) == 0)
      return 1;
  return 0;
}

static node *primary(parser *ps) {
  ws(ps);
  const char *p = ps->p;
  if (*p == '(') {
    ps->p++;
    node *n = parse_or(ps);
    if (!sym(ps, ")"))
      perr(ps, "a ')' is missing at \"%.20s\"", ps->p);
    return n;
  }
  if (isdigit((unsigned char)*p) ||
      (*p == '.' && isdigit((unsigned char)p[1]))) {
    char *end;
    node *n = mk(OP_LIT);
    long long v = strtoll(p, &end, 10);
    if (*end == '.' || *end == 'e' || *end == 'E') {
      n->lit.kind = KS_DV_DOUBLE;
      n->lit.d = strtod(p, &end);
    } else {
      n->lit.kind = KS_DV_INT;
      n->lit.i = v;
    }
    /* Spark's typed literal suffixes: 1L, 1.5D, ... */
    if (*end && strchr("LlSsYyDdFf", *end) && !isalnum((unsigned char)end[1]))
      end++;
    if (isalpha((unsigned char)*end) || *end == '_')
      perr(ps, "a number ksink does not read: \"%.20s\"", p);
    ps->p = end;
    return n;
  }
  if (*p == '\'' || *p == '"') {
    char q = *p++;
    ks_buf b;
    ks_buf_init(&b, 0);
    for (; *p && *p != q; p++) {
      if (*p == '\\' && p[1])
        p++;
      ks_buf_append_byte(&b, (uint8_t)*p);
    }
    if (*p != q)
      perr(ps, "a string literal is not closed");
    ps->p = *p ? p + 1 : p;
    node *n = mk(OP_LIT);
    n->lit.kind = KS_DV_STRING;
    n->lit.n = b.len;
    ks_buf_cstr(&b);
    n->str = (char *)ks_buf_steal(&b, NULL);
    n->lit.s = n->str;
    ks_buf_free(&b);
    return n;
  }
  if (kw(ps, "null")) {
    node *n = mk(OP_LIT);
    n->lit.kind = KS_DV_NULL;
    return n;
  }
  if (kw(ps, "true") || kw(ps, "false")) {
    node *n = mk(OP_LIT);
    n->lit.kind = KS_DV_BOOL;
    n->lit.i = tolower((unsigned char)*p) == 't';
    return n;
  }
  if (*p == '`') {
    const char *end = strchr(p + 1, '`');
    if (end == NULL) {
      perr(ps, "a `quoted` name is not closed");
      return mk(OP_LIT);
    }
    node *n = mk(OP_COL);
    n->col = col_index(ps->e, p + 1, (size_t)(end - p - 1));
    ps->p = end + 1;
    if (*ps->p == '.')
      perr(ps, "a nested field (%.*s.…): only top-level columns",
           (int)(end - p + 1), p);
    return n;
  }
  if (isalpha((unsigned char)*p) || *p == '_') {
    const char *s = p;
    while (isalnum((unsigned char)*p) || *p == '_')
      p++;
    size_t n = (size_t)(p - s);
    ps->p = p;
    ws(ps);
    if (*ps->p == '(') {
      perr(ps, "a function call (%.*s(...)), which ksink does not evaluate",
           (int)n, s);
      return mk(OP_LIT);
    }
    if (*ps->p == '.') {
      perr(ps, "a nested field (%.*s.…): only top-level columns", (int)n, s);
      return mk(OP_LIT);
    }
    if (reserved(s, n)) {
      perr(ps, "\"%.*s\" where a value was expected", (int)n, s);
      return mk(OP_LIT);
    }
    node *c = mk(OP_COL);
    c->col = col_index(ps->e, s, n);
    return c;
  }
  perr(ps, "%s where a value was expected",
       *p ? "an operator ksink does not read" : "the end");
  return mk(OP_LIT);
}

static node *unary(parser *ps) {
  if (sym(ps, "-")) {
    node *n = mk(OP_NEG);
    kid(n, unary(ps));
    return n;
  }
  return primary(ps);
}

static node *mul(parser *ps) {
  node *n = unary(ps);
  while (!ps->failed && sym(ps, "*"))
    n = bin(OP_MUL, n, unary(ps));
  ws(ps);
  if (*ps->p == '/' || *ps->p == '%')
    perr(ps, "'%c', which ksink does not evaluate", *ps->p);
  return n;
}

static node *add(parser *ps) {
  node *n = mul(ps);
  for (;;) {
    if (ps->failed)
      return n;
    if (sym(ps, "+"))
      n = bin(OP_ADD, n, mul(ps));
    else if (sym(ps, "-"))
      n = bin(OP_SUB, n, mul(ps));
    else
      return n;
  }
}

static node *negate(node *n) {
  node *x = mk(OP_NOT);
  kid(x, n);
  return x;
}

static node *pred(parser *ps) {
  node *a = add(ps);
  if (ps->failed)
    return a;
  static const struct {
    const char *s;
    op o;
  } cmp[] = {{"<=>", OP_NSEQ}, {"<=", OP_LE}, {">=", OP_GE}, {"<>", OP_NE},
             {"!=", OP_NE},    {"==", OP_EQ}, {"=", OP_EQ},  {"<", OP_LT},
             {">", OP_GT}};
  for (size_t i = 0; i < KS_ARRAY_SIZE(cmp); i++)
    if (sym(ps, cmp[i].s))
      return bin(cmp[i].o, a, add(ps));
  if (kw(ps, "is")) {
    int not = kw(ps, "not");
    if (!kw(ps, "null"))
      perr(ps, "IS without NULL");
    node *n = mk(not ? OP_NOTNULL : OP_ISNULL);
    kid(n, a);
    return n;
  }
  const char *at = ps->p;
  int not = kw(ps, "not");
  if (kw(ps, "in")) {
    node *n = mk(OP_IN);
    kid(n, a);
    if (!sym(ps, "("))
      perr(ps, "IN without a '(' list");
    do {
      kid(n, add(ps));
    } while (!ps->failed && sym(ps, ","));
    if (!sym(ps, ")"))
      perr(ps, "an IN list is not closed");
    return not ? negate(n) : n;
  }
  if (kw(ps, "between")) {
    node *lo = add(ps);
    if (!kw(ps, "and"))
      perr(ps, "BETWEEN without AND");
    node *hi = add(ps);
    /* a copy of a for the second comparison: columns are leaves */
    node *a2 = mk(a->op);
    a2->col = a->col;
    if (a->op != OP_COL && a->op != OP_LIT)
      perr(ps, "BETWEEN on an expression: write two comparisons");
    a2->lit = a->lit;
    if (a->str) {
      a2->str = ks_strndup(a->str, a->lit.n);
      a2->lit.s = a2->str;
    }
    node *n = bin(OP_AND, bin(OP_GE, a, lo), bin(OP_LE, a2, hi));
    return not ? negate(n) : n;
  }
  if (not)
    ps->p = at;
  return a;
}

static node *parse_not(parser *ps) {
  if (kw(ps, "not"))
    return negate(parse_not(ps));
  return pred(ps);
}

static node *parse_and(parser *ps) {
  node *n = parse_not(ps);
  while (!ps->failed && kw(ps, "and"))
    n = bin(OP_AND, n, parse_not(ps));
  return n;
}

static node *parse_or(parser *ps) {
  node *n = parse_and(ps);
  while (!ps->failed && kw(ps, "or"))
    n = bin(OP_OR, n, parse_and(ps));
  return n;
}

int ks_delta_expr_parse(const char *sql, ks_delta_expr **out, char *err,
                        size_t errlen) {
  ks_delta_expr *e = ks_calloc(1, sizeof *e);
  parser ps = {sql ? sql : "", e, err, errlen, 0};
  e->root = parse_or(&ps);
  ws(&ps);
  if (!ps.failed && *ps.p)
    perr(&ps, "\"%.20s\" after the expression (an operator ksink does not "
              "read)",
         ps.p);
  if (ps.failed) {
    ks_delta_expr_free(e);
    *out = NULL;
    return KS_EUNSUPPORTED;
  }
  *out = e;
  return 0;
}

void ks_delta_expr_free(ks_delta_expr *e) {
  if (e == NULL)
    return;
  node_free(e->root);
  for (size_t i = 0; i < e->ncols; i++)
    ks_free(e->cols[i]);
  ks_free(e->cols);
  ks_free(e);
}

size_t ks_delta_expr_ncols(const ks_delta_expr *e) {
  return e->ncols;
}

const char *ks_delta_expr_col(const ks_delta_expr *e, size_t i) {
  return e->cols[i];
}

/* ---- types ---------------------------------------------------------------- */

/* KS_DV_NULL: any (a NULL literal); -1: error (in err). Numbers are INT or
 * DOUBLE, both "numeric". */
static int numeric(int k) {
  return k == KS_DV_INT || k == KS_DV_DOUBLE;
}

static int type_of(const node *n, const ks_delta_vkind *kinds, char *err,
                   size_t errlen) {
  int a, b;
  switch (n->op) {
  case OP_LIT: return n->lit.kind;
  case OP_COL: return kinds[n->col];
  default: break;
  }
  int k[64];
  size_t nk = n->nkids < 64 ? n->nkids : 64;
  for (size_t i = 0; i < nk; i++)
    if ((k[i] = type_of(n->kids[i], kinds, err, errlen)) < 0)
      return -1;
  a = nk > 0 ? k[0] : KS_DV_NULL;
  b = nk > 1 ? k[1] : KS_DV_NULL;
  switch (n->op) {
  case OP_NEG:
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
    for (size_t i = 0; i < nk; i++)
      if (k[i] != KS_DV_NULL && !numeric(k[i])) {
        snprintf(err, errlen, "arithmetic on a non-number");
        return -1;
      }
    return a == KS_DV_DOUBLE || b == KS_DV_DOUBLE ? KS_DV_DOUBLE : KS_DV_INT;
  case OP_AND:
  case OP_OR:
  case OP_NOT:
    for (size_t i = 0; i < nk; i++)
      if (k[i] != KS_DV_NULL && k[i] != KS_DV_BOOL) {
        snprintf(err, errlen, "AND, OR or NOT over a non-boolean");
        return -1;
      }
    return KS_DV_BOOL;
  case OP_ISNULL:
  case OP_NOTNULL: return KS_DV_BOOL;
  default: /* comparisons, IN */
    for (size_t i = 1; i < nk; i++) {
      int x = k[0], y = k[i];
      if (x != KS_DV_NULL && y != KS_DV_NULL && x != y &&
          !(numeric(x) && numeric(y))) {
        snprintf(err, errlen, "a comparison of a %s with a %s",
                 x == KS_DV_STRING ? "string" : numeric(x) ? "number" : "boolean",
                 y == KS_DV_STRING ? "string" : numeric(y) ? "number" : "boolean");
        return -1;
      }
    }
    return KS_DV_BOOL;
  }
}

int ks_delta_expr_check(const ks_delta_expr *e, const ks_delta_vkind *kinds,
                        char *err, size_t errlen) {
  int t = type_of(e->root, kinds, err, errlen);
  if (t < 0)
    return KS_EUNSUPPORTED;
  if (t != KS_DV_BOOL && t != KS_DV_NULL) {
    snprintf(err, errlen, "the expression is not a condition (true/false)");
    return KS_EUNSUPPORTED;
  }
  return 0;
}

/* ---- evaluation ----------------------------------------------------------- */

static ks_delta_value vnull(void) {
  ks_delta_value v = {KS_DV_NULL, 0, 0, NULL, 0};
  return v;
}

static ks_delta_value vbool(int b) {
  ks_delta_value v = {KS_DV_BOOL, b != 0, 0, NULL, 0};
  return v;
}

static double as_double(const ks_delta_value *v) {
  return v->kind == KS_DV_DOUBLE ? v->d : (double)v->i;
}

/* <0, 0, >0 (values of compatible kinds, neither NULL). */
static int compare(const ks_delta_value *a, const ks_delta_value *b) {
  if (a->kind == KS_DV_STRING) {
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->s, b->s, n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
  }
  if (a->kind == KS_DV_INT && b->kind == KS_DV_INT)
    return (a->i > b->i) - (a->i < b->i);
  if (a->kind == KS_DV_BOOL)
    return (int)(a->i - b->i);
  double x = as_double(a), y = as_double(b);
  return (x > y) - (x < y);
}

static ks_delta_value eval(const node *n, const ks_delta_value *vals) {
  ks_delta_value a, b;
  switch (n->op) {
  case OP_LIT: return n->lit;
  case OP_COL: return vals[n->col];
  case OP_NEG:
    a = eval(n->kids[0], vals);
    if (a.kind == KS_DV_INT && a.i == INT64_MIN)
      return vnull(); /* overflow, as for + - * */
    if (a.kind == KS_DV_INT)
      a.i = -a.i;
    else if (a.kind == KS_DV_DOUBLE)
      a.d = -a.d;
    return a;
  case OP_AND:
  case OP_OR: {
    int is_and = n->op == OP_AND;
    a = eval(n->kids[0], vals);
    if (a.kind == KS_DV_BOOL && a.i == !is_and)
      return a; /* FALSE AND x, TRUE OR x */
    b = eval(n->kids[1], vals);
    if (b.kind == KS_DV_BOOL && b.i == !is_and)
      return b;
    if (a.kind == KS_DV_NULL || b.kind == KS_DV_NULL)
      return vnull();
    return vbool(is_and);
  }
  case OP_NOT:
    a = eval(n->kids[0], vals);
    return a.kind == KS_DV_NULL ? a : vbool(!a.i);
  case OP_ISNULL:
  case OP_NOTNULL:
    a = eval(n->kids[0], vals);
    return vbool((a.kind == KS_DV_NULL) == (n->op == OP_ISNULL));
  case OP_IN: {
    a = eval(n->kids[0], vals);
    if (a.kind == KS_DV_NULL)
      return a;
    int saw_null = 0;
    for (size_t i = 1; i < n->nkids; i++) {
      b = eval(n->kids[i], vals);
      if (b.kind == KS_DV_NULL)
        saw_null = 1;
      else if (compare(&a, &b) == 0)
        return vbool(1);
    }
    return saw_null ? vnull() : vbool(0);
  }
  default: break;
  }
  a = eval(n->kids[0], vals);
  b = eval(n->kids[1], vals);
  if (n->op == OP_NSEQ) {
    if (a.kind == KS_DV_NULL || b.kind == KS_DV_NULL)
      return vbool(a.kind == b.kind);
    return vbool(compare(&a, &b) == 0);
  }
  if (a.kind == KS_DV_NULL || b.kind == KS_DV_NULL)
    return vnull();
  switch (n->op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL: {
    ks_delta_value r = {KS_DV_INT, 0, 0, NULL, 0};
    if (a.kind == KS_DV_INT && b.kind == KS_DV_INT) {
      int64_t x;
      int ovf = n->op == OP_ADD   ? __builtin_add_overflow(a.i, b.i, &x)
                : n->op == OP_SUB ? __builtin_sub_overflow(a.i, b.i, &x)
                                  : __builtin_mul_overflow(a.i, b.i, &x);
      if (ovf)
        return vnull(); /* overflow: no value, so the check fails */
      r.i = x;
      return r;
    }
    double x = as_double(&a), y = as_double(&b);
    r.kind = KS_DV_DOUBLE;
    r.d = n->op == OP_ADD ? x + y : n->op == OP_SUB ? x - y : x * y;
    return r;
  }
  default: break;
  }
  int c = compare(&a, &b);
  switch (n->op) {
  case OP_EQ: return vbool(c == 0);
  case OP_NE: return vbool(c != 0);
  case OP_LT: return vbool(c < 0);
  case OP_LE: return vbool(c <= 0);
  case OP_GT: return vbool(c > 0);
  default: return vbool(c >= 0);
  }
}

int ks_delta_expr_holds(const ks_delta_expr *e, const ks_delta_value *vals) {
  ks_delta_value v = eval(e->root, vals);
  return v.kind == KS_DV_BOOL && v.i;
}

/* ---- a table's constraints ------------------------------------------------ */

static void push(ks_delta_constraints *c, const char *feature, char *name,
                 char *sql) {
  c->names = ks_realloc(c->names, (c->n + 1) * sizeof *c->names);
  c->sqls = ks_realloc(c->sqls, (c->n + 1) * sizeof *c->sqls);
  c->features = ks_realloc(c->features, (c->n + 1) * sizeof *c->features);
  c->names[c->n] = name;
  c->sqls[c->n] = sql;
  c->features[c->n] = feature;
  c->n++;
}

static const char *const keys[] = {"delta.invariants",
                                   "delta.generationExpression"};

/* Whether a struct/array/map type below holds a constraint key anywhere. */
static int nested_has(yajl_val type) {
  if (!YAJL_IS_OBJECT(type))
    return 0;
  for (size_t i = 0; i < type->u.object.len; i++) {
    yajl_val v = type->u.object.values[i];
    const char *k = type->u.object.keys[i];
    if (strcmp(k, "metadata") == 0 && YAJL_IS_OBJECT(v))
      for (size_t j = 0; j < KS_ARRAY_SIZE(keys); j++)
        if (ks__delta_json_field(v, keys[j]))
          return 1;
    if (YAJL_IS_OBJECT(v) && nested_has(v))
      return 1;
    if (YAJL_IS_ARRAY(v))
      for (size_t j = 0; j < v->u.array.len; j++)
        if (nested_has(v->u.array.values[j]))
          return 1;
  }
  return 0;
}

int ks_delta_constraints_of(const char *schema_string,
                            char *const *conf_keys, char *const *conf_values,
                            size_t nconf, ks_delta_constraints *out,
                            char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < nconf; i++) {
    static const char pre[] = "delta.constraints.";
    if (strncmp(conf_keys[i], pre, sizeof pre - 1) != 0)
      continue;
    ks_buf b;
    ks_buf_init(&b, 0);
    ks_buf_appendf(&b, "CHECK constraint %s", conf_keys[i] + sizeof pre - 1);
    ks_buf_cstr(&b);
    push(out, "checkConstraints", (char *)ks_buf_steal(&b, NULL),
         ks_strdup(conf_values[i] ? conf_values[i] : ""));
    ks_buf_free(&b);
  }
  yajl_val root = schema_string ? yajl_tree_parse(schema_string, NULL, 0)
                                : NULL;
  yajl_val fields = ks__delta_json_field(root, "fields");
  int rc = 0;
  for (size_t i = 0; rc == 0 && YAJL_IS_ARRAY(fields) &&
                     i < fields->u.array.len;
       i++) {
    yajl_val f = fields->u.array.values[i];
    yajl_val name = ks__delta_json_field(f, "name");
    yajl_val md = ks__delta_json_field(f, "metadata");
    const char *nm = YAJL_IS_STRING(name) ? YAJL_GET_STRING(name) : "";
    if (nested_has(ks__delta_json_field(f, "type"))) {
      snprintf(err, errlen,
               "a nested field of column %s has an invariant or a "
               "generation expression: only top-level columns are checked",
               nm);
      rc = KS_EUNSUPPORTED;
      break;
    }
    yajl_val inv = ks__delta_json_field(md, "delta.invariants");
    if (YAJL_IS_STRING(inv)) {
      /* Spark's legacy form: {"expression":{"expression":"..."}} */
      const char *text = YAJL_GET_STRING(inv);
      char *sql = NULL;
      yajl_val j = text[0] == '{' ? yajl_tree_parse(text, NULL, 0) : NULL;
      yajl_val x = ks__delta_json_field(ks__delta_json_field(j, "expression"),
                                        "expression");
      sql = ks_strdup(YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : text);
      if (j)
        yajl_tree_free(j);
      ks_buf b;
      ks_buf_init(&b, 0);
      ks_buf_appendf(&b, "invariant of column %s", nm);
      ks_buf_cstr(&b);
      push(out, "invariants", (char *)ks_buf_steal(&b, NULL), sql);
      ks_buf_free(&b);
    }
    yajl_val gen = ks__delta_json_field(md, "delta.generationExpression");
    if (YAJL_IS_STRING(gen)) {
      ks_buf b, s;
      ks_buf_init(&b, 0);
      ks_buf_init(&s, 0);
      ks_buf_appendf(&b, "generated column %s", nm);
      ks_buf_appendf(&s, "`%s` <=> (%s)", nm, YAJL_GET_STRING(gen));
      ks_buf_cstr(&b);
      ks_buf_cstr(&s);
      push(out, "generatedColumns", (char *)ks_buf_steal(&b, NULL),
           (char *)ks_buf_steal(&s, NULL));
      ks_buf_free(&b);
      ks_buf_free(&s);
    }
  }
  if (root)
    yajl_tree_free(root);
  if (rc)
    ks_delta_constraints_free(out);
  return rc;
}

char *ks_delta_constraints_sig(const ks_delta_constraints *c) {
  ks_buf b;
  ks_buf_init(&b, 0);
  for (size_t i = 0; i < c->n; i++)
    ks_buf_appendf(&b, "%s\n%s\n", c->names[i], c->sqls[i]);
  ks_buf_cstr(&b);
  char *s = (char *)ks_buf_steal(&b, NULL);
  ks_buf_free(&b);
  return s;
}

int ks_delta_constraints_same(const ks_delta_snapshot *s, const char *sig) {
  if (!s->has_metadata)
    return 1;
  ks_delta_constraints cs;
  char why[300];
  char *now = NULL;
  if (ks_delta_constraints_of(s->metadata.schema_string, s->metadata.conf_keys,
                              s->metadata.conf_values, s->metadata.nconf, &cs,
                              why, sizeof why) == 0) {
    now = ks_delta_constraints_sig(&cs);
    ks_delta_constraints_free(&cs);
  }
  int same = now && strcmp(now, sig ? sig : "") == 0;
  ks_free(now);
  return same;
}

int ks__delta_commit_checked(const ks_delta_snapshot *s,
                             const ks_delta_commit_req *req) {
  int new_rows = 0;
  for (size_t i = 0; i < req->nadds; i++)
    new_rows |= !req->adds[i].no_data_change;
  return !new_rows || ks_delta_constraints_same(s, req->constraints_sig);
}

int64_t ks__delta_first_ict(const uint8_t *data, size_t len) {
  static const char key[] = "\"inCommitTimestamp\":";
  const uint8_t *nl = memchr(data, '\n', len);
  size_t n = nl ? (size_t)(nl - data) : len;
  char *line = ks_strndup((const char *)data, n);
  const char *p = strstr(line, "\"commitInfo\"") ? strstr(line, key) : NULL;
  int64_t ict = p ? strtoll(p + sizeof key - 1, NULL, 10) : -1;
  ks_free(line);
  return ict;
}

void ks_delta_constraints_free(ks_delta_constraints *c) {
  for (size_t i = 0; i < c->n; i++) {
    ks_free(c->names[i]);
    ks_free(c->sqls[i]);
  }
  ks_free(c->names);
  ks_free(c->sqls);
  ks_free(c->features);
  memset(c, 0, sizeof *c);
}
