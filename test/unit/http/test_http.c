/*
 * http/: a real server on 127.0.0.1:0 in front of a fake pipeline whose
 * counters hold known values, queried with libcurl like an operator or a
 * Prometheus scraper would: status codes, content types, an exposition
 * that parses line by line and carries the exact counter values, health
 * and readiness that follow the pipeline's state, and a stop that leaves
 * no descriptor or thread behind -- even with a keep-alive connection and
 * a silent client still open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "http/internal.h"
#include "http/server.h"
#include "reactor/worker.h"
#include "storage/s3/s3.h"

/* ---- a fake pipeline with known numbers --------------------------------- */

typedef struct fixture {
  ks_conf conf;
  ks_conf_table tables[2];
  ks_table ktables[2];
  char *topics[2];
  ks_pipeline *p;
  ks_worker *w[2];
} fixture;

static void fixture_init(fixture *f) {
  memset(f, 0, sizeof *f);
  f->tables[0].name = "t";
  f->tables[0].format = KS_FORMAT_DELTA;
  f->tables[1].name = "u";
  f->tables[1].format = KS_FORMAT_DELTA;
  f->conf.tables = f->tables;
  f->conf.ntables = 1;
  for (int i = 0; i < 2; i++) {
    f->ktables[i].index = i;
    f->ktables[i].conf = &f->tables[i];
    f->ktables[i].start_version = -1;
  }
  f->topics[0] = "ev";
  f->topics[1] = "ev2";
  f->p = calloc(1, sizeof *f->p);
  f->p->conf = &f->conf;
  f->p->env.tables = f->ktables;
  f->p->env.ntables = 1;
  f->p->env.topics = f->topics;
  f->p->env.ntopics = 2;
  f->p->nworkers = 2;
  f->p->workers = f->w;
  f->p->started_ms = ks_mono_ms() - 42000;
  atomic_store(&f->p->assigned, 8);
  atomic_store(&f->p->joined, 1);
  for (int i = 0; i < 2; i++) {
    f->w[i] = calloc(1, sizeof *f->w[i]);
    f->w[i]->id = i;
    f->w[i]->core = i ? -1 : 3;
    f->w[i]->p = f->p;
    f->w[i]->lane.tc = calloc(2, sizeof *f->w[i]->lane.tc);
    f->w[i]->lane.topic_consumed = calloc(2, sizeof *f->w[i]->lane.topic_consumed);
    for (int t = 0; t < 2; t++)
      atomic_store(&f->w[i]->lane.tc[t].delta_version, -1);
    atomic_store(&f->w[i]->lane.counters.heartbeat_ms, ks_mono_ms());
  }
  ks_counters *a = &f->w[0]->lane.counters, *b = &f->w[1]->lane.counters;
  ks_table_counters *at = f->w[0]->lane.tc, *bt = f->w[1]->lane.tc;
  atomic_store(&a->consumed, 1000);
  atomic_store(&f->w[0]->lane.topic_consumed[0], 1000);
  atomic_store(&a->consumed_bytes, 123456);
  atomic_store(&a->written, 900);
  atomic_store(&at[0].written, 900);
  atomic_store(&a->files, 3);
  atomic_store(&at[0].files, 3);
  atomic_store(&a->commits, 2);
  atomic_store(&at[0].commits, 2);
  atomic_store(&at[0].conflicts, 1);
  atomic_store(&a->rejected[KS_REASON_MALFORMED_JSON], 40);
  atomic_store(&at[0].rejected[KS_REASON_MALFORMED_JSON], 40);
  atomic_store(&a->rejected[KS_REASON_SCHEMA], 60);
  atomic_store(&at[0].rejected[KS_REASON_SCHEMA], 60);
  atomic_store(&at[0].schema_keyword[KS_KEYWORD_TYPE], 45);
  atomic_store(&at[0].schema_keyword[KS_KEYWORD_REQUIRED], 15);
  atomic_store(&a->delta_version, 7);
  atomic_store(&at[0].delta_version, 7);
  atomic_store(&a->partitions, 5);
  atomic_store(&b->consumed, 234);
  atomic_store(&f->w[1]->lane.topic_consumed[0], 200);
  atomic_store(&f->w[1]->lane.topic_consumed[1], 34);
  atomic_store(&b->consumed_bytes, 5000);
  atomic_store(&b->written, 200);
  atomic_store(&bt[0].written, 200);
  atomic_store(&b->files, 1);
  atomic_store(&bt[0].files, 1);
  atomic_store(&b->commits, 1);
  atomic_store(&bt[0].commits, 1);
  atomic_store(&bt[0].last_commit_unix_ms, 1700000000123);
  atomic_store(&bt[0].files_open, 2);
  atomic_store(&b->rejected[KS_REASON_TOO_LARGE], 34);
  atomic_store(&bt[0].rejected[KS_REASON_TOO_LARGE], 34);
  atomic_store(&b->delta_version, 9);
  atomic_store(&bt[0].delta_version, 9);
  /* a second table, shown only when the config has it */
  atomic_store(&bt[1].written, 50);
  atomic_store(&bt[1].files, 2);
  atomic_store(&bt[1].delta_version, 3);
  atomic_store(&bt[1].rejected[KS_REASON_SCHEMA], 5);
  atomic_store(&b->partitions, 3);
  atomic_store(&b->paused, 3);
  atomic_store(&b->memory_bytes, 1 << 20);
  atomic_store(&b->buffered_bytes, 4096);
  atomic_store(&b->memory_pauses, 2);
  atomic_store(&a->zombie_sets, 1);
  atomic_store(&a->rewinds, 1);
  /* commit latency: two sets within 100 ms, one at 0.75 s */
  atomic_store(&a->latency[0], 2);
  atomic_store(&b->latency[3], 1);
  atomic_store(&a->latency_sum_us, 900000);
  /* worker 0 published two partitions: one 50 records behind, one that
   * has not fetched yet */
  ks_part_snap *ps = calloc(1, sizeof *ps + 2 * sizeof ps->parts[0]);
  ps->n = 2;
  ps->parts[0] = (ks_part_status){0, 0, 100, 90, 150, 0};
  ps->parts[1] = (ks_part_status){0, 1, -1, -1, -1, 1};
  atomic_store(&f->w[0]->snap_pub, ps);
}

