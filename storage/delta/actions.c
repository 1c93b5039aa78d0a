/*
 * Delta log actions as JSON lines (PROTOCOL.md, "Actions"). Written by
 * hand on ks_buf rather than through yajl_gen: the shapes are fixed, the
 * field order stays stable for tests and diffs, and strings go through the
 * one escaper (ks_buf_append_json_str). On failure (buffer cap) the buffer
 * is cut back to where the action started, so a caller never commits half
 * a line.
 */
#include "storage/delta/delta_int.h"

#include "base/ks.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TRY(x)                                                              \
  do {                                                                      \
    if ((rc = (x)))                                                         \
      goto fail;                                                            \
  } while (0)

static int str(ks_buf *b, const char *s) {
  return ks_buf_append_json_str(b, s, strlen(s));
}

/* "key":"value" or "key":null */
static int kv_str(ks_buf *b, const char *k, const char *v) {
  int rc;
  if ((rc = str(b, k)) || (rc = ks_buf_append_byte(b, ':')))
    return rc;
  return v ? str(b, v) : ks_buf_append_str(b, "null");
}

/* {"k1":"v1",...}; values may be NULL (JSON null). */
static int map(ks_buf *b, char *const *keys, char *const *vals, size_t n) {
  int rc;
  if ((rc = ks_buf_append_byte(b, '{')))
    return rc;
  for (size_t i = 0; i < n; i++) {
    if (i && (rc = ks_buf_append_byte(b, ',')))
      return rc;
    if ((rc = kv_str(b, keys[i], vals ? vals[i] : NULL)))
      return rc;
  }
  return ks_buf_append_byte(b, '}');
}

int ks_delta_write_protocol(ks_buf *out, int min_reader, int min_writer) {
  return ks_buf_appendf(out,
                        "{\"protocol\":{\"minReaderVersion\":%d,"
                        "\"minWriterVersion\":%d}}\n",
                        min_reader, min_writer);
}

int ks_delta_write_metadata(ks_buf *out, const ks_delta_metadata *m) {
  size_t start = out->len;
  int rc;
  TRY(ks_buf_append_str(out, "{\"metaData\":{"));
  TRY(kv_str(out, "id", m->id));
  if (m->name) {
    TRY(ks_buf_append_byte(out, ','));
    TRY(kv_str(out, "name", m->name));
  }
  if (m->description) {
    TRY(ks_buf_append_byte(out, ','));
    TRY(kv_str(out, "description", m->description));
  }
  TRY(ks_buf_append_str(out, ",\"format\":{\"provider\":\"parquet\","
                             "\"options\":{}},"));
  TRY(kv_str(out, "schemaString", m->schema_string));
  TRY(ks_buf_append_str(out, ",\"partitionColumns\":["));
  for (size_t i = 0; i < m->npartition_columns; i++) {
    if (i)
      TRY(ks_buf_append_byte(out, ','));
    TRY(str(out, m->partition_columns[i]));
  }
  TRY(ks_buf_append_str(out, "],\"configuration\":"));
  TRY(map(out, m->conf_keys, m->conf_values, m->nconf));
  if (m->created_time)
    TRY(ks_buf_appendf(out, ",\"createdTime\":%" PRId64, m->created_time));
  TRY(ks_buf_append_str(out, "}}\n"));
  return 0;
fail:
  ks_buf_truncate(out, start);
  return rc;
}

int ks_delta_write_add(ks_buf *out, const ks_delta_add *a) {
  size_t start = out->len;
  int rc;
  TRY(ks_buf_append_str(out, "{\"add\":{"));
  TRY(kv_str(out, "path", a->path));
  TRY(ks_buf_append_str(out, ",\"partitionValues\":"));
  TRY(map(out, a->part_names, a->part_values, a->nparts));
  TRY(ks_buf_appendf(out,
                     ",\"size\":%" PRId64 ",\"modificationTime\":%" PRId64
                     ",\"dataChange\":%s",
                     a->size, a->modification_time,
                     a->no_data_change ? "false" : "true"));
  if (a->stats) {
    TRY(ks_buf_append_byte(out, ','));
    TRY(kv_str(out, "stats", a->stats));
  }
  if (a->extra && a->extra[0]) {
    TRY(ks_buf_append_byte(out, ','));
    TRY(ks_buf_append_str(out, a->extra));
  }
  TRY(ks_buf_append_str(out, "}}\n"));
  return 0;
fail:
  ks_buf_truncate(out, start);
  return rc;
}

int ks_delta_write_txn(ks_buf *out, const ks_delta_txn *t) {
  size_t start = out->len;
  int rc;
  TRY(ks_buf_append_str(out, "{\"txn\":{"));
  TRY(kv_str(out, "appId", t->app_id));
  TRY(ks_buf_appendf(out, ",\"version\":%" PRId64, t->version));
  if (t->last_updated)
    TRY(ks_buf_appendf(out, ",\"lastUpdated\":%" PRId64, t->last_updated));
  TRY(ks_buf_append_str(out, "}}\n"));
  return 0;
fail:
  ks_buf_truncate(out, start);
  return rc;
}

