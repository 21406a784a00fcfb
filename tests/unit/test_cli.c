// SPDX-License-Identifier: MIT
/*
 * The command line: option parsing, the rules between commands and options
 * (each one refused and accepted, with its exact message), the defaults a
 * command implies.
 */
#include "testutil.h"
#include "cli/cli.h"
#include "pyscope.h"
#include "util/util.h"

#include <errno.h>
#include <getopt.h>

#define MAX_WORDS 300

static char *words[MAX_WORDS + 1];
static struct config cfg;
static char err[2048];

static void free_words(void)
{
	size_t i;

	for (i = 0; words[i]; i++) {
		free(words[i]);
		words[i] = NULL;
	}
}

/*
 * getopt keeps state between scans (a half-read "-vh", the argument order
 * it was first called with): start it afresh, in pyscope's order ('+').
 */
static void reset_getopt(void)
{
	char *argv[] = { "x", NULL };

	optind = 0;
	opterr = 0;		/* getopt's own messages would only clutter the log */
	getopt(1, argv, "+");
}

/* Parse "pyscope" + the words up to NULL into cfg; err gets the message. */
static int parsev(const char *first, va_list ap)
{
	const char *w;
	int n = 0;

	free_words();
	words[n++] = strdup("pyscope");
	for (w = first; w; w = va_arg(ap, const char *)) {
		assert_true(n < MAX_WORDS);
		words[n++] = strdup(w);
	}
	words[n] = NULL;
	reset_getopt();
	return cli_parse(n, words, &cfg, err, sizeof(err));
}

static int parse(const char *first, ...)
{
	va_list ap;
	int ret;

	va_start(ap, first);
	ret = parsev(first, ap);
	va_end(ap);
	return ret;
}

/* The words are accepted. */
#define OK(...)                                                   \
	do {                                                      \
		int ret_ = parse(__VA_ARGS__, NULL);              \
		if (ret_)                                         \
			fail_msg("refused (%d): %s", ret_, err);  \
		assert_string_equal(err, "");                     \
	} while (0)

/* The words are refused with this message. */
#define REFUSED(msg, ...)                                          \
	do {                                                       \
		assert_int_equal(parse(__VA_ARGS__, NULL), -EINVAL); \
		assert_string_equal(err, (msg));                   \
	} while (0)

static int teardown(void **state)
{
	(void)state;
	free_words();
	return 0;
}

/* --- the command word --- */

static void test_command_word(void **state)
{
	static const struct { const char *word; enum ps_cmd cmd; } v[] = {
		{ "trace", CMD_TRACE }, { "info", CMD_INFO }, { "check", CMD_CHECK },
		{ "profile", CMD_PROFILE }, { "serve", CMD_SERVE }, { "record", CMD_RECORD },
		{ "report", CMD_REPORT }, { "help", CMD_HELP }, { "version", CMD_VERSION },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		parse(v[i].word, NULL);
		assert_int_equal(cfg.cmd, v[i].cmd);
	}
	REFUSED("unknown command 'bogus' (try 'pyscope help')", "bogus");
	REFUSED("unknown command '-p' (try 'pyscope help')", "-p", "1");
}

