/*
 * `ksink check -c FILE`: a dry run of everything `ksink run` depends on,
 * without consuming a record or writing a table. Prints one checklist line
 * per item -- "ok", "FAIL" or "skip", the item, and the reason -- so an
 * operator sees every problem at once instead of the first one at start-up:
 *
 *   config        the file loads and validates (nothing else runs if not)
 *   schema        each table's JSON Schema compiles and maps to columns
 *   kafka         the brokers answer a metadata request; each topic exists
 *                 and is readable; the group may be described (where the
 *                 broker tells: authorization is refused explicitly)
 *   storage       a scratch object under storage.url is written, a second
 *                 put-if-absent of it is refused (the Delta log relies on
 *                 that), it reads back identical, and is deleted
 *   registry      for each value_format json_schema/avro table, the newest
 *                 schema of subject <topic>-value is fetched and mapped to
 *                 columns (the table's start-up); "not configured" without
 *                 schema_registry
 *
 * Exit 0 when everything passes, 2 when the config or a schema is bad, 1
 * when something is unreachable or refused (CLI.md).
 */
#include "base/ks.h"
#include "cli/cli.h"
#include "conf/conf.h"
#include "stages/record/schema.h"
#include "stages/registry.h"
#include "storage/storage.h"

#include <getopt.h>
#include <stdarg.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char check_usage[] =
    "usage: ksink check -c FILE [--timeout DURATION]\n"
    "\n"
    "Checks a config against the real Kafka, storage and registry without\n"
    "consuming or committing anything; one line per item: ok, FAIL or skip.\n"
    "\n"
    "  -c, --config FILE     the config file to check (required)\n"
    "  --timeout DURATION    how long to wait for Kafka and storage per "
    "step\n"
    "                        (default 10s)\n"
    "  -h, --help            this help\n"
    "\n"
    "exit codes: 0 all passed, 1 something unreachable or refused, 2 bad "
    "config or schema\n";

typedef struct checklist {
  int failed;     /* runtime failures: exit 1 */
  int bad_config; /* config or schema: exit 2 */
} checklist;

