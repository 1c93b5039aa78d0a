/*
 * libFuzzer target for the Delta log reader: the log is outside input (any
 * writer, or a damaged object store, may have produced it). Applies the
 * bytes as version 0 and, if accepted, again as version 1; every failure
 * must be KS_ECORRUPT and leave the snapshot where it was. An accepted log
 * also goes through the table-feature verdict and the domain and
 * deletion-vector readers.
 */
#include "storage/delta/delta.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ks_delta_snapshot s;
  ks_delta_snapshot_init(&s);
  char err[512];
  for (int64_t v = 0; v < 2; v++) {
    int64_t before = s.version;
    size_t nfiles = s.nfiles;
    int r = ks_delta_snapshot_apply(&s, v, data, size, err, sizeof err);
    if (r != 0) {
      if (r != KS_ECORRUPT || s.version != before || s.nfiles != nfiles)
        abort();
      break;
    }
    if (s.version != v)
      abort();
    /* what the append path asks of any accepted log */
    char why[400];
    int pc = ks_delta_protocol_check(&s, why, sizeof why);
    if (pc != 0 && pc != KS_EUNSUPPORTED)
      abort();
    (void)ks_delta_row_id_high_water_mark(&s);
    (void)ks_delta_snapshot_rows(&s);
  }
  ks_delta_snapshot_free(&s);
  return 0;
}
