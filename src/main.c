// SPDX-License-Identifier: MIT
#include "cli/cli.h"
#include "cmd/cmds.h"
#include "util/util.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	struct config cfg;
	char err[2048];

	if (cli_parse(argc, argv, &cfg, err, sizeof(err))) {
		if (err[0])
			warn("%s", err);
		return 2;
	}
	switch (cfg.cmd) {
	case CMD_INFO:
		return cmd_info(&cfg);
	case CMD_TRACE:
	case CMD_RECORD:
		return cmd_trace(&cfg);
	case CMD_REPORT:
		return cmd_report(&cfg);
	case CMD_CHECK:
		return cmd_check(&cfg);
	case CMD_PROFILE:
		return cmd_profile(&cfg);
	case CMD_SERVE:
		return cmd_serve(&cfg);
	case CMD_VERSION:
		printf("pyscope " PYSCOPE_VERSION "\n");
		return 0;
	case CMD_HELP:
	default:
		cli_usage(stdout);
		return 0;
	}
}
