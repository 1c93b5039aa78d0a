/*
 * Internals shared by the files of storage/s3 (not for other folders):
 * the storage instance, the request every operation is built on, and the
 * transport (transport.c), XML (xml.c), breaker (breaker.c) and
 * credential (creds.c) helpers.
 *
 * A request is one S3 call with its retries. The operation fills method,
 * path, query, headers and body, sets done, and submits it; the transport
 * signs and sends each attempt, retries what may be retried, and calls
 * done once with the final answer. done owns the request and frees it
 * (ks__s3_req_free), possibly after reusing it for a follow-up call.
 */
#ifndef KS_STORAGE_S3_S3_INT_H
#define KS_STORAGE_S3_S3_INT_H

#include "base/buf.h"
#include "storage/s3/s3.h"
#include "storage/s3/sigv4.h"

#include <curl/curl.h>

typedef struct ks__s3_breaker ks__s3_breaker;
typedef struct ks__s3_req ks__s3_req;

typedef struct ks__s3_creds {
  char *access_key;
  char *secret_key;
  char *token;        /* NULL without a session token */
  int64_t expires_ms; /* Unix ms; 0: never */
} ks__s3_creds;

typedef struct ks__s3_chain ks__s3_chain; /* creds.h */

typedef struct ks__s3 {
  ks_storage base;
  CURLM *multi;
  uv_timer_t timer; /* curl's timeout */
  uv_timer_t park;  /* re-checks requests held by an open breaker */
  int handles;      /* uv handles not yet closed (timer, park, polls) */
  int closing;
  ks_conf_s3 conf;  /* scalars only; strings below */
  char *base_url;   /* scheme://authority (virtual: with the bucket) */
  char *host;       /* Host header */
  char *bucket;
  char *prefix;     /* "" or "some/prefix/" */
  char *path_base;  /* encoded "/bucket" (path style) or "" */
  char *region;
  char *sse, *kms_key_id, *ca_file;
  int https;
  char *acl;       /* x-amz-acl on object writes, or NULL */
  ks__s3_creds creds; /* what requests are signed with now */
  ks__s3_chain *chain; /* where creds come from and their refresh */
  ks__s3_breaker *breaker;
  ks__s3_req *reqs;   /* every live request (closing cancels them) */
  void *socks;        /* socket contexts (transport.c) */
  int dispatching;    /* inside the completion loop: close is deferred */
  int close_pending;
  ks__s3_req *parked; /* waiting for the breaker, FIFO */
  ks__s3_req *parked_tail;
  int inflight;
} ks__s3;

typedef void (*ks__s3_done_fn)(ks__s3_req *r);

#define KS__S3_MAX_Q 6
#define KS__S3_MAX_H 8

struct ks__s3_req {
  ks__s3 *s3;
  int op; /* enum ks_s3_op */
  const char *method;
  ks_buf path; /* encoded: path_base + "/" + encoded key */
  char *key;   /* full object key (prefix included), for messages */
  ks_sigv4_param q[KS__S3_MAX_Q];
  size_t nq;
  ks_sigv4_header h[KS__S3_MAX_H]; /* extra signed headers (values owned) */
  size_t nh;
  const uint8_t *body; /* not owned, or own_body.data */
  size_t body_len;
  ks_buf own_body;
  char payload_hash[65];
  char md5_hex[33]; /* of the body, when there is one */
  int head;            /* HEAD: no body expected */
  int error_in_200;    /* CompleteMultipartUpload: a 200 may carry <Error> */
  size_t resp_max;     /* response body cap */

  /* answer of the last attempt */
  long http;
  CURLcode cerr;
  char curl_msg[CURL_ERROR_SIZE];
  ks_buf resp;
  char etag[128];
  int64_t content_length;
  int64_t last_modified_ms;
  int64_t date_ms; /* the server's clock (Date header), 0 unknown */
  char request_id[96];
  char err_code[64];
  char err_msg[256];
  int status; /* ksink code after the last attempt */

  unsigned attempt;
  int ambiguous; /* an earlier attempt may have taken effect */
  uint64_t started_ms;
  CURL *easy;
  struct curl_slist *slist;
  uv_timer_t retry;
  ks__s3_req *next_parked;
  ks__s3_req *prev_live, *next_live;
  int probe; /* this attempt is the breaker's half-open probe */