static void fixture_free(fixture *f) {
  for (int i = 0; i < 2; i++) {
    free(f->w[i]->lane.tc);
    free(f->w[i]->lane.topic_consumed);
    free(atomic_load(&f->w[i]->snap_pub));
    free(f->w[i]->snap_seen);
    free(f->w[i]);
  }
  free(f->p);
}

/* ---- leak accounting ----------------------------------------------------- */

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

static int count_threads(void) {
  FILE *f = fopen("/proc/self/status", "r");
  assert_non_null(f);
  char line[256];
  int n = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1)
      break;
  fclose(f);
  return n;
}

/* ---- an HTTP client ------------------------------------------------------ */

typedef struct reply {
  long status;
  char ctype[128];
  char allow[64];
  char *body;
  size_t len;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  reply *r = arg;
  r->body = realloc(r->body, r->len + size * n + 1);
  memcpy(r->body + r->len, p, size * n);
  r->len += size * n;
  r->body[r->len] = 0;
  return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  reply *r = arg;
  if (n * size > 7 && strncasecmp(p, "allow: ", 7) == 0)
    snprintf(r->allow, sizeof r->allow, "%.*s", (int)strcspn(p + 7, "\r\n"),
             p + 7);
  return size * n;
}

static void reply_free(reply *r) {
  free(r->body);
}

/* One request on easy handle e (reused: keep-alive), or a fresh one. */
static reply fetch_on(CURL *e, int port, const char *method, const char *path) {
  reply r;
  memset(&r, 0, sizeof r);
  r.body = calloc(1, 1);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  CURL *c = e ? e : curl_easy_init();
  assert_non_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                   strcmp(method, "HEAD") == 0 ? NULL : method);
  if (strcmp(method, "POST") == 0)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
  else
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    print_error("%s %s: %s\n", method, path, curl_easy_strerror(rc));
  assert_int_equal(rc, CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  char *ct = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  snprintf(r.ctype, sizeof r.ctype, "%s", ct ? ct : "");
  if (e == NULL)
    curl_easy_cleanup(c);
  return r;
}

static reply fetch(int port, const char *method, const char *path) {
  return fetch_on(NULL, port, method, path);
}

#include "exposition.c"

/* ---- tests --------------------------------------------------------------- */

