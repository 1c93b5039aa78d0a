#include "base/ks.h"
#include "base/version.h"
#include "cli/cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: ksink <command> [options]\n"
    "\n"
    "commands:\n"
    "  run -c FILE                 run the pipeline of a config file until "
    "SIGTERM/SIGINT\n"
    "  demo [--events N] [--dir DIR]\n"
    "                              in-process mock Kafka + event generator "
    "into DIR/lake/user_events\n"
    "  check -c FILE [--timeout DURATION]\n"
    "                              dry run: config, schemas, Kafka topics, "
    "storage probe, registry\n"
    "  convert-connect FILE        a Kafka Connect S3 sink config (JSON or "
    ".properties) as ksink YAML\n"
    "  validate --schema FILE [FILE.jsonl | -]\n"
    "                              check JSON lines against a JSON Schema "
    "(draft-07)\n"
    "  inspect URL [--json] [-c FILE]\n"
    "                              a Delta table's version, schema, files, "
    "rows and txns\n"
    "  optimize URL [--target-size 256MiB] [--where COL=VALUE]... "
    "[--min-files N]\n"
    "           [--dry-run] [-c FILE]\n"
    "                              bin-pack small files into files of up to "
    "the target size\n"
    "  vacuum URL --retain DURATION [--dry-run] [--now-ms MS] [-c FILE]\n"
    "                              delete unreferenced data files older than "
    "DURATION\n"
    "\n"
    "options:\n"
    "  -h, --help                  this help\n"
    "  -V, --version               the version, git commit, build type and "
    "library\n"
    "                              versions\n"
    "\n"
    "Each command takes --help. A URL is a path, file:///path, "
    "s3://bucket/prefix\n"
    "or s3a://bucket/prefix; man ksink describes every command and config "
    "key.\n"
    "\n"
    "exit codes: 0 success, 1 runtime failure, 2 bad usage, config or "
    "schema\n";

int main(int argc, char **argv) {
  /* A reader of the log pipe (or of stdout) that goes away must fail
   * writes with EPIPE, not kill the process mid-commit. */
  signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    fputs(usage, stderr);
    return KS_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "help") == 0) {
    fputs(usage, stdout);
    return KS_EXIT_OK;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0 ||
      strcmp(cmd, "version") == 0) {
    char libs[512];
    ks_version_libraries(libs, sizeof libs);
    printf("ksink %s (%s)\nbuild: %s\nlibraries: %s\n", ks_version(),
           ks_git_commit(), ks_build_type(), libs);
    return KS_EXIT_OK;
  }
  if (strcmp(cmd, "run") == 0)
    return ks_cli_run(argc - 1, argv + 1);
  if (strcmp(cmd, "demo") == 0)
    return ks_cli_demo(argc - 1, argv + 1);
  if (strcmp(cmd, "validate") == 0)
    return ks_cli_validate(argc - 1, argv + 1);
  if (strcmp(cmd, "inspect") == 0)
    return ks_cli_inspect(argc - 1, argv + 1);
  if (strcmp(cmd, "optimize") == 0)
    return ks_cli_optimize(argc - 1, argv + 1);
  if (strcmp(cmd, "vacuum") == 0)
    return ks_cli_vacuum(argc - 1, argv + 1);
  if (strcmp(cmd, "check") == 0)
    return ks_cli_check(argc - 1, argv + 1);
  if (strcmp(cmd, "convert-connect") == 0)
    return ks_cli_convert_connect(argc - 1, argv + 1);
  fprintf(stderr, "ksink: unknown command \"%s\"\n\n%s", cmd, usage);
  return KS_EXIT_USAGE;
}
