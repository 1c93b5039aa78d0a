#include "stages/table/cuts.h"
#include "base/jsontext.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define CUT_MAX_BYTES ((size_t)1 << 20)
#define CUT_MAX_FILES 10000
#define CUT_MAX_DEPTH 4
/* Without a known stored offset, only the newest cuts can still miss
 * files: a writer claims its cuts in order and each one's files are
 * stored while at most a few later ones are claimed. */
#define CUT_CHECK_NEWEST 64

void ks_cut_prefix(ks_buf *b, const char *table_path, const char *topic,
                   int32_t part) {
  ks_buf_appendf(b, "%s/_ksink/%s+%d/", table_path, topic, (int)part);
}

void ks_cut_key(ks_buf *b, const char *table_path, const char *topic,
                int32_t part, int64_t first) {
  ks_cut_prefix(b, table_path, topic, part);
  ks_buf_appendf(b, "%020" PRId64 ".json", first);
  ks_buf_cstr(b);
}

void ks_cut_json(ks_buf *b, const ks_cut *c) {
  ks_buf_appendf(b, "{\"first\":%" PRId64 ",\"last\":%" PRId64 ",\"files\":[",
                 c->first, c->last);
  for (size_t i = 0; i < c->nfiles; i++) {
    if (i)
      ks_buf_append_byte(b, ',');
    ks_buf_append_json_str(b, c->files[i], strlen(c->files[i]));
  }
  ks_buf_append_str(b, "],\"reason\":");
  ks_buf_append_json_str(b, c->reason ? c->reason : "",
                         c->reason ? strlen(c->reason) : 0);
  ks_buf_append_str(b, ",\"writer\":");
  ks_buf_append_json_str(b, c->writer ? c->writer : "",
                         c->writer ? strlen(c->writer) : 0);
  ks_buf_append_str(b, "}\n");
}

void ks_cut_clear(ks_cut *c) {
  for (size_t i = 0; i < c->nfiles; i++)
    ks_free(c->files[i]);
  ks_free(c->files);
  ks_free(c->reason);
  ks_free(c->writer);
  memset(c, 0, sizeof *c);
}


static int get_i64(yajl_val o, const char *name, int64_t *out) {
  const char *path[] = {name, NULL};
  yajl_val v = yajl_tree_get(o, path, yajl_t_number);
  if (v == NULL || !YAJL_IS_INTEGER(v))
    return KS_EPARSE;
  *out = YAJL_GET_INTEGER(v);
  return 0;
}

static char *get_str(yajl_val o, const char *name) {
  const char *path[] = {name, NULL};
  yajl_val v = yajl_tree_get(o, path, yajl_t_string);
  return v ? ks_strdup(YAJL_GET_STRING(v)) : NULL;
}

int ks_cut_parse(const uint8_t *data, size_t len, ks_cut *out) {
  memset(out, 0, sizeof *out);
  if (len == 0 || len > CUT_MAX_BYTES ||
      ks_json_too_deep(data, len, CUT_MAX_DEPTH))
    return KS_EPARSE;
  char *text = ks_malloc(len + 1);
  memcpy(text, data, len);
  text[len] = 0;
  yajl_val o = yajl_tree_parse(text, NULL, 0);
  ks_free(text);
  if (o == NULL || !YAJL_IS_OBJECT(o)) {
    yajl_tree_free(o);
    return KS_EPARSE;
  }
  int r = get_i64(o, "first", &out->first);
  if (r == 0)
    r = get_i64(o, "last", &out->last);
  const char *fpath[] = {"files", NULL};
  yajl_val files = yajl_tree_get(o, fpath, yajl_t_array);
  if (r == 0 && (files == NULL || files->u.array.len > CUT_MAX_FILES ||
                 out->first < 0 || out->last < out->first))
    r = KS_EPARSE;
  if (r == 0) {
    size_t n = files->u.array.len;
    out->files = ks_calloc(n ? n : 1, sizeof *out->files);
    for (size_t i = 0; r == 0 && i < n; i++) {
      yajl_val f = files->u.array.values[i];
      if (!YAJL_IS_STRING(f))
        r = KS_EPARSE;
      else
        out->files[out->nfiles++] = ks_strdup(YAJL_GET_STRING(f));
    }
    out->reason = get_str(o, "reason");
    out->writer = get_str(o, "writer");
  }
  yajl_tree_free(o);
  if (r)
    ks_cut_clear(out);
  return r;
}

