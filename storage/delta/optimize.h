/*
 * Table maintenance: optimize (bin-packing of small files). Active files
 * smaller than the target are grouped per partition into bins of up to
 * the target size; each bin's files are concatenated into one new file
 * (storage/parquet/concat: column chunks copied, no value decoded) in the
 * same partition directory, and one commit removes the inputs and adds
 * the new files, all with dataChange false, so readers and streaming
 * consumers see the same rows.
 *
 * The commit is safe against a running writer: appends never conflict; if
 * another commit removed an input of a bin (or changed metaData), that bin
 * is abandoned (its new file deleted) and the others are committed again.
 *
 * Callers: `ksink optimize` (cli/optimize.c) and the committer's automatic
 * optimize (stages/commit.c). Runs on the loop of the table's storage.
 */
#ifndef KS_STORAGE_DELTA_OPTIMIZE_H
#define KS_STORAGE_DELTA_OPTIMIZE_H

#include "storage/delta/delta.h"
#include "storage/ostream.h"

typedef struct ks_delta_optimize_opts {
  int64_t target_size; /* bytes; default 256 MiB */
  /* a partition is rewritten only with at least this many small files
   * (at least 2, the default) */
  size_t min_files;
  /* only partitions whose values equal these (partition columns) */
  const char *const *where_names;
  const char *const *where_values;
  size_t nwhere;
  int dry_run; /* plan and report the bins, write nothing */
  ks_ostream_options ostream;
  const char *engine_info;
} ks_delta_optimize_opts;

/* A bin: input files (copies of their adds) and, once written, the new
 * file. */
typedef struct ks_delta_bin {
  ks_delta_add *inputs;
  size_t ninputs;
  int64_t bytes;    /* of the inputs */
  ks_delta_add out; /* path NULL until written */
  int state;        /* private */
} ks_delta_bin;

/* The bins of snapshot s (in the order of the partitions' first files,
 * each partition's files in log order). Bins of one file are left out. */
void ks_delta_optimize_plan(const ks_delta_snapshot *s,
                            const ks_delta_optimize_opts *o,
                            ks_delta_bin **bins, size_t *nbins);
void ks_delta_optimize_bins_free(ks_delta_bin *bins, size_t n);

typedef struct ks_delta_optimize_result {
  int64_t planned; /* the snapshot version the bins were planned on */
  int64_t version; /* committed version, -1 when nothing was committed */
  size_t removed, added;
  int64_t removed_bytes, added_bytes;
  int64_t rows;     /* rows of the rewritten files */
  size_t abandoned; /* bins given up after a conflict or a refused input */
  double seconds;
} ks_delta_optimize_result;

typedef struct ks_delta_optimize ks_delta_optimize;

/* Reports, during the run: a bin written (or planned, dry run), an input
 * left out of its bin (msg says why), a bin abandoned. */
typedef enum ks_delta_optimize_event {
  KS_OPT_BIN_PLANNED,
  KS_OPT_BIN_WRITTEN,
  KS_OPT_INPUT_SKIPPED,
  KS_OPT_BIN_ABANDONED
} ks_delta_optimize_event;
typedef void (*ks_delta_optimize_report_cb)(void *arg,
                                            ks_delta_optimize_event ev,
                                            const ks_delta_bin *bin,
                                            const char *path, const char *msg);
typedef void (*ks_delta_optimize_done_cb)(void *arg, int status,
                                          const ks_delta_optimize_result *r);

/* Plans from the table's current snapshot (loaded by the caller) and runs;
 * *job (when job is not NULL) is the handle for ks_delta_optimize_cancel.
 * The table must not have a load or commit in flight until done; report
 * may be NULL. The options are copied (the --where arrays are used by
 * this call only). Returns 0 when done will be called, always from the
 * loop (also when there is nothing to do). */
int ks_delta_optimize_start(ks_delta_table *t, const ks_delta_optimize_opts *o,
                            ks_delta_optimize_report_cb report,
                            ks_delta_optimize_done_cb done, void *arg,
                            ks_delta_optimize **job);
/* Stops the run at its next step (shutdown): no new file is started, the
 * new files not committed are deleted, and done gets KS_ECANCELED -- or,
 * when its commit is already in flight, that commit's outcome. The handle
 * is valid until done. */
void ks_delta_optimize_cancel(ks_delta_optimize *j);

/* Whether some partition of s (passing the filter) has at least
 * o->min_files files smaller than the target. */
int ks_delta_optimize_due(const ks_delta_snapshot *s,
                          const ks_delta_optimize_opts *o);

#endif
