/* One-pass decode/validate/shred: values read back from the column
 * buffers, every reject kind with its exact message, and rollback. */
#include "base/ks.h"
#include "conf/conf.h"
#include "jsonschema/jsonschema.h"
#include "stages/record/decode.h"
#include "stages/record/shred.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char seed[] =
    "{\"type\": \"object\", \"properties\": {"
    "  \"user_id\": {\"type\": \"integer\"},"
    "  \"event_type\": {\"type\": \"string\"},"
    "  \"timestamp\": {\"type\": \"string\", \"format\": \"date-time\"},"
    "  \"properties\": {\"type\": \"object\"}},"
    " \"required\": [\"user_id\", \"event_type\", \"timestamp\"],"
    " \"additionalProperties\": false}";

static const char every[] =
    "{\"type\": \"object\", \"properties\": {"
    " \"i\": {\"type\": \"integer\"},"
    " \"n\": {\"type\": \"number\"},"
    " \"b\": {\"type\": \"boolean\"},"
    " \"s\": {\"type\": \"string\"},"
    " \"ts\": {\"type\": \"string\", \"format\": \"date-time\"},"
    " \"d\": {\"type\": \"string\", \"format\": \"date\"},"
    " \"o\": {\"type\": \"object\"},"
    " \"a\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}},"
    " \"mixed\": {\"type\": [\"string\", \"integer\"]},"
    " \"opt\": {\"type\": [\"integer\", \"null\"]}},"
    " \"required\": [\"i\"]}";

typedef struct fixture {
  ks_schema *s;
  ks_rowgroup rg;
  ks_decoder *d;
} fixture;

static fixture *fx_new(const char *schema) {
  fixture *f = calloc(1, sizeof *f);
  char err[512] = "";
  int r = ks_schema_load_string(schema, strlen(schema), "t.json", &f->s, err,
                                sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  ks_rowgroup_init_schema(&f->rg, ks_schema_tree(f->s));
  f->d = ks_decoder_new(f->s, &f->rg, 0);
  return f;
}

static void fx_free(fixture *f) {
  ks_decoder_free(f->d);
  ks_rowgroup_free(&f->rg);
  ks_schema_free(f->s);
  free(f);
}

static int feed(fixture *f, const char *json, ks_reject *rej) {
  int r = ks_decoder_feed(f->d, (const uint8_t *)json, strlen(json), rej);
  if (r == 0)
    ks_rowgroup_commit_row(&f->rg);
  return r;
}

static void feed_ok(fixture *f, const char *json) {
  ks_reject rej;
  int r = feed(f, json, &rej);
  if (r)
    print_error("rejected %s: %s\n", json, rej.message);
  assert_int_equal(r, 0);
}

/* A reject leaves the columns alone and says exactly this. Also checks
 * that the validate-only path reaches the same verdict. */
static void feed_rejects(fixture *f, const char *json, int code,
                         const char *reason, const char *path,
                         const char *msg) {
  ks_reject rej;
  size_t rows = ks_column_rows(&f->rg.cols[0]);
  int r = feed(f, json, &rej);
  assert_int_equal(r, code);
  assert_int_equal(rej.code, code);
  assert_string_equal(ks_reason_name(rej.reason), reason);
  assert_string_equal(rej.path, path);
  assert_string_equal(rej.message, msg);
  for (size_t i = 0; i < f->rg.ncols; i++)
    assert_int_equal(ks_column_rows(&f->rg.cols[i]), rows);
  ks_reject rej2;
  assert_int_equal(
      ks_schema_validate(f->s, (const uint8_t *)json, strlen(json), &rej2),
      code);
  assert_string_equal(rej2.message, msg);
}

static int64_t i64_at(const ks_column *c, size_t k) {
  int64_t v;
  assert_true((k + 1) * 8 <= c->values.len);
  memcpy(&v, c->values.data + k * 8, 8);
  return v;
}

static double dbl_at(const ks_column *c, size_t k) {
  double v;
  memcpy(&v, c->values.data + k * 8, 8);
  return v;
}

static int32_t i32_at(const ks_column *c, size_t k) {
  int32_t v;
  memcpy(&v, c->values.data + k * 4, 4);
  return v;
}

/* k-th non-null string, NUL-terminated copy in a static buffer */
static const char *str_at(const ks_column *c, size_t k) {
  static char out[4096];
  size_t off = 0;
  uint32_t len = 0;
  assert_true(k < c->lens.len / 4);
  for (size_t i = 0; i <= k; i++) {
    off += len;
    memcpy(&len, c->lens.data + i * 4, 4);
  }
  assert_true(len < sizeof out);
  memcpy(out, c->values.data + off, len);
  out[len] = 0;
  return out;
}

static int def_at(const ks_column *c, size_t row) {
  return c->defs.data[row];
}

/* ---- valid records ---- */

static void seed_record_shreds(void **state) {
  fixture *f = fx_new(seed);
  feed_ok(f, "{\"user_id\": 42, \"event_type\": \"click\", \"timestamp\": "
             "\"2024-01-31T12:00:00Z\", \"properties\": {\"page\": \"/\", "
             "\"n\": [1, 2.5, true, null]}}");
  feed_ok(f, "{\"timestamp\": \"2024-01-31T12:00:00.5+02:00\", \"user_id\": "
             "-7, \"event_type\": \"view\"}");
  ks_column *c = f->rg.cols;
  assert_int_equal(f->rg.nrows, 2);
  assert_int_equal(i64_at(&c[0], 0), 42);
  assert_int_equal(i64_at(&c[0], 1), -7);
  assert_string_equal(str_at(&c[1], 0), "click");
  assert_string_equal(str_at(&c[1], 1), "view");
  assert_int_equal(i64_at(&c[2], 0), INT64_C(1706702400000000));
  assert_int_equal(i64_at(&c[2], 1),
                   INT64_C(1706702400000000) - INT64_C(7200000000) + 500000);
  assert_string_equal(str_at(&c[3], 0),
                      "{\"page\":\"/\",\"n\":[1,2.5,true,null]}");
  assert_int_equal(def_at(&c[3], 0), 1);
  assert_int_equal(def_at(&c[3], 1), 0); /* absent, nullable */
  assert_int_equal(c[3].nvalues, 1);
  fx_free(f);
}

static void every_type_shreds(void **state) {
  fixture *f = fx_new(every);
  feed_ok(f, "{\"i\": 9223372036854775807, \"n\": 2.5, \"b\": true, "
             "\"s\": \"h\\u00e9llo \\\"q\\\"\", \"ts\": "
             "\"1970-01-01T00:00:01.123456789Z\", \"d\": \"2000-03-01\", "
             "\"o\": {\"k\\\"ey\": \"a\\nb\\u0001\\\\\", \"e\": {}, \"x\": "
             "[[]]}, \"a\": [3, 1e2, -0], \"mixed\": \"str\", \"opt\": 5}");
  feed_ok(f, "{\"i\": -9223372036854775808, \"n\": -1e-3, \"b\": false, "
             "\"mixed\": 12, \"opt\": null, \"o\": {}, \"a\": []}");
  feed_ok(f, "{\"i\": 1.0, \"n\": 3}");
  ks_column *c = f->rg.cols;
  assert_int_equal(i64_at(&c[0], 0), INT64_MAX);
  assert_int_equal(i64_at(&c[0], 1), INT64_MIN);
  assert_int_equal(i64_at(&c[0], 2), 1);
  assert_true(dbl_at(&c[1], 0) == 2.5);
  assert_true(dbl_at(&c[1], 1) == -1e-3);
  assert_true(dbl_at(&c[1], 2) == 3.0);
  assert_int_equal(c[2].values.data[0], 1);
  assert_int_equal(c[2].values.data[1], 0);
  assert_int_equal(def_at(&c[2], 2), 0);
  assert_string_equal(str_at(&c[3], 0), "h\xc3\xa9llo \"q\"");
  assert_int_equal(i64_at(&c[4], 0), 1123456); /* digits past us dropped */
  assert_int_equal(i32_at(&c[5], 0), 11017);
  assert_string_equal(str_at(&c[6], 0),
                      "{\"k\\\"ey\":\"a\\nb\\u0001\\\\\",\"e\":{},\"x\":[[]]}");
  assert_string_equal(str_at(&c[6], 1), "{}");
  /* a: list<long>, optional: entries (rep, def) with max_def 2 */
  static const uint8_t a_reps[] = {0, 1, 1, 0, 0}, a_defs[] = {2, 2, 2, 1, 0};
  assert_int_equal(c[7].defs.len, 5);
  assert_memory_equal(c[7].reps.data, a_reps, 5);
  assert_memory_equal(c[7].defs.data, a_defs, 5);
  assert_int_equal(i64_at(&c[7], 0), 3);
  assert_int_equal(i64_at(&c[7], 1), 100);
  assert_int_equal(i64_at(&c[7], 2), 0);
  assert_string_equal(str_at(&c[8], 0), "\"str\"");
  assert_string_equal(str_at(&c[8], 1), "12");
  assert_int_equal(def_at(&c[8], 2), 0);
  assert_int_equal(i64_at(&c[9], 0), 5);
  assert_int_equal(def_at(&c[9], 1), 0); /* explicit null */
  assert_int_equal(def_at(&c[9], 2), 0); /* absent */
  for (size_t i = 0; i < f->rg.ncols; i++)
    assert_int_equal(ks_column_rows(&c[i]), 3);
  fx_free(f);
}

static void timestamps_convert_to_utc_micros(void **state) {
  static const struct {
    const char *text;
    int64_t us;
  } cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:00+02:00", -INT64_C(7200000000)},
      {"1970-01-01T00:00:00-00:30", INT64_C(1800000000)},
      {"1969-12-31T23:59:59.999999Z", -1},
      {"2024-02-29t10:11:12.25z", INT64_C(1709201472250000)},
      {"1998-12-31T23:59:60Z", INT64_C(915148800000000)},
      {"1998-12-31T15:59:60.5-08:00", INT64_C(915148800500000)},
      {"0001-01-01T00:00:00Z", -INT64_C(62135596800000000)},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t us = 0;
    assert_int_equal(
        ks_datetime_parse(cases[i].text, strlen(cases[i].text), &us), 0);
    assert_int_equal(us, cases[i].us);
  }
  static const char *bad[] = {"2024-02-30T00:00:00Z",
                              "2023-02-29T00:00:00Z",
                              "2024-01-01 00:00:00Z",
                              "2024-01-01T24:00:00Z",
                              "2024-01-01T00:00:00",
                              "2024-01-01T00:00:00.Z",
                              "2024-01-01T00:00:00+2:00",
                              "1998-12-31T23:58:60Z",
                              "yesterday",
                              "2024-1-01T00:00:00Z",
                              "2024-01-01T00:00:00+24:00"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t us;
    assert_int_equal(ks_datetime_parse(bad[i], strlen(bad[i]), &us), -1);
  }
  int32_t days;
  assert_int_equal(ks_date_parse("1970-01-01", 10, &days), 0);
  assert_int_equal(days, 0);
  assert_int_equal(ks_date_parse("1969-12-31", 10, &days), 0);
  assert_int_equal(days, -1);
  assert_int_equal(ks_date_parse("2000-02-29", 10, &days), 0);
  assert_int_equal(ks_date_parse("1900-02-29", 10, &days), -1);
}