int ks_cut_same(const ks_cut *recorded, int64_t first, int64_t last,
                int64_t forced_to) {
  return recorded->first == first &&
         (recorded->last == last || recorded->last == forced_to);
}

/* ---- resume, on a private loop ------------------------------------------ */

typedef struct op_wait {
  int done, status;
  ks_buf data;         /* get */
  ks_storage_obj *objs; /* list: keys copied */
  size_t n;
} op_wait;

static void on_got(void *arg, int status, const uint8_t *data, size_t len) {
  op_wait *w = arg;
  w->done = 1;
  w->status = status;
  if (status == 0)
    ks_buf_append(&w->data, data, len);
}

static void on_listed(void *arg, int status, const ks_storage_obj *objs,
                      size_t n) {
  op_wait *w = arg;
  w->done = 1;
  w->status = status;
  if (status)
    return;
  w->objs = ks_calloc(n ? n : 1, sizeof *w->objs);
  for (size_t i = 0; i < n; i++) {
    w->objs[i] = objs[i];
    w->objs[i].key = ks_strdup(objs[i].key);
  }
  w->n = n;
}

static void op_free(op_wait *w) {
  ks_buf_free(&w->data);
  for (size_t i = 0; i < w->n; i++)
    ks_free((char *)w->objs[i].key);
  ks_free(w->objs);
}

static int run_list(uv_loop_t *loop, ks_storage *st, const char *prefix,
                    op_wait *w) {
  memset(w, 0, sizeof *w);
  ks_buf_init(&w->data, 0);
  int r = st->vt->list(st, prefix, on_listed, w);
  if (r == 0)
    uv_run(loop, UV_RUN_DEFAULT);
  return r ? r : w->done ? w->status : KS_EIO;
}

static int run_get(uv_loop_t *loop, ks_storage *st, const char *key,
                   op_wait *w) {
  memset(w, 0, sizeof *w);
  ks_buf_init(&w->data, CUT_MAX_BYTES);
  int r = ks_storage_get(st, key, on_got, w);
  if (r == 0)
    uv_run(loop, UV_RUN_DEFAULT);
  return r ? r : w->done ? w->status : KS_EIO;
}

/* Whether every file of c is stored under the table. */
static int cut_complete(uv_loop_t *loop, ks_storage *st, const char *path,
                        const ks_cut *c, int *complete) {
  *complete = 1;
  for (size_t i = 0; i < c->nfiles && *complete; i++) {
    ks_buf key;
    ks_buf_init(&key, 0);
    ks_buf_appendf(&key, "%s/%s", path, c->files[i]);
    ks_buf_cstr(&key);
    op_wait w;
    int r = run_list(loop, st, (char *)key.data, &w);
    int found = 0;
    for (size_t j = 0; r == 0 && j < w.n; j++)
      found |= strcmp(w.objs[j].key, (char *)key.data) == 0;
    op_free(&w);
    ks_buf_free(&key);
    if (r)
      return r;
    *complete = found;
  }
  return 0;
}

