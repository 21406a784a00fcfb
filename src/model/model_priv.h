/* SPDX-License-Identifier: MIT */
/*
 * The model's state, shared by the files that implement it (model.c,
 * model_stacks.c, model_samples.c) and by nothing else.
 */
#ifndef PYSCOPE_MODEL_PRIV_H
#define PYSCOPE_MODEL_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "model/model_samples.h"
#include "model/model_stacks.h"

#define SRC_CACHE 64

struct src_ent {
	char *filename;
	char *text;		/* NULL: could not be read */
	size_t len;
};

struct model {
	const struct patterns *pats;
	struct model_interp py;
	/* codes: open addressing on id */
	struct code_info **codes;
	size_t codes_cap, ncodes;
	struct agg_info **aggs;		/* PS_MAX_AGGS slots, each allocated when its id comes */
	uint32_t max_agg;		/* one past the highest known id */
	uint64_t counters[PS_CNT_MAX];
	source_reader_fn read_source;
	void *src_ctx;
	struct src_ent src[SRC_CACHE];
	size_t nsrc;
	struct coverage *cover;		/* one per pattern */
	agg_hook_fn hook;
	void *hook_ctx;
	call_hook_fn call_hook;
	void *call_ctx;
	struct sample_row *samples;
	size_t nsamples, samples_cap;
	struct await_row *awaits;
	size_t nawaits, awaits_cap;
	struct stack_info **stacks;	/* open addressing on id */
	size_t stacks_cap, nstacks;
	struct resolved {
		uint64_t addr;
		char module[PS_QUAL_LEN], qualname[PS_QUAL_LEN];
	} resolved[64];
	size_t nresolved;
	char *note;			/* an extra reason the counts are not exact */
};

#endif
