/*
 * The node tree -> ks_conf: top-level sections, defaults, validation, and
 * the public entry points. Tables live in tables.c. The first problem
 * found wins; we do not try to collect several, since one fix often
 * changes the next message.
 */
#include "conf/internal.h"

#include "base/buf.h"
#include "base/file.h"
#include "base/hostport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A config larger than this is a mistake (or not a config). */
#define MAX_CONF_BYTES (16u << 20)

static const char *const root_keys[] = {"app_id", "kafka", "reactor", "storage",
                                        "http",   "log",   "tables",
                                        "schema_registry", NULL};
static const char *const reactor_keys[] = {
    "workers", "cores", "memory_budget", "deadletter_unready_after", NULL};
static const char *const storage_keys[] = {"url", "s3", "unready_after_failures",
                                           NULL};
static const char *const s3_keys[] = {"endpoint",
                                      "region",
                                      "addressing",
                                      "access_key_id",
                                      "secret_access_key",
                                      "session_token",
                                      "part_size",
                                      "max_parts_in_flight",
                                      "sse",
                                      "kms_key_id",
                                      "ca_file",
                                      "verify_tls",
                                      "unsigned_payload",
                                      "connect_timeout",
                                      "stall_timeout",
                                      "retry",
                                      "breaker",
                                      "stale_upload_age",
                                      "role_arn",
                                      "external_id",
                                      "acl",
                                      "conditional_writes_probe",
                                      NULL};
static const char *const retry_keys[] = {"base", "cap", "max_attempts", NULL};
static const char *const breaker_keys[] = {"failures", "cooldown", NULL};
static const char *const sse_names[] = {"AES256", "aws:kms", NULL};
/* S3's canned ACLs (x-amz-acl on every object write). */
static const char *const acl_names[] = {
    "private",        "public-read",   "public-read-write",
    "authenticated-read", "aws-exec-read", "bucket-owner-read",
    "bucket-owner-full-control", NULL};
static const char *const bool_names[] = {"false", "true", NULL};
static const char *const http_keys[] = {"listen", "admin_token",
                                        "allowed_hosts", NULL};
static const char *const log_keys[] = {"level", "format", NULL};
static const char *const log_format_names[] = {"auto", "json", "text", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error",
                                          NULL};

/* Runs f on the value of key in map with the path pushed; absent or null
 * values are left to the defaults. */
#define WITH_KEY(c, map, key, stmt)                                            \
  do {                                                                         \
    const ks__conf_node *v_ = ks__conf_get((map), (key));                      \
    if (v_ != NULL && !ks__conf_is_null(v_)) {                                 \
      size_t saved_ = ks__conf_path_push((c), (key));                          \
      const ks__conf_node *v = v_;                                             \
      int r_ = (stmt);                                                         \
      if (r_)                                                                  \
        return r_;                                                             \
      ks__conf_path_pop((c), saved_);                                          \
    }                                                                          \
  } while (0)

static int str_field(ks__conf_ctx *c, const ks__conf_node *v, char **dst) {
  ks_free(*dst);
  *dst = NULL;
  return ks__conf_str(c, v, dst);
}

static int int_field(ks__conf_ctx *c, const ks__conf_node *v, int64_t min,
                     int64_t max, int *dst) {
  int64_t x;
  int r = ks__conf_int(c, v, min, max, &x);
  if (r == 0)
    *dst = (int)x;
  return r;
}

static const char *const addressing[] = {"path", "virtual", NULL};

static int enum_field(ks__conf_ctx *c, const ks__conf_node *v,
                      const char *const *names, char **dst) {
  int i;
  int r = ks__conf_enum(c, v, names, &i);
  if (r == 0) {
    ks_free(*dst);
    *dst = ks_strdup(names[i]);
  }
  return r;
}

static int bool_field(ks__conf_ctx *c, const ks__conf_node *v, int *dst) {
  return ks__conf_enum(c, v, bool_names, dst);
}

