/* Avro records into columns: each Avro record is checked against the
 * JSON text of the same value fed to a second decoder of the same table,
 * column buffer by column buffer (values, lengths, levels), so Avro lands
 * exactly as JSON does; plus the table mapping of every Avro type, the
 * rejects with rollback, resolution of an older writer schema, and the
 * Confluent wire-format prefix. */
#include "base/ks.h"
#include "stages/record/avro.h"
#include "stages/record/shred.h"
#include "stages/record/wire.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char order_v2[] =
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"shop\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"qty\",\"type\":\"int\"},"
    "{\"name\":\"price\",\"type\":{\"type\":\"bytes\",\"logicalType\":"
    "\"decimal\",\"precision\":9,\"scale\":2}},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"
    "\"timestamp-millis\"}},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"status\",\"type\":{\"type\":\"enum\",\"name\":\"Status\","
    "\"symbols\":[\"NEW\",\"PAID\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
    "{\"name\":\"addr\",\"type\":{\"type\":\"record\",\"name\":\"Addr\","
    "\"fields\":[{\"name\":\"city\",\"type\":\"string\"},"
    "{\"name\":\"zip\",\"type\":[\"null\",\"int\"]}]}},"
    "{\"name\":\"alt\",\"type\":[\"null\",\"long\",\"string\"]},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"score\",\"type\":\"double\"},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null}]}";

/* v1: no "note" (v2 added it with a default) */
static const char order_v1[] =
    "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"shop\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"qty\",\"type\":\"int\"},"
    "{\"name\":\"price\",\"type\":{\"type\":\"bytes\",\"logicalType\":"
    "\"decimal\",\"precision\":9,\"scale\":2}},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"
    "\"timestamp-millis\"}},"
    "{\"name\":\"day\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"status\",\"type\":{\"type\":\"enum\",\"name\":\"Status\","
    "\"symbols\":[\"NEW\",\"PAID\"]}},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
    "{\"name\":\"addr\",\"type\":{\"type\":\"record\",\"name\":\"Addr\","
    "\"fields\":[{\"name\":\"city\",\"type\":\"string\"},"
    "{\"name\":\"zip\",\"type\":[\"null\",\"int\"]}]}},"
    "{\"name\":\"alt\",\"type\":[\"null\",\"long\",\"string\"]},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},"
    "{\"name\":\"score\",\"type\":\"double\"}]}";

/* ---- a tiny Avro encoder for the test's records ---- */

typedef struct enc {
  uint8_t b[512];
  size_t n;
} enc;

