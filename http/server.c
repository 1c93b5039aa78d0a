/*
 * The HTTP transport: h2o's libuv build on a loop and thread of its own.
 * ks_http_start binds in the caller's thread (so a busy port is an error
 * the caller can report before anything else starts), then hands the loop
 * to the server thread. ks_http_stop posts to the loop through a
 * uv_async_t; the loop closes the listener, shuts every open connection's
 * socket down so h2o sees EOF and frees the connection through its own
 * path, and stops once the last one is gone. h2o's context is disposed
 * only then: it must not outlive a connection that points into it.
 */
#define H2O_USE_LIBUV 1
#include <h2o.h>

#include "http/server.h"
#include "base/hostport.h"

#include "base/buf.h"
#include "base/ks.h"
#include "base/log.h"
#include "http/internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/* Operators and scrapers, not the public: a small cap keeps a
 * misbehaving client from eating the process's descriptors. A few more
 * are kept for the kubelet: past the cap, connections are still accepted
 * up to KS_HTTP_PROBE_CONNS more, and while the server is that full only
 * /healthz and /readyz are answered (others get 503 and a close), so idle
 * or slow clients holding every slot never fail the probes. When even
 * those are taken, a new connection closes the oldest one that has been
 * open a second or more (every answer here is built from memory in
 * microseconds: such a connection idles), so the next probe gets in. */
#define KS_HTTP_MAX_CONNS 64
#define KS_HTTP_PROBE_CONNS 8
/* Request bodies: the admin calls take none; h2o answers 413 past this
 * (from Content-Length, before reading the body), not 1 GiB later. */
#define KS_HTTP_MAX_BODY 4096

typedef struct ks_http_conn {
  uv_tcp_t tcp;
  ks_http *h;
  uint64_t accepted_ms;
  int evicted;
  struct ks_http_conn *prev, *next;
} ks_http_conn;

typedef struct ks_http_handler {
  h2o_handler_t super;
  ks_http *h;
} ks_http_handler;

struct ks_http {
  ks_pipeline *p;
  int port;
  double start_time;
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t stop_async;
  uv_thread_t thread;
  h2o_globalconf_t config;
  h2o_context_t ctx;
  h2o_accept_ctx_t accept_ctx;
  ks_http_conn *conns; /* open connections (list) */
  int nconns;
  int stopping;
  ks_buf body; /* reused by every response; only the loop touches it */
};

/* ---- responses ---------------------------------------------------------- */

static const char text_plain[] = "text/plain; charset=utf-8";

static void respond(h2o_req_t *req, int status, const char *reason,
                    const char *ctype, const void *body, size_t len) {
  req->res.status = status;
  req->res.reason = reason;
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 ctype, strlen(ctype));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                 H2O_STRLIT("no-store"));
  h2o_send_inline(req, body, len); /* copies into the request's pool */
}

static void respond_text(h2o_req_t *req, int status, const char *reason,
                         const char *line) {
  char tmp[512];
  int n = snprintf(tmp, sizeof tmp, "%s\n", line);
  if (n < 0 || (size_t)n >= sizeof tmp)
    n = (int)sizeof tmp - 1;
  respond(req, status, reason, text_plain, tmp, (size_t)n);
}

static void respond_body(ks_http *h, h2o_req_t *req, int r, const char *ctype) {
  if (r) {
    ks_log_error("http: cannot render %.*s: %s", (int)req->path.len,
                 req->path.base, ks_strerror(r));
    respond_text(req, 500, "Internal Server Error", ks_strerror(r));
    return;
  }
  respond(req, 200, "OK", ctype, h->body.data, h->body.len);
}

enum route {
  ROUTE_NONE,
  ROUTE_HEALTHZ,
  ROUTE_READYZ,
  ROUTE_METRICS,
  ROUTE_STATUS
};

static enum route route_of(h2o_iovec_t path) {
  static const struct {
    const char *path;
    enum route route;
  } routes[] = {{"/healthz", ROUTE_HEALTHZ},
                {"/readyz", ROUTE_READYZ},
                {"/metrics", ROUTE_METRICS},
                {"/status", ROUTE_STATUS}};
  for (size_t i = 0; i < KS_ARRAY_SIZE(routes); i++)
    if (h2o_memis(path.base, path.len, routes[i].path, strlen(routes[i].path)))
      return routes[i].route;
  return ROUTE_NONE;
}

