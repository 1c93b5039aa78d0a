#include "reactor/worker.h"
#include "base/log.h"
#include "reactor/backpressure.h"
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
  int more = ks_source_drain(&w->lane);
  ks_backpressure_check(w, 0);
  if (more && w->lane.consuming)
    uv_idle_start(&w->kidle, on_kafka_idle);
  else
    uv_idle_stop(&w->kidle);
}

static void on_kafka_readable(uv_poll_t *h, int status, int events) {
  ks_worker *w = ks_container_of(h, ks_worker, kpoll);
  drain_pipe(w->fds[0]);
  if (w->lane.consuming)
    consume(w);
}

static void on_kafka_idle(uv_idle_t *h) {
  ks_worker *w = ks_container_of(h, ks_worker, kidle);
  if (w->lane.consuming)
    consume(w);
  else
    uv_idle_stop(h);
}

/* A loop that stops turning (a stage stuck in a busy loop, a blocking
 * call) stops this timer too: /healthz reports the stale heartbeat. */
static void on_beat(uv_timer_t *t) {
  ks_worker *w = ks_container_of(t, ks_worker, beat);
  atomic_store_explicit(&w->lane.counters.heartbeat_ms, ks_mono_ms(),
                        memory_order_relaxed);
  ks_worker_publish(w);
  ks_lane_observe(&w->lane);
  ks_source_retry_commits(&w->lane);
}

