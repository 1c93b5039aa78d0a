#include "reactor/worker.h"
#include "base/log.h"
#include "reactor/backpressure.h"
#include "stages/commit.h"
#include "stages/dlq.h"
#include "stages/flush.h"
#include "stages/rewind.h"
#include "stages/source.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

static void drain_pipe(int fd) {
  char buf[256];
  while (read(fd, buf, sizeof buf) > 0)
    ;
}

static void on_kafka_idle(uv_idle_t *h);

static void consume(ks_worker *w) {
  /* Control messages first: an assignment is posted before its partition
   * queue is forwarded, so running the mailbox now guarantees the
   * partition's state exists before its first message. */
  ks_mailbox_run(&w->mailbox);
  int more = ks_source_drain(w);
  ks_backpressure_check(w, 0);
  if (more && w->consuming)
    uv_idle_start(&w->kidle, on_kafka_idle);
  else
    uv_idle_stop(&w->kidle);
}

static void on_kafka_readable(uv_poll_t *h, int status, int events) {
  ks_worker *w = ks_container_of(h, ks_worker, kpoll);
  drain_pipe(w->fds[0]);
  if (w->consuming)
    consume(w);
}

static void on_kafka_idle(uv_idle_t *h) {
  ks_worker *w = ks_container_of(h, ks_worker, kidle);
  if (w->consuming)
    consume(w);
  else
    uv_idle_stop(h);
}

/* A loop that stops turning (a stage stuck in a busy loop, a blocking
 * call) stops this timer too: /healthz reports the stale heartbeat. */
static void on_beat(uv_timer_t *t) {
  ks_worker *w = ks_container_of(t, ks_worker, beat);
  atomic_store_explicit(&w->counters.heartbeat_ms, ks_mono_ms(),
                        memory_order_relaxed);
  ks_worker_publish(w);
}

void ks_worker_publish(ks_worker *w) {
  size_t n = 0;
  for (ks_partition *p = w->partitions; p; p = p->next)
    n += !p->revoked;
  ks_part_snap *s = ks_malloc(sizeof *s + n * sizeof s->parts[0]);
  s->n = 0;
  for (ks_partition *p = w->partitions; p; p = p->next) {
    if (p->revoked)
      continue;
    ks_part_status *ps = &s->parts[s->n++];
    ps->topic = p->topic_index;
    ps->partition = p->partition;
    ps->position = p->position;
    ps->committed = p->acked >= 0 ? p->acked + 1 : -1;
    ps->paused = p->paused;
    /* The watermarks librdkafka cached from its last fetch response: no
     * broker round trip, never blocks. */
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(w->p->rk, p->topic, p->partition, &lo,
                                       &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
      hi = -1;
    ps->high = hi;
  }
  ks_free(atomic_exchange(&w->snap_pub, s));
}

const ks_part_snap *ks_worker_part_snap(ks_worker *w) {
  ks_part_snap *s = atomic_exchange(&w->snap_pub, NULL);
  if (s) {
    ks_free(w->snap_seen);
    w->snap_seen = s;
  }
  return w->snap_seen;
}

static void on_backpressure(uv_timer_t *t) {
  ks_backpressure_check(ks_container_of(t, ks_worker, backpressure), 1);
}

/* One dead-letter producer per worker, when any table names a DLQ topic. */
static int open_dlq(ks_worker *w) {
  const ks_pipeline *p = w->p;
  const ks_conf *conf = p->conf;
  int any = 0;
  for (size_t i = 0; i < p->ntables; i++)
    any |= p->tables[i].conf->dlq_topic != NULL;
  if (!any)
    return 0;
  const char **keys = ks_calloc(conf->nkafka + 1, sizeof *keys);
  const char **vals = ks_calloc(conf->nkafka + 1, sizeof *vals);
  for (size_t i = 0; i < conf->nkafka; i++) {
    keys[i] = conf->kafka[i].key;
    vals[i] = conf->kafka[i].value;
  }
  char err[512];
  ks_dlq_origin origin = {conf->app_id, w->id};
  int r = ks_dlq_new(&w->loop, keys, vals, conf->nkafka, p->mock_bootstraps,
                     origin, &w->dlq, err, sizeof err);
  ks_free(keys);
  ks_free(vals);
  if (r)
    ks_log_error("worker %d: %s", w->id, err);
  return r;
}

int ks_worker_new(ks_pipeline *p, int id, int core, ks_worker **out) {
  ks_worker *w = ks_calloc(1, sizeof *w);
  w->p = p;
  w->id = id;
  w->core = core;
  int r = uv_loop_init(&w->loop);
  if (r)
    goto fail;
  if ((r = ks_mailbox_init(&w->loop, &w->mailbox)))
    goto fail;
  if (pipe2(w->fds, O_NONBLOCK | O_CLOEXEC)) {
    r = -errno;
    goto fail;
  }
  w->rkq = rd_kafka_queue_new(p->rk);
  rd_kafka_queue_io_event_enable(w->rkq, w->fds[1], "1", 1);
  uv_poll_init(&w->loop, &w->kpoll, w->fds[0]);
  uv_idle_init(&w->loop, &w->kidle);
  uv_timer_init(&w->loop, &w->beat);
  uv_timer_init(&w->loop, &w->backpressure);
  atomic_store(&w->counters.heartbeat_ms, ks_mono_ms());
  if ((r = ks_storage_open(&w->loop, p->conf->storage_url, &p->conf->s3,
                           &w->storage)))
    goto fail;
  if ((r = open_dlq(w)))
    goto fail;
  w->writers = ks_calloc(p->ntables, sizeof *w->writers);
  w->committers = ks_calloc(p->ntables, sizeof *w->committers);
  w->rewinds = ks_calloc(p->ntables, sizeof *w->rewinds);
  w->file_ratio = ks_calloc(p->ntables, sizeof *w->file_ratio);
  w->tc = ks_calloc(p->ntables ? p->ntables : 1, sizeof *w->tc);
  for (size_t i = 0; i < p->ntables; i++)
    atomic_store(&w->tc[i].delta_version, -1);
  w->topic_consumed =
      ks_calloc(p->ntopics ? p->ntopics : 1, sizeof *w->topic_consumed);
  for (size_t i = 0; i < p->ntables; i++)
    w->file_ratio[i] = 1.0;
  for (size_t i = 0; i < p->ntables; i++) {
    w->writers[i] = ks_table_writer_new(w, &p->tables[i]);
    if (p->tables[i].committer == id)
      w->committers[i] = ks_committer_new(w, &p->tables[i]);
  }
  atomic_store(&w->counters.delta_version, -1);
  *out = w;
  return 0;
fail:
  ks_log_error("worker %d: cannot start: %s", id, ks_strerror(r));
  ks_free(w);
  return r;
}

static void worker_main(void *arg) {
  ks_worker *w = arg;
  ks_log_set_worker(w->id);
  if (w->core >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->core, &set);
    int r = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (r)
      ks_log_warn("worker %d: cannot pin to core %d: %s", w->id, w->core,
                  strerror(r));
  }
  uv_run(&w->loop, UV_RUN_DEFAULT);
}

