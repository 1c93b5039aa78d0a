/*
 * Loading a table-mapped schema (schema.h): the engine compiles the
 * document, then, for a table, columns.c maps its root to columns.
 */
#include "stages/record/schema.h"
#include "stages/record/shred.h"

static const ks_schema_opts default_opts = {.table = 1, .format_assertion = 1};

/* Wraps a compiled schema (taken) and maps it when o asks. */
static int wrap(ks_js_schema *js, const ks_schema_opts *o, ks_schema **out,
                char *err, size_t errlen) {
  ks_schema *s = ks_calloc(1, sizeof *s);
  s->js = js;
  s->allow_no_columns = o->allow_no_columns;
  int r = o->table ? ks__map_columns(s, err, errlen) : 0;
  if (r) {
    ks_schema_free(s);
    return r;
  }
  *out = s;
  return 0;
}

static ks_js_opts js_opts(const ks_schema_opts *o) {
  return (ks_js_opts){.format_assertion = o->format_assertion,
                      .remote_dir = o->remote_dir,
                      .remote_base = o->remote_base};
}

int ks_schema_load_opts(const char *json, size_t len, const char *name,
                        const ks_schema_opts *o, ks_schema **out, char *err,
                        size_t errlen) {
  *out = NULL;
  if (o == NULL)
    o = &default_opts;
  ks_js_opts jo = js_opts(o);
  ks_js_schema *js;
  int r = ks_js_compile(json, len, name, &jo, &js, err, errlen);
  return r ? r : wrap(js, o, out, err, errlen);
}

int ks_schema_load_string(const char *json, size_t len, const char *name,
                          ks_schema **out, char *err, size_t errlen) {
  return ks_schema_load_opts(json, len, name, NULL, out, err, errlen);
}

int ks_schema_load_file_opts(const char *path, const ks_schema_opts *o,
                             ks_schema **out, char *err, size_t errlen) {
  *out = NULL;
  if (o == NULL)
    o = &default_opts;
  ks_js_opts jo = js_opts(o);
  ks_js_schema *js;
  int r = ks_js_compile_file(path, &jo, &js, err, errlen);
  return r ? r : wrap(js, o, out, err, errlen);
}

int ks_schema_load_file(const char *path, ks_schema **out, char *err,
                        size_t errlen) {
  return ks_schema_load_file_opts(path, NULL, out, err, errlen);
}

void ks_schema_free(ks_schema *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->ncols; i++)
    ks_free(s->cols[i].name);
  ks_free(s->cols);
  ks__checks_free(s->checks);
  for (size_t i = 0; i < s->nshnodes; i++) {
    ks_free(s->shnodes[i]->name);
    ks_free(s->shnodes[i]->prop_kid);
    ks_free(s->shnodes[i]->kids);
    ks_free(s->shnodes[i]);
  }
  ks_free(s->shnodes);
  ks_pq_schema_free(s->pq);
  ks_js_free(s->js);
  ks_free(s);
}

const ks_js_schema *ks_schema_js(const ks_schema *s) {
  return s->js;
}

size_t ks_schema_ncolumns(const ks_schema *s) {
  return s->ncols;
}

const ks_colspec *ks_schema_columns(const ks_schema *s) {
  return s->cols;
}

const ks_pq_schema *ks_schema_tree(const ks_schema *s) {
  return s->pq;
}
