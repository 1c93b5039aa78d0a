/*
 * A table's schemaString read back into a Parquet schema tree, and the
 * comparison of that tree with the tree a new configuration produces
 * (schema evolution at start-up).
 *
 * The rule is deliberately narrow: every column of the table stays, with
 * the same type and the same nullability, at the same place in its
 * struct; the only change allowed is a new nullable field in a struct
 * (top-level, or a struct nested anywhere, also inside lists and maps).
 * That is the change old files can serve without rewriting -- a reader
 * finds no such column in them and reads null -- and that no reader of
 * the old data can misread. A type change (long -> string, or even long
 * -> double: older files would be read with another type), a dropped
 * column (its data would vanish from every reader), a rename (Delta names
 * are case-insensitive: "Id" for "id" is a rename too) or a new required
 * field (old rows have no value for it) is refused with the column's path.
 * Relaxing required -> nullable is refused as well: it would be safe for
 * readers, but Delta writers disagree on whether it changes the table's
 * constraints, and a refusal is simpler to reason about than a partial
 * rule.
 */
#include "storage/delta/delta_int.h"

#include "base/jsontree.h"
#include "base/ks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- schemaString -> tree ------------------------------------------------ */

typedef struct parse_ctx {
  char *err;
  size_t errlen;
  ks_buf path; /* dotted path of the field being read, for messages */
} parse_ctx;

/* The string of a JSON string value, else "". */
static const char *str_of(yajl_val v) {
  return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
}

static const char *path_text(const ks_buf *b) {
  return b->data ? (const char *)b->data : "";
}

static int parse_fail(parse_ctx *c, const char *what) {
  snprintf(c->err, c->errlen, "the table's schemaString: %s%.*s%s%s",
           c->path.len ? "field " : "", (int)c->path.len, path_text(&c->path),
           c->path.len ? ": " : "", what);
  return KS_ECORRUPT;
}

static int primitive(const char *t, ks_coltype *type, int *precision,
                     int *scale) {
  static const struct {
    const char *name;
    ks_coltype type;
  } names[] = {{"long", KS_COL_INT64},    {"integer", KS_COL_INT32},
               {"double", KS_COL_DOUBLE}, {"boolean", KS_COL_BOOLEAN},
               {"string", KS_COL_STRING}, {"timestamp", KS_COL_TIMESTAMP},
               {"date", KS_COL_DATE},     {"byte", KS_COL_INT8},
               {"short", KS_COL_INT16},   {"float", KS_COL_FLOAT},
               {"binary", KS_COL_BINARY},
               {"timestamp_ntz", KS_COL_TIMESTAMP_NTZ}};
  *precision = *scale = 0;
  for (size_t i = 0; i < KS_ARRAY_SIZE(names); i++) {
    if (strcmp(t, names[i].name) == 0) {
      *type = names[i].type;
      return 0;
    }
  }
  char tail;
  if (sscanf(t, "decimal(%d,%d)%c", precision, scale, &tail) == 2 &&
      *precision >= 1 && *precision <= 38 && *scale >= 0 &&
      *scale <= *precision)
    return 0;
  return KS_EUNSUPPORTED;
}

static int add_typed(parse_ctx *c, ks_pq_node *parent, const char *name,
                     int nullable, yajl_val type);

static int add_fields(parse_ctx *c, ks_pq_node *g, yajl_val st) {
  yajl_val fields = ks__delta_json_field(st, "fields");
  if (!YAJL_IS_ARRAY(fields))
    return parse_fail(c, "a struct without a \"fields\" array");
  for (size_t i = 0; i < fields->u.array.len; i++) {
    yajl_val f = fields->u.array.values[i];
    const char *name = str_of(ks__delta_json_field(f, "name"));
    if (name[0] == 0)
      return parse_fail(c, "a field without a name");
    size_t old = c->path.len;
    if (old)
      ks_buf_append_byte(&c->path, '.');
    ks_buf_append_str(&c->path, name);
    int r = 0;
    for (size_t k = 0; r == 0 && k < g->nchildren; k++)
      if (strcasecmp(g->children[k]->name, name) == 0)
        r = parse_fail(c, "a second field of that name (Delta names are "
                          "case-insensitive)");
    if (r == 0)
      r = add_typed(c, g, name,
                    !YAJL_IS_FALSE(ks__delta_json_field(f, "nullable")),
                    ks__delta_json_field(f, "type"));
    c->path.len = old;
    if (r)
      return r;
  }
  return 0;
}

