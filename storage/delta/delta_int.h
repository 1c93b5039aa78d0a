/*
 * Internals shared by the files of storage/delta (not for other folders).
 */
#ifndef KS_STORAGE_DELTA_DELTA_INT_H
#define KS_STORAGE_DELTA_DELTA_INT_H

#include "storage/delta/delta.h"

#include <yajl/yajl_tree.h>

/* conflict.c: what a commit must find unchanged after another writer won
 * versions. The signatures are taken when the commit (or the table's use)
 * begins and compared with the reloaded snapshot.
 * - meta: protocol, table id, schema and partition columns; what a rewrite
 *   (a commit that removes files) read its files under.
 * - layout: table id, column mapping mode and partition columns; what
 *   every data file is written for (ks_delta_layout_sig; the request's,
 *   else the one the table object took from its first snapshot with
 *   metaData): a commit after another writer changed it would add files
 *   made for the table before. A new column or a changed property leaves
 *   files valid.
 * The checks return 0, or set err ("<prefix>: why") and return
 * KS_EUNSUPPORTED (layout: the process must open the table again) or
 * KS_ECONFLICT (removes: metaData changed, or a removed file is no longer
 * active with the deletion vector it was read with). */
/* A file is its path and its deletion vector: 1 when the active file a
 * (NULL: none) is the one read with deletion vector dv_id (NULL: none).
 * One that gained or changed its vector had rows deleted after it was
 * read; a rewrite of what was read would hold them again. */
int ks__delta_same_file(const ks_delta_add *a, const char *dv_id);
void ks__delta_meta_signature(const ks_delta_snapshot *s, ks_buf *out);
void ks__delta_layout_signature(const ks_delta_snapshot *s, ks_buf *out);
int ks__delta_check_layout(const ks_delta_snapshot *s, const char *layout,
                           const char *prefix, char *err, size_t errlen);
int ks__delta_check_removes(const ks_delta_snapshot *s,
                            const ks_delta_commit_req *req, const ks_buf *meta,
                            const char *prefix, char *err, size_t errlen);

/* Protocol versions ksink writes and knows how to append to. */
#define KS__DELTA_READER_VERSION 1
#define KS__DELTA_WRITER_VERSION 2

void ks__delta_add_free(ks_delta_add *a);
void ks__delta_remove_free(ks_delta_remove *r);
/* add.stats' numRecords, or -1. */
int64_t ks__delta_stats_num_records(const char *stats);
/* Outside tables' checks (snapshot.c), shared by the log and checkpoint
 * readers: an add.path that stays inside the table (relative, no ".."
 * segment once decoded, no scheme), stats no deeper than
 * KS_JSON_MAX_DEPTH (NULL is fine). */
int ks__delta_path_ok(const char *path);
int ks__delta_stats_ok(const char *stats);
/* Adds a file to the active set, taking a's fields over (a is zeroed); the
 * same path again replaces the older add, and drops its tombstone. */
void ks__delta_snapshot_add(ks_delta_snapshot *s, ks_delta_add *a);
/* Removes r->path from the active set and keeps r as its tombstone (taking
 * r's fields over). The file's slot is left as a hole (a commit may
 * remove thousands of files) until ks__delta_snapshot_compact, which
 * every apply calls before returning. */
void ks__delta_snapshot_remove(ks_delta_snapshot *s, ks_delta_remove *r);
void ks__delta_snapshot_compact(ks_delta_snapshot *s);
void ks__delta_snapshot_untomb(ks_delta_snapshot *s, const char *path);
/* Sets (or replaces) the txn of app_id. */
void ks__delta_snapshot_txn(ks_delta_snapshot *s, const char *app_id,
                            int64_t version, int64_t last_updated);
void ks__delta_metadata_free(ks_delta_metadata *m);

/* entry.c: the log entry of req against snap, into b (reset first). */
int ks__delta_build_entry(const ks_delta_snapshot *snap,
                          const ks_delta_commit_req *req, ks_buf *b);

/* ---- table features (features.c) ---- */

/* Sets (or replaces) metaData.configuration[k]. */
void ks__delta_conf_set(ks_delta_metadata *m, const char *k, const char *v);

/* protocol.readerFeatures/writerFeatures of a JSON protocol action. */
void ks__delta_apply_protocol(ks_delta_snapshot *s, yajl_val a);
/* Replaces a feature list (which: 'r' or 'w') with a copy of names. */
void ks__delta_set_features(ks_delta_snapshot *s, int which,
                            const char *const *names, size_t n);
/* Sets (configuration != NULL, not removed) or drops a domain. */
void ks__delta_snapshot_domain(ks_delta_snapshot *s, const char *domain,
                               const char *configuration, int removed);
/* The members of add action a that ksink does not model, as f->extra,
 * with f's deletion-vector and row-tracking fields. */
void ks__delta_add_extra(ks_delta_add *f, yajl_val a);
/* A parsed JSON value written back as compact JSON text. */
void ks__delta_json_write(ks_buf *b, yajl_val v);
/* The unique id of a deletionVector object (NULL when v is none). */
char *ks__delta_dv_id_json(yajl_val dv);
/* The same from its parts (offset < 0: absent). */
char *ks__delta_dv_id(const char *storage_type, const char *path,
                      int64_t offset);
