// SPDX-License-Identifier: MIT
/* Which command takes which option: a table of rules, checked in order; the defaults. */
#include "cli/cli_rules.h"
#include "pyscope.h"
#include "util/util.h"

#include <errno.h>
#include <string.h>

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

int cli_rules_check(const struct config *cfg, char *err, size_t errlen)
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
void cli_rules_defaults(struct config *cfg)
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
