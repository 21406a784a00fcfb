/* SPDX-License-Identifier: MIT */
/*
 * The tracing mechanisms, and which of them can work on an interpreter
 * (from the facts struct pyrt holds), with the reason shown by `pyscope
 * info`.  The plan (src/plan/) chooses among those that can.
 */
#ifndef PYSCOPE_MECH_H
#define PYSCOPE_MECH_H

#include <stdbool.h>

enum ps_mech {
	MECH_EVAL = 0,		/* uprobe + uretprobe on _PyEval_EvalFrameDefault */
	MECH_RESUME,		/* uprobes on the RESUME opcode handlers */
	MECH_USDT,		/* the interpreter's own USDT probes */
	MECH_BREAKPOINT,	/* hardware breakpoints on target bytecode */
	MECH_COUNT,
};

const char *mech_name(enum ps_mech m);

struct mech_status {
	bool ok;
	char why[200];
};

struct pyrt;

/* Whether each mechanism works on rt's interpreter, and why (or why not). */
void mech_assess(const struct pyrt *rt, struct mech_status st[MECH_COUNT]);

#endif
