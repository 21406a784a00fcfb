// SPDX-License-Identifier: MIT
/* argv -> struct config: the command word, the options, the operands, the rules. */
#include "cli/cli.h"
#include "cli/cli_options.h"
#include "cli/cli_rules.h"
#include "util/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage_commands[] =
	"Usage: pyscope COMMAND [OPTIONS] (-p PID | -- CMD [ARGS...] | --match COMM)\n"
	"       pyscope report TRACEFILE [OPTIONS]\n"
	"\n"
	"Exact call counts and latency for Python functions and class constructions,\n"
	"traced from outside the process with eBPF (CPython 3.8-3.13).\n"
	"\n"
	"Commands:\n"
	"  trace    count and time the calls that match the patterns\n"
	"  info     describe the target's interpreter and the mechanisms that work on it;\n"
	"           with -e/-f, where each pattern's code is now\n"
	"  check    exit 1 if a pattern marked \"forbid\" is hit or a rule of the pattern\n"
	"           file is violated (event order per run, one user per object),\n"
	"           0 if not (a CI or production gate), with the evidence of each\n"
	"           (see docs/golden-path.md)\n"
	"  record   trace into a trace file (-o FILE): every event the kernel sends,\n"
	"           statistics every second; survives a crash or a full disk\n"
	"  report   print a trace FILE as trace would have printed it live\n"
	"           (pyscope report FILE [--format F] [--paths] [--migration] [-o OUT])\n"
	"  profile  where the time inside each pattern's calls goes: CPU samples\n"
	"           (-F HZ, default 99) and, with --off-cpu, waits\n"
	"  serve    keep tracing and serve the counts and latency histograms on\n"
	"           http://HOST:PORT/metrics for Prometheus; follows processes that\n"
	"           come and go (-p, repeatable, or --match COMM)\n"
	"  help     this text\n"
	"  version  print the version\n"
	"\n";

static const char usage_options[] =
	"Options:\n"
	"  -p, --pid PID          trace a running process (trace: repeat -p for several,\n"
	"                         each reported on its own, then in total; serve:\n"
	"                         repeatable)\n"
	"      --follow-forks     (trace) also trace the processes the targets start\n"
	"                         (fork, multiprocessing), each from when it is attached\n"
	"  -e, --expr NAME=SPEC   a pattern: [func:]module:Qual.name or class:module:Class\n"
	"                         (repeatable; NAME= may be left out)\n"
	"  -f, --file FILE        patterns from a JSON file (see docs/patterns.md)\n"
	"  -d, --duration TIME    stop after TIME (10, 10s, 500ms, 2m)\n"
	"  -i, --interval TIME    print a live table every TIME (serve: how often\n"
	"                         --match looks for new processes, default 1s)\n"
	"      --listen ADDR      (serve) HOST:PORT to serve on, numeric host\n"
	"                         (default 127.0.0.1:9464, loopback only)\n"
	"      --match COMM       (serve) trace every process whose command name or\n"
	"                         executable's base name is COMM, as they start\n"
	"      --format FMT       text (default), json, ndjson (one object per line, per\n"
	"                         -i interval and at the end), folded, speedscope\n"
	"      --via MECH         auto (default), eval, resume or breakpoint\n"
	"      --count-only       do not time calls; lets auto use hardware breakpoints,\n"
	"                         which cost nothing until a target runs\n"
	"      --fail-fast        (check) exit at the first forbidden hit or violation\n"
	"  -F, --freq HZ          (profile) samples per second per CPU (default 99)\n"
	"      --all              (profile) keep samples outside the patterns' calls too\n"
	"      --off-cpu          (profile) attribute waits (blocked time) as well\n"
	"      --sampled          (profile) no probe at calls: each sample finds the pattern\n"
	"                         call it is in from the stack (near-zero overhead; calls\n"
	"                         are then not counted or timed)\n"
	"      --no-args          do not read call arguments (no signatures)\n"
	"      --paths            capture call paths; call sites, paths and signatures\n"
	"                         for every pattern (text), not only legacy/forbidden\n"
	"      --depth N          frames per call path (default 64 with --paths)\n"
	"      --capture NAME     break counts down by the value of argument NAME\n"
	"                         (str or int; repeatable, at most 4 names)\n"
	"      --weight W         folded/speedscope weight: count (default) or latency\n"
	"      --migration        for legacy/forbidden patterns: live call sites, counts,\n"
	"                         first and last seen, an example path each\n"
	"      --top N            rows per call-site or signature table (default 10)\n"
	"  -o, --output FILE      write the final report to FILE (created 0600; never\n"
	"                         through a symbolic link); record: the trace file\n"
	"      --record FILE      (trace) also record the run into trace file FILE\n"
	"      --force            let -o overwrite FILE if it exists (a regular file\n"
	"                         of yours with no other links)\n"
	"  -v, --verbose          more detail, twice for libbpf's own messages\n"
	"  -h, --help             this text\n"
	"\n";

