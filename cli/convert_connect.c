/*
 * `ksink convert-connect FILE`: a Confluent S3 sink connector config
 * (io.confluent.connect.s3.S3SinkConnector) -- the JSON a Connect REST
 * call takes ({"name": ..., "config": {...}} or the bare config map) or a
 * .properties file -- becomes the equivalent ksink YAML on stdout. Every
 * key not carried over is named on stderr with the reason, from the same
 * table the config loader's hints use (conf/connect_keys.h).
 *
 * The layout follows Connect's: one table per topic at
 * <topics.dir>/<topic>, parquet or jsonl as format.class says, the
 * partitioner as partition_by or path_format, and the Connect group's name
 * (connect-<name>) as group.id so that ksink, which seeks parquet and jsonl
 * tables to the group's committed offsets, goes on where Connect stopped.
 * Exit 0, or 2 when the input cannot be read or parsed (CLI.md).
 */
#include "base/buf.h"
#include "base/ks.h"
#include "cli/cli.h"
#include "cli/convert_int.h"
#include "conf/connect_keys.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static void props_add(props *p, const char *k, size_t kl, const char *v,
                      size_t vl) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 32;
    p->v = ks_realloc(p->v, p->cap * sizeof *p->v);
  }
  kv *e = &p->v[p->n++];
  e->key = ks_strndup(k, kl);
  e->value = ks_strndup(v, vl);
  e->used = 0;
}

static kv *find(props *p, const char *key) {
  for (size_t i = p->n; i-- > 0;) /* the last one wins, as in Java */
    if (strcmp(p->v[i].key, key) == 0)
      return &p->v[i];
  return NULL;
}

/* The value of key (marked used), or NULL. */
static const char *get(props *p, const char *key) {
  kv *e = find(p, key);
  if (e == NULL)
    return NULL;
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->v[i].key, key) == 0)
      p->v[i].used = 1;
  return e->value;
}

/* ---- input -------------------------------------------------------------- */

/* java.util.Properties' escapes in place: \t \n \r \f, and \x for any
 * other x (so \\ is one backslash, as in a regex written in a file). */
static size_t unescape(char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\\' && i + 1 < n) {
      c = s[++i];
      c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
    }
    s[o++] = c;
  }
  return o;
}

/* java.util.Properties, the parts connector files use: '#'/'!' comments,
 * key=value or key: value or key value, trailing-backslash continuation,
 * backslash escapes in values. */
static void parse_properties(char *text, props *p) {
  char *line = text;
  while (line && *line) {
    char *next = strchr(line, '\n');
    if (next)
      *next++ = 0;
    /* continuation lines */
    size_t len = strlen(line);
    while (len && line[len - 1] == '\r')
      line[--len] = 0;
    ks_buf joined;
    ks_buf_init(&joined, 0);
    ks_buf_append(&joined, line, len);
    while (joined.len && joined.data[joined.len - 1] == '\\' && next) {
      joined.len--;
      char *cont = next;
      next = strchr(cont, '\n');
      if (next)
        *next++ = 0;
      while (isspace((unsigned char)*cont))
        cont++;
      size_t cl = strlen(cont);
      while (cl && cont[cl - 1] == '\r')
        cl--;
      ks_buf_append(&joined, cont, cl);
    }
    ks_buf_append_byte(&joined, 0);
    char *s = (char *)joined.data;
    while (isspace((unsigned char)*s))
      s++;
    if (*s && *s != '#' && *s != '!') {
      size_t kl = strcspn(s, "=: \t");
      char *v = s + kl;
      while (*v == ' ' || *v == '\t')
        v++;
      if (*v == '=' || *v == ':')
        v++;
      while (*v == ' ' || *v == '\t')
        v++;
      size_t vl = strlen(v);
      while (vl && isspace((unsigned char)v[vl - 1]))
        vl--;
      props_add(p, s, kl, v, unescape(v, vl));
    }
    ks_buf_free(&joined);
    line = next;
  }
}

