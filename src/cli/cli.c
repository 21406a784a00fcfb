// SPDX-License-Identifier: MIT
#include "cli/cli.h"
#include "pyscope.h"
#include "util/util.h"

#include <errno.h>
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void cli_usage(FILE *out)
{
	fputs("Usage: pyscope COMMAND [OPTIONS] (-p PID | -- CMD [ARGS...] | --match COMM)\n"
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
	      "\n"
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
	      "\n"
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
	      "  pyscope serve --listen 127.0.0.1:9464 --match python3 -f patterns.json\n",
	      out);
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

static int parse_pid(const char *s, int *pid)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !end || *end || v <= 0 || v > 0x3fffffff)
		return -EINVAL;
	*pid = (int)v;
	return 0;
}

int cli_parse(int argc, char **argv, struct config *cfg)
{
	enum { OPT_FORMAT = 256, OPT_VIA, OPT_NO_ARGS, OPT_PATHS, OPT_TOP, OPT_COUNT_ONLY,
	       OPT_FAIL_FAST, OPT_DEPTH, OPT_CAPTURE, OPT_WEIGHT, OPT_MIGRATION, OPT_ALL,
	       OPT_OFF_CPU, OPT_FORCE, OPT_SAMPLED, OPT_LISTEN, OPT_MATCH, OPT_RECORD,
	       OPT_FOLLOW_FORKS };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "expr", required_argument, NULL, 'e' },
		{ "file", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "via", required_argument, NULL, OPT_VIA },
		{ "no-args", no_argument, NULL, OPT_NO_ARGS },
		{ "paths", no_argument, NULL, OPT_PATHS },
		{ "count-only", no_argument, NULL, OPT_COUNT_ONLY },
		{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "capture", required_argument, NULL, OPT_CAPTURE },
		{ "weight", required_argument, NULL, OPT_WEIGHT },
		{ "migration", no_argument, NULL, OPT_MIGRATION },
		{ "freq", required_argument, NULL, 'F' },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "sampled", no_argument, NULL, OPT_SAMPLED },
		{ "off-cpu", no_argument, NULL, OPT_OFF_CPU },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "match", required_argument, NULL, OPT_MATCH },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "follow-forks", no_argument, NULL, OPT_FOLLOW_FORKS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->top = 10;
	if (argc < 2) {
		cfg->cmd = CMD_HELP;
		return 0;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cfg->cmd = CMD_HELP;
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		cfg->cmd = CMD_VERSION;
		return 0;
	}
	if (parse_cmd(argv[1], &cfg->cmd)) {
		warn("unknown command '%s' (try 'pyscope help')", argv[1]);
		return -EINVAL;
	}
	optind = 2;
	/* pyscope report FILE [OPTIONS] */
	if (cfg->cmd == CMD_REPORT && argc > 2 && argv[2][0] != '-') {
		cfg->input = argv[2];
		optind = 3;
	}
	while ((c = getopt_long(argc, argv, "+p:e:f:d:i:o:F:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pid(optarg, &cfg->pid)) {
				warn("invalid pid '%s'", optarg);
				return -EINVAL;
			}
			for (i = 0; i < cfg->npids; i++) {
				if (cfg->pids[i] == cfg->pid) {
					warn("pid %d is given twice", cfg->pid);
					return -EINVAL;
				}
			}
			if (cfg->npids == PS_MAX_PIDS) {
				warn("too many -p (at most %d)", PS_MAX_PIDS);
				return -EINVAL;
			}
			cfg->pids[cfg->npids++] = cfg->pid;
			cfg->pid = cfg->pids[0];
			break;
		case 'e':
			if (cfg->nexprs >= PS_MAX_EXPRS) {
				warn("too many -e patterns (at most %d)", PS_MAX_EXPRS);
				return -EINVAL;
			}
			cfg->exprs[cfg->nexprs++] = optarg;
			break;
		case 'f':
			cfg->pattern_file = optarg;
			break;
		case 'd':
			if (parse_duration_ms(optarg, &cfg->duration_ms) || !cfg->duration_ms) {
				warn("invalid duration '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'i':
			if (parse_duration_ms(optarg, &cfg->interval_ms) || cfg->interval_ms < 100) {
				warn("invalid interval '%s' (at least 100ms)", optarg);
				return -EINVAL;
			}
			break;
		case 'o':
			cfg->output = optarg;
			break;
		case OPT_FORMAT:
			if (!strcmp(optarg, "text")) {
				cfg->format = FMT_TEXT;
			} else if (!strcmp(optarg, "json")) {
				cfg->format = FMT_JSON;
			} else if (!strcmp(optarg, "ndjson")) {
				cfg->format = FMT_NDJSON;
			} else if (!strcmp(optarg, "folded")) {
				cfg->format = FMT_FOLDED;
			} else if (!strcmp(optarg, "speedscope")) {
				cfg->format = FMT_SPEEDSCOPE;
			} else {
				warn("unknown format '%s' (text, json, ndjson, folded, speedscope)",
				     optarg);
				return -EINVAL;
			}
			break;
		case OPT_VIA:
			if (!strcmp(optarg, "auto")) {
				cfg->via = VIA_AUTO;
			} else if (!strcmp(optarg, "eval")) {
				cfg->via = VIA_EVAL;
			} else if (!strcmp(optarg, "resume")) {
				cfg->via = VIA_RESUME;
			} else if (!strcmp(optarg, "breakpoint")) {
				cfg->via = VIA_BREAKPOINT;
			} else {
				warn("unknown mechanism '%s' (auto, eval, resume, breakpoint)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_NO_ARGS:
			cfg->no_args = true;
			break;
		case OPT_PATHS:
			cfg->paths = true;
			break;
		case OPT_COUNT_ONLY:
			cfg->count_only = true;
			break;
		case OPT_FAIL_FAST:
			cfg->fail_fast = true;
			break;
		case OPT_DEPTH: {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);

			if (!end || *end || v < 1 || v > PS_MAX_DEPTH) {
				warn("invalid --depth '%s' (1..%d)", optarg, PS_MAX_DEPTH);
				return -EINVAL;
			}
			cfg->depth = (unsigned)v;
			break;
		}
		case OPT_CAPTURE: {
			const char *q = optarg;

			if (cfg->ncapture == PS_MAX_CAPTURE) {
				warn("at most %d --capture names", PS_MAX_CAPTURE);
				return -EINVAL;
			}
			for (; *q; q++)
				if (!(isalnum((unsigned char)*q) || *q == '_'))
					break;
			if (*q || !optarg[0] || strlen(optarg) >= PS_QUAL_LEN ||
			    isdigit((unsigned char)optarg[0])) {
				warn("invalid --capture '%s': a parameter name", optarg);
				return -EINVAL;
			}
			cfg->capture[cfg->ncapture++] = optarg;
			break;
		}
		case OPT_WEIGHT:
			if (!strcmp(optarg, "count")) {
				cfg->weight_latency = false;
			} else if (!strcmp(optarg, "latency")) {
				cfg->weight_latency = true;
			} else {
				warn("unknown --weight '%s' (count or latency)", optarg);
				return -EINVAL;
			}
			break;
		case OPT_MIGRATION:
			cfg->migration = true;
			break;
		case 'F': {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);

			if (!end || *end || v < 1 || v > 10000) {
				warn("invalid -F '%s' (1..10000 Hz)", optarg);
				return -EINVAL;
			}
			cfg->hz = (unsigned)v;
			break;
		}
		case OPT_ALL:
			cfg->prof_all = true;
			break;
		case OPT_OFF_CPU:
			cfg->off_cpu = true;
			break;
		case OPT_SAMPLED:
			cfg->prof_sampled = true;
			break;
		case OPT_FORCE:
			cfg->force = true;
			break;
		case OPT_LISTEN:
			cfg->listen = optarg;
			break;
		case OPT_MATCH:
			/* a command name is at most 15 bytes, an executable's name 255 */
			if (!optarg[0] || strlen(optarg) > 255 || strchr(optarg, '/')) {
				warn("invalid --match '%s': a command or executable name", optarg);
				return -EINVAL;
			}
			cfg->match = optarg;
			break;
		case OPT_RECORD:
			cfg->record = optarg;
			break;
		case OPT_FOLLOW_FORKS:
			cfg->follow_forks = true;
			break;
		case OPT_TOP: {
			char *end = NULL;
			long v = strtol(optarg, &end, 10);

			if (!end || *end || v < 1 || v > 100000) {
				warn("invalid --top '%s'", optarg);
				return -EINVAL;
			}
			cfg->top = (int)v;
			break;
		}
		case 'v':
			cfg->verbose++;
			break;
		case 'h':
			cfg->cmd = CMD_HELP;
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc && cfg->cmd == CMD_REPORT && !cfg->input &&
	    strcmp(argv[optind - 1], "--")) {
		cfg->input = argv[optind++];
		if (optind < argc) {
			warn("unexpected argument '%s' (options go before or after FILE)", argv[optind]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		/* getopt stopped at "--" or at the first non-option */
		if (optind > 0 && !strcmp(argv[optind - 1], "--")) {
			cfg->argv = &argv[optind];
			cfg->argc = argc - optind;
		} else {
			warn("unexpected argument '%s' (put the command after --)", argv[optind]);
			return -EINVAL;
		}
	}
	if ((cfg->listen || cfg->match) && cfg->cmd != CMD_SERVE) {
		warn("--listen and --match are for pyscope serve");
		return -EINVAL;
	}
	if (cfg->cmd == CMD_SERVE) {
		if (cfg->argv || (!cfg->npids && !cfg->match)) {
			warn("serve: give -p PID (repeatable) or --match COMM");
			return -EINVAL;
		}
		if (cfg->duration_ms || cfg->output || cfg->format != FMT_TEXT) {
			warn("serve: -d, -o and --format do not apply (it serves until a signal)");
			return -EINVAL;
		}
		if (!cfg->listen)
			cfg->listen = "127.0.0.1:9464";
		if (!cfg->interval_ms)
			cfg->interval_ms = 1000;
	}
	if (cfg->cmd == CMD_PROFILE && !cfg->hz)
		cfg->hz = 99;
	if (cfg->cmd == CMD_REPORT) {
		if (!cfg->input) {
			warn("report: give the trace FILE to read");
			return -EINVAL;
		}
		if (cfg->pid || cfg->argv || cfg->nexprs || cfg->pattern_file || cfg->record) {
			warn("report: reads a trace file; -p, -e, -f, --record and a command do not apply");
			return -EINVAL;
		}
		return 0;
	}
	if (cfg->record && cfg->cmd != CMD_TRACE) {
		warn("--record is an option of trace (pyscope record takes -o FILE)");
		return -EINVAL;
	}
	if (cfg->cmd == CMD_RECORD) {
		if (!cfg->output) {
			warn("record: give the trace file with -o FILE");
			return -EINVAL;
		}
		if (cfg->interval_ms || cfg->format != FMT_TEXT) {
			warn("record: writes no report (-i, --format); read the file with pyscope report");
			return -EINVAL;
		}
		cfg->record = cfg->output;
		cfg->output = NULL;
	}
	if (cfg->record && cfg->output && !strcmp(cfg->record, cfg->output)) {
		warn("--record and -o name the same file");
		return -EINVAL;
	}
	if (cfg->cmd == CMD_TRACE || cfg->cmd == CMD_INFO || cfg->cmd == CMD_CHECK ||
	    cfg->cmd == CMD_PROFILE || cfg->cmd == CMD_RECORD) {
		if (!cfg->pid == !cfg->argv) {
			warn("give either -p PID or -- CMD");
			return -EINVAL;
		}
	}
	if (cfg->npids > 1 && cfg->cmd != CMD_TRACE && cfg->cmd != CMD_SERVE) {
		warn("several -p: only pyscope trace and serve take them");
		return -EINVAL;
	}
	if (cfg->follow_forks && cfg->cmd != CMD_TRACE) {
		warn("--follow-forks: only pyscope trace takes it");
		return -EINVAL;
	}
	if (cfg_multi(cfg) && cfg->record) {
		warn("several processes (-p repeated, --follow-forks): --record takes one process");
		return -EINVAL;
	}
	if (cfg->cmd != CMD_SERVE && cfg_multi(cfg) && (cfg->interval_ms || cfg->migration ||
			       (cfg->format != FMT_TEXT && cfg->format != FMT_JSON))) {
		warn("several processes (-p repeated, --follow-forks): -i, --migration and "
		     "--format ndjson/folded/speedscope are not supported");
		return -EINVAL;
	}
	/* full paths are needed by these outputs; --paths turns them on too */
	if (!cfg->depth && (cfg->paths || cfg->migration || cfg->format == FMT_FOLDED ||
			    cfg->format == FMT_SPEEDSCOPE))
		cfg->depth = PS_MAX_DEPTH;
	if ((cfg->cmd == CMD_TRACE || cfg->cmd == CMD_CHECK || cfg->cmd == CMD_PROFILE ||
	     cfg->cmd == CMD_SERVE || cfg->cmd == CMD_RECORD) && !cfg->nexprs && !cfg->pattern_file) {
		warn("no patterns: give -e NAME=SPEC or -f FILE");
		return -EINVAL;
	}
	return 0;
}
