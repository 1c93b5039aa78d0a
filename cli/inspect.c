/*
 * ksink inspect URL [--json [--files]] [-c FILE]
 *
 * The table's current snapshot (loaded from its newest checkpoint plus the
 * later log entries): version, protocol, schema, partition columns, active
 * files, rows (sum of add.stats.numRecords), bytes, the txn version of every
 * appId (ksink's are <app_id>-<topic>-<partition>: the last Kafka offset
 * committed for that partition) and the newest checkpoint. Human text by
 * default, one JSON object with --json (CLI.md lists its keys). Exit 0, 1
 * when the table cannot be read, 2 on bad usage.
 */
#include "base/jsontree.h"
#include "base/buf.h"
#include "base/ks.h"
#include "cli/cli.h"
#include "cli/table_open.h"
#include "storage/delta/constraint.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static const char usage[] =
    "usage: ksink inspect URL [--json [--files]] [-c FILE]\n"
    "\n"
    "A Delta table's version, schema, partition columns, files, rows, bytes,\n"
    "txns and last checkpoint.\n"
    "\n"
    "  URL                 the table: a path, file:///path, s3://bucket/prefix\n"
    "                      (s3a:// too)\n"
    "  -c, --config FILE   S3 settings (storage.s3) for an s3:// URL\n"
    "  --json              one JSON object instead of the summary\n"
    "  --files             with --json: every active file too\n"
    "  -h, --help          this help\n";

