/*
 * The streaming transforms of transform.h. Every stage sees one JSON
 * event at a time (ev), with its own depth; a stage that must treat a
 * whole value the same way (drop it, pass it on, record it) enters a
 * value mode that ends when the depth returns to where the value began.
 */
#include "base/buf.h"
#include "base/datefmt.h"
#include "stages/record/transform_int.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

/* ---- events ---- */

static int emit(const yajl_callbacks *cb, void *ctx, const ev *e) {
  switch (e->t) {
  case EV_NULL:
    return cb->yajl_null(ctx);
  case EV_BOOL:
    return cb->yajl_boolean(ctx, e->b);
  case EV_NUM:
    return cb->yajl_number(ctx, (const char *)e->s, e->n);
  case EV_STR:
    return cb->yajl_string(ctx, e->s, e->n);
  case EV_KEY:
    return cb->yajl_map_key(ctx, e->s, e->n);
  case EV_SMAP:
    return cb->yajl_start_map(ctx);
  case EV_EMAP:
    return cb->yajl_end_map(ctx);
  case EV_SARR:
    return cb->yajl_start_array(ctx);
  default:
    return cb->yajl_end_array(ctx);
  }
}

int ks__xf_next(stage *st, const ev *e) {
  return emit(st->ncb, st->nctx, e);
}

int ks__xf_next_key(stage *st, const char *k) {
  ev e = {EV_KEY, 0, (const uint8_t *)k, strlen(k)};
  return ks__xf_next(st, &e);
}

int ks__xf_next_str(stage *st, const char *s, size_t n) {
  ev e = {EV_STR, 0, (const uint8_t *)s, n};
  return ks__xf_next(st, &e);
}

int ks__xf_next_num(stage *st, int64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%lld", (long long)v);
  ev e = {EV_NUM, 0, (const uint8_t *)t, (size_t)n};
  return ks__xf_next(st, &e);
}

int ks__xf_next_plain(stage *st, evtype t) {
  ev e = {t, 0, NULL, 0};
  return ks__xf_next(st, &e);
}

int ks__xf_fail(stage *st, const char *fmt, ...) {
  static const char *const names[] = {"debezium_unwrap",     "extract_field",
                                      "insert_field",        "replace_field",
                                      "timestamp_converter", "filter"};
  ks_xf *x = st->x;
  if (x->status == KS_XF_FAILED)
    return 0;
  x->status = KS_XF_FAILED;
  int k = snprintf(x->err, sizeof x->err,
                   "transforms[%s]: ", names[st->conf->kind]);
  va_list ap;
  va_start(ap, fmt);
  if (k > 0 && (size_t)k < sizeof x->err)
    vsnprintf(x->err + k, sizeof x->err - (size_t)k, fmt, ap);
  va_end(ap);
  return 0;
}

void ks__xf_tape_put(ks_buf *t, const ev *e) {
  uint8_t h = (uint8_t)e->t;
  uint32_t n = (uint32_t)e->n;
  ks_buf_append_byte(t, h);
  if (e->t == EV_BOOL)
    ks_buf_append_byte(t, (uint8_t)e->b);
  if (e->t == EV_NUM || e->t == EV_STR || e->t == EV_KEY) {
    ks_buf_append(t, &n, sizeof n);
    ks_buf_append(t, e->s, e->n);
  }
}

/* Reads the event at *off of tape t; 0 at the end. */
int ks__xf_tape_get(const ks_buf *t, size_t *off, ev *e) {
  if (*off >= t->len)
    return 0;
  const uint8_t *p = t->data + *off;
  memset(e, 0, sizeof *e);
  e->t = (evtype)p[0];
  (*off)++;
  if (e->t == EV_BOOL)
    e->b = t->data[(*off)++];
  if (e->t == EV_NUM || e->t == EV_STR || e->t == EV_KEY) {
    uint32_t n;
    memcpy(&n, t->data + *off, sizeof n);
    e->s = t->data + *off + sizeof n;
    e->n = n;
    *off += sizeof n + n;
  }
  return 1;
}

int ks__xf_tape_replay(stage *st, const ks_buf *t) {
  size_t off = 0;
  ev e;
  while (ks__xf_tape_get(t, &off, &e))
    if (!ks__xf_next(st, &e))
      return 0;
  return 1;
}

int ks__xf_opens(const ev *e) {
  return e->t == EV_SMAP || e->t == EV_SARR;
}
int ks__xf_closes(const ev *e) {
  return e->t == EV_EMAP || e->t == EV_EARR;
}
int ks__xf_key_is(const ev *e, const char *k) {
  return e->t == EV_KEY && e->n == strlen(k) && memcmp(e->s, k, e->n) == 0;
}

