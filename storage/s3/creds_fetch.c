/*
 * Fetching and refreshing credentials on the storage's own loop, every
 * HTTP call through the transport (curl multi), never blocking: one
 * explicit state machine (step), each answer handled in on_answer.
 *
 *   web identity:  STS AssumeRoleWithWebIdentity (token file read afresh)
 *   container:     GET the container credentials URL (+ Authorization)
 *   IMDSv2:        PUT /latest/api/token, GET the role name, GET its keys
 *   then, per role to assume on top: STS AssumeRole signed with the last.
 *
 * Credentials with an expiry are refreshed in the background before it
 * (5-6 minutes before for long-lived ones; at 1/2-3/4 of the lifetime for
 * short-lived ones, jittered). Requests sign with what is current when
 * they are sent, so a refresh never changes a request in flight. A request
 * that finds no usable credentials waits in `waiting`; a failed refresh
 * keeps the old credentials while they last and tries again with backoff.
 */
#include "storage/s3/creds.h"

#include "base/backoff.h"
#include "base/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
  STEP_IDLE,
  STEP_WEB,
  STEP_CONTAINER,
  STEP_IMDS_TOKEN,
  STEP_IMDS_ROLE,
  STEP_IMDS_CREDS,
  STEP_ASSUME
};

static const char *const step_names[] = {"idle",
                                         "STS AssumeRoleWithWebIdentity",
                                         "container credentials",
                                         "IMDSv2 token",
                                         "IMDS role name",
                                         "IMDS role credentials",
                                         "STS AssumeRole"};

/* Credentials are usable until this close to their expiry. */
#define USABLE_MARGIN_MS 10000

int ks__s3_chain_refreshable(const ks__s3_chain *c) {
  return c->nassume > 0 || c->provider == KS_S3_CRED_WEB_IDENTITY ||
         c->provider == KS_S3_CRED_CONTAINER || c->provider == KS_S3_CRED_IMDS;
}

static int usable(const ks__s3_chain *c) {
  int64_t e = c->s3->creds.expires_ms;
  return c->have && (e == 0 || ks_unix_ms() + c->margin_ms < e);
}

static void set_step(ks__s3_chain *c, int step) {
  ks_log_debug("storage.s3: credentials: %s -> %s", step_names[c->step],
               step_names[step]);
  c->step = step;
}

static void on_timer(uv_timer_t *t) {
  ks__s3_chain_fetch(ks_container_of(t, ks__s3_chain, timer));
}

static void release_waiters(ks__s3_chain *c, int status, const char *msg) {
  ks__s3_req *list = c->waiting;
  c->waiting = c->waiting_tail = NULL;
  while (list) {
    ks__s3_req *r = list;
    list = r->next_parked;
    r->next_parked = NULL;
    if (status == 0) {
      ks__s3_req_resume(r);
    } else {
      r->status = status;
      snprintf(r->err_code, sizeof r->err_code, "NoCredentials");
      size_t l = strlen(msg);
      if (l >= sizeof r->err_msg)
        l = sizeof r->err_msg - 1;
      memcpy(r->err_msg, msg, l);
      r->err_msg[l] = '\0';
      r->done(r);
    }
  }
}

static uint64_t refresh_delay(int64_t expires_ms) {
  int64_t life = expires_ms - ks_unix_ms();
  uint64_t rnd = ks_backoff_random();
  if (life <= 2 * USABLE_MARGIN_MS)
    return life > 2000 ? (uint64_t)life / 2 : 1000;
  if (life > 15 * 60000)
    return (uint64_t)(life - 5 * 60000) - rnd % 60000;
  return (uint64_t)life / 2 + rnd % ((uint64_t)life / 4 + 1);
}