static yajl_val field(yajl_val obj, const char *key) {
  if (!YAJL_IS_OBJECT(obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp(obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

/* Delta type -> "long", "struct", "array<string>", "map<string, long>" */
static void type_name(ks_buf *b, yajl_val t) {
  if (YAJL_IS_STRING(t)) {
    ks_buf_append_str(b, YAJL_GET_STRING(t));
    return;
  }
  yajl_val k = field(t, "type");
  const char *kind = YAJL_IS_STRING(k) ? YAJL_GET_STRING(k) : "?";
  if (strcmp(kind, "array") == 0) {
    ks_buf_append_str(b, "array<");
    type_name(b, field(t, "elementType"));
    ks_buf_append_str(b, ">");
  } else if (strcmp(kind, "map") == 0) {
    ks_buf_append_str(b, "map<");
    type_name(b, field(t, "keyType"));
    ks_buf_append_str(b, ", ");
    type_name(b, field(t, "valueType"));
    ks_buf_append_str(b, ">");
  } else {
    ks_buf_append_str(b, kind);
  }
}

/* The struct's fields of a type (a struct, or the struct inside arrays
 * and map values), or NULL. */
static yajl_val inner_fields(yajl_val t) {
  for (int depth = 0; depth < 64 && YAJL_IS_OBJECT(t); depth++) {
    yajl_val k = field(t, "type");
    const char *kind = YAJL_IS_STRING(k) ? YAJL_GET_STRING(k) : "";
    if (strcmp(kind, "struct") == 0)
      return field(t, "fields");
    t = strcmp(kind, "array") == 0 ? field(t, "elementType")
        : strcmp(kind, "map") == 0 ? field(t, "valueType")
                                   : NULL;
  }
  return NULL;
}

static void print_fields(yajl_val fields, int indent) {
  if (!YAJL_IS_ARRAY(fields) || indent > 40)
    return;
  for (size_t i = 0; i < fields->u.array.len; i++) {
    yajl_val f = fields->u.array.values[i];
    yajl_val name = field(f, "name"), type = field(f, "type");
    yajl_val nullable = field(f, "nullable");
    ks_buf b;
    ks_buf_init(&b, 0);
    type_name(&b, type);
    ks_buf_cstr(&b);
    printf("%*s%s: %s%s\n", indent, "",
           YAJL_IS_STRING(name) ? YAJL_GET_STRING(name) : "?",
           b.data ? (char *)b.data : "",
           YAJL_IS_FALSE(nullable) ? " not null" : "");
    ks_buf_free(&b);
    print_fields(inner_fields(type), indent + 2);
  }
}

static int64_t total_bytes(const ks_delta_snapshot *s) {
  int64_t n = 0;
  for (size_t i = 0; i < s->nfiles; i++)
    n += s->files[i].size;
  return n;
}

static void put_json_str(const char *s) {
  ks_buf b;
  ks_buf_init(&b, 0);
  ks_buf_append_json_str(&b, s, strlen(s));
  fwrite(b.data, 1, b.len, stdout);
  ks_buf_free(&b);
}

/* --files: the active files as the snapshot holds them, their
 * partitionValues included (null stays null). */
static void print_files(const ks_delta_snapshot *s) {
  fputs(",\"active_files\":[", stdout);
  for (size_t i = 0; i < s->nfiles; i++) {
    const ks_delta_add *a = &s->files[i];
    fputs(i ? ",{\"path\":" : "{\"path\":", stdout);
    put_json_str(a->path);
    printf(",\"size\":%" PRId64 ",\"num_records\":%" PRId64
           ",\"deleted_rows\":%" PRId64 ",\"base_row_id\":%" PRId64,
           a->size, a->num_records, a->dv_cardinality, a->base_row_id);
    fputs(",\"deletion_vector_file\":", stdout);
    if (a->dv_file)
      put_json_str(a->dv_file);
    else
      fputs("null", stdout);
    fputs(",\"partition_values\":{", stdout);
    for (size_t k = 0; k < a->nparts; k++) {
      if (k)
        putchar(',');
      put_json_str(a->part_names[k]);
      putchar(':');
      if (a->part_values[k])
        put_json_str(a->part_values[k]);
      else
        fputs("null", stdout);
    }
    fputs("}}", stdout);
  }
  putchar(']');
}

static void put_features(const char *key, char *const *names, size_t n) {
  if (names == NULL)
    return;
  printf(",\"%s\":[", key);
  for (size_t i = 0; i < n; i++) {
    if (i)
      putchar(',');
    put_json_str(names[i]);
  }
  putchar(']');
}

static size_t dv_files(const ks_delta_snapshot *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->nfiles; i++)
    n += s->files[i].dv_cardinality > 0;
  return n;
}

/* protocol features, domains, deletion vectors and whether ksink may
 * append (ks_delta_protocol_check's verdict) */
static void print_json_features(const ks_delta_snapshot *s) {
  fputs(",\"metadata_id\":", stdout);
  if (s->has_metadata && s->metadata.id)
    put_json_str(s->metadata.id);
  else
    fputs("null", stdout);
  fputs(",\"domains\":{", stdout);
  for (size_t i = 0; i < s->ndomains; i++) {
    if (i)
      putchar(',');
    put_json_str(s->domains[i].domain);
    putchar(':');
    put_json_str(s->domains[i].configuration);
  }
  printf("},\"deletion_vector_files\":%zu,\"row_id_high_water_mark\":",
         dv_files(s));
  int64_t hwm = ks_delta_row_id_high_water_mark(s);
  if (hwm >= 0)
    printf("%" PRId64, hwm);
  else
    fputs("null", stdout);
  fputs(",\"in_commit_timestamp\":", stdout);
  if (s->last_ict >= 0)
    printf("%" PRId64, s->last_ict);
  else
    fputs("null", stdout);
  /* the checks every appended record must pass */
  ks_delta_constraints cs;
  char why[400];
  fputs(",\"constraints\":[", stdout);
  if (s->has_metadata &&
      ks_delta_constraints_of(s->metadata.schema_string, s->metadata.conf_keys,
                              s->metadata.conf_values, s->metadata.nconf, &cs,
                              why, sizeof why) == 0) {
    for (size_t i = 0; i < cs.n; i++) {
      fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
      put_json_str(cs.names[i]);
      fputs(",\"feature\":", stdout);
      put_json_str(cs.features[i]);
      fputs(",\"expression\":", stdout);
      put_json_str(cs.sqls[i]);
      putchar('}');
    }
    ks_delta_constraints_free(&cs);
  }
  putchar(']');
  fputs(",\"append_refused\":", stdout);
  if (ks_delta_protocol_check(s, why, sizeof why))
    put_json_str(why);
  else
    fputs("null", stdout);
}

static void print_json(const ks_delta_table *t, yajl_val schema, int files) {
  const ks_delta_snapshot *s = ks_delta_table_snapshot(t);
  printf("{\"version\":%" PRId64 ",\"protocol\":{\"minReaderVersion\":%d,"
         "\"minWriterVersion\":%d",
         s->version, s->min_reader, s->min_writer);
  put_features("readerFeatures", s->reader_features, s->nreader_features);
  put_features("writerFeatures", s->writer_features, s->nwriter_features);
  printf("},\"files\":%zu,\"rows\":%" PRId64 ",\"bytes\":%" PRId64
         ",\"partition_columns\":[",
         s->nfiles, ks_delta_snapshot_rows(s), total_bytes(s));
  for (size_t i = 0; i < s->metadata.npartition_columns; i++) {
    if (i)
      putchar(',');
    put_json_str(s->metadata.partition_columns[i]);
  }
  /* the schemaString is JSON text: embedded as it is once it parses */
  fputs("],\"schema\":", stdout);
  fputs(schema ? s->metadata.schema_string : "null", stdout);
  fputs(",\"txn\":{", stdout);
  for (size_t i = 0; i < s->ntxns; i++) {
    if (i)
      putchar(',');
    put_json_str(s->txns[i].app_id);
    printf(":%" PRId64, s->txns[i].version);
  }
  putchar('}');
  print_json_features(s);
  if (files)
    print_files(s);
  int64_t ck = ks_delta_table_last_checkpoint(t);
  if (ck >= 0)
    printf(",\"last_checkpoint\":%" PRId64 "}\n", ck);
  else
    fputs(",\"last_checkpoint\":null}\n", stdout);
}

static void print_text(const char *url, const ks_delta_table *t,
                       yajl_val schema) {
  const ks_delta_snapshot *s = ks_delta_table_snapshot(t);
  printf("table:             %s\n", url);
  printf("version:           %" PRId64 "\n", s->version);
  printf("protocol:          reader %d, writer %d\n", s->min_reader,
         s->min_writer);
  for (int w = 0; w < 2; w++) {
    char *const *l = w ? s->writer_features : s->reader_features;
    size_t n = w ? s->nwriter_features : s->nreader_features;
    printf("%s", w ? "writer features:  " : "reader features:  ");
    for (size_t i = 0; i < n; i++)
      printf("%s %s", i ? "," : "", l[i]);
    printf("%s\n", n ? "" : " none");
  }
  printf("domains:          ");
  for (size_t i = 0; i < s->ndomains; i++)
    printf("%s %s=%s", i ? "," : "", s->domains[i].domain,
           s->domains[i].configuration);
  printf("%s\n", s->ndomains ? "" : " none");
  char why[400];
  ks_delta_constraints cs;
  if (s->has_metadata &&
      ks_delta_constraints_of(s->metadata.schema_string, s->metadata.conf_keys,
                              s->metadata.conf_values, s->metadata.nconf, &cs,
                              why, sizeof why) == 0) {
    for (size_t i = 0; i < cs.n; i++)
      printf("constraint:        %s: %s\n", cs.names[i], cs.sqls[i]);
    ks_delta_constraints_free(&cs);
  }
  if (ks_delta_protocol_check(s, why, sizeof why))
    printf("append:            refused: %s\n", why);
  else
    printf("append:            supported\n");
  if (dv_files(s))
    printf("deletion vectors:  %zu files\n", dv_files(s));
  int64_t ck = ks_delta_table_last_checkpoint(t);
  if (ck >= 0)
    printf("last checkpoint:   %" PRId64 "\n", ck);
  else
    printf("last checkpoint:   none\n");
  printf("files:             %zu\n", s->nfiles);
  printf("rows:              %" PRId64 "\n", ks_delta_snapshot_rows(s));
  printf("bytes:             %" PRId64 "\n", total_bytes(s));
  printf("partition columns:");
  if (s->metadata.npartition_columns == 0)
    printf(" none");
  for (size_t i = 0; i < s->metadata.npartition_columns; i++)
    printf("%s %s", i ? "," : "", s->metadata.partition_columns[i]);
  printf("\nschema:\n");
  if (schema)
    print_fields(field(schema, "fields"), 2);
  else
    printf("  (unreadable schemaString)\n");
  printf("txn (appId: version):\n");
  if (s->ntxns == 0)
    printf("  none\n");
  for (size_t i = 0; i < s->ntxns; i++)
    printf("  %s: %" PRId64 "\n", s->txns[i].app_id, s->txns[i].version);
}

int ks_cli_inspect(int argc, char **argv) {
  const char *conf = NULL;
  int json = 0, files = 0;
  static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                       {"files", no_argument, 0, 'f'},
                                       {"config", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'j':
      json = 1;
      break;
    case 'f':
      files = 1;
      break;
    case 'c':
      conf = optarg;
      break;
    case 'h':
      fputs(usage, stdout);
      return KS_EXIT_OK;
    default:
      fputs(usage, stderr);
      return KS_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    fputs(usage, stderr);
    return KS_EXIT_USAGE;
  }
  const char *url = argv[optind];
  ks_cli_table ct;
  int r = ks_cli_table_open(&ct, "inspect", url, conf);
  if (r)
    return r;
  const ks_delta_snapshot *s = ks_delta_table_snapshot(ct.t);
  yajl_val schema = s->metadata.schema_string
                        ? ks_json_tree_parse(s->metadata.schema_string, KS_JSON_MAX_DEPTH, NULL, 0)
                        : NULL;
  if (json)
    print_json(ct.t, schema, files);
  else
    print_text(url, ct.t, schema);
  ks_json_tree_free(schema);
  ks_cli_table_close(&ct);
  return fflush(stdout) == 0 ? KS_EXIT_OK : KS_EXIT_FAILURE;
}
