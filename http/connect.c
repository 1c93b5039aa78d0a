/*
 * Kafka Connect's REST subset, so Connect tooling and dashboards work with
 * ksink: the process is one sink connector named after app_id, each worker
 * one task. Paths, methods, status codes and JSON shapes follow Apache
 * Kafka 3.7's RootResource, ConnectorsResource and
 * ConnectorPluginsResource (offsets and stop: KIP-875, Kafka 3.5+).
 *
 *   GET  /                                version, commit, kafka_cluster_id
 *   GET  /connector-plugins               [{"class","type":"sink","version"}]
 *   GET  /connectors                      ["<app_id>"]
 *   GET  /connectors?expand=status|info   {"<app_id>": {"status": ...,
 *                                         "info": ...}} (expand repeats)
 *   GET  /connectors/<app_id>/offsets     {"offsets": [{"partition":
 *                                         {"kafka_topic", "kafka_partition"},
 *                                         "offset": {"kafka_offset"}}]}: the
 *                                         next offset after the last commit
 *                                         of each partition this process owns
 *   PUT  /connectors/<app_id>/stop        202: paused, reported STOPPED
 *                                         (tasks []) until resume
 *   GET  /connectors/<app_id>             name, config, tasks, type
 *   GET  /connectors/<app_id>/config      the config as a string map
 *   GET  /connectors/<app_id>/status      connector and task states
 *   GET  /connectors/<app_id>/tasks       tasks and their config
 *   GET  /connectors/<app_id>/tasks/<n>/status
 *   PUT  /connectors/<app_id>/pause       202: every worker pauses its
 *   PUT  /connectors/<app_id>/resume      202   partitions (within 200 ms)
 *   POST /connectors/<app_id>/restart     204: every task restarts from
 *   POST /connectors/<app_id>/tasks/<n>/restart   its last commit (a rewind:
 *                                         stages/rewind.h)
 *
 * States: RUNNING, PAUSED, STOPPED, FAILED (a worker hit a fatal error).
 * Errors use Connect's {"error_code": N, "message": "..."}. Mutating calls
 * need auth == KS__AUTH_OK (server.c: the admin token, or a loopback peer).
 *
 * Several replicas: each process is the whole connector as far as its own
 * REST API goes, and pause/stop/resume/restart act on that process only
 * (its partitions stay assigned to it, paused, so the group does not move
 * them). Pausing a deployment means calling every replica; offsets lists
 * only the calling replica's partitions.
 */
#include "base/log.h"
#include "base/version.h"
#include "http/internal.h"
#include "reactor/worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_str(ks_buf *b, const char *s) {
  ks_buf_append_json_str(b, s, strlen(s));
}

