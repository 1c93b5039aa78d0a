/*
 * The S3 transport: libcurl's multi interface on the storage's uv loop
 * (curl's docs/examples/multi-uv.c pattern: CURLMOPT_SOCKETFUNCTION starts
 * and stops a uv_poll_t per socket, found again through curl_multi_assign;
 * CURLMOPT_TIMERFUNCTION drives one uv_timer_t). Connections stay in the
 * multi's cache and are reused across requests (keep-alive).
 *
 * Each attempt is signed afresh (x-amz-date moves on). What failed in a
 * way a retry can fix -- no answer, a timeout, a reset, DNS, 5xx, 408,
 * 429, RequestTimeout, ConditionalRequestConflict -- is retried after
 * ks_backoff_ms (exponential, full jitter) up to retry.max_attempts; any
 * other 4xx is final. Every attempt reports to the endpoint's breaker;
 * while it is open, requests wait in `parked` without spending attempts.
 */
#include "storage/s3/s3_int.h"

#include "base/log.h"
#include "base/backoff.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct sock_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  ks__s3 *s3;
  struct sock_ctx *prev, *next;
} sock_ctx;

/* ---- handles and teardown ----------------------------------------------- */

void ks__s3_free(ks__s3 *s3) {
  ks__s3_breaker_put(s3->breaker);
  ks__s3_creds_free(&s3->creds);
  ks__s3_chain_free(s3->chain);
  ks_free(s3->acl);
  ks_free(s3->base_url);
  ks_free(s3->host);
  ks_free(s3->bucket);
  ks_free(s3->prefix);
  ks_free(s3->path_base);
  ks_free(s3->region);
  ks_free(s3->sse);
  ks_free(s3->kms_key_id);
  ks_free(s3->ca_file);
  ks_free(s3);
}

static void handle_gone(ks__s3 *s3) {
  if (--s3->handles == 0 && s3->closing)
    ks__s3_free(s3);
}

void ks__s3_handle_gone(ks__s3 *s3) { handle_gone(s3); }

static void on_timer_closed(uv_handle_t *h) {
  handle_gone(ks_container_of((uv_timer_t *)h, ks__s3, timer));
}

static void on_park_closed(uv_handle_t *h) {
  handle_gone(ks_container_of((uv_timer_t *)h, ks__s3, park));
}

static void on_poll_closed(uv_handle_t *h) {
  sock_ctx *c = ks_container_of((uv_poll_t *)h, sock_ctx, poll);
  ks__s3 *s3 = c->s3;
  ks_free(c);
  handle_gone(s3);
}

static void sock_close(ks__s3 *s3, sock_ctx *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    s3->socks = c->next;
  if (c->next)
    c->next->prev = c->prev;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, on_poll_closed);
}

/* ---- curl <-> uv glue --------------------------------------------------- */

static void check_multi_info(ks__s3 *s3);

static void on_poll(uv_poll_t *h, int status, int events) {
  sock_ctx *c = ks_container_of(h, sock_ctx, poll);
  ks__s3 *s3 = c->s3;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (!status && (events & UV_READABLE))
    flags |= CURL_CSELECT_IN;
  if (!status && (events & UV_WRITABLE))
    flags |= CURL_CSELECT_OUT;
  int running;
  curl_multi_socket_action(s3->multi, c->fd, flags, &running);
  check_multi_info(s3);
}

static int on_socket(CURL *e, curl_socket_t s, int action, void *userp,
                     void *socketp) {
  ks__s3 *s3 = userp;
  sock_ctx *c = socketp;
  if (action == CURL_POLL_REMOVE) {
    if (c) {
      curl_multi_assign(s3->multi, s, NULL);
      sock_close(s3, c);
    }
    return 0;
  }
  if (c == NULL) {
    c = ks_calloc(1, sizeof *c);
    c->fd = s;
    c->s3 = s3;
    if (uv_poll_init_socket(s3->base.loop, &c->poll, s)) {
      ks_free(c);
      return -1;
    }
    s3->handles++;
    c->next = s3->socks;
    if (c->next)
      ((sock_ctx *)s3->socks)->prev = c;
    s3->socks = c;
    curl_multi_assign(s3->multi, s, c);
  }
  int ev = 0;
  if (action != CURL_POLL_OUT)
    ev |= UV_READABLE;
  if (action != CURL_POLL_IN)
    ev |= UV_WRITABLE;
  uv_poll_start(&c->poll, ev, on_poll);
  return 0;
}