/* 1 when map holds key as a mapping with only known keys, 0 when it is
 * absent or null, a negative code after a message otherwise. */
static int sub_map(ks__conf_ctx *c, const ks__conf_node *map, const char *key,
                   const char *const *known) {
  const ks__conf_node *v = ks__conf_get(map, key);
  if (v == NULL || ks__conf_is_null(v))
    return 0;
  size_t saved = ks__conf_path_push(c, key);
  int r = ks__conf_expect_map(c, v, "a mapping");
  if (r == 0)
    r = ks__conf_check_keys(c, v, known);
  if (r)
    return r;
  ks__conf_path_pop(c, saved);
  return 1;
}

/* Opens a section: must be a mapping (null means "all defaults") whose
 * keys are all known. *map is NULL when the section is absent or null. */
static int section(ks__conf_ctx *c, const ks__conf_node *root, const char *key,
                   const char *const *known, const ks__conf_node **map) {
  const ks__conf_node *v = ks__conf_get(root, key);
  *map = NULL;
  if (v == NULL || ks__conf_is_null(v))
    return 0;
  size_t saved = ks__conf_path_push(c, key);
  int r = ks__conf_expect_map(c, v, "a mapping");
  if (r == 0 && known)
    r = ks__conf_check_keys(c, v, known);
  if (r)
    return r;
  ks__conf_path_pop(c, saved);
  *map = v;
  return 0;
}

static void kafka_add(ks_conf *conf, const char *key, char *value, int line) {
  conf->kafka =
      ks_realloc(conf->kafka, (conf->nkafka + 1) * sizeof(ks_conf_kv));
  conf->kafka[conf->nkafka++] =
      (ks_conf_kv){.key = ks_strdup(key), .value = value, .line = line};
}

/* Every key passes to librdkafka verbatim, values as their text: YAML's
 * 500 and true become "500" and "true", which is what librdkafka parses. */
static int load_kafka(ks__conf_ctx *c, const ks__conf_node *root,
                      ks_conf *conf) {
  const ks__conf_node *map;
  int r = section(c, root, "kafka", NULL, &map);
  if (r)
    return r;
  for (size_t i = 0; map && i < map->n; i++) {
    const ks__conf_node *v = map->vals[i];
    size_t saved = ks__conf_path_push(c, "kafka");
    ks__conf_path_push(c, map->keys[i]->text);
    char *value = NULL;
    if (v->kind != KS__CONF_SCALAR)
      return ks__conf_fail(c, v->line,
                           "expected a librdkafka property value (a scalar), "
                           "got %s",
                           ks__conf_kind_name(v));
    if ((r = ks__conf_interpolate(c, v, &value)))
      return r;
    ks__conf_path_pop(c, saved);
    kafka_add(conf, map->keys[i]->text, value, v->line);
  }
  if (ks_conf_kafka_get(conf, "bootstrap.servers") == NULL) {
    size_t saved = ks__conf_path_push(c, "kafka.bootstrap.servers");
    r = ks__conf_fail(c, ks__conf_key_line(root, "kafka", root->line),
                      "missing; expected the Kafka brokers like "
                      "\"127.0.0.1:9092\" (or \"mock\" for an in-process "
                      "mock cluster)");
    ks__conf_path_pop(c, saved);
    return r;
  }
  return 0;
}