/* The next value (beginning with the next event) is treated per mode. */
void ks__xf_value_mode(stage *st, vmode m, ks_buf *tape, int hold_close) {
  st->mode = m;
  st->mode_depth = st->depth;
  st->tape = tape;
  st->mode_hold_close = hold_close;
}

/* A value whose first event e (an opening one) was already taken at
 * depth d goes on in mode m. */
void ks__xf_value_mode_at(stage *st, int d, vmode m, ks_buf *tape, int hold) {
  st->mode = m;
  st->mode_depth = d;
  st->tape = tape;
  st->mode_hold_close = hold;
}

/* Applies the value mode to e (the stage's depth already moved). 1
 * handled, 0 stop. */
int ks__xf_in_value(stage *st, const ev *e) {
  int last = st->depth == st->mode_depth && e->t != EV_KEY;
  vmode m = st->mode;
  if (last)
    st->mode = VM_NONE;
  if (m == VM_CAPTURE)
    ks__xf_tape_put(st->tape, e);
  else if (m == VM_PASS && !(last && ks__xf_closes(e) && st->mode_hold_close))
    return ks__xf_next(st, e);
  return 1;
}

void ks__xf_move_depth(stage *st, const ev *e) {
  if (ks__xf_opens(e))
    st->depth++;
  else if (ks__xf_closes(e))
    st->depth--;
}

/* ---- extract_field ---- */

static int on_extract(stage *st, const ev *e) {
  int d = st->depth;
  ks__xf_move_depth(st, e);
  if (st->mode)
    return ks__xf_in_value(st, e);
  if (d == 0) {
    if (e->t != EV_SMAP)
      return ks__xf_fail(st, "the record is not an object");
    st->found = 0;
    return 1;
  }
  if (d == 1 && e->t == EV_KEY) {
    int want = !st->found && ks__xf_key_is(e, st->conf->field);
    st->found |= want;
    ks__xf_value_mode(st, want ? VM_PASS : VM_SKIP, NULL, 0);
    return 1;
  }
  /* the root's } */
  if (!st->found)
    return ks__xf_fail(st, "the record has no field \"%s\"", st->conf->field);
  return 1;
}

/* ---- replace_field ---- */

static int in_list(char *const *v, size_t n, const ev *e) {
  for (size_t i = 0; i < n; i++)
    if (ks__xf_key_is(e, v[i]))
      return 1;
  return 0;
}

static int on_replace(stage *st, const ev *e) {
  int d = st->depth;
  ks__xf_move_depth(st, e);
  if (st->mode)
    return ks__xf_in_value(st, e);
  const ks_conf_transform *c = st->conf;
  if (d == 1 && e->t == EV_KEY) {
    if ((c->nexclude && in_list(c->exclude, c->nexclude, e)) ||
        (c->ninclude && !in_list(c->include, c->ninclude, e))) {
      ks__xf_value_mode(st, VM_SKIP, NULL, 0);
      return 1;
    }
    for (size_t i = 0; i < c->nrenames; i++)
      if (ks__xf_key_is(e, c->renames[i].key))
        return ks__xf_next_key(st, c->renames[i].value);
  }
  return ks__xf_next(st, e);
}

/* ---- insert_field ---- */