static void on_timeout(uv_timer_t *t) {
  ks__s3 *s3 = ks_container_of(t, ks__s3, timer);
  int running;
  curl_multi_socket_action(s3->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_multi_info(s3);
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp) {
  ks__s3 *s3 = userp;
  if (timeout_ms < 0)
    uv_timer_stop(&s3->timer);
  else
    uv_timer_start(&s3->timer, on_timeout,
                   timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
  return 0;
}

int ks__s3_transport_init(ks__s3 *s3) {
  s3->multi = curl_multi_init();
  if (s3->multi == NULL)
    return KS_ENOMEM;
  curl_multi_setopt(s3->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(s3->multi, CURLMOPT_SOCKETDATA, s3);
  curl_multi_setopt(s3->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(s3->multi, CURLMOPT_TIMERDATA, s3);
  /* at most 64 connections (requests) at once; curl queues the rest */
  curl_multi_setopt(s3->multi, CURLMOPT_MAXCONNECTS, 64L);
  curl_multi_setopt(s3->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 64L);
  uv_timer_init(s3->base.loop, &s3->timer);
  uv_timer_init(s3->base.loop, &s3->park);
  s3->handles = 2;
  return 0;
}

/* ---- requests ----------------------------------------------------------- */

static void on_req_closed(uv_handle_t *h) {
  ks__s3_req *r = ks_container_of((uv_timer_t *)h, ks__s3_req, retry);
  ks_free(r);
}

/* Operations that store data: counted in bytes uploaded and in flight. */
static int is_write(int op) {
  return op == KS_S3_OP_PUT || op == KS_S3_OP_PUT_IF_ABSENT ||
         op == KS_S3_OP_UPLOAD_PART;
}

/* The part of a new request every kind shares: empty buffers, the empty
 * payload's hash, its retry timer, and its place among the live ones. */
static ks__s3_req *req_live(ks__s3 *s3, ks__s3_req *r, size_t resp_max) {
  ks_buf_init(&r->own_body, 0);
  ks_buf_init(&r->resp, 0);
  r->resp_max = resp_max;
  strcpy(r->payload_hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca"
                          "495991b7852b855");
  uv_timer_init(s3->base.loop, &r->retry);
  r->next_live = s3->reqs;
  if (s3->reqs)
    s3->reqs->prev_live = r;
  s3->reqs = r;
  return r;
}

ks__s3_req *ks__s3_req_new(ks__s3 *s3, int op, const char *method,
                           const char *key, int add_prefix) {
  ks__s3_req *r = ks_calloc(1, sizeof *r);
  r->s3 = s3;
  r->op = op;
  if (is_write(op))
    atomic_fetch_add_explicit(&ks_storage_stats_g.writes_in_flight, 1,
                              memory_order_relaxed);
  r->method = method;
  ks_buf_init(&r->path, 0);
  ks_buf_append_str(&r->path, s3->path_base);
  ks_buf_append_byte(&r->path, '/');
  if (key) {
    ks_buf full;
    ks_buf_init(&full, 0);
    if (add_prefix)
      ks_buf_append_str(&full, s3->prefix);
    ks_buf_append_str(&full, key);
    ks_buf_cstr(&full);
    r->key = (char *)ks_buf_steal(&full, NULL);
    ks_sigv4_uri_encode(&r->path, r->key, strlen(r->key), 1);
  } else {
    r->key = ks_strdup(s3->bucket);
  }
  ks_buf_cstr(&r->path);
  return req_live(s3, r, 64u << 20);
}

ks__s3_req *ks__s3_req_url(ks__s3 *s3, const char *method, const char *base,
                           const char *path, const char *what) {
  ks__s3_req *r = ks_calloc(1, sizeof *r);
  r->s3 = s3;
  r->op = -1;
  r->method = method;
  r->url = ks_strdup(base);
  ks_buf_init(&r->path, 0);
  ks_buf_append_str(&r->path, path);
  ks_buf_cstr(&r->path);
  r->key = ks_strdup(what);
  return req_live(s3, r, 64u << 10);
}

void ks__s3_req_query(ks__s3_req *r, const char *name, const char *value) {
  if (r->nq == KS__S3_MAX_Q)
    abort(); /* a programming error: the array fits every S3 call */
  r->q[r->nq].name = ks_strdup(name);
  r->q[r->nq].value = value ? ks_strdup(value) : NULL;
  r->nq++;
}

void ks__s3_req_header(ks__s3_req *r, const char *name, const char *value) {
  if (r->nh == KS__S3_MAX_H)
    abort();
  r->h[r->nh].name = ks_strdup(name);
  r->h[r->nh].value = ks_strdup(value);
  r->nh++;
}

void ks__s3_req_body(ks__s3_req *r, const void *data, size_t len, int copy) {
  if (copy) {
    ks_buf_reset(&r->own_body);
    ks_buf_append(&r->own_body, data, len);
    data = r->own_body.data;
  }
  r->body = data;
  r->body_len = len;
  if (r->url) { /* STS: signed like S3, no Content-MD5 */
    ks_sigv4_sha256_hex(data ? data : (const void *)"", len, r->payload_hash);
    return;
  }
  uint8_t md[16];
  unsigned int mdlen = 0;
  EVP_Digest(data ? data : (const void *)"", len, md, &mdlen, EVP_md5(), NULL);
  static const char hx[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    r->md5_hex[2 * i] = hx[md[i] >> 4];
    r->md5_hex[2 * i + 1] = hx[md[i] & 15];
  }
  r->md5_hex[32] = '\0';
  char b64[32];
  EVP_EncodeBlock((unsigned char *)b64, md, 16);
  ks__s3_req_header(r, "Content-MD5", b64);
  if (r->s3->conf.unsigned_payload && r->s3->https)
    strcpy(r->payload_hash, "UNSIGNED-PAYLOAD");
  else
    ks_sigv4_sha256_hex(data ? data : (const void *)"", len, r->payload_hash);
}

void ks__s3_req_free(ks__s3_req *r) {
  ks__s3 *s3 = r->s3;
  if (is_write(r->op))
    atomic_fetch_sub_explicit(&ks_storage_stats_g.writes_in_flight, 1,
                              memory_order_relaxed);
  if (r->prev_live)
    r->prev_live->next_live = r->next_live;
  else if (s3->reqs == r)
    s3->reqs = r->next_live;
  if (r->next_live)
    r->next_live->prev_live = r->prev_live;
  for (size_t i = 0; i < r->nq; i++) {
    ks_free((char *)r->q[i].name);
    ks_free((char *)r->q[i].value);
  }
  for (size_t i = 0; i < r->nh; i++) {
    ks_free((char *)r->h[i].name);
    ks_free((char *)r->h[i].value);
  }
  ks_buf_free(&r->path);
  ks_buf_free(&r->own_body);
  ks_buf_free(&r->resp);
  ks_free(r->key);
  ks_free(r->url);
  ks_free(r->sign_host);
  if (r->slist)
    curl_slist_free_all(r->slist);
  uv_close((uv_handle_t *)&r->retry, on_req_closed);
}

static void reset_answer(ks__s3_req *r) {
  r->http = 0;
  r->cerr = CURLE_OK;
  r->curl_msg[0] = r->etag[0] = r->request_id[0] = '\0';
  r->err_code[0] = r->err_msg[0] = '\0';
  r->content_length = -1;
  r->last_modified_ms = 0;
  ks_buf_reset(&r->resp);
}

void ks__s3_req_reuse(ks__s3_req *r, int op, const char *method) {
  atomic_fetch_add_explicit(&ks_storage_stats_g.writes_in_flight,
                            is_write(op) - is_write(r->op),
                            memory_order_relaxed);
  r->op = op;
  r->method = method;
  r->attempt = 0;
  r->ambiguous = 0;
  r->head = 0;
  r->error_in_200 = 0;
  reset_answer(r);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  ks__s3_req *r = ud;
  size_t len = size * n;
  if (r->head)
    return len;
  if (r->resp.len + len > r->resp_max)
    return 0; /* CURLE_WRITE_ERROR: final, reported as KS_ETOOBIG */
  return ks_buf_append(&r->resp, p, len) ? 0 : len;
}

static void copy_trimmed(char *dst, size_t cap, const char *v, size_t n,
                         int strip_quotes) {
  while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
    n--;
  while (n && *v == ' ')
    v++, n--;
  if (strip_quotes && n >= 2 && v[0] == '"' && v[n - 1] == '"')
    v++, n -= 2;
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

static size_t on_header(char *b, size_t size, size_t n, void *ud) {
  ks__s3_req *r = ud;
  size_t len = size * n;
  if (len >= 5 && strncmp(b, "HTTP/", 5) == 0) {
    /* A new response (after a 100 Continue, say): forget the last one. */
    r->etag[0] = r->request_id[0] = '\0';
    r->content_length = -1;
    return len;
  }
  const char *colon = memchr(b, ':', len);
  if (colon == NULL)
    return len;
  size_t nl = (size_t)(colon - b);
  const char *v = colon + 1;
  size_t vl = len - nl - 1;
  char tmp[128];
  if (nl == 4 && strncasecmp(b, "etag", 4) == 0) {
    copy_trimmed(r->etag, sizeof r->etag, v, vl, 1);
  } else if (nl == 14 && strncasecmp(b, "content-length", 14) == 0) {
    copy_trimmed(tmp, sizeof tmp, v, vl, 0);
    r->content_length = strtoll(tmp, NULL, 10);
  } else if (nl == 16 && strncasecmp(b, "x-amz-request-id", 16) == 0) {
    copy_trimmed(r->request_id, sizeof r->request_id, v, vl, 0);
  } else if (nl == 13 && strncasecmp(b, "last-modified", 13) == 0) {
    copy_trimmed(tmp, sizeof tmp, v, vl, 0);
    r->last_modified_ms = ks__s3_parse_time(tmp);
  } else if (nl == 4 && strncasecmp(b, "date", 4) == 0) {
    copy_trimmed(tmp, sizeof tmp, v, vl, 0);
    r->date_ms = ks__s3_parse_time(tmp);
  }
  return len;
}

static void add_header(ks__s3_req *r, const char *name, const char *value) {
  char line[2048];
  snprintf(line, sizeof line, "%s: %s", name, value);
  r->slist = curl_slist_append(r->slist, line);
}

/* Signs and hands the attempt to curl; 0 or a negative code. */
static int send_attempt(ks__s3_req *r) {
  ks__s3 *s3 = r->s3;
  /* The credentials are read here, once per attempt: a refresh installs
   * new ones for the attempts that follow, never under one in flight. */
  const ks__s3_creds *cr = r->url ? r->sign_creds : &s3->creds;
  const char *host = r->url ? r->sign_host : s3->host;
  char date[17];
  ks_sigv4_amz_date((int64_t)time(NULL), date);
  ks_sigv4_header h[KS__S3_MAX_H + 4];
  size_t nh = 0;
  if (cr) {
    h[nh++] = (ks_sigv4_header){"host", host};
    h[nh++] = (ks_sigv4_header){"x-amz-date", date};
    h[nh++] = (ks_sigv4_header){"x-amz-content-sha256", r->payload_hash};
    if (cr->token)
      h[nh++] = (ks_sigv4_header){"x-amz-security-token", cr->token};
  }
  r->cred_gen = ks__s3_chain_gen(s3);
  for (size_t i = 0; i < r->nh; i++)
    h[nh++] = r->h[i];
  ks_buf authz, url;
  ks_buf_init(&authz, 0);
  ks_buf_init(&url, 0);
  int rc = 0;
  if (cr) {
    ks_sigv4_req sr = {.method = r->method,
                       .path = (char *)r->path.data,
                       .query = r->q,
                       .nquery = r->nq,
                       .headers = h,
                       .nheaders = nh,
                       .payload_hash = r->payload_hash,
                       .amz_date = date,
                       .region = s3->region,
                       .service = r->url ? r->service : "s3",
                       .access_key = cr->access_key,
                       .secret_key = cr->secret_key};
    rc = ks_sigv4_sign(&sr, &authz, NULL, NULL);
  }
  ks_buf_cstr(&authz);
  ks_buf_append_str(&url, r->url ? r->url : s3->base_url);
  ks_buf_append(&url, r->path.data, r->path.len);
  if (r->nq) {
    ks_buf_append_byte(&url, '?');
    ks_sigv4_query(&url, r->q, r->nq);
  }
  ks_buf_cstr(&url);
  if (rc) {
    ks_buf_free(&authz);
    ks_buf_free(&url);
    return rc;
  }
  if (r->slist)
    curl_slist_free_all(r->slist);
  r->slist = NULL;
  for (size_t i = 0; i < nh; i++)
    add_header(r, h[i].name, h[i].value);
  if (cr)
    add_header(r, "Authorization", (char *)authz.data);
  /* No 100-continue round trip, no form content type on S3 bodies. */
  r->slist = curl_slist_append(r->slist, "Expect:");
  if (r->url == NULL)
    r->slist = curl_slist_append(r->slist, "Content-Type:");
  ks_buf_free(&authz);

  CURL *e = curl_easy_init();
  if (e == NULL) {
    ks_buf_free(&url);
    return KS_ENOMEM;
  }
  curl_easy_setopt(e, CURLOPT_URL, (char *)url.data);
  ks_buf_free(&url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->slist);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_msg);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)s3->conf.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                   (long)(s3->conf.stall_timeout_ms / 1000));
  if (r->timeout_ms) {
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     r->timeout_ms < s3->conf.connect_timeout_ms
                         ? r->timeout_ms
                         : (long)s3->conf.connect_timeout_ms);
  }
  if (r->url ? strncmp(r->url, "https:", 6) == 0 : s3->https) {
    if (s3->ca_file)
      curl_easy_setopt(e, CURLOPT_CAINFO, s3->ca_file);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, s3->conf.verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, s3->conf.verify_tls ? 2L : 0L);
  }
  if (r->head) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                     r->body ? (const char *)r->body : "");
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
  } else if (strcmp(r->method, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
  }
  r->easy = e;
  r->started_ms = uv_hrtime() / 1000; /* microseconds, despite the name */
  s3->inflight++;
  if (curl_multi_add_handle(s3->multi, e) != CURLM_OK) {
    s3->inflight--;
    curl_easy_cleanup(e);
    r->easy = NULL;
    return KS_EIO;
  }
  return 0;
}