static int load_reactor(ks__conf_ctx *c, const ks__conf_node *root,
                        ks_conf *conf) {
  const ks__conf_node *map;
  int r = section(c, root, "reactor", reactor_keys, &map);
  if (r || map == NULL)
    return r;
  size_t saved = ks__conf_path_push(c, "reactor");
  WITH_KEY(c, map, "workers", int_field(c, v, 0, 4096, &conf->workers));
  WITH_KEY(c, map, "memory_budget",
           ks__conf_size(c, v, 1, &conf->memory_budget));
  WITH_KEY(c, map, "deadletter_unready_after",
           ks__conf_duration(c, v, 1, &conf->dlq_unready_after_ms));
  const ks__conf_node *cores = ks__conf_get(map, "cores");
  if (cores && !ks__conf_is_null(cores)) {
    size_t s2 = ks__conf_path_push(c, "cores");
    if (cores->kind != KS__CONF_SEQ)
      return ks__conf_fail(c, cores->line,
                           "expected a sequence of CPU numbers like [0, 1], "
                           "got %s",
                           ks__conf_kind_name(cores));
    conf->cores = ks_calloc(cores->n, sizeof(int));
    for (size_t i = 0; i < cores->n; i++) {
      size_t s3 = ks__conf_path_push_index(c, i);
      if ((r = int_field(c, cores->vals[i], 0, 65535, &conf->cores[i])))
        return r;
      conf->ncores++;
      ks__conf_path_pop(c, s3);
    }
    ks__conf_path_pop(c, s2);
  }
  ks__conf_path_pop(c, saved);
  return 0;
}

char *ks_conf_normalize_url(const char *url) {
  if (strncmp(url, "s3a://", 6) == 0 || strncmp(url, "s3n://", 6) == 0) {
    size_t n = strlen(url + 6);
    char *out = ks_malloc(n + 6);
    memcpy(out, "s3://", 5);
    memcpy(out + 5, url + 6, n + 1);
    return out;
  }
  if (url[0] == '/') {
    size_t n = strlen(url);
    char *out = ks_malloc(n + 8);
    memcpy(out, "file://", 7);
    memcpy(out + 7, url, n + 1);
    return out;
  }
  return ks_strdup(url);
}

static int check_url(ks__conf_ctx *c, int line, const char *url) {
  char shown[128];
  if (strncmp(url, "file://", 7) == 0) {
    if (url[7] == '/')
      return 0;
    return ks__conf_fail(c, line,
                         "expected \"file://\" followed by an absolute path "
                         "like \"file:///var/lib/ksink/lake\", got %s",
                         ks__conf_show(c, url, shown, sizeof shown));
  }
  if (strncmp(url, "s3://", 5) == 0) {
    if (url[5] != '\0' && url[5] != '/')
      return 0;
    return ks__conf_fail(c, line,
                         "expected \"s3://\" followed by a bucket like "
                         "\"s3://bucket/prefix\", got %s",
                         ks__conf_show(c, url, shown, sizeof shown));
  }
  return ks__conf_fail(c, line,
                       "expected a URL starting with \"file://\" or "
                       "\"s3://\", got %s",
                       ks__conf_show(c, url, shown, sizeof shown));
}