static void test_checker_rejects_bad_expositions(void **state) {
  char why[256];
  static const char *const bad[] = {
      "x_total 1\n",                                  /* no HELP/TYPE */
      "# TYPE x_total counter\nx_total 1\n",          /* no HELP */
      "# HELP x a\n# TYPE x counter\nx 1\n",          /* no _total */
      "# HELP x a\n# TYPE x gauge\nx{a=\"b} 1\n",     /* open value */
      "# HELP x a\n# TYPE x gauge\nx{a=\"\\t\"} 1\n", /* bad escape */
      "# HELP x a\n# TYPE x gauge\nx one\n",          /* bad value */
      "# HELP x a\n# TYPE x gauge\ny 1\n",            /* wrong family */
      "# HELP x a\n# TYPE x gauge\nx 1",              /* no last LF */
  };
  for (size_t i = 0; i < KS_ARRAY_SIZE(bad); i++)
    assert_non_null(check_exposition(bad[i], why, sizeof why));
  assert_null(check_exposition(
      "# HELP x a\n# TYPE x gauge\nx{a=\"q\\\"\\\\\\n\",b=\"\"} -1.5\n", why,
      sizeof why));
}

static void test_endpoints(void **state) {
  fixture f;
  fixture_init(&f);
  int fds = count_fds(), threads = count_threads();
  ks_http *h = NULL;
  char err[256] = "";
  int r = ks_http_start(f.p, "127.0.0.1:0", &h, err, sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  int port = ks_http_port(h);
  assert_true(port > 0);
  assert_int_equal(count_threads(), threads + 1);

  reply m = fetch(port, "GET", "/metrics");
  assert_int_equal(m.status, 200);
  assert_string_equal(m.ctype, "text/plain; version=0.0.4; charset=utf-8");
  char why[256];
  const char *bad = check_exposition(m.body, why, sizeof why);
  if (bad)
    print_error("%s\n%s\n", bad, m.body);
  assert_null(bad);
  assert_sample(m.body, "ksink_up", "1");
  assert_sample(m.body, "ksink_records_consumed_total{topic=\"ev\"}", "1200");
  assert_sample(m.body, "ksink_records_consumed_total{topic=\"ev2\"}", "34");
  assert_sample(m.body, "ksink_bytes_consumed_total", "128456");
  assert_sample(m.body, "ksink_records_written_total{table=\"t\"}", "1100");
  assert_sample(
      m.body,
      "ksink_records_rejected_total{table=\"t\",reason=\"malformed_json\"}",
      "40");
  assert_sample(
      m.body,
      "ksink_records_rejected_total{table=\"t\",reason=\"invalid_utf8\"}", "0");
  assert_sample(m.body,
                "ksink_records_rejected_total{table=\"t\",reason=\"schema\"}",
                "60");
  assert_sample(
      m.body, "ksink_records_rejected_total{table=\"t\",reason=\"too_large\"}",
      "34");
  assert_sample(m.body,
                "ksink_records_rejected_by_keyword_total{table=\"t\","
                "keyword=\"type\"}",
                "45");
  assert_sample(m.body,
                "ksink_records_rejected_by_keyword_total{table=\"t\","
                "keyword=\"required\"}",
                "15");
  /* keywords that never failed have no series */
  assert_null(strstr(m.body, "keyword=\"enum\""));
  assert_sample(
      m.body, "ksink_records_rejected_total{table=\"t\",reason=\"null_value\"}",
      "0");
  assert_sample(m.body,
                "ksink_files_written_total{table=\"t\",format=\"delta\"}", "4");
  assert_sample(m.body, "ksink_files_open{table=\"t\"}", "2");
  assert_sample(m.body, "ksink_delta_commits_total{table=\"t\"}", "3");
  assert_sample(m.body, "ksink_delta_commit_conflicts_total{table=\"t\"}", "1");
  assert_sample(m.body, "ksink_delta_version{table=\"t\"}", "9");
  assert_sample(m.body,
                "ksink_delta_last_commit_timestamp_seconds{table=\"t\"}",
                "1700000000.123");
  assert_sample(m.body, "ksink_bytes_uploaded_total", "0");
  assert_sample(m.body, "ksink_storage_reachable", "1");
  assert_sample(m.body, "ksink_commit_latency_seconds_bucket{le=\"0.1\"}", "2");
  assert_sample(m.body, "ksink_commit_latency_seconds_bucket{le=\"0.5\"}", "2");
  assert_sample(m.body, "ksink_commit_latency_seconds_bucket{le=\"1\"}", "3");
  assert_sample(m.body, "ksink_commit_latency_seconds_bucket{le=\"+Inf\"}",
                "3");
  assert_sample(m.body, "ksink_commit_latency_seconds_count", "3");
  assert_sample(m.body, "ksink_commit_latency_seconds_sum", "0.900000");
  assert_sample(m.body, "ksink_consumer_lag{topic=\"ev\",partition=\"0\"}",
                "50");
  assert_null(strstr(m.body, "partition=\"1\""));
  assert_sample(m.body, "ksink_buffered_bytes{worker=\"0\"}", "0");
  assert_sample(m.body, "ksink_buffered_bytes{worker=\"1\"}", "4096");
  assert_sample(m.body, "ksink_partitions_assigned", "8");
  assert_sample(m.body, "ksink_worker_partitions{worker=\"0\"}", "5");
  assert_sample(m.body, "ksink_worker_partitions{worker=\"1\"}", "3");
  assert_sample(m.body, "ksink_partitions_paused", "3");
  assert_sample(m.body, "ksink_memory_pauses_total", "2");
  assert_sample(m.body, "ksink_worker_memory_bytes{worker=\"0\"}", "0");
  assert_sample(m.body, "ksink_worker_memory_bytes{worker=\"1\"}", "1048576");
  assert_sample(m.body, "ksink_zombie_sets_total", "1");
  assert_sample(m.body, "ksink_rewinds_total", "1");
  char v[64];
  assert_non_null(sample_value(
      m.body, "ksink_worker_heartbeat_age_seconds{worker=\"1\"}", v, 64));
  assert_true(strtod(v, NULL) >= 0 && strtod(v, NULL) < 5);
  assert_non_null(sample_value(m.body, "process_resident_memory_bytes", v, 64));
  assert_true(strtod(v, NULL) > 1e5);
  assert_non_null(sample_value(m.body, "process_cpu_seconds_total", v, 64));
  assert_non_null(sample_value(m.body, "process_start_time_seconds", v, 64));
  assert_true(strtod(v, NULL) > 1.5e9 &&
              strtod(v, NULL) <= (double)time(NULL) + 1);
  reply_free(&m);

  reply s = fetch(port, "GET", "/status");
  assert_int_equal(s.status, 200);
  assert_string_equal(s.ctype, "application/json");
  char jerr[256];
  yajl_val doc = yajl_tree_parse(s.body, jerr, sizeof jerr);
  if (doc == NULL)
    print_error("%s\n%s\n", jerr, s.body);
  assert_non_null(doc);
  const char *p_version[] = {"version", NULL};
  const char *p_consumed[] = {"totals", "consumed", NULL};
  const char *p_dv[] = {"totals", "delta_version", NULL};
  const char *p_rej[] = {"totals", "rejected", NULL};
  const char *p_workers[] = {"workers", NULL};
  const char *p_joined[] = {"joined", NULL};
  const char *p_stopping[] = {"stopping", NULL};
  const char *p_uptime[] = {"uptime_seconds", NULL};
  assert_string_equal(
      YAJL_GET_STRING(yajl_tree_get(doc, p_version, yajl_t_string)), "0.1.0");
  assert_int_equal(
      YAJL_GET_INTEGER(yajl_tree_get(doc, p_consumed, yajl_t_number)), 1234);
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(doc, p_dv, yajl_t_number)),
                   9);
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(doc, p_rej, yajl_t_number)),
                   134);
  double up = YAJL_GET_DOUBLE(yajl_tree_get(doc, p_uptime, yajl_t_number));
  assert_true(up >= 42 && up < 100);
  assert_true(YAJL_IS_TRUE(yajl_tree_get(doc, p_joined, yajl_t_true)));
  assert_true(YAJL_IS_FALSE(yajl_tree_get(doc, p_stopping, yajl_t_false)));
  yajl_val ws = yajl_tree_get(doc, p_workers, yajl_t_array);
  assert_non_null(ws);
  assert_int_equal(YAJL_GET_ARRAY(ws)->len, 2);
  const char *p_parts[] = {"partitions", NULL};
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(YAJL_GET_ARRAY(ws)->values[1],
                                                  p_parts, yajl_t_number)),
                   3);
  const char *p_paused[] = {"paused", NULL};
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(YAJL_GET_ARRAY(ws)->values[1],
                                                  p_paused, yajl_t_number)),
                   3);
  const char *p_mem[] = {"memory_bytes", NULL};
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(YAJL_GET_ARRAY(ws)->values[1],
                                                  p_mem, yajl_t_number)),
                   1 << 20);
  const char *p_buf[] = {"buffered_bytes", NULL};
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(YAJL_GET_ARRAY(ws)->values[1],
                                                  p_buf, yajl_t_number)),
                   4096);
  const char *p_core[] = {"core", NULL};
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(YAJL_GET_ARRAY(ws)->values[0],
                                                  p_core, yajl_t_number)),
                   3);
  /* the partitions worker 0 published */
  const char *p_plist[] = {"partitions", NULL};
  yajl_val pl = yajl_tree_get(doc, p_plist, yajl_t_array);
  assert_non_null(pl);
  assert_int_equal(YAJL_GET_ARRAY(pl)->len, 2);
  yajl_val p0 = YAJL_GET_ARRAY(pl)->values[0];
  const char *p_topic[] = {"topic", NULL}, *p_lag[] = {"lag", NULL};
  const char *p_co[] = {"consumed_offset", NULL};
  const char *p_cm[] = {"committed_offset", NULL};
  const char *p_w[] = {"worker", NULL};
  assert_string_equal(
      YAJL_GET_STRING(yajl_tree_get(p0, p_topic, yajl_t_string)), "ev");
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(p0, p_lag, yajl_t_number)),
                   50);
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(p0, p_co, yajl_t_number)),
                   100);
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(p0, p_cm, yajl_t_number)),
                   90);
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(p0, p_w, yajl_t_number)), 0);
  yajl_val p1 = YAJL_GET_ARRAY(pl)->values[1];
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(p1, p_lag, yajl_t_number)),
                   -1);
  assert_true(YAJL_IS_TRUE(yajl_tree_get(p1, p_paused, yajl_t_true)));
  /* tables */
  const char *p_tables[] = {"tables", NULL};
  yajl_val tl = yajl_tree_get(doc, p_tables, yajl_t_array);
  assert_non_null(tl);
  assert_int_equal(YAJL_GET_ARRAY(tl)->len, 1);
  yajl_val t0 = YAJL_GET_ARRAY(tl)->values[0];
  const char *p_tv[] = {"version", NULL}, *p_lc[] = {"last_commit_time", NULL};
  const char *p_fo[] = {"files_open", NULL};
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(t0, p_tv, yajl_t_number)), 9);
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(t0, p_fo, yajl_t_number)), 2);
  assert_string_equal(YAJL_GET_STRING(yajl_tree_get(t0, p_lc, yajl_t_string)),
                      "2023-11-14T22:13:20.123Z");
  const char *p_up[] = {"uploads_in_flight", NULL};
  assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(doc, p_up, yajl_t_number)),
                   0);
  yajl_tree_free(doc);
  reply_free(&s);

  /* Health follows the heartbeats and the fatal flag. */
  reply hz = fetch(port, "GET", "/healthz");
  assert_int_equal(hz.status, 200);
  assert_string_equal(hz.ctype, "text/plain; charset=utf-8");
  assert_string_equal(hz.body, "ok\n");
  reply_free(&hz);
  atomic_store(&f.w[1]->lane.counters.heartbeat_ms, ks_mono_ms() - 6000);
  hz = fetch(port, "GET", "/healthz");
  assert_int_equal(hz.status, 503);
  assert_non_null(strstr(hz.body, "worker 1: heartbeat is 6."));
  assert_int_equal(strchr(hz.body, '\n') - hz.body, (long)hz.len - 1);
  reply_free(&hz);
  atomic_store(&f.w[1]->lane.counters.heartbeat_ms, ks_mono_ms());
  hz = fetch(port, "GET", "/healthz");
  assert_int_equal(hz.status, 200);
  reply_free(&hz);
  atomic_store(&f.p->env.fatal, 1);
  hz = fetch(port, "GET", "/healthz");
  assert_int_equal(hz.status, 503);
  reply_free(&hz);
  atomic_store(&f.p->env.fatal, 0);

  /* Readiness follows joined / stopping / fatal / storage. */
  reply rz = fetch(port, "GET", "/readyz");
  assert_int_equal(rz.status, 200);
  assert_string_equal(rz.body, "ready\n");
  reply_free(&rz);
  atomic_store(&f.p->joined, 0);
  rz = fetch(port, "GET", "/readyz");
  assert_int_equal(rz.status, 503);
  assert_string_equal(rz.body, "not yet in the consumer group\n");
  reply_free(&rz);
  atomic_store(&f.p->joined, 1);
  f.p->env.stopping = 1;
  rz = fetch(port, "GET", "/readyz");
  assert_int_equal(rz.status, 503);
  assert_string_equal(rz.body, "stopping\n");
  reply_free(&rz);
  f.p->env.stopping = 0;
  atomic_store(&f.p->env.fatal, 1);
  rz = fetch(port, "GET", "/readyz");
  assert_int_equal(rz.status, 503);
  reply_free(&rz);
  atomic_store(&f.p->env.fatal, 0);
  ks_storage_note(0, 0); /* the last storage operation met a fault */
  rz = fetch(port, "GET", "/readyz");
  assert_int_equal(rz.status, 503);
  assert_string_equal(rz.body,
                      "storage unreachable: the last storage operation "
                      "failed\n");
  reply_free(&rz);
  ks_storage_note(1, 100); /* and the next one got an answer */
  rz = fetch(port, "GET", "/readyz");
  assert_int_equal(rz.status, 200);
  reply_free(&rz);
  /* An open storage circuit breaker: partitions are paused, not ready;
   * the breaker and S3 families are in /metrics. */
  atomic_store(&ks_s3_stats_g.breakers_open, 1);
  atomic_store(&ks_s3_stats_g.retries, 7);
  atomic_store(&ks_s3_stats_g.requests[KS_S3_OP_PUT][0], 3);
  atomic_store(&ks_s3_stats_g.hist[0], 2);
  atomic_store(&ks_s3_stats_g.hist_count, 2);
  rz = fetch(port, "GET", "/readyz");
  assert_int_equal(rz.status, 503);
  assert_string_equal(rz.body,
                      "storage circuit breaker open: partitions paused\n");
  reply_free(&rz);
  reply bm = fetch(port, "GET", "/metrics");
  assert_null(check_exposition(bm.body, why, sizeof why));
  assert_sample(bm.body, "ksink_circuit_breaker_open", "1");
  assert_sample(bm.body, "ksink_s3_retries_total", "7");
  assert_sample(bm.body, "ksink_s3_requests_total{op=\"put\",code=\"200\"}",
                "3");
  assert_sample(bm.body,
                "ksink_s3_request_duration_seconds_bucket{le=\"+Inf\"}", "2");
  reply_free(&bm);
  memset(&ks_s3_stats_g, 0, sizeof ks_s3_stats_g);

  /* Unknown paths 404 whatever the method; known ones take GET only. */
  static const char *const methods[] = {"POST", "PUT", "DELETE", "HEAD"};
  reply x = fetch(port, "GET", "/nope");
  assert_int_equal(x.status, 404);
  reply_free(&x);
  x = fetch(port, "POST", "/nope");
  assert_int_equal(x.status, 404);
  reply_free(&x);
  x = fetch(port, "GET", "/metrics/");
  assert_int_equal(x.status, 404);
  reply_free(&x);
  for (size_t i = 0; i < KS_ARRAY_SIZE(methods); i++) {
    x = fetch(port, methods[i], "/metrics");
    assert_int_equal(x.status, 405);
    assert_string_equal(x.allow, "GET");
    reply_free(&x);
  }

  /* Stop while a keep-alive connection idles and a client that never sent
   * a byte is connected: both must be closed, nothing may leak. */
  CURL *keep = curl_easy_init();
  reply k = fetch_on(keep, port, "GET", "/healthz");
  assert_int_equal(k.status, 200);
  reply_free(&k);
  k = fetch_on(keep, port, "GET", "/readyz");
  assert_int_equal(k.status, 200);
  reply_free(&k);
  int silent = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(silent, (struct sockaddr *)&sa, sizeof sa), 0);
  usleep(50 * 1000); /* let the server accept it */
  ks_http_stop(h);
  char c;
  assert_int_equal(read(silent, &c, 1), 0); /* the server closed it */
  close(silent);
  curl_easy_cleanup(keep);
  assert_int_equal(count_fds(), fds);
  assert_int_equal(count_threads(), threads);
  fixture_free(&f);
}

