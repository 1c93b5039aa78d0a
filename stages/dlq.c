#include "stages/dlq.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One dead letter until it is stored or let go: the batch it holds up,
 * where it came from (for the truncated copy's headers and the log) and
 * how often it was cut down to fit. librdkafka carries it as the
 * message's opaque. */
typedef struct letter {
  ks_dlq_wait *w;
  char *src_topic;
  int32_t src_partition;
  int64_t src_offset;
  size_t orig_klen, orig_vlen;
  int shrinks;
  struct ks_dlq *d; /* for the byte count when it ends */
} letter;

/* A record librdkafka would not queue (queue full): sent again later. */
typedef struct retry {
  struct retry *next;
  char *topic;
  void *key, *value;
  size_t klen, vlen;
  rd_kafka_headers_t *hdrs;
  letter *l;
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
  uint64_t pending;         /* letters not yet stored or let go */
  uint64_t pending_bytes;   /* their key and value bytes (copies held by
                               librdkafka or the retry list) */
  uint64_t unavailable_ms;  /* first transient failure of the current run
                               (monotonic); 0: the last delivery worked */
  size_t max_message;       /* the producer's message.max.bytes */
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

ks_dlq_fault ks_dlq_classify(rd_kafka_resp_err_t e) {
  switch (e) {
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    return KS_DLQ_FAULT_TOO_LARGE;
  case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
  case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
  case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
  case RD_KAFKA_RESP_ERR_INVALID_RECORD:
  case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
  case RD_KAFKA_RESP_ERR__INVALID_ARG:
    return KS_DLQ_FAULT_REFUSED;
  default:
    return KS_DLQ_FAULT_TRANSIENT;
  }
}

static void letter_free(letter *l) {
  l->d->pending_bytes -= l->orig_klen + l->orig_vlen;
  ks_free(l->src_topic);
  ks_free(l);
}

static int produce(ks_dlq *d, const char *topic, const void *key, size_t klen,
                   const void *value, size_t vlen, rd_kafka_headers_t *h,
                   letter *l) {
  /* on success librdkafka owns h */
  return (int)rd_kafka_producev(
      d->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE((void *)value, vlen),
      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(l), RD_KAFKA_V_END);
}

/* A letter is stored, or let go for good: its batch stops waiting. */
static void letter_done(ks_dlq *d, letter *l) {
  d->pending--;
  ks_dlq_wait_done(l->w, !d->closing);
  letter_free(l);
}

static void keep_for_retry(ks_dlq *d, const char *topic, const void *key,
                           size_t klen, const void *value, size_t vlen,
                           rd_kafka_headers_t *h, letter *l) {
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
  r->l = l;
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
                r->l) == 0) {
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
                         rd_kafka_headers_t *h, letter *l);

/* A permanent refusal (unknown topic, not authorized, or too large even
 * cut down): the letter is let go so its table never stalls. The record
 * stays in its source topic and, with errors.deadletter.path, in the
 * error files; the log names where it is. */
static void let_go(ks_dlq *d, const char *topic, letter *l,
                   rd_kafka_resp_err_t e) {
  ks_log_error("dlq: %s: the dead letter of %s[%d]@%lld was refused (%s) "
               "and is not stored in the DLQ topic; it stays in its source "
               "topic (and in the error files when errors.deadletter.path "
               "is set)",
               topic, l->src_topic, (int)l->src_partition,
               (long long)l->src_offset, rd_kafka_err2str(e));
  if (d->fail)
    d->fail(d->fail_arg, topic, KS_DLF_DLQ_REFUSED);
  letter_done(d, l);
}

static size_t headers_bytes(const rd_kafka_headers_t *h, int connect_only) {
  size_t n = 0, i = 0;
  const char *name;
  const void *v;
  size_t vn;
  while (h && rd_kafka_header_get_all(h, i++, &name, &v, &vn) ==
                  RD_KAFKA_RESP_ERR_NO_ERROR)
    if (!connect_only || strncmp(name, "__connect.errors.", 17) == 0 ||
        strncmp(name, "__ksink.", 8) == 0)
      n += strlen(name) + vn + 16;
  return n;
}

size_t ks_dlq_fit(size_t max_message, int shrinks, size_t header_bytes,
                  size_t klen, size_t *key_keep) {
  /* each refusal halves the room: a broker or topic limit below the
   * producer's message.max.bytes is met within a few tries */
  size_t room = max_message >> (shrinks > 0 ? shrinks - 1 : 0);
  size_t overhead = 1024 + header_bytes; /* batch and record framing */
  *key_keep = klen < room / 8 ? klen : room / 8;
  if (room <= overhead + *key_keep)
    return 0;
  return room - overhead - *key_keep;
}

/* Too large for the DLQ: the dead letter is sent again cut down to fit --
 * the Connect headers, the key and the value's head -- with the original
 * sizes and source position in __ksink.* headers. Other headers of the
 * record are kept only while they take under a quarter of the room. */
static void shrink_and_send(ks_dlq *d, const char *topic, const void *key,
                            size_t klen, const void *value, size_t vlen,
                            rd_kafka_headers_t *h, letter *l,
                            rd_kafka_resp_err_t e) {
  if (++l->shrinks > 6) {
    rd_kafka_headers_destroy(h);
    let_go(d, topic, l, e);
    return;
  }
  if (d->fail)
    d->fail(d->fail_arg, topic, KS_DLF_DLQ_TOO_LARGE);
  size_t room = d->max_message >> (l->shrinks - 1);
  int keep_all = headers_bytes(h, 0) < room / 4;
  rd_kafka_headers_t *nh = rd_kafka_headers_new(16);
  size_t i = 0;
  const char *name;
  const void *v;
  size_t vn;
  while (h && rd_kafka_header_get_all(h, i++, &name, &v, &vn) ==
                  RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (strncmp(name, "__ksink.", 8) == 0)
      continue; /* written anew below */
    if (keep_all || strncmp(name, "__connect.errors.", 17) == 0)
      rd_kafka_header_add(nh, name, -1, v, (ssize_t)vn);
  }
  rd_kafka_headers_destroy(h);
  char num[32];
  rd_kafka_header_add(nh, "__ksink.truncated", -1, "true", -1);
  snprintf(num, sizeof num, "%zu", l->orig_vlen);
  rd_kafka_header_add(nh, "__ksink.original.value.bytes", -1, num, -1);
  snprintf(num, sizeof num, "%zu", l->orig_klen);
  rd_kafka_header_add(nh, "__ksink.original.key.bytes", -1, num, -1);
  rd_kafka_header_add(nh, "__ksink.original.topic", -1, l->src_topic, -1);
  snprintf(num, sizeof num, "%d", (int)l->src_partition);
  rd_kafka_header_add(nh, "__ksink.original.partition", -1, num, -1);
  snprintf(num, sizeof num, "%lld", (long long)l->src_offset);
  rd_kafka_header_add(nh, "__ksink.original.offset", -1, num, -1);
  size_t kkeep;
  size_t vkeep =
      ks_dlq_fit(d->max_message, l->shrinks, headers_bytes(nh, 0), klen, &kkeep);
  if (vkeep > vlen)
    vkeep = vlen;
  ks_log_warn("dlq: %s: the dead letter of %s[%d]@%lld is too large (%s): "
              "sending its first %zu of %zu value bytes (try %d)",
              topic, l->src_topic, (int)l->src_partition,
              (long long)l->src_offset, rd_kafka_err2str(e), vkeep,
              l->orig_vlen, l->shrinks);
  send_or_keep(d, topic, key, kkeep, value, vkeep, nh, l);
}

static void send_or_keep(ks_dlq *d, const char *topic, const void *key,
                         size_t klen, const void *value, size_t vlen,
                         rd_kafka_headers_t *h, letter *l) {
  rd_kafka_resp_err_t e =
      (rd_kafka_resp_err_t)produce(d, topic, key, klen, value, vlen, h, l);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
    return;
  switch (ks_dlq_classify(e)) {
  case KS_DLQ_FAULT_TOO_LARGE:
    shrink_and_send(d, topic, key, klen, value, vlen, h, l, e);
    return;
  case KS_DLQ_FAULT_REFUSED:
    rd_kafka_headers_destroy(h);
    let_go(d, topic, l, e);
    return;
  case KS_DLQ_FAULT_TRANSIENT:
    break;
  }
  ks_log_warn("dlq: %s: cannot queue a record (%s); retrying", topic,
              rd_kafka_err2str(e));
  if (d->unavailable_ms == 0)
    d->unavailable_ms = ks_mono_ms();
  if (d->fail)
    d->fail(d->fail_arg, topic, KS_DLF_DLQ_QUEUE);
  keep_for_retry(d, topic, key, klen, value, vlen, h, l);
  uv_timer_start(&d->timer, on_retry, 100, 0);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
  KS_UNUSED(rk);
  ks_dlq *d = opaque;
  letter *l = m->_private;
  if (m->err) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    ks_dlq_fault f = ks_dlq_classify(m->err);
    if (d->closing) {
      /* the batch is not committed and will be read again */
      d->pending--;
      letter_free(l);
      return;
    }
    rd_kafka_headers_t *h = NULL, *copy = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h)
      copy = rd_kafka_headers_copy(h);
    if (f == KS_DLQ_FAULT_TOO_LARGE) {
      shrink_and_send(d, topic, m->key, m->key_len, m->payload, m->len, copy,
                      l, m->err);
      return;
    }
    if (f == KS_DLQ_FAULT_REFUSED) {
      if (copy)
        rd_kafka_headers_destroy(copy);
      let_go(d, topic, l, m->err);
      return;
    }
    /* librdkafka gave up after message.timeout.ms (broker down): send it
     * again, the batch keeps waiting */
    ks_log_warn("dlq: %s: delivery failed (%s); sending again", topic,
                rd_kafka_err2str(m->err));
    if (d->unavailable_ms == 0)
      d->unavailable_ms = ks_mono_ms();
    if (d->fail)
      d->fail(d->fail_arg, topic, KS_DLF_DLQ_DELIVERY);
    send_or_keep(d, topic, m->key, m->key_len, m->payload, m->len, copy, l);
    return;
  }
  d->delivered++;
  d->unavailable_ms = 0;
  letter_done(d, l);
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
               ks_dlq_origin origin, size_t queue_kbytes, ks_dlq **out,
               char *err, size_t errlen) {
  *out = NULL;
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  char e[512];
  static const char *const defaults[][2] = {
      {"enable.idempotence", "true"}, {"acks", "all"}, {"linger.ms", "20"}};
  for (size_t i = 0; i < KS_ARRAY_SIZE(defaults); i++)
    rd_kafka_conf_set(kc, defaults[i][0], defaults[i][1], e, sizeof e);
  if (queue_kbytes > 0) {
    /* librdkafka's default queue (about 1 GiB) is outside any budget: a
     * DLQ that stalls would grow it without bound. A kafka.* setting of
     * the same name still wins (set below). */
    char v[32];
    snprintf(v, sizeof v, "%zu", queue_kbytes);
    rd_kafka_conf_set(kc, "queue.buffering.max.kbytes", v, e, sizeof e);
  }
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
  {
    char v[32];
    size_t vn = sizeof v;
    const rd_kafka_conf_t *rc = rd_kafka_conf(d->rk);
    d->max_message = 1000000;
    if (rd_kafka_conf_get(rc, "message.max.bytes", v, &vn) == RD_KAFKA_CONF_OK)
      d->max_message = (size_t)strtoull(v, NULL, 10);
  }
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
  letter *l = ks_calloc(1, sizeof *l);
  l->w = ks_dlq_wait_add(wp);
  l->src_topic = ks_strdup(rd_kafka_topic_name(m->rkt));
  l->src_partition = m->partition;
  l->src_offset = m->offset;
  l->orig_klen = m->key_len;
  l->orig_vlen = m->len;
  l->d = d;
  d->pending++;
  d->pending_bytes += l->orig_klen + l->orig_vlen;
  send_or_keep(d, topic, m->key, m->key_len, m->payload, m->len, h, l);
  return 0;
}