size_t ks__xf_rfc3339(int64_t us, char *out, size_t cap) {
  static ks_datefmt *f; /* compiled once; read-only afterwards */
  static int once;
  if (!__atomic_load_n(&once, __ATOMIC_ACQUIRE)) {
    char err[64];
    ks_datefmt *g =
        ks_datefmt_compile("yyyy-MM-dd'T'HH:mm:ss.SSSSSSX", err, sizeof err);
    ks_datefmt *expected = NULL;
    if (!__atomic_compare_exchange_n(&f, &expected, g, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      ks_datefmt_free(g);
    __atomic_store_n(&once, 1, __ATOMIC_RELEASE);
  }
  return ks_datefmt_format(__atomic_load_n(&f, __ATOMIC_ACQUIRE), us, out, cap);
}

static int inserted(const ks_conf_transform *c, const ev *e) {
  for (size_t i = 0; i < c->nstatics; i++)
    if (ks__xf_key_is(e, c->statics[i].key))
      return 1;
  return (c->ts_col && ks__xf_key_is(e, c->ts_col)) ||
         (c->topic_col && ks__xf_key_is(e, c->topic_col)) ||
         (c->partition_col && ks__xf_key_is(e, c->partition_col)) ||
         (c->offset_col && ks__xf_key_is(e, c->offset_col));
}

static int on_insert(stage *st, const ev *e) {
  int d = st->depth;
  ks__xf_move_depth(st, e);
  if (st->mode)
    return ks__xf_in_value(st, e);
  const ks_conf_transform *c = st->conf;
  if (d == 1 && e->t == EV_KEY && inserted(c, e)) {
    ks__xf_value_mode(st, VM_SKIP, NULL, 0); /* replaced, as InsertField does */
    return 1;
  }
  if (d != 1 || e->t != EV_EMAP)
    return ks__xf_next(st, e);
  const ks_xf_meta *m = st->x->meta;
  for (size_t i = 0; i < c->nstatics; i++)
    if (!ks__xf_next_key(st, c->statics[i].key) ||
        !ks__xf_next_str(st, c->statics[i].value, strlen(c->statics[i].value)))
      return 0;
  if (c->ts_col) {
    char t[40];
    size_t n = m && m->ts_ms >= 0 && m->ts_ms <= 253402300799999LL
                   ? ks__xf_rfc3339(m->ts_ms * 1000, t, sizeof t)
                   : 0;
    if (!ks__xf_next_key(st, c->ts_col) ||
        !(n ? ks__xf_next_str(st, t, n) : ks__xf_next_plain(st, EV_NULL)))
      return 0;
  }
  if (c->topic_col &&
      (!ks__xf_next_key(st, c->topic_col) ||
       !(m && m->topic ? ks__xf_next_str(st, m->topic, strlen(m->topic))
                       : ks__xf_next_plain(st, EV_NULL))))
    return 0;
  if (c->partition_col && (!ks__xf_next_key(st, c->partition_col) ||
                           !(m ? ks__xf_next_num(st, m->partition)
                               : ks__xf_next_plain(st, EV_NULL))))
    return 0;
  if (c->offset_col &&
      (!ks__xf_next_key(st, c->offset_col) ||
       !(m ? ks__xf_next_num(st, m->offset) : ks__xf_next_plain(st, EV_NULL))))
    return 0;
  return ks__xf_next(st, e);
}

/* ---- timestamp_converter ---- */

static int parse_any(stage *st, const ev *e, int64_t *us) {
  if (e->t == EV_NUM) { /* milliseconds since the epoch (Connect's unix) */
    char t[40];
    if (e->n >= sizeof t)
      return -1;
    memcpy(t, e->s, e->n);
    t[e->n] = 0;
    char *end;
    long long v = strtoll(t, &end, 10);
    /* years 0001 to 9999, what a timestamp column holds */
    if (*end || v > 253402300799999LL || v < -62135596800000LL)
      return -1;
    *us = (int64_t)v * 1000;
    return 0;
  }
  if (st->fmt)
    return ks_datefmt_parse(st->fmt, (const char *)e->s, e->n, us);
  /* no format: RFC 3339, with or without a fraction, or a date */
  for (size_t i = 0; i < KS__XF_NISO; i++)
    if (ks_datefmt_parse(st->iso[i], (const char *)e->s, e->n, us) == 0)
      return 0;
  return -1;
}

static int convert(stage *st, const ev *e) {
  const ks_conf_transform *c = st->conf;
  int64_t us;
  if (e->t == EV_NULL)
    return ks__xf_next(st, e);
  if ((e->t != EV_STR && e->t != EV_NUM) || parse_any(st, e, &us) != 0)
    return ks__xf_fail(st, "field \"%s\": %.*s does not follow %s%s%s",
                       c->field, (int)(e->n > 64 ? 64 : e->n),
                       e->s ? (const char *)e->s : "a", c->format ? "\"" : "",
                       c->format ? c->format : "RFC 3339",
                       c->format ? "\"" : "");
  char t[80];
  size_t n = 0;
  switch (c->target) {
  case KS_TS_UNIX:
    return ks__xf_next_num(st, us / 1000);
  case KS_TS_STRING:
    n = ks_datefmt_format(st->fmt, us, t, sizeof t);
    break;
  case KS_TS_DATE: {
    int64_t day = us / 86400000000LL;
    if (us < 0 && us % 86400000000LL)
      day--;
    n = ks__xf_rfc3339(day * 86400000000LL, t, sizeof t);
    n = n >= 10 ? 10 : 0;
    break;
  }
  default:
    n = ks__xf_rfc3339(us, t, sizeof t);
  }
  if (n == 0)
    return ks__xf_fail(st, "field \"%s\": the time is out of range", c->field);
  return ks__xf_next_str(st, t, n);
}

static int on_tsconv(stage *st, const ev *e) {
  int d = st->depth;
  ks__xf_move_depth(st, e);
  if (st->convert_next) {
    st->convert_next = 0;
    if (ks__xf_opens(e))
      return ks__xf_fail(st, "field \"%s\" is %s, not a time", st->conf->field,
                         e->t == EV_SMAP ? "an object" : "an array");
    return convert(st, e);
  }
  if (d == 1 && ks__xf_key_is(e, st->conf->field))
    st->convert_next = 1;
  return ks__xf_next(st, e);
}

/* ---- the chain ---- */

#define STAGE(ctx) ((stage *)(ctx))
static int cb_null(void *c) {
  ev e = {EV_NULL, 0, NULL, 0};
  return STAGE(c)->on(c, &e);
}
static int cb_bool(void *c, int b) {
  ev e = {EV_BOOL, b, NULL, 0};
  return STAGE(c)->on(c, &e);
}
static int cb_num(void *c, const char *s, size_t n) {
  ev e = {EV_NUM, 0, (const uint8_t *)s, n};
  return STAGE(c)->on(c, &e);
}
static int cb_str(void *c, const unsigned char *s, size_t n) {
  ev e = {EV_STR, 0, s, n};
  return STAGE(c)->on(c, &e);
}
static int cb_key(void *c, const unsigned char *s, size_t n) {
  ev e = {EV_KEY, 0, s, n};
  return STAGE(c)->on(c, &e);
}
static int cb_smap(void *c) {
  ev e = {EV_SMAP, 0, NULL, 0};
  return STAGE(c)->on(c, &e);
}
static int cb_emap(void *c) {
  ev e = {EV_EMAP, 0, NULL, 0};
  return STAGE(c)->on(c, &e);
}
static int cb_sarr(void *c) {
  ev e = {EV_SARR, 0, NULL, 0};
  return STAGE(c)->on(c, &e);
}
static int cb_earr(void *c) {
  ev e = {EV_EARR, 0, NULL, 0};
  return STAGE(c)->on(c, &e);
}

static const yajl_callbacks stage_callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_num,
    .yajl_string = cb_str,
    .yajl_start_map = cb_smap,
    .yajl_map_key = cb_key,
    .yajl_end_map = cb_emap,
    .yajl_start_array = cb_sarr,
    .yajl_end_array = cb_earr,
};

ks_xf *ks_xf_new(const ks_conf_transform *xs, size_t n,
                 const yajl_callbacks *sink, void *sink_ctx) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += xs[i].kind != KS_XF_FILTER;
  if (k == 0)
    return NULL;
  ks_xf *x = ks_calloc(1, sizeof *x);
  x->stages = ks_calloc(k, sizeof *x->stages);
  for (size_t i = 0; i < n; i++) {
    if (xs[i].kind == KS_XF_FILTER)
      continue;
    stage *st = &x->stages[x->n++];
    st->conf = &xs[i];
    st->x = x;
    ks_buf_init(&st->before, 0);
    ks_buf_init(&st->adds, 0);
    switch (xs[i].kind) {
    case KS_XF_DEBEZIUM_UNWRAP:
      st->on = ks__xf_on_unwrap;
      st->add_set = ks_calloc(xs[i].nadd_fields + 1, sizeof *st->add_set);
      break;
    case KS_XF_EXTRACT_FIELD:
      st->on = on_extract;
      break;
    case KS_XF_INSERT_FIELD:
      st->on = on_insert;
      break;
    case KS_XF_REPLACE_FIELD:
      st->on = on_replace;
      break;
    default: {
      char err[200];
      st->on = on_tsconv;
      if (xs[i].format) /* checked at start-up (conf/record.c) */
        st->fmt = ks_datefmt_compile(xs[i].format, err, sizeof err);
      static const char *const iso[KS__XF_NISO] = {
          "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSX", "yyyy-MM-dd'T'HH:mm:ssX",
          "yyyy-MM-dd"};
      for (size_t f = 0; f < KS__XF_NISO; f++)
        st->iso[f] = ks_datefmt_compile(iso[f], err, sizeof err);
    }
    }
  }
  for (size_t i = 0; i < x->n; i++) {
    x->stages[i].ncb = i + 1 < x->n ? &stage_callbacks : sink;
    x->stages[i].nctx = i + 1 < x->n ? (void *)&x->stages[i + 1] : sink_ctx;
  }
  return x;
}