/* ---- rejects ---- */

static void type_mismatches_reject(void **state) {
  fixture *f = fx_new(seed);
  const char *ok_rest = ", \"event_type\": \"e\", \"timestamp\": "
                        "\"2024-01-01T00:00:00Z\"}";
  char buf[512];
  snprintf(buf, sizeof buf, "{\"user_id\": \"42\"%s", ok_rest);
  feed_rejects(f, buf, KS_EINVALID, "schema", "/user_id",
               "/user_id: expected integer, got string");
  snprintf(buf, sizeof buf, "{\"user_id\": null%s", ok_rest);
  feed_rejects(f, buf, KS_EINVALID, "null_value", "/user_id",
               "/user_id: expected integer, got null");
  snprintf(buf, sizeof buf, "{\"user_id\": 1.5%s", ok_rest);
  feed_rejects(f, buf, KS_EINVALID, "schema", "/user_id",
               "/user_id: expected integer, got number");
  snprintf(buf, sizeof buf, "{\"user_id\": 9223372036854775808%s", ok_rest);
  feed_rejects(f, buf, KS_EINVALID, "schema", "/user_id",
               "/user_id: 9223372036854775808 is out of range for a 64-bit "
               "integer");
  snprintf(buf, sizeof buf, "{\"user_id\": -9223372036854775809%s", ok_rest);
  feed_rejects(f, buf, KS_EINVALID, "schema", "/user_id",
               "/user_id: -9223372036854775809 is out of range for a 64-bit "
               "integer");
  snprintf(buf, sizeof buf, "{\"user_id\": 1, \"properties\": [1]%s", ok_rest);
  feed_rejects(f, buf, KS_EINVALID, "schema", "/properties",
               "/properties: expected object, got array");
  feed_rejects(f, "[1, 2]", KS_EINVALID, "schema", "",
               ": expected object, got array");
  feed_rejects(f, "\"x\"", KS_EINVALID, "schema", "",
               ": expected object, got string");
  feed_rejects(f, "null", KS_EINVALID, "null_value", "",
               ": expected object, got null");
  feed_rejects(f, "", KS_EINVALID, "null_value", "",
               ": record is empty (null value or tombstone)");
  assert_int_equal(f->rg.cols[0].values.len, 0);
  fx_free(f);
}

static void format_required_additional_reject(void **state) {
  fixture *f = fx_new(seed);
  feed_rejects(f,
               "{\"user_id\": 1, \"event_type\": \"e\", \"timestamp\": "
               "\"yesterday\"}",
               KS_EINVALID, "schema", "/timestamp",
               "/timestamp: \"yesterday\" is not a valid date-time (RFC "
               "3339, like 2024-01-31T12:00:00Z)");
  feed_rejects(f,
               "{\"user_id\": 1, \"timestamp\": "
               "\"2024-01-01T00:00:00Z\"}",
               KS_EINVALID, "schema", "",
               ": missing required property \"event_type\"");
  feed_rejects(f,
               "{\"user_id\": 1, \"extra\": 2, \"event_type\": \"e\", "
               "\"timestamp\": \"2024-01-01T00:00:00Z\"}",
               KS_EINVALID, "schema", "/extra",
               "/extra: additional property not allowed");
  feed_rejects(f,
               "{\"user_id\": 1, \"user_id\": 2, \"event_type\": \"e\", "
               "\"timestamp\": \"2024-01-01T00:00:00Z\"}",
               KS_EINVALID, "schema", "/user_id",
               "/user_id: duplicate property");
  fx_free(f);
}

static void malformed_json_rejects(void **state) {
  fixture *f = fx_new(seed);
  feed_rejects(f, "{\"user_id\": 1, \"event_type\" \"e\"}", KS_EPARSE,
               "malformed_json", "",
               "malformed JSON at byte 31: parse error: object key and value "
               "must be separated by a colon (':')");
  feed_rejects(f, "{\"user_id\": 1", KS_EPARSE, "malformed_json", "",
               "malformed JSON at byte 13: parse error: premature EOF");
  feed_rejects(f,
               "{\"user_id\": 1, \"event_type\": \"e\", \"timestamp\": "
               "\"2024-01-01T00:00:00Z\"} {}",
               KS_EPARSE, "malformed_json", "",
               "malformed JSON at byte 72: parse error: trailing garbage");
  /* After the top container's close, whitespace is the record's end (yajl
   * skips \v and \f too) and the start of any token is garbage, also one
   * the record's end cuts off: an unterminated string there was accepted
   * when the parse was completed after it. */
#define FX_VALID                                                               \
  "{\"user_id\": 1, \"event_type\": \"e\", \"timestamp\": "                     \
  "\"2024-01-01T00:00:00Z\"}"
  static const char *const cut[] = {" t",  "nul", " 1", "\n-",    " \"ab",
                                    "\t[", "{",   "\"", " \"\\u00", "\v\"x\\"};
  for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
    char rec[160], want[96];
    snprintf(rec, sizeof rec, "%s%s", FX_VALID, cut[i]);
    snprintf(want, sizeof want,
             "malformed JSON at byte %zu: parse error: trailing garbage",
             strlen(rec));
    feed_rejects(f, rec, KS_EPARSE, "malformed_json", "", want);
  }
  feed_ok(f, FX_VALID " \t\r\n ");
  feed_ok(f, FX_VALID "\n\v\f");
  feed_ok(f, FX_VALID);
