/* SPDX-License-Identifier: MIT */
/*
 * The tracer's state, shared by the files that drive it (tracer.c: the
 * skeleton's lifecycle; collector.c: ring buffer and maps into the model;
 * breakpoints.c; profiler.c) and by nothing else.
 */
#ifndef PYSCOPE_TRACER_PRIV_H
#define PYSCOPE_TRACER_PRIV_H

#include "probes/tracer.h"
#include "probes/ulink.h"
#include "pyscope.skel.h"

#define MAX_WATCHES 4		/* x86 has 4 debug registers per CPU */
#define MAX_CHILDREN 64		/* children announced between two loop turns */

/* One watched byte: a breakpoint event per CPU, each running on_breakpoint. */
struct watch {
	uint64_t addr;
	int ncpu;
	int *fds;
	struct bpf_link **links;
};

struct tracer {
	struct pyscope_bpf *skel;
	struct ulinks links;
	struct probe_point probes[PLAN_MAX_PROBES];
	size_t nprobes;
	/* profile: a CPU-clock event per CPU, and the sched_switch link */
	int *sample_fds;
	struct bpf_link **sample_links;
	struct bpf_link *switch_link, *wakeup_link;
	/* the target's forks and exec */
	struct bpf_link *fork_link, *exec_link;
	int children[MAX_CHILDREN];
	uint64_t children_ts[MAX_CHILDREN];
	size_t nchildren;
	uint32_t children_dropped;
	struct tracer_opts opts;
	struct watch watches[MAX_WATCHES];
	int nwatches;
	struct ring_buffer *rb;
	struct model *m;
	const struct pyrt *rt;
	struct plan plan;
	int ncpu;
	int verbose;
	char vlog[12][512];		/* verifier statistics, with -vv */
};

#endif
