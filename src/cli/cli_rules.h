/* SPDX-License-Identifier: MIT */
/* Which command takes which option (cli_rules.c), for cli.c. */
#ifndef PYSCOPE_CLI_RULES_H
#define PYSCOPE_CLI_RULES_H

#include <stddef.h>
#include "cli/cli.h"

/* The first rule cfg breaks: -EINVAL and its message in err; else 0. */
int cli_rules_check(const struct config *cfg, char *err, size_t errlen);
/* What the command implies where nothing was given (cfg passed the rules). */
void cli_rules_defaults(struct config *cfg);

#endif
