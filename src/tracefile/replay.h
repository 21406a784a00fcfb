/* SPDX-License-Identifier: MIT */
/*
 * What goes into a trace file's chunks, and back: the header (JSON), the
 * checkpoints and the trailer are built from the model and the run's
 * metadata; replay feeds a file's records into a fresh model, applies its
 * checkpoints, and so rebuilds exactly the model the live run reported
 * from.  Pure (no BPF): unit-tested and fuzzed.
 */
#ifndef PYSCOPE_REPLAY_H
#define PYSCOPE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "model/pattern.h"
#include "model/meta.h"
#include "tracefile/tracefile.h"
#include "tracefile/tfwriter.h"

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
char *tf_header_build(const struct tf_source *src, const struct model *m,
		      const struct run_meta *meta);
/* A checkpoint: every aggregate's statistics, the counters, the coverage, the run so far. */
int tf_checkpoint_build(struct tf_buf *b, const struct model *m, const struct run_meta *meta,
			const struct tf_wstats *ws);
int tf_trailer_build(struct tf_buf *b, const struct model *m, const struct run_meta *meta,
		     const struct tf_wstats *ws);
/* An events record: what the model made of the code just announced. */
void tf_code_name_build(struct tf_buf *b, const struct code_info *ci);
void tf_resolved_build(struct tf_buf *b, uint64_t addr, const char *module, const char *qualname);

/* Memory a file's code objects and call paths may take in the model. */
#define REPLAY_MODEL_MAX (512ull << 20)

struct replay {
	struct patterns ps;
	struct model *m;
	struct run_meta meta;
	struct tf_damage dmg;
	unsigned major, minor;
	char host[128], kernel[128], version[32];
	bool have_trailer;
	uint64_t checkpoints;
	uint64_t cp_ns;			/* run time at the last checkpoint */
	uint64_t records;		/* read back */
	uint64_t records_bad;		/* malformed, skipped */
	uint64_t chunks_unknown;	/* of a type this reader does not know */
	uint64_t model_bytes;		/* memory the records' codes and paths take, about */
	uint64_t over_limit;		/* records skipped: past REPLAY_MODEL_MAX */
	uint64_t w_records, w_dropped;	/* the writer's counts (trailer, else last checkpoint) */
	uint64_t t_chunks;		/* chunks the trailer says were written */
};

/*
 * Rebuild the model from an in-memory trace file.  On error (empty, not a
 * trace file, newer major version, no usable header) err gets one line and
 * the return value is negative; damage short of that is in r->dmg and
 * replay_summary().
 */
int replay__load(struct replay **out, const uint8_t *data, size_t len, char *err, size_t errlen);
/* Is anything lost or damaged?  summary gets one line saying what (or "complete"). */
bool replay__damaged(const struct replay *r, char *summary, size_t n);
void replay__free(struct replay *r);

#endif
