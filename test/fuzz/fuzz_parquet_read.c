/*
 * libFuzzer target for the Parquet reader (storage/parquet/reader): the
 * files it reads are outside data (checkpoints of any Delta writer, data
 * files that optimize concatenates). Opens the bytes, walks the schema
 * tree and reads every leaf column under a small entry limit. Any outcome
 * but a crash, a sanitizer report, a leak or an undocumented code is a
 * bug; run with -malloc_limit_mb so that a few bytes declaring a huge
 * allocation (footer counts, page sizes, page bombs) counts as a finding:
 *   fuzz_parquet_read -malloc_limit_mb=256 -rss_limit_mb=1024 CORPUS
 * The same bytes then go through the Parquet concatenation that optimize
 * uses: an accepted input must also finish into a file.
 */
#include "storage/parquet/concat.h"
#include "storage/parquet/reader.h"

#include "base/ks.h"

#include <stdlib.h>

static int sink(void *arg, const uint8_t *p, size_t n) {
  (void)p;
  *(size_t *)arg += n;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ks_pq_file *f;
  char err[256];
  int rc = ks_pq_file_open(data, size, &f, err, sizeof err);
  if (rc) {
    if (rc != KS_ECORRUPT && rc != KS_EUNSUPPORTED && rc != KS_ENOMEM)
      abort();
  } else {
    ks_pq_file_set_max_entries(f, 1 << 20);
    const ks_pq_rnode *root = ks_pq_file_node(f, 0);
    if (root == NULL || ks_pq_file_rows(f) < 0)
      goto done;
    for (size_t i = 0; i < root->nchildren; i++)
      if (ks_pq_file_child_at(f, root, i) == NULL)
        abort();
    for (size_t leaf = 0; leaf < ks_pq_file_nleaves(f); leaf++) {
      ks_pq_rcolumn c;
      rc = ks_pq_file_read_column(f, leaf, &c, err, sizeof err);
      if (rc != 0 && rc != KS_ECORRUPT && rc != KS_EUNSUPPORTED &&
          rc != KS_ETOOBIG)
        abort();
      if (rc == 0 && c.n > (1 << 20))
        abort(); /* the entry limit held */
      ks_pq_rcolumn_free(&c);
    }
  done:
    ks_pq_file_free(f);
  }
  size_t written = 0;
  ks_pq_concat *cat = ks_pq_concat_new(sink, &written);
  rc = ks_pq_concat_add(cat, data, size, err, sizeof err);
  if (rc == 0 && ks_pq_concat_finish(cat) != 0)
    abort();
  ks_pq_concat_free(cat);
  return 0;
}