static void test_several_tables_and_escaping(void **state) {
  fixture f;
  fixture_init(&f);
  ks_buf b;
  ks_buf_init(&b, KS__HTTP_BODY_MAX);
  char why[256];

  /* Several tables: each one's numbers under its own label. */
  f.conf.ntables = 2;
  f.p->env.ntables = 2;
  f.ktables[1].start_version = 2; /* found at start-up, then committed 3 */
  assert_int_equal(ks__http_render_metrics(f.p, 1.7e9, &b), 0);
  ks_buf_cstr(&b);
  const char *m = (const char *)b.data;
  assert_null(check_exposition(m, why, sizeof why));
  assert_sample(m, "ksink_records_written_total{table=\"t\"}", "1100");
  assert_sample(m, "ksink_records_written_total{table=\"u\"}", "50");
  assert_sample(m, "ksink_delta_version{table=\"t\"}", "9");
  assert_sample(m, "ksink_delta_version{table=\"u\"}", "3");
  assert_sample(m, "ksink_files_written_total{table=\"u\",format=\"delta\"}",
                "2");
  assert_sample(
      m, "ksink_records_rejected_total{table=\"u\",reason=\"schema\"}", "5");
  assert_sample(
      m, "ksink_records_rejected_total{table=\"t\",reason=\"schema\"}", "60");
  assert_sample(m, "ksink_delta_commits_total{table=\"u\"}", "0");
  assert_sample(m, "ksink_delta_last_commit_timestamp_seconds{table=\"u\"}",
                "0.000");

  /* A table name with the three characters the format escapes. */
  f.conf.ntables = 1;
  f.p->env.ntables = 1;
  f.tables[0].name = "a\"b\\c\nd";
  ks_buf_reset(&b);
  assert_int_equal(ks__http_render_metrics(f.p, 1.7e9, &b), 0);
  ks_buf_cstr(&b);
  assert_null(check_exposition((char *)b.data, why, sizeof why));
  assert_sample((char *)b.data,
                "ksink_records_written_total{table=\"a\\\"b\\\\c\\nd\"}",
                "1100");
  ks_buf_free(&b);
  fixture_free(&f);
}