static int fail(ks_buf *b, int *status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(ks_buf *b, int *status, int code, const char *fmt, ...) {
  char msg[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ks_buf_reset(b);
  ks_buf_appendf(b, "{\"error_code\":%d,\"message\":", code);
  json_str(b, msg);
  ks_buf_append_byte(b, '}');
  *status = code;
  return 0;
}

static int is(const char *s, size_t n, const char *lit) {
  return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static const char *state_of(const ks_pipeline *p) {
  if (atomic_load(&((ks_pipeline *)p)->env.fatal))
    return "FAILED";
  if (atomic_load(&((ks_pipeline *)p)->admin_stopped))
    return "STOPPED";
  if (atomic_load(&((ks_pipeline *)p)->admin_paused))
    return "PAUSED";
  return "RUNNING";
}

static void config_map(const ks_pipeline *p, ks_buf *b) {
  const ks_conf *c = p->conf;
  ks_buf_append_str(b, "{\"connector.class\":\"ksink\",\"name\":");
  json_str(b, c->app_id);
  ks_buf_appendf(b, ",\"tasks.max\":\"%d\",\"topics\":\"", p->nworkers);
  size_t n = 0;
  for (size_t t = 0; t < c->ntables; t++)
    for (size_t i = 0; i < c->tables[t].ntopics; i++, n++) {
      if (n)
        ks_buf_append_byte(b, ',');
      ks_buf_append_str(b, c->tables[t].topics[i]);
    }
  ks_buf_append_str(b, "\",\"ksink.tables\":\"");
  for (size_t t = 0; t < c->ntables; t++) {
    if (t)
      ks_buf_append_byte(b, ',');
    ks_buf_append_str(b, c->tables[t].name);
  }
  ks_buf_append_str(b, "\",\"ksink.storage.url\":");
  json_str(b, c->storage_url);
  if (c->ntables) { /* Connect's error keys, from the first table */
    const ks_conf_table *t = &c->tables[0];
    ks_buf_appendf(b, ",\"errors.tolerance\":\"%s\"",
                   t->errors_tolerate_all ? "all" : "none");
    if (t->dlq_topic) {
      ks_buf_append_str(b, ",\"errors.deadletterqueue.topic.name\":");
      json_str(b, t->dlq_topic);
    }
    ks_buf_appendf(b,
                   ",\"errors.deadletterqueue.context.headers.enable\":\"%s\""
                   ",\"errors.log.enable\":\"%s\"",
                   t->dlq_context_headers ? "true" : "false",
                   t->errors_log ? "true" : "false");
  }
  ks_buf_append_byte(b, '}');
}

static void task_status(const ks_pipeline *p, int i, const char *worker_id,
                        ks_buf *b) {
  const char *st = state_of(p);
  ks_buf_appendf(b, "{\"id\":%d,\"state\":\"%s\",\"worker_id\":", i, st);
  json_str(b, worker_id);
  if (strcmp(st, "FAILED") == 0)
    ks_buf_append_str(b, ",\"trace\":\"a worker hit a fatal error: see the "
                         "process log\"");
  ks_buf_append_byte(b, '}');
}

/* GET /connectors/<app_id>: name, config, tasks, type. */
static void info_body(const ks_pipeline *p, ks_buf *b) {
  const char *app = p->conf->app_id;
  ks_buf_append_str(b, "{\"name\":");
  json_str(b, app);
  ks_buf_append_str(b, ",\"config\":");
  config_map(p, b);
  ks_buf_append_str(b, ",\"tasks\":[");
  for (int i = 0; i < p->nworkers; i++) {
    ks_buf_append_str(b, i ? ",{\"connector\":" : "{\"connector\":");
    json_str(b, app);
    ks_buf_appendf(b, ",\"task\":%d}", i);
  }
  ks_buf_append_str(b, "],\"type\":\"sink\"}");
}

/* GET /connectors/<app_id>/status. A stopped connector has no tasks. */
static void status_body(const ks_pipeline *p, const char *worker_id,
                        ks_buf *b) {
  ks_buf_append_str(b, "{\"name\":");
  json_str(b, p->conf->app_id);
  ks_buf_appendf(b, ",\"connector\":{\"state\":\"%s\",\"worker_id\":",
                 state_of(p));
  json_str(b, worker_id);
  ks_buf_append_str(b, "},\"tasks\":[");
  int stopped = strcmp(state_of(p), "STOPPED") == 0;
  for (int i = 0; !stopped && i < p->nworkers; i++) {
    if (i)
      ks_buf_append_byte(b, ',');
    task_status(p, i, worker_id, b);
  }
  ks_buf_append_str(b, "],\"type\":\"sink\"}");
}

/* KIP-875's sink offsets: per owned partition, the next offset after the
 * last commit (Connect reports the consumer group's committed offset). */
static void offsets_body(const ks_pipeline *p, ks_buf *b) {
  ks_buf_append_str(b, "{\"offsets\":[");
  int n = 0;
  for (int i = 0; i < p->nworkers; i++) {
    const ks_part_snap *s = ks_worker_part_snap(p->workers[i]);
    for (size_t j = 0; s && j < s->n; j++) {
      const ks_part_status *ps = &s->parts[j];
      if (ps->committed < 0 || ps->topic < 0 ||
          (size_t)ps->topic >= p->env.ntopics)
        continue;
      ks_buf_append_str(b, n++ ? ",{\"partition\":{\"kafka_topic\":"
                               : "{\"partition\":{\"kafka_topic\":");
      json_str(b, p->env.topics[ps->topic]);
      ks_buf_appendf(b,
                     ",\"kafka_partition\":%d},\"offset\":{\"kafka_offset\":"
                     "%lld}}",
                     (int)ps->partition, (long long)ps->committed);
    }
  }
  ks_buf_append_str(b, "]}");
}

/* Whether the query string holds expand=<what> (expand may repeat). */
static int expands(const char *q, size_t qlen, const char *what) {
  size_t wl = strlen(what);
  size_t i = 0;
  while (i < qlen) {
    size_t j = i;
    while (j < qlen && q[j] != '&')
      j++;
    if (j - i == 7 + wl && memcmp(q + i, "expand=", 7) == 0 &&
        memcmp(q + i + 7, what, wl) == 0)
      return 1;
    i = j + 1;
  }
  return 0;
}

/* GET / and GET /connector-plugins: outside /connectors. */
static int root(ks_pipeline *p, const char *path, size_t plen, ks_buf *b,
                int *status) {
  if (is(path, plen, "/")) {
    char cluster[256];
    ks_pipeline_cluster_id(p, cluster, sizeof cluster);
    ks_buf_append_str(b, "{\"version\":");
    json_str(b, ks_version());
    ks_buf_append_str(b, ",\"commit\":");
    json_str(b, ks_git_commit());
    ks_buf_append_str(b, ",\"kafka_cluster_id\":");
    if (*cluster)
      json_str(b, cluster);
    else
      ks_buf_append_str(b, "null");
    ks_buf_append_byte(b, '}');
    return 0;
  }
  ks_buf_append_str(b, "[{\"class\":\"ksink\",\"type\":\"sink\","
                       "\"version\":");
  json_str(b, ks_version());
  ks_buf_append_str(b, "}]");
  *status = 200;
  return 0;
}

/* ---- routing ---- */

/* Splits path after "/connectors" into at most 4 segments. */
static size_t segments(const char *path, size_t plen, const char *seg[4],
                       size_t len[4]) {
  size_t n = 0, i = strlen("/connectors");
  while (i < plen && n < 4) {
    if (path[i] == '/') {
      i++;
      continue;
    }
    size_t j = i;
    while (j < plen && path[j] != '/')
      j++;
    seg[n] = path + i;
    len[n++] = j - i;
    i = j;
  }
  return i < plen ? 5 : n; /* 5: too many */
}

int ks__http_connect(ks_pipeline *p, const char *method, size_t mlen,
                     const char *path, size_t plen, const char *query,
                     size_t qlen, int auth, const char *worker_id, ks_buf *b,
                     int *status) {
  int get = is(method, mlen, "GET"), put = is(method, mlen, "PUT"),
      post = is(method, mlen, "POST");
  const char *app = p->conf->app_id;
  ks_buf_reset(b);
  *status = 200;
  if (is(path, plen, "/") || is(path, plen, "/connector-plugins") ||
      is(path, plen, "/connector-plugins/")) {
    if (!get)
      return fail(b, status, 405, "method not allowed");
    return root(p, path, plen, b, status);
  }
  const char *seg[4];
  size_t len[4];
  size_t n = segments(path, plen, seg, len);
  if (n == 0) {
    if (!get)
      return fail(b, status, 405, "method not allowed");
    int st = expands(query, qlen, "status"), in = expands(query, qlen, "info");
    if (!st && !in) {
      ks_buf_append_byte(b, '[');
      json_str(b, app);
      ks_buf_append_byte(b, ']');
      return 0;
    }
    ks_buf_append_byte(b, '{');
    json_str(b, app);
    ks_buf_append_str(b, ":{");
    if (st) {
      ks_buf_append_str(b, "\"status\":");
      status_body(p, worker_id, b);
    }
    if (in) {
      ks_buf_append_str(b, st ? ",\"info\":" : "\"info\":");
      info_body(p, b);
    }
    ks_buf_append_str(b, "}}");
    return 0;
  }
  if (n > 4 || !is(seg[0], len[0], app))
    return fail(b, status, 404, "Connector %.*s not found",
                (int)(len[0] > 200 ? 200 : len[0]), seg[0]);
  const char *what = n > 1 ? seg[1] : "";
  size_t wl = n > 1 ? len[1] : 0;
  int mutating = (n == 2 && (is(what, wl, "pause") || is(what, wl, "resume") ||
                             is(what, wl, "stop") || is(what, wl, "restart"))) ||
                 (n == 4 && is(seg[3], len[3], "restart"));
  if (mutating) {
    int want_put = n == 2 && !is(what, wl, "restart");
    if (want_put ? !put : !post)
      return fail(b, status, 405, "method not allowed");
    if (auth == KS__AUTH_NO_TOKEN)
      return fail(b, status, 401, "a bearer token is required");
    if (auth == KS__AUTH_FORBIDDEN)
      return fail(b, status, 403,
                  "only loopback clients may change the connector when "
                  "http.admin_token is not set");
  } else if (!get) {
    return fail(b, status, 405, "method not allowed");
  }
  if (n == 1) {
    info_body(p, b);
    return 0;
  }
  if (n == 2 && is(what, wl, "offsets")) {
    offsets_body(p, b);
    return 0;
  }
  if (n == 2 && is(what, wl, "config")) {
    config_map(p, b);
    return 0;
  }
  if (n == 2 && is(what, wl, "status")) {
    status_body(p, worker_id, b);
    return 0;
  }
  if (n == 2 && is(what, wl, "tasks")) {
    ks_buf_append_byte(b, '[');
    for (int i = 0; i < p->nworkers; i++) {
      ks_buf_append_str(b, i ? ",{\"id\":{\"connector\":" : "{\"id\":{\"connector\":");
      json_str(b, app);
      ks_buf_appendf(b, ",\"task\":%d},\"config\":", i);
      config_map(p, b);
      ks_buf_append_byte(b, '}');
    }
    ks_buf_append_byte(b, ']');
    return 0;
  }
  if (n == 2 && (is(what, wl, "pause") || is(what, wl, "resume") ||
                 is(what, wl, "stop"))) {
    int pause = !is(what, wl, "resume"), stop = is(what, wl, "stop");
    int was_stopped = atomic_exchange(&p->admin_stopped, stop);
    if (atomic_exchange(&p->admin_paused, pause) != pause ||
        was_stopped != stop)
      ks_log_info("connector %s: %s over the REST API", app,
                  stop ? "stop" : pause ? "pause" : "resume");
    *status = 202;
    return 0;
  }
  if (n == 2 && is(what, wl, "restart")) {
    ks_log_info("connector %s: restart over the REST API", app);
    ks_pipeline_restart(p, -1);
    *status = 204;
    return 0;
  }
  if (n >= 3 && is(what, wl, "tasks")) {
    char num[16];
    size_t k = len[2] < sizeof num ? len[2] : sizeof num - 1;
    memcpy(num, seg[2], k);
    num[k] = 0;
    char *end;
    long task = strtol(num, &end, 10);
    if (k == 0 || *end || task < 0 || task >= p->nworkers)
      return fail(b, status, 404, "Task %s not found", num);
    if (n == 4 && is(seg[3], len[3], "status")) {
      task_status(p, (int)task, worker_id, b);
      return 0;
    }
    if (n == 4 && is(seg[3], len[3], "restart")) {
      ks_log_info("connector %s: restart of task %ld over the REST API", app,
                  task);
      ks_pipeline_restart(p, (int)task);
      *status = 204;
      return 0;
    }
  }
  return fail(b, status, 404, "not found");
}
