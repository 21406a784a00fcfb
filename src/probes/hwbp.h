/* SPDX-License-Identifier: MIT */
/*
 * Do hardware breakpoints work on this machine?  Some hypervisors accept
 * perf breakpoint events but never deliver their hits (the debug registers
 * are not virtualised): a breakpoint-covered pattern would then read 0
 * calls, a wrong number.  So the mechanism is offered only after a watch on
 * one of pyscope's own bytes has been seen to fire.
 */
#ifndef PYSCOPE_HWBP_H
#define PYSCOPE_HWBP_H

#include <stdbool.h>
#include <stddef.h>

struct pyrt;

/* True when a breakpoint fired on a test byte; else why not, in why. */
bool hwbp_works(char *why, size_t whylen);

/*
 * Turn the breakpoint mechanism off in rt (with the reason) unless
 * hwbp_works().  For benchmarks only, PYSCOPE_HWBP_UNCHECKED=1 keeps it on
 * after a failed test, so that breakpoint mode's idle cost can be measured
 * where hits never arrive; then it returns true, and the caller must mark
 * its counts not exact.
 */
bool hwbp_check(struct pyrt *rt);

#define HWBP_UNCHECKED_NOTE "hardware breakpoints were used although their self-test " \
	"failed (PYSCOPE_HWBP_UNCHECKED): a breakpoint-covered pattern's count may be short"

#endif
