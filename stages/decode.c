/*
 * One pass per record: yajl's callbacks drive the validator (validate.c)
 * and append each value to its column as soon as it is accepted. A value
 * at depth 1 under a declared property goes to that property's column;
 * nested values, and properties of mixed type, are re-serialized as
 * compact JSON text straight into the column's values buffer. Anything
 * else (undeclared properties that additionalProperties allows) is
 * validated and dropped.
 *
 * yajl 2.1 cannot reset a handle, so each record gets a fresh one from a
 * per-decoder arena: yajl's allocations (handle, lexer, state stack, the
 * buffer for unescaped strings) are bump-allocated and all dropped at the
 * next record. In the steady state a record costs no malloc at all.
 */
#include "stages/datetime.h"
#include "stages/schema_int.h"
#include "stages/utf8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/* ---- arena for yajl ---- */

#define ARENA_HDR 16
#define ARENA_INIT ((size_t)8 << 10)
#define ARENA_MAX ((size_t)1 << 20) /* past this, big records spill */

typedef struct ks__arena {
  uint8_t *mem;
  size_t cap, used, last;
  void **spills; /* blocks that did not fit, freed at reset */
  size_t nspills, spills_cap, spilled;
} ks__arena;

static size_t align16(size_t n) {
  return (n + 15) & ~(size_t)15;
}

static void *arena_malloc(void *ctx, size_t n) {
  ks__arena *a = ctx;
  size_t need = ARENA_HDR + align16(n);
  uint8_t *p;
  if (need <= a->cap - a->used) {
    p = a->mem + a->used;
    a->last = a->used;
    a->used += need;
  } else {
    p = ks_malloc(ARENA_HDR + n);
    if (a->nspills == a->spills_cap) {
      a->spills_cap = a->spills_cap ? a->spills_cap * 2 : 8;
      a->spills = ks_realloc(a->spills, a->spills_cap * sizeof *a->spills);
    }
    a->spills[a->nspills++] = p;
    a->spilled += need;
  }
  memcpy(p, &n, sizeof n);
  return p + ARENA_HDR;
}

static void *arena_realloc(void *ctx, void *ptr, size_t n) {
  ks__arena *a = ctx;
  if (ptr == NULL)
    return arena_malloc(ctx, n);
  uint8_t *p = (uint8_t *)ptr - ARENA_HDR;
  size_t old;
  memcpy(&old, p, sizeof old);
  if (n <= old)
    return ptr;
  /* the newest block grows in place: yajl's buffers grow one at a time */
  if (p == a->mem + a->last && a->used > a->last &&
      ARENA_HDR + align16(n) <= a->cap - a->last) {
    memcpy(p, &n, sizeof n);
    a->used = a->last + ARENA_HDR + align16(n);
    return ptr;
  }
  void *q = arena_malloc(ctx, n);
  memcpy(q, ptr, old);
  return q;
}

static void arena_free(void *ctx, void *ptr) {
  KS_UNUSED(ctx);
  KS_UNUSED(ptr); /* everything goes at the next reset */
}

static void arena_reset(ks__arena *a) {
  for (size_t i = 0; i < a->nspills; i++)
    ks_free(a->spills[i]);
  a->nspills = 0;
  if (a->spilled && a->cap < ARENA_MAX) {
    size_t cap = a->cap;
    while (cap < a->used + a->spilled && cap < ARENA_MAX)
      cap *= 2;
    ks_free(a->mem);
    a->mem = ks_malloc(cap);
    a->cap = cap;
  }
  a->spilled = 0;
  a->used = a->last = 0;
}

/* ---- decoder ---- */

typedef struct colmark {
  size_t values, lens, defs, nvalues;
} colmark;

struct ks_decoder {
  const ks_schema *schema;
  ks_column *cols; /* NULL: validate only */
  size_t ncols;
  colmark *marks;
  ks__validator v;
  ks__arena arena;
  yajl_alloc_funcs afs;
  yajl_handle h;
  const uint8_t *in;
  size_t in_len, last_off, max_record;
  ks_column *cap; /* column receiving a nested value's JSON text */
  size_t cap_start, cap_depth;
  ks_reject scratch;
};

static ks_reject *rej(ks_decoder *d) {
  return d->v.rej;
}