/* Who may change the connector: with http.admin_token, a request bearing
 * it; without, a loopback peer. */
static int auth_of(const ks_http *h, h2o_req_t *req) {
  const char *tok = h->p->conf->http_admin_token;
  if (tok && tok[0]) {
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
      return KS__AUTH_NO_TOKEN;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t tl = strlen(tok);
    if (v.len != 7 + tl || strncasecmp(v.base, "Bearer ", 7) != 0)
      return KS__AUTH_NO_TOKEN;
    unsigned diff = 0; /* the same time for every wrong token */
    for (size_t k = 0; k < tl; k++)
      diff |= (unsigned char)(v.base[7 + k] ^ tok[k]);
    return diff ? KS__AUTH_NO_TOKEN : KS__AUTH_OK;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) ==
      0)
    return KS__AUTH_FORBIDDEN;
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127 ? KS__AUTH_OK
                                                    : KS__AUTH_FORBIDDEN;
  }
  if (ss.ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a) ||
        (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127))
      return KS__AUTH_OK;
  }
  return KS__AUTH_FORBIDDEN;
}

static int is_mutation(h2o_req_t *req) {
  return !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
         !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
}

/* The host part of a Host header ("h", "h:port", "[v6]:port"), in out. */
static int host_of(h2o_iovec_t v, char *out, size_t n) {
  const char *b = v.base, *e = v.base + v.len;
  if (v.len && b[0] == '[') {
    const char *close = memchr(b, ']', v.len);
    if (close == NULL)
      return -1;
    b++;
    e = close;
  } else {
    const char *colon = memchr(b, ':', v.len);
    if (colon)
      e = colon;
  }
  if (e <= b || (size_t)(e - b) >= n)
    return -1;
  memcpy(out, b, (size_t)(e - b));
  out[e - b] = '\0';
  return 0;
}

/* The connection's own address as text (what a client that dialled an
 * IP literal sends as Host). */
static int local_addr(h2o_req_t *req, char *out, size_t n) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  if (req->conn->callbacks->get_sockname(req->conn, (struct sockaddr *)&ss) ==
      0)
    return -1;
  const void *a = ss.ss_family == AF_INET6
                      ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                      : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
  return inet_ntop(ss.ss_family, a, out, (socklen_t)n) ? 0 : -1;
}

/* Why a mutating call is refused before authentication, or NULL. A
 * browser adds Origin to every cross-site POST/PUT, and a DNS-rebinding
 * page reaches 127.0.0.1 under its own name in Host: neither may change
 * the connector, whatever the token. Accepted Hosts: the listen host,
 * localhost and loopback literals, the address the client connected to
 * (an IP literal cannot be rebound) and http.allowed_hosts. */
static const char *csrf_refusal(const ks_http *h, h2o_req_t *req) {
  if (h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1) >= 0)
    return "requests with an Origin header (from a browser) may not change "
           "the connector";
  char host[256], local[INET6_ADDRSTRLEN], lhost[256], lport[8];
  if (req->authority.len == 0 || host_of(req->authority, host, sizeof host))
    return "a Host header naming this server is required";
  const ks_conf *conf = h->p->conf;
  if (ks_host_is_loopback(host) ||
      (local_addr(req, local, sizeof local) == 0 &&
       strcasecmp(host, local) == 0) ||
      (ks_hostport_parse(conf->http_listen, lhost, sizeof lhost, lport,
                         sizeof lport) == 0 &&
       lhost[0] && strcasecmp(host, lhost) == 0))
    return NULL;
  for (size_t i = 0; i < conf->nhttp_allowed_hosts; i++)
    if (strcasecmp(host, conf->http_allowed_hosts[i]) == 0)
      return NULL;
  return "the Host header names neither this server's address, localhost "
         "nor one of http.allowed_hosts";
}