static void park(ks__s3_req *r);

static void start_attempt(ks__s3_req *r) {
  ks__s3 *s3 = r->s3;
  if (s3->closing) {
    r->status = KS_ECANCELED;
    r->done(r);
    return;
  }
  /* Bucket requests wait for credentials; the credential sources' own
   * requests neither wait nor pass the bucket endpoint's breaker. */
  if (r->url == NULL && ks__s3_chain_wait(r))
    return;
  int probe = 0;
  if (r->url == NULL && !ks__s3_breaker_allow(s3->breaker, &probe)) {
    park(r);
    return;
  }
  r->probe = probe;
  reset_answer(r);
  int rc = send_attempt(r);
  if (rc) {
    if (probe)
      ks__s3_breaker_result(s3->breaker, 1, 1); /* nothing was tried */
    r->status = rc;
    r->done(r);
  }
}

static void on_park(uv_timer_t *t) {
  ks__s3 *s3 = ks_container_of(t, ks__s3, park);
  ks__s3_req *list = s3->parked;
  s3->parked = s3->parked_tail = NULL;
  while (list) {
    ks__s3_req *r = list;
    list = r->next_parked;
    r->next_parked = NULL;
    start_attempt(r);
  }
}

static void park(ks__s3_req *r) {
  ks__s3 *s3 = r->s3;
  if (s3->parked_tail)
    s3->parked_tail->next_parked = r;
  else
    s3->parked = r;
  s3->parked_tail = r;
  if (!uv_is_active((uv_handle_t *)&s3->park)) {
    uint64_t ms = ks__s3_breaker_wait_ms(s3->breaker);
    uv_timer_start(&s3->park, on_park, ms < 50 ? 50 : ms, 0);
  }
}

