// SPDX-License-Identifier: MIT
#include "cli/cli.h"
#include "pyscope.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* strtol in lo..hi, the whole string */
static bool parse_range(const char *s, long lo, long hi, long *v)
{
	char *end = NULL;

	*v = strtol(s, &end, 10);
	return end && !*end && *v >= lo && *v <= hi;
}

/* Which of names[] s is: its index, or -1. */
static int pick(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

/* The options that take more than a copy of their argument. */

static int opt_pid(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	int pid, i;

	if (parse_pid(arg, &pid)) {
		set_err(err, errlen, "invalid pid '%s'", arg);
		return -EINVAL;
	}
	for (i = 0; i < cfg->npids; i++) {
		if (cfg->pids[i] == pid) {
			set_err(err, errlen, "pid %d is given twice", pid);
			return -EINVAL;
		}
	}
	if (cfg->npids == PS_MAX_PIDS) {
		set_err(err, errlen, "too many -p (at most %d)", PS_MAX_PIDS);
		return -EINVAL;
	}
	cfg->pids[cfg->npids++] = pid;
	cfg->pid = cfg->pids[0];
	return 0;
}

static int opt_expr(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	if (cfg->nexprs >= PS_MAX_EXPRS) {
		set_err(err, errlen, "too many -e patterns (at most %d)", PS_MAX_EXPRS);
		return -EINVAL;
	}
	cfg->exprs[cfg->nexprs++] = arg;
	return 0;
}

static int opt_duration(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	if (parse_duration_ms(arg, &cfg->duration_ms) || !cfg->duration_ms) {
		set_err(err, errlen, "invalid duration '%s'", arg);
		return -EINVAL;
	}
	return 0;
}

static int opt_interval(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	if (parse_duration_ms(arg, &cfg->interval_ms) || cfg->interval_ms < 100) {
		set_err(err, errlen, "invalid interval '%s' (at least 100ms)", arg);
		return -EINVAL;
	}
	return 0;
}

static int opt_format(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	static const char *const names[] = {
		[FMT_TEXT] = "text", [FMT_JSON] = "json", [FMT_NDJSON] = "ndjson",
		[FMT_FOLDED] = "folded", [FMT_SPEEDSCOPE] = "speedscope",
	};
	int f = pick(arg, names, ARRAY_SIZE(names));

	if (f < 0) {
		set_err(err, errlen, "unknown format '%s' (text, json, ndjson, folded, speedscope)",
			arg);
		return -EINVAL;
	}
	cfg->format = (enum output_format)f;
	return 0;
}

static int opt_via(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	static const char *const names[] = {
		[VIA_AUTO] = "auto", [VIA_EVAL] = "eval", [VIA_RESUME] = "resume",
		[VIA_BREAKPOINT] = "breakpoint",
	};
	int v = pick(arg, names, ARRAY_SIZE(names));

	if (v < 0) {
		set_err(err, errlen, "unknown mechanism '%s' (auto, eval, resume, breakpoint)", arg);
		return -EINVAL;
	}
	cfg->via = (enum ps_via)v;
	return 0;
}

static int opt_depth(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	long v;

	if (!parse_range(arg, 1, PS_MAX_DEPTH, &v)) {
		set_err(err, errlen, "invalid --depth '%s' (1..%d)", arg, PS_MAX_DEPTH);
		return -EINVAL;
	}
	cfg->depth = (unsigned)v;
	return 0;
}

/* A parameter name: letters, digits and '_', not starting with a digit. */
static bool param_name(const char *s)
{
	const char *q;

	for (q = s; *q; q++)
		if (!(isalnum((unsigned char)*q) || *q == '_'))
			return false;
	return s[0] && strlen(s) < PS_QUAL_LEN && !isdigit((unsigned char)s[0]);
}

static int opt_capture(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	if (cfg->ncapture == PS_MAX_CAPTURE) {
		set_err(err, errlen, "at most %d --capture names", PS_MAX_CAPTURE);
		return -EINVAL;
	}
	if (!param_name(arg)) {
		set_err(err, errlen, "invalid --capture '%s': a parameter name", arg);
		return -EINVAL;
	}
	cfg->capture[cfg->ncapture++] = arg;
	return 0;
}

static int opt_weight(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	static const char *const names[] = { "count", "latency" };
	int w = pick(arg, names, ARRAY_SIZE(names));

	if (w < 0) {
		set_err(err, errlen, "unknown --weight '%s' (count or latency)", arg);
		return -EINVAL;
	}
	cfg->weight_latency = w == 1;
	return 0;
}

static int opt_freq(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	long v;

	if (!parse_range(arg, 1, 10000, &v)) {
		set_err(err, errlen, "invalid -F '%s' (1..10000 Hz)", arg);
		return -EINVAL;
	}
	cfg->hz = (unsigned)v;
	return 0;
}

static int opt_top(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	long v;

	if (!parse_range(arg, 1, 100000, &v)) {
		set_err(err, errlen, "invalid --top '%s'", arg);
		return -EINVAL;
	}
	cfg->top = (int)v;
	return 0;
}

static int opt_match(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	/* a command name is at most 15 bytes, an executable's name 255 */
	if (!arg[0] || strlen(arg) > 255 || strchr(arg, '/')) {
		set_err(err, errlen, "invalid --match '%s': a command or executable name", arg);
		return -EINVAL;
	}
	cfg->match = arg;
	return 0;
}

static int opt_verbose(struct config *cfg, const char *arg, char *err, size_t errlen)
{
	(void)arg;
	(void)err;
	(void)errlen;
	cfg->verbose++;
	return 0;
}

/*
 * Every option, in the order getopt_long lists them (an ambiguous
 * abbreviation names its candidates in this order).  An option sets a bool
 * (FLAG), keeps its argument (STR) or calls its parser (FN).
 */
enum opt_kind { FLAG, STR, FN };

struct cli_opt {
	const char *name;
	char letter;			/* its short form, or 0 */
	enum opt_kind kind;
	size_t field;			/* FLAG, STR: offsetof the member of struct config */
	int (*parse)(struct config *cfg, const char *arg, char *err, size_t errlen);
	bool has_arg;			/* FN */
};

#define OPT_FLAG(n, member) { n, 0, FLAG, offsetof(struct config, member), NULL, false }
#define OPT_STR(n, l, member) { n, l, STR, offsetof(struct config, member), NULL, true }
#define OPT_FN(n, l, fn, arg) { n, l, FN, 0, fn, arg }

static const struct cli_opt options[] = {
	OPT_FN("pid", 'p', opt_pid, true),
	OPT_FN("expr", 'e', opt_expr, true),
	OPT_STR("file", 'f', pattern_file),
	OPT_FN("duration", 'd', opt_duration, true),
	OPT_FN("interval", 'i', opt_interval, true),
	OPT_STR("output", 'o', output),
	OPT_FN("format", 0, opt_format, true),
	OPT_FN("via", 0, opt_via, true),
	OPT_FLAG("no-args", no_args),
	OPT_FLAG("paths", paths),
	OPT_FLAG("count-only", count_only),
	OPT_FLAG("fail-fast", fail_fast),
	OPT_FN("depth", 0, opt_depth, true),
	OPT_FN("capture", 0, opt_capture, true),
	OPT_FN("weight", 0, opt_weight, true),
	OPT_FLAG("migration", migration),
	OPT_FN("freq", 'F', opt_freq, true),
	OPT_FLAG("all", prof_all),
	OPT_FLAG("sampled", prof_sampled),
	OPT_FLAG("off-cpu", off_cpu),
	OPT_FN("top", 0, opt_top, true),
	OPT_FLAG("force", force),
	OPT_STR("listen", 0, listen),
	OPT_FN("match", 0, opt_match, true),
	OPT_STR("record", 0, record),
	OPT_FLAG("follow-forks", follow_forks),
	OPT_FN("verbose", 'v', opt_verbose, false),
	OPT_FN("help", 'h', NULL, false),	/* stops parsing: the usage text */
};

#define SHORT_OPTS "+p:e:f:d:i:o:F:vh"
#define LONG_ONLY 256		/* getopt's value for options[i] with no letter: LONG_ONLY + i */

static int opt_key(size_t i)
{
	return options[i].letter ? options[i].letter : LONG_ONLY + (int)i;
}

static const struct cli_opt *opt_of(int key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(options); i++)
		if (opt_key(i) == key)
			return &options[i];
	return NULL;
}

