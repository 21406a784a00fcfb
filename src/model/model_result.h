/* SPDX-License-Identifier: MIT */
/*
 * Attribution: which aggregates count towards a pattern, and a pattern's
 * result (totals, latency, and its signatures, call sites, call paths and
 * captured values, most calls first).
 */
#ifndef PYSCOPE_MODEL_RESULT_H
#define PYSCOPE_MODEL_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/hist.h"
#include "model/model.h"

/* One distinct argument signature of a pattern's calls. */
struct sig_row {
	char text[PS_MAX_SIG * (PS_TYPE_LEN + 2) + PS_MAX_KW * (PS_KW_LEN + 2) + 8];
	uint64_t count;
};

/* One distinct call site of a pattern's calls. */
struct site_row {
	uint32_t caller_id, caller_off;
	char where[PS_FILE_LEN + 16];	/* file:line */
	char func[PS_QUAL_LEN];
	uint64_t count, timed, sum_ns, max_ns;
	uint64_t first_ns, last_ns;	/* CLOCK_MONOTONIC of the first and latest call */
	uint64_t example_stack;		/* a path through this site, 0 if none */
	__u64 hist[PS_NBUCKETS];
};

/* One distinct call path of a pattern's calls. */
struct path_row {
	uint64_t stack;
	uint64_t count, timed, sum_ns, max_ns;
};

/* Calls per captured value. */
struct cap_row {
	char value[PS_CAP_LEN + 24];
	uint64_t count;
};

struct pat_result {
	uint64_t count;
	uint64_t timed;
	struct latency lat;
	__u64 hist[PS_NBUCKETS];
	struct sig_row *sigs;
	size_t nsigs;
	struct site_row *sites;
	size_t nsites;
	struct path_row *paths;
	size_t npaths;
	struct cap_row *caps;
	size_t ncaps;
};

/* Per-pattern totals, signatures (by count) and call sites (by count). */
int model__result(const struct model *m, size_t pidx, struct pat_result *out);
void pat_result__free(struct pat_result *r);

/* Does aggregate a count towards pattern p? */
bool model__agg_matches(const struct model *m, const struct agg_info *a, const struct pattern *p);

/*
 * Did any code the target ran match pattern pidx by name (a function with its
 * module and qualified name, a construction of its class), whatever the
 * arguments?  False means the pattern is probably misspelt or the code never
 * ran: worth a warning.  Unresolved <=3.10 code with the right name counts.
 */
bool model__pattern_matched_code(const struct model *m, size_t pidx);

#endif
