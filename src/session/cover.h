/* SPDX-License-Identifier: MIT */
/*
 * Which mechanism covers each pattern, and arming it.  Breakpoints cost
 * nothing until a target runs but cannot time calls (here) and only watch
 * code that exists: --via breakpoint uses them for every pattern they can
 * cover; --via auto only when calls are not timed and every pattern
 * resolves now and fits.  The other patterns go to the plan's uprobes.
 * Each pattern's coverage is kept in the model (model__set_coverage).
 */
#ifndef PYSCOPE_COVER_H
#define PYSCOPE_COVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "model/pattern.h"
#include "plan/plan.h"
#include "target/pyrt.h"
#include "target/pywalk.h"
#include "util/diag.h"

struct tracer;
struct recorder;
struct memread;
struct bp_state;

/* One per session: the session sets the first part, cover__*() the rest. */
struct cover {
	struct tracer *t;
	struct model *m;
	const struct patterns *ps;
	const struct pyrt *rt;
	const struct plan *plan;
	struct recorder *rec;		/* the trace file, or NULL */
	int pid;
	enum ps_via via;
	bool count_only;		/* calls are not timed */
	bool rules;			/* rules are judged: every call from the start */
	bool sampled;			/* profile --sampled: no probes at calls */
	int verbose;
	enum diag_mode diag;

	uint64_t start;			/* when tracing began (cover__started); 0 before */
	struct bp_state *bp;		/* per pattern */
	struct memread *mr;		/* breakpoints: reads the target's objects */
	struct pywalk walk;
	bool uprobes_on;		/* frame-start uprobes attached */
	bool exits_on;			/* frame-end probe attached: calls are timed */
	bool exits_lazy;		/* breakpoints only: attach it at their first hit */
	uint64_t last_pending, last_armed;
};

/* Per-pattern state, once ps is set: -ENOMEM. */
int cover__init(struct cover *c);
/* Choose each pattern's mechanism and arm it (the tracer is loaded, nothing attached). */
int cover__choose(struct cover *c, char *err, size_t errlen);
/* Is a breakpoint pattern still waiting for its code (not imported yet)? */
bool cover__pending(const struct cover *c);
/* Tracing begins now: what is armed from here on is armed late. */
void cover__started(struct cover *c, uint64_t now);
/*
 * One turn of the loop: attach the frame-end probe at the first breakpoint
 * hit, arm late imports, follow redefinitions.  Errors are reported.
 */
int cover__poll(struct cover *c, uint64_t now);
/* The tracer is gone: stop reading the target. */
void cover__detach(struct cover *c);
void cover__free(struct cover *c);

#endif
