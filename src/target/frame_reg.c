// SPDX-License-Identifier: MIT
#include "target/frame_reg.h"
#include "target/x86dis.h"
#include "pyscope.h"

#include <errno.h>
#include <stdio.h>

#define FREG_MAX_INSNS X86DIS_PREFIX_MAX_INSNS

static int ps_reg_of(unsigned r)
{
	switch (r) {
	case X86_REG_RAX: return PS_REG_RAX;
	case X86_REG_RBX: return PS_REG_RBX;
	case X86_REG_RCX: return PS_REG_RCX;
	case X86_REG_RDX: return PS_REG_RDX;
	case X86_REG_RSI: return PS_REG_RSI;
	case X86_REG_RDI: return PS_REG_RDI;
	case X86_REG_RBP: return PS_REG_RBP;
	case X86_REG_R8: return PS_REG_R8;
	case X86_REG_R9: return PS_REG_R9;
	case X86_REG_R10: return PS_REG_R10;
	case X86_REG_R11: return PS_REG_R11;
	case X86_REG_R12: return PS_REG_R12;
	case X86_REG_R13: return PS_REG_R13;
	case X86_REG_R14: return PS_REG_R14;
	case X86_REG_R15: return PS_REG_R15;
	default: return PS_REG_NONE;
	}
}

/* The 64-bit register that r is part of (writing %ebx clobbers %rbx). */
static int ps_reg_written(unsigned r)
{
	static const struct { unsigned r; int ps; } sub[] = {
		{ X86_REG_EAX, PS_REG_RAX }, { X86_REG_AX, PS_REG_RAX }, { X86_REG_AL, PS_REG_RAX },
		{ X86_REG_AH, PS_REG_RAX }, { X86_REG_EBX, PS_REG_RBX }, { X86_REG_BX, PS_REG_RBX },
		{ X86_REG_BL, PS_REG_RBX }, { X86_REG_BH, PS_REG_RBX }, { X86_REG_ECX, PS_REG_RCX },
		{ X86_REG_CX, PS_REG_RCX }, { X86_REG_CL, PS_REG_RCX }, { X86_REG_CH, PS_REG_RCX },
		{ X86_REG_EDX, PS_REG_RDX }, { X86_REG_DX, PS_REG_RDX }, { X86_REG_DL, PS_REG_RDX },
		{ X86_REG_DH, PS_REG_RDX }, { X86_REG_ESI, PS_REG_RSI }, { X86_REG_SI, PS_REG_RSI },
		{ X86_REG_SIL, PS_REG_RSI }, { X86_REG_EDI, PS_REG_RDI }, { X86_REG_DI, PS_REG_RDI },
		{ X86_REG_DIL, PS_REG_RDI }, { X86_REG_EBP, PS_REG_RBP }, { X86_REG_BP, PS_REG_RBP },
		{ X86_REG_BPL, PS_REG_RBP }, { X86_REG_R8D, PS_REG_R8 }, { X86_REG_R8W, PS_REG_R8 },
		{ X86_REG_R8B, PS_REG_R8 }, { X86_REG_R9D, PS_REG_R9 }, { X86_REG_R9W, PS_REG_R9 },
		{ X86_REG_R9B, PS_REG_R9 }, { X86_REG_R10D, PS_REG_R10 }, { X86_REG_R10W, PS_REG_R10 },
		{ X86_REG_R10B, PS_REG_R10 }, { X86_REG_R11D, PS_REG_R11 }, { X86_REG_R11W, PS_REG_R11 },
		{ X86_REG_R11B, PS_REG_R11 }, { X86_REG_R12D, PS_REG_R12 }, { X86_REG_R12W, PS_REG_R12 },
		{ X86_REG_R12B, PS_REG_R12 }, { X86_REG_R13D, PS_REG_R13 }, { X86_REG_R13W, PS_REG_R13 },
		{ X86_REG_R13B, PS_REG_R13 }, { X86_REG_R14D, PS_REG_R14 }, { X86_REG_R14W, PS_REG_R14 },
		{ X86_REG_R14B, PS_REG_R14 }, { X86_REG_R15D, PS_REG_R15 }, { X86_REG_R15W, PS_REG_R15 },
		{ X86_REG_R15B, PS_REG_R15 },
	};
	size_t i;
	int ps = ps_reg_of(r);

	for (i = 0; !ps && i < sizeof(sub) / sizeof(sub[0]); i++)
		if (sub[i].r == r)
			ps = sub[i].ps;
	return ps;
}