static int load_s3(ks__conf_ctx *c, const ks__conf_node *map, ks_conf_s3 *s3) {
  WITH_KEY(c, map, "endpoint", str_field(c, v, &s3->endpoint));
  WITH_KEY(c, map, "region", str_field(c, v, &s3->region));
  WITH_KEY(c, map, "addressing", enum_field(c, v, addressing, &s3->addressing));
  WITH_KEY(c, map, "access_key_id", str_field(c, v, &s3->access_key_id));
  WITH_KEY(c, map, "secret_access_key",
           str_field(c, v, &s3->secret_access_key));
  WITH_KEY(c, map, "session_token", str_field(c, v, &s3->session_token));
  /* S3 refuses parts under 5 MiB (except the last) and over 5 GiB. */
  WITH_KEY(c, map, "part_size",
           ks__conf_size(c, v, INT64_C(5) << 20, &s3->part_size));
  if (s3->part_size > (INT64_C(5) << 30)) {
    ks__conf_path_push(c, "part_size");
    return ks__conf_fail(c, ks__conf_get(map, "part_size")->line,
                         "expected a size of at most 5GiB, got %lld bytes",
                         (long long)s3->part_size);
  }
  WITH_KEY(c, map, "max_parts_in_flight",
           int_field(c, v, 1, 1024, &s3->max_parts_in_flight));
  WITH_KEY(c, map, "sse", enum_field(c, v, sse_names, &s3->sse));
  WITH_KEY(c, map, "kms_key_id", str_field(c, v, &s3->kms_key_id));
  if (s3->kms_key_id && (s3->sse == NULL || strcmp(s3->sse, "aws:kms"))) {
    ks__conf_path_push(c, "kms_key_id");
    return ks__conf_fail(c, ks__conf_get(map, "kms_key_id")->line,
                         "needs sse: aws:kms next to it");
  }
  WITH_KEY(c, map, "ca_file", str_field(c, v, &s3->ca_file));
  WITH_KEY(c, map, "role_arn", str_field(c, v, &s3->role_arn));
  WITH_KEY(c, map, "external_id", str_field(c, v, &s3->external_id));
  WITH_KEY(c, map, "acl", enum_field(c, v, acl_names, &s3->acl));
  WITH_KEY(c, map, "conditional_writes_probe",
           bool_field(c, v, &s3->conditional_writes_probe));
  if (s3->external_id && s3->role_arn == NULL) {
    ks__conf_path_push(c, "external_id");
    return ks__conf_fail(c, ks__conf_get(map, "external_id")->line,
                         "needs role_arn next to it (the role it is "
                         "presented to)");
  }
  WITH_KEY(c, map, "verify_tls", bool_field(c, v, &s3->verify_tls));
  WITH_KEY(c, map, "unsigned_payload", bool_field(c, v, &s3->unsigned_payload));
  WITH_KEY(c, map, "connect_timeout",
           ks__conf_duration(c, v, 1, &s3->connect_timeout_ms));
  WITH_KEY(c, map, "stall_timeout",
           ks__conf_duration(c, v, 1000, &s3->stall_timeout_ms));
  WITH_KEY(c, map, "stale_upload_age",
           ks__conf_duration(c, v, 1000, &s3->stale_upload_age_ms));
  int r = sub_map(c, map, "retry", retry_keys);
  if (r < 0)
    return r;
  if (r) {
    const ks__conf_node *m = ks__conf_get(map, "retry");
    size_t saved = ks__conf_path_push(c, "retry");
    WITH_KEY(c, m, "base", ks__conf_duration(c, v, 1, &s3->retry_base_ms));
    WITH_KEY(c, m, "cap", ks__conf_duration(c, v, 1, &s3->retry_cap_ms));
    WITH_KEY(c, m, "max_attempts",
             int_field(c, v, 1, 1000, &s3->retry_max_attempts));
    if (s3->retry_cap_ms < s3->retry_base_ms) {
      ks__conf_path_push(c, "cap");
      return ks__conf_fail(c, ks__conf_key_line(m, "cap", m->line),
                           "expected at least retry.base (%lld ms), got "
                           "%lld ms",
                           (long long)s3->retry_base_ms,
                           (long long)s3->retry_cap_ms);
    }
    ks__conf_path_pop(c, saved);
  }
  if ((r = sub_map(c, map, "breaker", breaker_keys)) < 0)
    return r;
  if (r) {
    const ks__conf_node *m = ks__conf_get(map, "breaker");
    size_t saved = ks__conf_path_push(c, "breaker");
    WITH_KEY(c, m, "failures",
             int_field(c, v, 1, 100000, &s3->breaker_failures));
    WITH_KEY(c, m, "cooldown",
             ks__conf_duration(c, v, 1, &s3->breaker_cooldown_ms));
    ks__conf_path_pop(c, saved);
  }
  /* No region: storage resolves it (AWS_REGION, AWS_DEFAULT_REGION, the
   * profile's, then us-east-1). */
  return 0;
}

