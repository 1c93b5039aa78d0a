/*
 * One pass per record: yajl's callbacks drive the engine's validator
 * (jsonschema.h) and then the shredder (shred.c), which appends each accepted
 * value to its Parquet leaf with its levels. Values of mixed type and free-form
 * objects are re-serialized as compact JSON text straight into their
 * column's values buffer; anything outside the table (undeclared
 * properties that additionalProperties allows) is validated and dropped.
 *
 * yajl 2.1 cannot reset a handle, so each record gets a fresh one from a
 * per-decoder arena (arena.h).
 */
#include "stages/record/decode.h"
#include "base/jsontext.h"
#include "stages/record/decode_int.h"

#include <stdio.h>
#include <string.h>

/* ---- the sink ---- */

/* The sink: the validator checks each event, then the shredder appends
 * it; a zero return (yajl's "stop") from either ends the parse. The
 * parser's callbacks below check the text and call these directly, or
 * hand the events to the transforms (transform.h), whose last stage
 * calls them through sink_callbacks. */
static int sink_null(void *ctx) {
  ks_decoder *d = ctx;
  return !ks_js_null(&d->v) && !ks__sh_null(&d->sh);
}

static int sink_boolean(void *ctx, int b) {
  ks_decoder *d = ctx;
  return !ks_js_bool(&d->v, b) && !ks__sh_bool(&d->sh, b);
}

int ks__dec_sink_num(ks_decoder *d, ks_js_num *num) {
  return !ks_js_number(&d->v, num) && !ks__sh_number(&d->sh, num);
}

static int sink_number(void *ctx, const char *t, size_t n) {
  ks_js_num num;
  ks_js_num_parse(&num, t, n);
  return ks__dec_sink_num(ctx, &num);
}

int ks__dec_sink_string(ks_decoder *d, const uint8_t *s, size_t n,
                           size_t ncp) {
  ks_js_str str = {.p = s, .len = n, .ncp = ncp};
  return !ks_js_string(&d->v, &str) && !ks__sh_string(&d->sh, s, n);
}

int ks__dec_sink_key(ks_decoder *d, const uint8_t *k, size_t n, size_t ncp) {
  return !ks_js_key(&d->v, k, n, ncp) && !ks__sh_key(&d->sh, k, n);
}

int ks__dec_sink_open(ks_decoder *d, int is_array) {
  return !ks_js_open(&d->v, is_array) && !ks__sh_open(&d->sh, is_array);
}

int ks__dec_sink_close(ks_decoder *d) {
  if (ks_js_close_check(&d->v) || ks__sh_close(&d->sh))
    return 0;
  ks_js_pop(&d->v);
  return 1;
}

/* Text a transform made (a renamed key, an added value) or passed on:
 * UTF-8 was checked where it came from; only its length in code points
 * is new. */
static size_t ncp_of(const uint8_t *s, size_t n) {
  size_t ncp = 0;
  for (size_t i = 0; i < n; i++)
    ncp += (s[i] & 0xc0) != 0x80;
  return ncp;
}

static int sink_string(void *ctx, const unsigned char *s, size_t n) {
  return ks__dec_sink_string(ctx, s, n, ncp_of(s, n));
}
static int sink_key(void *ctx, const unsigned char *k, size_t n) {
  return ks__dec_sink_key(ctx, k, n, ncp_of(k, n));
}
static int sink_start_map(void *ctx) {
  return ks__dec_sink_open(ctx, 0);
}
static int sink_start_array(void *ctx) {
  return ks__dec_sink_open(ctx, 1);
}
static int sink_end(void *ctx) {
  return ks__dec_sink_close(ctx);
}

static const yajl_callbacks sink_callbacks = {
    .yajl_null = sink_null,
    .yajl_boolean = sink_boolean,
    .yajl_number = sink_number,
    .yajl_string = sink_string,
    .yajl_start_map = sink_start_map,
    .yajl_map_key = sink_key,
    .yajl_end_map = sink_end,
    .yajl_start_array = sink_start_array,
    .yajl_end_array = sink_end,
};