static void test_bind_errors(void **state) {
  fixture f;
  fixture_init(&f);
  int fds = count_fds();
  ks_http *h = NULL, *h2 = (ks_http *)1;
  char err[256] = "", listen[64];
  assert_int_equal(ks_http_start(f.p, "127.0.0.1:0", &h, err, sizeof err), 0);
  snprintf(listen, sizeof listen, "127.0.0.1:%d", ks_http_port(h));
  int r = ks_http_start(f.p, listen, &h2, err, sizeof err);
  assert_true(r < 0);
  assert_null(h2);
  char want[128];
  snprintf(want, sizeof want, "http.listen %s: address already in use", listen);
  assert_string_equal(err, want);
  ks_http_stop(h);

  static const char *const bad[] = {"8083",        "127.0.0.1",
                                    "127.0.0.1:x", "127.0.0.1:70000",
                                    "::1:80",      "[::1]80"};
  for (size_t i = 0; i < KS_ARRAY_SIZE(bad); i++) {
    h2 = (ks_http *)1;
    assert_int_equal(ks_http_start(f.p, bad[i], &h2, err, sizeof err),
                     KS_ECONFIG);
    assert_null(h2);
    assert_non_null(strstr(err, "expected host:port"));
  }
  assert_int_equal(count_fds(), fds);
  fixture_free(&f);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  /* libuv opens a process-wide pipe (its signal lock) at the first loop
   * it creates and keeps it: take that one out of the fd accounting. */
  uv_loop_t warm;
  uv_loop_init(&warm);
  uv_loop_close(&warm);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_checker_rejects_bad_expositions),
      cmocka_unit_test(test_endpoints),
      cmocka_unit_test(test_several_tables_and_escaping),
      cmocka_unit_test(test_bind_errors),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return r;
}
