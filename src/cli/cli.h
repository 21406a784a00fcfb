/* SPDX-License-Identifier: MIT */
#ifndef PYSCOPE_CLI_H
#define PYSCOPE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "plan/plan.h"
#include "sink/output.h"
#include "util/diag.h"
#include "util/version.h"

enum ps_cmd {
	CMD_NONE = 0,
	CMD_TRACE,
	CMD_INFO,
	CMD_CHECK,
	CMD_PROFILE,
	CMD_SERVE,
	CMD_RECORD,
	CMD_REPORT,
	CMD_HELP,
	CMD_VERSION,
};

#define PS_MAX_CAPTURE 4

#define PS_MAX_EXPRS 256
#define PS_MAX_PIDS 64		/* -p given several times */

struct config {
	enum ps_cmd cmd;
	int pid;			/* the first -p, 0 if launching */
	int pids[PS_MAX_PIDS];		/* every -p */
	int npids;
	bool follow_forks;		/* --follow-forks: trace the processes targets start */
	const char *listen;		/* serve --listen HOST:PORT */
	const char *match;		/* serve --match COMM */
	char **argv;			/* -- CMD ARGS..., NULL-terminated */
	int argc;
	const char *exprs[PS_MAX_EXPRS];	/* -e NAME=SPEC */
	int nexprs;
	const char *pattern_file;	/* -f */
	uint64_t duration_ms;		/* -d, 0 = until the target exits or a signal */
	uint64_t interval_ms;		/* -i, 0 = no live table */
	enum output_format format;
	enum ps_via via;
	int verbose;
	bool no_args;			/* --no-args: do not read call arguments */
	const char *output;		/* -o FILE for the final report */
	bool force;			/* --force: -o may overwrite an existing file */
	bool paths;			/* --paths: call sites and signatures for every pattern */
	bool count_only;		/* --count-only: do not time calls */
	unsigned depth;			/* --depth: frames per call path (paths on when > 0) */
	bool weight_latency;		/* --weight latency (folded, speedscope) */
	bool migration;			/* --migration report */
	unsigned hz;			/* profile -F: samples per second per CPU */
	bool prof_all;			/* profile --all: every sample, not only in patterns */
	bool prof_sampled;		/* profile --sampled: no probes at calls, samples find windows */
	bool off_cpu;			/* profile --off-cpu */
	const char *capture[PS_MAX_CAPTURE];	/* --capture NAME */
	int ncapture;
	bool fail_fast;			/* check --fail-fast */
	int top;			/* --top N rows per detail table */
	const char *record;		/* record -o, trace --record: the trace file */
	const char *input;		/* report FILE */
};

/* Several processes, each with its own report: -p repeated or --follow-forks. */
static inline bool cfg_multi(const struct config *cfg)
{
	return cfg->npids > 1 || cfg->follow_forks;
}

/* Errors in the command's output format: JSON too when the report is JSON. */
static inline enum diag_mode cfg_diag(const struct config *cfg)
{
	return cfg->format == FMT_TEXT ? DIAG_TEXT : DIAG_JSON;
}

/*
 * Parse argv into cfg: the command, its options, and the rules between them
 * (which command takes which option).  Returns 0, or -EINVAL with the one
 * error line in err (empty when getopt has printed it already).  Prints
 * nothing itself.
 */
int cli_parse(int argc, char **argv, struct config *cfg, char *err, size_t errlen);
void cli_usage(FILE *out);

#endif