void ks__s3_req_submit(ks__s3_req *r) {
  start_attempt(r);
}

void ks__s3_req_resume(ks__s3_req *r) { start_attempt(r); }

static void on_retry(uv_timer_t *t) {
  start_attempt(ks_container_of(t, ks__s3_req, retry));
}

/* ---- answers ------------------------------------------------------------ */

static int curl_retryable(CURLcode c) {
  switch (c) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_WEIRD_SERVER_REPLY:
    return 1;
  default:
    return 0;
  }
}

/* After a reset or a timeout mid-request, the server may have done it. */
static int curl_ambiguous(CURLcode c) {
  return c != CURLE_COULDNT_RESOLVE_HOST && c != CURLE_COULDNT_RESOLVE_PROXY &&
         c != CURLE_COULDNT_CONNECT && c != CURLE_SSL_CONNECT_ERROR;
}

static int retryable(const ks__s3_req *r) {
  if (r->cerr != CURLE_OK)
    return curl_retryable(r->cerr);
  if (r->http >= 500 || r->http == 408 || r->http == 429)
    return 1;
  if (r->error_in_200 && r->http == 200 && r->err_code[0])
    return 1; /* Complete answered 200 with an <Error>: S3 says retry */
  return strcmp(r->err_code, "RequestTimeout") == 0 ||
         strcmp(r->err_code, "ConditionalRequestConflict") == 0 ||
         strcmp(r->err_code, "SlowDown") == 0;
}

