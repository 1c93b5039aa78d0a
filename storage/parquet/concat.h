/*
 * Concatenation of Parquet files without decoding a value, for table
 * maintenance (storage/delta/optimize): every column chunk of every input
 * is copied byte for byte into one new file, each input row group becoming
 * one row group of the output, and a new footer is written whose offsets
 * (row groups, column chunks, data/dictionary/index pages) point at the
 * copies. Column indexes are copied as they are; offset indexes are
 * re-encoded with the moved page offsets; bloom filters are dropped (their
 * length is optional in the format, so they cannot always be found).
 *
 * Only files with the same schema concatenate: the footer's schema
 * elements and column orders must be byte-identical to the first input's,
 * else the input is refused with KS_ESCHEMA and nothing of it is written.
 * Encrypted files and chunks stored in other files are refused
 * (KS_EUNSUPPORTED). Inputs are outside data: every offset is checked.
 */
#ifndef KS_STORAGE_PARQUET_CONCAT_H
#define KS_STORAGE_PARQUET_CONCAT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_pq_concat ks_pq_concat;

/* Receives the output bytes in order; nonzero fails the concatenation. */
typedef int (*ks_pq_concat_sink)(void *arg, const uint8_t *data, size_t len);

ks_pq_concat *ks_pq_concat_new(ks_pq_concat_sink sink, void *arg);
void ks_pq_concat_free(ks_pq_concat *c);

/* Checks one whole input file and writes its column chunks to the sink.
 * A refused input (KS_ESCHEMA, KS_ECORRUPT, KS_EUNSUPPORTED, message in
 * err) writes nothing and the concatenation goes on; a sink error is
 * returned as it is and fails it. data may be freed on return. */
int ks_pq_concat_add(ks_pq_concat *c, const uint8_t *data, size_t len,
                     char *err, size_t errlen);
/* Writes the indexes and the footer. KS_EINVAL when no input was added. */
int ks_pq_concat_finish(ks_pq_concat *c);

/* Inputs added, their rows, and the bytes written so far. */
size_t ks_pq_concat_files(const ks_pq_concat *c);
int64_t ks_pq_concat_rows(const ks_pq_concat *c);
uint64_t ks_pq_concat_bytes(const ks_pq_concat *c);

#endif
