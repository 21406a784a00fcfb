// SPDX-License-Identifier: MIT
#include "target/opcode_table.h"
#include "util/util.h"

#include <errno.h>

static bool op_defined(const __u64 defined[4], unsigned op)
{
	return (defined[op / 64] >> (op % 64)) & 1;
}

/*
 * Does this window have the shape of the opcode table: the undefined
 * opcodes (two at least) all share one label, "unknown opcode", that no
 * defined opcode uses, and every entry is code?  A window shifted by any
 * number of slots breaks the pattern.  Linear in the window, and cheap
 * checks first: the scan tries every 8-byte step of the data sections.
 */
static bool table_shape_ok(const struct elf_file *ef, const uint64_t *ptrs,
			   const __u64 defined[4])
{
	unsigned i, nundef = 0;
	uint64_t unknown = 0;

	for (i = 0; i < 256; i++) {
		if (op_defined(defined, i))
			continue;
		if (!nundef++)
			unknown = ptrs[i];
		else if (ptrs[i] != unknown)
			return false;
	}
	if (nundef < 2)
		return false;
	for (i = 0; i < 256; i++)
		if (op_defined(defined, i) && ptrs[i] == unknown)
			return false;
	for (i = 0; i < 256; i++)
		if (!elf_file__in_text(ef, ptrs[i]))
			return false;
	return true;
}

int opcode_table_scan(const struct elf_file *ef, const __u64 defined[4], uint64_t *addr)
{
	static const char *const sects[] = { ".rodata", ".data.rel.ro", ".data" };
	uint64_t ptrs[256];
	size_t k;

	if (!(defined[0] | defined[1] | defined[2] | defined[3]))
		return -ENOENT;
	for (k = 0; k < ARRAY_SIZE(sects); k++) {
		uint64_t start, size, a;

		/* only bytes the file holds: a header may claim a section of any size */
		if (elf_file__section_data(ef, sects[k], &start, &size) || size < sizeof(ptrs))
			continue;
		for (a = (start + 7) & ~7ull; a >= start && a - start <= size - sizeof(ptrs); a += 8) {
			if (elf_file__read_ptrs(ef, a, ptrs, 1) || !elf_file__in_text(ef, ptrs[0]))
				continue;
			if (elf_file__read_ptrs(ef, a, ptrs, 256))
				continue;
			if (table_shape_ok(ef, ptrs, defined)) {
				*addr = a;
				return 0;
			}
		}
	}
	return -ENOENT;
}
