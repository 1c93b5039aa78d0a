/*
 * Internals of http/ shared by server.c (transport) and metrics.c (what
 * the endpoints say). The renderers are pure functions of the pipeline's
 * counters and flags so tests can call them without a socket.
 */
#ifndef KS_HTTP_INTERNAL_H
#define KS_HTTP_INTERNAL_H

#include "base/buf.h"
#include "reactor/pipeline.h"
#include "reactor/worker.h"

#include <stddef.h>
#include <stdint.h>

/* A worker whose heartbeat is older than this makes /healthz fail. */
#define KS__HTTP_HEARTBEAT_MAX_MS 5000
/* Cap on a rendered body; far above what any pipeline produces. */
#define KS__HTTP_BODY_MAX (4u << 20)
/* What each owned partition may add to a response: its lag series in
 * /metrics, its entry in /status (either well under this). */
#define KS__HTTP_BODY_PER_PARTITION 1024u

/* Unix time the process started, read once from /proc at server start
 * (-1 when /proc cannot tell). */
double ks__http_process_start_time(void);

/* NULL when healthy, else a one-line reason written into why. */
const char *ks__http_unhealthy(const ks_pipeline *p, uint64_t now_ms, char *why,
                               size_t n);
/* NULL when ready, else a static one-line reason. */
const char *ks__http_unready(const ks_pipeline *p, char *why, size_t n);

/* Prometheus text exposition 0.0.4 of the pipeline's counters. */
int ks__http_render_metrics(const ks_pipeline *p, double start_time, ks_buf *b);
/* Kafka Connect's REST subset under /connectors (connect.c). auth: what
 * the caller may do. Sets *status (200, 202, 204, 401, 403, 404, 405) and
 * the JSON body in b (empty for 202 and 204); returns 0 or an error. */
enum { KS__AUTH_OK, KS__AUTH_NO_TOKEN, KS__AUTH_FORBIDDEN };
int ks__http_connect(ks_pipeline *p, const char *method, size_t mlen,
                     const char *path, size_t plen, const char *query,
                     size_t qlen, int auth, const char *worker_id, ks_buf *b,
                     int *status);

/* Records past the partition's position (-1 unknown). */
int64_t ks__http_lag(const ks_part_status *ps);

/* The /status JSON object (status.c). Like the metrics it takes the
 * workers' newest partition lists: one caller thread at a time. */
int ks__http_render_status(const ks_pipeline *p, uint64_t now_ms, ks_buf *b);

#endif
