/*
 * `ksink convert-connect`: what Connect does to each record before the
 * sink writes it, as table keys. store.kafka.keys / store.kafka.headers
 * with key.converter become key and headers columns;
 * behavior.on.null.values becomes null_values; the single message
 * transforms ksink has (ExtractField, InsertField, ReplaceField,
 * TimestampConverter on values, Filter with its predicates, Debezium's
 * ExtractNewRecordState) become tables[].transforms in the same order.
 * Every other transform is named on stderr.
 */
#include "cli/convert_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* transforms.<name>.<what> */
static const char *xget(props *p, const char *name, const char *what) {
  char key[256];
  snprintf(key, sizeof key, "transforms.%s.%s", name, what);
  return ks__cc_get(p, key);
}

/* A Connect field name without InsertField's "!" / "?" marks. */
static void field(ks_buf *o, const char *f) {
  char t[256];
  snprintf(t, sizeof t, "%s", f);
  size_t n = strlen(t);
  while (n && (t[n - 1] == '!' || t[n - 1] == '?'))
    t[--n] = 0;
  ks__cc_yq(o, t);
}

/* "a, b,c" -> ["a", "b", "c"] */
static void list(ks_buf *o, const char *csv, int pairs) {
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", csv);
  ks_buf_appendf(o, pairs ? "{ " : "[");
  int first = 1;
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*t))
      t++;
    size_t n = strlen(t);
    while (n && isspace((unsigned char)t[n - 1]))
      t[--n] = 0;
    if (n == 0)
      continue;
    ks_buf_appendf(o, "%s", first ? "" : ", ");
    first = 0;
    char *colon = pairs ? strchr(t, ':') : NULL;
    if (colon) { /* ReplaceField's renames: old:new */
      *colon = 0;
      ks__cc_yq(o, t);
      ks_buf_appendf(o, ": ");
      ks__cc_yq(o, colon + 1);
    } else {
      ks__cc_yq(o, t);
    }
  }
  ks_buf_appendf(o, pairs ? " }" : "]");
}

static int insert_field(props *p, const char *n, ks_buf *o) {
  static const char *const keys[][2] = {{"timestamp.field", "timestamp"},
                                        {"topic.field", "topic"},
                                        {"partition.field", "partition"},
                                        {"offset.field", "offset"}};
  const char *sf = xget(p, n, "static.field"), *sv = xget(p, n, "static.value");
  int any = 0;
  ks_buf_appendf(o, "      - insert_field: {");
  if (sf) {
    ks_buf_appendf(o, " static: { ");
    field(o, sf);
    ks_buf_appendf(o, ": ");
    ks__cc_yq(o, sv ? sv : "");
    ks_buf_appendf(o, " }");
    any = 1;
  }
  for (size_t i = 0; i < 4; i++) {
    const char *v = xget(p, n, keys[i][0]);
    if (v == NULL)
      continue;
    ks_buf_appendf(o, "%s %s: ", any ? "," : "", keys[i][1]);
    field(o, v);
    any = 1;
  }
  ks_buf_appendf(o, " }\n");
  return any;
}

static int replace_field(props *p, const char *n, ks_buf *o) {
  const char *ex = xget(p, n, "exclude"), *in = xget(p, n, "include");
  const char *bl = xget(p, n, "blacklist"), *wl = xget(p, n, "whitelist");
  const char *rn = xget(p, n, "renames");
  ex = ex ? ex : bl;
  in = in ? in : wl;
  if (!ex && !in && !rn)
    return 0;
  ks_buf_appendf(o, "      - replace_field: {");
  const char *sep = "";
  if (ex || in) {
    ks_buf_appendf(o, " %s: ", ex ? "exclude" : "include");
    list(o, ex ? ex : in, 0);
    sep = ",";
  }
  if (rn) {
    ks_buf_appendf(o, "%s rename: ", sep);
    list(o, rn, 1);
  }
  ks_buf_appendf(o, " }\n");
  return 1;
}