#undef FX_VALID
  feed_rejects(f, "{\"user_id\": 01}", KS_EPARSE, "malformed_json", "",
               "malformed JSON at byte 13: parse error: after key and value, "
               "inside map, I expect ',' or '}'");
  feed_rejects(f, "{\"user_id\": -}", KS_EPARSE, "malformed_json", "",
               "malformed JSON at byte 13: lexical error: malformed number, "
               "a digit is required after the minus sign.");
  fx_free(f);
}

/* With transforms the sink sees the transformed value, not the record's
 * top container: the record's own nesting says where it ended, and bytes
 * after it are judged as without transforms. */
static void trailing_bytes_with_transforms(void **state) {
  fixture *f = fx_new(seed);
  ks_conf_transform x = {.kind = KS_XF_DEBEZIUM_UNWRAP};
  ks_decoder_set_transforms(f->d, &x, 1);
#define FX_ENVELOPE                                                            \
  "{\"before\": null, \"after\": {\"user_id\": 1, \"event_type\": \"e\", "    \
  "\"timestamp\": \"2024-01-01T00:00:00Z\"}, \"op\": \"c\"}"
  feed_ok(f, FX_ENVELOPE);
  feed_ok(f, FX_ENVELOPE " \r\n\v");
  static const char *const cut[] = {" \"ab", "\"", " t", "{", " 12"};
  for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
    char rec[192], want[96];
    snprintf(rec, sizeof rec, "%s%s", FX_ENVELOPE, cut[i]);
    snprintf(want, sizeof want,
             "malformed JSON at byte %zu: parse error: trailing garbage",
             strlen(rec));
    ks_reject rej;
    size_t rows = ks_column_rows(&f->rg.cols[0]);
    assert_int_equal(feed(f, rec, &rej), KS_EPARSE);
    assert_string_equal(ks_reason_name(rej.reason), "malformed_json");
    assert_string_equal(rej.message, want);
    assert_int_equal(ks_column_rows(&f->rg.cols[0]), rows);
  }
#undef FX_ENVELOPE
  fx_free(f);
}

/* A schema that allows a scalar at the top (ksink validate takes any
 * schema): the record ends with its scalar, and what follows is judged as
 * after a container's close. Completing the parse let an unterminated
 * string after it through. */
static void trailing_bytes_after_scalar(void **state) {
  static const char scalar[] = "{\"type\": [\"string\", \"number\", "
                               "\"boolean\", \"null\", \"object\"]}";
  ks_schema *s;
  char err[256];
  ks_schema_opts o = {.table = 0, .format_assertion = 1};
  assert_int_equal(ks_schema_load_opts(scalar, strlen(scalar), "s.json", &o, &s,
                                       err, sizeof err),
                   0);
  static const char *const ok[] = {"\"x\"",  " \"x\" \n", "12", "-1.5 ",
                                   "true\v", "null",      "{}"};
  static const char *const cut[] = {"\"x\" \"ab",  "\"x\"\"", "12 \"ab",
                                    "true \"\\u0", "null t",  "1.5 {",
                                    "\"x\" 1"};
  ks_reject r;
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    int rc = ks_schema_validate(s, (const uint8_t *)ok[i], strlen(ok[i]), &r);
    if (rc)
      print_error("rejected %s: %s\n", ok[i], r.message);
    assert_int_equal(rc, 0);
  }
  for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
    char want[96];
    snprintf(want, sizeof want,
             "malformed JSON at byte %zu: parse error: trailing garbage",
             strlen(cut[i]));
    assert_int_equal(
        ks_schema_validate(s, (const uint8_t *)cut[i], strlen(cut[i]), &r),
        KS_EPARSE);
    assert_string_equal(ks_reason_name(r.reason), "malformed_json");
    assert_string_equal(r.message, want);
  }
  /* a string the record's end cuts off is the record's own, not garbage */
  assert_int_equal(ks_schema_validate(s, (const uint8_t *)"\"ab", 3, &r),
                   KS_EPARSE);
  assert_string_equal(r.message,
                      "malformed JSON at byte 3: parse error: premature EOF");
  ks_schema_free(s);
}

static void invalid_utf8_rejects(void **state) {
  fixture *f = fx_new(every);
  /* bytes that are not UTF-8 at all: caught by yajl's lexer */
  feed_rejects(f, "{\"i\": 1, \"s\": \"a\xff\"}", KS_EPARSE, "invalid_utf8", "",
               "malformed JSON at byte 17: lexical error: invalid bytes "
               "in UTF8 string.");
  /* well-formed patterns yajl lets through */
  feed_rejects(f, "{\"i\": 1, \"s\": \"\xc0\xaf\"}", KS_EPARSE, "invalid_utf8",
               "/s", "/s: string is not valid UTF-8");
  feed_rejects(f, "{\"i\": 1, \"s\": \"\xed\xa0\x80\"}", KS_EPARSE,
               "invalid_utf8", "/s", "/s: string is not valid UTF-8");
  feed_rejects(f, "{\"i\": 1, \"s\": \"\xf4\x90\x80\x80\"}", KS_EPARSE,
               "invalid_utf8", "/s", "/s: string is not valid UTF-8");
  feed_rejects(f, "{\"i\": 1, \"o\": {\"\xe0\x80\xaf\": 1}}", KS_EPARSE,
               "invalid_utf8", "/o", "/o: property name is not valid UTF-8");
  /* escapes: lone and mismatched surrogates */
  feed_rejects(f, "{\"i\": 1, \"s\": \"x\\ud800y\"}", KS_EPARSE, "invalid_utf8",
               "/s", "/s: string is not valid UTF-8");
  feed_rejects(f, "{\"i\": 1, \"s\": \"\\udc00\"}", KS_EPARSE, "invalid_utf8",
               "/s", "/s: string is not valid UTF-8");
  feed_rejects(f, "{\"i\": 1, \"s\": \"\\ud800\\u0041\"}", KS_EPARSE,
               "invalid_utf8", "/s", "/s: string is not valid UTF-8");
  /* a proper pair and a literal backslash-u are fine */
  feed_ok(f, "{\"i\": 1, \"s\": \"\\ud83d\\ude00 \\\\ud800\"}");
  assert_string_equal(str_at(&f->rg.cols[3], 0), "\xf0\x9f\x98\x80 \\ud800");
  fx_free(f);
}

static void depth_and_size_limits(void **state) {
  fixture *f = fx_new(seed);
  char deep[400] = "{\"user_id\": 1, \"properties\": {\"a\":";
  size_t n = strlen(deep);
  for (int i = 0; i < 63; i++)
    deep[n++] = '[';
  deep[n] = 0;
  char want_path[256] = "/properties/a";
  for (int i = 0; i < 62; i++)
    strcat(want_path, "/0");
  char want_msg[512];
  snprintf(want_msg, sizeof want_msg,
           "%s: nesting too deep (more than 64 levels)", want_path);
  feed_rejects(f, deep, KS_ETOOBIG, "too_large", want_path, want_msg);

  ks_decoder_set_max_record(f->d, 16);
  ks_reject rej;
  assert_int_equal(feed(f, "{\"user_id\": 1, \"event_type\": \"e\"}", &rej),
                   KS_ETOOBIG);
  assert_string_equal(ks_reason_name(rej.reason), "too_large");
  assert_string_equal(rej.message,
                      ": record of 33 bytes is larger than the limit of 16");
  fx_free(f);
}

