/*
 * What the endpoints say: health and readiness verdicts, the Prometheus
 * exposition and the /status JSON. Everything is read from the workers'
 * atomics (relaxed loads: each number is exact, a scrape is not a
 * snapshot across numbers -- Prometheus does not need one) and the
 * pipeline's flags, so rendering never waits on a worker.
 */
#include "http/internal.h"

#include "base/ks.h"
#include "base/version.h"
#include "reactor/observe.h"

#include <stddef.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int pipeline_stopping(const ks_pipeline *p) {
  return atomic_load_explicit(&p->env.stopping, memory_order_relaxed);
}

static uint64_t heartbeat_age_ms(const ks_worker *w, uint64_t now_ms) {
  uint64_t hb =
      atomic_load_explicit(&w->lane.counters.heartbeat_ms, memory_order_relaxed);
  return now_ms > hb ? now_ms - hb : 0;
}

const char *ks__http_unhealthy(const ks_pipeline *p, uint64_t now_ms, char *why,
                               size_t n) {
  if (atomic_load(&p->env.fatal)) {
    snprintf(why, n, "a worker hit a fatal error");
    return why;
  }
  ks_totals t;
  ks_pipeline_totals(p, &t);
  if (p->nworkers == 0 || now_ms <= t.oldest_heartbeat_ms ||
      now_ms - t.oldest_heartbeat_ms < KS__HTTP_HEARTBEAT_MAX_MS)
    return NULL;
  /* Name the stalest worker: the operator's next step is its stack. */
  int worst = 0;
  uint64_t age = 0;
  for (int i = 0; i < p->nworkers; i++) {
    uint64_t a = heartbeat_age_ms(p->workers[i], now_ms);
    if (a >= age) {
      age = a;
      worst = p->workers[i]->id;
    }
  }
  snprintf(why, n, "worker %d: heartbeat is %.1f s old (limit %d s)", worst,
           (double)age / 1000.0, KS__HTTP_HEARTBEAT_MAX_MS / 1000);
  return why;
}

const char *ks__http_unready(const ks_pipeline *p, char *why, size_t n) {
  if (atomic_load(&p->env.fatal))
    return "a worker hit a fatal error";
  if (pipeline_stopping(p))
    return "stopping";
  if (!atomic_load(&p->joined))
    return "not yet in the consumer group";
  if (ks_observe_breakers_open() > 0)
    return "storage circuit breaker open: partitions paused";
  if (!ks_observe_storage_reachable())
    return "storage unreachable: the last storage operation failed";
  const ks_conf *conf = p->env.conf;
  char refusal[384];
  int refused = ks_observe_storage_refused(refusal, sizeof refusal);
  if (conf && refused >= conf->storage_unready_after) {
    snprintf(why, n, "storage refuses writes (%d in a row): %s", refused,
             refusal);
    return why;
  }
  ks_totals t;
  ks_pipeline_totals(p, &t);
  if (conf && t.dlq_unavailable_since_ms &&
      ks_mono_ms() - t.dlq_unavailable_since_ms >=
          (uint64_t)conf->dlq_unready_after_ms) {
    snprintf(why, n,
             "dead-letter queue unavailable for %.0f s (dead letters "
             "pending: %llu)",
             (double)(ks_mono_ms() - t.dlq_unavailable_since_ms) / 1000.0,
             (unsigned long long)t.deadletter_pending);
    return why;
  }
  if (ks_pipeline_registry_down(p, why, n))
    return why;
  return NULL;
}

double ks__http_process_start_time(void) {
  /* starttime (field 22 of /proc/self/stat) counts clock ticks since boot;
   * btime in /proc/stat is the boot time. The comm field may hold spaces
   * and parentheses, so count fields after its last ')'. */
  char buf[1024];
  FILE *f = fopen("/proc/self/stat", "r");
  if (f == NULL)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *s = strrchr(buf, ')');
  if (s == NULL)
    return -1;
  unsigned long long ticks = 0;
  int field = 2;
  for (char *tok = strtok(s + 1, " "); tok; tok = strtok(NULL, " ")) {
    if (++field == 22) {
      ticks = strtoull(tok, NULL, 10);
      break;
    }
  }
  if (field != 22)
    return -1;
  unsigned long long btime = 0;
  f = fopen("/proc/stat", "r");
  if (f == NULL)
    return -1;
  char line[256];
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "btime %llu", &btime) == 1)
      break;
  fclose(f);
  long hz = sysconf(_SC_CLK_TCK);
  if (btime == 0 || hz <= 0)
    return -1;
  return (double)btime + (double)ticks / (double)hz;
}

