/* SPDX-License-Identifier: MIT */
/*
 * Which x86-64 instructions the kernel's uprobe code emulates instead of
 * single-stepping them (arch/x86/kernel/uprobes.c: branch_setup_xol_ops and
 * push_setup_xol_ops), and which it refuses to probe at all.  Pure
 * functions over encoded bytes; no disassembler.
 */
#ifndef PYSCOPE_X86EMU_H
#define PYSCOPE_X86EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the running kernel emulates beyond the always-emulated set. */
struct x86emu_caps {
	bool nopl;	/* multi-byte NOPs (0f 1f /0): emulated from Linux 6.18 */
};

/* The capabilities of the running kernel (from its release number). */
void x86emu_running_caps(struct x86emu_caps *caps);

/*
 * Would the kernel emulate the instruction in bytes[0..len) instead of
 * single-stepping it?  *what names the class ("jcc", "push", ...), or why
 * not ("refused by the kernel (prefix)": it will not probe it at all).
 */
bool x86emu_emulated(const uint8_t *bytes, size_t len, const struct x86emu_caps *caps,
		     const char **what);
/* Would the kernel refuse to place a uprobe there at all (cs/ds/es/ss/lock prefix)? */
bool x86emu_refused(const uint8_t *bytes, size_t len);

#endif