uint64_t ks_dlq_delivered(const ks_dlq *d) {
  return d->delivered;
}

uint64_t ks_dlq_pending(const ks_dlq *d) {
  return d ? d->pending : 0;
}

uint64_t ks_dlq_pending_bytes(const ks_dlq *d) {
  return d ? d->pending_bytes : 0;
}

uint64_t ks_dlq_unavailable_since(const ks_dlq *d) {
  return d ? d->unavailable_ms : 0;
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
    letter_free(r->l);
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

int ks_dlq_check_topic(ks_dlq *d, const char *topic, int timeout_ms, char *err,
                       size_t errlen) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(d->rk, topic, NULL);
  if (rkt == NULL) {
    snprintf(err, errlen, "dead-letter topic \"%s\": %s", topic,
             rd_kafka_err2str(rd_kafka_last_error()));
    return KS_EKAFKA;
  }
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(d->rk, 0, rkt, &md, timeout_ms);
  int r = 0;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    /* no answer in time: the producer keeps trying at run time, and a
     * DLQ that stays unreachable shows in /readyz */
    ks_log_warn("dlq: cannot check the dead-letter topic \"%s\" at start-up "
                "(%s); going on",
                topic, rd_kafka_err2str(e));
  } else {
    rd_kafka_resp_err_t te = md->topic_cnt > 0 ? md->topics[0].err
                                               : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (te != RD_KAFKA_RESP_ERR_NO_ERROR &&
        ks_dlq_classify(te) == KS_DLQ_FAULT_REFUSED) {
      snprintf(err, errlen,
               "dead-letter topic \"%s\" cannot be written: %s (create the "
               "topic, or grant this principal Write and Describe on it)",
               topic, rd_kafka_err2str(te));
      r = KS_EKAFKA;
    }
  }
  if (md)
    rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return r;
}
