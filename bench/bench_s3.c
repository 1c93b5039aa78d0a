/*
 * bench_s3: upload throughput of the S3 backend through the output stream
 * (multipart, 8 MiB parts) with 1 and with 4 parts in flight, and the CPU
 * time ksink spends per uploaded MB (getrusage: user + system of this
 * process, i.e. signing, hashing and curl; the server's work is not ours).
 *
 *   KS_S3_ENDPOINT=http://127.0.0.1:7480 AWS_ACCESS_KEY_ID=.. \
 *   AWS_SECRET_ACCESS_KEY=.. bench_s3 [--url s3://bucket/prefix]
 *       [--mib N] [--rounds R]
 *
 * Test RGW: test/fixtures/rgw/start-rgw.sh (BUCKETS=ksink-bench).
 */
#include "storage/ostream.h"
#include "storage/s3/s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct done {
  int called, status;
} done;

static void on_done(void *arg, int status, const ks_storage_obj *obj) {
  done *d = arg;
  d->called = 1;
  d->status = status;
}

static void on_del(void *arg, int status) { *(int *)arg = 1; }

int main(int argc, char **argv) {
  const char *url = "s3://ksink-bench/bench";
  size_t mib = 256;
  int rounds = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--url"))
      url = argv[i + 1];
    else if (!strcmp(argv[i], "--mib"))
      mib = (size_t)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rounds"))
      rounds = atoi(argv[i + 1]);
  }
  if (getenv("KS_S3_ENDPOINT") == NULL) {
    fprintf(stderr, "bench_s3: set KS_S3_ENDPOINT (and AWS_* credentials)\n");
    return 2;
  }
  ks_conf_s3 c;
  memset(&c, 0, sizeof c);
  ks_conf_s3_defaults(&c);
  c.endpoint = getenv("KS_S3_ENDPOINT");
  c.addressing = "path";
  uv_loop_t loop;
  uv_loop_init(&loop);
  ks_storage *st;
  if (ks_s3_open(&loop, url, &c, &st))
    return 2;
  size_t chunk = 1u << 20;
  uint8_t *buf = malloc(chunk);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < chunk; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    memcpy(buf + i, &x, 8);
  }
  printf("bench_s3: %zu MiB per upload, 8 MiB parts, %d rounds, %s at %s\n",
         mib, rounds, url, c.endpoint);
  int inflight[] = {1, 4};
  for (int k = 0; k < 2; k++) {
    double best = 0, cpu_total = 0, mb_total = 0;
    for (int r = 0; r < rounds; r++) {
      ks_ostream_options o = {.part_size = 8u << 20,
                              .max_in_flight = inflight[k]};
      char key[64];
      snprintf(key, sizeof key, "bench-%d-%d.bin", inflight[k], r);
      double c0 = cpu_s();
      uint64_t t0 = uv_hrtime();
      ks_ostream *os = ks_ostream_new(st, key, &o);
      for (size_t i = 0; i < mib; i++) {
        ks_ostream_write(os, buf, chunk);
        /* Let parts go out as a producer would, without outrunning the
         * slots by more than one part of memory. */
        while (ks_ostream_buffered(os) > (size_t)(inflight[k] + 1) * (8u << 20))
          uv_run(&loop, UV_RUN_ONCE);
        uv_run(&loop, UV_RUN_NOWAIT);
      }
      done d = {0, 0};
      ks_ostream_close(os, on_done, &d);
      while (!d.called)
        uv_run(&loop, UV_RUN_ONCE);
      double secs = (double)(uv_hrtime() - t0) / 1e9;
      double cpu = cpu_s() - c0;
      if (d.status) {
        fprintf(stderr, "bench_s3: upload failed: %s\n", ks_strerror(d.status));
        return 1;
      }
      double mb = (double)mib * 1.048576;
      if (mb / secs > best)
        best = mb / secs;
      cpu_total += cpu;
      mb_total += mb;
      int deleted = 0;
      ks_storage_del(st, key, on_del, &deleted);
      while (!deleted)
        uv_run(&loop, UV_RUN_ONCE);
    }
    printf("parts in flight %d: %.1f MB/s (best of %d), CPU %.4f s per MB "
           "uploaded\n",
           inflight[k], best, rounds, cpu_total / mb_total);
  }
  free(buf);
  ks_storage_close(st);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}
