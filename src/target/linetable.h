/* SPDX-License-Identifier: MIT */
/*
 * Line numbers from a code object's line table, decoded in user space:
 * co_lnotab (3.8, 3.9), the PEP 626 table (3.10) and the location table
 * (3.11+).  Pure functions; fuzzed.
 */
#ifndef PYSCOPE_LINETABLE_H
#define PYSCOPE_LINETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Line (>= 0) of the instruction at byte offset off (into the code's
 * bytecode) for a 3.minor code object, or -1 when the table has none, is
 * corrupt (walks below line 0) or, if it is not complete (cut short in
 * transit), does not reach off.  Lines saturate at INT_MAX.
 */
int linetable_line(unsigned minor, const uint8_t *tab, size_t len, bool complete, int firstlineno,
		   uint32_t off);

#endif
