/*
 * The S3 counters /metrics and /status read: requests by operation and
 * answer, retries, the request duration histogram, and the names of their
 * labels. Process-wide atomics, written by every storage instance.
 */
#include "storage/s3/s3_int.h"

ks_s3_stats ks_s3_stats_g;
static const long codes[] = {200, 204, 206, 304, 400, 403, 404,
                             409, 412, 416, 429, 500, 503};
#define CODE_OTHER 13
#define CODE_NETWORK 14
const double ks_s3_hist_bounds[KS_S3_HIST_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

#define KS_S3_OP_NAME_(n, s) s,
static const char *const op_names[] = {KS_S3_OP_MAP(KS_S3_OP_NAME_)};
#undef KS_S3_OP_NAME_

const char *ks_s3_op_name(int op) {
  return op >= 0 && op < KS_S3_OP_COUNT ? op_names[op] : "unknown";
}

const char *ks_s3_code_name(int i) {
  static const char *const names[KS_S3_CODES] = {
      "200", "204", "206", "304", "400", "403",   "404",    "409",
      "412", "416", "429", "500", "503", "other", "network"};
  return i >= 0 && i < KS_S3_CODES ? names[i] : "other";
}

void ks__s3_count(int op, long http, uint64_t dur_us) {
  int ci = CODE_NETWORK;
  if (http > 0) {
    ci = CODE_OTHER;
    for (size_t i = 0; i < KS_ARRAY_SIZE(codes); i++)
      if (codes[i] == http)
        ci = (int)i;
  }
  atomic_fetch_add_explicit(&ks_s3_stats_g.requests[op][ci], 1,
                            memory_order_relaxed);
  double s = (double)dur_us / 1e6;
  int b = 0;
  while (b < KS_S3_HIST_BUCKETS && s > ks_s3_hist_bounds[b])
    b++;
  atomic_fetch_add_explicit(&ks_s3_stats_g.hist[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&ks_s3_stats_g.hist_sum_us, dur_us,
                            memory_order_relaxed);
  atomic_fetch_add_explicit(&ks_s3_stats_g.hist_count, 1, memory_order_relaxed);
}