static int too_big(ks_decoder *d) {
  ks__v_fail(&d->v, KS_ETOOBIG, "too_large", 0, NULL,
             "value too large for the column buffer");
  return 0;
}

/* Column of the depth-1 member whose frame is stack[0], if any. */
static ks_column *root_col(ks_decoder *d) {
  int32_t p = d->v.stack[0].prop;
  if (p < 0 || d->cols == NULL)
    return NULL;
  int32_t c = ks__deref(d->schema->root)->props[p].col;
  return c < 0 ? NULL : &d->cols[c];
}

static int col_json(ks_decoder *d, const ks_column *c) {
  return d->schema->colinfo[c - d->cols].json;
}

/* Inside a captured value: a ',' before every array element but the
 * first (object members get theirs with the key). */
static int cap_sep(ks_decoder *d, size_t parent_depth) {
  const ks__frame *f = &d->v.stack[parent_depth - 1];
  if (f->is_array && f->count > 1)
    return ks_buf_append_byte(&d->cap->values, ',');
  return 0;
}

/* A scalar's JSON text: into the capture, or as a whole depth-1 value of
 * a JSON-text column. */
static int put_json_scalar(ks_decoder *d, ks_column *c, const char *t, size_t n,
                           int quote) {
  ks_buf *b = d->cap ? &d->cap->values : &c->values;
  size_t start = 0;
  if (d->cap) {
    if (cap_sep(d, d->v.depth))
      return -1;
  } else {
    ks_column_str_begin(c, &start);
  }
  int r = quote ? ks_buf_append_json_str(b, t, n) : ks_buf_append(b, t, n);
  if (r == 0 && d->cap == NULL)
    r = ks_column_str_end(c, start);
  return r ? -1 : 0;
}

static int on_null(void *ctx) {
  ks_decoder *d = ctx;
  if (ks__v_null(&d->v))
    return 0;
  ks_column *c = d->cap ? d->cap : d->v.depth == 1 ? root_col(d) : NULL;
  if (c == NULL)
    return 1;
  if (d->cap)
    return put_json_scalar(d, c, "null", 4, 0) ? too_big(d) : 1;
  if (!c->spec->nullable) { /* unreachable: the mapping follows the type */
    ks__v_fail(&d->v, KS_EINVALID, "null_value", 0, "type",
               "column is not nullable");
    return 0;
  }
  return ks_column_append_null(c) ? too_big(d) : 1;
}

static int on_boolean(void *ctx, int b) {
  ks_decoder *d = ctx;
  if (ks__v_bool(&d->v, b))
    return 0;
  ks_column *c = d->cap ? d->cap : d->v.depth == 1 ? root_col(d) : NULL;
  if (c == NULL)
    return 1;
  int r;
  if (d->cap || col_json(d, c))
    r = put_json_scalar(d, c, b ? "true" : "false", b ? 4 : 5, 0);
  else
    r = ks_column_append_bool(c, b);
  return r ? too_big(d) : 1;
}

/* Schema column of the depth-1 member being parsed (validate-only
 * decoders need it too: a value its column cannot hold is a reject). */
static const ks_colspec *root_spec(ks_decoder *d, int *json) {
  int32_t p = d->v.stack[0].prop;
  if (d->v.depth != 1 || p < 0)
    return NULL;
  int32_t c = ks__deref(d->schema->root)->props[p].col;
  if (c < 0)
    return NULL;
  *json = d->schema->colinfo[c].json;
  return &d->schema->cols[c];
}

static int on_number(void *ctx, const char *t, size_t n) {
  ks_decoder *d = ctx;
  ks__num num;
  ks__num_parse(&num, t, n);
  if (ks__v_number(&d->v, &num))
    return 0;
  int json = 1;
  const ks_colspec *spec = d->cap ? NULL : root_spec(d, &json);
  if (spec && !json && spec->type == KS_COL_INT64 && !num.fits) {
    ks__v_fail(&d->v, KS_EINVALID, "schema", 0, "type",
               "%.*s is out of range for a 64-bit integer",
               (int)(n > 64 ? 64 : n), t);
    return 0;
  }
  if (spec && !json && spec->type == KS_COL_DOUBLE &&
      isinf(ks__num_double(&num))) {
    ks__v_fail(&d->v, KS_EINVALID, "schema", 0, "type",
               "%.*s is out of range for a double", (int)(n > 64 ? 64 : n), t);
    return 0;
  }
  ks_column *c = d->cap ? d->cap : d->v.depth == 1 ? root_col(d) : NULL;
  if (c == NULL)
    return 1;
  int r;
  if (d->cap || col_json(d, c))
    r = put_json_scalar(d, c, t, n, 0);
  else if (c->spec->type == KS_COL_INT64)
    r = ks_column_append_i64(c, num.i);
  else
    r = ks_column_append_double(c, ks__num_double(&num));
  return r ? too_big(d) : 1;
}

