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

/* ---- references --------------------------------------------------------- */

/* JSON text of a JSON text (the registry's "schema" member). */
static void quote(char *out, size_t cap, const char *json) {
  size_t o = 0;
  out[o++] = '"';
  for (; *json && o + 3 < cap; json++) {
    if (*json == '"' || *json == '\\')
      out[o++] = '\\';
    out[o++] = *json;
  }
  out[o++] = '"';
  out[o] = 0;
}

/* Order refers to Price and Money, Price to Money too: Money is one
 * schema, gathered once, before both its dependents (Avro refuses a type
 * defined twice). A reference named as one gathered already is that one
 * (Confluent's clients resolve each name once); in a JSON Schema the same
 * subject version under a second name is also found by that name. */
static void shared_references_once(void **state) {
  KS_UNUSED(state);
  char money[256], price[256], order[512], jm[128], jp[128], jo[256];
  quote(money, sizeof money,
        "{\"type\":\"record\",\"name\":\"Money\",\"namespace\":\"x\","
        "\"fields\":[{\"name\":\"amt\",\"type\":\"long\"}]}");
  quote(price, sizeof price,
        "{\"type\":\"record\",\"name\":\"Price\",\"namespace\":\"x\","
        "\"fields\":[{\"name\":\"m\",\"type\":\"x.Money\"}]}");
  quote(order, sizeof order,
        "{\"type\":\"record\",\"name\":\"Order\",\"namespace\":\"x\","
        "\"fields\":[{\"name\":\"p\",\"type\":\"x.Price\"},"
        "{\"name\":\"fee\",\"type\":\"x.Money\"}]}");
  quote(jm, sizeof jm,
        "{\"type\":\"object\",\"properties\":{\"amt\":{\"type\":"
        "\"integer\"}}}");
  quote(jp, sizeof jp,
        "{\"type\":\"object\",\"properties\":{\"m\":{\"$ref\":"
        "\"money.json\"}}}");
  quote(jo, sizeof jo,
        "{\"type\":\"object\",\"properties\":{\"p\":{\"$ref\":"
        "\"price.json\"},\"fee\":{\"$ref\":\"cash.json\"}}}");
  char b_money[512], b_price[512], b_order[1024], b_m2[256], b_jm[256],
      b_jp[256], b_jo[512];
  snprintf(b_money, sizeof b_money, "{\"schema\":%s}", money);
  /* another version of Money, under the same name: not gathered */
  snprintf(b_m2, sizeof b_m2, "{\"schema\":%s}", "\"not a schema\"");
  snprintf(b_price, sizeof b_price,
           "{\"schema\":%s,\"references\":[{\"name\":\"x.Money\","
           "\"subject\":\"money\",\"version\":1}]}",
           price);
  snprintf(b_order, sizeof b_order,
           "{\"schema\":%s,\"references\":["
           "{\"name\":\"x.Money\",\"subject\":\"money\",\"version\":1},"
           "{\"name\":\"x.Price\",\"subject\":\"price\",\"version\":1},"
           "{\"name\":\"x.Money\",\"subject\":\"money\",\"version\":2}]}",
           order);
  snprintf(b_jm, sizeof b_jm, "{\"schemaType\":\"JSON\",\"schema\":%s}", jm);
  snprintf(b_jp, sizeof b_jp,
           "{\"schemaType\":\"JSON\",\"schema\":%s,\"references\":["
           "{\"name\":\"money.json\",\"subject\":\"jmoney\",\"version\":1}]}",
           jp);
  snprintf(b_jo, sizeof b_jo,
           "{\"schemaType\":\"JSON\",\"schema\":%s,\"references\":["
           "{\"name\":\"price.json\",\"subject\":\"jprice\",\"version\":1},"
           "{\"name\":\"cash.json\",\"subject\":\"jmoney\",\"version\":1}]}",
           jo);
  route routes[] = {
      {"/schemas/ids/7", 200, NULL, b_order, 0},
      {"/subjects/money/versions/1", 200, NULL, b_money, 0},
      {"/subjects/money/versions/2", 200, NULL, b_m2, 0},
      {"/subjects/price/versions/1", 200, NULL, b_price, 0},
      {"/schemas/ids/8", 200, NULL, b_jo, 0},
      {"/subjects/jmoney/versions/1", 200, NULL, b_jm, 0},
      {"/subjects/jprice/versions/1", 200, NULL, b_jp, 0},
  };
  server s;
  server_start(&s, routes, KS_ARRAY_SIZE(routes));
  ks_registry *r = registry(&s);
  const ks_registry_schema *rs = NULL;
  char err[256] = "";
  int rc = ks_registry_schema_sync(r, 7, &rs, err, sizeof err);
  if (rc)
    print_error("%s\n", err);
  assert_int_equal(rc, KS_REGISTRY_OK);
  assert_non_null(strstr(rs->json_schema, "\"fee\""));
  assert_int_equal(routes[1].hits, 1); /* money 1: asked once */
  assert_int_equal(routes[2].hits, 0); /* money 2: its name is known */
  rc = ks_registry_schema_sync(r, 8, &rs, err, sizeof err);
  if (rc)
    print_error("%s\n", err);
  assert_int_equal(rc, KS_REGISTRY_OK);
  assert_int_equal(routes[5].hits, 1);
  /* both names of jmoney resolve: the table has fee.amt and p.m.amt */
  ks_schema *t = NULL;
  assert_int_equal(ks_schema_load_string(rs->json_schema, rs->json_schema_len,
                                         "8", &t, err, sizeof err),
                   0);
  int cols = 0;
  for (size_t i = 0; i < ks_schema_ncolumns(t); i++)
    cols += strcmp(ks_schema_columns(t)[i].name, "fee.amt") == 0 ||
            strcmp(ks_schema_columns(t)[i].name, "p.m.amt") == 0;
  assert_int_equal(cols, 2);
  ks_schema_free(t);
  ks_registry_free(r);
  server_stop(&s);
}

