// SPDX-License-Identifier: MIT
/* The options: a table of what each sets, and the parsers of their arguments. */
#include "cli/cli_options.h"
#include "pyscope.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

int cli_options_parse(int argc, char **argv, struct config *cfg, char *err, size_t errlen)
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