static void pointer_escapes_and_nested_paths(void **state) {
  fixture *f = fx_new(
      "{\"type\": \"object\", \"properties\": {\"a/b~c\": {\"type\": "
      "\"array\", \"items\": {\"type\": \"object\", \"properties\": "
      "{\"q\": {\"type\": \"string\", \"minLength\": 2, \"maxLength\": 3}},"
      " \"required\": [\"q\"]}}, \"e\": {\"enum\": [\"x\", 1, null]}, "
      "\"m\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 10.5}}}");
  feed_ok(f, "{\"a/b~c\": [{\"q\": \"\xc3\xa9\xc3\xa9\"}], \"e\": 1.0, "
             "\"m\": 10.5}");
  feed_rejects(f, "{\"a/b~c\": [{\"q\": \"ab\"}, {\"q\": 1}]}", KS_EINVALID,
               "schema", "/a~1b~0c/1/q",
               "/a~1b~0c/1/q: expected string, got integer");
  feed_rejects(f, "{\"a/b~c\": [{\"q\": \"ab\"}, {}]}", KS_EINVALID, "schema",
               "/a~1b~0c/1", "/a~1b~0c/1: missing required property \"q\"");
  feed_rejects(f, "{\"a/b~c\": [{\"q\": \"\xc3\xa9\"}]}", KS_EINVALID, "schema",
               "/a~1b~0c/0/q",
               "/a~1b~0c/0/q: string of 1 characters is shorter than "
               "minLength 2");
  feed_rejects(f, "{\"a/b~c\": [{\"q\": \"abcd\"}]}", KS_EINVALID, "schema",
               "/a~1b~0c/0/q",
               "/a~1b~0c/0/q: string of 4 characters is longer than "
               "maxLength 3");
  feed_rejects(f, "{\"e\": \"y\"}", KS_EINVALID, "schema", "/e",
               "/e: \"y\" is not one of the allowed values (enum)");
  feed_rejects(f, "{\"m\": -1}", KS_EINVALID, "schema", "/m",
               "/m: -1 is less than the minimum 0");
  feed_rejects(f, "{\"m\": 10.6}", KS_EINVALID, "schema", "/m",
               "/m: 10.6 is greater than the maximum 10.5");
  fx_free(f);
}

/* A failure on the third field, after two good ones were appended, leaves
 * every column exactly as it was: lengths and bytes. */
static void rollback_restores_columns(void **state) {
  fixture *f = fx_new(every);
  feed_ok(f, "{\"i\": 1, \"s\": \"keep\", \"o\": {\"k\": [1]}, \"mixed\": 3}");
  size_t nc = f->rg.ncols;
  ks_buf before[16];
  size_t nv[16];
  for (size_t i = 0; i < nc; i++) {
    const ks_column *c = &f->rg.cols[i];
    ks_buf_init(&before[i], 0);
    ks_buf_append(&before[i], c->values.data, c->values.len);
    ks_buf_append(&before[i], "|", 1);
    ks_buf_append(&before[i], c->lens.data, c->lens.len);
    ks_buf_append(&before[i], "|", 1);
    ks_buf_append(&before[i], c->defs.data, c->defs.len);
    nv[i] = c->nvalues;
  }
  const char *bad[] = {
      "{\"i\": 2, \"s\": \"gone\", \"b\": \"no\"}",
      "{\"i\": 2, \"o\": {\"deep\": [1, 2, {\"x\": \"y\"}]}, \"a\": [1, "
      "\"z\"]}",
      "{\"mixed\": \"m\", \"s\": \"t\", \"ts\": \"2024-01-01T00:00:00Z\"}",
      "{\"i\": 2, \"s\": \"gone\", \"o\": {\"unterminated\": ",
      "{\"i\": 2, \"s\": \"gone\", \"d\": \"2024-13-01\"}",
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    ks_reject rej;
    assert_int_not_equal(feed(f, bad[k], &rej), 0);
    for (size_t i = 0; i < nc; i++) {
      const ks_column *c = &f->rg.cols[i];
      ks_buf now;
      ks_buf_init(&now, 0);
      ks_buf_append(&now, c->values.data, c->values.len);
      ks_buf_append(&now, "|", 1);
      ks_buf_append(&now, c->lens.data, c->lens.len);
      ks_buf_append(&now, "|", 1);
      ks_buf_append(&now, c->defs.data, c->defs.len);
      assert_int_equal(now.len, before[i].len);
      assert_memory_equal(now.data, before[i].data, now.len);
      assert_int_equal(c->nvalues, nv[i]);
      ks_buf_free(&now);
    }
  }
  feed_ok(f, "{\"i\": 3, \"s\": \"next\"}");
  assert_string_equal(str_at(&f->rg.cols[3], 1), "next");
  assert_int_equal(i64_at(&f->rg.cols[0], 1), 3);
  for (size_t i = 0; i < nc; i++)
    ks_buf_free(&before[i]);
  fx_free(f);
}

static const char nested[] =
    "{\"type\": \"object\", \"properties\": {"
    " \"s\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": "
    "\"integer\"}, \"y\": {\"type\": [\"string\", \"null\"]}}, "
    "\"required\": [\"x\"]},"
    " \"l\": {\"type\": [\"array\", \"null\"], \"items\": {\"type\": "
    "[\"object\", \"null\"], \"properties\": {\"b\": {\"type\": "
    "[\"integer\", \"null\"]}}}},"
    " \"m\": {\"type\": \"object\", \"additionalProperties\": {\"type\": "
    "\"array\", \"items\": {\"type\": \"integer\"}}},"
    " \"p\": {\"type\": \"number\", \"multipleOf\": 0.01, \"minimum\": "
    "-1000, \"maximum\": 1000}},"
    " \"required\": [\"s\"]}";

static void check_levels(const ks_column *c, const uint8_t *reps,
                         const uint8_t *defs, size_t n) {
  assert_int_equal(c->defs.len, n);
  assert_memory_equal(c->defs.data, defs, n);
  if (reps) {
    assert_int_equal(c->reps.len, n);
    assert_memory_equal(c->reps.data, reps, n);
  } else {
    assert_int_equal(c->reps.len, 0);
  }
}

/* Structs, lists of nullable structs, maps of lists and DECIMAL: every
 * entry's repetition and definition level, including empty lists and
 * maps, null lists, null elements, and absent fields inside elements. */