int ks_worker_start(ks_worker *w) {
  ks_worker_consume_start(w);
  uv_timer_start(&w->beat, on_beat, 0, 1000);
  uv_timer_start(&w->backpressure, on_backpressure, 200, 200);
  return uv_thread_create(&w->thread, worker_main, w);
}

int ks_worker_post(ks_worker *w, ks_msg *m) {
  return ks_mailbox_post(&w->mailbox, m);
}

void ks_worker_consume_start(ks_worker *w) {
  if (w->consuming)
    return;
  w->consuming = 1;
  uv_poll_start(&w->kpoll, UV_READABLE, on_kafka_readable);
  /* Messages may have queued while we were not watching. */
  uv_idle_start(&w->kidle, on_kafka_idle);
}

void ks_worker_consume_stop(ks_worker *w) {
  w->consuming = 0;
  uv_poll_stop(&w->kpoll);
  uv_idle_stop(&w->kidle);
}

void ks_worker_check_drained(ks_worker *w) {
  for (size_t i = 0; i < w->p->ntables; i++)
    ks_rewind_check(w, (int)i);
  ks_source_check_revoke(w);
  if (!w->stopping || w->drained_sent)
    return;
  for (size_t i = 0; i < w->p->ntables; i++)
    if (!ks_table_writer_idle(w->writers[i]) || ks_rewind_active(w, (int)i))
      return;
  for (size_t i = 0; i < w->p->ntables; i++)
    if (w->committers[i] && !ks_committer_settle(w->committers[i]))
      return;
  w->drained_sent = 1;
  ks_pipeline_worker_drained(w->p, w);
}

void ks_worker_close(ks_worker *w) {
  ks_worker_consume_stop(w);
  ks_rewind_close_all(w);
  for (size_t i = 0; i < w->p->ntables; i++) {
    ks_table_writer_close(w->writers[i]);
    w->writers[i] = NULL;
    if (w->committers[i]) {
      ks_committer_close(w->committers[i]);
      w->committers[i] = NULL;
    }
  }
  /* the table writers waited for their dead letters before committing:
   * nothing the log or Kafka counts as done is still in flight here */
  ks_dlq_free(w->dlq, 10000);
  w->dlq = NULL;
  uv_close((uv_handle_t *)&w->kpoll, NULL);
  uv_close((uv_handle_t *)&w->kidle, NULL);
  uv_close((uv_handle_t *)&w->beat, NULL);
  uv_close((uv_handle_t *)&w->backpressure, NULL);
  ks_mailbox_close(&w->mailbox);
}

void ks_worker_join(ks_worker *w) {
  uv_thread_join(&w->thread);
}

void ks_worker_free(ks_worker *w) {
  if (w == NULL)
    return;
  while (w->partitions) {
    ks_partition *p = w->partitions;
    w->partitions = p->next;
    ks_free(p->topic);
    ks_free(p->app_id);
    ks_free(p);
  }
  if (w->storage)
    ks_storage_close(w->storage);
  /* Let close callbacks of the storage backend run. */
  uv_run(&w->loop, UV_RUN_DEFAULT);
  int r = uv_loop_close(&w->loop);
  if (r)
    ks_log_warn("worker %d: loop closed with handles open", w->id);
  rd_kafka_queue_destroy(w->rkq);
  close(w->fds[0]);
  close(w->fds[1]);
  ks_free(w->writers);
  ks_free(w->committers);
  ks_free(w->rewinds);
  ks_free(w->file_ratio);
  ks_free(w->tc);
  ks_free(w->topic_consumed);
  ks_free(atomic_load(&w->snap_pub));
  ks_free(w->snap_seen);
  ks_free(w);
}