void ks_xf_free(ks_xf *x) {
  if (x == NULL)
    return;
  for (size_t i = 0; i < x->n; i++) {
    ks_buf_free(&x->stages[i].before);
    ks_buf_free(&x->stages[i].adds);
    ks_free(x->stages[i].add_set);
    ks_datefmt_free(x->stages[i].fmt);
    for (size_t k = 0; k < KS__XF_NISO; k++)
      ks_datefmt_free(x->stages[i].iso[k]);
  }
  ks_free(x->stages);
  ks_free(x);
}

void ks_xf_begin(ks_xf *x, const ks_xf_meta *meta) {
  x->meta = meta;
  x->status = 0;
  x->err[0] = 0;
  for (size_t i = 0; i < x->n; i++) {
    stage *st = &x->stages[i];
    st->depth = 0;
    st->mode = VM_NONE;
    st->found = st->convert_next = st->pick = 0;
  }
}

const yajl_callbacks *ks_xf_callbacks(void) {
  return &stage_callbacks;
}

void *ks_xf_entry(ks_xf *x) {
  return &x->stages[0];
}

int ks_xf_status(const ks_xf *x) {
  return x->status;
}

const char *ks_xf_error(const ks_xf *x) {
  return x->err;
}

int ks_xf_keep(const ks_conf_transform *xs, size_t n, const char *topic,
               int tombstone, int (*has_header)(void *, const char *),
               void *arg) {
  for (size_t i = 0; i < n; i++) {
    const ks_conf_transform *c = &xs[i];
    if (c->kind != KS_XF_FILTER)
      continue;
    int match;
    switch (c->predicate) {
    case KS_PRED_TOMBSTONE:
      match = tombstone;
      break;
    case KS_PRED_TOPIC:
      match = c->pred_re && regexec(c->pred_re, topic, 0, NULL, 0) == 0;
      break;
    default:
      match = has_header && has_header(arg, c->pred_arg);
    }
    /* Filter drops the records its predicate matches (negate: those it
     * does not) */
    if (match != c->negate)
      return 0;
  }
  return 1;
}

