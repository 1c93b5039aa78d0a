/*
 * libFuzzer target for the checkpoint reader (storage/delta/checkpoint_read
 * on storage/parquet/reader): checkpoints are outside input, written by any
 * Delta writer or damaged in storage. Applies the bytes as a checkpoint
 * with a small entry limit; any outcome but a crash, a leak or a code
 * other than the documented ones is a bug. An accepted checkpoint must be
 * writable again by ksink's own checkpoint writer and read back with the
 * same files.
 */
#include "storage/delta/delta.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  char err[256];
  int r = ks_delta_checkpoint_apply(&s, data, size, 1 << 14, err, sizeof err);
  if (r != 0 && r != KS_ECORRUPT && r != KS_EUNSUPPORTED && r != KS_ETOOBIG)
    abort();
  if (r == 0 && s.has_protocol && s.has_metadata) {
    s.version = 1;
    ks_buf b;
    ks_buf_init(&b, 0);
    if (ks_delta_checkpoint_build(&s, 0, &b, NULL) != 0)
      abort();
    ks_delta_snapshot t;
    ks_delta_snapshot_init(&t);
    if (ks_delta_checkpoint_apply(&t, b.data, b.len, 0, err, sizeof err) != 0 ||
        t.nfiles != s.nfiles)
      abort();
    ks_delta_snapshot_free(&t);
    ks_buf_free(&b);
  }
  ks_delta_snapshot_free(&s);
  return 0;
}
