/*
 * The /status JSON: workers, the partitions each one owns (from the lists
 * they publish every second), tables and storage. Like the metrics, every
 * number comes from atomics or a published snapshot, never from a lock a
 * worker takes.
 */
#include "http/internal.h"

#include "base/ks.h"
#include "reactor/observe.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

int64_t ks__http_lag(const ks_part_status *ps) {
  int64_t from = ps->position >= 0 ? ps->position : ps->committed;
  if (ps->high < 0 || from < 0)
    return -1;
  return ps->high > from ? ps->high - from : 0;
}

/* Appends s as a JSON string; remembers the first error. */
static void str(ks_buf *b, int *err, const char *s) {
  if (!*err)
    *err = ks_buf_append_json_str(b, s, strlen(s));
}

#define APPENDF(...)                                                           \
  do {                                                                         \
    if (!err)                                                                  \
      err = ks_buf_appendf(b, __VA_ARGS__);                                    \
  } while (0)

static int workers_json(const ks_pipeline *p, uint64_t now_ms, ks_buf *b) {
  int err = 0;
  APPENDF("\"workers\":[");
  for (int i = 0; i < p->nworkers; i++) {
    const ks_worker *w = p->workers[i];
    uint64_t hb =
        atomic_load_explicit(&w->lane.counters.heartbeat_ms, memory_order_relaxed);
    APPENDF("%s{\"id\":%d,\"core\":%d,\"partitions\":%d,\"paused\":%d,"
            "\"buffered_bytes\":%llu,\"memory_bytes\":%llu,"
            "\"heartbeat_age_ms\":%llu}",
            i ? "," : "", w->id, w->core,
            (int)atomic_load(&w->lane.counters.partitions),
            (int)atomic_load(&w->lane.counters.paused),
            (unsigned long long)atomic_load(&w->lane.counters.buffered_bytes),
            (unsigned long long)atomic_load(&w->lane.counters.memory_bytes),
            (unsigned long long)(now_ms > hb ? now_ms - hb : 0));
  }
  APPENDF("],\"partitions\":[");
  int first = 1;
  for (int i = 0; i < p->nworkers; i++) {
    const ks_part_snap *s = ks_worker_part_snap(p->workers[i]);
    for (size_t j = 0; s && j < s->n; j++) {
      const ks_part_status *ps = &s->parts[j];
      APPENDF("%s{\"topic\":", first ? "" : ",");
      first = 0;
      str(b, &err,
          ps->topic >= 0 && (size_t)ps->topic < p->env.ntopics
              ? p->env.topics[ps->topic]
              : "");
      APPENDF(",\"partition\":%d,\"worker\":%d,\"consumed_offset\":%lld,"
              "\"committed_offset\":%lld,\"high_watermark\":%lld,"
              "\"lag\":%lld,\"paused\":%s}",
              (int)ps->partition, p->workers[i]->id, (long long)ps->position,
              (long long)ps->committed, (long long)ps->high,
              (long long)ks__http_lag(ps), ps->paused ? "true" : "false");
    }
  }
  APPENDF("]");
  return err;
}

/* "2026-12-01T19:20:00.123Z", or null for 0. */
static void iso_time(ks_buf *b, int *err, int64_t unix_ms) {
  if (unix_ms <= 0) {
    if (!*err)
      *err = ks_buf_append_str(b, "null");
    return;
  }
  time_t sec = (time_t)(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&sec, &tm);
  char ts[40];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!*err)
    *err = ks_buf_appendf(b, "\"%s.%03dZ\"", ts, (int)(unix_ms % 1000));
}

static int tables_json(const ks_pipeline *p, ks_buf *b) {
  int err = 0;
  APPENDF("\"tables\":[");
  for (size_t t = 0; t < p->env.ntables; t++) {
    const ks_conf_table *tc = p->env.tables[t].conf;
    ks_table_totals tt;
    ks_pipeline_table_totals(p, t, &tt);
    APPENDF("%s{\"name\":", t ? "," : "");
    str(b, &err, tc->name);
    APPENDF(",\"path\":");
    str(b, &err, tc->path ? tc->path : tc->name);
    APPENDF(",\"version\":%lld,\"last_commit_time\":",
            (long long)tt.delta_version);
    iso_time(b, &err, tt.last_commit_unix_ms);
    APPENDF(",\"files_open\":%d,\"commits\":%llu,\"conflicts\":%llu,"
            "\"written\":%llu,\"rejected\":%llu}",
            tt.files_open > 0 ? tt.files_open : 0,
            (unsigned long long)tt.commits, (unsigned long long)tt.conflicts,
            (unsigned long long)tt.written, (unsigned long long)tt.rejected);
  }
  APPENDF("]");
  return err;
}

int ks__http_render_status(const ks_pipeline *p, uint64_t now_ms, ks_buf *b) {
  int err = 0;
  ks_totals t;
  ks_pipeline_totals(p, &t);
  APPENDF("{\"version\":");
  str(b, &err, KS_VERSION);
  uint64_t up =
      p->started_ms && now_ms > p->started_ms ? now_ms - p->started_ms : 0;
  APPENDF(",\"uptime_seconds\":%.3f,", (double)up / 1000.0);
  if (!err)
    err = workers_json(p, now_ms, b);
  APPENDF(",");
  if (!err)
    err = tables_json(p, b);
  int wif = atomic_load_explicit(&ks_observe_storage_stats()->writes_in_flight,
                                 memory_order_relaxed);
  APPENDF(",\"uploads_in_flight\":%d,\"storage\":{\"reachable\":%s,"
          "\"bytes_uploaded\":%llu",
          wif > 0 ? wif : 0, ks_observe_storage_reachable() ? "true" : "false",
          (unsigned long long)atomic_load(&ks_observe_storage_stats()->bytes_uploaded));
  /* Which S3 credential source is in use and when its keys expire (never
   * the keys themselves). */
  const ks_s3_stats *s3s = ks_observe_s3_stats();
  int prov = atomic_load(&s3s->cred_provider);
  if (prov != KS_S3_CRED_NONE) {
    APPENDF(",\"credentials\":{\"provider\":\"%s\",\"assumed_role\":%s,"
            "\"expires\":",
            ks_s3_cred_name(prov),
            atomic_load(&s3s->cred_assumed) ? "true" : "false");
    iso_time(b, &err, (int64_t)atomic_load(&s3s->cred_expires_ms));
    APPENDF("}");
  }
  APPENDF("},");
  APPENDF("\"totals\":{\"consumed\":%llu,\"consumed_bytes\":%llu,"
          "\"written\":%llu,\"rejected\":%llu,\"files\":%llu,"
          "\"commits\":%llu,\"delta_version\":%lld},",
          (unsigned long long)t.consumed, (unsigned long long)t.consumed_bytes,
          (unsigned long long)t.written, (unsigned long long)t.rejected,
          (unsigned long long)t.files, (unsigned long long)t.commits,
          (long long)t.delta_version);
  APPENDF("\"assigned\":%d,\"joined\":%s,\"stopping\":%s,\"fatal\":%s}\n",
          (int)atomic_load(&p->assigned),
          atomic_load(&p->joined) ? "true" : "false",
          atomic_load(&p->env.stopping) ? "true" : "false",
          atomic_load(&p->env.fatal) ? "true" : "false");
  return err;
}