static void on_connect_api(ks_http *h, h2o_req_t *req) {
  const char *csrf = is_mutation(req) ? csrf_refusal(h, req) : NULL;
  if (csrf) {
    char msg[300];
    snprintf(msg, sizeof msg, "{\"error_code\":403,\"message\":\"%s\"}",
             csrf);
    respond(req, 403, "Forbidden", "application/json", msg, strlen(msg));
    return;
  }
  char worker_id[300];
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  snprintf(worker_id, sizeof worker_id, "%s:%d", host, h->port);
  int status = 200;
  const char *query = "";
  size_t qlen = 0;
  if (req->query_at != SIZE_MAX && req->query_at + 1 <= req->path.len) {
    query = req->path.base + req->query_at + 1;
    qlen = req->path.len - req->query_at - 1;
  }
  int r = ks__http_connect(h->p, req->method.base, req->method.len,
                           req->path_normalized.base, req->path_normalized.len,
                           query, qlen, auth_of(h, req), worker_id, &h->body,
                           &status);
  if (r) {
    respond_body(h, req, r, "application/json");
    return;
  }
  static const struct {
    int status;
    const char *reason;
  } reasons[] = {{200, "OK"},           {202, "Accepted"},
                 {204, "No Content"},   {401, "Unauthorized"},
                 {403, "Forbidden"},    {404, "Not Found"},
                 {405, "Method Not Allowed"}};
  const char *reason = "OK";
  for (size_t i = 0; i < KS_ARRAY_SIZE(reasons); i++)
    if (reasons[i].status == status)
      reason = reasons[i].reason;
  if (status == 401)
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE,
                   NULL, H2O_STRLIT("Bearer"));
  if (status == 204) {
    req->res.status = 204;
    req->res.reason = reason;
    h2o_send_inline(req, "", 0);
    return;
  }
  respond(req, status, reason, "application/json", h->body.data, h->body.len);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  ks_http *h = ks_container_of(self, ks_http_handler, super)->h;
  h2o_iovec_t path = req->path_normalized;
  if (h->nconns > KS_HTTP_MAX_CONNS && route_of(path) != ROUTE_HEALTHZ &&
      route_of(path) != ROUTE_READYZ) {
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONNECTION, NULL,
                   H2O_STRLIT("close"));
    respond_text(req, 503, "Service Unavailable",
                 "too many connections: only /healthz and /readyz are "
                 "answered");
    return 0;
  }
  if ((path.len >= 11 && memcmp(path.base, "/connectors", 11) == 0 &&
       (path.len == 11 || path.base[11] == '/')) ||
      h2o_memis(path.base, path.len, H2O_STRLIT("/")) ||
      h2o_memis(path.base, path.len, H2O_STRLIT("/connector-plugins"))) {
    ks_buf_reset(&h->body);
    on_connect_api(h, req);
    return 0;
  }
  enum route route = route_of(path);
  if (route == ROUTE_NONE) {
    respond_text(req, 404, "Not Found",
                 "not found (try /healthz, /readyz, /metrics, /status, "
                 "/connectors)");
    return 0;
  }
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                   H2O_STRLIT("GET"));
    respond_text(req, 405, "Method Not Allowed", "method not allowed");
    return 0;
  }
  char why[512];
  const char *bad;
  ks_buf_reset(&h->body);
  /* /metrics and /status grow with the partitions owned (a lag series, a
   * status entry each): the cap follows them instead of failing with 500
   * past a few thousand */
  h->body.max = KS__HTTP_BODY_MAX +
                (size_t)atomic_load(&h->p->assigned) * KS__HTTP_BODY_PER_PARTITION;
  switch (route) {
  case ROUTE_HEALTHZ:
    bad = ks__http_unhealthy(h->p, ks_mono_ms(), why, sizeof why);
    if (bad)
      respond_text(req, 503, "Service Unavailable", bad);
    else
      respond_text(req, 200, "OK", "ok");
    break;
  case ROUTE_READYZ:
    bad = ks__http_unready(h->p, why, sizeof why);
    if (bad)
      respond_text(req, 503, "Service Unavailable", bad);
    else
      respond_text(req, 200, "OK", "ready");
    break;
  case ROUTE_METRICS:
    respond_body(h, req, ks__http_render_metrics(h->p, h->start_time, &h->body),
                 "text/plain; version=0.0.4; charset=utf-8");
    break;
  case ROUTE_STATUS:
    respond_body(h, req, ks__http_render_status(h->p, ks_mono_ms(), &h->body),
                 "application/json");
    break;
  case ROUTE_NONE:
    break;
  }
  return 0;
}