/* The parser's callbacks: to the transforms when the table has some,
 * else straight to the sink. */
static int on_null(void *ctx) {
  ks_decoder *d = ctx;
  if (d->skip)
    return 1;
  return d->xf ? ks_xf_callbacks()->yajl_null(ks_xf_entry(d->xf))
               : sink_null(d);
}

static int on_boolean(void *ctx, int b) {
  ks_decoder *d = ctx;
  if (d->skip)
    return 1;
  return d->xf ? ks_xf_callbacks()->yajl_boolean(ks_xf_entry(d->xf), b)
               : sink_boolean(d, b);
}

static int on_number(void *ctx, const char *t, size_t n) {
  ks_decoder *d = ctx;
  if (d->skip)
    return 1; /* yajl checked its syntax; the text is copied as written */
  return d->xf ? ks_xf_callbacks()->yajl_number(ks_xf_entry(d->xf), t, n)
               : sink_number(d, t, n);
}

/* The offset in the record just past the parser's last token. */
static size_t consumed(const ks_decoder *d) {
  return d->base + yajl_get_bytes_consumed(d->h);
}

/* yajl turns a lone high surrogate escape into '?' and pairs a high
 * surrogate with whatever \u escape follows it. Strings with escapes are
 * rare, so they are re-read from the input and every \uD800-\uDFFF must
 * pair up. The token ends where the parser stands (its closing quote just
 * before); it starts at the nearest '"' before that not escaped by an odd
 * run of backslashes (outside strings, JSON has no backslash). */
