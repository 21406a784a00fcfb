/* SPDX-License-Identifier: MIT */
/*
 * One output interface for everything a command prints on its report
 * stream: the final report, the live table, the profile, several
 * processes' reports, pyscope check's evidence and verdict.  A command
 * picks the format once (output__new); each format is one implementation
 * (output_text.c, output_json.c, output_stacks.c).  Errors are not here:
 * util/diag.h.
 */
#ifndef PYSCOPE_OUTPUT_H
#define PYSCOPE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/meta.h"
#include "model/model.h"
#include "model/pattern.h"
#include "sink/report.h"
#include "sink/report_profile.h"
#include "sink/rules.h"
#include "model/model_result.h"

enum output_format {
	FMT_TEXT = 0,
	FMT_JSON,
	FMT_NDJSON,		/* one JSON object per line: every -i interval, then the final */
	FMT_FOLDED,		/* collapsed stacks for flame graph tools */
	FMT_SPEEDSCOPE,		/* a speedscope profile file */
};

struct output;

/*
 * Print in fmt to f (not closed by output__free).  lines: every JSON report
 * on one line, so that a stream of them splits on lines.
 */
int output__new(struct output **out, enum output_format fmt, FILE *f, bool lines);
void output__free(struct output *o);

/* pyscope trace and report: the final report (ro: migration, weights). */
void output__report(struct output *o, const struct model *m, const struct run_meta *meta,
		    const struct report_opts *ro);
/* trace -i: the table so far (text), or one JSON line. */
void output__interval(struct output *o, const struct model *m, const struct run_meta *meta,
		      const struct report_opts *ro);
/* pyscope profile: the report and where the time inside the calls goes. */
void output__profile(struct output *o, const struct model *m, const struct run_meta *meta,
		     const struct report_opts *ro, const struct prof_opts *po);

/* trace on several processes: each one's report, then the totals. */
struct multi_proc {
	const struct model *m;
	const struct run_meta *meta;
};

struct multi_skip {
	int pid, parent;
	char why[256];
};

struct multi_report {
	const struct multi_proc *procs;	/* the first's patterns are everyone's */
	size_t n;
	const struct multi_skip *skipped;	/* processes not traced, and why */
	size_t nskipped;
	uint32_t lost;			/* more not traced, past every bound */
};

void output__multi(struct output *o, const struct multi_report *mr, const struct report_opts *ro);

/* pyscope check: evidence as it comes, then a verdict per pattern and rule, then the result. */
void output__hit(struct output *o, const struct model *m, const struct run_meta *meta,
		 const struct pattern *p, const struct agg_info *a);
void output__violation(struct output *o, const struct model *m, const struct run_meta *meta,
		       const struct patterns *ps, const struct rule_violation *v);
void output__verdict(struct output *o, const struct pattern *p, const struct pat_result *r,
		     const struct coverage *cv);
void output__rule(struct output *o, const struct rule *r, const struct rule_stats *st);

struct check_result {
	int status;			/* 0 pass, 1 fail, 3 unknown */
	uint64_t hit_patterns;		/* forbidden patterns hit */
	uint64_t violations;
	bool rules_exact;		/* no rule call lost or left unjudged */
	bool exact;
	const char *reason;		/* why not exact */
};

void output__result(struct output *o, const struct run_meta *meta, const struct check_result *res);

#endif