static int add_typed(parse_ctx *c, ks_pq_node *parent, const char *name,
                     int nullable, yajl_val type) {
  ks_pq_repetition rep = nullable ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED;
  if (YAJL_IS_STRING(type)) {
    ks_coltype t;
    int p, s;
    char msg[160];
    if (primitive(YAJL_GET_STRING(type), &t, &p, &s)) {
      snprintf(msg, sizeof msg, "type \"%.64s\" is not one ksink writes",
               YAJL_GET_STRING(type));
      return parse_fail(c, msg);
    }
    if (p)
      ks_pq_add_decimal(parent, name, rep, p, s);
    else
      ks_pq_add_leaf(parent, name, rep, t);
    return 0;
  }
  yajl_val kind = ks__delta_json_field(type, "type");
  const char *k = str_of(kind);
  if (strcmp(k, "struct") == 0)
    return add_fields(c, ks_pq_add_struct(parent, name, rep), type);
  if (strcmp(k, "array") == 0)
    return add_typed(c, ks_pq_add_list(parent, name, rep), "element",
                     !YAJL_IS_FALSE(ks__delta_json_field(type, "containsNull")),
                     ks__delta_json_field(type, "elementType"));
  if (strcmp(k, "map") == 0) {
    yajl_val key = ks__delta_json_field(type, "keyType");
    if (strcmp(str_of(key), "string") != 0)
      return parse_fail(c, "a map whose keys are not strings");
    return add_typed(
        c, ks_pq_add_map(parent, name, rep), "value",
        !YAJL_IS_FALSE(ks__delta_json_field(type, "valueContainsNull")),
        ks__delta_json_field(type, "valueType"));
  }
  return parse_fail(c, "a type that is neither a name nor a struct, array "
                       "or map");
}

int ks_delta_schema_parse(const char *json, ks_pq_schema **out, char *err,
                          size_t errlen) {
  *out = NULL;
  char perr[256];
  yajl_val v = ks_json_tree_parse(json ? json : "", KS_JSON_MAX_DEPTH, perr, sizeof perr);
  if (v == NULL) {
    snprintf(err, errlen, "the table's schemaString is not JSON: %s", perr);
    return KS_ECORRUPT;
  }
  parse_ctx c = {err, errlen, {0}};
  ks_buf_init(&c.path, 0);
  ks_pq_schema *s = ks_pq_schema_new();
  yajl_val kind = ks__delta_json_field(v, "type");
  int r = strcmp(str_of(kind), "struct") == 0
              ? add_fields(&c, ks_pq_schema_root(s), v)
              : parse_fail(&c, "the root is not a struct");
  if (r == 0 && ks_pq_schema_finish(s))
    r = parse_fail(&c, "not a valid Parquet schema (an empty struct, or "
                       "nested too deep)");
  ks_buf_free(&c.path);
  ks_json_tree_free(v);
  if (r) {
    ks_pq_schema_free(s);
    return r;
  }
  *out = s;
  return 0;
}

/* ---- the comparison ------------------------------------------------------ */

typedef struct diff_ctx {
  int add_columns;
  ks_delta_schema_change *d;
  ks_buf path;
} diff_ctx;

static void describe(const ks_pq_node *n, char *out, size_t cap) {
  static const char *const names[] = {
      [KS_COL_BOOLEAN] = "boolean", [KS_COL_INT32] = "integer",
      [KS_COL_INT64] = "long",      [KS_COL_DOUBLE] = "double",
      [KS_COL_STRING] = "string",   [KS_COL_TIMESTAMP] = "timestamp",
      [KS_COL_DATE] = "date",       [KS_COL_INT8] = "byte",
      [KS_COL_INT16] = "short",     [KS_COL_FLOAT] = "float",
      [KS_COL_BINARY] = "binary",   [KS_COL_TIMESTAMP_NTZ] = "timestamp_ntz"};
  if (n->is_leaf && n->precision > 0)
    snprintf(out, cap, "decimal(%d,%d)", n->precision, n->scale);
  else if (n->is_leaf)
    snprintf(out, cap, "%s", names[n->spec.type]);
  else
    snprintf(out, cap, "%s",
             n->group == KS_PQ_LIST  ? "array"
             : n->group == KS_PQ_MAP ? "map"
                                     : "struct");
}

