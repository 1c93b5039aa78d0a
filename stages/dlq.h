/*
 * Dead-letter queue: rejected records go to a Kafka topic, as Kafka
 * Connect's errors.deadletterqueue.* does. Each worker owns one producer
 * (idempotent, acks=all), polled from the worker's loop through its queue's
 * io-event pipe. A record keeps its key, value and headers; with context
 * headers on it also carries Connect's __connect.errors.* headers, the
 * exception message being the validator's "<pointer>: <reason>".
 *
 * Delivery gates the batch: every record sent for an open batch counts in
 * that batch's ks_dlq_wait, and the table writer hands the batch to the
 * committer (which commits the source offsets) only once its wait is
 * empty. A delivery that failed for a transient cause is sent again,
 * never dropped: a DLQ broker that is down holds the table's commits
 * (and /readyz turns unready after reactor.deadletter_unready_after). A
 * permanent refusal never stalls the table: a dead letter too large for
 * the DLQ is sent again cut down to fit (its original sizes and position
 * in __ksink.* headers); one the DLQ refuses outright (unknown topic, not
 * authorized) is counted, logged and let go.
 */
#ifndef KS_STAGES_DLQ_H
#define KS_STAGES_DLQ_H

#include "stages/record/decode.h"

#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <uv.h>

typedef struct ks_dlq ks_dlq;

/* Why a dead letter could not be stored (ksink_deadletter_failures_total's
 * reason label): the DLQ producer refused or failed to deliver a record
 * (it is sent again), an error file could not be written or read back, or
 * an object already at an error file's key is not one ksink wrote. */
typedef enum ks_dlf_reason {
  KS_DLF_DLQ_QUEUE,     /* transient: sent again */
  KS_DLF_DLQ_DELIVERY,  /* transient: sent again */
  KS_DLF_DLQ_TOO_LARGE, /* permanent: sent again truncated */
  KS_DLF_DLQ_REFUSED,   /* permanent: counted, logged, let go */
  KS_DLF_FILE_WRITE,
  KS_DLF_FILE_FOREIGN,
  KS_DLF_COUNT
} ks_dlf_reason;
extern const char *const ks_dlf_reason_names[KS_DLF_COUNT];


/* What Kafka Connect names the failing stage and exception of a record its
 * converter rejected: dead letters and error files say the same. */
#define KS_DLQ_STAGE "VALUE_CONVERTER"
#define KS_DLQ_CLASS "org.apache.kafka.connect.errors.DataException"

typedef struct ks_dlq_wait {
  uint64_t pending; /* sent, not yet acknowledged */
  /* set once the batch is closed: called when pending reaches 0 */
  void (*drained)(void *arg);
  void *arg;
  int orphan; /* its batch is gone: freed by the last acknowledgement */
} ks_dlq_wait;

/* The batch no longer needs w: frees it now, or with its last pending
 * record's acknowledgement. NULL is fine. */
void ks_dlq_wait_release(ks_dlq_wait *w);
/* Counts one more thing the batch waits for (allocating *w first). Other
 * stages that gate a batch the same way (stages/errfile.h) use these. */
ks_dlq_wait *ks_dlq_wait_add(ks_dlq_wait **w);
/* One of them is durable: the last one calls drained (when call_drained),
 * or frees an orphaned w. */
void ks_dlq_wait_done(ks_dlq_wait *w, int call_drained);

/* Who is sending: Connect's connector name and task id headers. */
typedef struct ks_dlq_origin {
  const char *connector; /* app_id */
  int task;              /* worker id */
} ks_dlq_origin;

/* Told of every record the producer refused to queue or failed to
 * deliver (each is sent again); on the producer's loop. */
void ks_dlq_on_failure(ks_dlq *d,
                       void (*fn)(void *arg, const char *topic,
                                 ks_dlf_reason why),
                       void *arg);

/* kafka: the pipeline's kafka.* properties (consumer-only ones are left
 * out); bootstrap overrides bootstrap.servers (the in-process mock).
 * queue_kbytes (0: librdkafka's default) bounds the producer's queue. */
int ks_dlq_new(uv_loop_t *loop, const char *const *keys,
               const char *const *values, size_t n, const char *bootstrap,
               ks_dlq_origin origin, size_t queue_kbytes, ks_dlq **out,
               char *err, size_t errlen);
/* Sends m to topic, counting it in *w (allocated on first use, owned by
 * the caller). context: add the __connect.errors.* headers. */
int ks_dlq_send(ks_dlq *d, const char *topic, const rd_kafka_message_t *m,
                const ks_reject *rej, int context, ks_dlq_wait **w);
/* Records sent and acknowledged, for metrics. */
uint64_t ks_dlq_delivered(const ks_dlq *d);
/* Dead letters sent and not yet stored or let go (NULL: 0), and their
 * key and value bytes (held against the worker's memory budget). */
uint64_t ks_dlq_pending(const ks_dlq *d);
uint64_t ks_dlq_pending_bytes(const ks_dlq *d);
/* Monotonic ms of the first transient failure since the last delivery
 * that worked; 0 when the DLQ takes records (NULL: 0). */
uint64_t ks_dlq_unavailable_since(const ks_dlq *d);

/* What a producer error means for a dead letter. Transient (broker down,
 * timeouts, queue full): sent again, its batch waits. Too large: sent
 * again cut down (ks_dlq_fit). Refused (unknown topic, not authorized,
 * invalid): counted, logged and let go -- never a stalled table. */
typedef enum ks_dlq_fault {
  KS_DLQ_FAULT_TRANSIENT,
  KS_DLQ_FAULT_TOO_LARGE,
  KS_DLQ_FAULT_REFUSED
} ks_dlq_fault;
ks_dlq_fault ks_dlq_classify(rd_kafka_resp_err_t e);
/* Value bytes a dead letter keeps on its shrinks-th cut (1 = first) under
 * a producer limit of max_message, with header_bytes of headers; the key
 * bytes it keeps into *key_keep. */
size_t ks_dlq_fit(size_t max_message, int shrinks, size_t header_bytes,
                  size_t klen, size_t *key_keep);
/* Start-up: asks the brokers (up to timeout_ms, blocking) whether topic
 * exists and may be written. 0, or KS_EKAFKA with err naming the topic and
 * the broker's answer (unknown topic with auto-create off, not
 * authorized). A broker that does not answer in time is not an error:
 * the producer retries at run time. */
int ks_dlq_check_topic(ks_dlq *d, const char *topic, int timeout_ms, char *err,
                       size_t errlen);
/* Waits (up to timeout_ms, blocking the loop: shutdown only) for every
 * record in flight, then frees the producer. */
void ks_dlq_free(ks_dlq *d, int timeout_ms);

#endif
