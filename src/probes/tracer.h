/* SPDX-License-Identifier: MIT */
/*
 * The uprobe mechanisms (eval and resume): the BPF skeleton's lifecycle,
 * open -> set rodata -> load -> fill maps -> attach, and the collector that
 * drains its ring buffer and maps into the model.
 */
#ifndef PYSCOPE_MECH_UPROBE_H
#define PYSCOPE_MECH_UPROBE_H

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
 * Wait up to timeout_ms for ring-buffer records (or for wake_fd, if >= 0, to
 * become readable) and consume them into the model.  Returns 1 when wake_fd
 * woke us, 0 otherwise, or a negative errno.
 */
int tracer__poll(struct tracer *t, int timeout_ms, int wake_fd);
/* Copy statistics and loss counters into the model. */
int tracer__refresh(struct tracer *t);
/*
 * Hardware breakpoints: watch one byte of the target (every CPU, the BPF
 * program filters the process); -ENOSPC when the debug registers are all
 * taken.  tracer__bp_code() tells the kernel a code object is counted by
 * breakpoints (the uprobe programs then leave it alone).
 */
int tracer__watch(struct tracer *t, uint64_t addr, char *err, size_t errlen);
void tracer__unwatch(struct tracer *t, uint64_t addr);
int tracer__bp_code(struct tracer *t, uint64_t code, bool on);
int tracer__free_watches(const struct tracer *t);
/* Function starts the breakpoints have seen so far. */
uint64_t tracer__bp_starts(const struct tracer *t);

/* pyscope profile: start the CPU sampler and the context-switch probe. */
int tracer__profile(struct tracer *t, char *err, size_t errlen);

/*
 * Give a loaded tracer that never attached anything to another process of
 * the same interpreter (a forked child: same binary, same addresses): its
 * model and the process it selects.  rt must describe the same ELF as the
 * one it was opened for.  -EBUSY if it was already used.
 */
int tracer__adopt(struct tracer *t, const struct pyrt *rt, struct model *m);

/* Processes (not threads) the target started so far, and whether it exec'd. */
void tracer__procs(const struct tracer *t, uint32_t *nforks, bool *execd);
/*
 * Children the target forked, announced since the last call, oldest first
 * (at most max); *dropped gets how many did not fit since the last call.
 */
size_t tracer__take_children(struct tracer *t, int *pids, uint64_t *ts, size_t max,
			     uint32_t *dropped);

/* Remove all probes (the maps stay readable). */
void tracer__detach(struct tracer *t);
void tracer__close(struct tracer *t);

#endif
