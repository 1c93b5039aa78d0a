/*
 * Why the threshold is safe: an upload of a live writer (this process
 * after a restart, or another member of the consumer group writing the
 * same table) lives from the file's first part to its Complete, i.e. at
 * most about one flush.interval of writing plus the retries of the last
 * parts. Anything older than twice the largest flush.interval therefore
 * belongs to no live writer, and the configured age (1 h by default) only
 * ever widens that margin; it is clamped to the floor, never below it.
 * The sweep runs when no writer of this process is active (before the
 * workers start, after they were joined), so it races at most with other
 * processes, which the floor covers.
 *
 * It is bounded: S3 being slow or down must not hold up a start or a
 * shutdown for long, and an upload not aborted now is aborted by the next
 * sweep (or by a bucket lifecycle rule).
 */
#include "reactor/sweep.h"

#include "base/log.h"
#include "storage/storage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int64_t ks_sweep_threshold_ms(const ks_conf *conf) {
  int64_t age = conf->s3.stale_upload_age_ms;
  for (size_t i = 0; i < conf->ntables; i++)
    if (2 * conf->tables[i].flush_interval_ms > age)
      age = 2 * conf->tables[i].flush_interval_ms;
  return age;
}

typedef struct sweep_run {
  const ks_conf *conf;
  ks_storage *st;
  uv_timer_t timer;
  size_t next; /* entry to sweep next (swept_dir) */
  int busy;    /* a table's sweep is in flight */
  int timed_out;
  int status;
  int64_t older_than_ms;
  size_t aborted, left;
} sweep_run;

static void sweep_next(sweep_run *s);

/* What is swept: each table's path, then its error files' directory
 * (errors.deadletter.path) when it has one -- entry 2i and 2i + 1. */
static const char *swept_dir(const ks_conf *conf, size_t entry) {
  const ks_conf_table *t = &conf->tables[entry / 2];
  if (entry % 2)
    return t->deadletter_path;
  return t->path ? t->path : t->name;
}

static void on_swept(void *arg, int status, size_t aborted, size_t left) {
  sweep_run *s = arg;
  const ks_conf_table *t = &s->conf->tables[(s->next - 1) / 2];
  s->busy = 0;
  s->aborted += aborted;
  s->left += left;
  if (status && status != KS_ECANCELED) {
    ks_log_warn("table %s: sweeping stale uploads: %s (%zu aborted, %zu "
                "left for the next sweep)",
                t->name, ks_strerror(status), aborted, left);
    if (s->status == 0)
      s->status = status;
  }
  if (s->timed_out)
    return;
  sweep_next(s);
}

static void sweep_next(sweep_run *s) {
  while (s->next < 2 * s->conf->ntables) {
    const char *dir = swept_dir(s->conf, s->next++);
    if (dir == NULL)
      continue;
    char prefix[1024];
    snprintf(prefix, sizeof prefix, "%s/", dir);
    int r =
        ks_storage_sweep_uploads(s->st, prefix, s->older_than_ms, on_swept, s);
    if (r == 0) {
      s->busy = 1;
      return;
    }
    if (r != KS_EUNSUPPORTED && s->status == 0)
      s->status = r;
  }
  uv_timer_stop(&s->timer);
}

static void on_timeout(uv_timer_t *h) {
  sweep_run *s = ks_container_of(h, sweep_run, timer);
  s->timed_out = 1;
  size_t from = (s->busy ? s->next - 1 : s->next) / 2;
  if (from >= s->conf->ntables)
    from = s->conf->ntables - 1;
  ks_log_warn("sweeping stale uploads: gave up after the time limit; "
              "table %s onwards not (fully) swept, left for the next sweep",
              s->conf->tables[from].name);
  if (s->status == 0)
    s->status = -ETIMEDOUT;
  /* Closing cancels what is in flight: on_swept runs with KS_ECANCELED. */
  ks_storage_close(s->st);
  s->st = NULL;
}

int ks_sweep_stale_uploads(const ks_conf *conf, uint64_t timeout_ms) {
  if (conf->ntables == 0)
    return 0;
  uv_loop_t loop;
  int r = uv_loop_init(&loop);
  if (r)
    return KS_EIO;
  sweep_run s;
  memset(&s, 0, sizeof s);
  s.conf = conf;
  s.older_than_ms = ks_sweep_threshold_ms(conf);
  if ((r = ks_storage_open(&loop, conf->storage_url, &conf->s3, &s.st))) {
    ks_log_warn("sweeping stale uploads: storage %s: %s", conf->storage_url,
                ks_strerror(r));
    uv_loop_close(&loop);
    return r;
  }
  uint64_t t0 = ks_mono_ms();
  uv_timer_init(&loop, &s.timer);
  uv_timer_start(&s.timer, on_timeout, timeout_ms, 0);
  sweep_next(&s);
  while (s.busy && !s.timed_out)
    uv_run(&loop, UV_RUN_ONCE);
  uv_timer_stop(&s.timer);
  uv_close((uv_handle_t *)&s.timer, NULL);
  if (s.st)
    ks_storage_close(s.st);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop))
    ks_log_warn("sweeping stale uploads: loop not empty at the end");
  if (s.aborted || s.left || s.status)
    ks_log_info("swept stale uploads (older than %llds) in %llu ms: %zu "
                "aborted, %zu left",
                (long long)(s.older_than_ms / 1000),
                (unsigned long long)(ks_mono_ms() - t0), s.aborted, s.left);
  return s.status;
}
