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
#include <stddef.h>
#include <stdint.h>
#include "model/hist.h"
#include "model/pattern.h"
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
	char capture[PS_CAP_LEN + 24];	/* the captured value as text, "" if none */
	uint32_t first_tid;
	uint64_t first_ns;		/* CLOCK_MONOTONIC of its first call */
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

/*
 * The code object at addr is module:qualname, as found by walking the live
 * objects (breakpoint mode): better than a source file for <= 3.10.
 */
void model__set_resolved(struct model *m, uint64_t addr, const char *module, const char *qualname);

/* Record a code sighting; returns the kind the kernel should keep for it. */
uint32_t model__add_code(struct model *m, const struct ps_ev_code *ev);
void model__add_agg(struct model *m, const struct ps_ev_agg *ev);

/* Call paths, as announced by the kernel (innermost caller first). */
struct stack_info {
	uint64_t id;
	uint32_t n;
	bool truncated;
	struct ps_frame frames[PS_MAX_DEPTH];
};

void model__add_stack(struct model *m, const struct ps_ev_stack *ev);
const struct stack_info *model__stack(const struct model *m, uint64_t id);
/* "qualname (file:line)" of frame i of a path. */
void model__frame_text(const struct model *m, const struct ps_frame *f, char *buf, size_t n);
/* qualname and file:line of a code at a byte offset, separately. */
void model__frame_parts(const struct model *m, const struct ps_frame *f, char *func, size_t flen,
			char *where, size_t wlen);
/* Called after each new aggregate is added (e.g. pyscope check's evidence). */
typedef void (*agg_hook_fn)(void *ctx, const struct model *m, uint32_t agg_id);
void model__set_agg_hook(struct model *m, agg_hook_fn fn, void *ctx);
/* Called for each per-call record (PS_EV_CALL, pyscope check's rules). */
typedef void (*call_hook_fn)(void *ctx, const struct model *m, const struct ps_ev_call *ev);
void model__set_call_hook(struct model *m, call_hook_fn fn, void *ctx);
/* file:line and function of an aggregate's call site. */
void model__agg_site(const struct model *m, const struct agg_info *a, char *where, size_t wlen,
		     char *func, size_t flen);
/* "(T1, T2, **{k})" for an aggregate, leaving out self when skip_self. */
void model__agg_sig(const struct agg_info *a, bool skip_self, char *buf, size_t n);
/*
 * One ring-buffer record from the kernel, whatever its type.  Returns 1 when
 * it is a code record whose kind the model lowered (*kind: the new one, for
 * the kernel's copy), 0 when nothing more is to be done, -EINVAL for a
 * record too short for its type or of an unknown type.  Stack records
 * (PS_EV_STACK) are taken too.
 */
int model__add_record(struct model *m, const void *data, size_t len, uint32_t *kind);
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

/* How a pattern was covered during the trace. */
enum cover_mech {
	COVER_NONE = 0,		/* not covered (yet): see why */
	COVER_UPROBE,		/* eval/resume uprobes: from the first instruction */
	COVER_BREAKPOINT,	/* a hardware breakpoint on its code */
	COVER_SAMPLED,		/* profile --sampled: samples find its calls, none counted */
};

struct coverage {
	enum cover_mech mech;
	bool timed;		/* its returns are seen */
	bool partial;		/* armed after the trace started: earlier calls were not seen */
	uint64_t armed_ns;	/* since the trace started */
	char why[320];		/* why not covered, or how */
};

void model__set_coverage(struct model *m, size_t pidx, const struct coverage *c);
const struct coverage *model__coverage(const struct model *m, size_t pidx);

/* pyscope profile: samples and awaits, replaced at each refresh. */
void model__clear_samples(struct model *m);
void model__add_sample(struct model *m, const struct ps_sample_key *k, const struct ps_sample_val *v);
void model__add_await(struct model *m, const struct ps_await_key *k, uint64_t n);

struct sample_row {
	struct ps_sample_key key;
	struct ps_sample_val val;
};

struct await_row {
	struct ps_await_key key;
	uint64_t count;
};

size_t model__samples(const struct model *m, const struct sample_row **rows);
size_t model__awaits(const struct model *m, const struct await_row **rows);

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

/*
 * Replay of a trace file: what the live model made of code id (its names
 * from the source or a walk of the target, and the kind it kept), as
 * recorded after the code was added.
 */
void model__set_code_name(struct model *m, uint32_t id, const char *module, const char *qualname,
			  bool qual_known, uint32_t kind);
/* Why the counts are not exact beyond the counters (e.g. a damaged trace file); NULL clears. */
void model__set_note(struct model *m, const char *note);
const char *model__note(const struct model *m);

/* Calls of candidate code the model could not attribute (e.g. no source for <=3.10). */
uint64_t model__unresolved(const struct model *m);
/* Sum of counters that mean events were lost. */
uint64_t model__lost(const struct model *m);

#endif
