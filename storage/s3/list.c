/*
 * Listing: ListObjectsV2 page by page (continuation tokens) into one
 * sorted array of keys relative to the storage root, as the storage
 * interface promises; and ListMultipartUploads (optionally aborting what
 * it finds), which tests and operators use to prove nothing was left
 * behind; the stale-upload sweep is the same listing keeping only the
 * uploads initiated before a cut-off.
 */
#include "storage/s3/s3_int.h"

#include "base/log.h"

#include <stdlib.h>
#include <string.h>

typedef struct list_ctx {
  char *prefix; /* full, with the root prefix */
  char *token;
  ks_storage_obj *objs;
  size_t n, cap;
} list_ctx;

static void list_ctx_free(list_ctx *c) {
  for (size_t i = 0; i < c->n; i++)
    ks_free((char *)c->objs[i].key);
  ks_free(c->objs);
  ks_free(c->prefix);
  ks_free(c->token);
  ks_free(c);
}

static void clear_query(ks__s3_req *r) {
  for (size_t i = 0; i < r->nq; i++) {
    ks_free((char *)r->q[i].name);
    ks_free((char *)r->q[i].value);
  }
  r->nq = 0;
}

static int cmp_obj(const void *a, const void *b) {
  return strcmp(((const ks_storage_obj *)a)->key,
                ((const ks_storage_obj *)b)->key);
}

static void list_page(ks__s3_req *r);

/* Parses one page; 1 if another follows, 0 if done, <0 on a bad answer. */
static int parse_page(ks__s3_req *r, list_ctx *c) {
  const char *s = (const char *)r->resp.data, *end = s + r->resp.len;
  const char *cur = s, *v;
  size_t vl;
  if (r->resp.len == 0 || memmem(s, r->resp.len, "<ListBucketResult", 17) ==
                              NULL)
    return KS_EIO;
  while (ks__xml_next(&cur, end, "Contents", &v, &vl) == 0) {
    const char *kv, *inner = v;
    size_t kl;
    if (ks__xml_next(&inner, v + vl, "Key", &kv, &kl))
      return KS_EIO;
    char *full = ks__xml_unescape(kv, kl);
    size_t rl;
    const char *rel = ks__s3_rel_key(r->s3, full, strlen(full), &rl);
    char num[64] = "", when[64] = "";
    ks__xml_get(v, vl, "Size", num, sizeof num);
    ks__xml_get(v, vl, "LastModified", when, sizeof when);
    if (c->n == c->cap) {
      c->cap = c->cap ? c->cap * 2 : 64;
      c->objs = ks_realloc(c->objs, c->cap * sizeof *c->objs);
    }
    c->objs[c->n++] = (ks_storage_obj){ks_strndup(rel, rl),
                                       strtoull(num, NULL, 10),
                                       ks__s3_parse_time(when)};
    ks_free(full);
  }
  char trunc[16] = "";
  ks__xml_get(s, r->resp.len, "IsTruncated", trunc, sizeof trunc);
  if (strcmp(trunc, "true") != 0)
    return 0;
  char tok[2048];
  if (ks__xml_get(s, r->resp.len, "NextContinuationToken", tok, sizeof tok))
    return KS_EIO;
  ks_free(c->token);
  c->token = ks_strdup(tok);
  return 1;
}

static void on_list_page(ks__s3_req *r) {
  list_ctx *c = r->ctx;
  int more = r->status ? r->status : parse_page(r, c);
  if (more == 1) {
    ks__s3_req_reuse(r, KS_S3_OP_LIST, "GET");
    list_page(r);
    return;
  }
  ks_storage_list_cb cb = r->cb.list;
  void *arg = r->arg;
  ks__s3_req_free(r);
  if (more < 0) {
    cb(arg, more, NULL, 0);
  } else {
    /* S3 lists in UTF-8 binary order already; sort anyway so the promise
     * holds for servers that do not. */
    if (c->n)
      qsort(c->objs, c->n, sizeof *c->objs, cmp_obj);
    cb(arg, 0, c->objs, c->n);
  }
  list_ctx_free(c);
}

static void list_page(ks__s3_req *r) {
  list_ctx *c = r->ctx;
  clear_query(r);
  ks__s3_req_query(r, "list-type", "2");
  ks__s3_req_query(r, "prefix", c->prefix);
  if (c->token)
    ks__s3_req_query(r, "continuation-token", c->token);
  ks__s3_req_submit(r);
}

