/* SPDX-License-Identifier: MIT */
/*
 * The payloads of a trace file's chunks and records, built from the model
 * and the run's metadata (docs/trace-format.md): the header (JSON), a
 * checkpoint, the trailer, and the records that follow a code record.
 * replay.c reads them back.  Pure.
 */
#ifndef PYSCOPE_TFBUILD_H
#define PYSCOPE_TFBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "model/meta.h"
#include "tracefile/tracefile.h"
#include "tracefile/tfwriter.h"

/* A checkpoint's flags (u32 after the exit code). */
#define TF_CP_EXITED	0x1		/* the target exited */
#define TF_CP_SIGNAL	0x2		/* pyscope was stopped by a signal */

/* What the header says about the run beyond run_meta (the recorder fills it). */
struct tf_source {
	const char *const *exprs;	/* -e, in order */
	size_t nexprs;
	const char *pattern_file;	/* -f, or NULL */
	const char *pattern_text;	/* its contents, as parsed */
	size_t pattern_len;
	unsigned depth;
	bool no_args, count_only;
	const char *const *capture;
	size_t ncapture;
	const char *host, *kernel, *version;
};

/* The header chunk's JSON text (caller frees), or NULL without memory. */
char *tf_build__header(const struct tf_source *src, const struct model *m,
		       const struct run_meta *meta);
/* A checkpoint: every aggregate's statistics, the counters, the coverage, the run so far. */
int tf_build__checkpoint(struct tf_buf *b, const struct model *m, const struct run_meta *meta,
			 const struct tf_wstats *ws);
int tf_build__trailer(struct tf_buf *b, const struct model *m, const struct run_meta *meta,
		      const struct tf_wstats *ws);
/* An events record: what the model made of the code just announced. */
void tf_build__code_name(struct tf_buf *b, const struct code_info *ci);
void tf_build__resolved(struct tf_buf *b, uint64_t addr, const char *module,
			const char *qualname);

#endif