static void put_long(enc *e, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  while (z >= 0x80) {
    e->b[e->n++] = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  e->b[e->n++] = (uint8_t)z;
}

static void put_str(enc *e, const char *s) {
  put_long(e, (int64_t)strlen(s));
  memcpy(e->b + e->n, s, strlen(s));
  e->n += strlen(s);
}

static void put_bytes(enc *e, const uint8_t *p, size_t n) {
  put_long(e, (int64_t)n);
  memcpy(e->b + e->n, p, n);
  e->n += n;
}

static void put_double(enc *e, double d) {
  memcpy(e->b + e->n, &d, 8); /* little-endian host */
  e->n += 8;
}

/* the common head: id, qty, price, ts, day, status */
static void head(enc *e, int64_t id, int32_t qty, const uint8_t *price,
                 size_t np, int64_t ts_ms, int32_t day, int status) {
  put_long(e, id);
  put_long(e, qty);
  put_bytes(e, price, np);
  put_long(e, ts_ms);
  put_long(e, day);
  put_long(e, status);
}

/* ---- fixture: one table (from v2), an Avro and a JSON decoder ---- */

typedef struct fixture {
  ks_avro_schema *v1, *v2;
  ks_schema *s;
  ks_rowgroup rg_avro, rg_json;
  ks_decoder *da, *dj;
  ks_avro_decoder *a;
} fixture;

static ks_avro_schema *parse(const char *text) {
  ks_avro_schema *s = NULL;
  char err[256] = "";
  size_t len = strlen(text);
  int r = ks_avro_schema_parse(&text, &len, 1, &s, err, sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  return s;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->v1 = parse(order_v1);
  f->v2 = parse(order_v2);
  ks_buf js;
  ks_buf_init(&js, 0);
  char err[512] = "";
  assert_int_equal(ks_avro_schema_to_json_schema(f->v2, &js, err, sizeof err),
                   0);
  int r = ks_schema_load_string((char *)js.data, js.len, "order.avsc", &f->s,
                                err, sizeof err);
  if (r)
    print_error("%s\n%.*s\n", err, (int)js.len, (char *)js.data);
  assert_int_equal(r, 0);
  ks_buf_free(&js);
  ks_rowgroup_init_schema(&f->rg_avro, ks_schema_tree(f->s));
  ks_rowgroup_init_schema(&f->rg_json, ks_schema_tree(f->s));
  f->da = ks_decoder_new(f->s, &f->rg_avro, 0);
  f->dj = ks_decoder_new(f->s, &f->rg_json, 0);
  f->a = ks_avro_decoder_new(f->da);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  ks_avro_decoder_free(f->a);
  ks_decoder_free(f->da);
  ks_decoder_free(f->dj);
  ks_rowgroup_free(&f->rg_avro);
  ks_rowgroup_free(&f->rg_json);
  ks_schema_free(f->s);
  ks_avro_schema_free(f->v1);
  ks_avro_schema_free(f->v2);
  free(f);
  return 0;
}

static const ks_colspec *col(const fixture *f, const char *name) {
  const ks_colspec *c = ks_schema_columns(f->s);
  for (size_t i = 0; i < ks_schema_ncolumns(f->s); i++)
    if (strcmp(c[i].name, name) == 0)
      return &c[i];
  print_error("no column %s\n", name);
  fail();
  return NULL;
}

/* Avro bytes and the JSON text of the same value land identically. */
static void same(fixture *f, const ks_avro_schema *w, const enc *e,
                 const char *json) {
  ks_reject rej;
  int r = ks_avro_decoder_feed(f->a, ks_avro_schema_root(w), e->b, e->n, &rej);
  if (r)
    print_error("avro rejected: %s %s\n", rej.path, rej.message);
  assert_int_equal(r, 0);
  ks_rowgroup_commit_row(&f->rg_avro);
  r = ks_decoder_feed(f->dj, (const uint8_t *)json, strlen(json), &rej);
  if (r)
    print_error("json rejected: %s\n", rej.message);
  assert_int_equal(r, 0);
  ks_rowgroup_commit_row(&f->rg_json);
  for (size_t i = 0; i < f->rg_avro.ncols; i++) {
    const ks_column *ca = &f->rg_avro.cols[i], *cj = &f->rg_json.cols[i];
    const ks_buf *ba[] = {&ca->values, &ca->lens, &ca->defs, &ca->reps};
    const ks_buf *bj[] = {&cj->values, &cj->lens, &cj->defs, &cj->reps};
    for (int k = 0; k < 4; k++)
      if (ba[k]->len != bj[k]->len ||
          (ba[k]->len && memcmp(ba[k]->data, bj[k]->data, ba[k]->len))) {
        print_error("column %s differs (buffer %d) for %s\n",
                    ks_schema_columns(f->s)[i].name, k, json);
        fail();
      }
    assert_int_equal(ca->nvalues, cj->nvalues);
  }
}

static void type_mapping(void **state) {
  fixture *f = *state;
  assert_int_equal(col(f, "id")->type, KS_COL_INT64);
  assert_int_equal(col(f, "id")->nullable, 0);
  assert_int_equal(col(f, "qty")->type, KS_COL_INT32);
  assert_int_equal(col(f, "price")->type, KS_COL_INT32); /* DECIMAL(9,2) */
  assert_int_equal(col(f, "ts")->type, KS_COL_TIMESTAMP);
  assert_int_equal(col(f, "day")->type, KS_COL_DATE);
  assert_int_equal(col(f, "status")->type, KS_COL_STRING);
  assert_int_equal(col(f, "tags.list.element")->type, KS_COL_STRING);
  assert_int_equal(col(f, "attrs.key_value.value")->type, KS_COL_INT64);
  assert_int_equal(col(f, "addr.city")->type, KS_COL_STRING);
  assert_int_equal(col(f, "addr.zip")->nullable, 1);
  assert_int_equal(col(f, "alt.long")->type, KS_COL_INT64);
  assert_int_equal(col(f, "alt.string")->type, KS_COL_STRING);
  assert_int_equal(col(f, "ok")->type, KS_COL_BOOLEAN);
  assert_int_equal(col(f, "score")->type, KS_COL_DOUBLE);
  assert_int_equal(col(f, "note")->nullable, 1);
  const ks_pq_schema *t = ks_schema_tree(f->s);
  assert_non_null(t);
}

static void records_land_as_json_does(void **state) {
  fixture *f = *state;
  enc e = {0};
  static const uint8_t p1[] = {0x30, 0x39}; /* 12345 -> 123.45 */
  head(&e, 7, -3, p1, 2, 1700000000123LL, 19675, 1);
  put_long(&e, 2), put_str(&e, "a"), put_str(&e, "b"), put_long(&e, 0);
  put_long(&e, 1), put_str(&e, "k"), put_long(&e, 5), put_long(&e, 0);
  put_str(&e, "Oslo"), put_long(&e, 0);         /* zip null */
  put_long(&e, 2), put_str(&e, "x");            /* alt string */
  e.b[e.n++] = 1;                               /* ok */
  put_double(&e, 2.5);
  put_long(&e, 1), put_str(&e, "hi");           /* note */
  same(f, f->v2, &e,
       "{\"id\":7,\"qty\":-3,\"price\":123.45,"
       "\"ts\":\"2023-11-14T22:13:20.123Z\",\"day\":\"2023-11-14\","
       "\"status\":\"PAID\",\"tags\":[\"a\",\"b\"],\"attrs\":{\"k\":5},"
       "\"addr\":{\"city\":\"Oslo\",\"zip\":null},\"alt\":{\"string\":\"x\"},"
       "\"ok\":true,\"score\":2.5,\"note\":\"hi\"}");

  /* a block with its byte size (negative count), a negative decimal, a
   * long branch, empty map, null note */
  enc g = {0};
  static const uint8_t p2[] = {0xff}; /* -1 -> -0.01 */
  head(&g, -1, 2147483647, p2, 1, -1, -1, 0);
  put_long(&g, -1), put_long(&g, 2), put_str(&g, "z"), put_long(&g, 0);
  put_long(&g, 0);
  put_str(&g, ""), put_long(&g, 1), put_long(&g, 9999);
  put_long(&g, 1), put_long(&g, 42);
  g.b[g.n++] = 0;
  put_double(&g, -0.125);
  put_long(&g, 0);
  same(f, f->v2, &g,
       "{\"id\":-1,\"qty\":2147483647,\"price\":-0.01,"
       "\"ts\":\"1969-12-31T23:59:59.999Z\",\"day\":\"1969-12-31\","
       "\"status\":\"NEW\",\"tags\":[\"z\"],\"attrs\":{},"
       "\"addr\":{\"city\":\"\",\"zip\":9999},\"alt\":{\"long\":42},"
       "\"ok\":false,\"score\":-0.125,\"note\":null}");

  /* an older writer (v1, no note): the new column reads null */
  enc h = {0};
  head(&h, 3, 0, p1, 2, 0, 0, 0);
  put_long(&h, 0), put_long(&h, 0);
  put_str(&h, "Rome"), put_long(&h, 0);
  put_long(&h, 0); /* alt null */
  h.b[h.n++] = 1;
  put_double(&h, 1e300);
  same(f, f->v1, &h,
       "{\"id\":3,\"qty\":0,\"price\":123.45,"
       "\"ts\":\"1970-01-01T00:00:00Z\",\"day\":\"1970-01-01\","
       "\"status\":\"NEW\",\"tags\":[],\"attrs\":{},"
       "\"addr\":{\"city\":\"Rome\",\"zip\":null},\"alt\":null,"
       "\"ok\":true,\"score\":1e300}");
  assert_int_equal(f->rg_avro.nrows, 3);
  /* null fields left out (the table writer's mode for tables mapped from
   * Avro) land exactly as the nulls do */
  ks_avro_decoder_skip_null_fields(f->a, 1);
  same(f, f->v2, &g,
       "{\"id\":-1,\"qty\":2147483647,\"price\":-0.01,"
       "\"ts\":\"1969-12-31T23:59:59.999Z\",\"day\":\"1969-12-31\","
       "\"status\":\"NEW\",\"tags\":[\"z\"],\"attrs\":{},"
       "\"addr\":{\"city\":\"\",\"zip\":9999},\"alt\":{\"long\":42},"
       "\"ok\":false,\"score\":-0.125,\"note\":null}");
  same(f, f->v1, &h,
       "{\"id\":3,\"qty\":0,\"price\":123.45,"
       "\"ts\":\"1970-01-01T00:00:00Z\",\"day\":\"1970-01-01\","
       "\"status\":\"NEW\",\"tags\":[],\"attrs\":{},"
       "\"addr\":{\"city\":\"Rome\",\"zip\":null},\"alt\":null,"
       "\"ok\":true,\"score\":1e300}");
  same(f, f->v2, &e,
       "{\"id\":7,\"qty\":-3,\"price\":123.45,"
       "\"ts\":\"2023-11-14T22:13:20.123Z\",\"day\":\"2023-11-14\","
       "\"status\":\"PAID\",\"tags\":[\"a\",\"b\"],\"attrs\":{\"k\":5},"
       "\"addr\":{\"city\":\"Oslo\",\"zip\":null},\"alt\":{\"string\":\"x\"},"
       "\"ok\":true,\"score\":2.5,\"note\":\"hi\"}");
  assert_int_equal(f->rg_avro.nrows, 6);
}

static void bad_bytes_reject_and_roll_back(void **state) {
  fixture *f = *state;
  enc e = {0};
  static const uint8_t p1[] = {0x30, 0x39};
  head(&e, 7, 1, p1, 2, 0, 0, 1);
  put_long(&e, 0), put_long(&e, 0);
  put_str(&e, "Oslo"), put_long(&e, 0), put_long(&e, 0);
  e.b[e.n++] = 1;
  put_double(&e, 2.5);
  put_long(&e, 0);
  ks_reject rej;
  const ks_avro_node *w = ks_avro_schema_root(f->v2);
  size_t rows = f->rg_avro.nrows;
  assert_int_equal(ks_avro_decoder_feed(f->a, w, e.b, e.n, &rej), 0);
  ks_rowgroup_commit_row(&f->rg_avro);
  rows++;
  /* every truncation fails, and leaves the columns as they were */
  for (size_t cut = 0; cut < e.n; cut++) {
    int r = ks_avro_decoder_feed(f->a, w, e.b, cut, &rej);
    assert_int_not_equal(r, 0);
    assert_int_equal(rej.reason, KS_REASON_BAD_WIRE_FORMAT);
    for (size_t i = 0; i < f->rg_avro.ncols; i++)
      assert_int_equal(ks_column_rows(&f->rg_avro.cols[i]), rows);
  }
  /* trailing bytes */
  e.b[e.n] = 0;
  assert_int_not_equal(ks_avro_decoder_feed(f->a, w, e.b, e.n + 1, &rej), 0);
  assert_non_null(strstr(rej.message, "bytes left"));
  /* an enum index past the symbols */
  enc g = {0};
  head(&g, 7, 1, p1, 2, 0, 0, 5);
  assert_int_not_equal(ks_avro_decoder_feed(f->a, w, g.b, g.n, &rej), 0);
  assert_non_null(strstr(rej.message, "enum index"));
  /* a decimal wider than DECIMAL(9,2): a schema reject naming the field */
  enc h = {0};
  static const uint8_t big[] = {0x7f, 0xff, 0xff, 0xff, 0xff};
  head(&h, 7, 1, big, sizeof big, 0, 0, 1);
  put_long(&h, 0), put_long(&h, 0);
  put_str(&h, "Oslo"), put_long(&h, 0), put_long(&h, 0);
  h.b[h.n++] = 1;
  put_double(&h, 2.5);
  put_long(&h, 0);
  assert_int_not_equal(ks_avro_decoder_feed(f->a, w, h.b, h.n, &rej), 0);
  assert_string_equal(rej.path, "/price");
  for (size_t i = 0; i < f->rg_avro.ncols; i++)
    assert_int_equal(ks_column_rows(&f->rg_avro.cols[i]), rows);
}

/* An int (and an enum or union index, which Avro encodes as int) takes at
 * most 5 varint bytes; Java's decoder refuses a longer one ("Invalid int
 * encoding"), so a record that pads one to 6 bytes is malformed even when
 * the value fits 32 bits. A long may take 10. */
static void int_longer_than_5_bytes(void **state) {
  fixture *f = *state;
  const ks_avro_node *w = ks_avro_schema_root(f->v2);
  static const uint8_t p1[] = {0x30, 0x39};
  static const uint8_t pad5[] = {0x82, 0x80, 0x80, 0x80, 0x00}; /* 1 */
  static const uint8_t pad6[] = {0x82, 0x80, 0x80, 0x80, 0x80, 0x00};
  ks_reject rej;
  /* where the 5- or 6-byte encoding of 1 goes: qty, day, status, zip's
   * union index */
  for (int field = 0; field < 4; field++)
    for (int six = 0; six < 2; six++) {
      enc e = {0};
      put_long(&e, 7);
      const uint8_t *pad = six ? pad6 : pad5;
      size_t np = six ? sizeof pad6 : sizeof pad5;
      if (field == 0)
        memcpy(e.b + e.n, pad, np), e.n += np;
      else
        put_long(&e, 1);
      put_bytes(&e, p1, 2);
      put_long(&e, 0);
      if (field == 1)
        memcpy(e.b + e.n, pad, np), e.n += np;
      else
        put_long(&e, 1);
      if (field == 2)
        memcpy(e.b + e.n, pad, np), e.n += np;
      else
        put_long(&e, 1);
      put_long(&e, 0), put_long(&e, 0);
      put_str(&e, "Oslo");
      if (field == 3)
        memcpy(e.b + e.n, pad, np), e.n += np;
      else
        put_long(&e, 1);
      put_long(&e, 5); /* zip */
      put_long(&e, 0); /* alt null */
      e.b[e.n++] = 1;
      put_double(&e, 2.5);
      put_long(&e, 0);
      int r = ks_avro_decoder_feed(f->a, w, e.b, e.n, &rej);
      if (!six) {
        assert_int_equal(r, 0);
        ks_rowgroup_commit_row(&f->rg_avro);
        continue;
      }
      assert_int_not_equal(r, 0);
      assert_int_equal(rej.reason, KS_REASON_BAD_WIRE_FORMAT);
      assert_non_null(strstr(rej.message, "an int longer than 5 bytes"));
    }
  assert_int_equal(f->rg_avro.nrows, 4);
  for (size_t i = 0; i < f->rg_avro.ncols; i++)
    assert_int_equal(ks_column_rows(&f->rg_avro.cols[i]), 4);
  /* a long padded to 6 bytes is fine */
  enc g = {0};
  memcpy(g.b, pad6, sizeof pad6), g.n = sizeof pad6;
  put_long(&g, 1);
  put_bytes(&g, p1, 2);
  put_long(&g, 0), put_long(&g, 1), put_long(&g, 1);
  put_long(&g, 0), put_long(&g, 0);
  put_str(&g, "Oslo"), put_long(&g, 0), put_long(&g, 0);
  g.b[g.n++] = 1;
  put_double(&g, 2.5);
  put_long(&g, 0);
  assert_int_equal(ks_avro_decoder_feed(f->a, w, g.b, g.n, &rej), 0);
}

/* tables[].max_record_bytes holds for Avro values as for JSON ones: a
 * value (the bytes after the wire prefix) larger than the limit is
 * rejected as too_large before it is decoded, with the JSON path's
 * message; one of exactly the limit lands. */
static void max_record_bytes(void **state) {
  fixture *f = *state;
  const ks_avro_node *w = ks_avro_schema_root(f->v2);
  static const uint8_t p1[] = {0x30, 0x39};
  enc e = {0};
  head(&e, 7, 1, p1, 2, 0, 0, 1);
  put_long(&e, 0), put_long(&e, 0);
  put_str(&e, "Oslo"), put_long(&e, 0), put_long(&e, 0);
  e.b[e.n++] = 1;
  put_double(&e, 2.5);
  put_long(&e, 0);
  ks_decoder_set_max_record(f->da, e.n - 1);
  ks_decoder_set_max_record(f->dj, e.n - 1);
  ks_reject rej, jrej;
  assert_int_equal(ks_avro_decoder_feed(f->a, w, e.b, e.n, &rej), KS_ETOOBIG);
  assert_int_equal(rej.reason, KS_REASON_TOO_LARGE);
  /* a JSON value of the same size gets the same verdict */
  char json[sizeof e.b];
  memset(json, ' ', e.n);
  json[0] = '{', json[e.n - 1] = '}';
  assert_int_equal(
      ks_decoder_feed(f->dj, (const uint8_t *)json, e.n, &jrej), KS_ETOOBIG);
  assert_string_equal(rej.message, jrej.message);
  for (size_t i = 0; i < f->rg_avro.ncols; i++)
    assert_int_equal(ks_column_rows(&f->rg_avro.cols[i]), 0);
  ks_decoder_set_max_record(f->da, e.n);
  assert_int_equal(ks_avro_decoder_feed(f->a, w, e.b, e.n, &rej), 0);
}

/* An Avro float lands in a double column as the float widened exactly
 * ((double)f, what Spark and Avro's readers see: 0.1f is
 * 0.10000000149011612), not as a decimal text of it read back as a
 * double; where the value is kept as JSON text (the recursive field
 * here) it is the float's shortest text that reads back as the float.
 * With transforms (numbers then pass as text) the double column still
 * gets the widened value. */
static void float_widens_exactly(void **state) {
  KS_UNUSED(state);
  static const char sch[] =
      "{\"type\":\"record\",\"name\":\"N\",\"fields\":["
      "{\"name\":\"f\",\"type\":\"float\"},"
      "{\"name\":\"next\",\"type\":[\"null\",\"N\"]}]}";
  static const float fs[] = {0.1f, -1.5f, 3.0f, 16777216.0f, 3.4028235e38f,
                             1.17549435e-38f, 1e-45f, 2.71828183f};
  static const char *texts[] = {"0.1",           "-1.5",          "3",
                                "16777216",      "3.4028235e+38",
                                "1.1754944e-38", "1e-45",         "2.7182817"};
  ks_avro_schema *av = parse(sch);
  ks_buf js;
  ks_buf_init(&js, 0);
  char err[512] = "";
  assert_int_equal(ks_avro_schema_to_json_schema(av, &js, err, sizeof err), 0);
  ks_schema *s = NULL;
  assert_int_equal(ks_schema_load_string((char *)js.data, js.len, "n.avsc", &s,
                                         err, sizeof err),
                   0);
  ks_buf_free(&js);
  for (int xf = 0; xf < 2; xf++) {
    ks_rowgroup rg;
    ks_rowgroup_init_schema(&rg, ks_schema_tree(s));
    ks_decoder *d = ks_decoder_new(s, &rg, 0);
    char *none[] = {"none"};
    ks_conf_transform x = {.kind = KS_XF_REPLACE_FIELD, .exclude = none,
                           .nexclude = 1};
    if (xf)
      ks_decoder_set_transforms(d, &x, 1);
    ks_avro_decoder *a = ks_avro_decoder_new(d);
    size_t nf = sizeof fs / sizeof *fs;
    for (size_t i = 0; i < nf; i++) {
      enc e = {0};
      memcpy(e.b, &fs[i], 4), e.n = 4; /* little-endian host */
      put_long(&e, 1);
      memcpy(e.b + e.n, &fs[i], 4), e.n += 4;
      put_long(&e, 0);
      ks_reject rej;
      int r = ks_avro_decoder_feed(a, ks_avro_schema_root(av), e.b, e.n, &rej);
      if (r)
        print_error("%s\n", rej.message);
      assert_int_equal(r, 0);
      ks_rowgroup_commit_row(&rg);
    }
    const ks_column *cf = &rg.cols[0], *cn = &rg.cols[1];
    assert_string_equal(ks_schema_columns(s)[0].name, "f");
    assert_int_equal(cf->values.len, nf * 8);
    size_t at = 0;
    for (size_t i = 0; i < nf; i++) {
      double got, want = (double)fs[i];
      memcpy(&got, cf->values.data + 8 * i, 8);
      assert_memory_equal(&got, &want, 8);
      /* next: {"f":<text>,"next":null} */
      char t[80];
      int n = snprintf(t, sizeof t, "{\"f\":%s,\"next\":null}", texts[i]);
      uint32_t len;
      memcpy(&len, cn->lens.data + 4 * i, 4);
      if (!xf) {
        assert_int_equal(len, (uint32_t)n);
        assert_memory_equal(cn->values.data + at, t, (size_t)n);
      }
      at += len;
    }
    ks_avro_decoder_free(a);
    ks_decoder_free(d);
    ks_rowgroup_free(&rg);
  }
  ks_schema_free(s);
  ks_avro_schema_free(av);
}

/* NaN and infinities are valid Avro floats and doubles but no JSON
 * number, and a double column refuses an infinity from JSON (1e999) as
 * out of range: they are refused the same way (reason schema, keyword
 * type, the field's path), not as malformed bytes. */
static void nan_and_infinity(void **state) {
  fixture *f = *state;
  const ks_avro_node *w = ks_avro_schema_root(f->v2);
  static const uint8_t p1[] = {0x30, 0x39};
  ks_reject rej, jrej;
  static const char json[] =
      "{\"id\":7,\"qty\":1,\"price\":1,\"ts\":\"1970-01-01T00:00:00Z\","
      "\"day\":\"1970-01-01\",\"status\":\"NEW\",\"tags\":[],"
      "\"attrs\":{},\"addr\":{\"city\":\"Oslo\"},\"alt\":null,"
      "\"ok\":true,\"score\":1e999}";
  assert_int_equal(ks_decoder_feed(f->dj, (const uint8_t *)json,
                                   sizeof json - 1, &jrej),
                   KS_EINVALID);
  const double bad[] = {NAN, INFINITY, -INFINITY};
  const char *names[] = {"NaN", "Infinity", "-Infinity"};
  for (int i = 0; i < 3; i++) {
    enc e = {0};
    head(&e, 7, 1, p1, 2, 0, 0, 0);
    put_long(&e, 0), put_long(&e, 0);
    put_str(&e, "Oslo"), put_long(&e, 0), put_long(&e, 0);
    e.b[e.n++] = 1;
    put_double(&e, bad[i]);
    put_long(&e, 0);
    assert_int_equal(ks_avro_decoder_feed(f->a, w, e.b, e.n, &rej),
                     KS_EINVALID);
    assert_int_equal(rej.reason, jrej.reason);
    assert_int_equal(rej.reason, KS_REASON_SCHEMA);
    assert_int_equal(rej.keyword, jrej.keyword);
    assert_string_equal(rej.path, "/score");
    assert_non_null(strstr(rej.message, names[i]));
  }
  for (size_t i = 0; i < f->rg_avro.ncols; i++)
    assert_int_equal(ks_column_rows(&f->rg_avro.cols[i]), 0);
  /* a float */
  ks_avro_schema *fl = parse("{\"type\":\"record\",\"name\":\"F\","
                             "\"fields\":[{\"name\":\"score\","
                             "\"type\":\"float\"}]}");
  float nan = NAN;
  assert_int_equal(ks_avro_decoder_feed(f->a, ks_avro_schema_root(fl),
                                        (const uint8_t *)&nan, 4, &rej),
                   KS_EINVALID);
  assert_int_equal(rej.reason, KS_REASON_SCHEMA);
  assert_string_equal(rej.path, "/score");
  assert_non_null(strstr(rej.message, "NaN (an Avro float)"));
  ks_avro_schema_free(fl);
}

static void bad_schemas_fail_with_a_reason(void **state) {
  KS_UNUSED(state);
  static const char *bad[] = {
      "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"x\","
      "\"type\":\"Nope\"}]}",
      "{\"type\":\"record\",\"fields\":[]}",
      "[\"int\",\"int\"]",
      "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}",
      "not json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ks_avro_schema *s = NULL;
    char err[256] = "";
    size_t len = strlen(bad[i]);
    assert_int_equal(ks_avro_schema_parse(&bad[i], &len, 1, &s, err,
                                          sizeof err),
                     KS_ESCHEMA);
    assert_non_null(strstr(err, "avro schema: "));
  }
  /* a reference: the second schema names the first's type */
  const char *texts[] = {
      "{\"type\":\"record\",\"name\":\"Addr\",\"namespace\":\"shop\","
      "\"fields\":[{\"name\":\"city\",\"type\":\"string\"}]}",
      "{\"type\":\"record\",\"name\":\"Customer\",\"namespace\":\"shop\","
      "\"fields\":[{\"name\":\"home\",\"type\":\"Addr\"},"
      "{\"name\":\"work\",\"type\":\"shop.Addr\"},"
      "{\"name\":\"next\",\"type\":[\"null\",\"Customer\"]}]}"};
  size_t lens[] = {strlen(texts[0]), strlen(texts[1])};
  ks_avro_schema *s = NULL;
  char err[256] = "";
  assert_int_equal(ks_avro_schema_parse(texts, lens, 2, &s, err, sizeof err),
                   0);
  const ks_avro_node *root = ks_avro_schema_root(s);
  assert_int_equal(root->n, 3);
  assert_ptr_equal(root->kids[0], root->kids[1]);
  assert_ptr_equal(root->kids[2]->kids[1], root); /* recursive */
  ks_buf js;
  ks_buf_init(&js, 0);
  assert_int_equal(ks_avro_schema_to_json_schema(s, &js, err, sizeof err), 0);
  ks_schema *t = NULL;
  assert_int_equal(ks_schema_load_string((char *)js.data, js.len, "c", &t, err,
                                         sizeof err),
                   0);
  /* the recursive occurrence is JSON text */
  const ks_colspec *c = ks_schema_columns(t);
  assert_string_equal(c[ks_schema_ncolumns(t) - 1].name, "next");
  ks_schema_free(t);
  ks_buf_free(&js);
  ks_avro_schema_free(s);
}

static void wire_format(void **state) {
  KS_UNUSED(state);
  ks_wire w;
  ks_reject rej;
  static const uint8_t ok[] = {0, 0, 0, 1, 2, 'x'};
  assert_int_equal(ks_wire_parse(ok, sizeof ok, NULL, 0, &w, &rej), 0);
  assert_int_equal(w.id, 258);
  assert_int_equal(w.len, 1);
  assert_int_equal(w.payload[0], 'x');
  static const uint8_t json[] = "{\"a\":1}";
  assert_int_equal(ks_wire_parse(json, 7, NULL, 0, &w, &rej), KS_EINVALID);
  assert_int_equal(rej.reason, KS_REASON_BAD_WIRE_FORMAT);
  assert_non_null(strstr(rej.message, "first byte is 123"));
  assert_int_equal(ks_wire_parse(ok, 4, NULL, 0, &w, &rej), KS_EINVALID);
  assert_non_null(strstr(rej.message, "ends inside"));
  assert_int_equal(ks_wire_parse(ok, 0, NULL, 0, &w, &rej), KS_EINVALID);
  uint8_t hdr[17] = {1};
  for (int i = 1; i < 17; i++)
    hdr[i] = (uint8_t)(i * 17);
  assert_int_equal(ks_wire_parse(json, 7, hdr, 17, &w, &rej), 0);
  assert_int_equal(w.by_guid, 1);
  assert_int_equal(w.len, 7);
  char g[37];
  ks_wire_guid_str(w.guid, g);
  assert_string_equal(g, "11223344-5566-7788-99aa-bbccddeeff10");
  hdr[0] = 0;
  assert_int_equal(ks_wire_parse(json, 7, hdr, 17, &w, &rej), KS_EINVALID);
  assert_int_equal(ks_wire_parse(json, 7, hdr, 5, &w, &rej), KS_EINVALID);
}

/* decimal(38,0): its exact digits as a string column (a double would
 * round them); decimal(18,0): a long */
static void wide_integer_decimals(void **state) {
  (void)state;
  static const char sch[] =
      "{\"type\":\"record\",\"name\":\"D\",\"fields\":["
      "{\"name\":\"big\",\"type\":{\"type\":\"bytes\",\"logicalType\":"
      "\"decimal\",\"precision\":38,\"scale\":0}},"
      "{\"name\":\"small\",\"type\":{\"type\":\"bytes\",\"logicalType\":"
      "\"decimal\",\"precision\":18,\"scale\":0}}]}";
  fixture f = {0};
  f.v2 = parse(sch);
  ks_buf js;
  ks_buf_init(&js, 0);
  char err[512] = "";
  assert_int_equal(ks_avro_schema_to_json_schema(f.v2, &js, err, sizeof err),
                   0);
  assert_int_equal(ks_schema_load_string((char *)js.data, js.len, "d.avsc",
                                         &f.s, err, sizeof err),
                   0);
  ks_buf_free(&js);
  assert_int_equal(col(&f, "big")->type, KS_COL_STRING);
  assert_int_equal(col(&f, "small")->type, KS_COL_INT64);
  ks_rowgroup_init_schema(&f.rg_avro, ks_schema_tree(f.s));
  ks_rowgroup_init_schema(&f.rg_json, ks_schema_tree(f.s));
  f.da = ks_decoder_new(f.s, &f.rg_avro, 0);
  f.dj = ks_decoder_new(f.s, &f.rg_json, 0);
  f.a = ks_avro_decoder_new(f.da);
  /* -(2^120 + 1) = -1329227995784915872903807060280344577 */
  static const uint8_t big[] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff};
  static const uint8_t small[] = {0x0d, 0xe0, 0xb6, 0xb3, 0xa7, 0x63,
                                  0xff, 0xff}; /* 999999999999999999 */
  enc e = {0};
  put_bytes(&e, big, sizeof big);
  put_bytes(&e, small, sizeof small);
  same(&f, f.v2, &e,
       "{\"big\":\"-1329227995784915872903807060280344577\","
       "\"small\":999999999999999999}");
  ks_avro_decoder_free(f.a);
  ks_decoder_free(f.da);
  ks_decoder_free(f.dj);
  ks_rowgroup_free(&f.rg_avro);
  ks_rowgroup_free(&f.rg_json);
  ks_schema_free(f.s);
  ks_avro_schema_free(f.v2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(type_mapping, setup, teardown),
      cmocka_unit_test_setup_teardown(records_land_as_json_does, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(bad_bytes_reject_and_roll_back, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(int_longer_than_5_bytes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(max_record_bytes, setup, teardown),
      cmocka_unit_test(float_widens_exactly),
      cmocka_unit_test_setup_teardown(nan_and_infinity, setup, teardown),
      cmocka_unit_test(bad_schemas_fail_with_a_reason),
      cmocka_unit_test(wire_format),
      cmocka_unit_test(wide_integer_decimals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