/* An answer no retry heals: a 4xx neither expected (404, 409/412 a lost
 * conditional write, 416) nor retryable (408, 429, throttling); usually
 * 403 AccessDenied (a policy, KMS, a token the chain could not renew). */
static int refused(const ks__s3_req *r) {
  if (r->cerr != CURLE_OK || r->http < 400 || r->http >= 500 || retryable(r))
    return 0;
  return r->http != 404 && r->http != 412 && r->http != 409 &&
         r->http != 416;
}

int ks__s3_status_code(const ks__s3_req *r) {
  if (r->cerr != CURLE_OK) {
    if (r->cerr == CURLE_WRITE_ERROR)
      return KS_ETOOBIG;
    return curl_retryable(r->cerr) ? KS_EUNAVAIL : KS_EIO;
  }
  if (r->http >= 200 && r->http < 300 && !(r->error_in_200 && r->err_code[0]))
    return 0;
  switch (r->http) {
  case 404:
    return KS_ENOENT;
  case 412:
    return KS_EEXIST;
  case 401:
  case 403:
    return KS_EACCES;
  case 409:
    return KS_ECONFLICT;
  case 400:
  case 411:
  case 416:
    return KS_EINVAL;
  case 503:
    return KS_EUNAVAIL;
  default:
    return KS_EIO;
  }
}

