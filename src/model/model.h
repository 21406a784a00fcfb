/* SPDX-License-Identifier: MIT */
/*
 * The collector model: every code object and aggregate the kernel has
 * announced, their latest statistics, and the patterns.  Attribution of
 * aggregates to patterns happens here and only here; every sink (text,
 * JSON, trace files) reads the model, never BPF.  This header is the core:
 * codes, aggregates, counters, coverage.  By concern, the rest is
 * model_stacks.h (call paths), model_samples.h (profile samples),
 * model_result.h (per-pattern results, attribution) and model_text.h (names
 * and places as text).
 */
#ifndef PYSCOPE_MODEL_H
#define PYSCOPE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/*
 * What the model knows of the interpreter: from the offsets layer in a live
 * run, from the trace file's header in a replay.
 */
struct model_interp {
	unsigned pyminor;	/* 3.minor: the line-table format, recorded in trace files */
	bool qualnames;		/* code objects carry co_qualname; else names come from source */
};

struct model *model__new(const struct patterns *ps, const struct model_interp *py);
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

/* Called after each new aggregate is added (e.g. pyscope check's evidence). */
typedef void (*agg_hook_fn)(void *ctx, const struct model *m, uint32_t agg_id);
void model__set_agg_hook(struct model *m, agg_hook_fn fn, void *ctx);
/* Called for each per-call record (PS_EV_CALL, pyscope check's rules). */
typedef void (*call_hook_fn)(void *ctx, const struct model *m, const struct ps_ev_call *ev);
void model__set_call_hook(struct model *m, call_hook_fn fn, void *ctx);
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