static const char usage_end[] =
	"Exit status: 0 on success, 2 on error; with -- CMD, the command's status.\n"
	"check: 0 pass, 1 fail, 2 error, 3 no violation but rule calls lost or unkeyed.\n"
	"\n"
	"Examples:\n"
	"  pyscope info -p 1234\n"
	"  pyscope trace -p 1234 -e legacy=class:app.engine:UserExecutionEngine -d 30s\n"
	"  pyscope trace -f patterns.json -i 5s -- python3 app.py --requests 1000\n"
	"  pyscope trace --format json -e 'app.engine:Engine.run' -- python3 app.py\n"
	"  pyscope record -o run.pstrace -f patterns.json -d 60s -p 1234\n"
	"  pyscope report run.pstrace --format json --paths\n"
	"  pyscope check -p 1234 -f forbidden.json -d 1h --fail-fast\n"
	"  pyscope check -f tests/apps/chatdemo/rules.json -- python3 -m chatdemo\n"
	"  pyscope profile -p 1234 --off-cpu -e legacy=class:app.engine:Engine -d 30s\n"
	"  pyscope serve --listen 127.0.0.1:9464 --match python3 -f patterns.json\n";

void cli_usage(FILE *out)
{
	fputs(usage_commands, out);
	fputs(usage_options, out);
	fputs(usage_end, out);
}

static int parse_cmd(const char *s, enum ps_cmd *cmd)
{
	static const struct { const char *name; enum ps_cmd cmd; } cmds[] = {
		{ "trace", CMD_TRACE }, { "info", CMD_INFO }, { "check", CMD_CHECK },
		{ "profile", CMD_PROFILE }, { "serve", CMD_SERVE },
		{ "record", CMD_RECORD }, { "report", CMD_REPORT },
		{ "help", CMD_HELP }, { "version", CMD_VERSION },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(s, cmds[i].name)) {
			*cmd = cmds[i].cmd;
			return 0;
		}
	}
	return -EINVAL;
}

/* What is left after the options: report's FILE, or the command after "--". */
static int parse_operands(int argc, char **argv, struct config *cfg, char *err, size_t errlen)
{
	bool dashes = optind > 0 && !strcmp(argv[optind - 1], "--");

	if (optind < argc && cfg->cmd == CMD_REPORT && !cfg->input && !dashes) {
		cfg->input = argv[optind++];
		if (optind < argc) {
			set_err(err, errlen, "unexpected argument '%s' (options go before or after "
				"FILE)", argv[optind]);
			return -EINVAL;
		}
	}
	if (optind == argc)
		return 0;
	/* getopt stopped at "--" or at the first non-option */
	if (!dashes) {
		set_err(err, errlen, "unexpected argument '%s' (put the command after --)",
			argv[optind]);
		return -EINVAL;
	}
	cfg->argv = &argv[optind];
	cfg->argc = argc - optind;
	return 0;
}

/* The command word, or help and version asked for as options. */
static int parse_command(int argc, char **argv, struct config *cfg, char *err, size_t errlen)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cfg->cmd = CMD_HELP;
		return 1;
	}
	if (!strcmp(argv[1], "--version")) {
		cfg->cmd = CMD_VERSION;
		return 1;
	}
	if (parse_cmd(argv[1], &cfg->cmd)) {
		set_err(err, errlen, "unknown command '%s' (try 'pyscope help')", argv[1]);
		return -EINVAL;
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct config *cfg, char *err, size_t errlen)
{
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->top = 10;
	set_err(err, errlen, "%s", "");
	ret = parse_command(argc, argv, cfg, err, errlen);
	if (ret)
		return ret < 0 ? ret : 0;
	optind = 2;
	/* pyscope report FILE [OPTIONS] */
	if (cfg->cmd == CMD_REPORT && argc > 2 && argv[2][0] != '-') {
		cfg->input = argv[2];
		optind = 3;
	}
	ret = cli_options_parse(argc, argv, cfg, err, errlen);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = parse_operands(argc, argv, cfg, err, errlen);
	if (!ret)
		ret = cli_rules_check(cfg, err, errlen);
	if (!ret)
		cli_rules_defaults(cfg);
	return ret;
}
