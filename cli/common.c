/* What the subcommands share: kept apart from main.c, which calls every
 * subcommand, so that no subcommand calls back into main.c. */
#include "base/ks.h"
#include "cli/cli.h"

int ks_cli_exit_code(int err) {
  if (err == 0)
    return KS_EXIT_OK;
  if (err == KS_ECONFIG || err == KS_ESCHEMA || err == KS_EINVAL)
    return KS_EXIT_USAGE;
  return KS_EXIT_FAILURE;
}
