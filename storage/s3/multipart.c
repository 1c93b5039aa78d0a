/*
 * Multipart uploads: CreateMultipartUpload, UploadPart, Complete, Abort.
 * Parts may finish in any order; each part's ETag is kept by number and
 * Complete lists them in order. The upload is freed after an abort, and
 * after a complete that ends it, as the storage interface says.
 *
 * Complete is not idempotent on the wire: if an attempt timed out or was
 * reset after S3 had assembled the object, the retry gets NoSuchUpload (or
 * 412 under If-None-Match: *, our own object taking the key). Then we look
 * at the object itself: present with the size we uploaded and a multipart
 * ETag with our part count means the complete succeeded.
 */
#include "storage/s3/s3_int.h"

#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ks_upload {
  ks__s3 *s3;
  char *key; /* relative to the root */
  char *upload_id;
  char **etags; /* by part number - 1 */
  uint64_t *sizes;
  int cap;
};

static void upload_free(ks_upload *up) {
  for (int i = 0; i < up->cap; i++)
    ks_free(up->etags[i]);
  ks_free(up->etags);
  ks_free(up->sizes);
  ks_free(up->key);
  ks_free(up->upload_id);
  ks_free(up);
}

/* ---- create --------------------------------------------------------------- */

static void on_created(ks__s3_req *r) {
  ks_upload *up = r->ctx;
  char id[1024];
  if (r->status == 0 &&
      ks__xml_get((char *)r->resp.data, r->resp.len, "UploadId", id,
                  sizeof id)) {
    ks_log_warn("s3: CreateMultipartUpload %s: no UploadId in the answer",
                r->key);
    r->status = KS_EIO;
  }
  ks_upload_cb cb = r->cb.upload;
  void *arg = r->arg;
  int st = r->status;
  ks__s3_req_free(r);
  if (st) {
    upload_free(up);
    cb(arg, st, NULL);
    return;
  }
  up->upload_id = ks_strdup(id);
  cb(arg, 0, up);
}

int ks__s3_upload_create(ks_storage *s, const char *key, ks_upload_cb cb,
                         void *arg) {
  if (ks__s3_check_key(key) || cb == NULL)
    return KS_EINVAL;
  ks__s3 *s3 = (ks__s3 *)s;
  ks_upload *up = ks_calloc(1, sizeof *up);
  up->s3 = s3;
  up->key = ks_strdup(key);
  ks__s3_req *r = ks__s3_req_new(s3, KS_S3_OP_CREATE_UPLOAD, "POST", key, 1);
  ks__s3_req_query(r, "uploads", NULL);
  ks__s3_req_sse(r);
  r->ctx = up;
  r->cb.upload = cb;
  r->arg = arg;
  r->done = on_created;
  ks__s3_req_submit(r);
  return 0;
}

/* ---- parts ---------------------------------------------------------------- */

typedef struct part_ctx {
  ks_upload *up;
  int no;
} part_ctx;

static void on_part(ks__s3_req *r) {
  part_ctx *pc = r->ctx;
  ks_upload *up = pc->up;
  if (r->status == 0 && r->etag[0] == '\0') {
    ks_log_warn("s3: UploadPart %d of %s: no ETag in the answer", pc->no,
                r->key);
    r->status = KS_EIO;
  }
  if (r->status == 0) {
    ks_free(up->etags[pc->no - 1]);
    up->etags[pc->no - 1] = ks_strdup(r->etag);
    up->sizes[pc->no - 1] = r->body_len;
  }
  ks_storage_cb cb = r->cb.done;
  void *arg = r->arg;
  int st = r->status;
  ks_free(pc);
  ks__s3_req_free(r);
  cb(arg, st);
}

int ks__s3_upload_part(ks_storage *s, ks_upload *up, int part_no,
                       const void *data, size_t len, ks_storage_cb cb,
                       void *arg) {
  if (up == NULL || part_no < 1 || part_no > 10000 || cb == NULL ||
      (data == NULL && len > 0))
    return KS_EINVAL;
  if (part_no > up->cap) {
    int cap = up->cap ? up->cap : 16;
    while (cap < part_no)
      cap *= 2;
    up->etags = ks_realloc(up->etags, (size_t)cap * sizeof *up->etags);
    up->sizes = ks_realloc(up->sizes, (size_t)cap * sizeof *up->sizes);
    for (int i = up->cap; i < cap; i++) {
      up->etags[i] = NULL;
      up->sizes[i] = 0;
    }
    up->cap = cap;
  }
  ks__s3_req *r =
      ks__s3_req_new((ks__s3 *)s, KS_S3_OP_UPLOAD_PART, "PUT", up->key, 1);
  char num[16];
  snprintf(num, sizeof num, "%d", part_no);
  ks__s3_req_query(r, "partNumber", num);
  ks__s3_req_query(r, "uploadId", up->upload_id);
  ks__s3_req_body(r, data, len, 0);
  part_ctx *pc = ks_calloc(1, sizeof *pc);
  pc->up = up;
  pc->no = part_no;
  r->ctx = pc;
  r->cb.done = cb;
  r->arg = arg;
  r->done = on_part;
  ks__s3_req_submit(r);
  return 0;
}

/* ---- complete ------------------------------------------------------------- */