static int surrogates_ok(ks_decoder *d) {
  size_t end_off = consumed(d);
  if (end_off == 0 || end_off > d->in_len)
    return 1;
  const uint8_t *end = d->in + end_off - 1, *p = end;
  for (;;) {
    if (p == d->in)
      return 1; /* not a string token: nothing to check */
    if (*--p != '"')
      continue;
    const uint8_t *b = p;
    while (b > d->in && b[-1] == '\\')
      b--;
    if ((p - b) % 2 == 0)
      break;
  }
  for (p++; p < end; p++) {
    if (*p != '\\')
      continue;
    if (++p >= end || *p != 'u')
      continue;
    unsigned cp, lo;
    if (ks_json_hex4(p + 1, end, &cp))
      return 0;
    p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (p + 2 >= end || p[1] != '\\' || p[2] != 'u' ||
          ks_json_hex4(p + 3, end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return 0;
      p += 6;
    }
  }
  return 1;
}

/* s is read in place from the record (yajl passes an escaped string or
 * key in its own buffer, unescaped). */
static int in_record(const ks_decoder *d, const uint8_t *s) {
  return s >= d->in && s < d->in + d->in_len;
}

/* Strict UTF-8 of a string or key; its code point count in *ncp. */
int ks__dec_text_ok(ks_decoder *d, const uint8_t *s, size_t n, size_t *ncp,
                   int key) {
  if (ks_utf8_check_short(s, n, ncp) == 0 &&
      (in_record(d, s) || surrogates_ok(d)))
    return 1;
  d->reason = KS_REASON_INVALID_UTF8;
  if (key)
    ks_js_fail(&d->v, KS_EPARSE, 1, KS_KEYWORD_NONE,
               "property name is not valid UTF-8");
  else
    ks_js_fail_value(&d->v, KS_EPARSE, KS_KEYWORD_NONE,
                     "string is not valid UTF-8");
  return 0;
}

/* A string or key inside an opaque value: its bytes are checked with
 * the value's whole text at its close (on_close), an escaped one's
 * surrogate escapes here. */
static int skipped_text(ks_decoder *d, const uint8_t *s) {
  if (in_record(d, s) || surrogates_ok(d))
    return 1;
  d->skip_failed = 1;
  return 0;
}

static int on_string(void *ctx, const unsigned char *s, size_t n) {
  ks_decoder *d = ctx;
  size_t ncp;
  if (d->skip)
    return skipped_text(d, s);
  if (!ks__dec_text_ok(d, s, n, &ncp, 0))
    return 0;
  return d->xf ? ks_xf_callbacks()->yajl_string(ks_xf_entry(d->xf), s, n)
               : ks__dec_sink_string(d, s, n, ncp);
}

static int on_map_key(void *ctx, const unsigned char *k, size_t n) {
  ks_decoder *d = ctx;
  size_t ncp;
  if (d->skip)
    return skipped_text(d, k);
  if (!ks__dec_text_ok(d, k, n, &ncp, 1))
    return 0;
  return d->xf ? ks_xf_callbacks()->yajl_map_key(ks_xf_entry(d->xf), k, n)
               : ks__dec_sink_key(d, k, n, ncp);
}

/* After a skimmed value that ends its record (nothing but the closes of
 * its enclosing containers and whitespace after it, the common case of a
 * free-form member written last) those closes go out here, and no parser
 * is needed for the rest. 0 when the rest is anything else; 1 when it was
 * that, with *ok saying whether the closes passed. */
static int close_tail(ks_decoder *d, size_t at, int *ok) {
  const uint8_t *p = d->in + at, *end = d->in + d->in_len;
  for (size_t i = d->sh.depth; i-- > 0;) {
    p += ks_json_ws(p, (size_t)(end - p));
    if (p == end || *p != (d->sh.stack[i].is_array ? ']' : '}'))
      return 0;
    p++;
  }
  if (p + ks_json_ws(p, (size_t)(end - p)) != end)
    return 0;
  p = d->in + at;
  *ok = 1;
  for (size_t i = d->sh.depth; i-- > 0;) {
    p += ks_json_ws(p, (size_t)(end - p)) + 1;
    d->sh.at = (size_t)(p - d->in);
    if (!ks__dec_sink_close(d)) {
      *ok = 0;
      break;
    }
  }
  return 1;
}

static int on_open(ks_decoder *d, int is_array) {
  if (d->skip) {
    /* the validator's nesting limit, counting the skipped levels */
    if (d->v.depth + d->skip - 1 >= KS_JS_MAX_DEPTH) {
      d->skip_failed = 1;
      return 0;
    }
    d->skip++;
    return 1;
  }
  d->sh.at = consumed(d);
  if (d->xf) {
    d->xf_depth++; /* the sink sees the transformed value's nesting */
    return is_array ? ks_xf_callbacks()->yajl_start_array(ks_xf_entry(d->xf))
                    : ks_xf_callbacks()->yajl_start_map(ks_xf_entry(d->xf));
  }
  if (!ks__dec_sink_open(d, is_array))
    return 0;
  if (!d->no_skip && ks__sh_opaque(&d->sh) && ks_js_opaque(&d->v)) {
    d->skip = 1;
    d->skip_from = d->sh.at - 1; /* the '{' or '[' */
    /* the nesting limit as the skipped opens below count it */
    int compact;
    size_t n = d->resumes_left > 0
                   ? ks_json_skim(
                         d->in + d->skip_from, d->in_len - d->skip_from,
                         (unsigned)(KS_JS_MAX_DEPTH + 1 - d->v.depth), &compact)
                   : 0;
    if (n && ks_utf8_check(d->in + d->skip_from, n, NULL) == 0) {
      /* its close now, then a parser that starts after it */
      d->skip = 0;
      d->sh.at = d->skip_from + n;
      d->sh.text_compact = compact;
      int ok = ks__dec_sink_close(d);
      d->sh.text_compact = 0;
      if (!ok)
        return 0;
      d->skimmed++;
      if (!close_tail(d, d->sh.at, &d->finished)) {
        d->resume = d->sh.at;
        d->resumes_left--;
      }
      return 0;
    }
  }
  return 1;
}

static int on_close(ks_decoder *d, int is_array) {
  if (d->skip > 1) {
    d->skip--;
    return 1;
  }
  d->sh.at = consumed(d);
  if (d->skip) { /* the opaque value's own close: its text's UTF-8 */
    d->skip = 0;
    if (ks_utf8_check(d->in + d->skip_from, d->sh.at - d->skip_from, NULL)) {
      d->skip_failed = 1;
      return 0;
    }
  }
  if (d->xf) {
    d->root_closed = --d->xf_depth == 0;
    return is_array ? ks_xf_callbacks()->yajl_end_array(ks_xf_entry(d->xf))
                    : ks_xf_callbacks()->yajl_end_map(ks_xf_entry(d->xf));
  }
  if (!ks__dec_sink_close(d))
    return 0;
  d->root_closed = d->v.depth == 0;
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
const yajl_callbacks ks__dec_callbacks = {
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
  ks_js_validator_init(&d->v, s->js);
  ks__sh_init(&d->sh, s->shroot, d->cols, &d->v);
  ks__arena_init(&d->arena);
  d->cbs = ks__dec_callbacks;
  return d;
}

void ks_decoder_free(ks_decoder *d) {
  if (d == NULL)
    return;
  ks__arena_free(&d->arena);
  ks__sh_free(&d->sh);
  ks_xf_free(d->xf);
  ks_js_validator_free(&d->v);
  ks_free(d->marks);
  ks_free(d);
}

void ks_decoder_set_refuse_dropped(ks_decoder *d, int on) {
  d->refuse_dropped = on;
}

void ks_decoder_set_caller_marks(ks_decoder *d, int on) {
  d->caller_marks = on;
}

void ks_decoder_set_skip_opaque(ks_decoder *d, int on) {
  d->no_skip = !on;
}

size_t ks_decoder_skimmed(const ks_decoder *d) {
  return d->skimmed;
}

void ks_decoder_set_transforms(ks_decoder *d, const ks_conf_transform *xs,
                               size_t n) {
  ks_xf_free(d->xf);
  d->xf = ks_xf_new(xs, n, &sink_callbacks, d);
}

void ks_decoder_set_max_record(ks_decoder *d, size_t bytes) {
  d->max_record = bytes;
}

void ks__dec_mark(ks_decoder *d) {
  if (d->caller_marks)
    return;
  for (size_t i = 0; i < d->ncols; i++) {
    const ks_column *c = &d->cols[i];
    d->marks[i] = (colmark){c->values.len, c->lens.len, c->defs.len,
                            c->reps.len, c->nvalues};
  }
}

void ks__dec_rollback(ks_decoder *d) {
  if (d->caller_marks) {
    for (size_t i = 0; i < d->ncols; i++)
      ks_column_rollback(&d->cols[i]);
    return;
  }
  for (size_t i = 0; i < d->ncols; i++) {
    ks_column *c = &d->cols[i];
    ks_buf_truncate(&c->values, d->marks[i].values);
    ks_buf_truncate(&c->lens, d->marks[i].lens);
    ks_buf_truncate(&c->defs, d->marks[i].defs);
    ks_buf_truncate(&c->reps, d->marks[i].reps);
    c->nvalues = d->marks[i].nvalues;
  }
}

/* A failure reported through the validator, into r: the reason is the
 * decoder's or the shredder's own when they set one, else follows from
 * the engine's verdict. */
int ks__dec_take_error(ks_decoder *d, ks_reject *r) {
  const ks_js_error *e = &d->err;
  r->code = e->code;
  r->keyword = e->keyword;
  r->reason = d->reason != KS_REASON_NONE      ? d->reason
              : d->sh.reason != KS_REASON_NONE ? d->sh.reason
              : e->is_null                     ? KS_REASON_NULL_VALUE
              : e->code == KS_ETOOBIG          ? KS_REASON_TOO_LARGE
                                               : KS_REASON_SCHEMA;
  memcpy(r->path, e->path, sizeof r->path);
  memcpy(r->message, e->message, sizeof r->message);
  return r->code;
}

int ks__dec_accept(ks_decoder *d, int xs, ks_reject *r) {
  if (d->refuse_dropped && d->sh.dropped) {
    r->code = KS_ENEWFIELD;
    r->reason = KS_REASON_NEW_FIELD;
    snprintf(r->message, sizeof r->message,
             "%u values in fields the table has no column for",
             (unsigned)d->sh.dropped);
    ks__dec_rollback(d);
    return r->code;
  }
  if (xs == KS_XF_DROPPED) {
    ks__dec_rollback(d);
    return KS_DECODE_SKIPPED;
  }
  if (d->cols && d->schema->checks &&
      ks__checks_run(d->schema, d->cols, r->message, sizeof r->message)) {
    r->code = KS_EINVALID;
    r->reason = KS_REASON_CONSTRAINT;
    ks__dec_rollback(d);
    return r->code;
  }
  return 0;
}

/* why: the failure, NULL for yajl's own message. */
static void parse_error(ks_decoder *d, ks_reject *r, size_t at,
                        const char *why) {
  char *msg = why ? NULL : (char *)yajl_get_error(d->h, 0, d->in, d->in_len);
  const char *text = why ? why : msg ? msg : "parse error";
  r->code = KS_EPARSE;
  r->reason =
      strstr(text, "UTF8") ? KS_REASON_INVALID_UTF8 : KS_REASON_MALFORMED_JSON;
  r->keyword = KS_KEYWORD_NONE;
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
  return ks_decoder_feed_meta(d, json, len, NULL, r);
}

/* A new parser for the text after a skimmed value (d->resume), brought to
 * the state that value left: muted, it reads the value's enclosing
 * containers (from the shredder's stack, the value's own frame already
 * closed) and an empty array in the value's place, then reads on from
 * resume with the callbacks back. Empty arrays and keys are used because
 * their last token ends without a look at the next byte. */
static yajl_status resume_after(ks_decoder *d) {
  char pre[KS_JS_MAX_DEPTH * 4 + 3];
  size_t n = 0;
  for (size_t i = 0; i < d->sh.depth; i++) {
    if (d->sh.stack[i].is_array) {
      pre[n++] = '[';
    } else {
      memcpy(pre + n, "{\"\":", 4);
      n += 4;
    }
  }
  pre[n++] = '[';
  pre[n++] = ']';
  yajl_free(d->h);
  d->h = yajl_alloc(&d->cbs, &d->arena.funcs, d);
  memset(&d->cbs, 0, sizeof d->cbs);
  yajl_status st = yajl_parse(d->h, (const unsigned char *)pre, n);
  d->cbs = ks__dec_callbacks;
  if (st != yajl_status_ok)
    return st; /* cannot be: the text above is well-formed */
  d->base = d->resume;
  d->resume = 0;
  return yajl_parse(d->h, d->in + d->base, d->in_len - d->base);
}

/* A record whose top value is a scalar has no close that says where it
 * ended (root_closed): a second parse finds the end, and bytes after it
 * other than whitespace are garbage, as after a container's close.
 * Completing the parse would let a token the record's end cut off
 * through (`"x" "ab`). A container left open finds no end here, and the
 * completed parse says so. Only a schema that allows a scalar at the top
 * lets such a record get this far. */
static int trailing_bytes(const uint8_t *json, size_t len) {
  size_t end = ks_json_value_end(json, len);
  return end && ks_json_ws_yajl(json + end, len - end) != len - end;
}

int ks__dec_too_large(ks_decoder *d, size_t len) {
  if (d->max_record == 0 || len <= d->max_record)
    return 0;
  ks_js_fail(&d->v, KS_ETOOBIG, 0, KS_KEYWORD_NONE,
             "record of %zu bytes is larger than the limit of %zu", len,
             d->max_record);
  return 1;
}

static int feed_once(ks_decoder *d, const uint8_t *json, size_t len,
                     const ks_xf_meta *meta, ks_reject *r) {
  d->skip = 0;
  d->skip_failed = 0;
  r->code = 0;
  r->reason = KS_REASON_NONE;
  r->keyword = KS_KEYWORD_NONE;
  r->path[0] = r->message[0] = 0;
  d->err.code = 0;
  d->reason = KS_REASON_NONE;
  d->sh.reason = KS_REASON_NONE;
  ks_js_validator_reset(&d->v, &d->err);
  if (json == NULL || len == 0) {
    d->reason = KS_REASON_NULL_VALUE;
    ks_js_fail(&d->v, KS_EINVALID, 0, KS_KEYWORD_NONE,
               "record is empty (null value or tombstone)");
    return ks__dec_take_error(d, r);
  }
  if (ks__dec_too_large(d, len))
    return ks__dec_take_error(d, r);
  ks__dec_mark(d);
  d->in = json;
  d->in_len = len;
  ks_js_set_text(&d->v, json, len);
  ks__sh_reset(&d->sh);
  /* free-form values are copied from the record's text, unless transforms
   * stand between the text and the shredder */
  d->sh.text = d->xf ? NULL : json;
  ks__arena_reset(&d->arena);
  /* yajl's defaults are the strict ones we want: UTF-8 checked, no
   * comments, no trailing garbage, exactly one value. */
  if (d->xf)
    ks_xf_begin(d->xf, meta);
  d->base = d->resume = 0;
  d->finished = 0;
  d->root_closed = 0;
  d->xf_depth = 0;
  d->resumes_left = 16;
  d->h = yajl_alloc(&d->cbs, &d->arena.funcs, d);
  yajl_status st = yajl_parse(d->h, json, len);
  while (st == yajl_status_client_canceled && d->resume)
    st = resume_after(d);
  int at_end = 0;
  if (st == yajl_status_client_canceled && d->finished) {
    st = yajl_status_ok; /* close_tail closed the record */
    at_end = 1;
  } else if (st == yajl_status_ok && !d->root_closed &&
             trailing_bytes(json, len)) {
    parse_error(d, r, len, "parse error: trailing garbage");
    st = yajl_status_client_canceled;
  } else if (st == yajl_status_ok && !d->root_closed) {
    st = yajl_complete_parse(d->h);
    at_end = 1;
  } else if (st == yajl_status_ok &&
             ks_json_ws_yajl(d->in + d->sh.at, d->in_len - d->sh.at) !=
                 d->in_len - d->sh.at) {
    /* After the top container's close yajl refused every whole token and
     * let through its whitespace or a token cut off by the record's end
     * (`{} t`, `{} "ab`): garbage, though completing the parse would
     * accept a string left open. Whitespace alone is the record's end. */
    parse_error(d, r, len, "parse error: trailing garbage");
    st = yajl_status_client_canceled;
  }
  if (st == yajl_status_error && d->skip)
    d->skip_failed = 1; /* a UTF-8 failure earlier in the value comes first */
  int xs = d->xf ? ks_xf_status(d->xf) : 0;
  if (xs == KS_XF_FAILED) {
    r->code = KS_EINVALID;
    r->reason = KS_REASON_TRANSFORM;
    snprintf(r->message, sizeof r->message, "%s", ks_xf_error(d->xf));
    st = yajl_status_client_canceled;
  } else if (st == yajl_status_error)
    parse_error(d, r, at_end ? len : consumed(d), NULL);
  else if (st != yajl_status_ok && d->err.code)
    ks__dec_take_error(d, r);
  yajl_free(d->h);
  d->h = NULL;
  if (st == yajl_status_ok)
    return ks__dec_accept(d, xs, r);
  if (r->code == 0) { /* a callback stopped the parse without a verdict */
    r->code = KS_EPARSE;
    r->reason = KS_REASON_MALFORMED_JSON;
    snprintf(r->message, sizeof r->message, "malformed JSON");
  }
  ks__dec_rollback(d);
  return r->code;
}

int ks_decoder_feed_meta(ks_decoder *d, const uint8_t *json, size_t len,
                         const ks_xf_meta *meta, ks_reject *r) {
  if (r == NULL)
    r = &d->scratch;
  int rc = feed_once(d, json, len, meta, r);
  if (d->skip_failed) { /* again, every event checked: the exact place */
    int no_skip = d->no_skip;
    d->no_skip = 1;
    rc = feed_once(d, json, len, meta, r);
    d->no_skip = no_skip;
  }
  return rc;
}

int ks_schema_validate(const ks_schema *s, const uint8_t *json, size_t len,
                       ks_reject *r) {
  ks_decoder *d = ks_decoder_new(s, NULL, 0);
  int rc = ks_decoder_feed(d, json, len, r);
  ks_decoder_free(d);
  return rc;
}
