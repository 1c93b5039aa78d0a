/*
 * ksink vacuum URL --retain DURATION [--dry-run] [--now-ms MS] [-c FILE]
 *
 * Deletes the table's data files that the current snapshot does not
 * reference and whose storage mtime is older than now - DURATION: files
 * removed by earlier commits, and orphans that were uploaded but never
 * committed (a crash between upload and commit). Protected, as in Delta's
 * VACUUM: active files, files of remove tombstones newer than the
 * retention, everything under _delta_log/, and every key with a path
 * segment starting with '_' or '.' (hidden by Delta's convention; the fs
 * backend's in-progress uploads are dot files). --dry-run lists without
 * deleting.
 *
 * stdout: one line per file, "deleted <path>" (or "would delete <path>"),
 * then "vacuum: ..." with the counts. Exit 0, 1 when the table cannot be
 * read or a delete failed, 2 on bad usage.
 *
 * A retention below 168h can delete the file of a commit that a running
 * writer is about to make (uploaded, not yet in the log): a warning says
 * so. --now-ms (milliseconds since the epoch) replaces the clock: tests
 * use it to place the cut-off exactly, and with --dry-run it answers "what
 * would vacuum delete at that time".
 */
#include "base/ks.h"
#include "cli/cli.h"
#include "cli/table_open.h"
#include "conf/conf.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ksink vacuum URL --retain DURATION [--dry-run] [--now-ms MS] "
    "[-c FILE]\n"
    "\n"
    "Deletes the data files no version newer than DURATION ago refers to.\n"
    "\n"
    "  URL                 the table: a path, file:///path, s3://bucket/prefix\n"
    "                      (s3a:// too)\n"
    "  -c, --config FILE   S3 settings (storage.s3) for an s3:// URL\n"
    "  --retain DURATION   keep files removed less than this long ago (required)\n"
    "  --dry-run           list what would be deleted, delete nothing\n"
    "  --now-ms MS         take MS (milliseconds since the epoch) as the "
    "current\n"
    "                      time, for tests and what-if runs with --dry-run\n"
    "  -h, --help          this help\n";

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int hidden(const char *key) {
  for (const char *p = key; p; p = strchr(p, '/')) {
    if (*p == '/')
      p++;
    if (*p == '_' || *p == '.')
      return 1;
  }
  return 0;
}

typedef struct vac {
  ks_cli_table ct;
  int64_t cutoff_ms;
  int dry_run;
  char **keep; /* sorted, decoded */
  size_t nkeep;
  char **del;
  uint64_t *del_size;
  size_t ndel, next;
  uint64_t bytes;
  size_t kept_ref, kept_new, failed;
  int list_status;
} vac;

static void delete_next(vac *v);

static void on_deleted(void *arg, int status) {
  vac *v = arg;
  const char *key = v->del[v->next - 1];
  if (status && status != KS_ENOENT) {
    fprintf(stderr, "ksink vacuum: deleting %s: %s\n", key,
            ks_strerror(status));
    v->failed++;
  } else {
    printf("deleted %s\n", key);
    v->bytes += v->del_size[v->next - 1];
  }
  delete_next(v);
}

static void delete_next(vac *v) {
  while (v->next < v->ndel) {
    int rc = ks_storage_del(v->ct.st, v->del[v->next++], on_deleted, v);
    if (rc == 0)
      return;
    on_deleted(v, rc);
    return;
  }
}

static void on_listed(void *arg, int status, const ks_storage_obj *objs,
                      size_t n) {
  vac *v = arg;
  v->list_status = status;
  if (status)
    return;
  v->del = ks_calloc(n ? n : 1, sizeof *v->del);
  v->del_size = ks_calloc(n ? n : 1, sizeof *v->del_size);
  for (size_t i = 0; i < n; i++) {
    const char *key = objs[i].key;
    if (hidden(key))
      continue;
    if (bsearch(&key, v->keep, v->nkeep, sizeof *v->keep, cmp_str)) {
      v->kept_ref++;
      continue;
    }
    if (objs[i].mtime_ms >= v->cutoff_ms) {
      v->kept_new++;
      continue;
    }
    v->del_size[v->ndel] = objs[i].size;
    v->del[v->ndel++] = ks_strdup(key);
  }
  if (v->dry_run) {
    for (size_t i = 0; i < v->ndel; i++) {
      printf("would delete %s\n", v->del[i]);
      v->bytes += v->del_size[i];
    }
    return;
  }
  delete_next(v);
}