static void item(checklist *cl, const char *verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void item(checklist *cl, const char *verdict, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%-5s ", verdict);
  vprintf(fmt, ap);
  putchar('\n');
  va_end(ap);
  if (strcmp(verdict, "FAIL") == 0)
    cl->failed++;
  fflush(stdout);
}

/* ---- schemas ------------------------------------------------------------ */

static void check_schemas(checklist *cl, const ks_conf *c) {
  for (size_t i = 0; i < c->ntables; i++) {
    const ks_conf_table *t = &c->tables[i];
    if (t->schema_path == NULL) {
      item(cl, "skip", "schema %s: none (schemaless table: columns come from "
                       "the records or the existing table)",
           t->name);
      continue;
    }
    char err[1024];
    ks_schema *s = NULL;
    if (ks_schema_load_file(t->schema_path, &s, err, sizeof err)) {
      item(cl, "FAIL", "schema %s: %s", t->name, err);
      cl->bad_config++;
      continue;
    }
    item(cl, "ok", "schema %s: %s (%zu columns)", t->name, t->schema_path,
         ks_schema_ncolumns(s));
    ks_schema_free(s);
  }
}

/* ---- registry ----------------------------------------------------------- */

static void check_registry(checklist *cl, const ks_conf *c) {
  if (c->nregistry_urls == 0) {
    item(cl, "skip", "schema registry: not configured");
    return;
  }
  ks_registry *r = ks_registry_new(c->registry_urls, c->nregistry_urls,
                                   c->registry_basic_auth,
                                   c->registry_bearer_token);
  int asked = 0;
  for (size_t i = 0; i < c->ntables; i++) {
    const ks_conf_table *t = &c->tables[i];
    if (t->value_format == KS_VALUE_FORMAT_JSON)
      continue;
    asked++;
    char err[1024] = "";
    ks_schema *s = NULL;
    int rc = ks_registry_table_schema(r, t, &s, err, sizeof err);
    if (rc) {
      item(cl, "FAIL", "schema registry: %s", err);
      if (rc != KS_EIO && t->schema_path == NULL)
        cl->bad_config++;
      continue;
    }
    item(cl, "ok", "schema registry: table %s: subject %s-value (%zu columns%s)",
         t->name, t->topics[0], ks_schema_ncolumns(s),
         t->schema_path ? "; the table's columns come from its schema file"
                        : "");
    ks_schema_free(s);
  }
  if (asked == 0)
    item(cl, "ok", "schema registry: configured; no table has value_format "
                   "json_schema or avro");
  ks_registry_free(r);
}

/* ---- kafka -------------------------------------------------------------- */

static rd_kafka_t *kafka_client(checklist *cl, const ks_conf *c,
                                rd_kafka_mock_cluster_t **mock,
                                rd_kafka_t **mock_rk) {
  char e[512];
  const char *bs = ks_conf_kafka_get(c, "bootstrap.servers");
  if (bs && strcmp(bs, "mock") == 0) {
    /* The in-process mock cluster `ksink run` would start, with the
     * config's topics: it checks the rest of the path, not a real broker. */
    rd_kafka_conf_t *mc = rd_kafka_conf_new();
    rd_kafka_conf_set(mc, "log_level", "0", e, sizeof e);
    *mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, mc, e, sizeof e);
    *mock = *mock_rk ? rd_kafka_mock_cluster_new(*mock_rk, 1) : NULL;
    if (*mock == NULL) {
      item(cl, "FAIL", "kafka: cannot start the in-process mock cluster");
      return NULL;
    }
    for (size_t i = 0; i < c->ntables; i++)
      for (size_t j = 0; j < c->tables[i].ntopics; j++)
        rd_kafka_mock_topic_create(*mock, c->tables[i].topics[j], 1, 1);
    bs = rd_kafka_mock_cluster_bootstraps(*mock);
  }
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  rd_kafka_conf_set(kc, "log_level", "0", e, sizeof e);
  for (size_t i = 0; i < c->nkafka; i++) {
    const ks_conf_kv *kv = &c->kafka[i];
    const char *v = strcmp(kv->key, "bootstrap.servers") == 0 ? bs : kv->value;
    if (rd_kafka_conf_set(kc, kv->key, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
      item(cl, "FAIL", "kafka: %s:%d: kafka.%s: %s", c->file, kv->line,
           kv->key, e);
      cl->bad_config++;
      rd_kafka_conf_destroy(kc);
      return NULL;
    }
  }
  /* Never join the group: a check must not trigger a rebalance of the
   * running members. A producer handle asks for metadata only. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e);
  if (rk == NULL) {
    item(cl, "FAIL", "kafka: %s", e);
    cl->bad_config++;
    rd_kafka_conf_destroy(kc);
  }
  return rk;
}

static void check_kafka(checklist *cl, const ks_conf *c, int timeout_ms) {
  rd_kafka_mock_cluster_t *mock = NULL;
  rd_kafka_t *mock_rk = NULL;
  rd_kafka_t *rk = kafka_client(cl, c, &mock, &mock_rk);
  const char *bs = ks_conf_kafka_get(c, "bootstrap.servers");
  if (rk == NULL)
    goto out;
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
  if (err) {
    item(cl, "FAIL",
         "kafka: no metadata from bootstrap.servers %s within %d ms (%s); "
         "check the address, the listeners the brokers advertise and the "
         "security settings",
         bs ? bs : "(unset)", timeout_ms, rd_kafka_err2str(err));
    for (size_t i = 0; i < c->ntables; i++)
      for (size_t j = 0; j < c->tables[i].ntopics; j++)
        item(cl, "skip", "kafka topic %s: brokers unreachable",
             c->tables[i].topics[j]);
    goto out;
  }
  item(cl, "ok", "kafka: %d brokers answer at %s", md->broker_cnt,
       bs ? bs : "(unset)");
  for (size_t i = 0; i < c->ntables; i++) {
    for (size_t j = 0; j < c->tables[i].ntopics; j++) {
      const char *name = c->tables[i].topics[j];
      const struct rd_kafka_metadata_topic *mt = NULL;
      for (int k = 0; k < md->topic_cnt; k++)
        if (strcmp(md->topics[k].topic, name) == 0)
          mt = &md->topics[k];
      if (mt == NULL)
        item(cl, "FAIL",
             "kafka topic %s (table %s): does not exist (or is not visible "
             "to this principal)",
             name, c->tables[i].name);
      else if (mt->err)
        item(cl, "FAIL", "kafka topic %s (table %s): %s", name,
             c->tables[i].name, rd_kafka_err2str(mt->err));
      else
        item(cl, "ok", "kafka topic %s (table %s): %d partitions", name,
             c->tables[i].name, mt->partition_cnt);
    }
    if (c->tables[i].topics_regex) {
      /* topics created later join at the next metadata refresh */
      int n = 0;
      for (int k = 0; k < md->topic_cnt; k++)
        n += ks_conf_table_of(c, md->topics[k].topic) == (int)i;
      item(cl, "ok", "kafka topics_regex %s (table %s): %d topics match now%s",
           c->tables[i].topics_regex, c->tables[i].name, n,
           n ? "" : " (topics created later are picked up)");
    }
  }
  rd_kafka_metadata_destroy(md);

  /* The group: DescribeGroups answers GROUP_AUTHORIZATION_FAILED when the
   * principal may not use it; other answers say nothing about the ACL. */
  const char *group = ks_conf_kafka_get(c, "group.id");
  if (group == NULL)
    group = c->app_id;
  const struct rd_kafka_group_list *gl = NULL;
  err = rd_kafka_list_groups(rk, group, &gl, timeout_ms);
  rd_kafka_resp_err_t gerr = err;
  if (!err && gl && gl->group_cnt > 0)
    gerr = gl->groups[0].err;
  if (gerr == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED)
    item(cl, "FAIL", "kafka group %s: not authorized (%s)", group,
         rd_kafka_err2str(gerr));
  else if (gerr)
    item(cl, "skip", "kafka group %s: ACL not detectable (%s)", group,
         rd_kafka_err2str(gerr));
  else
    item(cl, "ok", "kafka group %s: may be described%s", group,
         gl && gl->group_cnt > 0 && *gl->groups[0].state
             ? ""
             : " (no member yet)");
  if (gl)
    rd_kafka_group_list_destroy(gl);
