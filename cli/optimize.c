/*
 * ksink optimize URL [--target-size 256MiB] [--where COL=VALUE]...
 *                    [--min-files N] [--dry-run] [-c FILE]
 *
 * Bin-packs the table's small files (storage/delta/optimize.h): per
 * partition, files under the target size are concatenated into files of up
 * to the target, in one commit that removes the old ones (dataChange
 * false). Safe while a writer is committing to the same table.
 *
 * stdout: one line per bin, "optimized <n> files (<bytes> bytes) -> <path>
 * (<bytes> bytes)" ("would optimize ..." with --dry-run), a line for each
 * file left out or bin given up, then "optimize: ..." with the version and
 * counts. Exit 0 (also with nothing to do, or when a concurrent commit made
 * every bin moot), 1 on a storage or log failure, 2 on bad usage.
 */
#include "storage/delta/optimize.h"
#include "base/ks.h"
#include "cli/cli.h"
#include "cli/table_open.h"
#include "conf/conf.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ksink optimize URL [--target-size 256MiB] [--where COL=VALUE]... "
    "[--min-files N] [--dry-run] [-c FILE]\n"
    "\n"
    "Bin-packs a Delta table's small files into files of up to the target\n"
    "size; the rows are unchanged.\n"
    "\n"
    "  URL                 the table: a path, file:///path, s3://bucket/prefix\n"
    "                      (s3a:// too)\n"
    "  -c, --config FILE   S3 settings (storage.s3) for an s3:// URL\n"
    "  --target-size SIZE  largest file to write (default 256MiB)\n"
    "  --where COL=VALUE   only partitions with this value (repeatable)\n"
    "  --min-files N       leave partitions with fewer small files alone\n"
    "                      (default 2)\n"
    "  --dry-run           say what would be rewritten, write nothing\n"
    "  -h, --help          this help\n";

typedef struct opt_run {
  int done, status;
  ks_delta_optimize_result res;
} opt_run;

static void on_report(void *arg, ks_delta_optimize_event ev,
                      const ks_delta_bin *b, const char *path,
                      const char *msg) {
  (void)arg;
  switch (ev) {
  case KS_OPT_BIN_PLANNED: {
    const char *p = b->inputs[0].path, *slash = strrchr(p, '/');
    int dir = slash ? (int)(slash - p) : 0;
    printf("would optimize %zu files (%" PRId64 " bytes) in %s%.*s\n",
           b->ninputs, b->bytes, slash ? "" : "the table root", dir, p);
    break;
  }
  case KS_OPT_BIN_WRITTEN:
    printf("optimized %zu files (%" PRId64 " bytes) -> %s (%" PRId64
           " bytes)\n",
           b->ninputs, b->bytes, path, b->out.size);
    break;
  case KS_OPT_INPUT_SKIPPED:
    printf("skipped %s: %s\n", path, msg);
    break;
  case KS_OPT_BIN_ABANDONED:
    printf("abandoned %zu files (%" PRId64 " bytes)%s%s: %s\n", b->ninputs,
           b->bytes, path ? " -> " : "", path ? path : "", msg);
    break;
  }
  fflush(stdout);
}

static void on_done(void *arg, int status, const ks_delta_optimize_result *r) {
  opt_run *run = arg;
  run->done = 1;
  run->status = status;
  run->res = *r;
}

/* --where COL=VALUE against the table's partition columns. */
static int parse_where(const ks_delta_snapshot *s, char **where, size_t n,
                       const char **names, const char **values) {
  const ks_delta_metadata *m = &s->metadata;
  for (size_t i = 0; i < n; i++) {
    char *eq = strchr(where[i], '=');
    if (eq == NULL || eq == where[i]) {
      fprintf(stderr,
              "ksink optimize: --where %s: expected COL=VALUE (a partition "
              "column and its value)\n",
              where[i]);
      return KS_EXIT_USAGE;
    }
    *eq = '\0';
    names[i] = where[i];
    values[i] = eq + 1;
    int known = 0;
    for (size_t k = 0; k < m->npartition_columns && !known; k++)
      known = strcmp(m->partition_columns[k], names[i]) == 0;
    if (!known) {
      fprintf(stderr,
              "ksink optimize: --where %s=%s: %s is not a partition "
              "column of the table (",
              names[i], values[i], names[i]);
      if (m->npartition_columns == 0)
        fputs("it has none", stderr);
      for (size_t k = 0; k < m->npartition_columns; k++)
        fprintf(stderr, "%s%s",
                k ? ", " : "partition columns: ", m->partition_columns[k]);
      fputs(")\n", stderr);
      return KS_EXIT_USAGE;
    }
  }
  return 0;
}

