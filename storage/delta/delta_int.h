/*
 * Internals shared by the files of storage/delta (not for other folders).
 */
#ifndef KS_STORAGE_DELTA_DELTA_INT_H
#define KS_STORAGE_DELTA_DELTA_INT_H

#include "storage/delta/delta.h"

/* Protocol versions ksink writes and knows how to append to. */
#define KS__DELTA_READER_VERSION 1
#define KS__DELTA_WRITER_VERSION 2

void ks__delta_add_free(ks_delta_add *a);
void ks__delta_metadata_free(ks_delta_metadata *m);

/* "YYYY-MM-DD" for days since the epoch (proleptic Gregorian). */
void ks__delta_format_date(char out[16], int64_t days);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ": microseconds floored to milliseconds. */
void ks__delta_format_ts_ms(char out[40], int64_t us);

#endif
