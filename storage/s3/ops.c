/*
 * Single-object operations: PutObject (also with If-None-Match: *),
 * GetObject (whole or a Range), HeadObject, DeleteObject and
 * DeleteObjects, and the vtable that ties them to the storage interface.
 *
 * put_if_absent is where an ambiguous failure matters most (it is how a
 * Delta commit claims its version): when an attempt timed out or was
 * reset and the retry then gets 412, the first attempt may have been our
 * own write landing. We read the object back and compare it with the
 * bytes we sent; identical means the commit is ours and succeeded.
 */
#include "storage/s3/s3_int.h"

#include "base/log.h"

#include <string.h>

void ks__s3_req_sse(ks__s3_req *r) {
  if (r->s3->acl)
    ks__s3_req_header(r, "x-amz-acl", r->s3->acl);
  if (r->s3->sse == NULL)
    return;
  ks__s3_req_header(r, "x-amz-server-side-encryption", r->s3->sse);
  if (r->s3->kms_key_id)
    ks__s3_req_header(r, "x-amz-server-side-encryption-aws-kms-key-id",
                      r->s3->kms_key_id);
}

static void on_status(ks__s3_req *r) {
  ks_storage_cb cb = r->cb.done;
  void *arg = r->arg;
  int st = r->status;
  ks__s3_req_free(r);
  cb(arg, st);
}

/* ---- put / put_if_absent -------------------------------------------------- */

static int put_common(ks_storage *s, int op, const char *key,
                      const void *data, size_t len, ks_storage_cb cb,
                      void *arg, ks__s3_done_fn done) {
  if (ks__s3_check_key(key) || cb == NULL || (data == NULL && len > 0))
    return KS_EINVAL;
  ks__s3_req *r = ks__s3_req_new((ks__s3 *)s, op, "PUT", key, 1);
  ks__s3_req_body(r, data, len, 0);
  if (op == KS_S3_OP_PUT_IF_ABSENT)
    ks__s3_req_header(r, "If-None-Match", "*");
  ks__s3_req_sse(r);
  r->cb.done = cb;
  r->arg = arg;
  r->done = done;
  ks__s3_req_submit(r);
  return 0;
}

static int s3_put(ks_storage *s, const char *key, const void *data,
                  size_t len, ks_storage_cb cb, void *arg) {
  return put_common(s, KS_S3_OP_PUT, key, data, len, cb, arg, on_status);
}

static void on_readback(ks__s3_req *g) {
  ks__s3_req *orig = g->ctx;
  if (g->status == 0 && g->resp.len == orig->body_len &&
      (orig->body_len == 0 ||
       memcmp(g->resp.data, orig->body, orig->body_len) == 0)) {
    ks_log_info("s3: %s: an earlier attempt had created it; the object "
                "holds our bytes, so the put succeeded",
                orig->key);
    orig->status = 0;
  } else if (g->status == 0 || g->status == KS_ETOOBIG) {
    orig->status = KS_EEXIST; /* someone else's bytes */
  } else {
    /* Created and then gone, or unreadable: neither "exists" nor success
     * can be claimed. */
    orig->status = g->status == KS_ENOENT ? KS_EIO : g->status;
  }
  ks__s3_req_free(g);
  on_status(orig);
}

static void on_put_if_absent(ks__s3_req *r) {
  if (r->status == KS_EEXIST && r->ambiguous) {
    ks__s3_req *g = ks__s3_req_new(r->s3, KS_S3_OP_GET, "GET", r->key, 0);
    g->resp_max = r->body_len + 1;
    g->ctx = r;
    g->done = on_readback;
    ks__s3_req_submit(g);
    return;
  }
  on_status(r);
}

static int s3_put_if_absent(ks_storage *s, const char *key, const void *data,
                            size_t len, ks_storage_cb cb, void *arg) {
  return put_common(s, KS_S3_OP_PUT_IF_ABSENT, key, data, len, cb, arg,
                    on_put_if_absent);
}

/* ---- get ------------------------------------------------------------------ */

static void on_get(ks__s3_req *r) {
  ks_storage_get_cb cb = r->cb.get;
  void *arg = r->arg;
  if (r->status)
    cb(arg, r->status, NULL, 0);
  else
    cb(arg, 0, r->resp.data ? r->resp.data : (const uint8_t *)"", r->resp.len);
  ks__s3_req_free(r);
}

static int s3_get(ks_storage *s, const char *key, ks_storage_get_cb cb,
                  void *arg) {
  return ks_s3_get_range(s, key, 0, 0, cb, arg);
}

int ks_s3_get_range(ks_storage *s, const char *key, uint64_t offset,
                    uint64_t len, ks_storage_get_cb cb, void *arg) {
  if (ks__s3_check_key(key) || cb == NULL)
    return KS_EINVAL;
  ks__s3_req *r = ks__s3_req_new((ks__s3 *)s, KS_S3_OP_GET, "GET", key, 1);
  r->resp_max = (size_t)1 << 31;
  if (offset || len) {
    char range[64];
    if (len)
      snprintf(range, sizeof range, "bytes=%llu-%llu",
               (unsigned long long)offset,
               (unsigned long long)(offset + len - 1));
    else
      snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)offset);
    ks__s3_req_header(r, "Range", range);
  }
  r->cb.get = cb;
  r->arg = arg;
  r->done = on_get;
  ks__s3_req_submit(r);
  return 0;
}

/* ---- head ----------------------------------------------------------------- */