/* An append target that remembers its first error, so the renderer reads
 * as the text it produces. */
typedef struct out {
  ks_buf *b;
  int err;
} out;

static void put(out *o, const char *s) {
  if (!o->err)
    o->err = ks_buf_append_str(o->b, s);
}

static void putf(out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(out *o, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    if (!o->err)
      o->err = KS_ETOOBIG;
    return;
  }
  put(o, tmp);
}

/* Label values escape backslash, double quote and line feed (format
 * 0.0.4); everything else, UTF-8 included, goes as is. */
static void put_label_value(out *o, const char *s) {
  for (; *s; s++) {
    if (*s == '\\')
      put(o, "\\\\");
    else if (*s == '"')
      put(o, "\\\"");
    else if (*s == '\n')
      put(o, "\\n");
    else if (!o->err)
      o->err = ks_buf_append_byte(o->b, (uint8_t)*s);
  }
}

static void family(out *o, const char *name, const char *type,
                   const char *help) {
  putf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name, an optional single label, a preformatted value. */
static void sample(out *o, const char *name, const char *label,
                   const char *label_value, const char *value) {
  put(o, name);
  if (label) {
    putf(o, "{%s=\"", label);
    put_label_value(o, label_value);
    put(o, "\"}");
  }
  putf(o, " %s\n", value);
}

static void sample_u64(out *o, const char *name, const char *label,
                       const char *label_value, uint64_t v) {
  char num[32];
  snprintf(num, sizeof num, "%llu", (unsigned long long)v);
  sample(o, name, label, label_value, num);
}

static const char *format_name(ks_format f) {
  switch (f) {
  case KS_FORMAT_DELTA:
    return "delta";
  case KS_FORMAT_PARQUET:
    return "parquet";
  case KS_FORMAT_JSONL:
    return "jsonl";
  }
  return "unknown";
}

/* A sample with n labels (n may be 0) and a preformatted value. */
static void sample_n(out *o, const char *name, int n, const char *const *keys,
                     const char *const *vals, const char *value) {
  put(o, name);
  for (int i = 0; i < n; i++) {
    putf(o, "%s%s=\"", i ? "," : "{", keys[i]);
    put_label_value(o, vals[i]);
    put(o, "\"");
  }
  putf(o, "%s %s\n", n ? "}" : "", value);
}

static void sample_n_u64(out *o, const char *name, int n,
                         const char *const *keys, const char *const *vals,
                         uint64_t v) {
  char num[32];
  snprintf(num, sizeof num, "%llu", (unsigned long long)v);
  sample_n(o, name, n, keys, vals, num);
}

static uint64_t load_u64(const atomic_uint_fast64_t *a) {
  return atomic_load_explicit(a, memory_order_relaxed);
}

/* S3 backend counters are process-wide (every worker's storage adds to
 * them); combinations never seen are left out. */
/* A histogram from per-bucket counts (the last one +Inf), made cumulative
 * here. _count is the +Inf bucket of the same loads, so the two agree even
 * while workers keep counting. */
static void histogram(out *o, const char *name, const double *bounds,
                      int nbounds, const uint64_t *counts, double sum) {
  uint64_t cum = 0;
  for (int b = 0; b <= nbounds; b++) {
    cum += counts[b];
    char le[32];
    if (b < nbounds)
      snprintf(le, sizeof le, "%g", bounds[b]);
    else
      snprintf(le, sizeof le, "+Inf");
    putf(o, "%s_bucket{le=\"%s\"} %llu\n", name, le, (unsigned long long)cum);
  }
  putf(o, "%s_sum %.6f\n", name, sum);
  putf(o, "%s_count %llu\n", name, (unsigned long long)cum);
}

/* The same with one label on every sample (the label before "le"). */
static void histogram_l(out *o, const char *name, const char *key,
                        const char *val, const double *bounds, int nbounds,
                        const uint64_t *counts, double sum) {
  uint64_t cum = 0;
  for (int b = 0; b <= nbounds; b++) {
    cum += counts[b];
    char le[32];
    if (b < nbounds)
      snprintf(le, sizeof le, "%g", bounds[b]);
    else
      snprintf(le, sizeof le, "+Inf");
    putf(o, "%s_bucket{%s=\"", name, key);
    put_label_value(o, val);
    putf(o, "\",le=\"%s\"} %llu\n", le, (unsigned long long)cum);
  }
  putf(o, "%s_sum{%s=\"", name, key);
  put_label_value(o, val);
  putf(o, "\"} %.6f\n", sum);
  putf(o, "%s_count{%s=\"", name, key);
  put_label_value(o, val);
  putf(o, "\"} %llu\n", (unsigned long long)cum);
}

static void s3_metrics(out *o) {
  const ks_s3_stats *st = ks_observe_s3_stats();
  family(o, "ksink_s3_requests_total", "counter",
         "S3 requests by operation and HTTP status (every attempt; "
         "\"network\" when no answer came).");
  for (int op = 0; op < KS_S3_OP_COUNT; op++)
    for (int c = 0; c < KS_S3_CODES; c++) {
      uint64_t v = load_u64(&st->requests[op][c]);
      if (v)
        putf(o, "ksink_s3_requests_total{op=\"%s\",code=\"%s\"} %llu\n",
             ks_s3_op_name(op), ks_s3_code_name(c), (unsigned long long)v);
    }
  family(o, "ksink_s3_credential_refreshes_total", "counter",
         "Credential fetches and refreshes from a remote source (STS, "
         "container, IMDS) by provider and result.");
  for (int p = 0; p < KS_S3_CRED_COUNT; p++)
    for (int r = 0; r < 2; r++) {
      uint64_t v = load_u64(&st->cred_refreshes[p][r]);
      if (v)
        putf(o,
             "ksink_s3_credential_refreshes_total{provider=\"%s\","
             "result=\"%s\"} %llu\n",
             ks_s3_cred_name(p), r ? "error" : "ok", (unsigned long long)v);
    }
  family(o, "ksink_s3_retries_total", "counter",
         "S3 requests retried after a retryable failure.");
  sample_u64(o, "ksink_s3_retries_total", NULL, NULL, load_u64(&st->retries));
  family(o, "ksink_circuit_breaker_open", "gauge",
         "S3 endpoints whose circuit breaker is open or probing (partitions "
         "paused while above 0).");
  sample_u64(o, "ksink_circuit_breaker_open", NULL, NULL,
             (uint64_t)ks_observe_breakers_open());
  family(o, "ksink_circuit_breaker_opened_total", "counter",
         "Times an S3 circuit breaker opened.");
  sample_u64(o, "ksink_circuit_breaker_opened_total", NULL, NULL,
             load_u64(&st->breaker_opened));
  family(o, "ksink_s3_request_duration_seconds", "histogram",
         "Duration of S3 request attempts.");
  uint64_t counts[KS_S3_HIST_BUCKETS + 1];
  for (int b = 0; b <= KS_S3_HIST_BUCKETS; b++)
    counts[b] = load_u64(&st->hist[b]);
  histogram(o, "ksink_s3_request_duration_seconds", ks_s3_hist_bounds,
            KS_S3_HIST_BUCKETS, counts,
            (double)load_u64(&st->hist_sum_us) / 1e6);
}

static void process_metrics(out *o, double start_time) {
  long page = sysconf(_SC_PAGESIZE);
  unsigned long long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
      resident = 0;
    fclose(f);
  }
  family(o, "process_resident_memory_bytes", "gauge",
         "Resident memory size in bytes.");
  sample_u64(o, "process_resident_memory_bytes", NULL, NULL,
             resident * (unsigned long long)(page > 0 ? page : 4096));

  struct rusage ru;
  double cpu = 0;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  char num[64];
  family(o, "process_cpu_seconds_total", "counter",
         "Total user and system CPU time spent in seconds.");
  snprintf(num, sizeof num, "%.6f", cpu);
  sample(o, "process_cpu_seconds_total", NULL, NULL, num);

  if (start_time >= 0) {
    family(o, "process_start_time_seconds", "gauge",
           "Start time of the process since unix epoch in seconds.");
    snprintf(num, sizeof num, "%.2f", start_time);
    sample(o, "process_start_time_seconds", NULL, NULL, num);
  }
}

