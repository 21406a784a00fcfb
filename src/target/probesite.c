// SPDX-License-Identifier: MIT
#include "target/probesite.h"
#include "target/x86dis.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Does in write a register the program at the probe reads? */
static bool writes_kept(csh cs, const cs_insn *in, unsigned rules)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0, i;

	if (!(rules & (SITE_KEEP_RDI | SITE_KEEP_RSI)))
		return false;
	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true;	/* cannot tell: assume it does */
	for (i = 0; i < nwr; i++) {
		switch (wr[i]) {
		case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
			if (rules & SITE_KEEP_RDI)
				return true;
			break;
		case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
			if (rules & SITE_KEEP_RSI)
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* Can the entry instruction in alone decide: it is emulated, or the probe cannot move? */
static bool entry_decides(const cs_insn *in, const struct code_index *ci, unsigned rules,
			  const struct x86emu_caps *caps, struct probe_site *out)
{
	const char *what;

	if (x86emu_emulated(in->bytes, in->size, caps, &what)) {
		out->emulated = true;
		snprintf(out->why, sizeof(out->why), "the first instruction is emulated (%s)",
			 what);
		return true;
	}
	if (rules & SITE_FIXED) {
		snprintf(out->why, sizeof(out->why),
			 "the first instruction must be single-stepped, and this probe "
			 "cannot move (a uretprobe or USDT site shares the address)");
		return true;
	}
	if (!ci) {
		snprintf(out->why, sizeof(out->why),
			 "the first instruction must be single-stepped; the code around "
			 "it is unknown, so no later instruction can be proven safe");
		return true;
	}
	return false;
}

/* Does the straight-line prefix stop being usable at in?  stop says why. */
static bool prefix_stops(const struct x86dis_prefix *px, const cs_insn *in, unsigned rules,
			 char *stop, size_t n)
{
	unsigned long off = (unsigned long)(in->address - px->start);

	if (x86dis_is_flow(px->cs, in)) {
		char d[64];

		x86dis_describe(in, d, sizeof(d));
		snprintf(stop, n, "the straight-line prefix ends at +0x%lx (%s)", off, d);
		return true;
	}
	if (writes_kept(px->cs, in, rules)) {
		snprintf(stop, n, "+0x%lx overwrites an argument register the program reads", off);
		return true;
	}
	return false;
}

/* The walk ended without an instruction: at bytes that do not decode, or at its bound. */
static void walk_ended(const struct x86dis_prefix *px, char *stop, size_t n)
{
	if (!x86dis_prefix__at_limit(px))
		snprintf(stop, n, "undecodable bytes at +0x%lx",
			 (unsigned long)(px->a - px->start));
}

/*
 * After the entry in (not emulated), the first instruction of the prefix the
 * kernel emulates; NULL, and why in stop, if the prefix stops before one.
 */
static const cs_insn *next_emulated(struct x86dis_prefix *px, const cs_insn *in, unsigned rules,
				    const struct x86emu_caps *caps, char *stop, size_t n)
{
	const char *what;

	while (!prefix_stops(px, in, rules, stop, n)) {
		in = x86dis_prefix__next(px);
		if (!in) {
			walk_ended(px, stop, n);
			return NULL;
		}
		if (x86emu_emulated(in->bytes, in->size, caps, &what))
			return in;
	}
	return NULL;
}

/* Move the probe to in, the first emulated instruction, unless the prefix is entered elsewhere. */
static void move_to(const struct code_index *ci, const cs_insn *in, const char *first,
		    const struct x86emu_caps *caps, struct probe_site *out)
{
	uint64_t start = out->start, cand = in->address, at, from;
	const char *what;

	if (code_index__entry_in(ci, start, cand, &at, &from)) {
		snprintf(out->why, sizeof(out->why),
			 "single-stepped at the entry: the first emulated instruction is at +0x%lx, "
			 "but +0x%lx is also entered from 0x%lx, so it would not run exactly once "
			 "per entry", (unsigned long)(cand - start), (unsigned long)(at - start),
			 (unsigned long)from);
		return;
	}
	x86emu_emulated(in->bytes, in->size, caps, &what);
	out->addr = cand;
	out->emulated = true;
	x86dis_describe(in, out->insn, sizeof(out->insn));
	snprintf(out->why, sizeof(out->why),
		 "the first emulated instruction (%s) of the straight-line prefix, and nothing "
		 "else jumps into its first 0x%lx bytes; the entry (%.40s) would be "
		 "single-stepped", what, (unsigned long)(cand - start), first);
}

static void keep_entry(struct probe_site *out, int err)
{
	if (err == -EFAULT)
		snprintf(out->why, sizeof(out->why), "0x%lx is not in an executable section",
			 (unsigned long)out->start);
	else if (err == -ENOTSUP)
		snprintf(out->why, sizeof(out->why), "capstone unavailable: kept the entry");
	else
		snprintf(out->why, sizeof(out->why), "out of memory: kept the entry");
}

void probesite_choose(const struct elf_file *ef, const struct code_index *ci, uint64_t start,
		      unsigned rules, const struct x86emu_caps *caps, struct probe_site *out)
{
	struct x86dis_prefix px;
	const cs_insn *in;
	char first[64] = "?", stop[128] = "";
	int ret;

	memset(out, 0, sizeof(*out));
	out->start = out->addr = start;
	if (ci && !code_index__complete(ci))
		ci = NULL;	/* the decode limit was reached: it proves nothing */
	ret = x86dis_prefix__open(&px, ef, start);
	if (ret) {
		keep_entry(out, ret);
		return;
	}
	in = x86dis_prefix__next(&px);
	if (in) {
		x86dis_describe(in, first, sizeof(first));
		str_copy(out->insn, first, sizeof(out->insn));
		if (entry_decides(in, ci, rules, caps, out))
			goto cleanup;
		in = next_emulated(&px, in, rules, caps, stop, sizeof(stop));
	} else {
		walk_ended(&px, stop, sizeof(stop));
	}
	if (in)
		move_to(ci, in, first, caps, out);
	else
		snprintf(out->why, sizeof(out->why),
			 "single-stepped at the entry: %s before any instruction the kernel "
			 "emulates", stop[0] ? stop : "the scan limit is reached");
cleanup:
	x86dis_prefix__close(&px);
}