static void nested_values_shred_with_levels(void **state) {
  fixture *f = fx_new(nested);
  assert_int_equal(ks_schema_ncolumns(f->s), 6);
  const ks_colspec *spec = ks_schema_columns(f->s);
  assert_string_equal(spec[2].name, "l.list.element.b");
  assert_string_equal(spec[4].name, "m.key_value.value.list.element");
  feed_ok(f, "{\"s\": {\"x\": 1}, \"l\": [null, {\"b\": null}, {\"b\": 7}, "
             "{}], \"m\": {\"k1\": [1, 2], \"k2\": []}, \"p\": 12.34}");
  feed_ok(f, "{\"s\": {\"y\": \"q\", \"x\": 2}, \"l\": [], \"m\": {}}");
  feed_ok(f, "{\"l\": null, \"s\": {\"x\": 3, \"y\": null}}");
  ks_column *c = f->rg.cols;
  check_levels(&c[0], NULL, (const uint8_t[]){0, 0, 0}, 3);
  assert_int_equal(i64_at(&c[0], 2), 3);
  check_levels(&c[1], NULL, (const uint8_t[]){0, 1, 0}, 3);
  assert_string_equal(str_at(&c[1], 0), "q");
  check_levels(&c[2], (const uint8_t[]){0, 1, 1, 1, 0, 0},
               (const uint8_t[]){2, 3, 4, 3, 1, 0}, 6);
  assert_int_equal(i64_at(&c[2], 0), 7);
  check_levels(&c[3], (const uint8_t[]){0, 1, 0, 0},
               (const uint8_t[]){2, 2, 1, 0}, 4);
  assert_string_equal(str_at(&c[3], 1), "k2");
  check_levels(&c[4], (const uint8_t[]){0, 2, 1, 0, 0},
               (const uint8_t[]){3, 3, 2, 1, 0}, 5);
  assert_int_equal(i64_at(&c[4], 1), 2);
  check_levels(&c[5], NULL, (const uint8_t[]){1, 0, 0}, 3);
  assert_int_equal(i32_at(&c[5], 0), 1234);
  for (size_t i = 0; i < f->rg.ncols; i++)
    assert_int_equal(ks_column_rows(&c[i]), 3);
  /* a rejected nested record leaves every column as it was */
  feed_rejects(f, "{\"s\": {\"x\": 4}, \"l\": [{\"b\": 1}, {\"b\": \"no\"}]}",
               KS_EINVALID, "schema", "/l/1/b", "/l/1/b: expected integer or null, got string");
  feed_rejects(f, "{\"s\": {\"x\": 4, \"x\": 5}}", KS_EINVALID, "schema",
               "/s/x", "/s/x: duplicate property");
  feed_rejects(f, "{\"s\": {}}", KS_EINVALID, "schema", "/s",
               "/s: missing required property \"x\"");
  assert_int_equal(c[2].defs.len, 6);
  assert_int_equal(c[0].defs.len, 3);
  fx_free(f);
}

/* Structs of up to 64 fields track the fields seen in a bit mask, wider
 * ones in bytes: both write the absent fields' levels, in order, and
 * refuse a duplicate or a missing required field. */
static void wide_structs_either_side_of_64(void **state) {
  static const size_t widths[] = {1, 63, 64, 65, 70};
  for (size_t wi = 0; wi < KS_ARRAY_SIZE(widths); wi++) {
    size_t n = widths[wi];
    char schema[8192];
    size_t o = (size_t)snprintf(schema, sizeof schema,
                                "{\"type\": \"object\", \"properties\": {\"w\": "
                                "{\"type\": \"object\", \"properties\": {");
    for (size_t k = 0; k < n; k++)
      o += (size_t)snprintf(schema + o, sizeof schema - o,
                            "%s\"f%zu\": {\"type\": \"integer\"}", k ? "," : "",
                            k);
    snprintf(schema + o, sizeof schema - o,
             "}, \"required\": [\"f%zu\"]}}}", n - 1);
    fixture *f = fx_new(schema);
    char rec[256];
    if (n > 1)
      snprintf(rec, sizeof rec, "{\"w\": {\"f%zu\": 7, \"f0\": 5}}", n - 1);
    else
      snprintf(rec, sizeof rec, "{\"w\": {\"f0\": 7}}");
    feed_ok(f, rec);
    feed_ok(f, "{}"); /* w absent: every field null below it */
    snprintf(rec, sizeof rec, "{\"w\": {\"f0\": 1}}");
    if (n > 1) {
      char want[128];
      snprintf(want, sizeof want, "/w: missing required property \"f%zu\"",
               n - 1);
      feed_rejects(f, rec, KS_EINVALID, "schema", "/w", want);
    }
    snprintf(rec, sizeof rec, "{\"w\": {\"f%zu\": 1, \"f%zu\": 2}}", n - 1,
             n - 1);
    char dup[64];
    snprintf(dup, sizeof dup, "/w/f%zu", n - 1);
    char dupmsg[96];
    snprintf(dupmsg, sizeof dupmsg, "%s: duplicate property", dup);
    feed_rejects(f, rec, KS_EINVALID, "schema", dup, dupmsg);
    /* field k: present in row 0 only for k = 0 and the last (required);
     * row 1 has no w */
    for (size_t k = 0; k < n; k++) {
      const ks_column *c = &f->rg.cols[k];
      int present = k == 0 || k == n - 1;
      /* the required field's leaf has no level of its own: 1 present */
      uint8_t def0 = k == n - 1 ? 1 : present ? 2 : 1;
      check_levels(c, NULL, (const uint8_t[]){def0, 0}, 2);
      if (present)
        assert_int_equal(i64_at(c, 0), k == 0 && n > 1 ? 5 : 7);
      assert_int_equal(ks_column_rows(c), 2);
    }
    fx_free(f);
  }
}

/* JSON number text -> unscaled DECIMAL, exactly. */
static void decimal_text_converts(void **state) {
  static const struct {
    const char *t;
    int p, s, ok;
    long long want;
  } cases[] = {
      {"12.34", 5, 2, 1, 1234},   {"1e2", 5, 2, 1, 10000},
      {"0.10", 5, 2, 1, 10},      {"-0.05", 5, 2, 1, -5},
      {"1.2e-1", 5, 2, 1, 12},    {"120E-3", 5, 2, 1, 12},
      {"-0", 3, 1, 1, 0},         {"0e-99999", 3, 1, 1, 0},
      {"999.99", 5, 2, 1, 99999}, {"1000", 5, 2, 0, 0},
      {"12.345", 5, 2, 0, 0},     {"5e-99999", 5, 2, 0, 0},
      {"1e99999", 5, 2, 0, 0},    {"0.0100", 5, 2, 1, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ks_int128 u = 7;
    int r = ks__decimal_unscaled(cases[i].t, strlen(cases[i].t), cases[i].p,
                                 cases[i].s, &u);
    if ((r == 0) != cases[i].ok)
      print_error("%s: %d\n", cases[i].t, r);
    assert_int_equal(r == 0, cases[i].ok);
    if (cases[i].ok)
      assert_true(u == cases[i].want);
  }
  ks_int128 u;
  const char *big = "-99999999999999999999999999999999999999";
  assert_int_equal(ks__decimal_unscaled(big, strlen(big), 38, 0, &u), 0);
  assert_true(u < 0 && -u > (ks_int128)1 << 125);
  assert_int_equal(ks__decimal_unscaled(big, strlen(big), 37, 0, &u), -1);
}

/* The decoder owns only its columns: others in the row group (metadata
 * columns the transform appends) are never touched. */
static void shreds_at_column_offset(void **state) {
  ks_schema *s;
  char err[256];
  assert_int_equal(
      ks_schema_load_string(seed, strlen(seed), "t", &s, err, sizeof err), 0);
  ks_colspec specs[5] = {{"_offset", KS_COL_INT64, 0}};
  memcpy(&specs[1], ks_schema_columns(s), 4 * sizeof specs[0]);
  ks_rowgroup rg;
  ks_rowgroup_init(&rg, specs, 5);
  ks_decoder *d = ks_decoder_new(s, &rg, 1);
  const char *rec = "{\"user_id\": 5, \"event_type\": \"e\", \"timestamp\": "
                    "\"2024-01-01T00:00:00Z\"}";
  ks_rowgroup_mark_row(&rg);
  ks_column_append_i64(&rg.cols[0], 77);
  assert_int_equal(ks_decoder_feed(d, (const uint8_t *)rec, strlen(rec), NULL),
                   0);
  ks_rowgroup_commit_row(&rg);
  ks_rowgroup_mark_row(&rg);
  ks_column_append_i64(&rg.cols[0], 78);
  assert_int_equal(ks_decoder_feed(d, (const uint8_t *)"{}", 2, NULL),
                   KS_EINVALID);
  assert_int_equal(ks_column_rows(&rg.cols[0]), 2); /* ours, untouched */
  assert_int_equal(ks_column_rows(&rg.cols[1]), 1);
  assert_int_equal(i64_at(&rg.cols[1], 0), 5);
  ks_decoder_free(d);
  ks_rowgroup_free(&rg);
  ks_schema_free(s);
}

static void integer_edges(void **state) {
  fixture *f = fx_new(every);
  static const struct {
    const char *text;
    int64_t v;
  } ok[] = {{"9223372036854775807", INT64_MAX},
            {"-9223372036854775808", INT64_MIN},
            {"1.0", 1},
            {"-0", 0},
            {"0.0e5", 0},
            {"1e2", 100},
            {"12.50e1", 125},
            {"922337203685477580.7e1", INT64_MAX},
            {"100e-2", 1}};
  char buf[128];
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    snprintf(buf, sizeof buf, "{\"i\": %s}", ok[i].text);
    feed_ok(f, buf);
    assert_int_equal(i64_at(&f->rg.cols[0], i), ok[i].v);
  }
  feed_rejects(f, "{\"i\": 1.5}", KS_EINVALID, "schema", "/i",
               "/i: expected integer, got number");
  feed_rejects(f, "{\"i\": 1e-1}", KS_EINVALID, "schema", "/i",
               "/i: expected integer, got number");
  feed_rejects(f, "{\"i\": 1e19}", KS_EINVALID, "schema", "/i",
               "/i: 1e19 is out of range for a 64-bit integer");
  feed_rejects(f, "{\"i\": 1, \"n\": 1e400}", KS_EINVALID, "schema", "/n",
               "/n: 1e400 is out of range for a double");
  fx_free(f);
}

