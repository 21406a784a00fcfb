// SPDX-License-Identifier: MIT
#include "target/x86emu.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

void x86emu_running_caps(struct x86emu_caps *caps)
{
	struct utsname u;
	unsigned maj = 0, min = 0;

	memset(caps, 0, sizeof(*caps));
	if (uname(&u) || sscanf(u.release, "%u.%u", &maj, &min) != 2)
		return;
	/*
	 * 6.18 added insn_is_nop() to branch_setup_xol_ops (emulate any NOP,
	 * as part of the nop5 optimisation); before, only 0x90 was emulated.
	 * Measured on 6.18: a uprobe on "nopl (%rax)" costs 0.67 us, like a jmp.
	 */
	caps->nopl = maj > 6 || (maj == 6 && min >= 18);
}

struct x86_prefixes {
	size_t len;		/* legacy prefixes and REX */
	bool p66, bad;
	uint8_t rex;
};

static struct x86_prefixes prefixes(const uint8_t *b, size_t len)
{
	struct x86_prefixes px = { 0 };

	for (; px.len < len; px.len++) {
		uint8_t c = b[px.len];

		if (c == 0x66)
			px.p66 = true;
		else if (c == 0x26 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0xf0)
			px.bad = true;	/* is_prefix_bad(): es, cs, ss, ds, lock */
		else if (c != 0x67 && c != 0xf2 && c != 0xf3 && c != 0x64 && c != 0x65)
			break;
	}
	if (px.len < len && (b[px.len] & 0xf0) == 0x40)
		px.rex = b[px.len++];
	return px;
}

static bool is_rel_branch(const uint8_t *op, size_t left)
{
	return op[0] == 0xeb || op[0] == 0xe9 || op[0] == 0xe8 || (op[0] & 0xf0) == 0x70 ||
	       (left >= 2 && op[0] == 0x0f && (op[1] & 0xf0) == 0x80);
}

bool x86emu_refused(const uint8_t *bytes, size_t len)
{
	struct x86_prefixes px = prefixes(bytes, len);

	if (px.bad)
		return true;
	/* branch_setup_xol_ops(): 16-bit branches are rejected, not single-stepped */
	return px.len < len && px.p66 && is_rel_branch(bytes + px.len, len - px.len);
}

bool x86emu_emulated(const uint8_t *bytes, size_t len, const struct x86emu_caps *caps,
		     const char **what)
{
	struct x86_prefixes px = prefixes(bytes, len);
	const uint8_t *op = bytes + px.len;
	size_t left = len - px.len;

	*what = "single-stepped";
	if (x86emu_refused(bytes, len)) {
		*what = "refused by the kernel (prefix)";
		return false;
	}
	if (!left)
		return false;
	switch (op[0]) {
	case 0xeb:
	case 0xe9:
		*what = "jmp";
		return true;
	case 0xe8:
		*what = "call";
		return true;
	case 0x90:
		if (px.rex & 1)		/* REX.B 90 is xchg %r8d,%eax */
			return false;
		*what = "nop";
		return true;
	case 0x0f:
		if (left >= 2 && (op[1] & 0xf0) == 0x80) {
			*what = "jcc";
			return true;
		}
		/* 0f 1f /0: the multi-byte NOP; REX.R would make the reg field non-zero */
		if (caps->nopl && left >= 3 && op[1] == 0x1f && !((op[2] >> 3) & 7) &&
		    !(px.rex & 4)) {
			*what = "nop";
			return true;
		}
		return false;
	default:
		break;
	}
	if ((op[0] & 0xf0) == 0x70) {
		*what = "jcc";
		return true;
	}
	if (op[0] >= 0x50 && op[0] <= 0x57) {
		/* push_setup_xol_ops(): 1 byte, or 2 with exactly the REX prefix 0x41 */
		if (len == 1 || (len == 2 && px.len == 1 && px.rex == 0x41)) {
			*what = "push";
			return true;
		}
	}
	return false;
}