int ks__s3_list(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
                void *arg) {
  if (prefix == NULL || prefix[0] == '/' || cb == NULL)
    return KS_EINVAL;
  ks__s3 *s3 = (ks__s3 *)s;
  list_ctx *c = ks_calloc(1, sizeof *c);
  size_t n = strlen(s3->prefix) + strlen(prefix) + 1;
  c->prefix = ks_malloc(n);
  snprintf(c->prefix, n, "%s%s", s3->prefix, prefix);
  ks__s3_req *r = ks__s3_req_new(s3, KS_S3_OP_LIST, "GET", NULL, 0);
  r->ctx = c;
  r->cb.list = cb;
  r->arg = arg;
  r->done = on_list_page;
  list_page(r);
  return 0;
}

/* ---- ListMultipartUploads ------------------------------------------------- */

typedef struct uploads_ctx {
  char *prefix;
  char *key_marker, *id_marker;
  char **keys, **ids; /* to abort */
  int64_t *ages_ms;   /* sweep: how old each one is */
  size_t n, cap, aborted, seen;
  int abort_them;
  int64_t older_than_ms; /* sweep: keep only these; -1: every upload */
  int64_t now_ms;
} uploads_ctx;

static void uploads_free(uploads_ctx *c) {
  for (size_t i = 0; i < c->n; i++) {
    ks_free(c->keys[i]);
    ks_free(c->ids[i]);
  }
  ks_free(c->keys);
  ks_free(c->ids);
  ks_free(c->ages_ms);
  ks_free(c->prefix);
  ks_free(c->key_marker);
  ks_free(c->id_marker);
  ks_free(c);
}

static void uploads_page(ks__s3_req *r);
static void abort_next(ks__s3_req *r);

static void uploads_finish(ks__s3_req *r, int status) {
  uploads_ctx *c = r->ctx;
  void *arg = r->arg;
  size_t n = c->n, aborted = c->aborted;
  int sweep = c->older_than_ms >= 0;
  ks_s3_count_cb cb = r->cb.count;
  ks_storage_sweep_cb scb = r->cb.sweep;
  ks__s3_req_free(r);
  uploads_free(c);
  if (sweep)
    scb(arg, status, aborted, n - aborted);
  else
    cb(arg, status, n);
}

static void on_abort_one(ks__s3_req *r) {
  uploads_ctx *c = r->ctx;
  if (r->status && r->status != KS_ENOENT) {
    uploads_finish(r, r->status);
    return;
  }
  if (c->older_than_ms >= 0)
    ks_log_info("storage: aborted stale multipart upload s3://%s/%s "
                "(upload id %s, started %llds ago)", r->s3->bucket,
                c->keys[c->aborted], c->ids[c->aborted],
                (long long)(c->ages_ms[c->aborted] / 1000));
  c->aborted++;
  abort_next(r);
}

static void abort_next(ks__s3_req *r) {
  uploads_ctx *c = r->ctx;
  if (c->aborted == c->n) {
    uploads_finish(r, 0);
    return;
  }
  ks__s3 *s3 = r->s3;
  ks__s3_req *a = ks__s3_req_new(s3, KS_S3_OP_ABORT_UPLOAD, "DELETE",
                                 c->keys[c->aborted], 0);
  ks__s3_req_query(a, "uploadId", c->ids[c->aborted]);
  /* The list request carries the callback; the abort borrows its ctx. */
  a->ctx = c;
  a->cb = r->cb;
  a->arg = r->arg;
  a->done = on_abort_one;
  r->ctx = NULL;
  ks__s3_req_free(r);
  ks__s3_req_submit(a);
}