static void on_head(ks__s3_req *r) {
  size_t kl;
  const char *rel = ks__s3_rel_key(r->s3, r->key, strlen(r->key), &kl);
  ks_storage_obj obj = {rel, r->content_length < 0 ? 0
                                                   : (uint64_t)r->content_length,
                        r->last_modified_ms};
  ks_s3_head_cb cb = r->cb.head;
  void *arg = r->arg;
  int st = r->status;
  char etag[128];
  strcpy(etag, r->etag);
  char *key = ks_strdup(rel);
  obj.key = key;
  ks__s3_req_free(r);
  cb(arg, st, st ? NULL : &obj, st ? NULL : etag);
  ks_free(key);
}

int ks_s3_head(ks_storage *s, const char *key, ks_s3_head_cb cb, void *arg) {
  if (ks__s3_check_key(key) || cb == NULL)
    return KS_EINVAL;
  ks__s3_req *r = ks__s3_req_new((ks__s3 *)s, KS_S3_OP_HEAD, "HEAD", key, 1);
  r->head = 1;
  r->cb.head = cb;
  r->arg = arg;
  r->done = on_head;
  ks__s3_req_submit(r);
  return 0;
}

/* ---- delete --------------------------------------------------------------- */

static void on_del(ks__s3_req *r) {
  if (r->status == KS_ENOENT)
    r->status = 0; /* deleting what is gone is done */
  on_status(r);
}

static int s3_del(ks_storage *s, const char *key, ks_storage_cb cb,
                  void *arg) {
  if (ks__s3_check_key(key) || cb == NULL)
    return KS_EINVAL;
  ks__s3_req *r =
      ks__s3_req_new((ks__s3 *)s, KS_S3_OP_DELETE, "DELETE", key, 1);
  r->cb.done = cb;
  r->arg = arg;
  r->done = on_del;
  ks__s3_req_submit(r);
  return 0;
}

typedef struct del_many {
  char **keys;
  size_t n, pos;
} del_many;

static void del_many_free(del_many *d) {
  for (size_t i = 0; i < d->n; i++)
    ks_free(d->keys[i]);
  ks_free(d->keys);
  ks_free(d);
}

static void send_batch(ks__s3_req *r);

static void on_del_batch(ks__s3_req *r) {
  del_many *d = r->ctx;
  if (r->status == 0 && r->resp.len &&
      memmem(r->resp.data, r->resp.len, "<Error>", 7)) {
    char code[64] = "", key[256] = "";
    ks__xml_get((char *)r->resp.data, r->resp.len, "Code", code, sizeof code);
    ks__xml_get((char *)r->resp.data, r->resp.len, "Key", key, sizeof key);
    ks_log_warn("s3: DeleteObjects: %s: %s", key, code);
    r->status = KS_EIO;
  }
  if (r->status || d->pos == d->n) {
    del_many_free(d);
    on_status(r);
    return;
  }
  ks__s3_req_reuse(r, KS_S3_OP_DELETE_MANY, "POST");
  send_batch(r);
}

static void send_batch(ks__s3_req *r) {
  del_many *d = r->ctx;
  ks_buf body;
  ks_buf_init(&body, 0);
  ks_buf_append_str(&body, "<Delete><Quiet>true</Quiet>");
  size_t end = d->pos + 1000 < d->n ? d->pos + 1000 : d->n;
  for (; d->pos < end; d->pos++) {
    ks_buf_append_str(&body, "<Object><Key>");
    ks__xml_escape(&body, r->s3->prefix);
    ks__xml_escape(&body, d->keys[d->pos]);
    ks_buf_append_str(&body, "</Key></Object>");
  }
  ks_buf_append_str(&body, "</Delete>");
  /* Content-MD5 is required by DeleteObjects; drop the previous batch's. */
  for (size_t i = 0; i < r->nh; i++) {
    ks_free((char *)r->h[i].name);
    ks_free((char *)r->h[i].value);
  }
  r->nh = 0;
  ks__s3_req_body(r, body.data, body.len, 1);
  ks_buf_free(&body);
  ks__s3_req_submit(r);
}

int ks_s3_delete_many(ks_storage *s, const char *const *keys, size_t n,
                      ks_storage_cb cb, void *arg) {
  if (cb == NULL || n == 0)
    return KS_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (ks__s3_check_key(keys[i]))
      return KS_EINVAL;
  del_many *d = ks_calloc(1, sizeof *d);
  d->keys = ks_calloc(n, sizeof *d->keys);
  for (size_t i = 0; i < n; i++)
    d->keys[i] = ks_strdup(keys[i]);
  d->n = n;
  ks__s3_req *r =
      ks__s3_req_new((ks__s3 *)s, KS_S3_OP_DELETE_MANY, "POST", NULL, 0);
  ks__s3_req_query(r, "delete", NULL);
  r->ctx = d;
  r->cb.done = cb;
  r->arg = arg;
  r->done = on_del_batch;
  send_batch(r);
  return 0;
}

const ks_storage_vtable ks__s3_vtable = {
    .name = "s3",
    .put = s3_put,
    .put_if_absent = s3_put_if_absent,
    .get = s3_get,
    .list = ks__s3_list,
    .del = s3_del,
    .upload_create = ks__s3_upload_create,
    .upload_part = ks__s3_upload_part,
    .upload_complete = ks__s3_upload_complete,
    .upload_abort = ks__s3_upload_abort,
    .sweep_uploads = ks__s3_sweep_uploads,
    .close = ks__s3_close,
};