static void long_options(struct option *lo)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(options); i++) {
		bool arg = options[i].kind == FN ? options[i].has_arg : options[i].kind == STR;

		lo[i] = (struct option){ options[i].name, arg ? required_argument : no_argument,
					 NULL, opt_key(i) };
	}
	lo[i] = (struct option){ 0 };
}

static int set_opt(struct config *cfg, const struct cli_opt *o, const char *arg, char *err,
		   size_t errlen)
{
	char *field = (char *)cfg + o->field;

	switch (o->kind) {
	case FLAG:
		*(bool *)field = true;
		return 0;
	case STR:
		*(const char **)field = arg;
		return 0;
	default:
		return o->parse(cfg, arg, err, errlen);
	}
}

/* The options, up to "--" or the first non-option; 1 for -h (nothing else counts then). */
static int parse_options(int argc, char **argv, struct config *cfg, char *err, size_t errlen)
{
	struct option lo[ARRAY_SIZE(options) + 1];
	const struct cli_opt *o;
	int c, ret;

	long_options(lo);
	while ((c = getopt_long(argc, argv, SHORT_OPTS, lo, NULL)) != -1) {
		o = opt_of(c);
		if (!o)
			return -EINVAL;	/* getopt said what is wrong */
		if (o->kind == FN && !o->parse) {
			cfg->cmd = CMD_HELP;
			return 1;
		}
		ret = set_opt(cfg, o, optarg, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
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

/*
 * The rules between commands and options, checked in this order; the
 * first broken one is the error.  A rule applies to the commands in cmds,
 * when every option in `when` is given; it is broken when an option in
 * `forbid` is given, when none of `need` is, or when more than one of
 * `one_of` is.
 */
enum given {
	G_PID = 1 << 0,			/* -p */
	G_PIDS = 1 << 1,		/* -p more than once */
	G_ARGV = 1 << 2,		/* -- CMD */
	G_EXPR = 1 << 3,		/* -e */
	G_FILE = 1 << 4,		/* -f */
	G_DURATION = 1 << 5,
	G_INTERVAL = 1 << 6,
	G_OUTPUT = 1 << 7,
	G_RECORD = 1 << 8,		/* --record */
	G_SAME_FILE = 1 << 9,		/* --record and -o name the same file */
	G_FORMAT = 1 << 10,		/* --format other than text */
	G_STREAM = 1 << 11,		/* --format other than text and json */
	G_LISTEN = 1 << 12,
	G_MATCH = 1 << 13,
	G_FOLLOW = 1 << 14,		/* --follow-forks */
	G_MULTI = 1 << 15,		/* several processes: -p repeated or --follow-forks */
	G_MIGRATION = 1 << 16,
	G_INPUT = 1 << 17,		/* report's FILE */
};

struct cli_rule {
	unsigned cmds, when, forbid, need, one_of;
	const char *msg;
};

#define C(cmd) (1u << (cmd))
#define ALL_CMDS (C(CMD_TRACE) | C(CMD_INFO) | C(CMD_CHECK) | C(CMD_PROFILE) | C(CMD_SERVE) | \
		  C(CMD_RECORD) | C(CMD_REPORT) | C(CMD_HELP) | C(CMD_VERSION))
#define TARGET_CMDS (C(CMD_TRACE) | C(CMD_INFO) | C(CMD_CHECK) | C(CMD_PROFILE) | C(CMD_RECORD))
#define PATTERN_CMDS (C(CMD_TRACE) | C(CMD_CHECK) | C(CMD_PROFILE) | C(CMD_SERVE) | C(CMD_RECORD))
#define MULTI_MSG "several processes (-p repeated, --follow-forks): "

static const struct cli_rule rules[] = {
	{ ALL_CMDS & ~C(CMD_SERVE), 0, G_LISTEN | G_MATCH, 0, 0,
	  "--listen and --match are for pyscope serve" },
	{ C(CMD_SERVE), 0, G_ARGV, G_PID | G_MATCH, 0,
	  "serve: give -p PID (repeatable) or --match COMM" },
	{ C(CMD_SERVE), 0, G_DURATION | G_OUTPUT | G_FORMAT, 0, 0,
	  "serve: -d, -o and --format do not apply (it serves until a signal)" },
	{ C(CMD_REPORT), 0, 0, G_INPUT, 0, "report: give the trace FILE to read" },
	{ C(CMD_REPORT), 0, G_PID | G_ARGV | G_EXPR | G_FILE | G_RECORD, 0, 0,
	  "report: reads a trace file; -p, -e, -f, --record and a command do not apply" },
	{ ALL_CMDS & ~(C(CMD_TRACE) | C(CMD_REPORT)), 0, G_RECORD, 0, 0,
	  "--record is an option of trace (pyscope record takes -o FILE)" },
	{ C(CMD_RECORD), 0, 0, G_OUTPUT, 0, "record: give the trace file with -o FILE" },
	{ C(CMD_RECORD), 0, G_INTERVAL | G_FORMAT, 0, 0,
	  "record: writes no report (-i, --format); read the file with pyscope report" },
	{ ALL_CMDS & ~C(CMD_REPORT), 0, G_SAME_FILE, 0, 0, "--record and -o name the same file" },
	{ TARGET_CMDS, 0, 0, G_PID | G_ARGV, G_PID | G_ARGV, "give either -p PID or -- CMD" },
	{ ALL_CMDS & ~(C(CMD_TRACE) | C(CMD_SERVE) | C(CMD_REPORT)), 0, G_PIDS, 0, 0,
	  "several -p: only pyscope trace and serve take them" },
	{ ALL_CMDS & ~(C(CMD_TRACE) | C(CMD_REPORT)), 0, G_FOLLOW, 0, 0,
	  "--follow-forks: only pyscope trace takes it" },
	{ ALL_CMDS & ~C(CMD_REPORT), G_MULTI, G_RECORD, 0, 0,
	  MULTI_MSG "--record takes one process" },
	{ ALL_CMDS & ~(C(CMD_SERVE) | C(CMD_REPORT)), G_MULTI, G_INTERVAL | G_MIGRATION | G_STREAM,
	  0, 0, MULTI_MSG "-i, --migration and --format ndjson/folded/speedscope are not supported" },
	{ PATTERN_CMDS, 0, 0, G_EXPR | G_FILE, 0, "no patterns: give -e NAME=SPEC or -f FILE" },
};

static unsigned given(const struct config *cfg)
{
	const struct { bool on; unsigned bit; } v[] = {
		{ cfg->npids > 0, G_PID }, { cfg->npids > 1, G_PIDS }, { cfg->argv, G_ARGV },
		{ cfg->nexprs > 0, G_EXPR }, { cfg->pattern_file, G_FILE },
		{ cfg->duration_ms, G_DURATION }, { cfg->interval_ms, G_INTERVAL },
		{ cfg->output, G_OUTPUT }, { cfg->record, G_RECORD },
		{ cfg->record && cfg->output && !strcmp(cfg->record, cfg->output), G_SAME_FILE },
		{ cfg->format != FMT_TEXT, G_FORMAT },
		{ cfg->format != FMT_TEXT && cfg->format != FMT_JSON, G_STREAM },
		{ cfg->listen, G_LISTEN }, { cfg->match, G_MATCH }, { cfg->follow_forks, G_FOLLOW },
		{ cfg_multi(cfg), G_MULTI }, { cfg->migration, G_MIGRATION }, { cfg->input, G_INPUT },
	};
	unsigned bits = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (v[i].on)
			bits |= v[i].bit;
	return bits;
}

static bool broken(const struct cli_rule *r, enum ps_cmd cmd, unsigned g)
{
	if (!(r->cmds & C(cmd)) || (g & r->when) != r->when)
		return false;
	return (g & r->forbid) || (r->need && !(g & r->need)) ||
	       __builtin_popcount(g & r->one_of) > 1;
}

static int check_rules(const struct config *cfg, char *err, size_t errlen)
{
	unsigned g = given(cfg);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rules); i++) {
		if (broken(&rules[i], cfg->cmd, g)) {
			set_err(err, errlen, "%s", rules[i].msg);
			return -EINVAL;
		}
	}
	return 0;
}

/* What a command implies when not given. */
static void defaults(struct config *cfg)
{
	if (cfg->cmd == CMD_SERVE && !cfg->listen)
		cfg->listen = "127.0.0.1:9464";
	if (cfg->cmd == CMD_SERVE && !cfg->interval_ms)
		cfg->interval_ms = 1000;
	if (cfg->cmd == CMD_PROFILE && !cfg->hz)
		cfg->hz = 99;
	if (cfg->cmd == CMD_RECORD) {
		/* pyscope record -o FILE: FILE is the trace file; there is no report */
		cfg->record = cfg->output;
		cfg->output = NULL;
	}
	/* full paths are needed by these outputs; --paths turns them on too */
	if (cfg->cmd != CMD_REPORT && !cfg->depth &&
	    (cfg->paths || cfg->migration || cfg->format == FMT_FOLDED ||
	     cfg->format == FMT_SPEEDSCOPE))
		cfg->depth = PS_MAX_DEPTH;
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
	ret = parse_options(argc, argv, cfg, err, errlen);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = parse_operands(argc, argv, cfg, err, errlen);
	if (!ret)
		ret = check_rules(cfg, err, errlen);
	if (!ret)
		defaults(cfg);
	return ret;
}