static int bad_temporal(ks_decoder *d, const uint8_t *s, size_t n,
                        const char *what) {
  char shown[160];
  ks__quote(shown, sizeof shown, s, n);
  ks__v_fail(&d->v, KS_EINVALID, "schema", 0, "format", "%s is not a valid %s",
             shown, what);
  return 0;
}

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex4(const uint8_t *p, const uint8_t *end, unsigned *cp) {
  *cp = 0;
  for (int i = 0; i < 4; i++) {
    int h = p + i < end ? hexval(p[i]) : -1;
    if (h < 0)
      return -1;
    *cp = *cp << 4 | (unsigned)h;
  }
  return 0;
}

/* yajl turns a lone high surrogate escape into '?' and pairs a high
 * surrogate with whatever \u escape follows it. Strings with escapes are
 * rare, so they are re-read from the input and every \uD800-\uDFFF must
 * pair up. The token is the first '"' after the previous string or key
 * event (last_off): only strings and keys contain quotes. */
static int surrogates_ok(ks_decoder *d) {
  size_t end_off = yajl_get_bytes_consumed(d->h);
  if (end_off > d->in_len || d->last_off > end_off)
    return 1;
  const uint8_t *p = d->in + d->last_off, *end = d->in + end_off;
  while (p < end && *p != '"')
    p++;
  for (p++; p < end && *p != '"'; p++) {
    if (*p != '\\')
      continue;
    if (++p >= end || *p != 'u')
      continue;
    unsigned cp, lo;
    if (hex4(p + 1, end, &cp))
      return 0;
    p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (p + 2 >= end || p[1] != '\\' || p[2] != 'u' ||
          hex4(p + 3, end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return 0;
      p += 6;
    }
  }
  return 1;
}

/* Strict UTF-8 of a string or key; its code point count in *ncp. */
static int text_ok(ks_decoder *d, const uint8_t *s, size_t n, size_t *ncp,
                   int key) {
  int escaped = !(s >= d->in && s < d->in + d->in_len);
  if (ks_utf8_check(s, n, ncp) == 0 && (!escaped || surrogates_ok(d)))
    return 1;
  ks__v_fail(&d->v, KS_EPARSE, "invalid_utf8", key, NULL,
             key ? "property name is not valid UTF-8"
                 : "string is not valid UTF-8");
  return 0;
}

static int on_string(void *ctx, const unsigned char *s, size_t n) {
  ks_decoder *d = ctx;
  ks__str str = {.p = s, .len = n};
  if (!text_ok(d, s, n, &str.ncp, 0) || ks__v_string(&d->v, &str))
    return 0;
  d->last_off = yajl_get_bytes_consumed(d->h);
  /* TIMESTAMP/DATE columns convert here, in validate-only decoders too,
   * so both reach the same verdict (a valid RFC 3339 leap second past
   * 23:59:60 UTC, or a format assertion turned off, can still fail) */
  int json = 1;
  int64_t ts = 0;
  int32_t days = 0;
  const ks_colspec *spec = d->cap ? NULL : root_spec(d, &json);
  if (spec && !json && spec->type == KS_COL_TIMESTAMP &&
      ks_datetime_parse((const char *)s, n, &ts))
    return bad_temporal(d, s, n,
                        "date-time (RFC 3339, like "
                        "2024-01-31T12:00:00Z)");
  if (spec && !json && spec->type == KS_COL_DATE &&
      ks_date_parse((const char *)s, n, &days))
    return bad_temporal(d, s, n, "date (like 2024-01-31)");
  ks_column *c = d->cap ? d->cap : d->v.depth == 1 ? root_col(d) : NULL;
  if (c == NULL)
    return 1;
  int r;
  if (d->cap || col_json(d, c))
    r = put_json_scalar(d, c, (const char *)s, n, 1);
  else if (c->spec->type == KS_COL_TIMESTAMP)
    r = ks_column_append_i64(c, ts);
  else if (c->spec->type == KS_COL_DATE)
    r = ks_column_append_i32(c, days);
  else
    r = ks_column_append_str(c, s, n);
  return r ? too_big(d) : 1;
}

static int on_map_key(void *ctx, const unsigned char *k, size_t n) {
  ks_decoder *d = ctx;
  size_t ncp;
  if (!text_ok(d, k, n, &ncp, 1) || ks__v_key(&d->v, k, n, ncp))
    return 0;
  d->last_off = yajl_get_bytes_consumed(d->h);
  if (d->cap) {
    ks_buf *b = &d->cap->values;
    if ((d->v.stack[d->v.depth - 1].count > 1 && ks_buf_append_byte(b, ',')) ||
        ks_buf_append_json_str(b, (const char *)k, n) ||
        ks_buf_append_byte(b, ':'))
      return too_big(d);
  }
  return 1;
}

static int on_open(ks_decoder *d, int is_array) {
  if (ks__v_open(&d->v, is_array))
    return 0;
  d->last_off = yajl_get_bytes_consumed(d->h);
  uint8_t ch = is_array ? '[' : '{';
  if (d->cap) {
    if (cap_sep(d, d->v.depth - 1) || ks_buf_append_byte(&d->cap->values, ch))
      return too_big(d);
  } else if (d->v.depth == 2) {
    ks_column *c = root_col(d);
    if (c && col_json(d, c)) {
      d->cap = c;
      d->cap_depth = d->v.depth;
      ks_column_str_begin(c, &d->cap_start);
      if (ks_buf_append_byte(&c->values, ch))
        return too_big(d);
    }
  }
  return 1;
}

static int on_close(ks_decoder *d, int is_array) {
  if (ks__v_close_check(&d->v))
    return 0;
  if (d->v.depth == 1 && d->cols) {
    /* end of record: absent properties are null */
    for (size_t i = 0; i < d->ncols; i++) {
      if (ks__v_seen(&d->v, d->schema->colinfo[i].prop))
        continue;
      ks_column *c = &d->cols[i];
      if (!c->spec->nullable) {
        char shown[160];
        ks__quote(shown, sizeof shown, (const uint8_t *)c->spec->name,
                  strlen(c->spec->name));
        ks__v_fail(&d->v, KS_EINVALID, "schema", 1, "required",
                   "missing required property %s", shown);
        return 0;
      }
      if (ks_column_append_null(c))
        return too_big(d);
    }
  }
  ks__v_pop(&d->v);
  d->last_off = yajl_get_bytes_consumed(d->h);
  if (d->cap) {
    if (ks_buf_append_byte(&d->cap->values, is_array ? ']' : '}'))
      return too_big(d);
    if (d->v.depth < d->cap_depth) {
      ks_column *c = d->cap;
      d->cap = NULL;
      if (ks_column_str_end(c, d->cap_start))
        return too_big(d);
    }
  }
  return 1;
}

static int on_start_map(void *ctx) {
  return on_open(ctx, 0);
}
static int on_end_map(void *ctx) {
  return on_close(ctx, 0);
}
static int on_start_array(void *ctx) {
  return on_open(ctx, 1);
}
static int on_end_array(void *ctx) {
  return on_close(ctx, 1);
}

/* yajl_number replaces yajl_integer/yajl_double: the text lets integers be
 * parsed exactly and stored as written in JSON text columns. */
static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end_array,
};

