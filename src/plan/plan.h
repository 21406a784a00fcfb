/* SPDX-License-Identifier: MIT */
/*
 * The plan: which mechanism traces this process, and whether calls can be
 * timed.  Chosen from the capabilities the interpreter model reports; the
 * only place that decides.
 */
#ifndef PYSCOPE_PLAN_H
#define PYSCOPE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/pyrt.h"

/* --via: the mechanism asked for. */
enum ps_via {
	VIA_AUTO = 0,
	VIA_EVAL,
	VIA_RESUME,
	VIA_BREAKPOINT,
};

enum plan_exit {
	EXIT_NONE = 0,		/* count only */
	EXIT_URETPROBE,		/* _PyEval_EvalFrameDefault returns (<=3.10) */
	EXIT_FRAME_CLEAR,	/* _PyFrame_Clear* entry (3.11+) */
	EXIT_USDT_RETURN,	/* python:function__return (3.11 Debian) */
};

struct plan {
	enum ps_mech mech;
	enum plan_exit exit;
	char desc[240];
};

int plan_make(const struct pyrt *rt, enum ps_via via, struct plan *out, char *err, size_t errlen);

/* What a probe point does; tells the tracer which program goes there. */
enum probe_role {
	PROBE_EVAL_ENTRY = 0,	/* _PyEval_EvalFrameDefault entry (<=3.10) */
	PROBE_EVAL_RETURN,	/* ... its return (uretprobe) */
	PROBE_RESUME,		/* a RESUME opcode handler (3.11+) */
	PROBE_FRAME_CLEAR,	/* _PyFrame_Clear* entry */
	PROBE_USDT_RETURN,	/* python:function__return */
	PROBE_CODE_DEALLOC,
	PROBE_TYPE_DEALLOC,
	PROBE_ROLES,
};

struct probe_point {
	enum probe_role role;
	uint64_t vaddr;		/* the chosen instruction (struct probe_site) */
	uint64_t sema;		/* USDT semaphore vaddr, 0 if none */
	bool ret;		/* uretprobe */
	const char *what;
	uint64_t cookie;	/* the program's attach cookie (RESUME: enum ps_reg) */
};

#define PLAN_MAX_PROBES 12

/* Every probe point the plan needs, where it goes; returns how many. */
size_t plan_probes(const struct pyrt *rt, const struct plan *p, struct probe_point *out);
const char *plan_exit_str(enum plan_exit e);

#endif