/* ---- what an answer means ----------------------------------------------- */

#define RATE "{\"error_code\":42901,\"message\":\"Too Many Requests\"}"
#define WITH_REF(subject)                                                      \
  "{\"schema\":" SCHEMA_R                                                      \
  ",\"references\":[{\"name\":\"x\",\"subject\":\"" subject                    \
  "\",\"version\":1}]}"

/* Only a 404 is a verdict on the id (and a schema that does not load);
 * a rate limit, a request timeout, a 5xx, refused credentials, another
 * 4xx or a redirect not followed say "ask again later" -- for the id's
 * own request and for a reference's alike. Redirects are followed (3 at
 * most) on the URL's scheme. */
static void only_404_is_a_verdict(void **state) {
  KS_UNUSED(state);
  char to_https[128];
  route routes[] = {
      {"/schemas/ids/1", 429, NULL, RATE, 0},
      {"/schemas/ids/2", 408, NULL, "{}", 0},
      {"/schemas/ids/3", 503, NULL, "{}", 0},
      {"/schemas/ids/4", 401, NULL, "{}", 0},
      {"/schemas/ids/5", 400, NULL, "{}", 0},
      {"/schemas/ids/6", 404, NULL, "{}", 0},
      {"/schemas/ids/7", 200, NULL, "{\"schema\":\"nope\"}", 0},
      /* references */
      {"/schemas/ids/11", 200, NULL, WITH_REF("r429"), 0},
      {"/subjects/r429/versions/1", 429, NULL, RATE, 0},
      {"/schemas/ids/12", 200, NULL, WITH_REF("r401"), 0},
      {"/subjects/r401/versions/1", 401, NULL, "{}", 0},
      {"/schemas/ids/13", 200, NULL, WITH_REF("r503"), 0},
      {"/subjects/r503/versions/1", 503, NULL, "{}", 0},
      {"/schemas/ids/14", 200, NULL, WITH_REF("r408"), 0},
      {"/subjects/r408/versions/1", 408, NULL, "{}", 0},
      {"/schemas/ids/15", 200, NULL, WITH_REF("r404"), 0},
      /* redirects: followed; a loop; to another scheme */
      {"/schemas/ids/21", 307, "Location: /v2/schemas/ids/21\r\n", "", 0},
      {"/v2/schemas/ids/21", 200, NULL, "{\"schema\":" SCHEMA_R "}", 0},
      {"/schemas/ids/22", 302, "Location: /schemas/ids/22\r\n", "", 0},
      {"/schemas/ids/23", 301, to_https, "", 0},
      {"/schemas/ids/24", 304, NULL, "", 0},
  };
  static const struct {
    uint32_t id;
    int outcome;
  } want[] = {{1, KS_REGISTRY_UNREACHABLE},  {2, KS_REGISTRY_UNREACHABLE},
              {3, KS_REGISTRY_UNREACHABLE},  {4, KS_REGISTRY_UNREACHABLE},
              {5, KS_REGISTRY_UNREACHABLE},  {6, KS_REGISTRY_UNKNOWN},
              {7, KS_REGISTRY_BAD},          {11, KS_REGISTRY_UNREACHABLE},
              {12, KS_REGISTRY_UNREACHABLE}, {13, KS_REGISTRY_UNREACHABLE},
              {14, KS_REGISTRY_UNREACHABLE}, {15, KS_REGISTRY_UNKNOWN},
              {21, KS_REGISTRY_OK},          {22, KS_REGISTRY_UNREACHABLE},
              {23, KS_REGISTRY_UNREACHABLE}, {24, KS_REGISTRY_UNREACHABLE}};
  server s;
  server_start(&s, routes, KS_ARRAY_SIZE(routes));
  snprintf(to_https, sizeof to_https,
           "Location: https://127.0.0.1:%d/v2/schemas/ids/21\r\n", s.port);
  ks_registry *r = registry(&s);
  for (size_t i = 0; i < KS_ARRAY_SIZE(want); i++) {
    const ks_registry_schema *rs = NULL;
    char err[256] = "", last[256] = "";
    int conns = __atomic_load_n(&s.connections, __ATOMIC_SEQ_CST);
    int rc = ks_registry_schema_sync(r, want[i].id, &rs, err, sizeof err);
    if (rc != want[i].outcome)
      print_error("id %u: outcome %d, want %d: %s\n", want[i].id, rc,
                  want[i].outcome, err);
    assert_int_equal(rc, want[i].outcome);
    ks_registry_last_error(r, last, sizeof last);
    if (rc == KS_REGISTRY_UNREACHABLE) /* /readyz says why */
      assert_string_equal(last, err);
    else if (rc != KS_REGISTRY_OK)
      assert_int_not_equal(err[0], 0);
    if (want[i].id == 22)
      assert_non_null(strstr(err, "redirected to"));
    if (want[i].id == 23) /* not followed: no second request */
      assert_int_equal(__atomic_load_n(&s.connections, __ATOMIC_SEQ_CST),
                       conns + 1);
  }
  assert_int_equal(routes[17].hits, 1); /* /v2/schemas/ids/21 */
  ks_registry_free(r);
  server_stop(&s);
}