int ks_delta_write_remove(ks_buf *out, const ks_delta_remove *r) {
  size_t start = out->len;
  int rc;
  TRY(ks_buf_append_str(out, "{\"remove\":{"));
  TRY(kv_str(out, "path", r->path));
  if (r->deletion_timestamp)
    TRY(ks_buf_appendf(out, ",\"deletionTimestamp\":%" PRId64,
                       r->deletion_timestamp));
  TRY(ks_buf_appendf(out, ",\"dataChange\":%s",
                     r->data_change ? "true" : "false"));
  if (r->extended_file_metadata) {
    TRY(ks_buf_append_str(out, ",\"extendedFileMetadata\":true,"
                               "\"partitionValues\":"));
    TRY(map(out, r->part_names, r->part_values, r->nparts));
    if (r->size >= 0)
      TRY(ks_buf_appendf(out, ",\"size\":%" PRId64, r->size));
  }
  if (r->dv_json) {
    TRY(ks_buf_append_str(out, ",\"deletionVector\":"));
    TRY(ks_buf_append_str(out, r->dv_json));
  }
  TRY(ks_buf_append_str(out, "}}\n"));
  return 0;
fail:
  ks_buf_truncate(out, start);
  return rc;
}

int ks_delta_write_commit_info(ks_buf *out, int64_t timestamp_ms,
                               const char *operation, const char *engine_info,
                               int blind_append) {
  return ks_delta_write_commit_info_ict(out, timestamp_ms, -1, operation,
                                        engine_info, blind_append);
}

int ks_delta_write_commit_info_ict(ks_buf *out, int64_t timestamp_ms,
                                   int64_t ict_ms, const char *operation,
                                   const char *engine_info, int blind_append) {
  size_t start = out->len;
  int rc;
  TRY(ks_buf_append_str(out, "{\"commitInfo\":{"));
  if (ict_ms >= 0)
    TRY(ks_buf_appendf(out, "\"inCommitTimestamp\":%" PRId64 ",", ict_ms));
  TRY(ks_buf_appendf(out, "\"timestamp\":%" PRId64 ",", timestamp_ms));
  TRY(kv_str(out, "operation", operation ? operation : "WRITE"));
  TRY(ks_buf_append_str(out, ",\"operationParameters\":{},"));
  TRY(kv_str(out, "engineInfo",
             engine_info ? engine_info : "ksink/" KS_VERSION));
  TRY(ks_buf_appendf(out, ",\"isBlindAppend\":%s}}\n",
                     blind_append ? "true" : "false"));
  return 0;
fail:
  ks_buf_truncate(out, start);
  return rc;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *ks_delta_path_decode(const char *s) {
  size_t n = strlen(s);
  char *out = ks_malloc(n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    int hi = s[i] == '%' && i + 2 < n + 1 ? hexval(s[i + 1]) : -1;
    int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
    if (lo >= 0) {
      *o++ = (char)(hi * 16 + lo);
      i += 2;
    } else {
      *o++ = s[i];
    }
  }
  *o = '\0';
  return out;
}

void ks_delta_uuid(char out[37]) {
  uint8_t b[16];
  if (uv_random(NULL, NULL, b, sizeof b, 0, NULL) != 0) {
    /* getrandom/urandom unavailable: table ids must still differ. */
    uint64_t x = (uint64_t)ks_now_us(), y = ks_mono_ms() ^ (uintptr_t)out;
    memcpy(b, &x, 8);
    memcpy(b + 8, &y, 8);
  }
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  static const char hex[] = "0123456789abcdef";
  char *o = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      *o++ = '-';
    *o++ = hex[b[i] >> 4];
    *o++ = hex[b[i] & 15];
  }
  *o = '\0';
}

void ks__delta_add_free(ks_delta_add *a) {
  ks_free(a->path);
  ks_free(a->stats);
  for (size_t i = 0; i < a->nparts; i++) {
    ks_free(a->part_names[i]);
    ks_free(a->part_values[i]);
  }
  ks_free(a->part_names);
  ks_free(a->part_values);
  ks_free(a->extra);
  ks_free(a->dv_file);
  ks_free(a->dv_id);
  memset(a, 0, sizeof *a);
}

void ks_delta_add_clear(ks_delta_add *a) {
  ks__delta_add_free(a);
}

void ks__delta_remove_free(ks_delta_remove *r) {
  ks_free(r->path);
  for (size_t i = 0; i < r->nparts; i++) {
    ks_free(r->part_names[i]);
    ks_free(r->part_values[i]);
  }
  ks_free(r->part_names);
  ks_free(r->part_values);
  ks_free(r->dv_id);
  ks_free(r->dv_json);
  memset(r, 0, sizeof *r);
}

void ks__delta_metadata_free(ks_delta_metadata *m) {
  ks_free(m->id);
  ks_free(m->name);
  ks_free(m->description);
  ks_free(m->schema_string);
  for (size_t i = 0; i < m->npartition_columns; i++)
    ks_free(m->partition_columns[i]);
  ks_free(m->partition_columns);
  for (size_t i = 0; i < m->nconf; i++) {
    ks_free(m->conf_keys[i]);
    ks_free(m->conf_values[i]);
  }
  ks_free(m->conf_keys);
  ks_free(m->conf_values);
  memset(m, 0, sizeof *m);
}
