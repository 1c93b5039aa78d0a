/*
 * JSON text without a parser: ks_json_compact gives, byte for byte, what
 * serializing yajl's events of the same text gives (the way the shredder
 * built free-form values before it copied them), for hand-picked texts
 * and for random ones with whitespace, every escape, surrogate pairs,
 * raw UTF-8 and nesting; and it respects the buffer's cap.
 */
#include "base/buf.h"
#include "base/jsontext.h"
#include "base/ks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/* ---- the reference: serialize yajl's events ---- */

typedef struct ref {
  ks_buf out;
  int first[64]; /* per open container: no entry yet */
  int depth;
  int after_key;
} ref;

static void sep(ref *r) {
  if (r->after_key) {
    r->after_key = 0;
    return;
  }
  if (r->depth > 0 && !r->first[r->depth - 1])
    ks_buf_append_byte(&r->out, ',');
  if (r->depth > 0)
    r->first[r->depth - 1] = 0;
}

static int r_null(void *ctx) {
  sep(ctx);
  return ks_buf_append(&((ref *)ctx)->out, "null", 4) == 0;
}
static int r_bool(void *ctx, int b) {
  sep(ctx);
  return ks_buf_append_str(&((ref *)ctx)->out, b ? "true" : "false") == 0;
}
static int r_number(void *ctx, const char *t, size_t n) {
  sep(ctx);
  return ks_buf_append(&((ref *)ctx)->out, t, n) == 0;
}
static int r_string(void *ctx, const unsigned char *s, size_t n) {
  sep(ctx);
  return ks_buf_append_json_str(&((ref *)ctx)->out, (const char *)s, n) == 0;
}
static int r_key(void *ctx, const unsigned char *s, size_t n) {
  ref *r = ctx;
  sep(r);
  ks_buf_append_json_str(&r->out, (const char *)s, n);
  ks_buf_append_byte(&r->out, ':');
  r->after_key = 1;
  return 1;
}
static int r_open(ref *r, uint8_t ch) {
  sep(r);
  ks_buf_append_byte(&r->out, ch);
  r->first[r->depth++] = 1;
  return 1;
}
static int r_close(ref *r, uint8_t ch) {
  r->depth--;
  ks_buf_append_byte(&r->out, ch);
  return 1;
}
static int r_sm(void *ctx) { return r_open(ctx, '{'); }
static int r_em(void *ctx) { return r_close(ctx, '}'); }
static int r_sa(void *ctx) { return r_open(ctx, '['); }
static int r_ea(void *ctx) { return r_close(ctx, ']'); }

static const yajl_callbacks ref_cb = {
    .yajl_null = r_null,
    .yajl_boolean = r_bool,
    .yajl_number = r_number,
    .yajl_string = r_string,
    .yajl_start_map = r_sm,
    .yajl_map_key = r_key,
    .yajl_end_map = r_em,
    .yajl_start_array = r_sa,
    .yajl_end_array = r_ea,
};

/* 1 and the reference serialization in out, or 0 when yajl refuses t. */
static int reference(const char *t, size_t n, ks_buf *out) {
  ref r;
  memset(&r, 0, sizeof r);
  ks_buf_init(&r.out, 0);
  yajl_handle h = yajl_alloc(&ref_cb, NULL, &r);
  int ok = yajl_parse(h, (const unsigned char *)t, n) == yajl_status_ok &&
           yajl_complete_parse(h) == yajl_status_ok;
  yajl_free(h);
  *out = r.out;
  return ok;
}

static void check_same(const char *t, size_t n) {
  ks_buf want, got;
  assert_true(reference(t, n, &want));
  ks_buf_init(&got, 0);
  ks_buf_append(&got, "prefix", 6); /* appends after what is there */
  assert_int_equal(ks_json_compact(&got, t, n), 0);
  if (got.len != want.len + 6 || memcmp(got.data + 6, want.data, want.len)) {
    fprintf(stderr, "text: %.*s\nwant: %.*s\ngot:  %.*s\n", (int)n, t,
            (int)want.len, (const char *)want.data, (int)got.len - 6,
            (const char *)got.data + 6);
    fail();
  }
  ks_buf_free(&want);
  ks_buf_free(&got);
}

static void test_examples(void **state) {
  static const char *const texts[] = {
      "{}",
      "[]",
      "{\"a\":1}",
      " { \"a\" : 1 , \"b\" :\t[ true , false , null ] }\n",
      "{\"url\":\"https://x.example/a b?q=1\",\"device\":{\"os\":\"iOS\"}}",
      "[\"\\\"quoted\\\"\", \"back\\\\slash\", \"sl\\/ash\"]",
      "[\"\\b\\f\\n\\r\\t\", \"\\u0000\\u0001\\u001f\\u000b\"]",
      "[\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\", \"\\u0022\\u005c\\u002F\"]",
      "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]",
      "[-0.5e+10, 1E-3, 0, 123456789012345678901234567890]",
      "[[[[{\"a\":[{}]}]]]]",
      "{\"spaces inside\":\"  a  b  \" , \"k\" : \"12345678abcdefgh\\\"x\"}",
  };
  for (size_t i = 0; i < KS_ARRAY_SIZE(texts); i++)
    check_same(texts[i], strlen(texts[i]));
}

/* ---- random texts ---- */

static uint64_t rng = 88172645463325252ULL;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static int with_ws = 1, with_esc = 1; /* off: texts already compact */

static void ws(ks_buf *b) {
  static const char w[] = " \t\n\r";
  while (with_ws && rnd(3) == 0)
    ks_buf_append_byte(b, (uint8_t)w[rnd(4)]);
}