static void test_help_and_version(void **state)
{
	(void)state;
	assert_int_equal(cli_parse(1, (char *[]){ "pyscope", NULL }, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.cmd, CMD_HELP);
	OK("-h");
	assert_int_equal(cfg.cmd, CMD_HELP);
	OK("--help", "bogus");
	assert_int_equal(cfg.cmd, CMD_HELP);
	OK("--version");
	assert_int_equal(cfg.cmd, CMD_VERSION);
	/* -h ends the parse: nothing after it is looked at, no rule applies */
	OK("trace", "-h", "-p", "bad");
	assert_int_equal(cfg.cmd, CMD_HELP);
	OK("trace", "-vh", "--no-such-option");
	assert_int_equal(cfg.cmd, CMD_HELP);
	OK("check", "--help");
	assert_int_equal(cfg.cmd, CMD_HELP);
}

static void test_getopt_errors(void **state)
{
	(void)state;
	/* getopt prints these itself: err stays empty */
	REFUSED("", "trace", "--no-such-option");
	REFUSED("", "trace", "-Z");
	REFUSED("", "trace", "-d");
	REFUSED("", "trace", "--format");
	REFUSED("", "trace", "--fo", "x");	/* ambiguous: format, force, follow-forks */
	REFUSED("", "trace", "--paths=yes");
	/* an unambiguous abbreviation is the option */
	OK("trace", "--form", "json", "-p", "1", "-e", "x");
	assert_int_equal(cfg.format, FMT_JSON);
}

/* --- options --- */

static void test_pid(void **state)
{
	char many[PS_MAX_PIDS + 1][16];
	const char *argv[2 * (PS_MAX_PIDS + 1) + 4];
	int i, n = 0;

	(void)state;
	OK("trace", "-p", "42", "-e", "x");
	assert_int_equal(cfg.pid, 42);
	assert_int_equal(cfg.npids, 1);
	OK("trace", "--pid", "7", "-p", "5", "-p", "9", "-e", "x");
	assert_int_equal(cfg.pid, 7);		/* the first */
	assert_int_equal(cfg.npids, 3);
	assert_int_equal(cfg.pids[1], 5);
	assert_int_equal(cfg.pids[2], 9);
	OK("trace", "-p", "1073741823", "-e", "x");
	REFUSED("invalid pid '0'", "trace", "-p", "0");
	REFUSED("invalid pid '-3'", "trace", "-p", "-3");
	REFUSED("invalid pid '12x'", "trace", "-p", "12x");
	REFUSED("invalid pid ''", "trace", "-p", "");
	REFUSED("invalid pid '1073741824'", "trace", "-p", "1073741824");
	REFUSED("invalid pid '99999999999999999999'", "trace", "-p", "99999999999999999999");
	REFUSED("pid 5 is given twice", "trace", "-p", "5", "-p", "6", "-p", "5");

	argv[n++] = "pyscope";
	argv[n++] = "trace";
	for (i = 0; i <= PS_MAX_PIDS; i++) {
		snprintf(many[i], sizeof(many[i]), "%d", 100 + i);
		argv[n++] = "-p";
		argv[n++] = many[i];
	}
	argv[n] = NULL;
	reset_getopt();
	assert_int_equal(cli_parse(n, (char **)argv, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "too many -p (at most 64)");
	reset_getopt();
	argv[n - 2] = "-e";	/* 64 of them are fine */
	argv[n - 1] = "x";
	assert_int_equal(cli_parse(n, (char **)argv, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.npids, PS_MAX_PIDS);
}

static void test_exprs(void **state)
{
	static const char *argv[2 * (PS_MAX_EXPRS + 1) + 5];
	int i, n = 0;

	(void)state;
	OK("trace", "-p", "1", "-e", "a=m:f", "--expr", "m:g", "-f", "p.json");
	assert_int_equal(cfg.nexprs, 2);
	assert_string_equal(cfg.exprs[0], "a=m:f");
	assert_string_equal(cfg.exprs[1], "m:g");
	assert_string_equal(cfg.pattern_file, "p.json");

	argv[n++] = "pyscope";
	argv[n++] = "trace";
	argv[n++] = "-p";
	argv[n++] = "1";
	for (i = 0; i <= PS_MAX_EXPRS; i++) {
		argv[n++] = "-e";
		argv[n++] = "m:f";
	}
	argv[n] = NULL;
	reset_getopt();
	assert_int_equal(cli_parse(n, (char **)argv, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "too many -e patterns (at most 256)");
	reset_getopt();
	assert_int_equal(cli_parse(n - 2, (char **)argv, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nexprs, PS_MAX_EXPRS);
}

static void test_durations(void **state)
{
	static const struct { const char *text; uint64_t ms; } v[] = {
		{ "10", 10000 }, { "10s", 10000 }, { "500ms", 500 }, { "2m", 120000 },
		{ "1h", 3600000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		OK("trace", "-p", "1", "-e", "x", "-d", v[i].text, "--interval", v[i].text);
		assert_int_equal(cfg.duration_ms, v[i].ms);
		assert_int_equal(cfg.interval_ms, v[i].ms);
	}
	OK("trace", "-p", "1", "-e", "x", "--duration", "1ms", "-i", "100ms");
	assert_int_equal(cfg.duration_ms, 1);
	assert_int_equal(cfg.interval_ms, 100);
	REFUSED("invalid duration '0'", "trace", "-d", "0");
	REFUSED("invalid duration '0s'", "trace", "-d", "0s");
	REFUSED("invalid duration 'soon'", "trace", "-d", "soon");
	REFUSED("invalid duration ''", "trace", "-d", "");
	REFUSED("invalid interval '99ms' (at least 100ms)", "trace", "-i", "99ms");
	REFUSED("invalid interval 'x' (at least 100ms)", "trace", "-i", "x");
}

static void test_format_via_weight(void **state)
{
	static const struct { const char *text; enum output_format f; } fmts[] = {
		{ "text", FMT_TEXT }, { "json", FMT_JSON }, { "ndjson", FMT_NDJSON },
		{ "folded", FMT_FOLDED }, { "speedscope", FMT_SPEEDSCOPE },
	};
	static const struct { const char *text; enum ps_via v; } vias[] = {
		{ "auto", VIA_AUTO }, { "eval", VIA_EVAL }, { "resume", VIA_RESUME },
		{ "breakpoint", VIA_BREAKPOINT },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		OK("trace", "-p", "1", "-e", "x", "--format", fmts[i].text);
		assert_int_equal(cfg.format, fmts[i].f);
	}
	for (i = 0; i < ARRAY_SIZE(vias); i++) {
		OK("trace", "-p", "1", "-e", "x", "--via", vias[i].text);
		assert_int_equal(cfg.via, vias[i].v);
	}
	OK("trace", "-p", "1", "-e", "x", "--weight", "latency");
	assert_true(cfg.weight_latency);
	OK("trace", "-p", "1", "-e", "x", "--weight", "latency", "--weight", "count");
	assert_false(cfg.weight_latency);
	REFUSED("unknown format 'xml' (text, json, ndjson, folded, speedscope)", "trace",
		"--format", "xml");
	REFUSED("unknown format 'JSON' (text, json, ndjson, folded, speedscope)", "trace",
		"--format", "JSON");
	REFUSED("unknown mechanism 'usdt' (auto, eval, resume, breakpoint)", "trace", "--via",
		"usdt");
	REFUSED("unknown --weight 'time' (count or latency)", "trace", "--weight", "time");
}

static void test_numbers(void **state)
{
	(void)state;
	OK("trace", "-p", "1", "-e", "x", "--depth", "1", "--top", "3", "-F", "10000");
	assert_int_equal(cfg.depth, 1);
	assert_int_equal(cfg.top, 3);
	assert_int_equal(cfg.hz, 10000);
	OK("profile", "-p", "1", "-e", "x", "--depth", "64", "--top", "100000", "--freq", "1");
	assert_int_equal(cfg.depth, PS_MAX_DEPTH);
	assert_int_equal(cfg.top, 100000);
	assert_int_equal(cfg.hz, 1);
	REFUSED("invalid --depth '0' (1..64)", "trace", "--depth", "0");
	REFUSED("invalid --depth '65' (1..64)", "trace", "--depth", "65");
	REFUSED("invalid --depth '3x' (1..64)", "trace", "--depth", "3x");
	REFUSED("invalid --depth '' (1..64)", "trace", "--depth", "");
	REFUSED("invalid --top '0'", "trace", "--top", "0");
	REFUSED("invalid --top '100001'", "trace", "--top", "100001");
	REFUSED("invalid -F '0' (1..10000 Hz)", "profile", "-F", "0");
	REFUSED("invalid -F '10001' (1..10000 Hz)", "profile", "-F", "10001");
	REFUSED("invalid -F 'fast' (1..10000 Hz)", "profile", "--freq", "fast");
}

static void test_capture(void **state)
{
	char longname[PS_QUAL_LEN + 1], msg[PS_QUAL_LEN + 64];

	(void)state;
	OK("trace", "-p", "1", "-e", "x", "--capture", "user_id", "--capture", "_k2",
	   "--capture", "a", "--capture", "B");
	assert_int_equal(cfg.ncapture, PS_MAX_CAPTURE);
	assert_string_equal(cfg.capture[0], "user_id");
	assert_string_equal(cfg.capture[3], "B");
	REFUSED("at most 4 --capture names", "trace", "--capture", "a", "--capture", "b",
		"--capture", "c", "--capture", "d", "--capture", "e");
	REFUSED("invalid --capture '2x': a parameter name", "trace", "--capture", "2x");
	REFUSED("invalid --capture 'a-b': a parameter name", "trace", "--capture", "a-b");
	REFUSED("invalid --capture '': a parameter name", "trace", "--capture", "");
	memset(longname, 'a', PS_QUAL_LEN);
	longname[PS_QUAL_LEN] = '\0';
	snprintf(msg, sizeof(msg), "invalid --capture '%s': a parameter name", longname);
	REFUSED(msg, "trace", "--capture", longname);
	longname[PS_QUAL_LEN - 1] = '\0';
	OK("trace", "-p", "1", "-e", "x", "--capture", longname);
}

static void test_match(void **state)
{
	char name[257];

	(void)state;
	OK("serve", "--match", "python3", "-e", "x");
	assert_string_equal(cfg.match, "python3");
	REFUSED("invalid --match 'bin/python3': a command or executable name", "serve", "--match",
		"bin/python3");
	REFUSED("invalid --match '': a command or executable name", "serve", "--match", "");
	memset(name, 'p', 256);
	name[256] = '\0';
	assert_int_equal(parse("serve", "--match", name, NULL), -EINVAL);
	name[255] = '\0';
	OK("serve", "--match", name, "-e", "x");
}

static void test_flags_and_strings(void **state)
{
	(void)state;
	OK("profile", "-p", "1", "-e", "x", "--no-args", "--paths", "--count-only", "--fail-fast",
	   "--migration", "--all", "--sampled", "--off-cpu", "--force", "-o", "out.txt", "-vv",
	   "--verbose");
	assert_true(cfg.no_args);
	assert_true(cfg.paths);
	assert_true(cfg.count_only);
	assert_true(cfg.fail_fast);
	assert_true(cfg.migration);
	assert_true(cfg.prof_all);
	assert_true(cfg.prof_sampled);
	assert_true(cfg.off_cpu);
	assert_true(cfg.force);
	assert_string_equal(cfg.output, "out.txt");
	assert_int_equal(cfg.verbose, 3);
	OK("trace", "-p", "1", "-e", "x", "--record", "run.pstrace");
	assert_string_equal(cfg.record, "run.pstrace");
	OK("trace", "-p", "1", "-e", "x", "--follow-forks");
	assert_true(cfg.follow_forks);
	OK("serve", "-p", "1", "-e", "x", "--listen", "0.0.0.0:9000");
	assert_string_equal(cfg.listen, "0.0.0.0:9000");
	/* nothing given: the defaults */
	OK("trace", "-p", "1", "-e", "x");
	assert_int_equal(cfg.top, 10);
	assert_int_equal(cfg.format, FMT_TEXT);
	assert_int_equal(cfg.via, VIA_AUTO);
	assert_int_equal(cfg.depth, 0);
	assert_null(cfg.output);
	assert_null(cfg.argv);
}

/* --- operands: -- CMD, report FILE --- */

static void test_command_after_dashes(void **state)
{
	(void)state;
	OK("trace", "-e", "x", "--", "python3", "app.py", "-p", "1", "--", "y");
	assert_int_equal(cfg.argc, 6);
	assert_string_equal(cfg.argv[0], "python3");
	assert_string_equal(cfg.argv[2], "-p");
	assert_string_equal(cfg.argv[4], "--");
	assert_null(cfg.argv[6]);
	assert_int_equal(cfg.npids, 0);
	REFUSED("unexpected argument 'python3' (put the command after --)", "trace", "-e", "x",
		"python3");
	REFUSED("unexpected argument 'a' (put the command after --)", "trace", "-e", "x", "a",
		"--", "b");
	/* after --, even an option's look-alike is the command */
	OK("trace", "-e", "x", "--", "-p");
	assert_string_equal(cfg.argv[0], "-p");
}

static void test_report_file(void **state)
{
	(void)state;
	OK("report", "run.pstrace");
	assert_string_equal(cfg.input, "run.pstrace");
	OK("report", "run.pstrace", "--format", "json", "--paths", "-o", "out.json");
	assert_string_equal(cfg.input, "run.pstrace");
	assert_int_equal(cfg.format, FMT_JSON);
	OK("report", "--format", "json", "--migration", "run.pstrace");
	assert_string_equal(cfg.input, "run.pstrace");
	assert_true(cfg.migration);
	/* after --, words are a command, not the FILE */
	REFUSED("report: give the trace FILE to read", "report", "--", "-weird");
	REFUSED("unexpected argument 'extra' (options go before or after FILE)", "report",
		"--paths", "run.pstrace", "extra");
	REFUSED("unexpected argument 'extra' (put the command after --)", "report", "run.pstrace",
		"extra");
}

/* --- the rules, in the order they are checked --- */

static void test_rule_listen_match_serve_only(void **state)
{
	(void)state;
	REFUSED("--listen and --match are for pyscope serve", "trace", "-p", "1", "-e", "x",
		"--listen", "127.0.0.1:1");
	REFUSED("--listen and --match are for pyscope serve", "check", "-p", "1", "-e", "x",
		"--match", "py");
	REFUSED("--listen and --match are for pyscope serve", "report", "f", "--match", "py");
	REFUSED("--listen and --match are for pyscope serve", "help", "--listen", "x");
	OK("serve", "-p", "1", "-e", "x", "--listen", "127.0.0.1:1", "--match", "py");
}

static void test_rule_serve_target(void **state)
{
	(void)state;
	REFUSED("serve: give -p PID (repeatable) or --match COMM", "serve", "-e", "x");
	REFUSED("serve: give -p PID (repeatable) or --match COMM", "serve", "-p", "1", "-e", "x",
		"--", "python3");
	REFUSED("serve: give -p PID (repeatable) or --match COMM", "serve", "-e", "x", "--",
		"python3");
	/* the first broken rule is the one reported */
	REFUSED("serve: give -p PID (repeatable) or --match COMM", "serve", "-d", "1s");
	OK("serve", "-p", "1", "-p", "2", "-e", "x");
	assert_int_equal(cfg.npids, 2);
	OK("serve", "--match", "py", "-f", "p.json");
}

static void test_rule_serve_no_report(void **state)
{
	(void)state;
	REFUSED("serve: -d, -o and --format do not apply (it serves until a signal)", "serve",
		"-p", "1", "-e", "x", "-d", "1s");
	REFUSED("serve: -d, -o and --format do not apply (it serves until a signal)", "serve",
		"-p", "1", "-e", "x", "-o", "f");
	REFUSED("serve: -d, -o and --format do not apply (it serves until a signal)", "serve",
		"-p", "1", "-e", "x", "--format", "json");
	OK("serve", "-p", "1", "-e", "x", "--format", "text", "-i", "5s");
	assert_int_equal(cfg.interval_ms, 5000);
}

static void test_rule_report(void **state)
{
	(void)state;
	REFUSED("report: give the trace FILE to read", "report");
	REFUSED("report: give the trace FILE to read", "report", "-o", "x");
	REFUSED("report: reads a trace file; -p, -e, -f, --record and a command do not apply",
		"report", "f", "-p", "1");
	REFUSED("report: reads a trace file; -p, -e, -f, --record and a command do not apply",
		"report", "f", "-e", "x");
	REFUSED("report: reads a trace file; -p, -e, -f, --record and a command do not apply",
		"report", "f", "-f", "p.json");
	REFUSED("report: reads a trace file; -p, -e, -f, --record and a command do not apply",
		"report", "f", "--record", "r");
	REFUSED("report: reads a trace file; -p, -e, -f, --record and a command do not apply",
		"report", "f", "--", "python3");
	/* the rules of the tracing commands do not apply to report */
	OK("report", "f", "--follow-forks", "--migration", "-i", "1s", "-F", "5");
	OK("report", "f", "--format", "ndjson", "-o", "f");
}

static void test_rule_record_is_trace_only(void **state)
{
	static const char *const cmds[] = { "info", "check", "profile", "record", "help",
					    "version" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		REFUSED("--record is an option of trace (pyscope record takes -o FILE)", cmds[i],
			"-p", "1", "-e", "x", "-o", "o", "--record", "r");
	REFUSED("--record is an option of trace (pyscope record takes -o FILE)", "serve",
		"--match", "py", "-e", "x", "--record", "r");
	OK("trace", "-p", "1", "-e", "x", "--record", "r");
	assert_string_equal(cfg.record, "r");
}

static void test_rule_record(void **state)
{
	(void)state;
	REFUSED("record: give the trace file with -o FILE", "record", "-p", "1", "-e", "x");
	REFUSED("record: writes no report (-i, --format); read the file with pyscope report",
		"record", "-o", "r", "-p", "1", "-e", "x", "-i", "1s");
	REFUSED("record: writes no report (-i, --format); read the file with pyscope report",
		"record", "-o", "r", "-p", "1", "-e", "x", "--format", "json");
	/* -o is the trace file; there is no report */
	OK("record", "-o", "r", "-p", "1", "-e", "x", "--format", "text");
	assert_string_equal(cfg.record, "r");
	assert_null(cfg.output);
}

static void test_rule_same_file(void **state)
{
	(void)state;
	REFUSED("--record and -o name the same file", "trace", "-p", "1", "-e", "x", "--record",
		"f", "-o", "f");
	OK("trace", "-p", "1", "-e", "x", "--record", "f", "-o", "./f");
}

static void test_rule_pid_or_command(void **state)
{
	static const char *const cmds[] = { "trace", "info", "check", "profile" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		REFUSED("give either -p PID or -- CMD", cmds[i], "-e", "x");
		REFUSED("give either -p PID or -- CMD", cmds[i], "-e", "x", "-p", "1", "--",
			"python3");
		OK(cmds[i], "-e", "x", "-p", "1");
		OK(cmds[i], "-e", "x", "--", "python3");
	}
	REFUSED("give either -p PID or -- CMD", "record", "-o", "r", "-e", "x");
	OK("info", "-p", "1");	/* info needs no pattern */
	OK("help");		/* help and version need no target */
}

static void test_rule_several_pids(void **state)
{
	static const char *const cmds[] = { "info", "check", "profile", "help", "version" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		REFUSED("several -p: only pyscope trace and serve take them", cmds[i], "-p", "1",
			"-p", "2", "-e", "x");
	REFUSED("several -p: only pyscope trace and serve take them", "record", "-o", "r", "-p",
		"1", "-p", "2", "-e", "x");
	OK("trace", "-p", "1", "-p", "2", "-e", "x");
	assert_true(cfg_multi(&cfg));
}

static void test_rule_follow_forks(void **state)
{
	static const char *const cmds[] = { "info", "check", "profile", "help" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		REFUSED("--follow-forks: only pyscope trace takes it", cmds[i], "-p", "1", "-e", "x",
			"--follow-forks");
	REFUSED("--follow-forks: only pyscope trace takes it", "serve", "-p", "1", "-e", "x",
		"--follow-forks");
	OK("trace", "-p", "1", "-e", "x", "--follow-forks");
	assert_true(cfg_multi(&cfg));
}

static void test_rule_multi_record(void **state)
{
	(void)state;
	REFUSED("several processes (-p repeated, --follow-forks): --record takes one process",
		"trace", "-p", "1", "-p", "2", "-e", "x", "--record", "r");
	REFUSED("several processes (-p repeated, --follow-forks): --record takes one process",
		"trace", "--follow-forks", "-e", "x", "--record", "r", "--", "python3");
}

static void test_rule_multi_outputs(void **state)
{
	static const char *const refused[][2] = {
		{ "-i", "1s" }, { "--migration", NULL }, { "--format", "ndjson" },
		{ "--format", "folded" }, { "--format", "speedscope" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(refused); i++)
		REFUSED("several processes (-p repeated, --follow-forks): -i, --migration and "
			"--format ndjson/folded/speedscope are not supported", "trace", "-p", "1",
			"-p", "2", "-e", "x", refused[i][0], refused[i][1]);
	OK("trace", "-p", "1", "-p", "2", "-e", "x", "--format", "json", "-o", "out.json");
	OK("trace", "--follow-forks", "-e", "x", "--format", "text", "--", "python3");
	/* one process: all of them are fine */
	OK("trace", "-p", "1", "-e", "x", "-i", "1s", "--migration", "--format", "ndjson");
}

static void test_rule_patterns(void **state)
{
	static const char *const cmds[] = { "trace", "check", "profile" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		REFUSED("no patterns: give -e NAME=SPEC or -f FILE", cmds[i], "-p", "1");
		OK(cmds[i], "-p", "1", "-f", "p.json");
	}
	REFUSED("no patterns: give -e NAME=SPEC or -f FILE", "serve", "-p", "1");
	REFUSED("no patterns: give -e NAME=SPEC or -f FILE", "record", "-o", "r", "-p", "1");
	OK("info", "-p", "1");
}

/* --- what a command implies --- */

static void test_defaults(void **state)
{
	(void)state;
	OK("serve", "-p", "1", "-e", "x");
	assert_string_equal(cfg.listen, "127.0.0.1:9464");
	assert_int_equal(cfg.interval_ms, 1000);
	OK("profile", "-p", "1", "-e", "x");
	assert_int_equal(cfg.hz, 99);
	OK("trace", "-p", "1", "-e", "x");
	assert_int_equal(cfg.hz, 0);
	assert_int_equal(cfg.interval_ms, 0);
	/* full call paths for the outputs that need them */
	OK("trace", "-p", "1", "-e", "x", "--paths");
	assert_int_equal(cfg.depth, PS_MAX_DEPTH);
	OK("trace", "-p", "1", "-e", "x", "--migration");
	assert_int_equal(cfg.depth, PS_MAX_DEPTH);
	OK("trace", "-p", "1", "-e", "x", "--format", "folded");
	assert_int_equal(cfg.depth, PS_MAX_DEPTH);
	OK("trace", "-p", "1", "-e", "x", "--format", "speedscope");
	assert_int_equal(cfg.depth, PS_MAX_DEPTH);
	OK("trace", "-p", "1", "-e", "x", "--format", "speedscope", "--depth", "3");
	assert_int_equal(cfg.depth, 3);
	OK("trace", "-p", "1", "-e", "x", "--format", "json");
	assert_int_equal(cfg.depth, 0);
	/* report reads the paths the file has */
	OK("report", "f", "--paths");
	assert_int_equal(cfg.depth, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_command_word, teardown),
		cmocka_unit_test_teardown(test_help_and_version, teardown),
		cmocka_unit_test_teardown(test_getopt_errors, teardown),
		cmocka_unit_test_teardown(test_pid, teardown),
		cmocka_unit_test_teardown(test_exprs, teardown),
		cmocka_unit_test_teardown(test_durations, teardown),
		cmocka_unit_test_teardown(test_format_via_weight, teardown),
		cmocka_unit_test_teardown(test_numbers, teardown),
		cmocka_unit_test_teardown(test_capture, teardown),
		cmocka_unit_test_teardown(test_match, teardown),
		cmocka_unit_test_teardown(test_flags_and_strings, teardown),
		cmocka_unit_test_teardown(test_command_after_dashes, teardown),
		cmocka_unit_test_teardown(test_report_file, teardown),
		cmocka_unit_test_teardown(test_rule_listen_match_serve_only, teardown),
		cmocka_unit_test_teardown(test_rule_serve_target, teardown),
		cmocka_unit_test_teardown(test_rule_serve_no_report, teardown),
		cmocka_unit_test_teardown(test_rule_report, teardown),
		cmocka_unit_test_teardown(test_rule_record_is_trace_only, teardown),
		cmocka_unit_test_teardown(test_rule_record, teardown),
		cmocka_unit_test_teardown(test_rule_same_file, teardown),
		cmocka_unit_test_teardown(test_rule_pid_or_command, teardown),
		cmocka_unit_test_teardown(test_rule_several_pids, teardown),
		cmocka_unit_test_teardown(test_rule_follow_forks, teardown),
		cmocka_unit_test_teardown(test_rule_multi_record, teardown),
		cmocka_unit_test_teardown(test_rule_multi_outputs, teardown),
		cmocka_unit_test_teardown(test_rule_patterns, teardown),
		cmocka_unit_test_teardown(test_defaults, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