static int parse_json(const char *text, props *p, char *err, size_t errlen) {
  char e[256];
  yajl_val root = yajl_tree_parse(text, e, sizeof e);
  if (root == NULL || !YAJL_IS_OBJECT(root)) {
    snprintf(err, errlen, "not a JSON object: %s",
             root ? "another JSON value" : e);
    yajl_tree_free(root);
    return KS_EPARSE;
  }
  yajl_val conf = root;
  const char *name = NULL;
  for (size_t i = 0; i < root->u.object.len; i++) {
    if (strcmp(root->u.object.keys[i], "config") == 0 &&
        YAJL_IS_OBJECT(root->u.object.values[i]))
      conf = root->u.object.values[i];
    else if (strcmp(root->u.object.keys[i], "name") == 0 &&
             YAJL_IS_STRING(root->u.object.values[i]))
      name = YAJL_GET_STRING(root->u.object.values[i]);
  }
  if (conf != root && name)
    props_add(p, "name", 4, name, strlen(name));
  for (size_t i = 0; i < conf->u.object.len; i++) {
    const char *k = conf->u.object.keys[i];
    yajl_val v = conf->u.object.values[i];
    const char *s = YAJL_IS_STRING(v)   ? YAJL_GET_STRING(v)
                    : YAJL_IS_NUMBER(v) ? YAJL_GET_NUMBER(v)
                    : YAJL_IS_TRUE(v)   ? "true"
                    : YAJL_IS_FALSE(v)  ? "false"
                                        : NULL;
    if (s == NULL) {
      fprintf(stderr, "%s: not carried over: not a string, number or "
                      "boolean\n", k);
      continue;
    }
    props_add(p, k, strlen(k), s, strlen(s));
  }
  yajl_tree_free(root);
  return 0;
}

/* ---- output ------------------------------------------------------------- */

/* A YAML double-quoted scalar; '$' doubled (ksink interpolates ${ENV}). */
static void yq(ks_buf *o, const char *s) {
  ks_buf_append_byte(o, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      ks_buf_append_byte(o, '\\');
    if (*s == '$')
      ks_buf_append_byte(o, '$');
    ks_buf_append_byte(o, (uint8_t)*s);
  }
  ks_buf_append_byte(o, '"');
}

static void dropped(props *p, const char *key, const char *why) {
  kv *e = find(p, key);
  if (e && !e->used) {
    fprintf(stderr, "%s: not carried over: %s\n", key, why);
    for (size_t i = 0; i < p->n; i++)
      if (strcmp(p->v[i].key, key) == 0)
        p->v[i].used = 1;
  }
}

/* "600000" ms -> "10m" */
static void duration(ks_buf *o, long long ms) {
  if (ms % 3600000 == 0)
    ks_buf_appendf(o, "%lldh", ms / 3600000);
  else if (ms % 60000 == 0)
    ks_buf_appendf(o, "%lldm", ms / 60000);
  else if (ms % 1000 == 0)
    ks_buf_appendf(o, "%llds", ms / 1000);
  else
    ks_buf_appendf(o, "%lldms", ms);
}

static const char *suffix(const char *cls) {
  const char *dot = cls ? strrchr(cls, '.') : NULL;
  return dot ? dot + 1 : cls;
}

static void table_name(ks_buf *o, const char *topic) {
  for (const char *s = topic; *s; s++)
    ks_buf_append_byte(o, isalnum((unsigned char)*s) ? (uint8_t)*s : '_');
}

