/*
 * Worker scaling: the whole pipeline (librdkafka fetch, decode + validate
 * + shred, Parquet encode, local files, Delta commits) with 1 and with 2
 * workers in the same run, on the same records, and the ratio. The records
 * are produced once (lz4, keyed, 16 partitions) into an in-process mock
 * cluster; every round is a fresh consumer group reading them all from the
 * start into a fresh table under a temporary directory. A round is timed
 * from its first consumed record to its last (the steady state: fetch,
 * decode, encode, upload, commit) and, end to end, until the pipeline has
 * also flushed the rest, committed and left the group; rounds alternate
 * 1, 2, 1, 2, ... and the best of each is reported. Usage: bench_workers
 * [--events N] [--rounds R] [--pin]
 * [-X kafka.key=value]... [-T table.key=value]... (-X passes a consumer
 * property through; -T a key of the table, as YAML: -T
 * "partition_by=[event_type]", -T format=jsonl).
 */
#include "bench/bench_common.h"
#include "base/ks.h"
#include "base/log.h"
#include "conf/conf.h"
#include "demo/events.h"
#include "reactor/pipeline.h"
#include "stages/record/schema.h"

#include <ftw.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct produced {
  uint64_t delivered, failed, valid, bytes;
} produced;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
  produced *pr = opaque;
  if (m->err)
    pr->failed++;
  else
    pr->delivered++;
}

/* The mock keeps only the newest 5 MiB of batches per partition, as sent:
 * lz4 lets a few hundred thousand demo events fit. */
