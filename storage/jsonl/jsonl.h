/*
 * JSON Lines writer: one record per line, optionally compressed as one
 * gzip member (zlib) or one zstd frame (libzstd), streamed to a sink (the
 * table writer's output stream) as it goes, never held whole. Used by
 * stages/flush.c for `format: jsonl`. The output for a given sequence of
 * records is always the same bytes, so a file written again after a crash
 * is identical to the first.
 */
#ifndef KS_STORAGE_JSONL_JSONL_H
#define KS_STORAGE_JSONL_JSONL_H

#include "base/ks.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ks_jsonl ks_jsonl;
typedef int (*ks_jsonl_sink_fn)(void *arg, const uint8_t *data, size_t len);

/* codec: KS_CODEC_NONE, KS_CODEC_GZIP (level 6) or KS_CODEC_ZSTD (level). */
ks_jsonl *ks_jsonl_new(ks_codec codec, int level, ks_jsonl_sink_fn sink,
                       void *arg);
/* Appends one JSON text and a newline. Line breaks inside the text can
 * only be insignificant white space (JSON strings cannot hold raw ones):
 * they become spaces, so the record stays on its line. */
int ks_jsonl_write(ks_jsonl *j, const void *json, size_t len);
/* Ends the stream (gzip trailer, zstd frame end) and flushes it out. */
int ks_jsonl_finish(ks_jsonl *j);
/* Bytes handed to the sink so far. */
uint64_t ks_jsonl_bytes(const ks_jsonl *j);
void ks_jsonl_free(ks_jsonl *j);
/* ".jsonl", ".jsonl.gz", ".jsonl.zst" */
const char *ks_jsonl_ext(ks_codec codec);

#endif