/* Per instruction of the prefix: where, what it writes, whether it uses the frame. */
struct prefix_regs {
	size_t n, probe_idx;
	uint64_t addr[FREG_MAX_INSNS];
	uint32_t written[FREG_MAX_INSNS];	/* bit per enum ps_reg */
	int use_reg[FREG_MAX_INSNS];		/* the base register of a frame access */
	char use_txt[FREG_MAX_INSNS][64];
};

/* The registers in writes (a bit per enum ps_reg). */
static uint32_t regs_written(csh cs, const cs_insn *in)
{
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0, i;
	uint32_t bits = 0;

	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		bits = ~0u;	/* cannot tell: assume it writes everything */
	for (i = 0; i < nwr; i++) {
		int w = ps_reg_written(wr[i]);

		if (w)
			bits |= 1u << w;
	}
	return bits;
}

/* The base register of a plain memory operand of in at one of disps, or PS_REG_NONE. */
static int frame_use(const cs_insn *in, const uint32_t *disps, size_t ndisps)
{
	const cs_x86 *x = &in->detail->x86;
	int reg = PS_REG_NONE;
	uint8_t i;
	size_t d;

	for (i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID ||
		    op->mem.segment != X86_REG_INVALID || !ps_reg_of(op->mem.base))
			continue;
		for (d = 0; d < ndisps; d++)
			if (disps[d] && op->mem.disp == (int64_t)disps[d])
				reg = ps_reg_of(op->mem.base);
	}
	return reg;
}

/* Decode the prefix into r, up to its end. */
static void decode_prefix(struct x86dis_prefix *px, const struct probe_site *site,
			  const uint32_t *disps, size_t ndisps, struct prefix_regs *r)
{
	const cs_insn *in;

	r->n = 0;
	r->probe_idx = (size_t)-1;
	while ((in = x86dis_prefix__next(px))) {
		size_t n = r->n++;

		r->addr[n] = in->address;
		r->written[n] = regs_written(px->cs, in);
		r->use_reg[n] = frame_use(in, disps, ndisps);
		if (r->use_reg[n])
			x86dis_describe(in, r->use_txt[n], sizeof(r->use_txt[n]));
		if (r->addr[n] == site->addr)
			r->probe_idx = n;
		if (x86dis_is_flow(px->cs, in))
			break;
	}
}

/* The first frame use whose register nothing writes before it or the probe. */
static int pick(const struct prefix_regs *r, uint64_t start, char *why, size_t whylen)
{
	size_t k, j;

	for (k = 0; k < r->n; k++) {
		size_t upto = k > r->probe_idx ? k : r->probe_idx;
		bool clobbered = false;

		if (!r->use_reg[k])
			continue;
		/* the use reads the register before it writes: count writes before it */
		for (j = 0; j < upto && !clobbered; j++)
			clobbered = r->written[j] & (1u << r->use_reg[k]);
		if (clobbered)
			continue;
		snprintf(why, whylen, "+0x%lx %s", (unsigned long)(r->addr[k] - start),
			 r->use_txt[k]);
		return r->use_reg[k];
	}
	return PS_REG_NONE;
}

int frame_reg_find(const struct elf_file *ef, const struct probe_site *site, const uint32_t *disps,
		   size_t ndisps, char *why, size_t whylen)
{
	struct x86dis_prefix px;
	struct prefix_regs r;
	int ret;

	snprintf(why, whylen, "no instruction of the prefix uses the frame");
	ret = x86dis_prefix__open(&px, ef, site->start);
	if (ret == -EFAULT || ret == -ENOTSUP)
		snprintf(why, whylen, ret == -EFAULT ? "not in an executable section" :
			 "capstone unavailable");
	if (ret)
		return PS_REG_NONE;
	decode_prefix(&px, site, disps, ndisps, &r);
	x86dis_prefix__close(&px);
	if (r.probe_idx == (size_t)-1) {
		snprintf(why, whylen, "the probe is past the decoded prefix");
		return PS_REG_NONE;
	}
	return pick(&r, site->start, why, whylen);
}