/* ---- connections -------------------------------------------------------- */

static void maybe_done(ks_http *h) {
  if (h->stopping && h->nconns == 0)
    uv_stop(&h->loop);
}

/* The close callback of a connection's handle, whether h2o closed it or we
 * did: the only place its memory is freed. */
static void on_conn_closed(uv_handle_t *handle) {
  ks_http_conn *c = ks_container_of(handle, ks_http_conn, tcp);
  ks_http *h = c->h;
  if (c->prev)
    c->prev->next = c->next;
  else
    h->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  h->nconns--;
  ks_free(c);
  maybe_done(h);
}

/* Shuts the oldest connection open for a second or more down (h2o sees
 * EOF and closes it through its own path); 0 when there is none. */
static int evict_oldest(ks_http *h, uint64_t now) {
  ks_http_conn *old = NULL;
  for (ks_http_conn *c = h->conns; c; c = c->next)
    if (!c->evicted && now - c->accepted_ms >= 1000 &&
        (old == NULL || c->accepted_ms < old->accepted_ms))
      old = c;
  uv_os_fd_t fd;
  if (old == NULL || uv_fileno((uv_handle_t *)&old->tcp, &fd) != 0)
    return 0;
  old->evicted = 1;
  shutdown(fd, SHUT_RDWR);
  return 1;
}

static void on_accept(uv_stream_t *listener, int status) {
  ks_http *h = ks_container_of(listener, ks_http, listener);
  if (status != 0)
    return;
  ks_http_conn *c = ks_calloc(1, sizeof *c);
  c->h = h;
  uv_tcp_init(&h->loop, &c->tcp);
  c->next = h->conns;
  if (h->conns)
    h->conns->prev = c;
  h->conns = c;
  h->nconns++;
  c->accepted_ms = ks_mono_ms();
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
      (h->nconns > KS_HTTP_MAX_CONNS + KS_HTTP_PROBE_CONNS &&
       !evict_oldest(h, c->accepted_ms))) {
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  h2o_socket_t *sock =
      h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_closed);
  h2o_accept(&h->accept_ctx, sock);
}

static void on_stop(uv_async_t *a) {
  ks_http *h = ks_container_of(a, ks_http, stop_async);
  h->stopping = 1;
  uv_close((uv_handle_t *)&h->listener, NULL);
  uv_close((uv_handle_t *)&h->stop_async, NULL);
  /* Idle connections wait in a read that the shutdown ends with EOF, busy
   * ones fail their write: either way h2o closes them through its own path
   * and on_conn_closed runs. (Not h2o_context_request_shutdown: its HTTP/2
   * GOAWAY dance parks a one-second timer that outlives the connections
   * and trips h2o_context_dispose.) */
  for (ks_http_conn *c = h->conns; c; c = c->next) {
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
      shutdown(fd, SHUT_RDWR);
  }
  maybe_done(h);
}

/* h2o 2.2 keeps freed memory-pool chunks and socket buffers in
 * thread-local free lists (up to 16 each) and has no call to empty them:
 * a thread that exits leaks what they hold. Take every cached entry back
 * through the public allocators and free it. Pool chunks: an empty pool
 * (chunk_offset as h2o_mem_init_pool leaves it) takes a fresh chunk on
 * every one-byte allocation, which we free at once. */
static void drain_h2o_thread_caches(void) {
  h2o_mem_recycle_t *bufs = &h2o_socket_buffer_prototype.allocator;
  while (bufs->cnt)
    free(h2o_mem_alloc_recycle(bufs, 0));
  h2o_mem_pool_t pool;
  h2o_mem_init_pool(&pool);
  size_t full = pool.chunk_offset;
  for (int i = 0; i < 16; i++) {
    h2o_mem_alloc_pool(&pool, 1);
    free(pool.chunks);
    pool.chunks = NULL;
    pool.chunk_offset = full;
  }
}

/* Runs the loop until stopped, then lets h2o close its own handles. */
static void serve(ks_http *h) {
  uv_run(&h->loop, UV_RUN_DEFAULT);
  h2o_context_dispose(&h->ctx);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  drain_h2o_thread_caches();
}