ks_decoder *ks_decoder_new(const ks_schema *s, ks_rowgroup *rg,
                           size_t first_col) {
  ks_decoder *d = ks_calloc(1, sizeof *d);
  d->schema = s;
  if (rg) {
    d->cols = rg->cols + first_col;
    d->ncols = s->ncols;
    d->marks = ks_calloc(s->ncols, sizeof *d->marks);
  }
  ks__v_init(&d->v, s);
  d->arena.mem = ks_malloc(ARENA_INIT);
  d->arena.cap = ARENA_INIT;
  d->afs =
      (yajl_alloc_funcs){arena_malloc, arena_realloc, arena_free, &d->arena};
  return d;
}

void ks_decoder_free(ks_decoder *d) {
  if (d == NULL)
    return;
  arena_reset(&d->arena);
  ks_free(d->arena.mem);
  ks_free(d->arena.spills);
  ks__v_free(&d->v);
  ks_free(d->marks);
  ks_free(d);
}

void ks_decoder_set_max_record(ks_decoder *d, size_t bytes) {
  d->max_record = bytes;
}

static void mark(ks_decoder *d) {
  for (size_t i = 0; i < d->ncols; i++) {
    const ks_column *c = &d->cols[i];
    d->marks[i] =
        (colmark){c->values.len, c->lens.len, c->defs.len, c->nvalues};
  }
}

