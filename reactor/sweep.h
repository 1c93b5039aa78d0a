/*
 * Stale-upload sweep: aborts the multipart uploads (s3) or temp files (fs)
 * that a killed ksink left under its tables and their error-file
 * directories (errors.deadletter.path). The control thread runs it
 * synchronously on a private loop, at start-up before consuming and at a
 * graceful shutdown once everything is committed (reactor/pipeline.c).
 */
#ifndef KS_REACTOR_SWEEP_H
#define KS_REACTOR_SWEEP_H

#include "conf/conf.h"

#include <stdint.h>

/* The age past which an upload counts as abandoned:
 * storage.s3.stale_upload_age, but never below 2 x the largest
 * flush.interval of the tables. */
int64_t ks_sweep_threshold_ms(const ks_conf *conf);

/* Sweeps every table's prefix and error-file directory; gives up after
 * timeout_ms (what is left is logged and waits for the next sweep). 0, or the
 * first error. */
int ks_sweep_stale_uploads(const ks_conf *conf, uint64_t timeout_ms);

#endif
