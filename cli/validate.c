/*
 * ksink validate --schema FILE [--remote-dir DIR --remote-base URI]
 *                [--format-assertion on|off] [FILE.jsonl | -]
 *                [--value-format json|json_schema|avro
 *                 --schema-registry URL[,URL...]]
 *
 * Checks records, one JSON text per line, with the pipeline's own
 * streaming validator (a validate-only decoder: no columns, no allocation
 * per line). stdout gets exactly one verdict per input line, `ok` or
 * `invalid <json-pointer> <keyword>: <message>`, control characters escaped
 * as in JSON strings; the summary goes to stderr. Exit 0 all valid, 1 any
 * invalid, 2 bad usage or a schema that cannot be loaded (CLI.md).
 */
#include "base/ks.h"
#include "cli/cli.h"
#include "cli/validate_wire.h"
#include "stages/record/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ksink validate --schema FILE [--remote-dir DIR --remote-base URI]"
    "\n                      [--format-assertion on|off] [FILE.jsonl | -]\n"
    "                      [--value-format json|json_schema|avro\n"
    "                       --schema-registry URL[,URL...]]\n"
    "\n"
    "Validates JSON lines (stdin without a file or with -) against a JSON\n"
    "Schema (draft-07) with the pipeline's validator; one line out per line\n"
    "in: ok, or invalid <json-pointer> <message>. Exit 0 all valid, 1 some\n"
    "invalid, 2 the schema does not load.\n"
    "\n"
    "  --schema FILE              the JSON Schema (required)\n"
    "  --remote-dir DIR           resolve a $ref to a URI under --remote-base\n"
    "  --remote-base URI          to the file at the same path under DIR\n"
    "  --format-assertion on|off  check \"format\" (default on)\n"
    "  --value-format F           json (default): JSON lines; json_schema or\n"
    "                             avro: one record value per line in base64,\n"
    "                             as a Schema Registry serializer wrote it\n"
    "                             (magic byte 0, schema id, payload); then\n"
    "                             --schema is optional (the table's schema)\n"
    "  --schema-registry URLS     the registry (comma-separated: tried in\n"
    "                             turn); credentials from SR_BASIC_AUTH_USER_INFO\n"
    "                             (user:password) or SR_BEARER_TOKEN\n"
    "  -h, --help                 this help\n";

/* Writes s with control characters escaped as in JSON strings. */
static void put_escaped(FILE *out, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '\n':
      fputs("\\n", out);
      break;
    case '\r':
      fputs("\\r", out);
      break;
    case '\t':
      fputs("\\t", out);
      break;
    case '\b':
      fputs("\\b", out);
      break;
    case '\f':
      fputs("\\f", out);
      break;
    default:
      if (c < 0x20 || c == 0x7f)
        fprintf(out, "\\u%04x", c);
      else
        fputc(c, out);
    }
  }
}

static void verdict(FILE *out, const ks_reject *rej) {
  fputs("invalid ", out);
  put_escaped(out, rej->path);
  fputc(' ', out);
  /* the message repeats the path ("<path>: text"): print the text once */
  const char *text = rej->message;
  size_t pl = strlen(rej->path);
  if (strncmp(text, rej->path, pl) == 0 && strncmp(text + pl, ": ", 2) == 0)
    text += pl + 2;
  if (rej->keyword != KS_KEYWORD_NONE) {
    put_escaped(out, ks_keyword_name(rej->keyword));
    fputs(": ", out);
  }
  put_escaped(out, text);
  fputc('\n', out);
}

/* --value-format json_schema|avro: base64 record values, schemas from the
 * registry (validate_wire.c); --schema, when given, is the table's. */
static int validate_wire(ks_value_format vf, const char *registry,
                         const char *schema_path, const ks_schema_opts *so,
                         const char *input) {
  char *urls_text = ks_strdup(registry), *save = NULL;
  const char *urls[16];
  size_t nurls = 0;
  for (char *t = strtok_r(urls_text, ",", &save); t && nurls < 16;
       t = strtok_r(NULL, ",", &save))
    urls[nurls++] = t;
  ks_schema *table = NULL;
  char err[1024] = "";
  ks_schema_opts to = *so;
  to.table = 1;
  if (schema_path && ks_schema_load_file_opts(schema_path, &to, &table, err,
                                              sizeof err)) {
    fprintf(stderr, "ksink validate: %s\n", err);
    ks_free(urls_text);
    return KS_EXIT_USAGE;
  }
  ks_validate_wire_opts o = {
      .format = vf,
      .urls = urls,
      .nurls = nurls,
      .basic_auth_user_info = getenv("SR_BASIC_AUTH_USER_INFO"),
      .bearer_token = getenv("SR_BEARER_TOKEN"),
      .table = table};
  FILE *in = stdin;
  if (input && strcmp(input, "-") != 0 && (in = fopen(input, "rb")) == NULL) {
    fprintf(stderr, "ksink validate: %s: cannot open\n", input);
    ks_schema_free(table);
    ks_free(urls_text);
    return KS_EXIT_USAGE;
  }
  ks_validate_wire *w = ks_validate_wire_new(&o);
  char *line = NULL;
  size_t cap = 0, nok = 0, nbad = 0;
  ssize_t n;
  int rc = KS_EXIT_OK;
  while ((n = getline(&line, &cap, in)) >= 0) {
    size_t len = (size_t)n;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      len--;
    ks_reject rej;
    int r = ks_validate_wire_line(w, (uint8_t *)line, len, &rej);
    if (r == 0) {
      fputs("ok\n", stdout);
      nok++;
    } else if (r == KS_EINVALID || r == KS_EPARSE || r == KS_ETOOBIG) {
      verdict(stdout, &rej);
      nbad++;
    } else {
      rc = KS_EXIT_FAILURE; /* the registry: a verdict cannot be given */
      break;
    }
  }
  free(line);
  if (in != stdin)
    fclose(in);
  ks_validate_wire_free(w);
  ks_schema_free(table);
  ks_free(urls_text);
  fflush(stdout);
  fprintf(stderr, "ksink validate: %zu lines, %zu valid, %zu invalid\n",
          nok + nbad, nok, nbad);
  return rc ? rc : nbad ? KS_EXIT_FAILURE : KS_EXIT_OK;
}