const char *ks__s3_req_describe(const ks__s3_req *r, char *buf, size_t n) {
  if (r->cerr != CURLE_OK)
    snprintf(buf, n, "%s %s: %s%s%s", r->method, r->key,
             curl_easy_strerror(r->cerr), r->curl_msg[0] ? ": " : "",
             r->curl_msg);
  else
    snprintf(buf, n, "%s %s: HTTP %ld%s%s%s%s%s%s", r->method, r->key, r->http,
             r->err_code[0] ? " " : "", r->err_code, r->err_msg[0] ? ": " : "",
             r->err_msg, r->request_id[0] ? " request " : "", r->request_id);
  return buf;
}

static void parse_error(ks__s3_req *r) {
  const char *s = (const char *)r->resp.data;
  size_t n = r->resp.len;
  if (n == 0 || memmem(s, n, "<Error>", 7) == NULL)
    return;
  ks__xml_get(s, n, "Code", r->err_code, sizeof r->err_code);
  ks__xml_get(s, n, "Message", r->err_msg, sizeof r->err_msg);
  if (r->request_id[0] == '\0')
    ks__xml_get(s, n, "RequestId", r->request_id, sizeof r->request_id);
}

static void attempt_done(ks__s3_req *r) {
  ks__s3 *s3 = r->s3;
  uint64_t dur = uv_hrtime() / 1000 - r->started_ms;
  if (r->url == NULL)
    ks__s3_count(r->op, r->cerr == CURLE_OK ? r->http : 0, dur);
  if (r->cerr == CURLE_OK && (r->http >= 300 || r->error_in_200))
    parse_error(r);
  int retry = retryable(r);
  if (r->url == NULL) {
    ks__s3_breaker_result(s3->breaker, !retry, r->probe);
    ks_storage_note(!retry, 0);
  }
  r->probe = 0;
  char what[512];
  unsigned max = r->max_attempts ? (unsigned)r->max_attempts
                                 : (unsigned)s3->conf.retry_max_attempts;
  if (r->url == NULL && (r->http == 400 || r->http == 403) &&
      ks__s3_chain_denied(r))
    return; /* retried once with fresh credentials */
  if (retry && r->attempt + 1 < max && !s3->closing) {
    if (r->cerr != CURLE_OK ? curl_ambiguous(r->cerr)
                            : (r->http >= 500 && r->http != 503))
      r->ambiguous = 1;
    atomic_fetch_add_explicit(&ks_s3_stats_g.retries, 1, memory_order_relaxed);
    uint64_t d = ks_backoff_ms(r->attempt, (uint64_t)s3->conf.retry_base_ms,
                               (uint64_t)s3->conf.retry_cap_ms);
    r->attempt++;
    ks_log_warn("s3: %s; retry %u in %llu ms",
                ks__s3_req_describe(r, what, sizeof what), r->attempt,
                (unsigned long long)d);
    uv_timer_start(&r->retry, on_retry, d, 0);
    return;
  }
  r->status = ks__s3_status_code(r);
  if (r->status == 0 && is_write(r->op)) {
    ks_storage_note(1, r->body_len);
    if (r->url == NULL)
      ks_storage_note_accepted();
  }
  if (r->url == NULL && refused(r))
    ks_storage_note_refused(ks__s3_req_describe(r, what, sizeof what));
  if (r->status && r->status != KS_ENOENT && r->status != KS_EEXIST)
    ks_log_warn("s3: %s%s", ks__s3_req_describe(r, what, sizeof what),
                retry ? " (retries exhausted)" : "");
  r->done(r);
}

