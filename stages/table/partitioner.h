/*
 * Partitioning: which directory a row goes to. The table writer
 * (stages/flush.c) shreds each record into a one-row staging row group,
 * asks the partitioner for the row's partition, and moves the row to that
 * partition's file. Two layouts:
 *
 *   partition_by   Hive-style "col=value" directories, one per partition
 *                  column, from top-level scalar columns or derived ones
 *                  (derive: {d: {from: ts, as: date}}). Values are
 *                  serialized as Delta's PROTOCOL.md "Partition Value
 *                  Serialization" says and escaped with Hive/Spark's
 *                  escapePathName; null (and "") is __HIVE_DEFAULT_PARTITION__
 *                  in the path and JSON null in add.partitionValues.
 *   path_format    Kafka Connect TimeBasedPartitioner's layout: Joda-like
 *                  tokens (YYYY MM dd HH mm, 'quoted' literals) rendered
 *                  from timestamp_field or the Kafka record timestamp, in a
 *                  fixed-offset timezone (parquet and jsonl formats only).
 *
 * Checked once at start-up (ks_partitioner_new) with file:line errors;
 * routing a row costs no allocation beyond the caller's buffers.
 */
#ifndef KS_STAGES_TABLE_PARTITIONER_H
#define KS_STAGES_TABLE_PARTITIONER_H

#include "base/buf.h"
#include "conf/conf.h"
#include "storage/parquet/column.h"
#include "storage/parquet/schema_tree.h"

#define KS_HIVE_DEFAULT_PARTITION "__HIVE_DEFAULT_PARTITION__"

typedef struct ks_partitioner ks_partitioner;

/* tc: tables[table] of the config file `file`; pq: the table tree the
 * rows are staged in (data columns, then the _kafka_* ones,
 * _kafka_timestamp being leaf ndata + 3). Returns 0, or KS_ECONFIG with
 * "file:line: tables[i].partition_by: ..." in err. */
int ks_partitioner_new(const char *file, const ks_conf_table *tc, size_t table,
                       const ks_pq_schema *pq, size_t ndata,
                       ks_partitioner **out, char *err, size_t errlen);
void ks_partitioner_free(ks_partitioner *pt);

/* Partition columns (partition_by order) and their Delta types. */
size_t ks_partitioner_ncols(const ks_partitioner *pt);
const char *ks_partitioner_col_name(const ks_partitioner *pt, size_t i);
/* The column's type in the table (derived: date -> DATE, year..hour ->
 * INT32), and whether it is a data column of the schema (stored in the
 * Parquet files of the parquet format, not of delta). */
ks_coltype ks_partitioner_col_type(const ks_partitioner *pt, size_t i);
int ks_partitioner_col_is_field(const ks_partitioner *pt, size_t i);

/* The partition of row 0 of rg (a one-row staging row group): appends the
 * escaped directory ("a=1/b=x%2Fy", "" without partitioning, no trailing
 * slash) to dir; for partition_by also each value's serialization to
 * values, NUL-terminated one after the other, with isnull[i] set for null
 * ones (isnull has ks_partitioner_ncols entries). */
int ks_partitioner_route(const ks_partitioner *pt, const ks_rowgroup *rg,
                         ks_buf *dir, ks_buf *values, uint8_t *isnull);

/* Limits of a partition directory: a file system refuses a path segment
 * past 255 bytes (NAME_MAX), and S3 keys stop at 1,024 bytes, of which
 * the table's prefix and the file name need their share. */
#define KS_PARTITION_SEGMENT_MAX 255
#define KS_PARTITION_DIR_MAX 768
/* 0 when the escaped directory dir (len bytes, "a=1/b=x") can be stored;
 * else KS_EINVALID with msg naming the column and the length. */
int ks_partition_dir_check(const char *dir, size_t len, char *msg, size_t n);

/* PROTOCOL.md's serialization of one value of a partition column (v points
 * at the column's value: int32_t, int64_t, 1-byte bool, int32_t days,
 * int64_t micros, or n bytes of a string). */
int ks_partition_value(ks_buf *out, ks_coltype type, const void *v, size_t n);
/* Hive/Spark escapePathName: %XX (upper-case hex) for the control
 * characters, " # % ' * / : = ? \ DEL { [ ] ^; everything else (UTF-8
 * included) as is. */
int ks_partition_escape(ks_buf *out, const char *s, size_t n);
/* add.path is a URI (RFC 2396) relative to the table: every byte but
 * A-Z a-z 0-9 - _ . ~ / = becomes %XX, so a directory's own %XX escapes
 * read back as they were written once decoded. */
int ks_partition_uri_encode(ks_buf *out, const char *s, size_t n);

#endif
