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
#include "cli.h"
#include "pyrt.h"

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
const char *plan_exit_str(enum plan_exit e);

#endif
