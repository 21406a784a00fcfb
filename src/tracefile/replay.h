/* SPDX-License-Identifier: MIT */
/*
 * Replay of a trace file: its records are fed into a fresh model and its
 * checkpoints applied, which rebuilds exactly the model the live run
 * reported from.  The chunks' payloads are built by tfbuild.h.  Pure (no
 * BPF): unit-tested and fuzzed.
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
 * replay__damaged().
 */
int replay__load(struct replay **out, const uint8_t *data, size_t len, char *err, size_t errlen);
/* Is anything lost or damaged?  summary gets one line saying what (or "complete"). */
bool replay__damaged(const struct replay *r, char *summary, size_t n);
void replay__free(struct replay *r);

#endif