/* The table section shared by every topic's table. */
static void table_body(props *p, ks_buf *o, const char *format) {
  ks_buf_appendf(o, "    format: %s\n", format);
  const char *codec = get(p, "parquet.codec");
  const char *comp = get(p, "s3.compression.type");
  if (strcmp(format, "parquet") == 0 && codec) {
    if (strcmp(codec, "uncompressed") == 0 || strcmp(codec, "none") == 0)
      ks_buf_appendf(o, "    compression: none\n");
    else if (!strcmp(codec, "snappy") || !strcmp(codec, "gzip") ||
             !strcmp(codec, "zstd"))
      ks_buf_appendf(o, "    compression: %s\n", codec);
    else
      fprintf(stderr, "parquet.codec: not carried over: %s is not one of "
                      "ksink's (snappy, zstd, gzip, none); snappy is used\n",
              codec);
  } else if (strcmp(format, "jsonl") == 0) {
    ks_buf_appendf(o, "    compression: %s\n",
                   comp && strcmp(comp, "gzip") == 0 ? "gzip" : "none");
  }
  if (strcmp(format, "parquet") == 0)
    dropped(p, "s3.compression.type", "Parquet files compress their pages: "
                                      "tables[].compression");
  dropped(p, "s3.compression.level", "ksink writes gzip at level 6");

  const char *fs = get(p, "flush.size");
  const char *ri = get(p, "rotate.interval.ms");
  const char *rs = get(p, "rotate.schedule.interval.ms");
  long long iv = -1;
  if (ri && atoll(ri) > 0)
    iv = atoll(ri);
  if (rs && atoll(rs) > 0 && (iv < 0 || atoll(rs) < iv))
    iv = atoll(rs);
  ks_buf_appendf(o, "    flush: { records: %s", fs ? fs : "500000");
  if (iv > 0) {
    ks_buf_appendf(o, ", interval: ");
    duration(o, iv);
    fprintf(stderr, "rotate%s.interval.ms: carried over as flush.interval, "
                    "measured in wall-clock time from a batch's first "
                    "record; a time cut makes parquet/jsonl at-least-once "
                    "after a crash (README: Exactly once with record "
                    "counts)\n",
            ri && rs ? "(.schedule)" : rs ? ".schedule" : "");
  } else {
    /* Connect rotates by count only: so does ksink, which keeps parquet
     * and jsonl exactly once that way (time and size cuts weaken it). */
    ks_buf_appendf(o, ", interval: 7d, bytes: 1GiB");
  }
  ks_buf_appendf(o, " }\n");

  const char *part = get(p, "partitioner.class");
  const char *ps = suffix(part);
  const char *pf = NULL;
  if (part == NULL || strcmp(ps, "DefaultPartitioner") == 0) {
    if (part)
      fprintf(stderr, "partitioner.class: not carried over: "
                      "DefaultPartitioner's partition=<N> directories have "
                      "no ksink equivalent; files go to the table's root\n");
  } else if (strcmp(ps, "FieldPartitioner") == 0) {
    const char *f = get(p, "partition.field.name");
    if (f == NULL) {
      fprintf(stderr, "partitioner.class: FieldPartitioner without "
                      "partition.field.name: not carried over\n");
    } else {
      ks_buf_appendf(o, "    partition_by: [");
      char *copy = ks_strdup(f), *save = NULL;
      int first = 1;
      for (char *t = strtok_r(copy, ",", &save); t;
           t = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*t))
          t++;
        size_t tl = strlen(t);
        while (tl && isspace((unsigned char)t[tl - 1]))
          t[--tl] = 0;
        ks_buf_appendf(o, "%s", first ? "" : ", ");
        yq(o, t);
        first = 0;
      }
      ks_free(copy);
      ks_buf_appendf(o, "]\n");
    }
  } else if (strcmp(ps, "TimeBasedPartitioner") == 0) {
    pf = get(p, "path.format");
    if (pf == NULL)
      fprintf(stderr, "partitioner.class: TimeBasedPartitioner without "
                      "path.format: not carried over\n");
  } else if (strcmp(ps, "DailyPartitioner") == 0) {
    pf = "'year'=YYYY/'month'=MM/'day'=dd";
  } else if (strcmp(ps, "HourlyPartitioner") == 0) {
    pf = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";
  } else {
    fprintf(stderr, "partitioner.class: not carried over: %s has no ksink "
                    "equivalent\n",
            part);
  }
  if (pf) {
    ks_buf_appendf(o, "    path_format: ");
    yq(o, pf);
    ks_buf_appendf(o, "\n");
    const char *ex = get(p, "timestamp.extractor");
    if (ex && strcmp(suffix(ex), "RecordField") == 0) {
      const char *tf = get(p, "timestamp.field");
      if (tf) {
        ks_buf_appendf(o, "    timestamp_field: ");
        yq(o, tf);
        ks_buf_appendf(o, "\n");
      }
    } else if (ex && strcmp(suffix(ex), "Record") != 0) {
      fprintf(stderr, "timestamp.extractor: not carried over: %s; ksink "
                      "uses the Kafka record timestamp (Record)\n",
              ex);
    }
    const char *tz = get(p, "timezone");
    if (tz) {
      ks_buf_appendf(o, "    timezone: ");
      yq(o, tz);
      ks_buf_appendf(o, "\n");
    }
  }
  dropped(p, "partition.duration.ms",
          "ksink derives the directory from path_format alone");
  dropped(p, "locale", "ksink's path_format has numeric fields only");
  ks__cc_record(p, o); /* key, headers, null values, transforms */

  /* errors.* keep their Connect names */
  static const char *const errs[][2] = {
      {"errors.tolerance", "tolerance"},
      {"errors.deadletterqueue.topic.name", "deadletterqueue.topic.name"},
      {"errors.deadletterqueue.context.headers.enable",
       "deadletterqueue.context.headers.enable"},
      {"errors.log.enable", "log.enable"},
      {"errors.log.include.messages", "log.include.messages"}};
  int any = 0;
  for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
    const char *v = get(p, errs[i][0]);
    if (v == NULL)
      continue;
    if (!any)
      ks_buf_appendf(o, "    errors:\n");
    any = 1;
    ks_buf_appendf(o, "      %s: ", errs[i][1]);
    yq(o, v);
    ks_buf_appendf(o, "\n");
  }
}

