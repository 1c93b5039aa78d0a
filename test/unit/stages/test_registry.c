/*
 * stages/registry.c against a registry of the test's own: a small HTTP
 * server on 127.0.0.1:0 (one thread, one request per connection) that
 * answers each path from a table the test sets, and counts the requests.
 * Checks what a lookup's outcome tells the caller (a schema, a verdict on
 * the id, or "ask again later"), for top-level requests and reference
 * fetches alike, and what the cache hands out.
 */
#include "base/ks.h"
#include "stages/registry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the registry ------------------------------------------------------- */

typedef struct route {
  const char *path;
  int status;
  const char *headers; /* extra header lines, each ending in \r\n */
  const char *body;
  int hits;
} route;

typedef struct server {
  int fd, port;
  pthread_t thread;
  route *routes;
  size_t nroutes;
  int connections;
} server;

static void answer(server *s, int c) {
  char req[4096];
  size_t n = 0;
  while (n < sizeof req - 1) {
    ssize_t k = read(c, req + n, sizeof req - 1 - n);
    if (k <= 0)
      break;
    n += (size_t)k;
    req[n] = 0;
    if (strstr(req, "\r\n\r\n"))
      break;
  }
  req[n] = 0;
  char path[1024] = "";
  if (sscanf(req, "GET %1023s ", path) != 1)
    return;
  route none = {path, 404, "",
                "{\"error_code\":40403,\"message\":\"not found\"}", 0};
  route *r = &none;
  for (size_t i = 0; i < s->nroutes; i++)
    if (strcmp(s->routes[i].path, path) == 0)
      r = &s->routes[i];
  __atomic_add_fetch(&r->hits, 1, __ATOMIC_SEQ_CST);
  char head[1024];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                    r->status, strlen(r->body), r->headers ? r->headers : "");
  if (write(c, head, (size_t)hl) != hl ||
      write(c, r->body, strlen(r->body)) != (ssize_t)strlen(r->body))
    return;
}

static void *serve(void *arg) {
  server *s = arg;
  for (;;) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      return NULL; /* shut down */
    __atomic_add_fetch(&s->connections, 1, __ATOMIC_SEQ_CST);
    answer(s, c);
    close(c);
  }
}

static void server_start(server *s, route *routes, size_t n) {
  memset(s, 0, sizeof *s);
  s->routes = routes;
  s->nroutes = n;
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(s->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(s->fd, 16), 0);
  assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s) {
  shutdown(s->fd, SHUT_RDWR);
  pthread_join(s->thread, NULL);
  close(s->fd);
}

static ks_registry *registry(const server *s) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
  char *urls[] = {url};
  return ks_registry_new(urls, 1, NULL, NULL);
}

#define SCHEMA_R                                                               \
  "\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"R\\\",\\\"fields\\\":[{"    \
  "\\\"name\\\":\\\"a\\\",\\\"type\\\":\\\"int\\\"}]}\""

/* ---- the cache ---------------------------------------------------------- */

/* A schema asked by GUID comes without an id (the cache keeps it as id
 * 0); schema id 0 is another schema (here: none), never the GUID's. */
static void guid_schema_is_not_id_0(void **state) {
  KS_UNUSED(state);
  route routes[] = {
      {"/schemas/guids/00112233-4455-6677-8899-aabbccddeeff", 200, NULL,
       "{\"schemaType\":\"AVRO\",\"schema\":" SCHEMA_R "}", 0},
  };
  server s;
  server_start(&s, routes, KS_ARRAY_SIZE(routes));
  ks_registry *r = registry(&s);
  const ks_registry_schema *rs = NULL;
  char err[256] = "";
  assert_int_equal(
      ks_registry_schema_by_guid_sync(r, "00112233-4455-6677-8899-aabbccddeeff",
                                      &rs, err, sizeof err),
      KS_REGISTRY_OK);
  assert_int_equal(rs->id, 0);
  rs = NULL;
  assert_int_equal(ks_registry_schema_sync(r, 0, &rs, err, sizeof err),
                   KS_REGISTRY_UNKNOWN);
  assert_null(rs);
  assert_non_null(strstr(err, "/schemas/ids/0"));
  /* the GUID still finds its schema, from the cache */
  assert_int_equal(
      ks_registry_schema_by_guid_sync(r, "00112233-4455-6677-8899-aabbccddeeff",
                                      &rs, err, sizeof err),
      KS_REGISTRY_OK);
  assert_int_equal(routes[0].hits, 1);
  ks_registry_free(r);
  server_stop(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(guid_schema_is_not_id_0),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