int ks_cli_validate(int argc, char **argv) {
  const char *schema_path = NULL, *input = NULL, *registry = NULL;
  ks_value_format vf = KS_VALUE_JSON;
  ks_schema_opts o = {.table = 0, .format_assertion = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return KS_EXIT_OK;
    } else if (strcmp(a, "--schema") == 0 && next) {
      schema_path = argv[++i];
    } else if (strcmp(a, "--remote-dir") == 0 && next) {
      o.remote_dir = argv[++i];
    } else if (strcmp(a, "--remote-base") == 0 && next) {
      o.remote_base = argv[++i];
    } else if (strcmp(a, "--format-assertion") == 0 && next &&
               (strcmp(next, "on") == 0 || strcmp(next, "off") == 0)) {
      o.format_assertion = strcmp(argv[++i], "on") == 0;
    } else if (strcmp(a, "--value-format") == 0 && next) {
      i++;
      if (strcmp(next, "json") == 0)
        vf = KS_VALUE_JSON;
      else if (strcmp(next, "json_schema") == 0)
        vf = KS_VALUE_JSON_SCHEMA;
      else if (strcmp(next, "avro") == 0)
        vf = KS_VALUE_AVRO;
      else {
        fprintf(stderr, "ksink validate: --value-format: expected json, "
                        "json_schema or avro, got \"%s\"\n", next);
        return KS_EXIT_USAGE;
      }
    } else if (strcmp(a, "--schema-registry") == 0 && next) {
      registry = argv[++i];
    } else if ((a[0] != '-' || strcmp(a, "-") == 0) && input == NULL) {
      input = a;
    } else {
      fprintf(stderr, "ksink validate: unexpected argument \"%s\"\n%s", a,
              usage);
      return KS_EXIT_USAGE;
    }
  }
  if (vf != KS_VALUE_JSON) {
    if (registry == NULL) {
      fprintf(stderr, "ksink validate: --value-format %s needs "
                      "--schema-registry URL\n%s",
              vf == KS_VALUE_AVRO ? "avro" : "json_schema", usage);
      return KS_EXIT_USAGE;
    }
    return validate_wire(vf, registry, schema_path, &o, input);
  }
  if (schema_path == NULL) {
    fprintf(stderr, "ksink validate: --schema FILE is required\n%s", usage);
    return KS_EXIT_USAGE;
  }
  if ((o.remote_dir == NULL) != (o.remote_base == NULL)) {
    fprintf(stderr, "ksink validate: --remote-dir and --remote-base go "
                    "together\n");
    return KS_EXIT_USAGE;
  }
  ks_schema *s = NULL;
  char err[1024] = "";
  if (ks_schema_load_file_opts(schema_path, &o, &s, err, sizeof err)) {
    fprintf(stderr, "ksink validate: %s\n", err);
    return KS_EXIT_USAGE;
  }
  FILE *in = stdin;
  if (input && strcmp(input, "-") != 0 && (in = fopen(input, "rb")) == NULL) {
    fprintf(stderr, "ksink validate: %s: cannot open\n", input);
    ks_schema_free(s);
    return KS_EXIT_USAGE;
  }
  ks_decoder *d = ks_decoder_new(s, NULL, 0);
  char *line = NULL;
  size_t cap = 0, nok = 0, nbad = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, in)) >= 0) {
    size_t len = (size_t)n;
    if (len && line[len - 1] == '\n')
      len--;
    if (len && line[len - 1] == '\r')
      len--;
    ks_reject rej;
    if (ks_decoder_feed(d, (const uint8_t *)line, len, &rej) == 0) {
      fputs("ok\n", stdout);
      nok++;
    } else {
      verdict(stdout, &rej);
      nbad++;
    }
  }
  free(line);
  if (in != stdin)
    fclose(in);
  ks_decoder_free(d);
  ks_schema_free(s);
  fflush(stdout);
  fprintf(stderr, "ksink validate: %zu lines, %zu valid, %zu invalid\n",
          nok + nbad, nok, nbad);
  return nbad ? KS_EXIT_FAILURE : KS_EXIT_OK;
}