static int refuse(diff_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int refuse(diff_ctx *c, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(c->d->reason, sizeof c->d->reason, "column %.*s: %s",
           (int)c->path.len, path_text(&c->path), msg);
  return KS_ESCHEMA;
}

static void path_push(diff_ctx *c, const char *name, size_t *old) {
  *old = c->path.len;
  if (c->path.len)
    ks_buf_append_byte(&c->path, '.');
  ks_buf_append_str(&c->path, name);
}

static int diff_node(diff_ctx *c, const ks_pq_node *a, const ks_pq_node *b);

static const ks_pq_node *child_named(const ks_pq_node *g, const char *name,
                                     int nocase) {
  for (size_t i = 0; i < g->nchildren; i++)
    if ((nocase ? strcasecmp : strcmp)(g->children[i]->name, name) == 0)
      return g->children[i];
  return NULL;
}

/* A struct's fields match by name; their order is the caller's business
 * (ks_schema_conform puts the table's fields first). */
static int diff_struct(diff_ctx *c, const ks_pq_node *a, const ks_pq_node *b) {
  size_t old;
  int r = 0;
  for (size_t i = 0; r == 0 && i < a->nchildren; i++) {
    const ks_pq_node *ak = a->children[i], *bk;
    path_push(c, ak->name, &old);
    if ((bk = child_named(b, ak->name, 0)))
      r = diff_node(c, ak, bk);
    else if ((bk = child_named(b, ak->name, 1)))
      r = refuse(c,
                 "the schema spells it \"%s\" (Delta names are "
                 "case-insensitive and a column cannot be renamed)",
                 bk->name);
    else
      r = refuse(c, "in the table but not in the schema (a column cannot "
                    "be dropped)");
    c->path.len = old;
  }
  for (size_t i = 0; r == 0 && i < b->nchildren; i++) {
    const ks_pq_node *bk = b->children[i];
    if (child_named(a, bk->name, 1))
      continue; /* the table's, compared above */
    path_push(c, bk->name, &old);
    if (!c->add_columns)
      r = refuse(c, "not in the table (new columns need schema_evolution: "
                    "add_columns)");
    else if (bk->repetition != KS_PQ_OPTIONAL)
      r = refuse(c, "new and required; a column added to a table that has "
                    "rows must be nullable");
    else if (c->d->added++ == 0)
      snprintf(c->d->first_added, sizeof c->d->first_added, "%.*s",
               (int)c->path.len, path_text(&c->path));
    c->path.len = old;
  }
  return r;
}

static int diff_node(diff_ctx *c, const ks_pq_node *a, const ks_pq_node *b) {
  char ta[32], tb[32];
  describe(a, ta, sizeof ta);
  describe(b, tb, sizeof tb);
  if (strcmp(ta, tb) != 0)
    return refuse(c, "the table has %s, the schema gives %s", ta, tb);
  if (a->repetition != b->repetition)
    return refuse(c, "%s in the table, %s in the schema",
                  a->repetition == KS_PQ_OPTIONAL ? "nullable" : "required",
                  b->repetition == KS_PQ_OPTIONAL ? "nullable" : "required");
  if (a->is_leaf)
    return 0;
  if (a->group == KS_PQ_STRUCT)
    return diff_struct(c, a, b);
  /* LIST: list -> element; MAP: key_value -> key, value. The repeated
   * groups have the same shape in both (the writer builds them). */
  const ks_pq_node *ga = a->children[0], *gb = b->children[0];
  size_t old;
  int r = 0;
  for (size_t i = 0; r == 0 && i < ga->nchildren && i < gb->nchildren; i++) {
    path_push(c, gb->children[i]->name, &old);
    r = diff_node(c, ga->children[i], gb->children[i]);
    c->path.len = old;
  }
  return r;
}

int ks_delta_schema_diff(const ks_pq_schema *table, const ks_pq_schema *next,
                         int add_columns, ks_delta_schema_change *d) {
  memset(d, 0, sizeof *d);
  diff_ctx c = {add_columns, d, {0}};
  ks_buf_init(&c.path, 0);
  int r = diff_struct(&c, ks_pq_schema_root((ks_pq_schema *)table),
                      ks_pq_schema_root((ks_pq_schema *)next));
  ks_buf_free(&c.path);
  return r;
}

/* ---- merging schemaStrings ---------------------------------------------- */

/* The struct type of a field's "type", or NULL. */
static yajl_val struct_of(yajl_val type) {
  yajl_val t = ks__delta_json_field(type, "type");
  const char *s = YAJL_IS_STRING(t) ? YAJL_GET_STRING(t) : NULL;
  return s && strcmp(s, "struct") == 0
             ? type
             : NULL;
}

static yajl_val field_named(yajl_val fields, const char *name) {
  for (size_t i = 0; i < fields->u.array.len; i++) {
    yajl_val n = ks__delta_json_field(fields->u.array.values[i], "name");
    const char *s = YAJL_IS_STRING(n) ? YAJL_GET_STRING(n) : NULL;
    if (s && strcmp(s, name) == 0)
      return fields->u.array.values[i];
  }
  return NULL;
}

static int write_new_field(ks_buf *out, yajl_val f, int64_t *next_id);

/* A new type, each field in it new (with ids when asked): a struct's
 * fields, and those of structs inside arrays and maps (elementType,
 * keyType, valueType), at any depth. */
static void write_new_type(ks_buf *out, yajl_val type, int64_t *next_id) {
  if (next_id == NULL || !YAJL_IS_OBJECT(type)) {
    ks__delta_json_write(out, type);
    return;
  }
  int is_struct = struct_of(type) != NULL;
  ks_buf_append_byte(out, '{');
  for (size_t m = 0; m < type->u.object.len; m++) {
    const char *k = type->u.object.keys[m];
    yajl_val v = type->u.object.values[m];
    if (m)
      ks_buf_append_byte(out, ',');
    ks_buf_append_json_str(out, k, strlen(k));
    ks_buf_append_byte(out, ':');
    if (is_struct && strcmp(k, "fields") == 0 && YAJL_IS_ARRAY(v)) {
      ks_buf_append_byte(out, '[');
      for (size_t i = 0; i < v->u.array.len; i++) {
        if (i)
          ks_buf_append_byte(out, ',');
        write_new_field(out, v->u.array.values[i], next_id);
      }
      ks_buf_append_byte(out, ']');
    } else if (strcmp(k, "elementType") == 0 || strcmp(k, "keyType") == 0 ||
               strcmp(k, "valueType") == 0) {
      write_new_type(out, v, next_id);
    } else {
      ks__delta_json_write(out, v);
    }
  }
  ks_buf_append_byte(out, '}');
}

/* A field the table lacks; with next_id (column mapping) it gets the next
 * delta.columnMapping.id and a fresh physical name, as do the fields of a
 * struct it holds (ids in pre-order). */
static int write_new_field(ks_buf *out, yajl_val f, int64_t *next_id) {
  if (next_id == NULL || !YAJL_IS_OBJECT(f)) {
    ks__delta_json_write(out, f);
    return 0;
  }
  int64_t id = (*next_id)++;
  ks_buf_append_byte(out, '{');
  for (size_t m = 0; m < f->u.object.len; m++) {
    const char *k = f->u.object.keys[m];
    if (m)
      ks_buf_append_byte(out, ',');
    ks_buf_append_json_str(out, k, strlen(k));
    ks_buf_append_byte(out, ':');
    yajl_val v = f->u.object.values[m];
    if (strcmp(k, "type") == 0) {
      write_new_type(out, v, next_id);
    } else if (strcmp(k, "metadata") == 0) {
      char uuid[37];
      ks_delta_uuid(uuid);
      ks_buf_appendf(out,
                     "{\"delta.columnMapping.id\":%" PRId64
                     ",\"delta.columnMapping.physicalName\":\"col-%s\"",
                     id, uuid);
      for (size_t x = 0; YAJL_IS_OBJECT(v) && x < v->u.object.len; x++) {
        const char *mk = v->u.object.keys[x];
        if (strncmp(mk, "delta.columnMapping.", 20) == 0)
          continue;
        ks_buf_append_byte(out, ',');
        ks_buf_append_json_str(out, mk, strlen(mk));
        ks_buf_append_byte(out, ':');
        ks__delta_json_write(out, v->u.object.values[x]);
      }
      ks_buf_append_byte(out, '}');
    } else {
      ks__delta_json_write(out, v);
    }
  }
  return ks_buf_append_byte(out, '}');
}

/* Writes struct `t` (as the table states it) with next's extra fields. */
static int merge_struct(ks_buf *out, yajl_val t, yajl_val n,
                        int64_t *next_id) {
  yajl_val tf = ks__delta_json_field(t, "fields");
  yajl_val nf = ks__delta_json_field(n, "fields");
  if (!YAJL_IS_ARRAY(tf) || !YAJL_IS_ARRAY(nf))
    return KS_ECORRUPT;
  ks_buf_append_byte(out, '{');
  for (size_t k = 0; k < t->u.object.len; k++) {
    const char *key = t->u.object.keys[k];
    if (k)
      ks_buf_append_byte(out, ',');
    ks_buf_append_json_str(out, key, strlen(key));
    ks_buf_append_byte(out, ':');
    if (strcmp(key, "fields") != 0) {
      ks__delta_json_write(out, t->u.object.values[k]);
      continue;
    }
    ks_buf_append_byte(out, '[');
    for (size_t i = 0; i < tf->u.array.len; i++) {
      yajl_val f = tf->u.array.values[i];
      yajl_val name = ks__delta_json_field(f, "name");
      yajl_val g = YAJL_IS_STRING(name)
                       ? field_named(nf, YAJL_GET_STRING(name))
                       : NULL;
      yajl_val ts = struct_of(ks__delta_json_field(f, "type"));
      yajl_val ns = g ? struct_of(ks__delta_json_field(g, "type")) : NULL;
      if (i)
        ks_buf_append_byte(out, ',');
      if (ts == NULL || ns == NULL) {
        ks__delta_json_write(out, f);
        continue;
      }
      /* a struct both have: the field as stated, its type merged */
      ks_buf_append_byte(out, '{');
      for (size_t m = 0; m < f->u.object.len; m++) {
        const char *fk = f->u.object.keys[m];
        if (m)
          ks_buf_append_byte(out, ',');
        ks_buf_append_json_str(out, fk, strlen(fk));
        ks_buf_append_byte(out, ':');
        int rc =
            strcmp(fk, "type") == 0 ? merge_struct(out, ts, ns, next_id) : 0;
        if (rc)
          return rc;
        if (strcmp(fk, "type") != 0)
          ks__delta_json_write(out, f->u.object.values[m]);
      }
      ks_buf_append_byte(out, '}');
    }
    size_t n0 = tf->u.array.len;
    for (size_t i = 0; i < nf->u.array.len; i++) {
      yajl_val g = nf->u.array.values[i];
      yajl_val name = ks__delta_json_field(g, "name");
      if (!YAJL_IS_STRING(name) || field_named(tf, YAJL_GET_STRING(name)))
        continue;
      if (n0++)
        ks_buf_append_byte(out, ',');
      write_new_field(out, g, next_id);
    }
    ks_buf_append_byte(out, ']');
  }
  return ks_buf_append_byte(out, '}');
}

int ks_delta_schema_merge(const char *table, const char *next,
                          int64_t *next_id, ks_buf *out) {
  yajl_val t = ks_json_tree_parse(table, KS_JSON_MAX_DEPTH, NULL, 0);
  yajl_val n = ks_json_tree_parse(next, KS_JSON_MAX_DEPTH, NULL, 0);
  int rc = KS_ECORRUPT;
  if (struct_of(t) && struct_of(n)) {
    size_t start = out->len;
    rc = merge_struct(out, t, n, next_id);
    if (rc)
      ks_buf_truncate(out, start);
  }
  ks_json_tree_free(t);
  ks_json_tree_free(n);
  return rc;
}

int64_t ks_delta_schema_max_column_id(const char *schema_string) {
  static const char key[] = "\"delta.columnMapping.id\":";
  int64_t max = 0;
  for (const char *p = schema_string ? strstr(schema_string, key) : NULL; p;
       p = strstr(p + 1, key)) {
    int64_t v = strtoll(p + sizeof key - 1, NULL, 10);
    if (v > max)
      max = v;
  }
  return max;
}