static int produce(const char *bootstraps, size_t n, produced *pr) {
  char e[256];
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  rd_kafka_conf_set(kc, "bootstrap.servers", bootstraps, e, sizeof e);
  rd_kafka_conf_set(kc, "compression.codec", "lz4", e, sizeof e);
  rd_kafka_conf_set(kc, "linger.ms", "20", e, sizeof e);
  rd_kafka_conf_set(kc, "queue.buffering.max.messages", "500000", e,
                    sizeof e);
  rd_kafka_conf_set(kc, "log_level", "3", e, sizeof e);
  rd_kafka_conf_set_opaque(kc, pr);
  rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e);
  if (rk == NULL) {
    fprintf(stderr, "bench_workers: producer: %s\n", e);
    return 1;
  }
  ks_demo_gen g;
  ks_demo_gen_init(&g, 1, 50);
  ks_buf b;
  ks_buf_init(&b, 0);
  for (size_t i = 0; i < n; i++) {
    char key[32];
    ks_buf_reset(&b);
    if (ks_demo_gen_next(&g, &b, key, NULL) == 0)
      pr->valid++;
    pr->bytes += b.len;
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("user-events"),
                             RD_KAFKA_V_KEY(key, strlen(key)),
                             RD_KAFKA_V_VALUE(b.data, b.len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  ks_buf_free(&b);
  rd_kafka_destroy(rk);
  return pr->delivered == n ? 0 : 1;
}

typedef struct round {
  uint64_t want;
  double first_s; /* first record consumed, 0 before */
  double last_s;  /* all consumed */
} round;

static void on_tick(ks_pipeline *p, void *arg) {
  round *r = arg;
  ks_totals t;
  ks_pipeline_totals(p, &t);
  if (r->first_s == 0 && t.consumed > 0)
    r->first_s = bench_now_s();
  if (t.consumed >= r->want && !atomic_load(&p->env.stopping)) {
    r->last_s = bench_now_s();
    ks_pipeline_stop(p);
  }
}

static int rm_entry(const char *path, const struct stat *st, int type,
                    struct FTW *ftw) {
  return remove(path);
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct timing {
  double consume_s, total_s, cpu_s; /* cpu: every thread of the process */
} timing;

/* One round; returns 0, or -1 on failure. */
static int run_round(const char *bootstraps, const char *dir, int workers,
                     int pin, int no, const produced *pr, const char *extra,
                     const char *table_extra, timing *tm) {
  char yaml[4096], err[1024];
  snprintf(yaml, sizeof yaml,
           "app_id: bench\n"
           "kafka:\n"
           "  bootstrap.servers: \"%s\"\n"
           "  group.id: bench-%d-%d\n"
           "%s"
           "reactor: { workers: %d%s }\n"
           "storage:\n"
           "  url: file://%s\n"
           "tables:\n"
           "  - name: user_events\n"
           "    topics: [user-events]\n"
           "    path: t%d-w%d\n"
           "%s"
           "    flush: { records: 100000, bytes: 128MiB, interval: 30s }\n"
           "    errors: { tolerance: all }\n"
           "%s"
           "http: { listen: \"off\" }\n",
           bootstraps, no, workers, extra, workers,
           pin ? (workers == 1 ? ", cores: [0]" : ", cores: [0, 1]") : "", dir,
           no, workers,
           strstr(table_extra, "compression:") ? ""
                                               : "    compression: snappy\n",
           table_extra);
  ks_conf *conf = NULL;
  if (ks_conf_load_string(yaml, strlen(yaml), "bench", &conf, err,
                          sizeof err)) {
    fprintf(stderr, "bench_workers: %s\n", err);
    return -1;
  }
  ks_schema *schemas[1] = {NULL};
  ks_pipeline *p = NULL;
  if (ks_schema_load_string(bench_seed_schema, strlen(bench_seed_schema),
                            "bench", &schemas[0], err, sizeof err) ||
      ks_pipeline_new(conf, schemas, &p, err, sizeof err)) {
    fprintf(stderr, "bench_workers: %s\n", err);
    ks_schema_free(schemas[0]);
    ks_conf_free(conf);
    return -1;
  }
  round r = {pr->delivered, 0, 0};
  ks_pipeline_set_tick(p, 5, on_tick, &r);
  double c0 = cpu_s();
  int code = ks_pipeline_run(p);
  double end = bench_now_s();
  tm->cpu_s = cpu_s() - c0;
  ks_totals t;
  ks_pipeline_totals(p, &t);
  ks_pipeline_free(p);
  ks_conf_free(conf);
  if (code != 0 || t.written != pr->valid || r.first_s == 0 ||
      r.last_s == 0) {
    fprintf(stderr, "bench_workers: round with %d workers: exit %d, %llu "
                    "rows written of %llu valid\n", workers, code,
            (unsigned long long)t.written, (unsigned long long)pr->valid);
    return -1;
  }
  tm->consume_s = r.last_s - r.first_s;
  tm->total_s = end - r.first_s;
  return 0;
}

int main(int argc, char **argv) {
  size_t n = 400000;
  int rounds = 2, pin = 0;
  char extra[1024] = "", table_extra[1024] = "";
  for (int i = 1; i < argc; i++) {
    const char *eq;
    if (strcmp(argv[i], "-X") == 0 && i + 1 < argc &&
        (eq = strchr(argv[i + 1], '=')) != NULL) {
      size_t len = strlen(extra);
      snprintf(extra + len, sizeof extra - len, "  %.*s: \"%s\"\n",
               (int)(eq - argv[i + 1]), argv[i + 1], eq + 1);
      i++;
    } else if (strcmp(argv[i], "-T") == 0 && i + 1 < argc &&
               (eq = strchr(argv[i + 1], '=')) != NULL) {
      size_t len = strlen(table_extra);
      snprintf(table_extra + len, sizeof table_extra - len, "    %.*s: %s\n",
               (int)(eq - argv[i + 1]), argv[i + 1], eq + 1);
      i++;
    } else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
      n = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--pin") == 0)
      pin = 1;
  }
  if (n == 0 || rounds < 1) {
    fprintf(stderr, "usage: bench_workers [--events N] [--rounds R] [--pin] "
                    "[-X key=value]... [-T table_key=value]...\n");
    return 2;
  }
  ks_log_set_level(KS_LOG_ERROR);
  char e[256];
  rd_kafka_conf_t *mc = rd_kafka_conf_new();
  rd_kafka_conf_set(mc, "log_level", "3", e, sizeof e);
  rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mc, e, sizeof e);
  rd_kafka_mock_cluster_t *cl = mrk ? rd_kafka_mock_cluster_new(mrk, 1) : NULL;
  if (cl == NULL) {
    fprintf(stderr, "bench_workers: cannot start the mock cluster\n");
    return 1;
  }
  rd_kafka_mock_topic_create(cl, "user-events", 16, 1);
  const char *bs = rd_kafka_mock_cluster_bootstraps(cl);
  produced pr = {0};
  if (produce(bs, n, &pr)) {
    fprintf(stderr, "bench_workers: produced %llu of %zu records\n",
            (unsigned long long)pr.delivered, n);
    return 1;
  }
  char dir[] = "/tmp/ksink-bench-workers.XXXXXX";
  if (mkdtemp(dir) == NULL) {
    perror("bench_workers: mkdtemp");
    return 1;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("corpus: %zu demo events (%llu valid), %.1f MB of JSON, in an "
         "in-process mock cluster (16 partitions, lz4); %ld online cores%s; "
         "best of %d\n", n, (unsigned long long)pr.valid,
         (double)pr.bytes / 1e6, cores, pin ? ", workers pinned" : "", rounds);
  timing best[3] = {{0}, {1e9, 1e9, 0}, {1e9, 1e9, 0}};
  int rc = 0;
  for (int r = 0; r < rounds && rc == 0; r++) {
    for (int w = 1; w <= 2; w++) {
      timing tm;
      if (run_round(bs, dir, w, pin, r, &pr, extra, table_extra, &tm)) {
        rc = 1;
        break;
      }
      if (tm.consume_s < best[w].consume_s)
        best[w].consume_s = tm.consume_s, best[w].cpu_s = tm.cpu_s;
      if (tm.total_s < best[w].total_s)
        best[w].total_s = tm.total_s;
    }
  }
  if (rc == 0) {
    for (int w = 1; w <= 2; w++)
      printf("workers=%d %10.0f records/s %6.1f MB/s while consuming "
             "(%.2f s, CPU %.0f%% of one core); %8.0f records/s end to end "
             "(%.2f s)\n", w, (double)n / best[w].consume_s,
             (double)pr.bytes / 1e6 / best[w].consume_s, best[w].consume_s,
             100.0 * best[w].cpu_s / best[w].total_s,
             (double)n / best[w].total_s, best[w].total_s);
    printf("ratio 2 workers / 1 worker: %.2f while consuming, %.2f end to "
           "end\n", best[1].consume_s / best[2].consume_s,
           best[1].total_s / best[2].total_s);
  }
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  rd_kafka_mock_cluster_destroy(cl);
  rd_kafka_destroy(mrk);
  return rc;
}
