/* SPDX-License-Identifier: MIT */
/*
 * Line numbers from a code object's line table, decoded in user space:
 * co_lnotab (3.8, 3.9), the PEP 626 table (3.10) and the location table
 * (3.11+).  Pure functions; fuzzed.
 */
#ifndef PYSCOPE_LINETABLE_H
#define PYSCOPE_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Line of the instruction at byte offset off (into the code's bytecode) for
 * a 3.minor code object, or -1 when the table has none or is cut short.
 */
int linetable_line(unsigned minor, const uint8_t *tab, size_t len, int firstlineno, uint32_t off);

#endif