static int timestamp_converter(props *p, const char *n, ks_buf *o) {
  const char *f = xget(p, n, "field"), *fmt = xget(p, n, "format");
  const char *t = xget(p, n, "target.type");
  const char *target = NULL;
  if (t && strcmp(t, "Timestamp") == 0)
    target = "timestamp";
  else if (t && strcmp(t, "string") == 0)
    target = "string";
  else if (t && strcmp(t, "unix") == 0)
    target = "unix";
  else if (t && strcmp(t, "Date") == 0)
    target = "date";
  if (f == NULL || target == NULL) {
    fprintf(stderr,
            "transforms.%s: not carried over: ksink converts one "
            "value field to Timestamp, string, unix or Date\n",
            n);
    return -1;
  }
  ks_buf_appendf(o, "      - timestamp_converter: { field: ");
  ks__cc_yq(o, f);
  if (fmt) {
    ks_buf_appendf(o, ", format: ");
    ks__cc_yq(o, fmt);
  }
  ks_buf_appendf(o, ", target: %s }\n", target);
  return 1;
}

static int filter(props *p, const char *n, ks_buf *o) {
  const char *pred = xget(p, n, "predicate");
  const char *neg = xget(p, n, "negate");
  char key[256];
  if (pred == NULL) {
    fprintf(stderr,
            "transforms.%s: not carried over: a Filter without a "
            "predicate drops every record\n",
            n);
    return -1;
  }
  snprintf(key, sizeof key, "predicates.%s.type", pred);
  const char *type = ks__cc_get(p, key);
  const char *kind = ks__cc_suffix(type ? type : "");
  const char *arg = NULL, *what = NULL;
  if (strcmp(kind, "RecordIsTombstone") == 0) {
    what = "tombstone";
  } else if (strcmp(kind, "TopicNameMatches") == 0) {
    snprintf(key, sizeof key, "predicates.%s.pattern", pred);
    arg = ks__cc_get(p, key);
    what = "topic";
  } else if (strcmp(kind, "HasHeaderKey") == 0) {
    snprintf(key, sizeof key, "predicates.%s.name", pred);
    arg = ks__cc_get(p, key);
    what = "header";
  }
  if (what == NULL || (strcmp(what, "tombstone") != 0 && arg == NULL)) {
    fprintf(stderr,
            "transforms.%s: not carried over: predicate %s is not "
            "RecordIsTombstone, TopicNameMatches or HasHeaderKey\n",
            n, pred);
    return -1;
  }
  ks_buf_appendf(o, "      - filter: { predicate: { %s: ", what);
  if (arg)
    ks__cc_yq(o, arg);
  else
    ks_buf_appendf(o, "true");
  ks_buf_appendf(o, " }%s }\n",
                 neg && strcmp(neg, "true") == 0 ? ", negate: true" : "");
  return 1;
}

/* Debezium's ExtractNewRecordState; *tombstones_dropped when its
 * drop.tombstones (default true) removes tombstones before the sink. */
static int unwrap(props *p, const char *n, ks_buf *o, int *tombstones_dropped) {
  const char *mode = xget(p, n, "delete.handling.mode");
  const char *tmode = xget(p, n, "delete.tombstone.handling.mode");
  const char *add = xget(p, n, "add.fields");
  const char *dt = xget(p, n, "drop.tombstones");
  const char *deletes = "drop";
  if ((mode && strcmp(mode, "rewrite") == 0) ||
      (tmode && strncmp(tmode, "rewrite", 7) == 0))
    deletes = "rewrite";
  else if ((mode && strcmp(mode, "none") == 0) ||
           (tmode && strcmp(tmode, "tombstone") == 0))
    fprintf(stderr,
            "transforms.%s.delete.handling.mode: not carried over: "
            "ksink drops or rewrites deletes (drop used)\n",
            n);
  *tombstones_dropped =
      !(dt && strcmp(dt, "false") == 0) &&
      !(tmode && strcmp(tmode, "rewrite-with-tombstone") == 0);
  ks_buf_appendf(o, "      - debezium_unwrap: { deletes: %s", deletes);
  if (add) {
    ks_buf_appendf(o, ", add_fields: ");
    list(o, add, 0);
  }
  ks_buf_appendf(o, " }\n");
  return 1;
}

