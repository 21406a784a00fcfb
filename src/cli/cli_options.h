/* SPDX-License-Identifier: MIT */
/* The options of the command line (cli_options.c), for cli.c. */
#ifndef PYSCOPE_CLI_OPTIONS_H
#define PYSCOPE_CLI_OPTIONS_H

#include <stddef.h>
#include "cli/cli.h"

/*
 * getopt_long over argv from optind, up to "--" or the first non-option,
 * into cfg.  0; 1 for -h (cfg->cmd is CMD_HELP, nothing else counts then);
 * -EINVAL with err set, or empty when getopt printed the error.
 */
int cli_options_parse(int argc, char **argv, struct config *cfg, char *err, size_t errlen);

#endif