int ks_cli_optimize(int argc, char **argv) {
  const char *conf = NULL, *target = "256MiB", *min_files = NULL;
  int dry_run = 0;
  char **where = ks_calloc((size_t)argc + 1, sizeof *where);
  size_t nwhere = 0;
  static const struct option opts[] = {
      {"target-size", required_argument, 0, 't'},
      {"where", required_argument, 0, 'w'},
      {"min-files", required_argument, 0, 'm'},
      {"dry-run", no_argument, 0, 'n'},
      {"config", required_argument, 0, 'c'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int c, code = KS_EXIT_OK;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      target = optarg;
      break;
    case 'w':
      where[nwhere++] = ks_strdup(optarg);
      break;
    case 'm':
      min_files = optarg;
      break;
    case 'n':
      dry_run = 1;
      break;
    case 'c':
      conf = optarg;
      break;
    case 'h':
      fputs(usage, stdout);
      goto out;
    default:
      code = KS_EXIT_USAGE;
      fputs(usage, stderr);
      goto out;
    }
  }
  ks_delta_optimize_opts o;
  memset(&o, 0, sizeof o);
  o.dry_run = dry_run;
  o.engine_info = "ksink/" KS_VERSION;
  if (optind != argc - 1) {
    fputs(usage, stderr);
    code = KS_EXIT_USAGE;
    goto out;
  }
  if (ks_conf_parse_size(target, &o.target_size) || o.target_size <= 0) {
    fprintf(stderr,
            "ksink optimize: --target-size: expected a size like \"256MiB\" "
            "or \"1GiB\", got \"%s\"\n",
            target);
    code = KS_EXIT_USAGE;
    goto out;
  }
  if (min_files) {
    char *end;
    long long v = strtoll(min_files, &end, 10);
    if (*min_files == '\0' || *end || v < 2) {
      fprintf(stderr,
              "ksink optimize: --min-files: expected an integer of at least "
              "2, got \"%s\"\n",
              min_files);
      code = KS_EXIT_USAGE;
      goto out;
    }
    o.min_files = (size_t)v;
  }

  ks_cli_table ct;
  if ((code = ks_cli_table_open(&ct, "optimize", argv[optind], conf)))
    goto out;
  const ks_delta_snapshot *s = ks_delta_table_snapshot(ct.t);
  const char **names = ks_calloc(nwhere + 1, sizeof *names);
  const char **values = ks_calloc(nwhere + 1, sizeof *values);
  code = parse_where(s, where, nwhere, names, values);
  o.where_names = names;
  o.where_values = values;
  o.nwhere = nwhere;
  if (ct.conf) {
    o.ostream.part_size = (size_t)ct.conf->s3.part_size;
    o.ostream.max_in_flight = ct.conf->s3.max_parts_in_flight;
  }
  int64_t v0 = s->version;
  opt_run run;
  memset(&run, 0, sizeof run);
  if (code == 0) {
    int rc = ks_delta_optimize_start(ct.t, &o, on_report, on_done, &run, NULL);
    if (rc == 0)
      uv_run(&ct.loop, UV_RUN_DEFAULT);
    else
      run.status = rc;
    if (rc == 0 && !run.done)
      run.status = KS_EIO;
  }
  const ks_delta_optimize_result *r = &run.res;
  if (code) {
    /* bad --where: reported */
  } else if (run.status) {
    const char *e = ks_delta_table_error(ct.t);
    fprintf(stderr, "ksink optimize: %s: %s\n", argv[optind],
            e && *e ? e : ks_strerror(run.status));
    code = KS_EXIT_FAILURE;
  } else if (r->version >= 0) {
    double mb = (double)r->removed_bytes / 1e6;
    printf("optimize: version %" PRId64 ": removed %zu files, added %zu files "
           "(%" PRId64 " -> %" PRId64 " bytes, %" PRId64
           " rows, planned at version %" PRId64 ", %.1f s, %.1f MB/s)%s\n",
           r->version, r->removed, r->added, r->removed_bytes, r->added_bytes,
           r->rows, r->planned, r->seconds,
           r->seconds > 0 ? mb / r->seconds : 0.0,
           r->abandoned ? "; some bins abandoned, see above" : "");
  } else if (dry_run) {
    printf("optimize: dry run at version %" PRId64 ": nothing written\n", v0);
  } else if (r->abandoned) {
    printf("optimize: nothing committed (version %" PRId64
           "): every bin was abandoned, see above\n",
           ks_delta_table_snapshot(ct.t)->version);
  } else {
    printf("optimize: nothing to do at version %" PRId64
           ": no partition has %zu or more files under %s\n",
           v0, o.min_files >= 2 ? o.min_files : 2, target);
  }
  ks_free(names);
  ks_free(values);
  ks_cli_table_close(&ct);
out:
  for (size_t i = 0; i < nwhere; i++)
    ks_free(where[i]);
  ks_free(where);
  return code;
}
