/* SPDX-License-Identifier: MIT */
/* Sinks: the per-pattern report as text or JSON, from the model only. */
#ifndef PYSCOPE_REPORT_H
#define PYSCOPE_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <cJSON.h>
#include "model/meta.h"
#include "model/model.h"

struct report_opts {
	bool final;
	bool sites;			/* call-site table per pattern */
	bool sigs;			/* signature breakdown per pattern */
	bool all_details;		/* details for every pattern, not just legacy/forbid */
	bool compact;			/* JSON on one line (NDJSON streams) */
	int top;			/* rows per table */
	bool migration;			/* the final report ends with the migration report */
	bool by_latency;		/* folded and speedscope: weighted by latency, not calls */
	bool no_patterns;		/* JSON: no "patterns" (profile --sampled: none counted) */
};

void report_text(FILE *out, const struct model *m, const struct run_meta *meta,
		 const struct report_opts *o);
/* The JSON report (docs/report-schema.json).  Caller frees. */
cJSON *report_json(const struct model *m, const struct run_meta *meta, const struct report_opts *o);
int report_json_print(FILE *out, const struct model *m, const struct run_meta *meta,
		      const struct report_opts *o);

/* Collapsed stacks ("root;...;leaf weight") per pattern, weighted by count or latency. */
int report_folded(FILE *out, const struct model *m, bool by_latency);
/* A speedscope file: one sampled profile per pattern. */
int report_speedscope(FILE *out, const struct model *m, const struct run_meta *meta,
		      bool by_latency);
/* For legacy and forbidden patterns: live call sites, counts, first/last seen, a path. */
void report_migration_text(FILE *out, const struct model *m, const struct run_meta *meta);
cJSON *report_migration_json(const struct model *m, const struct run_meta *meta);

/*
 * CLOCK_REALTIME seconds of a CLOCK_MONOTONIC ns timestamp.  Wraps rather
 * than overflows: both come from a trace file in pyscope report.
 */
double report_wall_s(const struct run_meta *meta, uint64_t mono_ns);
int64_t report_wall_ns(const struct run_meta *meta, uint64_t mono_ns);

/* Is every count in the report exact?  reason gets why not. */
bool report_exact(const struct model *m, char *reason, size_t len);

#endif
