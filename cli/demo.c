/*
 * ksink demo: an in-process mock Kafka cluster, a generator producing
 * realistic user events (about 5% invalid in varied ways), and the real
 * pipeline sinking them into DIR/lake/user_events as a Delta table. The
 * generator is throttled to stay within the mock broker's retention (it
 * keeps only the newest 5 MiB per partition).
 */
#include "base/log.h"
#include "cli/cli.h"
#include "conf/conf.h"
#include "demo/events.h"
#include "http/server.h"
#include "reactor/pipeline.h"
#include "stages/record/schema.h"
#include "user_events_schema.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records the generator may run ahead of the pipeline: ~200 bytes each
 * over 16 partitions stays far below the mock's 5 MiB per partition. */
#define DEMO_MAX_AHEAD 150000

typedef struct demo {
  ks_pipeline *p;
  ks_http *http; /* the operator endpoints while the pipeline runs */
  uint64_t events;
  uint64_t seed;
  uv_thread_t producer;
  atomic_uint_fast64_t produced, delivered, failed, valid, invalid;
  atomic_int producer_done;
  int producer_error;
  uint64_t start_ms, last_ms, last_consumed;
  int tty;
  int announced; /* the start line is out */
  const char *table;
} demo;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
  demo *d = opaque;
  if (m->err)
    atomic_fetch_add(&d->failed, 1);
  else
    atomic_fetch_add(&d->delivered, 1);
}

static void produce_main(void *arg) {
  demo *d = arg;
  char e[256];
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  rd_kafka_conf_set(kc, "bootstrap.servers", ks_pipeline_mock_bootstraps(d->p),
                    e, sizeof e);
  rd_kafka_conf_set(kc, "linger.ms", "5", e, sizeof e);
  rd_kafka_conf_set(kc, "queue.buffering.max.messages", "200000", e, sizeof e);
  rd_kafka_conf_set(kc, "log_level", "3", e, sizeof e);
  rd_kafka_conf_set_opaque(kc, d);
  rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e);
  if (rk == NULL) {
    ks_log_error("demo: producer: %s", e);
    d->producer_error = 1;
    atomic_store(&d->producer_done, 1);
    return;
  }
  ks_demo_gen g;
  ks_demo_gen_init(&g, d->seed, 50);
  ks_buf b;
  ks_buf_init(&b, 0);
  for (uint64_t i = 0; i < d->events; i++) {
    ks_totals t;
    for (;;) {
      ks_pipeline_totals(d->p, &t);
      if (atomic_load(&d->produced) < t.consumed + DEMO_MAX_AHEAD ||
          atomic_load(&d->p->env.fatal))
        break;
      rd_kafka_poll(rk, 1);
    }
    if (atomic_load(&d->p->env.fatal))
      break;
    ks_buf_reset(&b);
    char key[32];
    const char *kind = NULL;
    if (ks_demo_gen_next(&g, &b, key, &kind))
      atomic_fetch_add(&d->invalid, 1);
    else
      atomic_fetch_add(&d->valid, 1);
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC("user-events"),
          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(b.data, b.len),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (err) {
        ks_log_error("demo: produce: %s", rd_kafka_err2str(err));
        atomic_fetch_add(&d->failed, 1);
      }
      break;
    }
    atomic_fetch_add(&d->produced, 1);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  ks_buf_free(&b);
  rd_kafka_destroy(rk);
  atomic_store(&d->producer_done, 1);
}

static void fmt_num(char *out, size_t n, uint64_t v) {
  char tmp[32];
  int len = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  size_t o = 0;
  for (int i = 0; i < len && o + 2 < n; i++) {
    if (i > 0 && (len - i) % 3 == 0)
      out[o++] = ',';
    out[o++] = tmp[i];
  }
  out[o] = 0;
}

/* The start line waits for the first tick: the HTTP port (picked by the
 * kernel, so a busy 8083 never fails the demo) is known once the pipeline
 * runs. */
static void announce(demo *d) {
  char n[32], url[64] = "";
  fmt_num(n, sizeof n, d->events);
  if (d->http)
    snprintf(url, sizeof url, ", metrics at http://127.0.0.1:%d/metrics",
             ks_http_port(d->http));
  fprintf(stderr, "ksink demo: %s events -> %s (Delta Lake), %d workers%s\n",
          n, d->table, d->p->nworkers, url);
  d->announced = 1;
}