static void on_uploads_page(ks__s3_req *r) {
  uploads_ctx *c = r->ctx;
  if (r->status) {
    uploads_finish(r, r->status);
    return;
  }
  const char *s = (const char *)r->resp.data, *end = s + r->resp.len;
  const char *cur = s, *v;
  size_t vl;
  while (ks__xml_next(&cur, end, "Upload", &v, &vl) == 0) {
    char key[2048] = "", id[1024] = "", when[64] = "";
    ks__xml_get(v, vl, "Key", key, sizeof key);
    ks__xml_get(v, vl, "UploadId", id, sizeof id);
    ks__xml_get(v, vl, "Initiated", when, sizeof when);
    c->seen++;
    /* An unparsable date reads as the epoch, i.e. stale: S3 always sends
     * one, and a sweep that never aborts would be the worse failure. */
    /* the store's clock when it answered: an upload's age does not
     * depend on this host's clock being right */
    int64_t now = r->date_ms > 0 ? r->date_ms : c->now_ms;
    int64_t age = now - ks__s3_parse_time(when);
    if (c->older_than_ms >= 0 && age < c->older_than_ms)
      continue;
    if (c->n == c->cap) {
      c->cap = c->cap ? c->cap * 2 : 16;
      c->keys = ks_realloc(c->keys, c->cap * sizeof *c->keys);
      c->ids = ks_realloc(c->ids, c->cap * sizeof *c->ids);
      c->ages_ms = ks_realloc(c->ages_ms, c->cap * sizeof *c->ages_ms);
    }
    c->keys[c->n] = ks_strdup(key);
    c->ids[c->n] = ks_strdup(id);
    c->ages_ms[c->n] = age;
    c->n++;
  }
  char trunc[16] = "", km[2048] = "", im[1024] = "";
  ks__xml_get(s, r->resp.len, "IsTruncated", trunc, sizeof trunc);
  if (strcmp(trunc, "true") == 0 &&
      ks__xml_get(s, r->resp.len, "NextKeyMarker", km, sizeof km) == 0) {
    ks__xml_get(s, r->resp.len, "NextUploadIdMarker", im, sizeof im);
    ks_free(c->key_marker);
    ks_free(c->id_marker);
    c->key_marker = ks_strdup(km);
    c->id_marker = ks_strdup(im);
    ks__s3_req_reuse(r, KS_S3_OP_LIST_UPLOADS, "GET");
    uploads_page(r);
    return;
  }
  if (c->abort_them && c->n)
    abort_next(r);
  else
    uploads_finish(r, 0);
}

static void uploads_page(ks__s3_req *r) {
  uploads_ctx *c = r->ctx;
  clear_query(r);
  ks__s3_req_query(r, "uploads", NULL);
  ks__s3_req_query(r, "prefix", c->prefix);
  if (c->key_marker) {
    ks__s3_req_query(r, "key-marker", c->key_marker);
    ks__s3_req_query(r, "upload-id-marker", c->id_marker);
  }
  ks__s3_req_submit(r);
}

static void start_uploads(ks__s3 *s3, const char *prefix, int abort_them,
                          int64_t older_than_ms, ks_s3_count_cb cb,
                          ks_storage_sweep_cb scb, void *arg) {
  uploads_ctx *c = ks_calloc(1, sizeof *c);
  size_t n = strlen(s3->prefix) + strlen(prefix) + 1;
  c->prefix = ks_malloc(n);
  snprintf(c->prefix, n, "%s%s", s3->prefix, prefix);
  c->abort_them = abort_them;
  c->older_than_ms = older_than_ms;
  c->now_ms = (int64_t)(ks_now_us() / 1000);
  ks__s3_req *r = ks__s3_req_new(s3, KS_S3_OP_LIST_UPLOADS, "GET", NULL, 0);
  r->ctx = c;
  if (scb)
    r->cb.sweep = scb;
  else
    r->cb.count = cb;
  r->arg = arg;
  r->done = on_uploads_page;
  uploads_page(r);
}

int ks_s3_list_uploads(ks_storage *s, const char *prefix, int abort_them,
                       ks_s3_count_cb cb, void *arg) {
  if (prefix == NULL || cb == NULL)
    return KS_EINVAL;
  start_uploads((ks__s3 *)s, prefix, abort_them, -1, cb, NULL, arg);
  return 0;
}

/* Ages come from the server's Initiated date against the server's own
 * clock (the Date header of its answer; this host's clock only when it
 * sends none): a skewed host clock never makes a live upload look stale. */
int ks__s3_sweep_uploads(ks_storage *s, const char *prefix,
                         int64_t older_than_ms, ks_storage_sweep_cb cb,
                         void *arg) {
  if (prefix == NULL || cb == NULL || older_than_ms < 0)
    return KS_EINVAL;
  start_uploads((ks__s3 *)s, prefix, 1, older_than_ms, NULL, cb, arg);
  return 0;
}