static void rollback(ks_decoder *d) {
  for (size_t i = 0; i < d->ncols; i++) {
    ks_column *c = &d->cols[i];
    ks_buf_truncate(&c->values, d->marks[i].values);
    ks_buf_truncate(&c->lens, d->marks[i].lens);
    ks_buf_truncate(&c->defs, d->marks[i].defs);
    c->nvalues = d->marks[i].nvalues;
  }
}

static void parse_error(ks_decoder *d, size_t at) {
  ks_reject *r = rej(d);
  char *msg = (char *)yajl_get_error(d->h, 0, d->in, d->in_len);
  const char *text = msg ? msg : "parse error";
  r->code = KS_EPARSE;
  r->reason = strstr(text, "UTF8") ? "invalid_utf8" : "malformed_json";
  r->keyword = NULL;
  r->path[0] = 0;
  snprintf(r->message, sizeof r->message, "malformed JSON at byte %zu: %s", at,
           text);
  for (char *p = r->message; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  size_t n = strlen(r->message);
  while (n > 0 && r->message[n - 1] == ' ')
    r->message[--n] = 0;
  if (msg)
    yajl_free_error(d->h, (unsigned char *)msg);
}

int ks_decoder_feed(ks_decoder *d, const uint8_t *json, size_t len,
                    ks_reject *r) {
  if (r == NULL)
    r = &d->scratch;
  r->code = 0;
  r->reason = NULL;
  r->keyword = NULL;
  r->path[0] = r->message[0] = 0;
  ks__v_reset(&d->v, r);
  if (json == NULL || len == 0)
    return ks__v_fail(&d->v, KS_EINVALID, "null_value", 0, NULL,
                      "record is empty (null value or tombstone)");
  if (d->max_record && len > d->max_record)
    return ks__v_fail(&d->v, KS_ETOOBIG, "too_large", 0, NULL,
                      "record of %zu bytes is larger than the limit of %zu",
                      len, d->max_record);
  mark(d);
  d->in = json;
  d->in_len = len;
  d->last_off = 0;
  d->cap = NULL;
  arena_reset(&d->arena);
  /* yajl's defaults are the strict ones we want: UTF-8 checked, no
   * comments, no trailing garbage, exactly one value. */
  d->h = yajl_alloc(&callbacks, &d->afs, d);
  yajl_status st = yajl_parse(d->h, json, len);
  int at_end = 0;
  if (st == yajl_status_ok) {
    st = yajl_complete_parse(d->h);
    at_end = 1;
  }
  if (st == yajl_status_error)
    parse_error(d, at_end ? len : yajl_get_bytes_consumed(d->h));
  yajl_free(d->h);
  d->h = NULL;
  if (st == yajl_status_ok)
    return 0;
  if (r->code == 0) { /* a callback stopped the parse without a verdict */
    r->code = KS_EPARSE;
    r->reason = "malformed_json";
    snprintf(r->message, sizeof r->message, "malformed JSON");
  }
  rollback(d);
  d->cap = NULL;
  return r->code;
}

int ks_schema_validate(const ks_schema *s, const uint8_t *json, size_t len,
                       ks_reject *r) {
  ks_decoder *d = ks_decoder_new(s, NULL, 0);
  int rc = ks_decoder_feed(d, json, len, r);
  ks_decoder_free(d);
  return rc;
}