void ks_worker_publish(ks_worker *w) {
  size_t n = 0;
  for (ks_partition *p = w->lane.partitions; p; p = p->next)
    n += !p->revoked;
  ks_part_snap *s = ks_malloc(sizeof *s + n * sizeof s->parts[0]);
  s->n = 0;
  for (ks_partition *p = w->lane.partitions; p; p = p->next) {
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
    if (rd_kafka_get_watermark_offsets(w->p->env.rk, p->topic, p->partition, &lo,
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

/* ---- the lane's ops ---------------------------------------------------- */

/* How far ks_worker_new got (its error path undoes just that). */
enum { OPENED_NONE, OPENED_LOOP, OPENED_MAILBOX, OPENED_ALL };

static ks_worker *host(ks_lane *l) {
  return ks_container_of(l, ks_worker, lane);
}

static int op_post(ks_lane *from, int to, ks_msg *m) {
  ks_pipeline *p = host(from)->p;
  if (to < 0 || to >= p->nworkers)
    return KS_EINVAL;
  return ks_worker_post(p->workers[to], m);
}

static void op_fatal(ks_lane *l, const char *why) {
  ks_worker *w = host(l);
  ks_log_error("worker %d: %s; stopping the pipeline", w->id, why);
  atomic_store(&w->p->env.fatal, 1);
  ks_worker_consume_stop(w);
  ks_pipeline_stop(w->p);
}

static void op_maybe_drained(ks_lane *l) {
  ks_worker_check_drained(host(l));
}

static void op_consume(ks_lane *l, int on) {
  if (on)
    ks_worker_consume_start(host(l));
  else
    ks_worker_consume_stop(host(l));
}

static const ks_lane_ops worker_ops = {op_post, op_fatal, op_maybe_drained,
                                       op_consume};

int ks_worker_new(ks_pipeline *p, int id, int core, ks_worker **out) {
  ks_worker *w = ks_calloc(1, sizeof *w);
  w->p = p;
  w->id = id;
  w->core = core;
  w->fds[0] = w->fds[1] = -1;
  w->lane.id = id;
  w->lane.ops = &worker_ops;
  w->lane.env = &p->env;
  int r = uv_loop_init(&w->loop);
  if (r)
    goto fail;
  w->opened = OPENED_LOOP;
  if ((r = ks_mailbox_init(&w->loop, &w->mailbox)))
    goto fail;
  w->opened = OPENED_MAILBOX;
  if (pipe2(w->fds, O_NONBLOCK | O_CLOEXEC)) {
    r = -errno;
    goto fail;
  }
  w->lane.rkq = rd_kafka_queue_new(p->env.rk);
  rd_kafka_queue_io_event_enable(w->lane.rkq, w->fds[1], "1", 1);
  uv_poll_init(&w->loop, &w->kpoll, w->fds[0]);
  uv_idle_init(&w->loop, &w->kidle);
  uv_timer_init(&w->loop, &w->beat);
  uv_timer_init(&w->loop, &w->backpressure);
  w->opened = OPENED_ALL;
  atomic_store(&w->lane.counters.heartbeat_ms, ks_mono_ms());
  w->file_ratio = ks_calloc(p->env.ntables ? p->env.ntables : 1,
                            sizeof *w->file_ratio);
  for (size_t i = 0; i < p->env.ntables; i++)
    w->file_ratio[i] = 1.0;
  if ((r = ks_lane_open(&w->lane, &w->loop)))
    goto fail;
  *out = w;
  return 0;
fail:
  ks_log_error("worker %d: cannot start: %s", id, ks_strerror(r));
  /* Nothing runs this loop yet: close what is open; ks_worker_free runs
   * the close callbacks and frees the rest. */
  if (w->opened == OPENED_ALL)
    ks_worker_close(w);
  else if (w->opened == OPENED_MAILBOX)
    ks_mailbox_close(&w->mailbox);
  ks_worker_free(w);
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
  if (w->lane.consuming)
    return;
  w->lane.consuming = 1;
  uv_poll_start(&w->kpoll, UV_READABLE, on_kafka_readable);
  /* Messages may have queued while we were not watching. */
  uv_idle_start(&w->kidle, on_kafka_idle);
}

void ks_worker_consume_stop(ks_worker *w) {
  w->lane.consuming = 0;
  uv_poll_stop(&w->kpoll);
  uv_idle_stop(&w->kidle);
}

void ks_worker_check_drained(ks_worker *w) {
  int drained = ks_lane_drained(&w->lane);
  int gen = ks_source_revoke_settled(&w->lane);
  if (gen)
    ks_pipeline_revoke_settled(w->p, gen);
  if (!drained || w->drained_sent)
    return;
  w->drained_sent = 1;
  ks_pipeline_worker_drained(w->p, w);
}

void ks_worker_flush_all(ks_worker *w) {
  ks_lane_flush_all(&w->lane, "shutdown");
  ks_worker_check_drained(w);
}

void ks_worker_close(ks_worker *w) {
  ks_worker_consume_stop(w);
  ks_lane_close(&w->lane);
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
  ks_lane_free(&w->lane);
  if (w->opened >= OPENED_LOOP) {
    /* Let close callbacks of the storage backend run. */
    uv_run(&w->loop, UV_RUN_DEFAULT);
    int r = uv_loop_close(&w->loop);
    if (r)
      ks_log_warn("worker %d: loop closed with handles open", w->id);
  }
  if (w->lane.rkq)
    rd_kafka_queue_destroy(w->lane.rkq);
  if (w->fds[0] >= 0) {
    close(w->fds[0]);
    close(w->fds[1]);
  }
  ks_free(w->file_ratio);
  ks_free(atomic_load(&w->snap_pub));
  ks_free(w->snap_seen);
  ks_free(w);
}

/* ---- restart: a rewind of every table on the worker ---- */

typedef struct restart_msg {
  ks_msg msg;
  ks_worker *w;
} restart_msg;

static void on_restart(ks_msg *m) {
  restart_msg *r = ks_container_of(m, restart_msg, msg);
  ks_worker *w = r->w;
  for (size_t t = 0; t < w->p->env.ntables; t++)
    ks_rewind_start(&w->lane, (int)t, "restart requested over the REST API");
  ks_free(r);
}

int ks_worker_restart(ks_worker *w) {
  restart_msg *m = ks_calloc(1, sizeof *m);
  m->msg.fn = on_restart;
  m->w = w;
  int r = ks_worker_post(w, &m->msg);
  if (r)
    ks_free(m);
  return r;
}
