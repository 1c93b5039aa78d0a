/*
 * Recorded cuts: how parquet and jsonl tables, which have no log, still
 * store every record exactly once. Before a batch's files appear, its cut
 * -- one Kafka partition's offsets [first, last] and the files that hold
 * them -- is claimed with a put-if-absent marker
 *
 *   <table path>/_ksink/<topic>+<partition>/<first, 20 digits>.json
 *   {"first":F,"last":L,"files":["<path under the table>",...],
 *    "reason":"records","writer":"<app_id>/<worker>"}
 *
 * Two different cuts never exist for one first offset, so a writer that
 * loses the race adopts the recorded cut (it reads [F, L] again, cuts
 * exactly at L, finds the files -- deterministic given [F, L] -- or writes
 * the missing ones, and goes on at L + 1) and no data file is ever
 * replaced, whatever cut it: records, bytes, time, memory, shutdown.
 * A partition resumes after its last complete cut (ks_cuts_resume), as a
 * Delta table resumes after its txn version.
 *
 * Callers: stages/writer_file.c (claim, adopt), reactor/kafka.c (resume on
 * assignment, control thread).
 */
#ifndef KS_STAGES_TABLE_CUTS_H
#define KS_STAGES_TABLE_CUTS_H

#include "base/buf.h"
#include "conf/conf.h"
#include "storage/storage.h"

#include <stdint.h>

typedef struct ks_cut {
  int64_t first, last;
  char **files; /* paths under the table */
  size_t nfiles;
  char *reason; /* what cut the batch (records, interval, ...) */
  char *writer; /* "<app_id>/<worker>" */
} ks_cut;

/* "<table path>/_ksink/<topic>+<partition>/" and the key of a cut. */
void ks_cut_prefix(ks_buf *b, const char *table_path, const char *topic,
                   int32_t part);
void ks_cut_key(ks_buf *b, const char *table_path, const char *topic,
                int32_t part, int64_t first);
/* The marker's JSON text. */
void ks_cut_json(ks_buf *b, const ks_cut *c);
/* 0, or KS_EPARSE when the bytes are not a marker (bounded: 1 MiB, 10,000
 * files). */
int ks_cut_parse(const uint8_t *data, size_t len, ks_cut *out);
void ks_cut_clear(ks_cut *c);
/* The same cut: same range, or the same first offset and ours was forced
 * to end at the recorded last (records past it were compacted away). */
int ks_cut_same(const ks_cut *recorded, int64_t first, int64_t last,
                int64_t forced_to);

/* Where a partition of a parquet/jsonl table resumes. */
typedef struct ks_cut_resume {
  int64_t offset; /* next offset to read; -1: no cut recorded */
  int64_t cut_at; /* read again up to here and cut exactly (a recorded cut
                     whose files are not all there), or -1 */
} ks_cut_resume;

/* Control thread (start-up, assignment): reads the partition's markers on
 * a private loop and storage. `done`: offsets below it are known stored
 * (the group's committed offset; -1: unknown) -- cuts ending below it are
 * not looked at. The earliest cut at or past `done` whose files are not
 * all there is read again (offset = its first, cut_at = its last);
 * otherwise reading goes on after the newest cut (or at `done`, when
 * later). 0, or a storage error with err. */
int ks_cuts_resume(const ks_conf *conf, const char *table_path,
                   const char *topic, int32_t part, int64_t done,
                   ks_cut_resume *out, char *err, size_t errlen);

#endif
