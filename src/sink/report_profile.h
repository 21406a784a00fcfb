/* SPDX-License-Identifier: MIT */
/* pyscope profile's sinks (src/report_profile.c). */
#ifndef PYSCOPE_REPORT_PROFILE_H
#define PYSCOPE_REPORT_PROFILE_H

#include <stdbool.h>
#include <stdio.h>
#include <cJSON.h>
#include "model/model.h"

struct prof_opts {
	unsigned hz;
	bool offcpu;
	int top;
	bool sampled;		/* --sampled: calls were not counted */
};

struct fn_stat;

/* Where the time of one pattern's calls goes, for one kind of sample. */
struct prof_result {
	uint64_t weight;		/* samples (on CPU) or ns blocked (off CPU) */
	uint64_t events;		/* samples or waits */
	struct fn_stat *self;		/* by self weight */
	size_t nself;
	struct fn_stat *total;		/* by total weight */
	size_t ntotal;
	char chain[1024];		/* the heaviest callee chain, "A -> B -> C" */
	uint64_t chain_weight;		/* weight at its end */
};

int profile_result(const struct model *m, size_t pidx, uint8_t kind, struct prof_result *out);
void prof_result_free(struct prof_result *r);
void report_profile_text(FILE *out, const struct model *m, const struct prof_opts *o);
cJSON *report_profile_json(const struct model *m, const struct prof_opts *o);
/* Stacks from each pattern's frame to the leaf, "[pattern];frame;...;leaf weight". */
int report_profile_folded(FILE *out, const struct model *m, bool offcpu);

#endif
