/*
 * Output stream: a file being written to storage while it is produced.
 * Bytes accumulate in the current part; each time it passes part_size a
 * multipart UploadPart starts (the upload itself is created lazily with the
 * first full part), up to max_in_flight parts at once. A file smaller than
 * one part is stored with a single put. Failed storage calls are retried
 * with exponential backoff and full jitter, never skipped: the part's
 * bytes stay in memory until storage acknowledges them.
 *
 * Callers: stages/writer_file.c (data files), storage/delta/optimize_job.c. One stream belongs to one loop.
 */
#ifndef KS_STORAGE_OSTREAM_H
#define KS_STORAGE_OSTREAM_H

#include "base/buf.h"
#include "storage/storage.h"

#include <stdint.h>

typedef struct ks_ostream ks_ostream;

/* obj: final key, size and modification time (ms). */
typedef void (*ks_ostream_done_cb)(void *arg, int status,
                                   const ks_storage_obj *obj);

typedef struct ks_ostream_options {
  size_t part_size;    /* default 8 MiB */
  int max_in_flight;   /* default 4 */
  uint64_t backoff_base_ms; /* default 100 */
  uint64_t backoff_cap_ms;  /* default 30000 */
  /* Create the object only if the key is free (If-None-Match: *): a file
   * smaller than one part goes with put_if_absent, a larger one is
   * completed under the same condition, and an existing key ends the
   * stream with KS_EEXIST; it is never replaced. */
  int if_absent;
  /* The stream stores nothing under its key until the owner says so:
   * parts of a large file upload as they fill, but the put of a small
   * file and the complete of a large one wait for ks_ostream_release
   * (stages/writer_file.c claims a batch's cut before its files appear). */
  int hold;
} ks_ostream_options;

ks_ostream *ks_ostream_new(ks_storage *st, const char *key,
                           const ks_ostream_options *opt);
/* Appends bytes; may start a part upload. */
int ks_ostream_write(ks_ostream *os, const void *data, size_t len);
/* Sends what is left and completes the file; the stream frees itself after
 * calling cb. */
void ks_ostream_close(ks_ostream *os, ks_ostream_done_cb cb, void *arg);
/* Under the hold option: store the file (store = 1; if closed already,
 * the close callback follows as usual), or abandon it (store = 0: the
 * upload is aborted and a pending close callback gets KS_ECANCELED). */
void ks_ostream_release(ks_ostream *os, int store);
/* Abandons the file (aborting a started upload); frees itself. */
void ks_ostream_abort(ks_ostream *os);
uint64_t ks_ostream_bytes(const ks_ostream *os);
/* Bytes held in memory (current part + parts in flight). */
size_t ks_ostream_buffered(const ks_ostream *os);

#endif