static int load_storage(ks__conf_ctx *c, const ks__conf_node *root,
                        ks_conf *conf) {
  const ks__conf_node *map;
  int r = section(c, root, "storage", storage_keys, &map);
  if (r)
    return r;
  size_t saved = ks__conf_path_push(c, "storage");
  if (map) {
    WITH_KEY(c, map, "url", str_field(c, v, &conf->storage_url));
    WITH_KEY(c, map, "unready_after_failures",
             ks__conf_int(c, v, 1, 1000000, &conf->storage_unready_after));
  }
  if (conf->storage_url) {
    char *u = ks_conf_normalize_url(conf->storage_url);
    ks_free(conf->storage_url);
    conf->storage_url = u;
  }
  if (conf->storage_url == NULL) {
    int line = ks__conf_key_line(
        map, "url", ks__conf_key_line(root, "storage", root->line));
    ks__conf_path_push(c, "url");
    return ks__conf_fail(c, line,
                         "missing; expected a URL like "
                         "\"file:///var/lib/ksink/lake\" or "
                         "\"s3://bucket/prefix\"");
  }
  {
    size_t s2 = ks__conf_path_push(c, "url");
    if ((r = check_url(c, ks__conf_get(map, "url")->line, conf->storage_url)))
      return r;
    ks__conf_path_pop(c, s2);
  }
  const ks__conf_node *s3 = ks__conf_get(map, "s3");
  if (s3 && !ks__conf_is_null(s3)) {
    size_t s2 = ks__conf_path_push(c, "s3");
    if ((r = ks__conf_expect_map(c, s3, "a mapping")) ||
        (r = ks__conf_check_keys(c, s3, s3_keys)) ||
        (r = load_s3(c, s3, &conf->s3)))
      return r;
    ks__conf_path_pop(c, s2);
  }
  /* A custom endpoint (RGW, MinIO) almost always wants path-style. */
  if (conf->s3.addressing == NULL)
    conf->s3.addressing = ks_strdup(conf->s3.endpoint ? "path" : "virtual");
  ks__conf_path_pop(c, saved);
  return 0;
}

/* "off", or an address ksink can bind: checked here so a typo fails at
 * start-up with file:line, not later when the server binds. */
static int listen_field(ks__conf_ctx *c, const ks__conf_node *v, char **out) {
  int r = str_field(c, v, out);
  if (r || strcmp(*out, "off") == 0)
    return r;
  char host[256], port[8], shown[128];
  if (ks_hostport_parse(*out, host, sizeof host, port, sizeof port) == 0)
    return 0;
  return ks__conf_fail(c, v->line,
                       "expected \"host:port\", \"[v6]:port\", \":port\" or "
                       "\"off\", got %s",
                       ks__conf_show(c, *out, shown, sizeof shown));
}

static int allowed_hosts(ks__conf_ctx *c, const ks__conf_node *v,
                         ks_conf *conf) {
  if (v->kind != KS__CONF_SEQ)
    return ks__conf_fail(c, v->line,
                         "expected a sequence of host names like "
                         "[ksink.example.com], got %s",
                         ks__conf_kind_name(v));
  conf->http_allowed_hosts = ks_calloc(v->n ? v->n : 1, sizeof(char *));
  for (size_t i = 0; i < v->n; i++) {
    const ks__conf_node *item = v->vals[i];
    char *name = NULL;
    size_t saved = ks__conf_path_push_index(c, i);
    if (ks__conf_is_null(item) || item->kind != KS__CONF_SCALAR)
      return ks__conf_fail(c, item->line, "expected a host name, got %s",
                           ks__conf_kind_name(item));
    KS__CONF_CALL(ks__conf_str(c, item, &name));
    if (name == NULL || strchr(name, ':') || strchr(name, '/')) {
      int r = ks__conf_fail(c, item->line,
                            "expected a host name without port or scheme, "
                            "got \"%s\"",
                            name ? name : "");
      ks_free(name);
      return r;
    }
    conf->http_allowed_hosts[conf->nhttp_allowed_hosts++] = name;
    ks__conf_path_pop(c, saved);
  }
  return 0;
}