  /* A request outside the bucket (a credential source): url is
   * "scheme://authority", path the rest; signed for service with
   * sign_creds, or unsigned when service is NULL. No breaker, no S3
   * metrics, no Content-MD5. */
  char *url;
  char *sign_host;
  const char *service;
  const ks__s3_creds *sign_creds;
  int max_attempts;   /* 0: retry.max_attempts */
  long timeout_ms;    /* 0: none beyond the stall timeout */
  uint64_t cred_gen;  /* generation of s3->creds the attempt was signed with */
  int cred_retried;   /* already retried once after a refresh */

  ks__s3_done_fn done;
  union {
    ks_storage_cb done;
    ks_storage_get_cb get;
    ks_storage_list_cb list;
    ks_upload_cb upload;
    ks_upload_done_cb upload_done;
    ks_s3_head_cb head;
    ks_s3_count_cb count;
    ks_storage_sweep_cb sweep;
  } cb;
  void *arg;
  void *ctx; /* operation state (upload, list accumulator) */
};

/* ---- transport.c -------------------------------------------------------- */
int ks__s3_transport_init(ks__s3 *s3);
/* Closes handles; frees s3 once the last one is closed. */
void ks__s3_transport_close(ks__s3 *s3);
/* A request for key (NULL: the bucket itself); relative keys get the
 * storage prefix. */
ks__s3_req *ks__s3_req_new(ks__s3 *s3, int op, const char *method,
                           const char *key, int add_prefix);
void ks__s3_req_query(ks__s3_req *r, const char *name, const char *value);
void ks__s3_req_header(ks__s3_req *r, const char *name, const char *value);
/* Body not copied (must outlive the request) unless copy. Sets the
 * payload hash and Content-MD5. */
void ks__s3_req_body(ks__s3_req *r, const void *data, size_t len, int copy);
/* Starts the first attempt; done runs exactly once (possibly before this
 * returns when the request cannot start). */
void ks__s3_req_submit(ks__s3_req *r);
/* Resets the answer and the attempt count for a follow-up call. */
void ks__s3_req_reuse(ks__s3_req *r, int op, const char *method);
void ks__s3_req_free(ks__s3_req *r);
/* The error as a one-line message: "PUT key: 403 AccessDenied: ... (id)". */
const char *ks__s3_req_describe(const ks__s3_req *r, char *buf, size_t n);
/* HTTP status -> ksink code for a final answer. */
int ks__s3_status_code(const ks__s3_req *r);
/* The object key relative to the storage root (strips the prefix). */
const char *ks__s3_rel_key(const ks__s3 *s3, const char *full, size_t n,
                           size_t *reln);
/* A request to base ("scheme://authority") + path (see ks__s3_req.url);
 * what names it in messages. */
ks__s3_req *ks__s3_req_url(ks__s3 *s3, const char *method, const char *base,
                           const char *path, const char *what);
/* Starts (again) a request that waited for credentials. */
void ks__s3_req_resume(ks__s3_req *r);
/* One of s3's uv handles is closed (frees s3 after the last one). */
void ks__s3_handle_gone(ks__s3 *s3);
/* Counts an answer for metrics. */
void ks__s3_count(int op, long http, uint64_t dur_us);

/* ---- xml.c -------------------------------------------------------------- */
/* Finds the next <tag>...</tag> in [*cur, end); sets the inner text and
 * moves *cur past the element. 0 if found, KS_ENOENT otherwise. */
int ks__xml_next(const char **cur, const char *end, const char *tag,
                 const char **val, size_t *vlen);
/* First <tag> text in [s, s+n) unescaped into out (size cap); 0 or
 * KS_ENOENT. */
int ks__xml_get(const char *s, size_t n, const char *tag, char *out,
                size_t cap);
/* Unescapes XML character and entity references; the caller frees. */
char *ks__xml_unescape(const char *s, size_t n);
/* Escapes &, <, >, " and ' for a text node. */
int ks__xml_escape(ks_buf *b, const char *s);

/* ---- breaker.c ---------------------------------------------------------- */
ks__s3_breaker *ks__s3_breaker_get(const char *endpoint, int failures,
                                   uint64_t cooldown_ms);
void ks__s3_breaker_put(ks__s3_breaker *b);
/* 1: send now (*probe set when this is the half-open probe), 0: hold. */
int ks__s3_breaker_allow(ks__s3_breaker *b, int *probe);
void ks__s3_breaker_result(ks__s3_breaker *b, int ok, int probe);
/* Milliseconds until a held request should look again. */
uint64_t ks__s3_breaker_wait_ms(ks__s3_breaker *b);