out:
  if (rk)
    rd_kafka_destroy(rk);
  if (mock)
    rd_kafka_mock_cluster_destroy(mock);
  if (mock_rk)
    rd_kafka_destroy(mock_rk);
}

/* ---- storage ------------------------------------------------------------ */

/* One step at a time on a private loop: each callback records the status
 * and the probe runs the loop until it has answered. */
typedef struct probe {
  uv_loop_t *loop;
  ks_storage *st;
  int done, status;
  uint8_t *data;
  size_t len;
} probe;

static void on_status(void *arg, int status) {
  probe *p = arg;
  p->done = 1;
  p->status = status;
}

static void on_data(void *arg, int status, const uint8_t *data, size_t len) {
  probe *p = arg;
  p->done = 1;
  p->status = status;
  if (status == 0) {
    p->data = ks_malloc(len + 1);
    memcpy(p->data, data, len);
    p->len = len;
  }
}

static int await(probe *p, int r) {
  if (r)
    return r;
  while (!p->done && uv_run(p->loop, UV_RUN_ONCE))
    ;
  int s = p->done ? p->status : KS_EIO;
  p->done = 0;
  return s;
}

typedef struct storage_args {
  checklist *cl;
  const ks_conf *c;
} storage_args;

static int storage_steps(uv_loop_t *loop, ks_storage *st, void *arg) {
  storage_args *a = arg;
  checklist *cl = a->cl;
  const char *url = a->c->storage_url;
  probe p = {.loop = loop, .st = st};
  char host[64] = "host";
  gethostname(host, sizeof host - 1);
  char key[256], body[256];
  snprintf(key, sizeof key, "_ksink_check/%s-%d-%lld", host, (int)getpid(),
           (long long)time(NULL));
  int n = snprintf(body, sizeof body, "ksink check probe %s\n", key);
  int r = await(&p, ks_storage_put_if_absent(st, key, body, (size_t)n,
                                             on_status, &p));
  if (r) {
    item(cl, "FAIL", "storage %s: write %s: %s", url, key, ks_strerror(r));
    return r;
  }
  item(cl, "ok", "storage %s: write %s", url, key);
  r = await(&p, ks_storage_put_if_absent(st, key, body, (size_t)n, on_status,
                                         &p));
  if (r == KS_EEXIST)
    item(cl, "ok", "storage %s: a second put-if-absent is refused", url);
  else if (r == 0)
    item(cl, "FAIL",
         "storage %s: a second put-if-absent replaced the object: the store "
         "ignores conditional writes (If-None-Match), which the Delta log "
         "needs to keep two writers from taking the same version",
         url);
  else
    item(cl, "FAIL", "storage %s: second put-if-absent: %s", url,
         ks_strerror(r));
  r = await(&p, ks_storage_get(st, key, on_data, &p));
  if (r)
    item(cl, "FAIL", "storage %s: read back: %s", url, ks_strerror(r));
  else if (p.len != (size_t)n || memcmp(p.data, body, p.len) != 0)
    item(cl, "FAIL", "storage %s: read back %zu bytes, not the %d written",
         url, p.len, n);
  else
    item(cl, "ok", "storage %s: read back", url);
  ks_free(p.data);
  r = await(&p, ks_storage_del(st, key, on_status, &p));
  if (r)
    item(cl, "FAIL", "storage %s: delete %s: %s", url, key, ks_strerror(r));
  else
    item(cl, "ok", "storage %s: delete", url);
  return 0;
}

