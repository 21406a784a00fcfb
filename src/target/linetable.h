/* SPDX-License-Identifier: MIT */
/*
 * Line numbers from a code object's line table, decoded in user space:
 * co_lnotab, the PEP 626 table and the location table (which version uses
 * which: pyoff_linetable_fmt()).  Pure functions; fuzzed.
 */
#ifndef PYSCOPE_LINETABLE_H
#define PYSCOPE_LINETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/offsets.h"

/*
 * Line (>= 0) of the instruction at byte offset off (into the code's
 * bytecode) for a code object whose table is in format fmt, or -1 when the
 * table has none, is corrupt (walks below line 0) or, if it is not complete
 * (cut short in transit), does not reach off.  Lines saturate at INT_MAX.
 */
int linetable_line(enum py_linetable_fmt fmt, const uint8_t *tab, size_t len, bool complete,
		   int firstlineno, uint32_t off);

#endif
