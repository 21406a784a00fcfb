/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of a trace: the skeleton's lifecycle, open -> set rodata ->
 * load -> fill maps -> attach -> detach -> close.  What runs while it is
 * attached is in collector.h (ring buffer and maps into the model),
 * breakpoints.h (hardware breakpoints) and profiler.h (samples, switches).
 */
#ifndef PYSCOPE_TRACER_H
#define PYSCOPE_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "model/pattern.h"
#include "plan/plan.h"
#include "target/pyrt.h"

struct tracer_opts {
	bool capture_args;
	int verbose;
	unsigned path_depth;		/* 0: immediate callers only */
	int ncapture;
	const char *const *capture;	/* parameter names whose values are captured */
	unsigned prof_hz;		/* pyscope profile: on-CPU sampling rate, 0 = off */
	bool prof_all;			/* keep samples outside pattern calls */
	bool prof_offcpu;		/* off-CPU waits */
	bool prof_sampled;		/* windows found by the samples, no call probes */
	/* every ring-buffer record the model took, after it took it (trace files) */
	void (*on_record)(void *ctx, const void *data, size_t len);
	void *record_ctx;
	bool rules;			/* pyscope check: send calls of rule patterns */
};

struct tracer;

int tracer__open(struct tracer **out, const struct pyrt *rt, const struct patterns *ps,
		 const struct plan *plan, struct model *m, const struct tracer_opts *o, char *err,
		 size_t errlen);
enum {
	ATTACH_ENTRY = 1,	/* the plan's frame-start probes */
	ATTACH_EXIT = 2,	/* its frame-end probe, if it has one */
	ATTACH_DEALLOC = 4,	/* code and type deallocation */
	ATTACH_PROC = 8,	/* the target's forks and exec (tracepoints) */
	ATTACH_ALL = 15,
};

/* Attach the plan's probes of the given kinds; none of them stays attached on failure. */
int tracer__attach(struct tracer *t, unsigned what, char *err, size_t errlen);
/*
 * Give a loaded tracer that never attached anything to another process of
 * the same interpreter (a forked child: same binary, same addresses): its
 * model and the process it selects.  rt must describe the same ELF as the
 * one it was opened for.  -EBUSY if it was already used.
 */
int tracer__adopt(struct tracer *t, const struct pyrt *rt, struct model *m);

/* Remove all probes (the maps stay readable). */
void tracer__detach(struct tracer *t);
void tracer__close(struct tracer *t);

#endif