static int parts_done(const ks_upload *up, uint64_t *total) {
  int n = 0;
  *total = 0;
  while (n < up->cap && up->etags[n]) {
    *total += up->sizes[n];
    n++;
  }
  for (int i = n; i < up->cap; i++)
    if (up->etags[i])
      return -1; /* a hole in the numbering */
  return n;
}

/* The upload is over on success and when S3 no longer has it; after any
 * other failure (412 included: the key was taken, the parts are still
 * there) it stays for a retry or an abort (storage.h). */
static void finish_complete(ks__s3_req *r, int status, uint64_t size,
                            int64_t mtime_ms) {
  ks_upload *up = r->ctx;
  ks_upload_done_cb cb = r->cb.upload_done;
  void *arg = r->arg;
  ks_storage_obj obj = {up->key, size, mtime_ms};
  int over = status == 0 || status == KS_ENOENT;
  ks__s3_req_free(r);
  cb(arg, status, status ? NULL : &obj);
  if (over)
    upload_free(up);
}

static void on_check_head(ks__s3_req *h) {
  ks__s3_req *r = h->ctx;
  ks_upload *up = r->ctx;
  uint64_t total;
  int n = parts_done(up, &total);
  char suffix[24];
  snprintf(suffix, sizeof suffix, "-%d", n);
  size_t el = strlen(h->etag), sl = strlen(suffix);
  int ours = h->status == 0 && (uint64_t)h->content_length == total &&
             el > sl && strcmp(h->etag + el - sl, suffix) == 0;
  int64_t mtime = h->last_modified_ms;
  ks__s3_req_free(h);
  if (ours) {
    ks_log_info("s3: %s: an earlier CompleteMultipartUpload had landed "
                "(%llu bytes, %d parts)",
                up->key, (unsigned long long)total, n);
    finish_complete(r, 0, total, mtime);
  } else if (r->status == KS_EEXIST) {
    finish_complete(r, KS_EEXIST, 0, 0); /* someone else's object */
  } else {
    ks_log_error("s3: %s: the upload is gone and the object is not ours; "
                 "the file must be written again",
                 up->key);
    finish_complete(r, KS_ENOENT, 0, 0);
  }
}

static void on_completed(ks__s3_req *r) {
  ks_upload *up = r->ctx;
  uint64_t total;
  parts_done(up, &total);
  if (r->status == 0) {
    finish_complete(r, 0, total, ks_now_us() / 1000);
    return;
  }
  if ((r->status == KS_ENOENT || r->status == KS_EEXIST) && r->ambiguous) {
    /* an earlier attempt may have assembled the object: NoSuchUpload, or
     * 412 from our own object under If-None-Match */
    ks__s3_req *h = ks__s3_req_new(r->s3, KS_S3_OP_HEAD, "HEAD", r->key, 0);
    h->head = 1;
    h->ctx = r;
    h->done = on_check_head;
    ks__s3_req_submit(h);
    return;
  }
  finish_complete(r, r->status, 0, 0);
}

int ks__s3_upload_complete(ks_storage *s, ks_upload *up, int if_absent,
                           ks_upload_done_cb cb, void *arg) {
  if (up == NULL || cb == NULL)
    return KS_EINVAL;
  uint64_t total;
  int n = parts_done(up, &total);
  if (n <= 0)
    return KS_EINVAL;
  ks_buf body;
  ks_buf_init(&body, 0);
  ks_buf_append_str(&body, "<CompleteMultipartUpload>");
  for (int i = 0; i < n; i++)
    ks_buf_appendf(&body,
                   "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag>"
                   "</Part>",
                   i + 1, up->etags[i]);
  ks_buf_append_str(&body, "</CompleteMultipartUpload>");
  ks__s3_req *r =
      ks__s3_req_new((ks__s3 *)s, KS_S3_OP_COMPLETE_UPLOAD, "POST", up->key, 1);
  ks__s3_req_query(r, "uploadId", up->upload_id);
  ks__s3_req_body(r, body.data, body.len, 1);
  ks_buf_free(&body);
  if (if_absent)
    ks__s3_req_header(r, "If-None-Match", "*");
  r->error_in_200 = 1;
  r->ctx = up;
  r->cb.upload_done = cb;
  r->arg = arg;
  r->done = on_completed;
  ks__s3_req_submit(r);
  return 0;
}

/* ---- abort ---------------------------------------------------------------- */

static void on_aborted(ks__s3_req *r) {
  ks_upload *up = r->ctx;
  if (r->status == KS_ENOENT)
    r->status = 0; /* already gone: what abort wanted */
  ks_storage_cb cb = r->cb.done;
  void *arg = r->arg;
  int st = r->status;
  ks__s3_req_free(r);
  cb(arg, st);
  upload_free(up);
}

int ks__s3_upload_abort(ks_storage *s, ks_upload *up, ks_storage_cb cb,
                        void *arg) {
  if (up == NULL || cb == NULL)
    return KS_EINVAL;
  ks__s3_req *r = ks__s3_req_new((ks__s3 *)s, KS_S3_OP_ABORT_UPLOAD, "DELETE",
                                 up->key, 1);
  ks__s3_req_query(r, "uploadId", up->upload_id);
  r->ctx = up;
  r->cb.done = cb;
  r->arg = arg;
  r->done = on_aborted;
  ks__s3_req_submit(r);
  return 0;
}