static void on_tick(ks_pipeline *p, void *arg) {
  demo *d = arg;
  if (!d->announced)
    announce(d);
  ks_totals t;
  ks_pipeline_totals(p, &t);
  uint64_t now = ks_mono_ms();
  double rate = now > d->last_ms ? (double)(t.consumed - d->last_consumed) *
                                       1000.0 / (double)(now - d->last_ms)
                                 : 0;
  d->last_ms = now;
  d->last_consumed = t.consumed;
  char c[32], w[32], r[32];
  fmt_num(c, sizeof c, t.consumed);
  fmt_num(w, sizeof w, t.written);
  fmt_num(r, sizeof r, t.rejected);
  fprintf(stderr, "%s%8.0f records/s | consumed %s | rows written %s | "
                  "rejected %s | delta version %lld%s",
          d->tty ? "\r" : "", rate, c, w, r, (long long)t.delta_version,
          d->tty ? "   " : "\n");
  if (atomic_load(&d->producer_done) &&
      t.consumed >= atomic_load(&d->delivered) && !atomic_load(&p->env.stopping))
    ks_pipeline_stop(p);
}

static int remove_entry(const char *path, const struct stat *st, int type,
                        struct FTW *ftw) {
  return remove(path);
}

static int remove_tree(const char *path) {
  return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int ks_cli_demo(int argc, char **argv) {
  static const char demo_usage[] =
      "usage: ksink demo [--events N] [--dir DIR] [--seed S]\n"
      "\n"
      "An in-process mock Kafka, an event generator and the pipeline, writing\n"
      "DIR/lake/user_events as a Delta table; progress on stderr, a summary at\n"
      "the end.\n"
      "\n"
      "  --events N   records to generate (default 1000000)\n"
      "  --dir DIR    where lake/ goes (default: the current directory)\n"
      "  --seed S     the generator's seed (default 42)\n"
      "  -h, --help   this help\n";
  static const struct option opts[] = {{"events", required_argument, 0, 'n'},
                                       {"dir", required_argument, 0, 'd'},
                                       {"seed", required_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  uint64_t events = 1000000, seed = 42;
  const char *dir = ".";
  int c;
  char *end;
  optind = 1;
  while ((c = getopt_long(argc, argv, "n:d:s:h", opts, NULL)) != -1) {
    switch (c) {
    case 'n':
      errno = 0;
      events = strtoull(optarg, &end, 10);
      if (errno || *end || events == 0 || optarg[0] == '-') {
        fprintf(stderr, "ksink demo: --events: expected a positive number, "
                        "got \"%s\"\n", optarg);
        return KS_EXIT_USAGE;
      }
      break;
    case 'd':
      dir = optarg;
      break;
    case 's':
      seed = strtoull(optarg, &end, 10);
      break;
    case 'h':
      fputs(demo_usage, stdout);
      return KS_EXIT_OK;
    default:
      fputs(demo_usage, stderr);
      return KS_EXIT_USAGE;
    }
  }
  if (optind != argc) {
    fputs(demo_usage, stderr);
    return KS_EXIT_USAGE;
  }
  if (mkdir(dir, 0755) && errno != EEXIST) {
    fprintf(stderr, "ksink demo: %s: %s\n", dir, strerror(errno));
    return KS_EXIT_FAILURE;
  }
  char abs[PATH_MAX];
  if (realpath(dir, abs) == NULL) {
    fprintf(stderr, "ksink demo: %s: %s\n", dir, strerror(errno));
    return KS_EXIT_FAILURE;
  }
  /* A fresh mock cluster restarts offsets at 0; a table left by an earlier
   * demo would make its txn versions skip them. Start clean. */
  char table[PATH_MAX + 32], logdir[PATH_MAX + 128];
  snprintf(table, sizeof table, "%s/lake/user_events", abs);
  snprintf(logdir, sizeof logdir, "%s/_delta_log", table);
  if (access(logdir, F_OK) == 0) {
    fprintf(stderr, "removing the previous demo table at %s\n", table);
    remove_tree(table);
  }

  ks_log_set_level(KS_LOG_ERROR);
  char yaml[PATH_MAX + 1024];
  snprintf(yaml, sizeof yaml,
           "app_id: ksink-demo\n"
           "kafka:\n"
           "  bootstrap.servers: mock\n"
           "  group.id: ksink-demo\n"
           "storage:\n"
           "  url: file://%s/lake\n"
           "tables:\n"
           "  - name: user_events\n"
           "    topics: [user-events]\n"
           "    path: user_events\n"
           "    format: delta\n"
           "    compression: snappy\n"
           "    flush: { records: 250000, bytes: 128MiB, interval: 5s }\n"
           "    errors: { tolerance: all }\n"
           "http: { listen: \"127.0.0.1:0\" }\n",
           abs);
  char err[1024];
  ks_conf *conf = NULL;
  int r = ks_conf_load_string(yaml, strlen(yaml), "demo", &conf, err,
                              sizeof err);
  if (r) {
    fprintf(stderr, "ksink demo: %s\n", err);
    return KS_EXIT_FAILURE;
  }
  ks_schema *schemas[1] = {NULL};
  r = ks_schema_load_string(ks_user_events_schema,
                            strlen(ks_user_events_schema),
                            "conf/schemas/user-events.json", &schemas[0], err,
                            sizeof err);
  demo d;
  memset(&d, 0, sizeof d);
  if (r == 0)
    r = ks_pipeline_new(conf, schemas, &d.p, err, sizeof err);
  if (r) {
    fprintf(stderr, "ksink demo: %s\n", err);
    ks_schema_free(schemas[0]);
    ks_conf_free(conf);
    return KS_EXIT_FAILURE;
  }
  d.events = events;
  d.seed = seed;
  d.tty = isatty(STDERR_FILENO);
  d.start_ms = d.last_ms = ks_mono_ms();
  d.table = table;
  ks_pipeline_set_tick(d.p, d.tty ? 250 : 2000, on_tick, &d);
  uv_thread_create(&d.producer, produce_main, &d);
  int code = ks_cli_serve(d.p, &d.http);
  uv_thread_join(&d.producer);
  double secs = (double)(ks_mono_ms() - d.start_ms) / 1000.0;

  ks_totals t;
  ks_pipeline_totals(d.p, &t);
  if (d.tty)
    fputc('\n', stderr);
  char a[32], b[32], cc[32];
  fmt_num(a, sizeof a, t.consumed);
  fprintf(stderr, "\nksink demo: %s records in %.1f s (%.0f records/s)\n", a,
          secs, secs > 0 ? (double)t.consumed / secs : 0);
  fmt_num(a, sizeof a, t.written);
  fmt_num(b, sizeof b, atomic_load(&d.valid));
  fprintf(stderr, "  rows written  %12s (generator made %s valid events)\n", a,
          b);
  fmt_num(a, sizeof a, t.rejected);
  fmt_num(b, sizeof b, atomic_load(&d.invalid));
  fprintf(stderr, "  rejected      %12s (generator made %s invalid):", a, b);
  for (int i = 0; i < KS_REASON_COUNT; i++) {
    if (t.rejected_by[i]) {
      fmt_num(cc, sizeof cc, t.rejected_by[i]);
      fprintf(stderr, " %s %s", ks_reason_name(i), cc);
    }
  }
  fprintf(stderr, "\n  table         %s: Delta version %lld, %llu files\n",
          table, (long long)t.delta_version, (unsigned long long)t.files);
  if (t.written != atomic_load(&d.valid) ||
      t.rejected != atomic_load(&d.invalid) || atomic_load(&d.failed)) {
    fprintf(stderr, "ksink demo: MISMATCH: rows written or rejected differ "
                    "from what the generator produced\n");
    code = KS_EXIT_FAILURE;
  }
  fprintf(stderr,
          "\nQuery it with DuckDB (https://duckdb.org), e.g.:\n"
          "  duckdb -c \"INSTALL delta; LOAD delta; SELECT event_type, "
          "count(*) AS n FROM delta_scan('%s') GROUP BY 1 ORDER BY n DESC\"\n"
          "or read the Parquet files directly:\n"
          "  duckdb -c \"SELECT count(*) FROM read_parquet('%s/*.parquet')\"\n",
          table, table);
  ks_pipeline_free(d.p);
  ks_conf_free(conf);
  return code;
}
