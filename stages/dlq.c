#include "stages/dlq.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A record librdkafka would not queue (queue full): sent again later. */
typedef struct retry {
  struct retry *next;
  char *topic;
  void *key, *value;
  size_t klen, vlen;
  rd_kafka_headers_t *hdrs;
  ks_dlq_wait *w;
} retry;

struct ks_dlq {
  rd_kafka_t *rk;
  rd_kafka_queue_t *q;
  int fds[2];
  uv_poll_t poll;
  uv_timer_t timer; /* sends the retry list */
  retry *retries;
  ks_dlq_origin origin;
  uint64_t delivered;
  int closing;
  int nclosed;
  void (*fail)(void *arg, const char *topic, ks_dlf_reason why);
  void *fail_arg;
};

void ks_dlq_on_failure(ks_dlq *d,
                       void (*fn)(void *arg, const char *topic,
                                 ks_dlf_reason why),
                       void *arg) {
  d->fail = fn;
  d->fail_arg = arg;
}

/* Consumer settings that would only earn a warning on a producer. */
static const char *const consumer_only[] = {"group.id",
                                            "group.instance.id",
                                            "partition.assignment.strategy",
                                            "session.timeout.ms",
                                            "heartbeat.interval.ms",
                                            "group.protocol",
                                            "group.protocol.type",
                                            "group.remote.assignor",
                                            "coordinator.query.interval.ms",
                                            "max.poll.interval.ms",
                                            "enable.auto.commit",
                                            "auto.commit.interval.ms",
                                            "enable.auto.offset.store",
                                            "queued.min.messages",
                                            "queued.max.messages.kbytes",
                                            "fetch.wait.max.ms",
                                            "fetch.queue.backoff.ms",
                                            "fetch.message.max.bytes",
                                            "max.partition.fetch.bytes",
                                            "fetch.max.bytes",
                                            "fetch.min.bytes",
                                            "fetch.error.backoff.ms",
                                            "isolation.level",
                                            "enable.partition.eof",
                                            "check.crcs",
                                            "auto.offset.reset",
                                            "consume.callback.max.messages",
                                            "offset.store.method"};

static int is_consumer_only(const char *k) {
  for (size_t i = 0; i < KS_ARRAY_SIZE(consumer_only); i++)
    if (strcmp(k, consumer_only[i]) == 0)
      return 1;
  return 0;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf) {
  KS_UNUSED(rk);
  if (level <= 3)
    ks_log_error("dlq: kafka: %s: %s", fac, buf);
  else if (level <= 4)
    ks_log_warn("dlq: kafka: %s: %s", fac, buf);
  else
    ks_log_debug("dlq: kafka: %s: %s", fac, buf);
}

static int produce(ks_dlq *d, const char *topic, const void *key, size_t klen,
                   const void *value, size_t vlen, rd_kafka_headers_t *h,
                   ks_dlq_wait *w) {
  /* on success librdkafka owns h */
  return (int)rd_kafka_producev(
      d->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)value, vlen),
      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(w), RD_KAFKA_V_END);
}

static void keep_for_retry(ks_dlq *d, const char *topic, const void *key,
                           size_t klen, const void *value, size_t vlen,
                           rd_kafka_headers_t *h, ks_dlq_wait *w) {
  retry *r = ks_calloc(1, sizeof *r);
  r->topic = ks_strdup(topic);
  r->klen = klen;
  r->vlen = vlen;
  if (key) {
    r->key = ks_malloc(klen ? klen : 1);
    memcpy(r->key, key, klen);
  }
  if (value) {
    r->value = ks_malloc(vlen ? vlen : 1);
    memcpy(r->value, value, vlen);
  }
  r->hdrs = h;
  r->w = w;
  r->next = d->retries;
  d->retries = r;
}

static void on_retry(uv_timer_t *t) {
  ks_dlq *d = ks_container_of(t, ks_dlq, timer);
  retry *r = d->retries, *left = NULL;
  d->retries = NULL;
  while (r) {
    retry *next = r->next;
    if (produce(d, r->topic, r->key, r->klen, r->value, r->vlen, r->hdrs,
                r->w) == 0) {
      ks_free(r->topic);
      ks_free(r->key);
      ks_free(r->value);
      ks_free(r);
    } else {
      r->next = left;
      left = r;
    }
    r = next;
  }
  d->retries = left;
  if (left)
    uv_timer_start(&d->timer, on_retry, 100, 0);
}