static void validate_only_same_verdicts(void **state) {
  ks_schema *s;
  char err[256];
  assert_int_equal(
      ks_schema_load_string(seed, strlen(seed), "t", &s, err, sizeof err), 0);
  ks_decoder *d = ks_decoder_new(s, NULL, 0);
  const char *good = "{\"user_id\": 1, \"event_type\": \"e\", \"timestamp\": "
                     "\"2024-01-01T00:00:00Z\", \"properties\": {\"a\": 1}}";
  ks_reject rej;
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        ks_decoder_feed(d, (const uint8_t *)good, strlen(good), &rej), 0);
  const char *bad = "{\"user_id\": true}";
  assert_int_equal(ks_decoder_feed(d, (const uint8_t *)bad, strlen(bad), &rej),
                   KS_EINVALID);
  assert_string_equal(rej.message, "/user_id: expected integer, got boolean");
  assert_int_equal(
      ks_schema_validate(s, (const uint8_t *)good, strlen(good), NULL), 0);
  ks_decoder_free(d);
  ks_schema_free(s);
}

/* Many records through one decoder: the arena and the validator's buffers
 * are reused (ASan checks for leaks and stale pointers). */
static void many_records_reuse_decoder(void **state) {
  fixture *f = fx_new(seed);
  char buf[8192];
  for (int i = 0; i < 2000; i++) {
    size_t pad = (size_t)(i % 7) * 700; /* some records outgrow the arena */
    char big[5000];
    for (size_t k = 0; k < pad; k++)
      big[k] = k % 3 ? 'x' : '\\';
    if (pad && big[pad - 1] == '\\')
      big[pad - 1] = 'y';
    for (size_t k = 0; k + 1 < pad; k++)
      if (big[k] == '\\')
        big[++k] = 'n';
    big[pad] = 0;
    snprintf(buf, sizeof buf,
             "{\"user_id\": %d, \"event_type\": \"e%s\", \"timestamp\": "
             "\"2024-01-01T00:00:%02dZ\"}",
             i, big, i % 60);
    if (i % 5 == 4)
      buf[strlen(buf) - 1] = ','; /* malformed */
    ks_reject rej;
    int r = feed(f, buf, &rej);
    assert_int_equal(r, i % 5 == 4 ? KS_EPARSE : 0);
  }
  assert_int_equal(f->rg.nrows, 1600);
  assert_int_equal(ks_column_rows(&f->rg.cols[3]), 1600);
  fx_free(f);
}

/* Free-form values are copied from the record's text in compact form:
 * whitespace between tokens goes, strings come out escaped as the column
 * writes them (\/ as '/', \u00e9 as UTF-8, control characters as \uXXXX),
 * whatever the nesting or the value's place in the record. */
static void free_form_values_compact(void **state) {
  fixture *f = fx_new(every);
  feed_ok(f, "{ \"o\" : { \"a b\" : [ 1 , 2.50 , { } , [ ] ] ,\n\t\"s\" : "
             "\"x\\/y \\u00e9\\ud83d\\ude00\\u0001\\\"\" , \"n\" : null } ,"
             " \"i\" : 1 }");
  feed_ok(f, "{\"i\":2,\"o\":{}}");
  feed_ok(f, "{\"i\":3,\"o\":{\"k\":\"caf\xc3\xa9\",\"t\":true}}");
  feed_ok(f, "{\"o\":{\"deep\":[[[{\"x\":[\"\\\\\",\"\\n\"]}]]]},\"i\":4}");
  const ks_column *o = &f->rg.cols[6];
  assert_string_equal(str_at(o, 0),
                      "{\"a b\":[1,2.50,{},[]],\"s\":\"x/y \xc3\xa9\xf0\x9f\x98"
                      "\x80\\u0001\\\"\",\"n\":null}");
  assert_string_equal(str_at(o, 1), "{}");
  assert_string_equal(str_at(o, 2), "{\"k\":\"caf\xc3\xa9\",\"t\":true}");
  assert_string_equal(str_at(o, 3), "{\"deep\":[[[{\"x\":[\"\\\\\",\"\\n\"]}]]]}");
  /* a record rejected after its free-form value leaves no trace of it */
  ks_reject rej;
  assert_int_not_equal(feed(f, "{\"o\":{\"z\":1},\"i\":\"no\"}", &rej), 0);
  feed_ok(f, "{\"i\":5,\"o\":{\"after\":[]}}");
  assert_int_equal(ks_column_rows(o), 5);
  assert_string_equal(str_at(o, 4), "{\"after\":[]}");
  fx_free(f);
}

/* A free-form value no keyword looks into is passed over event by event
 * (only UTF-8 and nesting are checked there): a failure inside it names
 * the exact place, as when every event is checked; a free-form value that
 * does constrain its contents is checked in full; a validate-only decoder
 * reaches the same verdicts. */
