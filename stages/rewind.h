/*
 * rewind: how a table writer recovers when its batches are stale. Two
 * things make them stale: the committer refused a batch because another
 * writer moved one of its partitions' txn (a zombie batch: this process
 * stalled past the session timeout and the group gave its partitions to
 * another member, which committed them), or the consumer group reports the
 * assignment lost. Either way the writer drops its buffered rows and open
 * file, lets the sets it already sent come back (committed or refused),
 * reads the table's log again and seeks every partition it still owns to
 * txn.version + 1 -- what a fresh assignment does. Records that arrive in
 * between are dropped; the seek delivers them again. Nothing is written
 * twice: every commit is still checked against the txn it continues.
 *
 * Callers: stages/writer (a refused set came back), stages/source (lost
 * assignment, new partitions of a rewinding writer), stages/lane.c.
 * Everything runs on the worker's loop.
 */
#ifndef KS_STAGES_REWIND_H
#define KS_STAGES_REWIND_H

#include "stages/lane.h"

typedef struct ks_rewind ks_rewind;

/* Starts rewinding the worker's writer of table `table` (no-op when it
 * already is); `why` goes to the log. */
void ks_rewind_start(ks_lane *w, int table, const char *why);
/* Moves a rewind on once nothing of the writer is in flight; called
 * whenever a set comes back (the host's maybe_drained: ks_lane_drained). */
void ks_rewind_check(ks_lane *w, int table);
int ks_rewind_active(const ks_lane *w, int table);
/* Frees the worker's rewind state (worker close). */
void ks_rewind_close_all(ks_lane *w);

#endif