static void send_or_keep(ks_dlq *d, const char *topic, const void *key,
                         size_t klen, const void *value, size_t vlen,
                         rd_kafka_headers_t *h, ks_dlq_wait *w) {
  rd_kafka_resp_err_t e =
      (rd_kafka_resp_err_t)produce(d, topic, key, klen, value, vlen, h, w);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  ks_log_warn("dlq: %s: cannot queue a record (%s); retrying", topic,
              rd_kafka_err2str(e));
  if (d->fail)
    d->fail(d->fail_arg, topic, KS_DLF_DLQ_QUEUE);
  keep_for_retry(d, topic, key, klen, value, vlen, h, w);
  uv_timer_start(&d->timer, on_retry, 100, 0);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
  KS_UNUSED(rk);
  ks_dlq *d = opaque;
  ks_dlq_wait *w = m->_private;
  if (m->err) {
    /* librdkafka gave up after message.timeout.ms: send it again, the
     * batch keeps waiting */
    const char *topic = rd_kafka_topic_name(m->rkt);
    ks_log_warn("dlq: %s: delivery failed (%s); sending again", topic,
                rd_kafka_err2str(m->err));
    if (d->fail)
      d->fail(d->fail_arg, topic, KS_DLF_DLQ_DELIVERY);
    if (d->closing)
      return;
    rd_kafka_headers_t *h = NULL, *copy = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h)
      copy = rd_kafka_headers_copy(h);
    send_or_keep(d, topic, m->key, m->key_len, m->payload, m->len, copy, w);
    return;
  }
  d->delivered++;
  ks_dlq_wait_done(w, !d->closing);
}

ks_dlq_wait *ks_dlq_wait_add(ks_dlq_wait **w) {
  if (*w == NULL)
    *w = ks_calloc(1, sizeof **w);
  (*w)->pending++;
  return *w;
}

void ks_dlq_wait_done(ks_dlq_wait *w, int call_drained) {
  if (--w->pending > 0)
    return;
  if (w->orphan)
    ks_free(w);
  else if (w->drained && call_drained)
    w->drained(w->arg); /* may free w */
}

void ks_dlq_wait_release(ks_dlq_wait *w) {
  if (w == NULL)
    return;
  if (w->pending == 0)
    ks_free(w);
  else
    w->orphan = 1;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  KS_UNUSED(status);
  KS_UNUSED(events);
  ks_dlq *d = ks_container_of(h, ks_dlq, poll);
  char buf[64];
  while (read(d->fds[0], buf, sizeof buf) > 0) {
  }
  rd_kafka_poll(d->rk, 0);
}