/* ---- rendering ---- */

static int g_null(void *c) {
  return yajl_gen_null(c) == yajl_gen_status_ok;
}
static int g_bool(void *c, int b) {
  return yajl_gen_bool(c, b) == yajl_gen_status_ok;
}
static int g_num(void *c, const char *s, size_t n) {
  return yajl_gen_number(c, s, n) == yajl_gen_status_ok;
}
static int g_str(void *c, const unsigned char *s, size_t n) {
  return yajl_gen_string(c, s, n) == yajl_gen_status_ok;
}
static int g_smap(void *c) {
  return yajl_gen_map_open(c) == yajl_gen_status_ok;
}
static int g_emap(void *c) {
  return yajl_gen_map_close(c) == yajl_gen_status_ok;
}
static int g_sarr(void *c) {
  return yajl_gen_array_open(c) == yajl_gen_status_ok;
}
static int g_earr(void *c) {
  return yajl_gen_array_close(c) == yajl_gen_status_ok;
}
static const yajl_callbacks gen_callbacks = {
    .yajl_null = g_null,
    .yajl_boolean = g_bool,
    .yajl_number = g_num,
    .yajl_string = g_str,
    .yajl_start_map = g_smap,
    .yajl_map_key = g_str,
    .yajl_end_map = g_emap,
    .yajl_start_array = g_sarr,
    .yajl_end_array = g_earr,
};

const yajl_callbacks *ks_xf_gen_callbacks(void) {
  return &gen_callbacks;
}

int ks_xf_render(const ks_conf_transform *xs, size_t n, const uint8_t *json,
                 size_t len, const ks_xf_meta *meta, ks_buf *out) {
  yajl_gen g = yajl_gen_alloc(NULL);
  ks_xf *x = ks_xf_new(xs, n, &gen_callbacks, g);
  int r = 0;
  if (x == NULL) {
    ks_buf_append(out, json, len);
    yajl_gen_free(g);
    return 0;
  }
  ks_xf_begin(x, meta);
  yajl_handle h = yajl_alloc(&stage_callbacks, NULL, ks_xf_entry(x));
  yajl_status st = yajl_parse(h, json, len);
  if (st == yajl_status_ok)
    st = yajl_complete_parse(h);
  r = ks_xf_status(x);
  if (r == 0 && st != yajl_status_ok)
    r = KS_EPARSE;
  if (r == 0) {
    const unsigned char *buf;
    size_t blen;
    yajl_gen_get_buf(g, &buf, &blen);
    ks_buf_append(out, buf, blen);
  }
  yajl_free(h);
  ks_xf_free(x);
  yajl_gen_free(g);
  return r;
}
