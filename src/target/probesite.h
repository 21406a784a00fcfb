/* SPDX-License-Identifier: MIT */
/*
 * Exactly where a uprobe goes.  A uprobe costs ~0.7 us when the kernel can
 * emulate the probed instruction and ~9.5 us when it must single-step it
 * (measured here, see docs/BENCHMARKS.md).  For code that is entered at a
 * known address (an opcode handler, a function), any later instruction of its
 * straight-line prefix executes exactly as often as the entry does, as long
 * as nothing else jumps into that prefix: such an instruction can stand for
 * the entry.  This module finds one with capstone (target/x86emu.h says what
 * the kernel emulates, target/code_index.h where else control enters), or
 * says why it cannot.  Pure ELF analysis: no process, no BPF.
 */
#ifndef PYSCOPE_PROBESITE_H
#define PYSCOPE_PROBESITE_H

#include <stdbool.h>
#include <stdint.h>
#include "target/code_index.h"
#include "target/elf_file.h"
#include "target/x86emu.h"

/* Constraints of the BPF program and probe kind at a site. */
#define SITE_FIXED	0x1	/* stay at start: a uretprobe or a USDT site */
#define SITE_KEEP_RDI	0x2	/* the program reads the first argument register */
#define SITE_KEEP_RSI	0x4	/* ... and the second */

struct probe_site {
	uint64_t start;		/* the entry the probe stands for */
	uint64_t addr;		/* where the probe goes */
	char insn[64];		/* the instruction at addr, as capstone prints it */
	bool emulated;		/* the kernel emulates it (no single-step) */
	char why[240];
};

/*
 * Choose the probe instruction for code entered at start.  ci may be NULL
 * when nothing is known about the code around start: then start is kept.
 * Never fails: on any doubt the site is start, and why says so.
 */
void probesite_choose(const struct elf_file *ef, const struct code_index *ci, uint64_t start,
		      unsigned rules, const struct x86emu_caps *caps, struct probe_site *out);

#endif
