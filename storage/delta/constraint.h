/*
 * The SQL expressions of a Delta table's constraints: column invariants
 * (`delta.invariants` in a field's metadata, bare or as Spark's legacy
 * {"expression":{"expression":"..."}} JSON), CHECK constraints
 * (`delta.constraints.<name>` properties) and generated columns
 * (`delta.generationExpression`, checked as `column <=> expression`, as
 * PROTOCOL.md allows a writer instead of computing the value).
 *
 * The evaluator takes the common shapes, not Spark SQL: column names
 * (plain or `quoted`), integer, decimal, string and boolean literals,
 * NULL, + - * on numbers, = == <> != < <= > >= <=>, IS [NOT] NULL,
 * [NOT] IN (literals), [NOT] BETWEEN, AND, OR, NOT and parentheses, with
 * SQL's three-valued logic. Anything else (functions, casts, LIKE, nested
 * fields) fails the parse with a message naming what was not understood,
 * and the table is refused for the feature. Callers: features.c (the
 * append verdict), stages/record (binding columns, evaluating per record).
 */
#ifndef KS_STORAGE_DELTA_CONSTRAINT_H
#define KS_STORAGE_DELTA_CONSTRAINT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_delta_expr ks_delta_expr;

/* A value of a row or of the expression (SQL types reduced to four). */
typedef enum ks_delta_vkind {
  KS_DV_NULL,
  KS_DV_BOOL,
  KS_DV_INT,
  KS_DV_DOUBLE,
  KS_DV_STRING
} ks_delta_vkind;

typedef struct ks_delta_value {
  ks_delta_vkind kind;
  int64_t i; /* BOOL, INT */
  double d;
  const char *s; /* STRING: bytes (not NUL-terminated) */
  size_t n;
} ks_delta_value;

/* 0 and *out, or KS_EUNSUPPORTED with err saying what was not understood. */
int ks_delta_expr_parse(const char *sql, ks_delta_expr **out, char *err,
                        size_t errlen);
void ks_delta_expr_free(ks_delta_expr *e);
/* Distinct column names the expression reads, in first-use order. */
size_t ks_delta_expr_ncols(const ks_delta_expr *e);
const char *ks_delta_expr_col(const ks_delta_expr *e, size_t i);
/* Checks types once the columns' kinds are known (vals[i] for column i,
 * their kind only): 0, or KS_EUNSUPPORTED with err (a comparison of a
 * string with a number, ...). */
int ks_delta_expr_check(const ks_delta_expr *e, const ks_delta_vkind *kinds,
                        char *err, size_t errlen);
/* 1 when the expression is TRUE for the row (vals[i]: column i), 0 when
 * FALSE or NULL (a violation, as Delta counts both). */
int ks_delta_expr_holds(const ks_delta_expr *e, const ks_delta_value *vals);

/* The constraint expressions of a table: from its schemaString's
 * top-level fields and its configuration. names[i] says where expression
 * i comes from ("invariant of column x", "CHECK constraint c", "generated
 * column y"); a generated column's expression is given as
 * "`y` <=> (expr)". Free with ks_delta_constraints_free. Nested fields with
 * one of these fail with KS_EUNSUPPORTED and err. */
typedef struct ks_delta_constraints {
  char **names, **sqls;
  const char **features; /* "invariants", "checkConstraints", ... */
  size_t n;
} ks_delta_constraints;
int ks_delta_constraints_of(const char *schema_string,
                            char *const *conf_keys, char *const *conf_values,
                            size_t nconf, ks_delta_constraints *out,
                            char *err, size_t errlen);
void ks_delta_constraints_free(ks_delta_constraints *c);
/* One string for the whole set (names and expressions), to tell whether
 * it changed; "" for none. Owned by the caller. */
char *ks_delta_constraints_sig(const ks_delta_constraints *c);
struct ks_delta_snapshot;
/* Whether the snapshot's constraints are the set of that signature (NULL:
 * none). */
int ks_delta_constraints_same(const struct ks_delta_snapshot *s,
                              const char *sig);

#endif
