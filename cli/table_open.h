/*
 * Opening a Delta table for the table tools (inspect, vacuum, optimize):
 * storage on a private loop, snapshot loaded. Messages go to stderr.
 */
#ifndef KS_CLI_TABLE_OPEN_H
#define KS_CLI_TABLE_OPEN_H

#include "cli/cli.h"
#include "storage/delta/delta.h"

#include <uv.h>

typedef struct ks_conf ks_conf;

typedef struct ks_cli_table {
  uv_loop_t loop;
  int loop_open;
  ks_conf *conf;
  ks_storage *st;
  ks_delta_table *t;
  int done, status;
} ks_cli_table;

/* 0, or the exit code to return (the message is printed). */
int ks_cli_table_open(ks_cli_table *ct, const char *cmd, const char *url,
                      const char *conf_file);
void ks_cli_table_close(ks_cli_table *ct);

#endif