static void check_storage(checklist *cl, const ks_conf *c) {
  storage_args a = {cl, c};
  char err[1024] = "";
  int before = cl->failed;
  int r = ks_storage_run_private(c->storage_url, &c->s3, storage_steps, &a,
                                 err, sizeof err);
  if (r && cl->failed == before)
    item(cl, "FAIL", "storage %s: %s", c->storage_url,
         *err ? err : ks_strerror(r));
}

/* ---- the command -------------------------------------------------------- */

int ks_cli_check(int argc, char **argv) {
  const char *file = NULL;
  int64_t timeout_ms = 10000;
  static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                       {"timeout", required_argument, 0, 't'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (o) {
    case 'c':
      file = optarg;
      break;
    case 't':
      if (ks_conf_parse_duration(optarg, &timeout_ms) || timeout_ms <= 0) {
        fprintf(stderr, "ksink check: --timeout: expected a duration like "
                        "\"10s\", got \"%s\"\n",
                optarg);
        return KS_EXIT_USAGE;
      }
      break;
    case 'h':
      fputs(check_usage, stdout);
      return KS_EXIT_OK;
    default:
      fputs(check_usage, stderr);
      return KS_EXIT_USAGE;
    }
  }
  if (file == NULL || optind != argc) {
    fputs(check_usage, stderr);
    return KS_EXIT_USAGE;
  }
  checklist cl = {0, 0};
  char err[1024];
  ks_conf *c = NULL;
  if (ks_conf_load_file(file, &c, err, sizeof err)) {
    item(&cl, "FAIL", "config: %s", err);
    printf("result: the config does not load; nothing else was checked\n");
    return KS_EXIT_USAGE;
  }
  item(&cl, "ok", "config: %s (%zu tables)", file, c->ntables);
  check_schemas(&cl, c);
  check_kafka(&cl, c, (int)timeout_ms);
  check_storage(&cl, c);
  check_registry(&cl, c);
  ks_conf_free(c);
  if (cl.failed)
    printf("result: %d failed\n", cl.failed);
  else
    printf("result: all passed\n");
  if (cl.bad_config)
    return KS_EXIT_USAGE;
  return cl.failed ? KS_EXIT_FAILURE : KS_EXIT_OK;
}
