/*
 * Runs a pipeline with the operator endpoints beside it: the HTTP server
 * starts first (a busy port fails the run before any consumer joins) and
 * stops after the pipeline has ended. The reactor knows nothing of HTTP;
 * the server reads the pipeline through reactor/pipeline.h.
 */
#include "base/log.h"
#include "cli/cli.h"

#include <string.h>

int ks_cli_serve(ks_pipeline *p, ks_http **http) {
  const char *listen = p->conf->http_listen;
  *http = NULL;
  if (listen && strcmp(listen, "off") != 0) {
    char err[512];
    if (ks_http_start(p, listen, http, err, sizeof err)) {
      ks_log_error("%s", err);
      return KS_EXIT_FAILURE;
    }
    ks_log_info("http: serving /healthz /readyz /metrics /status on %s "
                "(port %d)",
                listen, ks_http_port(*http));
  }
  int code = ks_pipeline_run(p);
  ks_http_stop(*http);
  *http = NULL;
  return code;
}