static void worker_gauge(out *o, const ks_pipeline *p, const char *name,
                         const char *type, const char *help, size_t offset) {
  family(o, name, type, help);
  for (int i = 0; i < p->nworkers; i++) {
    char id[16];
    snprintf(id, sizeof id, "%d", p->workers[i]->id);
    const atomic_uint_fast64_t *a =
        (const atomic_uint_fast64_t *)((const char *)&p->workers[i]->lane.counters +
                                       offset);
    sample_u64(o, name, "worker", id, load_u64(a));
  }
}

static void topic_metrics(out *o, const ks_pipeline *p) {
  family(o, "ksink_records_consumed_total", "counter",
         "Records read from Kafka, by topic.");
  for (size_t t = 0; t < p->env.ntopics; t++) {
    uint64_t n = 0;
    for (int i = 0; i < p->nworkers; i++)
      if (p->workers[i]->lane.topic_consumed)
        n += load_u64(&p->workers[i]->lane.topic_consumed[t]);
    sample_u64(o, "ksink_records_consumed_total", "topic", p->env.topics[t], n);
  }
}

/* A counter family with one uint64_t field of each table's totals. */
static void per_table(out *o, const ks_pipeline *p, const ks_table_totals *tt,
                      const char *name, const char *help, size_t field) {
  family(o, name, "counter", help);
  for (size_t t = 0; t < p->env.ntables; t++)
    sample_u64(o, name, "table", p->env.tables[t].conf->name,
               *(const uint64_t *)((const char *)&tt[t] + field));
}

