/*
 * What `inspect`, `vacuum` and `optimize` share: a table URL opened as its own
 * storage root (S3 settings from -c FILE when given) and its snapshot loaded on
 * a private loop, synchronously.
 */
#include "cli/table_open.h"

#include "base/ks.h"
#include "conf/conf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_loaded(void *arg, int status) {
  ks_cli_table *ct = arg;
  ct->done = 1;
  ct->status = status;
}

int ks_cli_table_open(ks_cli_table *ct, const char *cmd, const char *url,
                      const char *conf_file) {
  memset(ct, 0, sizeof *ct);
  char err[1024];
  if (conf_file) {
    int r = ks_conf_load_file(conf_file, &ct->conf, err, sizeof err);
    if (r) {
      fprintf(stderr, "ksink %s: %s\n", cmd, err);
      return KS_EXIT_USAGE;
    }
  }
  /* A bare path (relative: to the current directory) or s3a:// are
   * spelt the way the storage factory takes them. */
  char *norm = NULL;
  if (strstr(url, "://") == NULL && url[0] != '/' && url[0]) {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) {
      size_t n = strlen(cwd) + strlen(url) + 2;
      char *abs = ks_malloc(n);
      snprintf(abs, n, "%s/%s", cwd, url);
      norm = ks_conf_normalize_url(abs);
      ks_free(abs);
    }
  }
  if (norm == NULL)
    norm = ks_conf_normalize_url(url);
  if (strncmp(norm, "file:///", 8) != 0 && strncmp(norm, "s3://", 5) != 0) {
    fprintf(stderr,
            "ksink %s: %s: expected a path, file:///path/to/table or "
            "s3://bucket/prefix/table (s3a:// too)\n",
            cmd, url);
    ks_free(norm);
    ks_conf_free(ct->conf);
    ct->conf = NULL;
    return KS_EXIT_USAGE;
  }
  uv_loop_init(&ct->loop);
  ct->loop_open = 1;
  int r =
      ks_storage_open(&ct->loop, norm, ct->conf ? &ct->conf->s3 : NULL, &ct->st);
  ks_free(norm);
  if (r) {
    fprintf(stderr, "ksink %s: storage %s: %s\n", cmd, url, ks_strerror(r));
    ks_cli_table_close(ct);
    return r == KS_EUNSUPPORTED || r == KS_EINVAL ? KS_EXIT_USAGE
                                                  : KS_EXIT_FAILURE;
  }
  ct->t = ks_delta_table_new(ct->st, "");
  r = ks_delta_table_load(ct->t, on_loaded, ct);
  if (r == 0) {
    uv_run(&ct->loop, UV_RUN_DEFAULT);
    r = ct->done ? ct->status : KS_EIO;
  }
  if (r) {
    const char *e = ks_delta_table_error(ct->t);
    fprintf(stderr, "ksink %s: %s: reading the Delta log: %s\n", cmd, url,
            e && *e ? e : ks_strerror(r));
    ks_cli_table_close(ct);
    return KS_EXIT_FAILURE;
  }
  if (ks_delta_table_snapshot(ct->t)->version < 0) {
    fprintf(stderr,
            "ksink %s: %s: no Delta table there (no _delta_log "
            "entries)\n",
            cmd, url);
    ks_cli_table_close(ct);
    return KS_EXIT_FAILURE;
  }
  return 0;
}

void ks_cli_table_close(ks_cli_table *ct) {
  ks_delta_table_free(ct->t);
  ct->t = NULL;
  if (ct->st)
    ks_storage_close(ct->st);
  ct->st = NULL;
  if (ct->loop_open) {
    uv_run(&ct->loop, UV_RUN_DEFAULT);
    uv_loop_close(&ct->loop);
    ct->loop_open = 0;
  }
  ks_conf_free(ct->conf);
  ct->conf = NULL;
}
