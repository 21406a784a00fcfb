/* SPDX-License-Identifier: MIT */
/*
 * Every address control can reach inside a function other than by falling
 * through: direct branch targets, computed-goto table entries, jump-table
 * entries.  Built over the function's known spans plus the code reachable
 * from them (cold parts split off by the compiler, found by following
 * branches), so it works with only .dynsym.  Decoded with capstone.
 */
#ifndef PYSCOPE_CODE_INDEX_H
#define PYSCOPE_CODE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/elf_file.h"

struct code_index;

struct code_span {
	uint64_t lo, hi;	/* [lo, hi) */
};

/*
 * spans: the function's known extent (symbol ranges); entries: addresses
 * entered by computed jumps (the opcode table), which are also decoded.
 */
int code_index__build(const struct elf_file *ef, const struct code_span *spans, size_t nspans,
		      const uint64_t *entries, size_t nentries, struct code_index **out);
void code_index__free(struct code_index *ci);
/*
 * Did the build see all the code it found?  If it stopped at its decode
 * limit, an entry it lacks proves nothing.
 */
bool code_index__complete(const struct code_index *ci);
/* A known entry in (lo, hi]: returns true and where it is and comes from. */
bool code_index__entry_in(const struct code_index *ci, uint64_t lo, uint64_t hi, uint64_t *at,
			  uint64_t *from);
size_t code_index__ntargets(const struct code_index *ci);
size_t code_index__ninsns(const struct code_index *ci);

#endif
