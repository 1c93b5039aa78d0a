/*
 * The ksink command line (CLI.md is the contract): subcommands, each in
 * its own file, returning the process exit code (0 ok, 1 runtime failure,
 * 2 bad usage, config or schema).
 */
#ifndef KS_CLI_CLI_H
#define KS_CLI_CLI_H

#include "http/server.h"
#include "reactor/pipeline.h"

#define KS_EXIT_OK 0
#define KS_EXIT_FAILURE 1
#define KS_EXIT_USAGE 2

int ks_cli_run(int argc, char **argv);
int ks_cli_demo(int argc, char **argv);
int ks_cli_validate(int argc, char **argv);
int ks_cli_inspect(int argc, char **argv);
int ks_cli_vacuum(int argc, char **argv);
int ks_cli_optimize(int argc, char **argv);
int ks_cli_check(int argc, char **argv);
int ks_cli_convert_connect(int argc, char **argv);
/* Runs p with the operator endpoints (http.listen) beside it; *http is
 * the server while p runs (NULL: none). Returns the exit code. */
int ks_cli_serve(ks_pipeline *p, ks_http **http);
/* Maps a pipeline start-up error to an exit code. */
int ks_cli_exit_code(int err);

#endif