int ks_cli_vacuum(int argc, char **argv) {
  const char *conf = NULL, *retain = NULL, *now_arg = NULL;
  int dry_run = 0;
  static const struct option opts[] = {{"retain", required_argument, 0, 'r'},
                                       {"dry-run", no_argument, 0, 'n'},
                                       {"now-ms", required_argument, 0, 't'},
                                       {"config", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'r':
      retain = optarg;
      break;
    case 'n':
      dry_run = 1;
      break;
    case 't':
      now_arg = optarg;
      break;
    case 'c':
      conf = optarg;
      break;
    case 'h':
      fputs(usage, stdout);
      return KS_EXIT_OK;
    default:
      fputs(usage, stderr);
      return KS_EXIT_USAGE;
    }
  }
  if (optind != argc - 1 || retain == NULL) {
    fputs(usage, stderr);
    return KS_EXIT_USAGE;
  }
  int64_t retain_ms;
  if (ks_conf_parse_duration(retain, &retain_ms) || retain_ms < 0) {
    fprintf(stderr,
            "ksink vacuum: --retain: expected a duration like \"168h\" or "
            "\"7d\", got \"%s\"\n",
            retain);
    return KS_EXIT_USAGE;
  }
  int64_t now_ms = ks_now_us() / 1000;
  if (now_arg) {
    char *end;
    errno = 0;
    long long v = strtoll(now_arg, &end, 10);
    if (errno || end == now_arg || *end || v < 0) {
      fprintf(stderr,
              "ksink vacuum: --now-ms: expected milliseconds since the "
              "epoch like \"1700000000000\", got \"%s\"\n",
              now_arg);
      return KS_EXIT_USAGE;
    }
    now_ms = (int64_t)v;
  }
  if (retain_ms < 168 * 3600000LL)
    fprintf(stderr,
            "ksink vacuum: warning: --retain %s is below 168h: a file that a "
            "running writer uploaded but has not committed yet may be "
            "deleted\n",
            retain);

  vac v;
  memset(&v, 0, sizeof v);
  v.dry_run = dry_run;
  v.cutoff_ms = now_ms - retain_ms;
  int r = ks_cli_table_open(&v.ct, "vacuum", argv[optind], conf);
  if (r)
    return r;
  const ks_delta_snapshot *s = ks_delta_table_snapshot(v.ct.t);
  char why[400];
  if (ks_delta_protocol_check(s, why, sizeof why)) {
    /* vacuumProtocolCheck: a vacuum must understand every writer feature */
    fprintf(stderr, "ksink vacuum: %s: %s\n", argv[optind], why);
    ks_cli_table_close(&v.ct);
    return 1;
  }
  v.keep = ks_calloc(2 * s->nfiles + s->nremoves + 1, sizeof *v.keep);
  for (size_t i = 0; i < s->nfiles; i++) {
    v.keep[v.nkeep++] = ks_delta_path_decode(s->files[i].path);
    if (s->files[i].dv_file) /* the live deletion vector of the file */
      v.keep[v.nkeep++] = ks_strdup(s->files[i].dv_file);
  }
  for (size_t i = 0; i < s->nremoves; i++)
    if (s->removes[i].deletion_timestamp >= v.cutoff_ms)
      v.keep[v.nkeep++] = ks_delta_path_decode(s->removes[i].path);
  qsort(v.keep, v.nkeep, sizeof *v.keep, cmp_str);

  r = ks_storage_list(v.ct.st, "", on_listed, &v);
  if (r)
    v.list_status = r;
  else
    uv_run(&v.ct.loop, UV_RUN_DEFAULT);
  int code = KS_EXIT_OK;
  if (v.list_status) {
    fprintf(stderr, "ksink vacuum: %s: listing the table: %s\n", argv[optind],
            ks_strerror(v.list_status));
    code = KS_EXIT_FAILURE;
  } else {
    printf("vacuum: %s %zu files (%" PRIu64 " bytes); kept %zu referenced, "
           "%zu newer than the retention\n",
           dry_run ? "would delete" : "deleted", v.ndel - v.failed, v.bytes,
           v.kept_ref, v.kept_new);
    if (v.failed) {
      fprintf(stderr, "ksink vacuum: %zu deletes failed\n", v.failed);
      code = KS_EXIT_FAILURE;
    }
  }
  for (size_t i = 0; i < v.nkeep; i++)
    ks_free(v.keep[i]);
  ks_free(v.keep);
  for (size_t i = 0; i < v.ndel; i++)
    ks_free(v.del[i]);
  ks_free(v.del);
  ks_free(v.del_size);
  ks_cli_table_close(&v.ct);
  return code;
}