static void table_metrics(out *o, const ks_pipeline *p) {
  size_t nt = p->env.ntables;
  ks_table_totals *tt = ks_calloc(nt ? nt : 1, sizeof *tt);
  for (size_t t = 0; t < nt; t++)
    ks_pipeline_table_totals(p, t, &tt[t]);
  static const char *const tk[] = {"table", "reason"};
  static const char *const fk[] = {"table", "format"};
  char num[32];

  per_table(o, p, tt, "ksink_records_written_total",
            "Rows written to table data files and committed.",
            offsetof(ks_table_totals, written));
  family(o, "ksink_records_rejected_total", "counter",
         "Records rejected, by table and reason.");
  for (size_t t = 0; t < nt; t++)
    for (int r = 0; r < KS_REASON_COUNT; r++) {
      const char *v[] = {p->env.tables[t].conf->name, ks_reason_name(r)};
      sample_n_u64(o, "ksink_records_rejected_total", 2, tk, v,
                   tt[t].rejected_by[r]);
    }
  /* Only keywords that failed at least once: 38 zero series per table
   * would bury the ones that matter. */
  family(o, "ksink_records_rejected_by_keyword_total", "counter",
         "Records rejected by the schema (reason=\"schema\"), by table and "
         "the JSON Schema keyword that failed first.");
  for (size_t t = 0; t < nt; t++)
    for (int k = 0; k < KS_KEYWORD_COUNT; k++) {
      static const char *const kk[] = {"table", "keyword"};
      const char *v[] = {p->env.tables[t].conf->name, ks_keyword_name(k)};
      if (tt[t].schema_keyword[k])
        sample_n_u64(o, "ksink_records_rejected_by_keyword_total", 2, kk, v,
                     tt[t].schema_keyword[k]);
    }
  family(o, "ksink_files_written_total", "counter",
         "Data files written and committed, by table and format.");
  for (size_t t = 0; t < nt; t++) {
    const char *v[] = {p->env.tables[t].conf->name,
                       format_name(p->env.tables[t].conf->format)};
    sample_n_u64(o, "ksink_files_written_total", 2, fk, v, tt[t].files);
  }
  per_table(o, p, tt, "ksink_records_skipped_total",
            "Records consumed but not written and not rejected, by table: "
            "tombstones with null_values: ignore, records a filter transform "
            "dropped, Debezium deletes with deletes: drop.",
            offsetof(ks_table_totals, skipped));
  per_table(o, p, tt, "ksink_deadletter_file_records_total",
            "Rejected records stored in error files (errors.deadletter.path), "
            "by table.",
            offsetof(ks_table_totals, deadletter_records));
  family(o, "ksink_files_open", "gauge",
         "Data files being written now, by table.");
  for (size_t t = 0; t < nt; t++)
    sample_u64(o, "ksink_files_open", "table", p->env.tables[t].conf->name,
               (uint64_t)(tt[t].files_open > 0 ? tt[t].files_open : 0));
  family(o, "ksink_table_foreign_txns", "gauge",
         "Txns of the table's topics found at start-up under another app_id "
         "(the app_id or kafka.group.id changed, or another app writes the "
         "table), by table.");
  for (size_t t = 0; t < nt; t++)
    sample_u64(o, "ksink_table_foreign_txns", "table",
               p->env.tables[t].conf->name,
               (uint64_t)p->env.tables[t].foreign_txns);
  per_table(o, p, tt, "ksink_delta_commits_total",
            "Delta log commits made by this process, by table.",
            offsetof(ks_table_totals, commits));
  per_table(o, p, tt, "ksink_delta_commit_conflicts_total",
            "Delta commits that found their version taken by another writer "
            "(retried on the reloaded log), by table.",
            offsetof(ks_table_totals, conflicts));
  family(o, "ksink_delta_version", "gauge",
         "Latest Delta table version seen (-1 before the first).");
  for (size_t t = 0; t < nt; t++) {
    snprintf(num, sizeof num, "%lld", (long long)tt[t].delta_version);
    sample(o, "ksink_delta_version", "table", p->env.tables[t].conf->name, num);
  }
  family(o, "ksink_delta_last_commit_timestamp_seconds", "gauge",
         "Unix time of this process's last commit to the table (0: none).");
  for (size_t t = 0; t < nt; t++) {
    snprintf(num, sizeof num, "%.3f",
             (double)tt[t].last_commit_unix_ms / 1000.0);
    sample(o, "ksink_delta_last_commit_timestamp_seconds", "table",
           p->env.tables[t].conf->name, num);
  }
  /* Freshness: only tables that made a timestamped record visible; a
   * zero would read as "fresh" to an alert. */
  family(o, "ksink_table_freshness_seconds", "gauge",
         "Age of the newest record visible in the table: now minus its "
         "Kafka timestamp, by table (absent before the first commit; grows "
         "while the topic is idle).");
  int64_t now_ms = ks_unix_ms();
  for (size_t t = 0; t < nt; t++) {
    if (tt[t].newest_record_unix_ms <= 0)
      continue;
    int64_t age = now_ms - tt[t].newest_record_unix_ms;
    snprintf(num, sizeof num, "%.3f", (double)(age > 0 ? age : 0) / 1000.0);
    sample(o, "ksink_table_freshness_seconds", "table",
           p->env.tables[t].conf->name, num);
  }
  family(o, "ksink_oldest_uncommitted_batch_age_seconds", "gauge",
         "Age of the oldest batch not yet committed (being filled, "
         "flushing, waiting for dead letters or at the committer), by "
         "table; 0 when everything consumed is committed.");
  uint64_t mono = ks_mono_ms();
  for (size_t t = 0; t < nt; t++) {
    uint64_t since = tt[t].oldest_uncommitted_ms;
    snprintf(num, sizeof num, "%.3f",
             since && mono > since ? (double)(mono - since) / 1000.0 : 0.0);
    sample(o, "ksink_oldest_uncommitted_batch_age_seconds", "table",
           p->env.tables[t].conf->name, num);
  }
  family(o, "ksink_commit_duration_seconds", "histogram",
         "Delta commits by this process, from the first attempt to the "
         "version landing (retries included), by table.");
  for (size_t t = 0; t < nt; t++)
    histogram_l(o, "ksink_commit_duration_seconds", "table",
                p->env.tables[t].conf->name, ks_commit_bounds,
                KS_COMMIT_BUCKETS, tt[t].commit_duration,
                (double)tt[t].commit_duration_sum_us / 1e6);
  family(o, "ksink_deadletter_failures_total", "counter",
         "Dead letters that could not be stored, by table and reason: "
         "dlq_queue, dlq_delivery (the errors.deadletterqueue topic, "
         "transient: tried again, the table's commits wait), "
         "dlq_too_large (sent again truncated), dlq_refused (unknown "
         "topic, not authorized: counted and let go), file_write, "
         "file_foreign (errors.deadletter.path).");
  for (size_t t = 0; t < nt; t++)
    for (int r = 0; r < KS_DLF_COUNT; r++) {
      const char *v[] = {p->env.tables[t].conf->name, ks_dlf_reason_names[r]};
      sample_n_u64(o, "ksink_deadletter_failures_total", 2, tk, v,
                   tt[t].deadletter_failures[r]);
    }
  ks_free(tt);
}