static void opaque_values_exact_verdicts(void **state) {
  static const char schema[] =
      "{\"type\": \"object\", \"properties\": {"
      " \"i\": {\"type\": \"integer\"},"
      " \"o\": {\"type\": \"object\"},"
      " \"a\": {\"type\": \"array\", \"items\": true},"
      " \"m\": {\"type\": \"object\", \"additionalProperties\": {}},"
      " \"c\": {\"type\": \"object\", \"maxProperties\": 1},"
      " \"p\": {\"type\": \"object\", \"additionalProperties\":"
      "   {\"type\": [\"object\", \"integer\"], \"additionalProperties\":"
      "     {\"type\": \"string\"}}}},"
      " \"required\": [\"i\"]}";
  static const struct {
    const char *json, *reason, *message;
  } bad[] = {
      {"{\"i\":1,\"o\":{\"k\":[1,{\"s\":\"\xc0\xaf\"}]}}", "invalid_utf8",
       "/o/k/1/s: string is not valid UTF-8"},
      {"{\"i\":1,\"o\":{\"k\":{\"\xed\xa0\x80\":1}}}", "invalid_utf8",
       "/o/k: property name is not valid UTF-8"},
      {"{\"i\":1,\"a\":[0,\"x\\ud800y\"]}", "invalid_utf8",
       "/a/1: string is not valid UTF-8"},
      /* escaped quotes and backslashes before the lone surrogate */
      {"{\"i\":1,\"o\":{\"\\\"\":1,\"k\":\"q\\\"\\\\\\ud800\"}}",
       "invalid_utf8", "/o/k: string is not valid UTF-8"},
      /* a UTF-8 failure before a syntax error in the same value */
      {"{\"i\":1,\"o\":{\"k\":\"\xc0\xaf\",}}", "invalid_utf8",
       "/o/k: string is not valid UTF-8"},
      {"{\"i\":1,\"m\":{\"k\":{\"s\":[\"\xf5\x80\x80\x80\"]}}}", "invalid_utf8",
       "/m/k/s/0: string is not valid UTF-8"},
      {"{\"i\":1,\"c\":{\"x\":1,\"y\":{}}}", "schema",
       "/c: object has 2 properties, more than maxProperties 1"},
      {"{\"i\":1,\"p\":{\"x\":{\"y\":2}}}", "schema",
       "/p/x/y: expected string, got integer"},
      {"{\"o\":{\"k\":{}},\"i\":\"no\"}", "schema",
       "/i: expected integer, got string"},
  };
  fixture *f = fx_new(schema);
  ks_schema *vs;
  char err[256];
  assert_int_equal(ks_schema_load_string(schema, strlen(schema), "v", &vs, err,
                                         sizeof err),
                   0);
  ks_decoder *v = ks_decoder_new(vs, NULL, 0);
  for (int round = 0; round < 2; round++) {
    for (size_t k = 0; k < KS_ARRAY_SIZE(bad); k++) {
      ks_reject rej;
      assert_int_not_equal(feed(f, bad[k].json, &rej), 0);
      assert_string_equal(ks_reason_name(rej.reason), bad[k].reason);
      assert_string_equal(rej.message, bad[k].message);
      assert_int_not_equal(ks_decoder_feed(v, (const uint8_t *)bad[k].json,
                                           strlen(bad[k].json), &rej),
                           0);
      assert_string_equal(rej.message, bad[k].message);
    }
    const char *good = "{\"i\":1,\"o\":{\"k\":[1,{\"s\":\"\\ud83d\\ude00\"}],"
                       "\"q\":\"\\\"\\\\\\ud83d\\ude00\","
                       "\"e\":{}},\"a\":[[],{\"z\":null}],\"c\":{\"x\":[1,2]},"
                       "\"m\":{\"k\":{\"s\":[\"\xc3\xa9\"]}},"
                       "\"p\":{\"x\":{\"y\":\"s\"},\"n\":3}}";
    feed_ok(f, good);
    assert_int_equal(
        ks_decoder_feed(v, (const uint8_t *)good, strlen(good), NULL), 0);
  }
  assert_int_equal(ks_column_rows(&f->rg.cols[0]), 2);
  /* o's column and a's elements (declared second and third) hold the
   * values' compact text */
  const ks_column *o = &f->rg.cols[1], *a = &f->rg.cols[2];
  assert_string_equal(str_at(o, 1),
                      "{\"k\":[1,{\"s\":\"\xf0\x9f\x98\x80\"}],"
                      "\"q\":\"\\\"\\\\\xf0\x9f\x98\x80\",\"e\":{}}");
  assert_string_equal(str_at(a, 0), "[]"); /* a list of JSON elements */
  assert_string_equal(str_at(a, 1), "{\"z\":null}");
  ks_decoder_free(v);
  ks_schema_free(vs);
  fx_free(f);
}