/* ---- creds.c, creds_fetch.c, creds_parse.c ------------------------------ */
/* The region: storage.s3.region, AWS_REGION, AWS_DEFAULT_REGION, the
 * profile's region in the shared config file, else us-east-1. */
char *ks__s3_region(const ks_conf_s3 *conf);
/* Finds the credential source (the AWS SDKs' chain, see creds.c).
 * KS_EACCES with a message listing what was tried when there is none, or
 * when a source is set up but unreadable; KS_ECONFIG when a setting is
 * malformed. */
int ks__s3_chain_open(ks__s3 *s3, const ks_conf_s3 *conf);
/* After the transport is up: installs static keys or starts the first
 * fetch (requests wait for it). */
void ks__s3_chain_start(ks__s3 *s3);
/* 1 when r must wait for credentials (it is queued and resumed, or failed,
 * once they come); 0 when it may be signed now. */
int ks__s3_chain_wait(ks__s3_req *r);
/* r was refused for its credentials (ExpiredToken and the like): 1 when
 * it is queued behind an immediate refresh and will be retried once. */
int ks__s3_chain_denied(ks__s3_req *r);
/* Bumped each time s3->creds changes. */
uint64_t ks__s3_chain_gen(const ks__s3 *s3);
/* Stops refreshing (the transport is closing). */
void ks__s3_chain_close(ks__s3 *s3);
void ks__s3_chain_free(ks__s3_chain *c);
void ks__s3_creds_free(ks__s3_creds *c);
/* Parsers of outside input (creds_parse.c): 0, or KS_EINVAL with err. */
int ks__s3_parse_sts(const char *s, size_t n, ks__s3_creds *out, char *err,
                     size_t errlen);
int ks__s3_parse_json_creds(const char *s, size_t n, ks__s3_creds *out,
                            char *err, size_t errlen);
/* Value of key in [section] of an AWS INI text (*out ks_malloc'd); 0 or
 * KS_ENOENT. */
int ks__s3_ini_get(const char *text, size_t n, const char *section,
                   const char *key, char **out);
/* 1 when the text has [section]. */
int ks__s3_ini_has(const char *text, size_t n, const char *section);
/* 1 when AWS_CONTAINER_CREDENTIALS_FULL_URI may name url's host. */
int ks__s3_container_host_allowed(const char *url);
/* "scheme://authority" and the path ("/" when empty) of an http(s) URL;
 * 0 or KS_EINVAL. */
int ks__s3_split_url(const char *url, char **base, char **path);

/* ---- ops, multipart, list ---------------------------------------------- */
extern const ks_storage_vtable ks__s3_vtable;
void ks__s3_close(ks_storage *s);
/* The headers of every object write (PutObject, CreateMultipartUpload):
 * x-amz-acl when acl is set, x-amz-server-side-encryption when sse is. */
void ks__s3_req_sse(ks__s3_req *r);
int ks__s3_upload_create(ks_storage *s, const char *key, ks_upload_cb cb,
                         void *arg);
int ks__s3_upload_part(ks_storage *s, ks_upload *up, int part_no,
                       const void *data, size_t len, ks_storage_cb cb,
                       void *arg);
int ks__s3_upload_complete(ks_storage *s, ks_upload *up, int if_absent,
                           ks_upload_done_cb cb, void *arg);
int ks__s3_upload_abort(ks_storage *s, ks_upload *up, ks_storage_cb cb,
                        void *arg);
int ks__s3_list(ks_storage *s, const char *prefix, ks_storage_list_cb cb,
                void *arg);
int ks__s3_sweep_uploads(ks_storage *s, const char *prefix,
                         int64_t older_than_ms, ks_storage_sweep_cb cb,
                         void *arg);
/* KS_EINVAL unless key is non-empty and relative. */
int ks__s3_check_key(const char *key);
/* RFC 1123 / ISO 8601 time -> ms since the epoch (0 when unparsable). */
int64_t ks__s3_parse_time(const char *s);

/* Frees a backend's fields and the struct (also a half-built one: every
 * field may be NULL). No transfer may be in flight. */
void ks__s3_free(ks__s3 *s3);

#endif