static void latency_metrics(out *o, const ks_pipeline *p) {
  uint64_t counts[KS_LATENCY_BUCKETS + 1] = {0}, sum_us = 0;
  for (int i = 0; i < p->nworkers; i++) {
    const ks_counters *c = &p->workers[i]->lane.counters;
    for (int b = 0; b <= KS_LATENCY_BUCKETS; b++)
      counts[b] += load_u64(&c->latency[b]);
    sum_us += load_u64(&c->latency_sum_us);
  }
  family(o, "ksink_commit_latency_seconds", "histogram",
         "Time from consuming a batch's oldest record to the Delta commit "
         "that made it visible.");
  histogram(o, "ksink_commit_latency_seconds", ks_latency_bounds,
            KS_LATENCY_BUCKETS, counts, (double)sum_us / 1e6);
}

/* Lag from the partition lists the workers publish every second. */
static void lag_metrics(out *o, const ks_pipeline *p) {
  static const char *const k[] = {"topic", "partition"};
  family(o, "ksink_consumer_lag", "gauge",
         "Records in the partition past the next offset to consume (high "
         "watermark minus position), per owned partition.");
  for (int i = 0; i < p->nworkers; i++) {
    const ks_part_snap *s = ks_worker_part_snap(p->workers[i]);
    for (size_t j = 0; s && j < s->n; j++) {
      const ks_part_status *ps = &s->parts[j];
      int64_t lag = ks__http_lag(ps);
      if (lag < 0 || ps->topic < 0 || (size_t)ps->topic >= p->env.ntopics)
        continue;
      char part[16];
      snprintf(part, sizeof part, "%d", (int)ps->partition);
      const char *v[] = {p->env.topics[ps->topic], part};
      sample_n_u64(o, "ksink_consumer_lag", 2, k, v, (uint64_t)lag);
    }
  }
}

