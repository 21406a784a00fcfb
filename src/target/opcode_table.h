/* SPDX-License-Identifier: MIT */
/*
 * The evaluation loop's computed-goto table (256 handler addresses, one per
 * opcode) in a binary without symbols for it, found by its shape.
 */
#ifndef PYSCOPE_OPCODE_TABLE_H
#define PYSCOPE_OPCODE_TABLE_H

#include <stdint.h>
#include <linux/types.h>
#include "target/elf_file.h"

/*
 * Find the 256-entry computed-goto table in a binary without symbols: the
 * window whose entries are all code and whose shared "unknown opcode" label
 * sits exactly at the opcodes not set in defined[] (py_offsets.op_defined).
 * -ENOENT if none, or if defined[] is empty (no table before 3.11).
 */
int opcode_table_scan(const struct elf_file *ef, const __u64 defined[4], uint64_t *addr);

#endif