static int load_http(ks__conf_ctx *c, const ks__conf_node *root,
                     ks_conf *conf) {
  const ks__conf_node *map;
  int r = section(c, root, "http", http_keys, &map);
  if (r || map == NULL)
    return r;
  size_t saved = ks__conf_path_push(c, "http");
  WITH_KEY(c, map, "listen", listen_field(c, v, &conf->http_listen));
  WITH_KEY(c, map, "admin_token", str_field(c, v, &conf->http_admin_token));
  WITH_KEY(c, map, "allowed_hosts", allowed_hosts(c, v, conf));
  if (conf->http_listen == NULL)
    conf->http_listen = ks_strdup("127.0.0.1:8083");
  /* Off loopback, anyone who reaches the port (another container of the
   * pod, a sidecar, a port-forward: all loopback peers to ksink) could
   * pause or restart the connector: a token is required there. */
  char host[256], port[8];
  if (strcmp(conf->http_listen, "off") != 0 &&
      ks_hostport_parse(conf->http_listen, host, sizeof host, port,
                        sizeof port) == 0 &&
      !ks_host_is_loopback(host) &&
      (conf->http_admin_token == NULL || conf->http_admin_token[0] == '\0'))
    return ks__conf_fail(
        c, ks__conf_key_line(map, "listen", map->line),
        "listen %s is not a loopback address: set http.admin_token (e.g. "
        "admin_token: ${KSINK_ADMIN_TOKEN} from a secret) so that pause, "
        "resume, stop and restart need it, or listen on 127.0.0.1",
        conf->http_listen);
  ks__conf_path_pop(c, saved);
  return 0;
}

static int load_log(ks__conf_ctx *c, const ks__conf_node *root, ks_conf *conf) {
  const ks__conf_node *map;
  int r = section(c, root, "log", log_keys, &map);
  if (r || map == NULL)
    return r;
  size_t saved = ks__conf_path_push(c, "log");
  WITH_KEY(c, map, "level", ks__conf_enum(c, v, level_names, &conf->log_level));
  WITH_KEY(c, map, "format",
           ks__conf_enum(c, v, log_format_names, &conf->log_format));
  ks__conf_path_pop(c, saved);
  return 0;
}


static ks_conf *conf_new(const char *name) {
  ks_conf *conf = ks_calloc(1, sizeof *conf);
  conf->file = ks_strdup(name);
  conf->memory_budget = INT64_C(256) << 20;
  conf->dlq_unready_after_ms = 60 * 1000;
  conf->storage_unready_after = 3;
  conf->http_listen = ks_strdup("127.0.0.1:8083");
  conf->log_level = 1;
  ks_conf_s3_defaults(&conf->s3);
  return conf;
}

static int load_tree(ks__conf_ctx *c, const ks__conf_node *root,
                     ks_conf *conf) {
  int r;
  if (root == NULL || ks__conf_is_null(root))
    return ks__conf_fail(c, 1,
                         "the configuration is empty; expected a "
                         "mapping with kafka, storage and tables");
  if ((r = ks__conf_expect_map(c, root, "a mapping at the top level")) ||
      (r = ks__conf_check_keys(c, root, root_keys)))
    return r;
  if ((r = load_kafka(c, root, conf)))
    return r;
  WITH_KEY(c, root, "app_id", str_field(c, v, &conf->app_id));
  const char *group = ks_conf_kafka_get(conf, "group.id");
  if (conf->app_id == NULL)
    conf->app_id = ks_strdup(group ? group : "ksink");
  if (group == NULL)
    kafka_add(conf, "group.id", ks_strdup(conf->app_id), 0);
  if ((r = load_reactor(c, root, conf)) || (r = load_storage(c, root, conf)) ||
      (r = load_http(c, root, conf)) || (r = load_log(c, root, conf)) ||
      (r = ks__conf_load_registry(c, root, conf)) ||
      (r = ks__conf_load_tables(c, root, conf)))
    return r;
  return 0;
}

