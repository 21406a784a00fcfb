/* SPDX-License-Identifier: MIT */
/*
 * What a run was: its target, how it was traced, how it ended.  The
 * session fills it, trace files keep it (tracefile/replay.h), every sink
 * prints it beside the model.
 */
#ifndef PYSCOPE_META_H
#define PYSCOPE_META_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct run_meta {
	int pid;
	int ns_pid;			/* its pid in its own PID namespace, 0 if ours */
	char python[32];
	char interpreter[PATH_MAX];
	char mechanism[16];
	char returns[96];		/* how returns are seen, or "none (count only)" */
	bool timed;			/* latency is measured */
	uint64_t start_wall_ns;
	uint64_t duration_ns;
	bool launched;
	bool target_exited;
	uint64_t exited_after_ns;	/* since start, when target_exited */
	int exit_code;			/* when launched and exited */
	bool stopped_by_signal;
	bool execd;			/* the target exec'd: tracing stopped then */
	uint64_t execd_after_ns;	/* since start, when execd */
	char exec_path[PATH_MAX];	/* what it exec'd (sanitised) */
	uint32_t children;		/* processes it started while traced */
	uint32_t children_traced;	/* of which traced in their own right (--follow-forks) */
	int parent_pid;			/* followed child: the pid that started it */
	uint64_t attach_lag_ns;		/* followed child: from its fork to armed */
	int64_t wall_minus_mono;	/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
};

#endif