/* A URL that answers 429 (or 408) is passed over for the next, as one
 * that answers 5xx is. */
static void next_url_after_429(void **state) {
  KS_UNUSED(state);
  route routes[] = {
      {"/a/schemas/ids/1", 429, NULL, RATE, 0},
      {"/b/schemas/ids/1", 200, NULL, "{\"schema\":" SCHEMA_R "}", 0},
      {"/a/schemas/ids/2", 408, NULL, "{}", 0},
      {"/b/schemas/ids/2", 200, NULL, "{\"schema\":" SCHEMA_R "}", 0},
  };
  server s;
  server_start(&s, routes, KS_ARRAY_SIZE(routes));
  char a[64], b[64];
  snprintf(a, sizeof a, "http://127.0.0.1:%d/a", s.port);
  snprintf(b, sizeof b, "http://127.0.0.1:%d/b", s.port);
  char *urls[] = {a, b};
  ks_registry *r = ks_registry_new(urls, 2, NULL, NULL);
  const ks_registry_schema *rs = NULL;
  char err[256] = "";
  assert_int_equal(ks_registry_schema_sync(r, 1, &rs, err, sizeof err),
                   KS_REGISTRY_OK);
  assert_int_equal(ks_registry_schema_sync(r, 2, &rs, err, sizeof err),
                   KS_REGISTRY_OK);
  ks_registry_free(r);
  server_stop(&s);
}

/* Start-up: a rate-limited registry makes start-up wait (KS_EIO, which
 * the pipeline asks again with backoff), as a 5xx does; a subject the
 * registry does not have stops it. */
static void startup_waits_on_429(void **state) {
  KS_UNUSED(state);
  route routes[] = {
      {"/subjects/orders-value/versions/latest", 429, NULL, RATE, 0},
      {"/subjects/events-value/versions/latest", 503, NULL, "{}", 0},
  };
  server s;
  server_start(&s, routes, KS_ARRAY_SIZE(routes));
  ks_registry *r = registry(&s);
  char *orders[] = {"orders"}, *events[] = {"events"}, *other[] = {"other"};
  ks_conf_table tc = {.name = "t",
                      .topics = orders,
                      .ntopics = 1,
                      .value_format = KS_VALUE_FORMAT_AVRO};
  ks_schema *out = NULL;
  char err[512] = "";
  assert_int_equal(
      ks_registry_table_schema(r, &tc, &out, NULL, err, sizeof err), KS_EIO);
  assert_non_null(strstr(err, "429"));
  tc.topics = events;
  assert_int_equal(
      ks_registry_table_schema(r, &tc, &out, NULL, err, sizeof err), KS_EIO);
  tc.topics = other;
  assert_int_equal(
      ks_registry_table_schema(r, &tc, &out, NULL, err, sizeof err),
      KS_ESCHEMA);
  assert_null(out);
  ks_registry_free(r);
  server_stop(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(guid_schema_is_not_id_0),
      cmocka_unit_test(shared_references_once),
      cmocka_unit_test(only_404_is_a_verdict),
      cmocka_unit_test(next_url_after_429),
      cmocka_unit_test(startup_waits_on_429),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