int ks_dlq_new(uv_loop_t *loop, const char *const *keys,
               const char *const *values, size_t n, const char *bootstrap,
               ks_dlq_origin origin, ks_dlq **out, char *err, size_t errlen) {
  *out = NULL;
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  char e[512];
  static const char *const defaults[][2] = {
      {"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "20"}};
  for (size_t i = 0; i < KS_ARRAY_SIZE(defaults); i++)
    rd_kafka_conf_set(kc, defaults[i][0], defaults[i][1], e, sizeof e);
  for (size_t i = 0; i < n; i++) {
    if (is_consumer_only(keys[i]))
      continue;
    const char *v = bootstrap && strcmp(keys[i], "bootstrap.servers") == 0
                        ? bootstrap
                        : values[i];
    if (rd_kafka_conf_set(kc, keys[i], v, e, sizeof e) != RD_KAFKA_CONF_OK) {
      snprintf(err, errlen, "dlq: kafka.%s: %s", keys[i], e);
      rd_kafka_conf_destroy(kc);
      return KS_ECONFIG;
    }
  }
  ks_dlq *d = ks_calloc(1, sizeof *d);
  d->origin = origin;
  d->fds[0] = d->fds[1] = -1;
  rd_kafka_conf_set_opaque(kc, d);
  rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
  rd_kafka_conf_set_log_cb(kc, on_log);
  d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e, sizeof e);
  if (d->rk == NULL) {
    snprintf(err, errlen, "dlq: kafka: %s", e);
    rd_kafka_conf_destroy(kc);
    ks_free(d);
    return KS_ECONFIG;
  }
  if (pipe(d->fds) != 0) {
    snprintf(err, errlen, "dlq: pipe: %s", strerror(errno));
    rd_kafka_destroy(d->rk);
    ks_free(d);
    return KS_EIO;
  }
  for (int i = 0; i < 2; i++)
    fcntl(d->fds[i], F_SETFL, fcntl(d->fds[i], F_GETFL) | O_NONBLOCK);
  d->q = rd_kafka_queue_get_main(d->rk);
  rd_kafka_queue_io_event_enable(d->q, d->fds[1], "1", 1);
  uv_poll_init(loop, &d->poll, d->fds[0]);
  uv_poll_start(&d->poll, UV_READABLE, on_readable);
  uv_timer_init(loop, &d->timer);
  *out = d;
  return 0;
}

static void add_header(rd_kafka_headers_t *h, const char *name,
                       const char *value) {
  rd_kafka_header_add(h, name, -1, value, -1);
}

int ks_dlq_send(ks_dlq *d, const char *topic, const rd_kafka_message_t *m,
                const ks_reject *rej, int context, ks_dlq_wait **wp) {
  rd_kafka_headers_t *orig = NULL, *h;
  if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
    h = rd_kafka_headers_copy(orig);
  else
    h = rd_kafka_headers_new(context ? 8 : 0);
  if (context) {
    char num[32];
    add_header(h, "__connect.errors.topic", rd_kafka_topic_name(m->rkt));
    snprintf(num, sizeof num, "%d", (int)m->partition);
    add_header(h, "__connect.errors.partition", num);
    snprintf(num, sizeof num, "%lld", (long long)m->offset);
    add_header(h, "__connect.errors.offset", num);
    add_header(h, "__connect.errors.connector.name", d->origin.connector);
    snprintf(num, sizeof num, "%d", d->origin.task);
    add_header(h, "__connect.errors.task.id", num);
    add_header(h, "__connect.errors.stage", KS_DLQ_STAGE);
    add_header(h, "__connect.errors.exception.class.name", KS_DLQ_CLASS);
    add_header(h, "__connect.errors.exception.message",
               rej && rej->message[0] ? rej->message : "rejected");
  }
  ks_dlq_wait *w = ks_dlq_wait_add(wp);
  send_or_keep(d, topic, m->key, m->key_len, m->payload, m->len, h, w);
  return 0;
}

uint64_t ks_dlq_delivered(const ks_dlq *d) {
  return d->delivered;
}

static void on_closed(uv_handle_t *h) {
  ks_dlq *d = h->data;
  if (++d->nclosed < 2)
    return;
  close(d->fds[0]);
  close(d->fds[1]);
  ks_free(d);
}

void ks_dlq_free(ks_dlq *d, int timeout_ms) {
  if (d == NULL)
    return;
  d->closing = 1;
  on_retry(&d->timer); /* one last attempt at what waits */
  if (rd_kafka_flush(d->rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
    ks_log_warn("dlq: %d records still in flight at shutdown; their batches "
                "were not committed and will be read again",
                rd_kafka_outq_len(d->rk));
  for (retry *r = d->retries, *next; r; r = next) {
    next = r->next;
    rd_kafka_headers_destroy(r->hdrs);
    ks_free(r->topic);
    ks_free(r->key);
    ks_free(r->value);
    ks_free(r);
  }
  rd_kafka_queue_destroy(d->q);
  rd_kafka_destroy(d->rk);
  uv_poll_stop(&d->poll);
  uv_timer_stop(&d->timer);
  d->poll.data = d->timer.data = d;
  uv_close((uv_handle_t *)&d->poll, on_closed);
  uv_close((uv_handle_t *)&d->timer, on_closed);
}