static void check_multi_info(ks__s3 *s3) {
  CURLMsg *m;
  int pending;
  s3->dispatching++;
  while (!s3->close_pending &&
         (m = curl_multi_info_read(s3->multi, &pending)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL *e = m->easy_handle;
    CURLcode res = m->data.result;
    ks__s3_req *r = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->http);
    curl_multi_remove_handle(s3->multi, e);
    curl_easy_cleanup(e);
    r->easy = NULL;
    r->cerr = res;
    s3->inflight--;
    attempt_done(r);
  }
  s3->dispatching--;
  if (s3->close_pending && s3->dispatching == 0) {
    s3->close_pending = 0;
    ks__s3_transport_close(s3);
  }
}

void ks__s3_transport_close(ks__s3 *s3) {
  if (s3->dispatching) {
    s3->close_pending = 1;
    return;
  }
  s3->closing = 1;
  ks__s3_chain_close(s3);
  /* Callers drain first; whatever is left is canceled, and told so. */
  while (s3->reqs) {
    ks__s3_req *r = s3->reqs;
    if (r->easy) {
      curl_multi_remove_handle(s3->multi, r->easy);
      curl_easy_cleanup(r->easy);
      r->easy = NULL;
      s3->inflight--;
    }
    uv_timer_stop(&r->retry);
    s3->reqs = r->next_live; /* unlink before the callback frees it */
    if (s3->reqs)
      s3->reqs->prev_live = NULL;
    r->prev_live = r->next_live = NULL;
    r->status = KS_ECANCELED;
    r->done(r);
  }
  s3->parked = s3->parked_tail = NULL;
  curl_multi_cleanup(s3->multi);
  s3->multi = NULL;
  while (s3->socks)
    sock_close(s3, s3->socks);
  uv_close((uv_handle_t *)&s3->timer, on_timer_closed);
  uv_close((uv_handle_t *)&s3->park, on_park_closed);
}