void ks__cc_record(props *p, ks_buf *o) {
  /* key and headers: Connect's S3 sink writes them beside the values */
  const char *sk = ks__cc_get(p, "store.kafka.keys");
  if (sk && strcmp(sk, "true") == 0) {
    const char *kcv = ks__cc_get(p, "key.converter");
    const char *kc = ks__cc_suffix(kcv ? kcv : "");
    const char *f = !strcmp(kc, "JsonConverter")        ? "json"
                    : !strcmp(kc, "ByteArrayConverter") ? "bytes"
                                                        : "string";
    ks_buf_appendf(o, "    key: { format: %s, column: _kafka_key }\n", f);
  }
  const char *sh = ks__cc_get(p, "store.kafka.headers");
  if (sh && strcmp(sh, "true") == 0)
    ks_buf_appendf(o, "    headers: { column: _kafka_headers }\n");

  ks_buf xf;
  ks_buf_init(&xf, 0);
  int tombstones_dropped = 0;
  const char *names = ks__cc_get(p, "transforms");
  ks__cc_get(p, "predicates");
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", names ? names : "");
  char *save = NULL;
  for (char *n = strtok_r(copy, ",", &save); n;
       n = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*n))
      n++;
    size_t nl = strlen(n);
    while (nl && isspace((unsigned char)n[nl - 1]))
      n[--nl] = 0;
    if (nl == 0)
      continue;
    const char *type = xget(p, n, "type");
    const char *t = ks__cc_suffix(type ? type : "");
    int r = 0;
    if (xget(p, n, "predicate") && strcmp(t, "Filter") != 0) {
      fprintf(stderr,
              "transforms.%s.predicate: not carried over: ksink "
              "applies predicates through filter only; the "
              "transform runs on every record\n",
              n);
    }
    if (strcmp(t, "ExtractField$Value") == 0 && xget(p, n, "field")) {
      ks_buf_appendf(&xf, "      - extract_field: ");
      ks__cc_yq(&xf, xget(p, n, "field"));
      ks_buf_appendf(&xf, "\n");
      r = 1;
    } else if (strcmp(t, "InsertField$Value") == 0) {
      r = insert_field(p, n, &xf);
    } else if (strcmp(t, "ReplaceField$Value") == 0) {
      r = replace_field(p, n, &xf);
    } else if (strcmp(t, "TimestampConverter$Value") == 0) {
      r = timestamp_converter(p, n, &xf);
    } else if (strcmp(t, "Filter") == 0) {
      r = filter(p, n, &xf);
    } else if (strcmp(t, "ExtractNewRecordState") == 0) {
      r = unwrap(p, n, &xf, &tombstones_dropped);
    }
    if (r == 0)
      fprintf(stderr,
              "transforms.%s: not carried over: %s has no ksink "
              "transform\n",
              n, type ? type : "a transform without type");
  }
  if (xf.len) {
    ks_buf_appendf(o, "    transforms:\n");
    ks_buf_append(o, xf.data, xf.len);
  }
  ks_buf_free(&xf);

  const char *nv = ks__cc_get(p, "behavior.on.null.values");
  if (tombstones_dropped)
    ks_buf_appendf(o, "    null_values: ignore   # ExtractNewRecordState's "
                      "drop.tombstones\n");
  else if (nv && strcmp(nv, "ignore") == 0)
    ks_buf_appendf(o, "    null_values: ignore\n");
  else if (nv && strcmp(nv, "fail") == 0)
    ks_buf_appendf(o, "    null_values: fail\n");
  else if (nv)
    fprintf(stderr,
            "behavior.on.null.values: not carried over: %s; ksink "
            "ignores, rejects (null_values: dlq) or fails on "
            "tombstones\n",
            nv);
}