static int load(const char *text, size_t len, const char *name, const char *dir,
                ks_conf **out, char *err, size_t errlen) {
  ks__conf_node *root;
  ks__conf_ctx c = {.file = name, .dir = dir, .err = err, .errlen = errlen};
  char dummy[1];
  if (err == NULL || errlen == 0) {
    c.err = dummy;
    c.errlen = sizeof dummy;
  }
  *out = NULL;
  int r = ks__conf_yaml_parse(text, len, name, &root, c.err, c.errlen);
  if (r)
    return r;
  ks_conf *conf = conf_new(name);
  r = load_tree(&c, root, conf);
  ks__conf_node_free(root);
  if (r) {
    ks_conf_free(conf);
    return r;
  }
  *out = conf;
  return 0;
}

int ks_conf_load_string(const char *text, size_t len, const char *name,
                        ks_conf **out, char *err, size_t errlen) {
  return load(text, len, name ? name : "<string>", NULL, out, err, errlen);
}

int ks_conf_load_file(const char *path, ks_conf **out, char *err,
                      size_t errlen) {
  uint8_t *text;
  size_t len;
  *out = NULL;
  int e = ks_read_file(path, MAX_CONF_BYTES, &text, &len, NULL, 0);
  if (e) {
    if (err && errlen)
      snprintf(err, errlen, "%s: cannot read: %s", path,
               strerror(e == KS_ETOOBIG ? EFBIG : -e));
    return KS_ECONFIG;
  }
  /* Relative schema paths fall back to the config file's directory. */
  const char *slash = strrchr(path, '/');
  char *dir = slash
                  ? ks_strndup(path, slash == path ? 1 : (size_t)(slash - path))
                  : ks_strdup(".");
  int r = load((const char *)text, len, path, dir, out, err, errlen);
  ks_free(dir);
  ks_free(text);
  return r;
}

void ks_conf_free(ks_conf *c) {
  if (c == NULL)
    return;
  ks_free(c->file);
  ks_free(c->app_id);
  for (size_t i = 0; i < c->nkafka; i++) {
    ks_free(c->kafka[i].key);
    ks_free(c->kafka[i].value);
  }
  ks_free(c->kafka);
  ks_free(c->cores);
  ks_free(c->storage_url);
  ks_free(c->s3.endpoint);
  ks_free(c->s3.region);
  ks_free(c->s3.addressing);
  ks_free(c->s3.access_key_id);
  ks_free(c->s3.secret_access_key);
  ks_free(c->s3.session_token);
  ks_free(c->s3.sse);
  ks_free(c->s3.kms_key_id);
  ks_free(c->s3.ca_file);
  ks_free(c->s3.role_arn);
  ks_free(c->s3.external_id);
  ks_free(c->s3.acl);
  ks_free(c->http_listen);
  ks__conf_registry_free(c);
  ks_free(c->http_admin_token);
  for (size_t i = 0; i < c->nhttp_allowed_hosts; i++)
    ks_free(c->http_allowed_hosts[i]);
  ks_free(c->http_allowed_hosts);
  for (size_t i = 0; i < c->ntables; i++)
    ks__conf_table_free(&c->tables[i]);
  ks_free(c->tables);
  ks_free(c);
}

const char *ks_conf_kafka_get(const ks_conf *c, const char *key) {
  for (size_t i = 0; i < c->nkafka; i++)
    if (strcmp(c->kafka[i].key, key) == 0)
      return c->kafka[i].value;
  return NULL;
}

int ks_conf_kafka_is_secret(const char *key) {
  char path[256];
  snprintf(path, sizeof path, "kafka.%s", key);
  return ks__conf_path_is_secret(path);
}
