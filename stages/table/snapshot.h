/*
 * Reads a table's Delta snapshot synchronously, on a private loop and
 * storage, and shows it to fn. For the control thread only (start-up,
 * assignment): no lane's loop ever waits for this. A table that does not
 * exist yet shows as a snapshot of version -1.
 *
 * Callers: stages/table/open.c (schemaless start), reactor/kafka.c (where
 * an assigned partition resumes).
 */
#ifndef KS_STAGES_TABLE_SNAPSHOT_H
#define KS_STAGES_TABLE_SNAPSHOT_H

#include "conf/conf.h"
#include "stages/table/table.h"
#include "storage/delta/delta.h"

typedef void (*ks_snapshot_fn)(void *arg, const ks_delta_snapshot *s);
int ks_table_with_snapshot(const ks_conf *conf, const ks_table *t,
                           ks_snapshot_fn fn, void *arg, char *err,
                           size_t errlen);

#endif
