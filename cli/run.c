#include "base/log.h"
#include "cli/cli.h"
#include "conf/conf.h"
#include "reactor/pipeline.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char run_usage[] =
    "usage: ksink run -c FILE [--log-level LEVEL] [--log-format FORMAT]\n"
    "\n"
    "Runs the pipeline of a config file until SIGTERM or SIGINT, then\n"
    "flushes, commits and exits 0; a second signal exits at once.\n"
    "\n"
    "  -c, --config FILE        the config file (required)\n"
    "  -l, --log-level LEVEL    debug, info, warn or error; overrides "
    "log.level\n"
    "  --log-format FORMAT      json, text or auto (JSON unless stderr is a\n"
    "                           terminal); overrides log.format\n"
    "  -h, --help               this help\n";

int ks_cli_run(int argc, char **argv) {
  const char *file = NULL;
  int level = -1; /* --log-level wins over log.level */
  int format = -1; /* --log-format wins over log.format */
  static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                       {"log-level", required_argument, 0, 'l'},
                                       {"log-format", required_argument, 0, 'f'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      file = optarg;
      break;
    case 'l':
      if (strcmp(optarg, "debug") == 0)
        level = KS_LOG_DEBUG;
      else if (strcmp(optarg, "info") == 0)
        level = KS_LOG_INFO;
      else if (strcmp(optarg, "warn") == 0)
        level = KS_LOG_WARN;
      else if (strcmp(optarg, "error") == 0)
        level = KS_LOG_ERROR;
      else {
        fprintf(stderr,
                "ksink run: --log-level: expected debug, info, warn "
                "or error, got \"%s\"\n",
                optarg);
        return KS_EXIT_USAGE;
      }
      break;
    case 'f':
      if (strcmp(optarg, "auto") == 0)
        format = 0;
      else if (strcmp(optarg, "json") == 0)
        format = 1;
      else if (strcmp(optarg, "text") == 0)
        format = 2;
      else {
        fprintf(stderr,
                "ksink run: --log-format: expected json, text or auto, got "
                "\"%s\"\n",
                optarg);
        return KS_EXIT_USAGE;
      }
      break;
    case 'h':
      fputs(run_usage, stdout);
      return KS_EXIT_OK;
    default:
      fputs(run_usage, stderr);
      return KS_EXIT_USAGE;
    }
  }
  if (file == NULL || optind != argc) {
    fputs(run_usage, stderr);
    return KS_EXIT_USAGE;
  }
  char err[1024];
  ks_conf *conf = NULL;
  int r = ks_conf_load_file(file, &conf, err, sizeof err);
  if (r) {
    fprintf(stderr, "ksink: %s\n", err);
    return KS_EXIT_USAGE;
  }
  ks_log_set_level(level >= 0 ? (enum ks_log_level)level
                              : (enum ks_log_level)conf->log_level);
  /* 0 auto, 1 json, 2 text -> base/log's -1 auto, 1 json, 0 plain */
  int fmt = format >= 0 ? format : conf->log_format;
  ks_log_set_json(fmt == 1 ? 1 : fmt == 2 ? 0 : -1);
  ks_pipeline *p = NULL;
  r = ks_pipeline_new(conf, NULL, &p, err, sizeof err);
  if (r) {
    fprintf(stderr, "ksink: %s\n", err);
    ks_conf_free(conf);
    return ks_cli_exit_code(r);
  }
  ks_log_info("ksink %s running %s (%d workers, %zu tables)", KS_VERSION, file,
              p->nworkers, p->env.ntables);
  ks_http *http;
  int code = ks_cli_serve(p, &http);
  ks_totals t;
  ks_pipeline_totals(p, &t);
  ks_log_info("stopped: consumed %llu, written %llu, rejected %llu, %llu "
              "files, %llu commits",
              (unsigned long long)t.consumed, (unsigned long long)t.written,
              (unsigned long long)t.rejected, (unsigned long long)t.files,
              (unsigned long long)t.commits);
  ks_pipeline_free(p);
  ks_conf_free(conf);
  return code;
}