/* The first offset a marker's key names, or -1. */
static int64_t key_first(const char *key, size_t prefix_len) {
  const char *s = key + prefix_len;
  size_t n = strlen(s);
  if (n != 25 || strcmp(s + 20, ".json") != 0)
    return -1;
  int64_t v = 0;
  for (int i = 0; i < 20; i++) {
    if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

typedef struct resume_job {
  const char *path, *topic;
  int32_t part;
  int64_t done;
  ks_cut_resume *out;
  char *err;
  size_t errlen;
} resume_job;

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int read_cut(uv_loop_t *loop, ks_storage *st, const resume_job *j,
                    int64_t first, ks_cut *c) {
  ks_buf key;
  ks_buf_init(&key, 0);
  ks_cut_key(&key, j->path, j->topic, j->part, first);
  op_wait w;
  int r = run_get(loop, st, (char *)key.data, &w);
  if (r == 0 && ks_cut_parse(w.data.data, w.data.len, c) != 0) {
    snprintf(j->err, j->errlen, "%s: not a recorded cut (a foreign object "
             "under the table's _ksink/ prefix)", (char *)key.data);
    r = KS_EPARSE;
  } else if (r) {
    snprintf(j->err, j->errlen, "%s: %s", (char *)key.data, ks_strerror(r));
  }
  op_free(&w);
  ks_buf_free(&key);
  return r;
}

static int resume_on(uv_loop_t *loop, ks_storage *st, void *arg) {
  resume_job *j = arg;
  j->out->offset = j->out->cut_at = -1;
  ks_buf prefix;
  ks_buf_init(&prefix, 0);
  ks_cut_prefix(&prefix, j->path, j->topic, j->part);
  ks_buf_cstr(&prefix);
  op_wait w;
  int r = run_list(loop, st, (char *)prefix.data, &w);
  if (r)
    snprintf(j->err, j->errlen, "listing %s: %s", (char *)prefix.data,
             ks_strerror(r));
  int64_t *firsts = ks_calloc(w.n ? w.n : 1, sizeof *firsts);
  size_t n = 0;
  for (size_t i = 0; r == 0 && i < w.n; i++) {
    int64_t f = key_first(w.objs[i].key, prefix.len);
    if (f >= 0)
      firsts[n++] = f;
  }
  op_free(&w);
  ks_buf_free(&prefix);
  qsort(firsts, n, sizeof *firsts, cmp_i64);
  /* the cuts to look at: from the one that holds `done` on, or the
   * newest ones when nothing is known */
  size_t from = n > CUT_CHECK_NEWEST ? n - CUT_CHECK_NEWEST : 0;
  if (j->done >= 0) {
    from = 0;
    while (from + 1 < n && firsts[from + 1] <= j->done)
      from++;
  }
  for (size_t i = from; r == 0 && i < n; i++) {
    ks_cut c;
    if ((r = read_cut(loop, st, j, firsts[i], &c)) != 0)
      break;
    int complete = 1;
    if (j->done < 0 || c.last >= j->done)
      r = cut_complete(loop, st, j->path, &c, &complete);
    if (r)
      snprintf(j->err, j->errlen, "checking the files of %s+%d's cut at "
               "%" PRId64 ": %s", j->topic, (int)j->part, c.first,
               ks_strerror(r));
    if (r == 0 && !complete) {
      ks_log_info("%s+%d: the cut [%" PRId64 ", %" PRId64 "] misses files: "
                  "reading it again", j->topic, (int)j->part, c.first, c.last);
      j->out->offset = c.first;
      j->out->cut_at = c.last;
      ks_cut_clear(&c);
      break;
    }
    if (r == 0 && i + 1 == n)
      j->out->offset = c.last + 1 > j->done ? c.last + 1 : j->done;
    ks_cut_clear(&c);
  }
  ks_free(firsts);
  return r;
}

int ks_cuts_resume(const ks_conf *conf, const char *table_path,
                   const char *topic, int32_t part, int64_t done,
                   ks_cut_resume *out, char *err, size_t errlen) {
  resume_job j = {table_path, topic, part, done, out, err, errlen};
  return ks_storage_run_private(conf->storage_url, &conf->s3, resume_on, &j,
                                err, errlen);
}