static void install(ks__s3_chain *c) {
  ks__s3 *s3 = c->s3;
  int first = c->gen == 0;
  ks__s3_creds_free(&s3->creds);
  s3->creds = c->work;
  memset(&c->work, 0, sizeof c->work);
  c->have = 1;
  c->gen++;
  c->fetching = 0;
  c->failures = 0;
  set_step(c, STEP_IDLE);
  int64_t e = s3->creds.expires_ms;
  /* Credentials that live less than 40 s get a smaller margin, so that
   * what was just fetched is usable at all. */
  int64_t life = e ? e - ks_unix_ms() : 0;
  c->margin_ms = life > 4 * USABLE_MARGIN_MS ? USABLE_MARGIN_MS
                 : life > 0                  ? life / 4
                                             : 0;
  if (ks__s3_chain_refreshable(c))
    atomic_fetch_add(&ks_s3_stats_g.cred_refreshes[c->provider][0], 1);
  atomic_store(&ks_s3_stats_g.cred_provider, c->provider);
  atomic_store(&ks_s3_stats_g.cred_expires_ms, e);
  char when[64] = "never";
  if (e) {
    time_t ts = (time_t)(e / 1000);
    struct tm tm;
    gmtime_r(&ts, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  if (first)
    ks_log_info("storage.s3: credentials from %s%s (access key %.4s..., "
                "expire %s)",
                ks_s3_cred_name(c->provider),
                c->nassume ? " with an assumed role" : "", s3->creds.access_key,
                when);
  else
    ks_log_debug("storage.s3: credentials refreshed from %s (expire %s)",
                 ks_s3_cred_name(c->provider), when);
  if (e && c->timer_live)
    uv_timer_start(&c->timer, on_timer, refresh_delay(e), 0);
  release_waiters(c, 0, NULL);
}

void ks__s3_chain_install_fixed(ks__s3_chain *c) {
  ks__s3_creds_free(&c->work);
  c->work.access_key = ks_strdup(c->fixed.access_key);
  c->work.secret_key = ks_strdup(c->fixed.secret_key);
  c->work.token = c->fixed.token ? ks_strdup(c->fixed.token) : NULL;
  install(c);
}

static void fail(ks__s3_chain *c, const char *msg) {
  c->fetching = 0;
  c->failures++;
  set_step(c, STEP_IDLE);
  ks__s3_creds_free(&c->work);
  atomic_fetch_add(&ks_s3_stats_g.cred_refreshes[c->provider][1], 1);
  snprintf(c->last_err, sizeof c->last_err, "%s: %s",
           ks_s3_cred_name(c->provider), msg);
  uint64_t delay = ks_backoff_ms(c->failures - 1, 1000, 30000);
  if (delay < 1000)
    delay = 1000;
  if (usable(c)) {
    int64_t left = c->s3->creds.expires_ms - ks_unix_ms();
    ks_log_warn("storage.s3: refreshing credentials failed: %s; the current "
                "ones last %lld s more; next try in %llu ms",
                c->last_err, (long long)(left / 1000),
                (unsigned long long)delay);
    release_waiters(c, 0, NULL);
  } else {
    ks_log_error("storage.s3: no credentials: %s (the chain tried, in order: "
                 "%s)",
                 c->last_err, c->tried);
    release_waiters(c, KS_EACCES, c->last_err);
  }
  if (c->timer_live)
    uv_timer_start(&c->timer, on_timer, delay, 0);
}

/* ---- requests ----------------------------------------------------------- */

static void on_answer(ks__s3_req *r);

static ks__s3_req *new_req(ks__s3_chain *c, const char *method,
                           const char *base, const char *path) {
  ks__s3_req *r =
      ks__s3_req_url(c->s3, method, base, path, step_names[c->step]);
  r->ctx = c;
  r->done = on_answer;
  r->resp_max = 64u << 10;
  r->max_attempts = 3;
  r->timeout_ms = 5000;
  c->inflight = r;
  return r;
}

static void form(ks_buf *b, const char *name, const char *value) {
  if (b->len)
    ks_buf_append_byte(b, '&');
  ks_buf_append_str(b, name);
  ks_buf_append_byte(b, '=');
  ks_sigv4_uri_encode(b, value, strlen(value), 0);
}

static void sts_post(ks__s3_chain *c, ks_buf *body, const ks__s3_creds *sign) {
  ks__s3_req *r = new_req(c, "POST", c->sts_url, c->sts_path);
  r->sign_host = ks_strdup(c->sts_host);
  r->service = sign ? "sts" : NULL;
  r->sign_creds = sign;
  ks__s3_req_header(r, "Content-Type", "application/x-www-form-urlencoded");
  ks__s3_req_body(r, body->data, body->len, 1);
  ks_buf_free(body);
  ks__s3_req_submit(r);
}

/* ---- token files, read on the libuv thread pool -------------------------- */

/* The web identity and container authorization token files are read
 * again at each fetch (kubelet rotates them), through uv_fs on the thread
 * pool so the worker's loop never waits on the file system. The read
 * counts as one of s3's handles: the storage is not freed under it. */
typedef void (*token_fn)(ks__s3_chain *c, char *tok);

typedef struct token_read {
  uv_fs_t fs;
  ks__s3_chain *c;
  token_fn then;
  char *path;
  uv_file fd;
  char *buf;
  size_t len, cap;
  int err;
} token_read;

static void tr_read(token_read *t);

static void tr_closed(uv_fs_t *req) {
  token_read *t = ks_container_of(req, token_read, fs);
  uv_fs_req_cleanup(req);
  ks__s3_chain *c = t->c;
  ks__s3 *s3 = c->s3;
  if (!s3->closing) {
    if (t->err || t->len == 0) {
      char msg[1200];
      snprintf(msg, sizeof msg, "%s: %s", t->path,
               t->err == KS_ETOOBIG ? "larger than 64 KiB"
               : t->err             ? uv_strerror(t->err)
                                    : "empty");
      fail(c, msg);
    } else {
      while (t->len &&
             (t->buf[t->len - 1] == '\n' || t->buf[t->len - 1] == '\r' ||
              t->buf[t->len - 1] == ' '))
        t->len--;
      t->buf[t->len] = '\0';
      t->then(c, t->buf);
      t->buf = NULL; /* then owns it */
    }
  }
  if (t->buf) {
    memset(t->buf, 0, t->cap);
    ks_free(t->buf);
  }
  ks_free(t->path);
  ks_free(t);
  ks__s3_handle_gone(s3);
}

static void tr_finish(token_read *t) {
  if (t->fd < 0) {
    t->fs.data = NULL;
    tr_closed(&t->fs);
    return;
  }
  uv_fs_close(t->c->s3->base.loop, &t->fs, t->fd, tr_closed);
}

static void tr_on_read(uv_fs_t *req) {
  token_read *t = ks_container_of(req, token_read, fs);
  ssize_t n = req->result;
  uv_fs_req_cleanup(req);
  if (n < 0) {
    t->err = (int)n;
    tr_finish(t);
  } else if (n == 0) {
    tr_finish(t);
  } else {
    t->len += (size_t)n;
    if (t->len == t->cap) {
      t->err = KS_ETOOBIG;
      tr_finish(t);
    } else {
      tr_read(t);
    }
  }
}

static void tr_read(token_read *t) {
  uv_buf_t b = uv_buf_init(t->buf + t->len, (unsigned)(t->cap - t->len));
  uv_fs_read(t->c->s3->base.loop, &t->fs, t->fd, &b, 1, -1, tr_on_read);
}

static void tr_on_open(uv_fs_t *req) {
  token_read *t = ks_container_of(req, token_read, fs);
  int fd = (int)req->result;
  uv_fs_req_cleanup(req);
  if (fd < 0) {
    t->err = fd;
    tr_finish(t);
    return;
  }
  t->fd = fd;
  tr_read(t);
}

static void read_token(ks__s3_chain *c, const char *path, token_fn then) {
  token_read *t = ks_calloc(1, sizeof *t);
  t->c = c;
  t->then = then;
  t->path = ks_strdup(path);
  t->fd = -1;
  t->cap = (64u << 10) + 1; /* one more byte than allowed: detects larger */
  t->buf = ks_malloc(t->cap + 1);
  c->s3->handles++;
  uv_fs_open(c->s3->base.loop, &t->fs, path, O_RDONLY | O_CLOEXEC, 0,
             tr_on_open);
}

static void web_identity_send(ks__s3_chain *c, char *tok) {
  set_step(c, STEP_WEB);
  ks_buf b;
  ks_buf_init(&b, 0);
  form(&b, "Action", "AssumeRoleWithWebIdentity");
  form(&b, "Version", "2011-06-15");
  form(&b, "RoleArn", c->web_role_arn);
  form(&b, "RoleSessionName", c->session_name);
  form(&b, "WebIdentityToken", tok);
  memset(tok, 0, strlen(tok));
  ks_free(tok);
  sts_post(c, &b, NULL);
}

static void web_identity(ks__s3_chain *c) {
  read_token(c, c->token_file, web_identity_send);
}

static void assume_next(ks__s3_chain *c) {
  if (c->hop >= c->nassume) {
    install(c);
    return;
  }
  set_step(c, STEP_ASSUME);
  ks_buf b;
  ks_buf_init(&b, 0);
  form(&b, "Action", "AssumeRole");
  form(&b, "Version", "2011-06-15");
  form(&b, "RoleArn", c->assume_arn[c->hop]);
  form(&b, "RoleSessionName", c->session_name);
  if (c->assume_ext[c->hop])
    form(&b, "ExternalId", c->assume_ext[c->hop]);
  sts_post(c, &b, &c->work);
}

static void container_send(ks__s3_chain *c, char *tok) {
  set_step(c, STEP_CONTAINER);
  ks__s3_req *r = new_req(c, "GET", c->container_url, c->container_path);
  if (tok) {
    ks__s3_req_header(r, "Authorization", tok);
    memset(tok, 0, strlen(tok));
    ks_free(tok);
  }
  ks__s3_req_submit(r);
}

static void container(ks__s3_chain *c) {
  if (c->container_token_file)
    read_token(c, c->container_token_file, container_send);
  else
    container_send(c,
                   c->container_token ? ks_strdup(c->container_token) : NULL);
}

static void imds_token(ks__s3_chain *c) {
  set_step(c, STEP_IMDS_TOKEN);
  ks__s3_req *r = new_req(c, "PUT", c->imds_url, "/latest/api/token");
  r->timeout_ms = 2000;
  r->max_attempts = 2;
  ks__s3_req_header(r, "X-aws-ec2-metadata-token-ttl-seconds", "21600");
  ks__s3_req_submit(r);
}

static void imds_get(ks__s3_chain *c, int step) {
  set_step(c, step);
  ks_buf p;
  ks_buf_init(&p, 0);
  ks_buf_append_str(&p, "/latest/meta-data/iam/security-credentials/");
  if (step == STEP_IMDS_CREDS)
    ks_sigv4_uri_encode(&p, c->imds_role, strlen(c->imds_role), 0);
  ks_buf_cstr(&p);
  ks__s3_req *r = new_req(c, "GET", c->imds_url, (char *)p.data);
  ks_buf_free(&p);
  r->timeout_ms = 2000;
  ks__s3_req_header(r, "X-aws-ec2-metadata-token", c->imds_token);
  ks__s3_req_submit(r);
}

void ks__s3_chain_fetch(ks__s3_chain *c) {
  if (c->fetching || c->s3->closing)
    return;
  c->fetching = 1;
  c->hop = 0;
  uv_timer_stop(&c->timer);
  ks__s3_creds_free(&c->work);
  switch (c->provider) {
  case KS_S3_CRED_WEB_IDENTITY:
    web_identity(c);
    break;
  case KS_S3_CRED_CONTAINER:
    container(c);
    break;
  case KS_S3_CRED_IMDS:
    imds_token(c);
    break;
  default:
    c->work.access_key = ks_strdup(c->fixed.access_key);
    c->work.secret_key = ks_strdup(c->fixed.secret_key);
    c->work.token = c->fixed.token ? ks_strdup(c->fixed.token) : NULL;
    assume_next(c);
  }
}

/* What to tell the user about a failed step, beyond the answer itself. */
static const char *hint(const ks__s3_chain *c, const ks__s3_req *r) {
  if (c->step == STEP_IMDS_TOKEN &&
      (r->cerr == CURLE_OPERATION_TIMEDOUT || r->cerr == CURLE_GOT_NOTHING ||
       r->cerr == CURLE_COULDNT_CONNECT))
    return " (no answer to the IMDSv2 token PUT: not on EC2, or, inside a "
           "container on EC2, the instance's metadata hop limit is 1: raise "
           "it with aws ec2 modify-instance-metadata-options "
           "--http-put-response-hop-limit 2)";
  if (c->step == STEP_IMDS_ROLE && r->http == 404)
    return " (the instance has no IAM role: attach an instance profile)";
  if (c->step == STEP_IMDS_TOKEN && r->http == 403)
    return " (the instance metadata service is turned off for this "
           "instance)";
  return "";
}

static void on_answer(ks__s3_req *r) {
  ks__s3_chain *c = r->ctx;
  c->inflight = NULL;
  if (r->status == KS_ECANCELED || c->s3->closing) {
    ks__s3_req_free(r);
    return;
  }
  char msg[600], what[512];
  const char *body = (const char *)r->resp.data;
  size_t n = r->resp.len;
  if (r->status) {
    snprintf(msg, sizeof msg, "%s%s", ks__s3_req_describe(r, what, sizeof what),
             hint(c, r));
    ks__s3_req_free(r);
    fail(c, msg);
    return;
  }
  ks__s3_creds got;
  memset(&got, 0, sizeof got);
  int rc = 0;
  char err[300] = "";
  int step = c->step;
  switch (step) {
  case STEP_WEB:
  case STEP_ASSUME:
    rc = ks__s3_parse_sts(body ? body : "", n, &got, err, sizeof err);
    break;
  case STEP_CONTAINER:
  case STEP_IMDS_CREDS:
    rc = ks__s3_parse_json_creds(body ? body : "", n, &got, err, sizeof err);
    break;
  case STEP_IMDS_TOKEN:
  case STEP_IMDS_ROLE: {
    size_t l = 0;
    while (l < n && body[l] != '\r' && body[l] != '\n')
      l++;
    if (l == 0 || l > 1024) {
      rc = KS_EINVAL;
      snprintf(err, sizeof err, "empty answer");
    } else if (step == STEP_IMDS_TOKEN) {
      ks_free(c->imds_token);
      c->imds_token = ks_strndup(body, l);
    } else {
      ks_free(c->imds_role);
      c->imds_role = ks_strndup(body, l);
    }
    break;
  }
  default:
    break;
  }
  ks__s3_req_free(r);
  if (rc) {
    snprintf(msg, sizeof msg, "%s: %s", step_names[step], err);
    fail(c, msg);
    return;
  }
  if (step == STEP_IMDS_TOKEN) {
    imds_get(c, STEP_IMDS_ROLE);
    return;
  }
  if (step == STEP_IMDS_ROLE) {
    imds_get(c, STEP_IMDS_CREDS);
    return;
  }
  ks__s3_creds_free(&c->work);
  c->work = got;
  if (step == STEP_ASSUME)
    c->hop++;
  assume_next(c);
}

/* ---- what the transport asks ------------------------------------------- */

uint64_t ks__s3_chain_gen(const ks__s3 *s3) {
  return s3->chain ? s3->chain->gen : 0;
}

int ks__s3_chain_wait(ks__s3_req *r) {
  ks__s3_chain *c = r->s3->chain;
  if (c == NULL || usable(c))
    return 0;
  if (c->waiting_tail)
    c->waiting_tail->next_parked = r;
  else
    c->waiting = r;
  c->waiting_tail = r;
  ks__s3_chain_fetch(c);
  return 1;
}

int ks__s3_chain_denied(ks__s3_req *r) {
  ks__s3_chain *c = r->s3->chain;
  static const char *const codes[] = {"ExpiredToken", "InvalidToken",
                                      "InvalidAccessKeyId",
                                      "TokenRefreshRequired"};
  int match = 0;
  for (size_t i = 0; i < KS_ARRAY_SIZE(codes); i++)
    match |= strcmp(r->err_code, codes[i]) == 0;
  if (c == NULL || !match || r->cred_retried || !ks__s3_chain_refreshable(c))
    return 0;
  r->cred_retried = 1;
  ks_log_warn("storage.s3: %s %s: %s; refreshing credentials and retrying "
              "once",
              r->method, r->key, r->err_code);
  if (r->cred_gen == c->gen)
    c->have = 0; /* what signed it is what we have: fetch anew */
  if (!ks__s3_chain_wait(r))
    ks__s3_req_resume(r);
  return 1;
}

static void on_timer_closed(uv_handle_t *h) {
  ks__s3_chain *c = ks_container_of((uv_timer_t *)h, ks__s3_chain, timer);
  ks__s3_handle_gone(c->s3);
}

void ks__s3_chain_close(ks__s3 *s3) {
  ks__s3_chain *c = s3->chain;
  if (c == NULL || !c->timer_live)
    return;
  /* Waiting requests are live requests too: the transport cancels them. */
  c->waiting = c->waiting_tail = NULL;
  c->timer_live = 0;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}
