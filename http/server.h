/*
 * The operator endpoints: GET /healthz, /readyz, /metrics (Prometheus text
 * format 0.0.4) and /status (JSON), served by h2o on a thread and uv loop
 * of their own so a slow scraper never delays a worker. Every answer is
 * built from memory -- the workers' atomic counters and the pipeline's
 * flags, read without locks -- so no request blocks.
 *
 * Callers: cli/serve.c starts the server before the pipeline runs and
 * stops it after the pipeline has ended.
 */
#ifndef KS_HTTP_SERVER_H
#define KS_HTTP_SERVER_H

#include "reactor/pipeline.h"

#include <stddef.h>

typedef struct ks_http ks_http;

/* Binds listen ("host:port", "[v6]:port"; port 0 picks a free port) and
 * serves on a thread of its own. Returns 0, or a negative code with a
 * one-line message in err ("http.listen 127.0.0.1:8083: address already
 * in use"). */
int ks_http_start(ks_pipeline *p, const char *listen, ks_http **out, char *err,
                  size_t errlen);
/* The bound port (useful with port 0). */
int ks_http_port(const ks_http *h);
/* Stops accepting, closes every connection and handle, joins the thread
 * and frees. Call once, from any thread but the server's. NULL is a no-op. */
void ks_http_stop(ks_http *h);

#endif