static int same_buf(const ks_buf *a, const ks_buf *b) {
  return a->len == b->len &&
         (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* A free-form value whose syntax ks_json_skim vouches for is not lexed by
 * yajl at all: the parse stops at its start and a new parser resumes after
 * it, brought to the state of its enclosing containers. Wherever the value
 * stands (first, last, between members, in lists, lists of lists, a
 * struct), however it is written (spaces, escapes, surrogate pairs that
 * the skim leaves to the parser), and whatever fails before, inside or
 * after it (syntax, trailing bytes, a truncated record, types, required,
 * nesting, UTF-8), verdicts, messages and columns are those of a decoder
 * that sends every event. */
static void skimmed_values_as_parsed(void **state) {
  static const char schema[] =
      "{\"type\": \"object\", \"properties\": {"
      " \"i\": {\"type\": \"integer\"},"
      " \"o\": {\"type\": \"object\"},"
      " \"l\": {\"type\": \"array\", \"items\": {\"type\": \"object\"}},"
      " \"s\": {\"type\": \"object\", \"properties\": {"
      "   \"t\": {\"type\": \"object\"}, \"u\": {\"type\": \"integer\"}}},"
      " \"ll\": {\"type\": \"array\", \"items\": {\"type\": \"array\","
      "   \"items\": {\"type\": \"object\"}}}},"
      " \"required\": [\"i\"]}";
  static const struct {
    const char *json;
    int ok;
  } cases[] = {
      {"{\"i\":1,\"o\":{\"a\":1}}", 1},
      {"{\"o\":{\"a\":[1,2,{\"b\":null}]},\"i\":2}", 1},
      {"{\"i\":3,\"o\":{},\"l\":[{\"x\":1},{},{\"y\":\"z\"}],"
       "\"s\":{\"t\":{\"k\":true},\"u\":5}}", 1},
      {"{\"i\":4,\"ll\":[[{\"a\":1},{\"b\":2}],[],[{\"c\":[]}]]}", 1},
      {"{ \"i\" : 5 , \"o\" : { \"a\" : [ 1 , 2 ] , \"b\" : \"x y\" } ,"
       "\t\"s\" :\r\n{ \"t\" : { } } }", 1},
      {"{\"i\":6,\"o\":{\"k\":\"a\\\"b\\\\c\\/d\\u00e9\\n\\u0001\"}}", 1},
      {"{\"i\":7,\"o\":{\"k\":\"\\ud83d\\ude00\"}}", 1},
      {"{\"i\":8,\"o\":{\"a\":-0.5e+3,\"b\":[true,false,null]}}   ", 1},
      {"{\"i\":9,\"o\":{\"a\":1},}", 0},
      {"{\"i\":10,\"o\":{\"a\":1}} x", 0},
      {"{\"i\":11,\"o\":{\"a\":1}", 0},
      {"{\"i\":12,\"o\":{\"a\":01}}", 0},
      {"{\"o\":{\"a\":1},\"i\":\"x\"}", 0},
      {"{\"o\":{\"a\":1}}", 0},
      {"{\"i\":15,\"l\":[{\"a\":1},5]}", 0},
      {"{\"i\":16,\"o\":{\"k\":\"\xc0\xaf\"}}", 0},
      {"{\"i\":17,\"s\":{\"t\":{\"a\":1},\"u\":\"x\"}}", 0},
      {"{\"i\":18,\"o\":{\"k\":\"\\ud800\"}}", 0},
      {"{\"i\":19,\"o\":{\"a\":1}\x0b}", 1}, /* yajl's whitespace too */
      {"{\"i\":20,\"o\":{\"a\":\"\x01\"}}", 0},
      {"{\"i\":21,\"o\":{\"a\":1},\"o\":{\"b\":2}}", 0},
  };
  fixture *f = fx_new(schema), *full = fx_new(schema);
  ks_decoder_set_skip_opaque(full->d, 0);
  /* nesting either side of KS_JS_MAX_DEPTH (64): arrays 60 to 63 deep
   * in o, itself at depth 2 */
  char deep[4][200];
  for (int k = 0; k < 4; k++) {
    int n = 60 + k, at = 0;
    at += sprintf(deep[k] + at, "{\"i\":0,\"o\":{\"d\":");
    for (int j = 0; j < n; j++)
      deep[k][at++] = '[';
    for (int j = 0; j < n; j++)
      deep[k][at++] = ']';
    deep[k][at++] = '}';
    deep[k][at++] = '}';
    deep[k][at] = 0;
  }
  size_t oks = 0, deep_ok = 0;
  for (size_t k = 0; k < KS_ARRAY_SIZE(cases) + 4; k++) {
    const char *json = k < KS_ARRAY_SIZE(cases)
                           ? cases[k].json
                           : deep[k - KS_ARRAY_SIZE(cases)];
    ks_reject a, b;
    int ra = feed(f, json, &a), rb = feed(full, json, &b);
    assert_int_equal(ra, rb);
    if (k < KS_ARRAY_SIZE(cases))
      assert_int_equal(ra == 0, cases[k].ok);
    else
      deep_ok += ra == 0;
    oks += ra == 0;
    if (ra) {
      assert_int_equal(a.reason, b.reason);
      assert_string_equal(a.message, b.message);
      assert_string_equal(a.path, b.path);
    }
  }
  assert_true(deep_ok > 0 && deep_ok < 4); /* the limit falls among them */
  /* 40 free-form items, each followed by more text: 16 resumes, then the
   * rest is lexed (a resume costs more than a small value's lexing) */
  char many[1024];
  int at = sprintf(many, "{\"i\":30,\"l\":[");
  for (int j = 0; j < 40; j++)
    at += sprintf(many + at, "%s{\"k\":%d}", j ? "," : "", j);
  sprintf(many + at, "]}");
  size_t before = ks_decoder_skimmed(f->d);
  ks_reject a, b;
  assert_int_equal(feed(f, many, &a), 0);
  assert_int_equal(feed(full, many, &b), 0);
  assert_int_equal(ks_decoder_skimmed(f->d) - before, 16);
  assert_true(oks >= 9);
  assert_true(ks_decoder_skimmed(f->d) >= 15);
  assert_int_equal(ks_decoder_skimmed(full->d), 0);
  assert_int_equal(f->rg.nrows, full->rg.nrows);
  for (size_t i = 0; i < f->rg.ncols; i++) {
    const ks_column *x = &f->rg.cols[i], *y = &full->rg.cols[i];
    assert_true(same_buf(&x->values, &y->values));
    assert_true(same_buf(&x->lens, &y->lens));
    assert_true(same_buf(&x->defs, &y->defs));
    assert_true(same_buf(&x->reps, &y->reps));
  }
  fx_free(f);
  fx_free(full);
}

/* Records of one topic usually share key order, and the lookup of a
 * member's column tries last record's position first: a record whose keys
 * come in another order, fewer or more of them, or one key twice, must
 * land exactly as the first order would. */
static void key_order_changes_between_records(void **state) {
  fixture *f = fx_new(every);
  static const char *const recs[] = {
      "{\"i\":1,\"n\":1.5,\"b\":true,\"s\":\"a\",\"opt\":7}",
      "{\"opt\":8,\"s\":\"b\",\"b\":false,\"n\":2.5,\"i\":2}",
      "{\"s\":\"c\",\"i\":3}",
      "{\"i\":4,\"n\":4.5,\"b\":true,\"s\":\"d\",\"opt\":null,\"x\":0}",
      "{\"n\":5.5,\"i\":5,\"opt\":9,\"b\":false,\"s\":\"e\"}",
      "{\"i\":6,\"n\":6.5,\"b\":true,\"s\":\"f\",\"opt\":10}",
  };
  for (int round = 0; round < 2; round++)
    for (size_t k = 0; k < KS_ARRAY_SIZE(recs); k++)
      feed_ok(f, recs[k]);
  ks_reject rej;
  /* the same key twice, once where last record had it */
  assert_int_equal(feed(f, "{\"i\":7,\"n\":1,\"i\":8}", &rej), KS_EINVALID);
  assert_int_equal(feed(f, "{\"i\":7,\"i\":8}", &rej), KS_EINVALID);
  const ks_column *c = f->rg.cols;
  assert_int_equal(f->rg.nrows, 12);
  static const char *const s[] = {"a", "b", "c", "d", "e", "f"};
  static const int64_t opt[] = {7, 8, -1, -1, 9, 10};
  for (size_t r = 0; r < 12; r++) {
    size_t k = r % 6;
    assert_int_equal(i64_at(&c[0], r), (int64_t)k + 1);
    assert_string_equal(str_at(&c[3], r), s[k]);
  }
  /* n, b, opt: absent in record 3 (n, b, opt) and null in 4 (opt) */
  size_t nn = 0, no = 0;
  for (size_t r = 0; r < 12; r++) {
    size_t k = r % 6;
    assert_int_equal(def_at(&c[1], r), k != 2);
    if (k != 2)
      assert_true(dbl_at(&c[1], nn++) == (double)k + 1.5);
    assert_int_equal(def_at(&c[9], r), opt[k] >= 0);
    if (opt[k] >= 0)
      assert_int_equal(i64_at(&c[9], no++), opt[k]);
  }
  fx_free(f);
}

/* A decoder whose caller marks the row group before each record rolls a
 * failed record back to those marks: the columns are as before it, in
 * every column (nested levels included), and the next record lands. */
static void caller_marks_roll_back(void **state) {
  fixture *f = fx_new(nested);
  ks_decoder_set_caller_marks(f->d, 1);
  static const char *const recs[] = {
      "{\"s\":{\"x\":1,\"y\":\"a\"},\"l\":[{\"b\":1},null,{\"b\":2}],"
      "\"m\":{\"k\":[1,2]},\"p\":1.5}",
      /* fails at its last value, after every column took entries */
      "{\"s\":{\"x\":2,\"y\":\"b\"},\"l\":[{\"b\":3}],\"m\":{\"q\":[4,5]},"
      "\"p\":1.234}",
      "{\"s\":{\"x\":3},\"l\":null,\"m\":{}}",
      /* fails inside the list */
      "{\"l\":[{\"b\":1},{\"b\":\"no\"}],\"s\":{\"x\":4}}",
  };
  size_t before[64];
  for (size_t k = 0; k < KS_ARRAY_SIZE(recs); k++) {
    ks_rowgroup_mark_row(&f->rg);
    for (size_t i = 0; i < f->rg.ncols; i++)
      before[i] = f->rg.cols[i].values.len + f->rg.cols[i].defs.len +
                  f->rg.cols[i].reps.len + f->rg.cols[i].lens.len;
    ks_reject rej;
    int r = feed(f, recs[k], &rej);
    if (k % 2 == 0) {
      assert_int_equal(r, 0);
    } else {
      assert_int_not_equal(r, 0);
      for (size_t i = 0; i < f->rg.ncols; i++)
        assert_int_equal(f->rg.cols[i].values.len + f->rg.cols[i].defs.len +
                             f->rg.cols[i].reps.len + f->rg.cols[i].lens.len,
                         before[i]);
    }
  }
  assert_int_equal(f->rg.nrows, 2);
  for (size_t i = 0; i < f->rg.ncols; i++)
    assert_int_equal(ks_column_rows(&f->rg.cols[i]), 2);
  fx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(caller_marks_roll_back),
      cmocka_unit_test(free_form_values_compact),
      cmocka_unit_test(opaque_values_exact_verdicts),
      cmocka_unit_test(skimmed_values_as_parsed),
      cmocka_unit_test(key_order_changes_between_records),
      cmocka_unit_test(seed_record_shreds),
      cmocka_unit_test(every_type_shreds),
      cmocka_unit_test(nested_values_shred_with_levels),
      cmocka_unit_test(wide_structs_either_side_of_64),
      cmocka_unit_test(decimal_text_converts),
      cmocka_unit_test(timestamps_convert_to_utc_micros),
      cmocka_unit_test(type_mismatches_reject),
      cmocka_unit_test(format_required_additional_reject),
      cmocka_unit_test(malformed_json_rejects),
      cmocka_unit_test(trailing_bytes_with_transforms),
      cmocka_unit_test(trailing_bytes_after_scalar),
      cmocka_unit_test(invalid_utf8_rejects),
      cmocka_unit_test(depth_and_size_limits),
      cmocka_unit_test(pointer_escapes_and_nested_paths),
      cmocka_unit_test(rollback_restores_columns),
      cmocka_unit_test(shreds_at_column_offset),
      cmocka_unit_test(integer_edges),
      cmocka_unit_test(validate_only_same_verdicts),
      cmocka_unit_test(many_records_reuse_decoder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
