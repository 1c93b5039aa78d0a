/*
 * The official JSON Schema Test Suite, draft-07, through the pipeline's
 * own streaming path: each schema loads with ks_schema_load_opts (remotes
 * mapped from http://localhost:1234/ to the suite's remotes/ directory)
 * and each instance goes through ks_schema_validate, the same decoder and
 * validator the pipeline runs. Prints passed/failed per file, the failing
 * cases, and totals for required tests (everything outside optional/),
 * optional/ and optional/format/. Exit 1 if a required test fails.
 *
 *   json_schema_suite <suite-dir> [-v]
 */
#include "stages/record/decode.h"
#include "jsonschema/compile_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

static void gen(yajl_gen g, yajl_val v) {
  switch (v->type) {
  case yajl_t_null:
    yajl_gen_null(g);
    break;
  case yajl_t_true:
  case yajl_t_false:
    yajl_gen_bool(g, v->type == yajl_t_true);
    break;
  case yajl_t_number:
    yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
    break;
  case yajl_t_string:
    yajl_gen_string(g, (const unsigned char *)v->u.string,
                    ks__jstr_len(v->u.string));
    break;
  case yajl_t_object:
    yajl_gen_map_open(g);
    for (size_t i = 0; i < v->u.object.len; i++) {
      const char *k = v->u.object.keys[i];
      yajl_gen_string(g, (const unsigned char *)k, ks__jstr_len(k));
      gen(g, v->u.object.values[i]);
    }
    yajl_gen_map_close(g);
    break;
  default:
    yajl_gen_array_open(g);
    for (size_t i = 0; i < v->u.array.len; i++)
      gen(g, v->u.array.values[i]);
    yajl_gen_array_close(g);
  }
}

/* JSON text of v into out (malloc'd). */
static char *to_text(yajl_val v, size_t *len) {
  yajl_gen g = yajl_gen_alloc(NULL);
  gen(g, v);
  const unsigned char *buf;
  size_t n;
  yajl_gen_get_buf(g, &buf, &n);
  char *out = malloc(n + 1);
  memcpy(out, buf, n);
  out[n] = 0;
  *len = n;
  yajl_gen_free(g);
  return out;
}

static yajl_val get(yajl_val o, const char *k) {
  for (size_t i = 0; o && i < o->u.object.len; i++)
    if (strcmp(o->u.object.keys[i], k) == 0)
      return o->u.object.values[i];
  return NULL;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  *len = fread(b, 1, (size_t)n, f);
  b[*len] = 0;
  fclose(f);
  return b;
}

typedef struct tally {
  int passed, failed;
} tally;

static int verbose;

static void run_file(const char *suite, const char *rel, tally *t) {
  char path[4096], remotes[4096];
  snprintf(path, sizeof path, "%s/tests/draft7/%s", suite, rel);
  snprintf(remotes, sizeof remotes, "%s/remotes", suite);
  size_t len;
  char *text = slurp(path, &len);
  char err[1024];
  yajl_val doc = text ? ks__jtree_parse(text, len, err, sizeof err) : NULL;
  free(text);
  if (doc == NULL) {
    printf("%s: cannot read\n", rel);
    t->failed++;
    return;
  }
  ks_schema_opts o = {.table = 0,
                      .format_assertion = 1,
                      .remote_dir = remotes,
                      .remote_base = "http://localhost:1234/"};
  int passed = 0, failed = 0;
  for (size_t g = 0; g < doc->u.array.len; g++) {
    yajl_val group = doc->u.array.values[g];
    size_t slen;
    char *stext = to_text(get(group, "schema"), &slen);
    ks_schema *s = NULL;
    err[0] = 0;
    int lr = ks_schema_load_opts(stext, slen, "suite", &o, &s, err, sizeof err);
    yajl_val tests = get(group, "tests");
    for (size_t k = 0; k < tests->u.array.len; k++) {
      yajl_val tc = tests->u.array.values[k];
      int want = get(tc, "valid")->type == yajl_t_true;
      size_t dlen;
      char *dtext = to_text(get(tc, "data"), &dlen);
      ks_reject rej;
      int got = lr == 0 &&
                ks_schema_validate(s, (const uint8_t *)dtext, dlen, &rej) == 0;
      if (lr == 0 && got == want) {
        passed++;
      } else {
        failed++;
        printf("  FAIL %s | %s | %s: expected %s, %s\n", rel,
               get(group, "description")->u.string,
               get(tc, "description")->u.string, want ? "valid" : "invalid",
               lr    ? err
               : got ? "got valid"
                     : rej.message);
        if (verbose)
          printf("    schema %s\n    data %s\n", stext, dtext);
      }
      free(dtext);
    }
    ks_schema_free(s);
    free(stext);
  }
  ks__jtree_free(doc);
  printf("%s: %d passed, %d failed\n", rel, passed, failed);
  t->passed += passed;
  t->failed += failed;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *suite, const char *sub, tally *t) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tests/draft7%s%s", suite, *sub ? "/" : "", sub);
  DIR *d = opendir(dir);
  if (d == NULL) {
    printf("%s: cannot open\n", dir);
    t->failed++;
    return;
  }
  char *names[512];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    size_t l = strlen(e->d_name);
    if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  for (size_t i = 0; i < n; i++) {
    char rel[1024];
    snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", names[i]);
    run_file(suite, rel, t);
    free(names[i]);
  }
}

#define KS_SKIP 77

static int has_draft7(const char *suite) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tests/draft7", suite);
  DIR *d = opendir(dir);
  if (d)
    closedir(d);
  return d != NULL;
}

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    verbose = 1;
    first = 2;
  }
  const char *env = getenv("KS_JSON_SCHEMA_SUITE");
  const char *suite = NULL;
  if (env && *env) {
    if (!has_draft7(env)) {
      /* Named on purpose: a wrong path is an error, not a skip. */
      printf("KS_JSON_SCHEMA_SUITE=%s has no tests/draft7\n", env);
      return 1;
    }
    suite = env;
  }
  for (int i = first; suite == NULL && i < argc; i++)
    if (has_draft7(argv[i]))
      suite = argv[i];
  if (suite == NULL) {
    printf("SKIPPED: the JSON Schema Test Suite is not here (looked for "
           "tests/draft7 under:");
    for (int i = first; i < argc; i++)
      printf(" %s", argv[i]);
    printf("); run scripts/fetch-testdata.sh or set KS_JSON_SCHEMA_SUITE "
           "to a checkout of json-schema-org/JSON-Schema-Test-Suite\n");
    return KS_SKIP;
  }
  printf("suite: %s\n", suite);
  tally req = {0, 0}, opt = {0, 0}, fmt = {0, 0};
  run_dir(suite, "", &req);
  run_dir(suite, "optional", &opt);
  run_dir(suite, "optional/format", &fmt);
  printf("optional: %d passed, %d failed\n", opt.passed, opt.failed);
  printf("optional/format: %d passed, %d failed\n", fmt.passed, fmt.failed);
  printf("required: %d passed, %d failed\n", req.passed, req.failed);
  printf("%d passed, %d failed\n", req.passed, req.failed);
  return req.failed ? 1 : 0;
}
