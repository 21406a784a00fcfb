/* SPDX-License-Identifier: MIT */
/*
 * Exactly where a uprobe goes.  A uprobe costs ~0.7 us when the kernel can
 * emulate the probed instruction and ~9.5 us when it must single-step it
 * (measured here, see docs/BENCHMARKS.md).  For code that is entered at a
 * known address (an opcode handler, a function), any later instruction of its
 * straight-line prefix executes exactly as often as the entry does, as long
 * as nothing else jumps into that prefix: such an instruction can stand for
 * the entry.  This module finds one with capstone, or says why it cannot.
 * Pure ELF analysis: no process, no BPF.
 */
#ifndef PYSCOPE_PROBESITE_H
#define PYSCOPE_PROBESITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/elf_file.h"

/* What the running kernel's x86 uprobe code emulates beyond the always-emulated set. */
struct emu_caps {
	bool nopl;	/* multi-byte NOPs (0f 1f /0): emulated from Linux 6.18 */
};

/* The capabilities of the running kernel (from its release number). */
void emu_caps_running(struct emu_caps *caps);

/*
 * Would the kernel emulate the instruction in bytes[0..len) instead of
 * single-stepping it?  (arch/x86/kernel/uprobes.c: branch_setup_xol_ops and
 * push_setup_xol_ops.)  *what names the class ("jcc", "push", ...), or why
 * not ("bad prefix": the kernel refuses to probe it at all).
 */
bool x86_uprobe_emulated(const uint8_t *bytes, size_t len, const struct emu_caps *caps,
			 const char **what);
/* Would the kernel refuse to place a uprobe there at all (cs/ds/es/ss/lock prefix)? */
bool x86_uprobe_refused(const uint8_t *bytes, size_t len);

/*
 * Every address control can reach inside a function other than by falling
 * through: direct branch targets, computed-goto table entries, jump-table
 * entries.  Built over the function's known spans plus the code reachable
 * from them (cold parts split off by the compiler, found by following
 * branches), so it works with only .dynsym.
 */
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
/* A known entry in (lo, hi]: returns true and where it is and comes from. */
bool code_index__entry_in(const struct code_index *ci, uint64_t lo, uint64_t hi, uint64_t *at,
			  uint64_t *from);
size_t code_index__ntargets(const struct code_index *ci);
size_t code_index__ninsns(const struct code_index *ci);

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
		      unsigned rules, const struct emu_caps *caps, struct probe_site *out);

/*
 * Which register holds a pointer the handler dereferences at one of disps
 * (the frame's instruction-pointer or code field, whose displacements are
 * distinctive), provided that register is not written between the handler's
 * start and both that use and the probe at site->addr.  Scans the
 * straight-line prefix only.  Returns an enum ps_reg (PS_REG_NONE if none);
 * why says which instruction proved it, or why none did.
 */
int probesite_frame_reg(const struct elf_file *ef, const struct probe_site *site,
			const uint32_t *disps, size_t ndisps, char *why, size_t whylen);

#endif