int ks__http_render_metrics(const ks_pipeline *p, double start_time,
                            ks_buf *b) {
  out o = {b, 0};
  ks_totals t;
  ks_pipeline_totals(p, &t);

  family(&o, "ksink_up", "gauge", "1 while the ksink process serves.");
  sample(&o, "ksink_up", NULL, NULL, "1");
  family(&o, "ksink_ready", "gauge",
         "1 when /readyz answers 200 (in the group, not stopping or failed, "
         "storage reachable, no circuit breaker open), else 0.");
  {
    char why[512];
    sample(&o, "ksink_ready", NULL, NULL,
           ks__http_unready(p, why, sizeof why) ? "0" : "1");
  }
  family(&o, "ksink_build_info", "gauge",
         "Always 1; the labels say which ksink this is.");
  {
    static const char *const bk[] = {"version", "commit", "build_type"};
    const char *bv[] = {ks_version(), ks_git_commit(), ks_build_type()};
    sample_n(&o, "ksink_build_info", 3, bk, bv, "1");
  }

  topic_metrics(&o, p);
  family(&o, "ksink_bytes_consumed_total", "counter",
         "Bytes of record values read from Kafka.");
  sample_u64(&o, "ksink_bytes_consumed_total", NULL, NULL, t.consumed_bytes);
  family(&o, "ksink_bytes_uploaded_total", "counter",
         "Bytes storage acknowledged as stored (data files, log entries, "
         "checkpoints, error files).");
  sample_u64(&o, "ksink_bytes_uploaded_total", NULL, NULL,
             load_u64(&ks_observe_storage_stats()->bytes_uploaded));
  family(&o, "ksink_storage_writes_in_flight", "gauge",
         "Object and part writes waiting for storage now.");
  int wif = atomic_load_explicit(&ks_observe_storage_stats()->writes_in_flight,
                                 memory_order_relaxed);
  sample_u64(&o, "ksink_storage_writes_in_flight", NULL, NULL,
             (uint64_t)(wif > 0 ? wif : 0));
  family(&o, "ksink_storage_reachable", "gauge",
         "1 when the last storage operation got an answer, 0 when it met a "
         "network, server or device fault.");
  sample_u64(&o, "ksink_storage_reachable", NULL, NULL,
             (uint64_t)ks_observe_storage_reachable());

  table_metrics(&o, p);
  latency_metrics(&o, p);
  lag_metrics(&o, p);

  family(&o, "ksink_partitions_assigned", "gauge",
         "Kafka partitions assigned to this process.");
  sample_u64(&o, "ksink_partitions_assigned", NULL, NULL,
             (uint64_t)atomic_load(&p->assigned));
  family(&o, "ksink_worker_partitions", "gauge",
         "Kafka partitions owned by each worker.");
  for (int i = 0; i < p->nworkers; i++) {
    char id[16];
    snprintf(id, sizeof id, "%d", p->workers[i]->id);
    sample_u64(&o, "ksink_worker_partitions", "worker", id,
               (uint64_t)atomic_load(&p->workers[i]->lane.counters.partitions));
  }
  family(&o, "ksink_partitions_paused", "gauge",
         "Kafka partitions whose fetching is paused now (memory budget, "
         "storage circuit breaker or the REST API).");
  sample_u64(&o, "ksink_partitions_paused", NULL, NULL, t.paused);
  family(&o, "ksink_memory_pauses_total", "counter",
         "Times a worker paused its partitions past the high-water mark of "
         "reactor.memory_budget.");
  sample_u64(&o, "ksink_memory_pauses_total", NULL, NULL, t.memory_pauses);
  family(&o, "ksink_kafka_fetch_wakes_total", "counter",
         "Rounds of end-offset requests that woke librdkafka's fetchers "
         "while partitions had records still to fetch (librdkafka before "
         "2.2.0, which looks at a full prefetch queue again only when its "
         "broker thread wakes).");
  sample_u64(&o, "ksink_kafka_fetch_wakes_total", NULL, NULL, t.fetch_wakes);
  worker_gauge(&o, p, "ksink_buffered_bytes", "gauge",
               "Bytes each worker buffers: rows in column buffers, file "
               "bytes not yet acknowledged by storage and error lines not "
               "yet stored.",
               offsetof(ks_counters, buffered_bytes));
  worker_gauge(&o, p, "ksink_worker_memory_bytes", "gauge",
               "Bytes each worker holds against reactor.memory_budget: "
               "column buffers (counted as the file they become) plus file "
               "bytes waiting for storage.",
               offsetof(ks_counters, memory_bytes));
  family(&o, "ksink_zombie_sets_total", "counter",
         "Flushed sets refused at commit because another writer had "
         "committed their partitions (read again from the log).");
  sample_u64(&o, "ksink_zombie_sets_total", NULL, NULL, t.zombie_sets);
  family(&o, "ksink_rewinds_total", "counter",
         "Times a table writer dropped its buffered rows and re-read its "
         "partitions from the Delta log (zombie batch or lost assignment).");
  sample_u64(&o, "ksink_rewinds_total", NULL, NULL, t.rewinds);
  family(&o, "ksink_offset_commit_failures_total", "counter",
         "Kafka offset commits the group refused (sent again, or the "
         "partition fenced when this member's generation was stale).");
  sample_u64(&o, "ksink_offset_commit_failures_total", NULL, NULL,
             t.offset_commit_failures);

  family(&o, "ksink_timestamps_out_of_range_total", "counter",
         "Kafka record timestamps past year 9999 (or that would overflow "
         "microseconds), written as a null _kafka_timestamp.");
  sample_u64(&o, "ksink_timestamps_out_of_range_total", NULL, NULL,
             t.timestamps_out_of_range);
  family(&o, "ksink_deadletter_pending", "gauge",
         "Dead letters sent to the DLQ topic and not yet acknowledged "
         "(queued, in flight or waiting to be sent again).");
  sample_u64(&o, "ksink_deadletter_pending", NULL, NULL, t.deadletter_pending);
  family(&o, "ksink_storage_refusals", "gauge",
         "Storage refusals in a row that no retry heals (e.g. 403); 0 since "
         "the last accepted write.");
  sample_u64(&o, "ksink_storage_refusals", NULL, NULL,
             (uint64_t)ks_observe_storage_refused(NULL, 0));

  family(&o, "ksink_worker_heartbeat_age_seconds", "gauge",
         "Seconds since each worker's loop last turned.");
  uint64_t now = ks_mono_ms();
  for (int i = 0; i < p->nworkers; i++) {
    char id[16], num[32];
    snprintf(id, sizeof id, "%d", p->workers[i]->id);
    snprintf(num, sizeof num, "%.3f",
             (double)heartbeat_age_ms(p->workers[i], now) / 1000.0);
    sample(&o, "ksink_worker_heartbeat_age_seconds", "worker", id, num);
  }

  s3_metrics(&o);
  process_metrics(&o, start_time);
  return o.err;
}
