/*
 * s3: the S3 storage backend (s3://bucket/prefix) behind the storage
 * vtable. Requests run on libcurl's multi interface driven by the storage's
 * uv loop (one multi per storage instance, i.e. per worker), are signed
 * with SigV4, retried with exponential backoff and full jitter, and pass a
 * circuit breaker shared by every storage instance talking to the same
 * endpoint. Opened by ks_storage_open; tests and tools may open it
 * directly and use the S3-only operations below.
 *
 * Process-wide counters (requests by operation and status, retries,
 * breaker state, request durations) are read by http/ without locks.
 */
#ifndef KS_STORAGE_S3_S3_H
#define KS_STORAGE_S3_S3_H

#include "storage/s3/s3_conf.h"
#include "storage/storage.h"

#include <stdatomic.h>
#include <stdint.h>

/* url: "s3://bucket" or "s3://bucket/prefix"; conf: NULL for defaults
 * (credentials then come from the environment or the shared file). */
int ks_s3_open(uv_loop_t *loop, const char *url, const ks_conf_s3 *conf,
               ks_storage **out);

/* HeadObject: status 0 with the object's size, mtime and ETag (quotes
 * stripped), KS_ENOENT when missing. */
typedef void (*ks_s3_head_cb)(void *arg, int status, const ks_storage_obj *obj,
                              const char *etag);
int ks_s3_head(ks_storage *s, const char *key, ks_s3_head_cb cb, void *arg);
/* GetObject of bytes [offset, offset + len) (Range); len 0: to the end. */
int ks_s3_get_range(ks_storage *s, const char *key, uint64_t offset,
                    uint64_t len, ks_storage_get_cb cb, void *arg);
/* DeleteObjects (up to 1000 keys a request; more are split). */
int ks_s3_delete_many(ks_storage *s, const char *const *keys, size_t n,
                      ks_storage_cb cb, void *arg);
/* ListMultipartUploads under the storage root + prefix: how many are in
 * progress. With abort_them, aborts each one too. */
typedef void (*ks_s3_count_cb)(void *arg, int status, size_t n);
int ks_s3_list_uploads(ks_storage *s, const char *prefix, int abort_them,
                       ks_s3_count_cb cb, void *arg);

/* Start-up check (storage.s3.conditional_writes_probe): puts a random
 * scratch key under url twice with If-None-Match: *, the second must be
 * refused with 412, then deletes it. 0; KS_EUNSUPPORTED with err when the
 * store overwrote; another code when storage failed. Blocks: call it
 * before the workers start. */
int ks_s3_probe_conditional_writes(const char *url, const ks_conf_s3 *conf,
                                   char *err, size_t errlen);

/* ---- counters for metrics ---------------------------------------------- */

#define KS_S3_OP_MAP(XX)                                                    \
  XX(PUT, "put")                                                            \
  XX(PUT_IF_ABSENT, "put_if_absent")                                        \
  XX(GET, "get")                                                            \
  XX(HEAD, "head")                                                          \
  XX(LIST, "list")                                                          \
  XX(DELETE, "delete")                                                      \
  XX(DELETE_MANY, "delete_objects")                                         \
  XX(CREATE_UPLOAD, "create_multipart_upload")                              \
  XX(UPLOAD_PART, "upload_part")                                            \
  XX(COMPLETE_UPLOAD, "complete_multipart_upload")                          \
  XX(ABORT_UPLOAD, "abort_multipart_upload")                                \
  XX(LIST_UPLOADS, "list_multipart_uploads")
#define KS_S3_OP_ENUM_(n, s) KS_S3_OP_##n,
enum ks_s3_op { KS_S3_OP_MAP(KS_S3_OP_ENUM_) KS_S3_OP_COUNT };
#undef KS_S3_OP_ENUM_

/* Status labels: HTTP codes seen from S3, "other" for the rest and
 * "network" for a request that got no HTTP answer. */
#define KS_S3_CODES 15
#define KS_S3_HIST_BUCKETS 12

/* Where the credentials in use came from (metrics label, /status). */
#define KS_S3_CRED_MAP(XX)                                                  \
  XX(NONE, "none")                                                          \
  XX(CONFIG, "config")                                                      \
  XX(ENV, "environment")                                                    \
  XX(WEB_IDENTITY, "web_identity")                                          \
  XX(PROFILE, "profile")                                                    \
  XX(CONTAINER, "container")                                                \
  XX(IMDS, "imds")
#define KS_S3_CRED_ENUM_(n, s) KS_S3_CRED_##n,
enum ks_s3_cred { KS_S3_CRED_MAP(KS_S3_CRED_ENUM_) KS_S3_CRED_COUNT };
#undef KS_S3_CRED_ENUM_
const char *ks_s3_cred_name(int provider);

typedef struct ks_s3_stats {
  atomic_uint_fast64_t requests[KS_S3_OP_COUNT][KS_S3_CODES];
  atomic_uint_fast64_t retries;
  atomic_uint_fast64_t breaker_opened; /* times any breaker opened */
  atomic_int breakers_open;            /* breakers open now */
  /* request duration histogram (every attempt), cumulative at render */
  atomic_uint_fast64_t hist[KS_S3_HIST_BUCKETS + 1]; /* last: +Inf */
  atomic_uint_fast64_t hist_sum_us, hist_count;
  /* credential fetches and refreshes by provider; [1]: failed */
  atomic_uint_fast64_t cred_refreshes[KS_S3_CRED_COUNT][2];
  atomic_int cred_provider;            /* enum ks_s3_cred in use */
  atomic_int_fast64_t cred_expires_ms; /* Unix ms; 0: never */
  atomic_int cred_assumed;             /* storage.s3.role_arn on top */
} ks_s3_stats;

extern ks_s3_stats ks_s3_stats_g;
const char *ks_s3_op_name(int op);
const char *ks_s3_code_name(int code_index);
/* Upper bounds of the histogram buckets, in seconds. */
extern const double ks_s3_hist_bounds[KS_S3_HIST_BUCKETS];
/* Number of endpoints whose breaker is open (or probing) now. */
int ks_s3_breakers_open(void);

#endif
