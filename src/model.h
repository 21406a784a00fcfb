/* SPDX-License-Identifier: MIT */
/*
 * The collector model: every code object and aggregate the kernel has
 * announced, their latest statistics, and the patterns.  Attribution of
 * aggregates to patterns happens here and only here; every sink (text,
 * JSON, later trace files) reads the model, never BPF.
 */
#ifndef PYSCOPE_MODEL_H
#define PYSCOPE_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "hist.h"
#include "pattern.h"
#include "pyscope.h"

struct code_info {
	uint32_t id;
	uint64_t addr;
	uint32_t kind;
	int firstlineno;
	uint32_t co_flags, argcount;
	char qualname[PS_QUAL_LEN];	/* co_qualname, or resolved from source (<=3.10) */
	char name[PS_NAME_LEN];
	char module[PS_QUAL_LEN];
	char filename[PS_FILE_LEN];
	bool qual_known;		/* qualname is a real qualified name */
	uint8_t *lt;
	uint32_t lt_len, lt_total;
};

struct agg_info {
	bool known;
	struct ps_aggkey key;
	char types[PS_MAX_SIG][PS_TYPE_LEN];
	char kw[PS_MAX_KW][PS_KW_LEN];
	int nkw;
	struct ps_stats st;
};

/* Reads a target's source file (for <=3.10 qualified names). */
typedef int (*source_reader_fn)(void *ctx, const char *filename, char **text, size_t *len);

struct model;

struct model *model__new(const struct patterns *ps, unsigned pyminor);
void model__free(struct model *m);
void model__set_source_reader(struct model *m, source_reader_fn fn, void *ctx);

/* Record a code sighting; returns the kind the kernel should keep for it. */
uint32_t model__add_code(struct model *m, const struct ps_ev_code *ev);
void model__add_agg(struct model *m, const struct ps_ev_agg *ev);
void model__set_stats(struct model *m, uint32_t agg_id, const struct ps_stats *st);
void model__set_counter(struct model *m, unsigned which, uint64_t v);
uint64_t model__counter(const struct model *m, unsigned which);
uint32_t model__max_agg(const struct model *m);
const struct agg_info *model__agg(const struct model *m, uint32_t id);
const struct code_info *model__code(const struct model *m, uint32_t id);
const struct patterns *model__patterns(const struct model *m);
unsigned model__pyminor(const struct model *m);

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
	__u64 hist[PS_NBUCKETS];
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
};

/* Per-pattern totals, signatures (by count) and call sites (by count). */
int model__result(const struct model *m, size_t pidx, struct pat_result *out);
void pat_result_free(struct pat_result *r);

/* Does aggregate a count towards pattern p? */
bool model__agg_matches(const struct model *m, const struct agg_info *a, const struct pattern *p);

/*
 * Did any code the target ran match pattern pidx by name (a function with its
 * module and qualified name, a construction of its class), whatever the
 * arguments?  False means the pattern is probably misspelt or the code never
 * ran: worth a warning.  Unresolved <=3.10 code with the right name counts.
 */
bool model__pattern_matched_code(const struct model *m, size_t pidx);

/* Calls of candidate code the model could not attribute (e.g. no source for <=3.10). */
uint64_t model__unresolved(const struct model *m);
/* Sum of counters that mean events were lost. */
uint64_t model__lost(const struct model *m);

#endif