static void gen_string(ks_buf *b) {
  ks_buf_append_byte(b, '"');
  unsigned len = rnd(24);
  for (unsigned i = 0; i < len; i++) {
    char tmp[16];
    switch (with_esc ? rnd(12) : 3 + rnd(9)) {
    case 0: {
      static const char *const esc[] = {"\\\"", "\\\\", "\\/", "\\b",
                                        "\\f",  "\\n",  "\\r", "\\t"};
      ks_buf_append_str(b, esc[rnd(8)]);
      break;
    }
    case 1: /* a \u escape of a BMP character (no surrogates) */
    {
      unsigned cp = rnd(4) == 0 ? rnd(0x80) : rnd(0xD800);
      snprintf(tmp, sizeof tmp, rnd(2) ? "\\u%04x" : "\\u%04X", cp);
      ks_buf_append_str(b, tmp);
      break;
    }
    case 2: /* a surrogate pair */
      snprintf(tmp, sizeof tmp, "\\u%04x\\u%04x", 0xD800 + rnd(0x400),
               0xDC00 + rnd(0x400));
      ks_buf_append_str(b, tmp);
      break;
    case 3: /* raw UTF-8 */
      ks_buf_append_str(b, rnd(2) ? "\xc3\xa9" : "\xf0\x9f\x98\x80");
      break;
    case 4:
      ks_buf_append_byte(b, ' ');
      break;
    default:
      ks_buf_append_byte(b, (uint8_t)('a' + rnd(26)));
    }
  }
  ks_buf_append_byte(b, '"');
}

static void gen_value(ks_buf *b, int depth) {
  ws(b);
  unsigned k = depth > 5 ? rnd(5) : rnd(7);
  switch (k) {
  case 0:
    gen_string(b);
    break;
  case 1: {
    static const char *const nums[] = {"0", "-1", "3.25", "1e9", "-0.0E-2",
                                       "123456789012345678901234"};
    ks_buf_append_str(b, nums[rnd(6)]);
    break;
  }
  case 2:
    ks_buf_append_str(b, "true");
    break;
  case 3:
    ks_buf_append_str(b, "false");
    break;
  case 4:
    ks_buf_append_str(b, "null");
    break;
  case 5: {
    ks_buf_append_byte(b, '[');
    unsigned n = rnd(5);
    for (unsigned i = 0; i < n; i++) {
      if (i)
        ws(b), ks_buf_append_byte(b, ',');
      gen_value(b, depth + 1);
    }
    ws(b);
    ks_buf_append_byte(b, ']');
    break;
  }
  default: {
    ks_buf_append_byte(b, '{');
    unsigned n = rnd(5);
    for (unsigned i = 0; i < n; i++) {
      if (i)
        ws(b), ks_buf_append_byte(b, ',');
      ws(b);
      gen_string(b);
      ws(b);
      ks_buf_append_byte(b, ':');
      gen_value(b, depth + 1);
    }
    ws(b);
    ks_buf_append_byte(b, '}');
  }
  }
  ws(b);
}

static void test_random_texts(void **state) {
  ks_buf t;
  ks_buf_init(&t, 0);
  for (int i = 0; i < 40000; i++) {
    /* a quarter each: whitespace and escapes, either, neither (the copy
     * of a text that is already compact) */
    with_ws = i % 4 < 2;
    with_esc = i % 2;
    ks_buf_reset(&t);
    gen_value(&t, rnd(2) ? 0 : 5);
    check_same((const char *)t.data, t.len);
  }
  ks_buf_free(&t);
}

static void test_respects_cap(void **state) {
  const char *t = "{ \"a\" : \"bcdefghijklmnop\" }"; /* 28 bytes */
  for (size_t cap = 20; cap < 48; cap++) {
    ks_buf b;
    ks_buf_init(&b, cap);
    int r = ks_json_compact(&b, t, strlen(t));
    if (cap < strlen(t)) {
      assert_int_equal(r, KS_ETOOBIG);
      assert_int_equal(b.len, 0);
    } else {
      assert_int_equal(r, 0);
      assert_string_equal(ks_buf_cstr(&b) == 0 ? (char *)b.data : "",
                          "{\"a\":\"bcdefghijklmnop\"}");
    }
    ks_buf_free(&b);
  }
}

/* ---- ks_json_value_end ---- */

static void test_value_end(void **state) {
  (void)state;
  static const struct {
    const char *text;
    size_t end;
  } cases[] = {
      {"{}", 2},
      {" [1, {\"a\": [2]}]\n", 16},
      {"{\"a\":1} \"ab", 7}, /* the rest is the caller's */
      {"\"x\" \"ab", 3},
      {"\"x\"", 3},
      {"true false", 4},
      {"null", 4},
      {"12", 2},        /* a number the text's end closes */
      {" -1.5e3 x", 7}, /* a number closed by a delimiter */
      {"\v\f 7 ", 4},   /* yajl's whitespace */
      /* no whole value */
      {"", 0},
      {" \n ", 0},
      {"{\"a\":", 0},
      {"[1, 2", 0},
      {"\"ab", 0},
      {"tru", 0},
      {"{\"a\" 1}", 0},
      {"\"\xc3(\"", 0}, /* not UTF-8 */
      {"01", 1},        /* "0", then a token the caller finds after it */
      {"/* c */ 1", 0},
  };
  for (size_t i = 0; i < KS_ARRAY_SIZE(cases); i++) {
    size_t got = ks_json_value_end(cases[i].text, strlen(cases[i].text));
    if (got != cases[i].end) {
      fprintf(stderr, "%s: %zu, not %zu\n", cases[i].text, got, cases[i].end);
      fail();
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_examples),
      cmocka_unit_test(test_random_texts),
      cmocka_unit_test(test_respects_cap),
      cmocka_unit_test(test_value_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