static int convert(props *p, ks_buf *o) {
  ks_buf body; /* the table settings, the same for every topic's table */
  ks_buf_init(&body, 0);
  const char *cls = get(p, "connector.class");
  if (cls == NULL)
    fprintf(stderr, "connector.class: missing; converted as an S3 sink\n");
  else if (strcmp(suffix(cls), "S3SinkConnector") != 0)
    fprintf(stderr, "connector.class: %s is not the S3 sink; converted as "
                    "far as its keys go\n",
            cls);
  const char *name = get(p, "name");
  ks_buf_appendf(o, "# Converted by `ksink convert-connect` from a Kafka "
                    "Connect S3 sink config.\n"
                    "# Check the keys it reported on stderr, then run "
                    "`ksink check -c` on this file.\n");
  ks_buf_appendf(o, "app_id: ");
  yq(o, name ? name : "ksink");
  ks_buf_appendf(o, "\n");

  ks_buf_appendf(o, "kafka:\n"
                    "  # the Connect worker's bootstrap.servers\n"
                    "  bootstrap.servers: ${KAFKA_BOOTSTRAP_SERVERS}\n"
                    "  # the sink's own group: ksink starts parquet and "
                    "jsonl tables from its committed offsets\n"
                    "  group.id: ");
  ks_buf gid;
  ks_buf_init(&gid, 0);
  ks_buf_appendf(&gid, "connect-%s", name ? name : "ksink");
  ks_buf_append_byte(&gid, 0);
  yq(o, (char *)gid.data);
  ks_buf_free(&gid);
  ks_buf_appendf(o, "\n");
  for (size_t i = 0; i < p->n; i++) {
    if (strncmp(p->v[i].key, "consumer.override.", 18) != 0 || p->v[i].used)
      continue;
    const char *k = p->v[i].key + 18;
    if (!strcmp(k, "group.id") || !strcmp(k, "enable.auto.commit"))
      continue;
    p->v[i].used = 1;
    /* Java consumer properties that librdkafka does not share stay out:
     * the YAML must load. */
    char e[256];
    rd_kafka_conf_t *probe = rd_kafka_conf_new();
    int ok = rd_kafka_conf_set(probe, k, p->v[i].value, e, sizeof e) ==
             RD_KAFKA_CONF_OK;
    rd_kafka_conf_destroy(probe);
    if (!ok) {
      fprintf(stderr, "%s: not carried over: librdkafka has no such "
                      "consumer property (%s)\n",
              p->v[i].key, e);
      continue;
    }
    ks_buf_appendf(o, "  %s: ", k);
    yq(o, p->v[i].value);
    ks_buf_appendf(o, "\n");
  }
  dropped(p, "consumer.override.group.id", "ksink's group is kafka.group.id");
  dropped(p, "consumer.override.enable.auto.commit",
          "ksink commits offsets itself after each file or Delta commit");

  const char *tasks = get(p, "tasks.max");
  if (tasks)
    ks_buf_appendf(o, "reactor:\n  workers: %d   # tasks.max\n",
                   atoi(tasks) > 0 ? atoi(tasks) : 1);

  const char *bucket = get(p, "s3.bucket.name");
  const char *dir = get(p, "topics.dir");
  ks_buf_appendf(o, "storage:\n  url: ");
  ks_buf url;
  ks_buf_init(&url, 0);
  ks_buf_appendf(&url, "s3://%s/%s", bucket ? bucket : "CHANGE-ME",
                 dir ? dir : "topics");
  ks_buf_append_byte(&url, 0);
  yq(o, (char *)url.data);
  ks_buf_free(&url);
  ks_buf_appendf(o, "\n");
  if (bucket == NULL)
    fprintf(stderr, "s3.bucket.name: missing; storage.url names the bucket "
                    "CHANGE-ME\n");
  ks_buf_appendf(o, "  s3:\n");
  const char *region = get(p, "s3.region");
  ks_buf_appendf(o, "    region: ");
  yq(o, region ? region : "us-west-2"); /* the connector's default */
  ks_buf_appendf(o, "\n");
  const char *ep = get(p, "store.url");
  if (ep) {
    ks_buf_appendf(o, "    endpoint: ");
    yq(o, ep);
    ks_buf_appendf(o, "\n");
  }
  const char *psa = get(p, "s3.path.style.access.enabled");
  if (psa)
    ks_buf_appendf(o, "    addressing: %s\n",
                   strcmp(psa, "true") == 0 ? "path" : "virtual");
  const char *part = get(p, "s3.part.size");
  if (part)
    ks_buf_appendf(o, "    part_size: %lld\n", atoll(part));
  const char *sse = get(p, "s3.ssea.name");
  if (sse && *sse) {
    ks_buf_appendf(o, "    sse: ");
    yq(o, sse);
    ks_buf_appendf(o, "\n");
  }
  const char *kms = get(p, "s3.sse.kms.key.id");
  if (kms && *kms) {
    ks_buf_appendf(o, "    kms_key_id: ");
    yq(o, kms);
    ks_buf_appendf(o, "\n");
  }
  const char *retries = get(p, "s3.part.retries");
  const char *backoff = get(p, "s3.retry.backoff.ms");
  if (retries || backoff) {
    ks_buf_appendf(o, "    retry: {");
    if (retries)
      ks_buf_appendf(o, " max_attempts: %d%s", atoi(retries) + 1,
                     backoff ? "," : "");
    if (backoff)
      ks_buf_appendf(o, " base: %lldms", atoll(backoff));
    ks_buf_appendf(o, " }\n");
  }
  const char *ak = get(p, "aws.access.key.id");
  const char *sk = get(p, "aws.secret.access.key");
  if (ak || sk) {
    ks_buf_appendf(o, "    access_key_id: ${AWS_ACCESS_KEY_ID}\n"
                      "    secret_access_key: ${AWS_SECRET_ACCESS_KEY}\n");
    fprintf(stderr, "aws.access.key.id, aws.secret.access.key: not copied "
                    "into the file: set AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY in ksink's environment\n");
  }

  const char *fmt = get(p, "format.class");
  const char *fsuf = suffix(fmt);
  const char *format = "parquet";
  if (fmt && strcmp(fsuf, "JsonFormat") == 0)
    format = "jsonl";
  else if (fmt && strcmp(fsuf, "ParquetFormat") != 0)
    fprintf(stderr, "format.class: not carried over: %s; ksink writes "
                    "parquet (used here), jsonl or delta\n",
            fmt);
  else if (fmt == NULL)
    fprintf(stderr, "format.class: missing; parquet is used\n");

  /* value converter: ksink reads JSON values */
  const char *vc = get(p, "value.converter");
  const char *se = get(p, "value.converter.schemas.enable");
  if (vc && strcmp(suffix(vc), "JsonConverter") != 0 &&
      strcmp(suffix(vc), "StringConverter") != 0)
    fprintf(stderr, "value.converter: not carried over: %s; ksink reads "
                    "JSON values checked against tables[].schema\n",
            vc);
  else if (se && strcmp(se, "true") == 0)
    fprintf(stderr, "value.converter.schemas.enable: not carried over: "
                    "ksink reads plain JSON values, not Connect's "
                    "schema/payload envelope\n");
  dropped(p, "value.converter.schema.registry.url",
          "ksink does not read a Schema Registry yet");

  table_body(p, &body, format);
  const char *topics = get(p, "topics");
  ks_buf_appendf(o, "tables:\n");
  size_t ntables = 0;
  char *copy = ks_strdup(topics ? topics : "");
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*t))
      t++;
    size_t tl = strlen(t);
    while (tl && isspace((unsigned char)t[tl - 1]))
      t[--tl] = 0;
    if (tl == 0)
      continue;
    ks_buf_appendf(o, "  - name: ");
    table_name(o, t);
    ks_buf_appendf(o, "\n    topics: [");
    yq(o, t);
    ks_buf_appendf(o, "]\n    path: ");
    yq(o, t);
    ks_buf_appendf(o, "   # Connect's <topics.dir>/<topic>\n");
    ks_buf_appendf(o, "    # write a JSON Schema for this topic's records "
                      "here (Connect took it from the converter)\n"
                      "    schema: schemas/");
    table_name(o, t);
    ks_buf_appendf(o, ".json\n");
    ks_buf_append(o, body.data, body.len);
    ntables++;
  }
  ks_free(copy);
  const char *re = ntables == 0 ? get(p, "topics.regex") : NULL;
  if (re) {
    /* Connect's topics.regex: one table for every topic it matches */
    ks_buf_appendf(o, "  - name: ");
    table_name(o, name ? name : "CHANGE_ME");
    ks_buf_appendf(o, "\n    topics_regex: ");
    yq(o, re);
    ks_buf_appendf(o, "\n    path: ");
    yq(o, name ? name : "CHANGE_ME");
    ks_buf_appendf(o, "\n    # write a JSON Schema for these topics' "
                      "records here\n    schema: schemas/");
    table_name(o, name ? name : "CHANGE_ME");
    ks_buf_appendf(o, ".json\n");
    ks_buf_append(o, body.data, body.len);
    fprintf(stderr, "topics.regex: carried over as topics_regex: one table "
                    "for every matching topic (Connect wrote a directory "
                    "per topic)\n");
  } else if (ntables == 0) {
    ks_buf_appendf(o, "  - name: CHANGE_ME\n    topics: []   # list the "
                      "topics (or set topics_regex)\n"
                      "    schema: schemas/CHANGE_ME.json\n");
    ks_buf_append(o, body.data, body.len);
    fprintf(stderr, "topics: missing; list the topics in tables[].topics\n");
  } else {
    fprintf(stderr, "schema: ksink validates records against a JSON Schema "
                    "per table: write schemas/<table>.json for each table "
                    "(ksink infers none for parquet/jsonl)\n");
  }

  /* Whatever is left: the key table's reason, else unknown. */
  for (size_t i = 0; i < p->n; i++) {
    kv *e = &p->v[i];
    if (e->used)
      continue;
    e->used = 1;
    if (!strcmp(e->key, "storage.class") || !strcmp(e->key, "key.converter") ||
        !strncmp(e->key, "key.converter.", 14) ||
        !strcmp(e->key, "schema.compatibility") ||
        !strcmp(e->key, "schema.generator.class")) {
      const ks_conf_connect_key *ck = ks_conf_connect_key_find(e->key);
      fprintf(stderr, "%s: not carried over: %s\n", e->key,
              ck && ck->note ? ck->note : "no ksink equivalent");
      continue;
    }
    const ks_conf_connect_key *ck = ks_conf_connect_key_find(e->key);
    if (ck && ck->note)
      fprintf(stderr, "%s: not carried over: %s\n", e->key, ck->note);
    else if (ck && ck->ksink)
      fprintf(stderr, "%s: not carried over: see %s\n", e->key, ck->ksink);
    else
      fprintf(stderr, "%s: not carried over: not a key ksink knows\n",
              e->key);
  }
  ks_buf_free(&body);
  return 0;
}