/* The storage key of a deletion vector (relative to the table root), or
 * NULL for inline ones and malformed descriptors. Free with ks_free. */
char *ks__delta_dv_file(const char *storage_type, const char *path_or_inline);

/* obj[key] of a parsed JSON object, or NULL (also when obj is not one). */
yajl_val ks__delta_json_field(yajl_val obj, const char *key);
/* The table's storage and root ("" or "path/", with the slash). */
ks_storage *ks__delta_table_storage(const ks_delta_table *t);
const char *ks__delta_table_root(const ks_delta_table *t);

/* "YYYY-MM-DD" for days since the epoch (proleptic Gregorian). */
void ks__delta_format_date(char out[16], int64_t days);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ": microseconds floored to milliseconds. */
void ks__delta_format_ts_ms(char out[40], int64_t us);

/* ---- _delta_log/ names (log_cleanup.c) ---- */

typedef enum ks__delta_logkind {
  KS__LOG_OTHER,
  KS__LOG_JSON,           /* <v>.json */
  KS__LOG_CRC,            /* <v>.crc */
  KS__LOG_CHECKPOINT,     /* <v>.checkpoint.parquet, <v>.checkpoint.o.p.parquet */
  KS__LOG_CHECKPOINT_V2,  /* <v>.checkpoint.<uuid>.json|parquet */
  KS__LOG_COMPACTED       /* <v>.<w>.compacted.json */
} ks__delta_logkind;

typedef struct ks__delta_logname {
  ks__delta_logkind kind;
  int64_t version; /* -1 for other names */
  int part, parts; /* checkpoints: 1/1 for classic */
  int64_t end_version; /* compacted logs */
} ks__delta_logname;

/* The version _last_checkpoint states: 0, or KS_ECORRUPT with the reason
 * in err when it is not a JSON object with a non-negative integer
 * "version" (a small file: more than 64 KiB is refused unread). */
int ks__delta_last_checkpoint_parse(const uint8_t *data, size_t len,
                                    int64_t *version, char *err,
                                    size_t errlen);

/* A name inside _delta_log/ (without the prefix). */
ks__delta_logname ks__delta_parse_logname(const char *name);
/* Complete checkpoints of names (sorted as listed), ascending: versions[i]
 * and their part counts (1: classic). Arrays hold n entries. */
size_t ks__delta_complete_checkpoints(const ks__delta_logname *names,
                                      size_t n, int64_t *versions,
                                      int *parts);
/* Adds the UUID-named V2 Parquet checkpoints among names (keys: the names
 * relative to _delta_log/) to the nck checkpoints of versions/parts (room
 * for n), with their names in ck_names (NULL for the others); returns the
 * new count. */
size_t ks__delta_add_v2_checkpoints(const ks__delta_logname *names,
                                    const char *const *keys, size_t n,
                                    int64_t *versions, int *parts,
                                    char **ck_names, size_t nck);
/* Indexes (into objs, the sorted listing of _delta_log/) of what log
 * cleanup deletes after a checkpoint at newest_checkpoint; del holds n. */
size_t ks__delta_cleanup_plan(const ks_storage_obj *objs, size_t n,
                              size_t prefix_len, int64_t newest_checkpoint,
                              int64_t now_ms, int64_t retention_ms,
                              size_t *del);

/* The checkpoint job: builds the checkpoint of s (synchronously), then
 * writes it, _last_checkpoint, and cleans the log up. cb (may be NULL)
 * gets the status of the checkpoint and _last_checkpoint writes; nonzero
 * return: nothing started, no callback. */
typedef struct ks__delta_ckpt ks__delta_ckpt;
typedef void (*ks__delta_ckpt_cb)(void *arg, int status);
int ks__delta_ckpt_start(ks_storage *st, const char *log_prefix,
                         const ks_delta_snapshot *s, int64_t now_ms,
                         ks__delta_ckpt_cb cb, void *arg,
                         ks__delta_ckpt **out);
/* The job goes on without calling back (its owner is going away). */
void ks__delta_ckpt_detach(ks__delta_ckpt *j);

/* The inCommitTimestamp of a commit entry's first line (its commitInfo),
 * or -1. */
int64_t ks__delta_first_ict(const uint8_t *data, size_t len);
/* Whether a commit may go ahead as far as constraints go: it adds no new
 * rows (optimize, schema changes), or the table's constraints are the set
 * the rows were checked against (req->constraints_sig). constraint.c */
int ks__delta_commit_checked(const ks_delta_snapshot *s,
                             const ks_delta_commit_req *req);

/* A checkpoint file by its name: a V2 JSON one (".json") or Parquet.
 * checkpoint_read.c */
int ks__delta_checkpoint_apply_file(ks_delta_snapshot *s, const char *key,
                                    const uint8_t *data, size_t len,
                                    char *err, size_t errlen);

#endif