static void server_main(void *arg) {
  serve(arg);
}

static void destroy(ks_http *h) {
  int r = uv_loop_close(&h->loop);
  if (r)
    ks_log_error("http: loop closed with handles open: %s", uv_strerror(r));
  h2o_config_dispose(&h->config);
  ks_buf_free(&h->body);
  ks_free(h);
}

/* ---- start and stop ----------------------------------------------------- */

static int bind_listener(ks_http *h, const char *listen, char *err,
                         size_t errlen) {
  char host[256], port[8];
  if (ks_hostport_parse(listen, host, sizeof host, port, sizeof port)) {
    snprintf(err, errlen,
             "http.listen %s: expected host:port like \"127.0.0.1:8083\" "
             "(port 0 picks a free one, \"off\" disables HTTP)",
             listen);
    return KS_ECONFIG;
  }
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gr = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
  if (gr) {
    snprintf(err, errlen, "http.listen %s: %s", listen, gai_strerror(gr));
    return KS_ECONFIG;
  }
  uv_tcp_init(&h->loop, &h->listener);
  int r = uv_tcp_bind(&h->listener, ai->ai_addr, 0);
  freeaddrinfo(ai);
  if (r == 0)
    r = uv_listen((uv_stream_t *)&h->listener, 128, on_accept);
  if (r == 0) {
    struct sockaddr_storage ss;
    int len = sizeof ss;
    r = uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &len);
    if (r == 0)
      h->port = ntohs(ss.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *)&ss)->sin6_port
                          : ((struct sockaddr_in *)&ss)->sin_port);
  }
  if (r) {
    snprintf(err, errlen, "http.listen %s: %s", listen, uv_strerror(r));
    uv_close((uv_handle_t *)&h->listener, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
  }
  return r;
}

int ks_http_start(ks_pipeline *p, const char *listen, ks_http **out, char *err,
                  size_t errlen) {
  *out = NULL;
  ks_http *h = ks_calloc(1, sizeof *h);
  h->p = p;
  h->start_time = ks__http_process_start_time();
  ks_buf_init(&h->body, KS__HTTP_BODY_MAX);
  int r = uv_loop_init(&h->loop);
  if (r) {
    snprintf(err, errlen, "http: cannot create a loop: %s", uv_strerror(r));
    ks_buf_free(&h->body);
    ks_free(h);
    return r;
  }
  if ((r = bind_listener(h, listen, err, errlen))) {
    uv_loop_close(&h->loop);
    ks_buf_free(&h->body);
    ks_free(h);
    return r;
  }
  uv_async_init(&h->loop, &h->stop_async, on_stop);

  h2o_config_init(&h->config);
  h->config.server_name = h2o_iovec_init(H2O_STRLIT("ksink/" KS_VERSION));
  /* HTTP/1.1 only: nothing here needs HTTP/2, whose graceful shutdown and
   * thread-local write buffers would outlive ks_http_stop. */
  h->config.http1.upgrade_to_http2 = 0;
  h->config.max_request_entity_size = KS_HTTP_MAX_BODY;
  h2o_hostconf_t *hostconf = h2o_config_register_host(
      &h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
  ks_http_handler *handler =
      (ks_http_handler *)h2o_create_handler(pathconf, sizeof *handler);
  handler->super.on_req = on_req;
  handler->h = h;
  h2o_context_init(&h->ctx, &h->loop, &h->config);
  h->accept_ctx.ctx = &h->ctx;
  h->accept_ctx.hosts = h->config.hosts;

  /* The server thread takes no signals: SIGINT/SIGTERM belong to the
   * control loop, and a peer that hangs up mid-response must fail the
   * write with EPIPE, not kill the process with SIGPIPE. */
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  r = uv_thread_create(&h->thread, server_main, h);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (r) {
    snprintf(err, errlen, "http: cannot start a thread: %s", uv_strerror(r));
    on_stop(&h->stop_async);
    serve(h);
    destroy(h);
    return r;
  }
  *out = h;
  return 0;
}

int ks_http_port(const ks_http *h) {
  return h->port;
}

void ks_http_stop(ks_http *h) {
  if (h == NULL)
    return;
  uv_async_send(&h->stop_async);
  uv_thread_join(&h->thread);
  destroy(h);
}