/* For the record keys (convert_record.c). */
const char *ks__cc_get(props *p, const char *key) {
  return get(p, key);
}
void ks__cc_yq(ks_buf *o, const char *s) {
  yq(o, s);
}
void ks__cc_dropped(props *p, const char *key, const char *why) {
  dropped(p, key, why);
}
const char *ks__cc_suffix(const char *cls) {
  return suffix(cls);
}

static const char convert_usage[] =
    "usage: ksink convert-connect FILE\n"
    "\n"
    "Converts a Kafka Connect S3 sink connector config (the connector's JSON\n"
    "as given to the Connect REST API, or a .properties file; - reads "
    "stdin)\n"
    "into ksink YAML on stdout. Every key not carried over is named on "
    "stderr\n"
    "with the reason.\n"
    "\n"
    "  -h, --help   this help\n"
    "\n"
    "exit codes: 0 converted, 2 unreadable input\n";

int ks_cli_convert_connect(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    fputs(convert_usage, stdout);
    return KS_EXIT_OK;
  }
  if (argc != 2) {
    fputs(convert_usage, stderr);
    return KS_EXIT_USAGE;
  }
  const char *file = argv[1];
  FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
  if (f == NULL) {
    fprintf(stderr, "ksink convert-connect: %s: cannot open: %s\n", file,
            strerror(errno));
    return KS_EXIT_USAGE;
  }
  ks_buf in;
  ks_buf_init(&in, 0);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && in.len < (4u << 20))
    ks_buf_append(&in, chunk, n);
  int rerr = ferror(f);
  if (f != stdin)
    fclose(f);
  if (rerr || in.len >= (4u << 20)) {
    fprintf(stderr, "ksink convert-connect: %s: %s\n", file,
            rerr ? "read error" : "larger than 4 MiB: not a connector config");
    ks_buf_free(&in);
    return KS_EXIT_USAGE;
  }
  ks_buf_append_byte(&in, 0);
  char *text = (char *)in.data;
  props p = {0};
  const char *s = text;
  while (isspace((unsigned char)*s))
    s++;
  int r = 0;
  char err[512];
  if (*s == '{') {
    r = parse_json(s, &p, err, sizeof err);
    if (r)
      fprintf(stderr, "ksink convert-connect: %s: %s\n", file, err);
  } else {
    parse_properties(text, &p);
    if (p.n == 0) {
      fprintf(stderr, "ksink convert-connect: %s: no properties found\n",
              file);
      r = KS_EPARSE;
    }
  }
  int code = KS_EXIT_USAGE;
  if (r == 0) {
    ks_buf out;
    ks_buf_init(&out, 0);
    convert(&p, &out);
    fwrite(out.data, 1, out.len, stdout);
    ks_buf_free(&out);
    code = KS_EXIT_OK;
  }
  for (size_t i = 0; i < p.n; i++) {
    ks_free(p.v[i].key);
    ks_free(p.v[i].value);
  }
  ks_free(p.v);
  ks_buf_free(&in);
  return code;
}
