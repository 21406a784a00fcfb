// SPDX-License-Identifier: MIT
#include "target/probesite.h"
#include "pyscope.h"
#include "util/util.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* Bounds: the prefix scanned per site, and the code decoded per index. */
#define PREFIX_MAX_INSNS 64
#define PREFIX_MAX_BYTES 512
#define INDEX_MAX_INSNS 400000
#define TABLE_MAX_ENTRIES 4096

void emu_caps_running(struct emu_caps *caps)
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

bool x86_uprobe_refused(const uint8_t *bytes, size_t len)
{
	struct x86_prefixes px = prefixes(bytes, len);

	if (px.bad)
		return true;
	/* branch_setup_xol_ops(): 16-bit branches are rejected, not single-stepped */
	return px.len < len && px.p66 && is_rel_branch(bytes + px.len, len - px.len);
}

bool x86_uprobe_emulated(const uint8_t *bytes, size_t len, const struct emu_caps *caps,
			 const char **what)
{
	struct x86_prefixes px = prefixes(bytes, len);
	const uint8_t *op = bytes + px.len;
	size_t left = len - px.len;

	*what = "single-stepped";
	if (x86_uprobe_refused(bytes, len)) {
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

/* -- code index ----------------------------------------------------------- */

struct target {
	uint64_t at, from;
};

struct code_index {
	struct target *t;
	size_t nt, capt;
	uint64_t *seen;			/* open-addressed set of decoded instruction addresses */
	size_t seen_cap, nseen;
	size_t ninsns;
	bool complete;
};

struct builder {
	struct code_index *ci;
	const struct elf_file *ef;
	const struct code_span *spans;
	size_t nspans;
	csh cs;
	cs_insn *in;
	uint64_t *work, *bases, *abstabs;
	size_t nwork, capwork, nbases, capbases, nabs, capabs;
};

static int push_u64(uint64_t **arr, size_t *n, size_t *cap, uint64_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		uint64_t *na = realloc(*arr, nc * sizeof(*na));

		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = nc;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

static size_t hash_u64(uint64_t v, size_t cap)
{
	return (size_t)((v * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static bool seen_has(const struct code_index *ci, uint64_t a)
{
	size_t i;

	if (!ci->seen_cap || !a)
		return false;
	for (i = hash_u64(a, ci->seen_cap); ci->seen[i]; i = (i + 1) & (ci->seen_cap - 1))
		if (ci->seen[i] == a)
			return true;
	return false;
}

static int seen_add(struct code_index *ci, uint64_t a)
{
	size_t i;

	if ((ci->nseen + 1) * 2 > ci->seen_cap) {
		size_t ncap = ci->seen_cap ? ci->seen_cap * 2 : 1 << 14, j;
		uint64_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (j = 0; j < ci->seen_cap; j++) {
			if (!ci->seen[j])
				continue;
			for (i = hash_u64(ci->seen[j], ncap); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = ci->seen[j];
		}
		free(ci->seen);
		ci->seen = ns;
		ci->seen_cap = ncap;
	}
	for (i = hash_u64(a, ci->seen_cap); ci->seen[i]; i = (i + 1) & (ci->seen_cap - 1))
		if (ci->seen[i] == a)
			return 0;
	ci->seen[i] = a;
	ci->nseen++;
	return 0;
}

static int add_target(struct code_index *ci, uint64_t at, uint64_t from)
{
	if (ci->nt == ci->capt) {
		size_t nc = ci->capt ? ci->capt * 2 : 1024;
		struct target *n = realloc(ci->t, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ci->t = n;
		ci->capt = nc;
	}
	ci->t[ci->nt++] = (struct target){ at, from };
	return 0;
}

static bool in_spans(const struct builder *b, uint64_t a)
{
	size_t i;

	for (i = 0; i < b->nspans; i++)
		if (a >= b->spans[i].lo && a < b->spans[i].hi)
			return true;
	return false;
}

static bool is_flow(csh cs, const cs_insn *in)
{
	switch (in->id) {
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
	case X86_INS_UD2:
	case X86_INS_HLT:
	case X86_INS_INT3:
	case X86_INS_XBEGIN:
	case X86_INS_XABORT:
	case X86_INS_XEND:
		return true;
	default:
		break;
	}
	return cs_insn_group(cs, in, CS_GRP_JUMP) || cs_insn_group(cs, in, CS_GRP_CALL) ||
	       cs_insn_group(cs, in, CS_GRP_RET) || cs_insn_group(cs, in, CS_GRP_INT) ||
	       cs_insn_group(cs, in, CS_GRP_IRET);
}

/* Does control never fall through to the next instruction? */
static bool is_terminator(const cs_insn *in)
{
	switch (in->id) {
	case X86_INS_JMP:
	case X86_INS_LJMP:
	case X86_INS_RET:
	case X86_INS_RETF:
	case X86_INS_UD2:
	case X86_INS_HLT:
	case X86_INS_INT3:
		return true;
	default:
		return false;
	}
}

/* Record what one instruction can jump to, and where tables may be. */
static int note_insn(struct builder *b, const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;
	int err = 0;

	if (cs_insn_group(b->cs, in, CS_GRP_BRANCH_RELATIVE) && x->op_count >= 1 &&
	    x->operands[0].type == X86_OP_IMM) {
		uint64_t tgt = (uint64_t)x->operands[0].imm;

		err = add_target(b->ci, tgt, in->address);
		/* follow jumps out of the known spans (cold parts); calls enter other functions */
		if (!err && !cs_insn_group(b->cs, in, CS_GRP_CALL) && !in_spans(b, tgt) &&
		    !seen_has(b->ci, tgt))
			err = push_u64(&b->work, &b->nwork, &b->capwork, tgt);
	} else if ((in->id == X86_INS_JMP) && x->op_count == 1 && x->operands[0].type == X86_OP_MEM &&
		   x->operands[0].mem.base == X86_REG_INVALID && x->operands[0].mem.scale == 8 &&
		   x->operands[0].mem.disp > 0) {
		/* jmp *table(,%reg,8): a non-PIC jump table of absolute addresses */
		err = push_u64(&b->abstabs, &b->nabs, &b->capabs,
			       (uint64_t)x->operands[0].mem.disp);
	} else if (in->id == X86_INS_LEA && x->op_count == 2 && x->operands[1].type == X86_OP_MEM &&
		   x->operands[1].mem.base == X86_REG_RIP) {
		/* a PIC jump table is addressed this way: int32 entries relative to its base */
		uint64_t base = in->address + in->size + (uint64_t)x->operands[1].mem.disp;

		if (!elf_file__in_text(b->ef, base))
			err = push_u64(&b->bases, &b->nbases, &b->capbases, base);
	}
	return err;
}

/*
 * Decode from a: a whole span (linear) or, for code found by following a
 * branch, until control cannot fall through or known code is reached.
 */
static int decode_run(struct builder *b, uint64_t a, uint64_t hi, bool linear)
{
	const uint8_t *p;
	size_t avail;
	int err;

	if (elf_file__text_bytes(b->ef, a, &p, &avail))
		return 0;	/* not code we have: nothing to learn */
	if (linear && hi - a < avail)
		avail = (size_t)(hi - a);
	while (avail) {
		if (!linear && (seen_has(b->ci, a) || in_spans(b, a)))
			break;
		if (!cs_disasm_iter(b->cs, &p, &avail, &a, b->in)) {
			if (!linear)
				break;
			p++;	/* undecodable byte in a span: resynchronise */
			avail--;
			a++;
			continue;
		}
		if (++b->ci->ninsns > INDEX_MAX_INSNS) {
			b->ci->complete = false;
			return 0;
		}
		err = seen_add(b->ci, b->in->address);
		if (!err)
			err = note_insn(b, b->in);
		if (err)
			return err;
		if (!linear && is_terminator(b->in))
			break;
	}
	return 0;
}

/* Jump tables found by note_insn(): their entries are entries of the code too. */
static int scan_tables(struct builder *b)
{
	size_t i, k;
	int err;

	for (i = 0; i < b->nbases; i++) {
		for (k = 0; k < TABLE_MAX_ENTRIES; k++) {
			int32_t e;
			uint64_t tgt;

			if (elf_file__read(b->ef, b->bases[i] + k * 4, &e, sizeof(e)))
				break;
			tgt = b->bases[i] + (uint64_t)(int64_t)e;
			if (!seen_has(b->ci, tgt))
				break;
			err = add_target(b->ci, tgt, b->bases[i]);
			if (err)
				return err;
		}
	}
	b->nbases = 0;
	for (i = 0; i < b->nabs; i++) {
		for (k = 0; k < TABLE_MAX_ENTRIES; k++) {
			uint64_t tgt;

			if (elf_file__read_ptrs(b->ef, b->abstabs[i] + k * 8, &tgt, 1) ||
			    !elf_file__in_text(b->ef, tgt))
				break;
			err = add_target(b->ci, tgt, b->abstabs[i]);
			if (!err && !seen_has(b->ci, tgt) && !in_spans(b, tgt))
				err = push_u64(&b->work, &b->nwork, &b->capwork, tgt);
			if (err)
				return err;
		}
	}
	b->nabs = 0;
	return 0;
}

static int target_cmp(const void *x, const void *y)
{
	const struct target *a = x, *c = y;

	return a->at < c->at ? -1 : a->at > c->at;
}

int code_index__build(const struct elf_file *ef, const struct code_span *spans, size_t nspans,
		      const uint64_t *entries, size_t nentries, struct code_index **out)
{
	struct builder b = { .ef = ef, .spans = spans, .nspans = nspans };
	size_t i;
	int err = 0, round;

	*out = NULL;
	b.ci = calloc(1, sizeof(*b.ci));
	if (!b.ci)
		return -ENOMEM;
	b.ci->complete = true;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &b.cs) != CS_ERR_OK) {
		free(b.ci);
		return -ENOTSUP;
	}
	cs_option(b.cs, CS_OPT_DETAIL, CS_OPT_ON);
	b.in = cs_malloc(b.cs);
	if (!b.in) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < nspans && !err; i++)
		err = decode_run(&b, spans[i].lo, spans[i].hi, true);
	for (i = 0; i < nentries && !err; i++) {
		err = add_target(b.ci, entries[i], 0);
		if (!err && !in_spans(&b, entries[i]))
			err = push_u64(&b.work, &b.nwork, &b.capwork, entries[i]);
	}
	/* follow branches into cold code; tables may reveal more, a few rounds at most */
	for (round = 0; round < 4 && !err; round++) {
		while (b.nwork && !err && b.ci->complete)
			err = decode_run(&b, b.work[--b.nwork], UINT64_MAX, false);
		if (!err)
			err = scan_tables(&b);
		if (!b.nwork)
			break;
	}
	if (b.nwork)
		b.ci->complete = false;
	if (err)
		goto cleanup;
	qsort(b.ci->t, b.ci->nt, sizeof(*b.ci->t), target_cmp);
	*out = b.ci;
	b.ci = NULL;
cleanup:
	if (b.in)
		cs_free(b.in, 1);
	cs_close(&b.cs);
	free(b.work);
	free(b.bases);
	free(b.abstabs);
	code_index__free(b.ci);
	return err;
}

void code_index__free(struct code_index *ci)
{
	if (!ci)
		return;
	free(ci->t);
	free(ci->seen);
	free(ci);
}

bool code_index__entry_in(const struct code_index *ci, uint64_t lo, uint64_t hi, uint64_t *at,
			  uint64_t *from)
{
	size_t l = 0, h = ci->nt;

	/* first target > lo */
	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (ci->t[mid].at <= lo)
			l = mid + 1;
		else
			h = mid;
	}
	if (l < ci->nt && ci->t[l].at <= hi) {
		*at = ci->t[l].at;
		*from = ci->t[l].from;
		return true;
	}
	return false;
}

size_t code_index__ntargets(const struct code_index *ci)
{
	return ci ? ci->nt : 0;
}

size_t code_index__ninsns(const struct code_index *ci)
{
	return ci ? ci->ninsns : 0;
}

/* -- choosing a site ------------------------------------------------------- */

static void describe(const cs_insn *in, char *buf, size_t n)
{
	/* truncation is fine: it is for people */
	if (in->op_str[0])
		snprintf(buf, n, "%.16s %.46s", in->mnemonic, in->op_str);
	else
		snprintf(buf, n, "%.16s", in->mnemonic);
}

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

void probesite_choose(const struct elf_file *ef, const struct code_index *ci, uint64_t start,
		      unsigned rules, const struct emu_caps *caps, struct probe_site *out)
{
	const uint8_t *p;
	const char *what;
	char first[64] = "?", stop[128] = "";
	uint64_t a = start, cand = 0, at, from;
	size_t avail;
	csh cs = 0;
	cs_insn *in = NULL;
	unsigned k;

	memset(out, 0, sizeof(*out));
	out->start = out->addr = start;
	if (ci && !ci->complete)
		ci = NULL;	/* the decode limit was reached: it proves nothing */
	if (elf_file__text_bytes(ef, start, &p, &avail)) {
		snprintf(out->why, sizeof(out->why), "0x%lx is not in an executable section",
			 (unsigned long)start);
		return;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		snprintf(out->why, sizeof(out->why), "capstone unavailable: kept the entry");
		return;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);	/* as objdump prints it */
	in = cs_malloc(cs);
	if (!in) {
		snprintf(out->why, sizeof(out->why), "out of memory: kept the entry");
		goto cleanup;
	}
	if (avail > PREFIX_MAX_BYTES)
		avail = PREFIX_MAX_BYTES;
	for (k = 0; k < PREFIX_MAX_INSNS; k++) {
		uint64_t here = a;

		if (!cs_disasm_iter(cs, &p, &avail, &a, in)) {
			snprintf(stop, sizeof(stop), "undecodable bytes at +0x%lx",
				 (unsigned long)(here - start));
			break;
		}
		if (k == 0) {
			describe(in, first, sizeof(first));
			str_copy(out->insn, first, sizeof(out->insn));
			if (x86_uprobe_emulated(in->bytes, in->size, caps, &what)) {
				out->emulated = true;
				snprintf(out->why, sizeof(out->why),
					 "the first instruction is emulated (%s)", what);
				goto cleanup;
			}
			if (rules & SITE_FIXED) {
				snprintf(out->why, sizeof(out->why),
					 "the first instruction must be single-stepped, and this probe "
					 "cannot move (a uretprobe or USDT site shares the address)");
				goto cleanup;
			}
			if (!ci) {
				snprintf(out->why, sizeof(out->why),
					 "the first instruction must be single-stepped; the code around "
					 "it is unknown, so no later instruction can be proven safe");
				goto cleanup;
			}
		} else if (x86_uprobe_emulated(in->bytes, in->size, caps, &what)) {
			cand = here;
			break;
		}
		if (is_flow(cs, in)) {
			char d[64];

			describe(in, d, sizeof(d));
			snprintf(stop, sizeof(stop), "the straight-line prefix ends at +0x%lx (%s)",
				 (unsigned long)(here - start), d);
			break;
		}
		if (writes_kept(cs, in, rules)) {
			snprintf(stop, sizeof(stop), "+0x%lx overwrites an argument register the "
				 "program reads", (unsigned long)(here - start));
			break;
		}
	}
	if (!cand) {
		snprintf(out->why, sizeof(out->why),
			 "single-stepped at the entry: %s before any instruction the kernel "
			 "emulates", stop[0] ? stop : "the scan limit is reached");
		goto cleanup;
	}
	if (code_index__entry_in(ci, start, cand, &at, &from)) {
		snprintf(out->why, sizeof(out->why),
			 "single-stepped at the entry: the first emulated instruction is at +0x%lx, "
			 "but +0x%lx is also entered from 0x%lx, so it would not run exactly once "
			 "per entry", (unsigned long)(cand - start), (unsigned long)(at - start),
			 (unsigned long)from);
		goto cleanup;
	}
	x86_uprobe_emulated(in->bytes, in->size, caps, &what);
	out->addr = cand;
	out->emulated = true;
	describe(in, out->insn, sizeof(out->insn));
	snprintf(out->why, sizeof(out->why),
		 "the first emulated instruction (%s) of the straight-line prefix, and nothing "
		 "else jumps into its first 0x%lx bytes; the entry (%.40s) would be "
		 "single-stepped", what, (unsigned long)(cand - start), first);
cleanup:
	if (in)
		cs_free(in, 1);
	cs_close(&cs);
}

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

#define FREG_MAX_INSNS PREFIX_MAX_INSNS

int probesite_frame_reg(const struct elf_file *ef, const struct probe_site *site,
			const uint32_t *disps, size_t ndisps, char *why, size_t whylen)
{
	/* per instruction: the registers it writes (bit per enum ps_reg) */
	uint32_t written[FREG_MAX_INSNS];
	uint64_t addr[FREG_MAX_INSNS];
	int use_reg[FREG_MAX_INSNS];
	char use_txt[FREG_MAX_INSNS][64];
	const uint8_t *p;
	uint64_t a = site->start;
	size_t avail, n = 0, k, probe_idx = (size_t)-1;
	csh cs = 0;
	cs_insn *in = NULL;
	int reg = PS_REG_NONE;

	snprintf(why, whylen, "no instruction of the prefix uses the frame");
	if (elf_file__text_bytes(ef, site->start, &p, &avail)) {
		snprintf(why, whylen, "not in an executable section");
		return PS_REG_NONE;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		snprintf(why, whylen, "capstone unavailable");
		return PS_REG_NONE;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	in = cs_malloc(cs);
	if (!in)
		goto cleanup;
	if (avail > PREFIX_MAX_BYTES)
		avail = PREFIX_MAX_BYTES;
	while (n < FREG_MAX_INSNS) {
		cs_regs rd, wr;
		uint8_t nrd = 0, nwr = 0, i;
		const cs_x86 *x;

		addr[n] = a;
		if (!cs_disasm_iter(cs, &p, &avail, &a, in))
			break;
		written[n] = 0;
		use_reg[n] = PS_REG_NONE;
		if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
			written[n] = ~0u;	/* cannot tell: assume it writes everything */
		for (i = 0; i < nwr; i++) {
			int w = ps_reg_written(wr[i]);

			if (w)
				written[n] |= 1u << w;
		}
		x = &in->detail->x86;
		for (i = 0; i < x->op_count; i++) {
			const cs_x86_op *op = &x->operands[i];
			size_t d;

			if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID ||
			    op->mem.segment != X86_REG_INVALID || !ps_reg_of(op->mem.base))
				continue;
			for (d = 0; d < ndisps; d++)
				if (disps[d] && op->mem.disp == (int64_t)disps[d])
					use_reg[n] = ps_reg_of(op->mem.base);
		}
		if (use_reg[n])
			describe(in, use_txt[n], sizeof(use_txt[n]));
		if (addr[n] == site->addr)
			probe_idx = n;
		n++;
		if (is_flow(cs, in))
			break;
	}
	if (probe_idx == (size_t)-1) {
		snprintf(why, whylen, "the probe is past the decoded prefix");
		goto cleanup;
	}
	for (k = 0; k < n && !reg; k++) {
		size_t upto = k > probe_idx ? k : probe_idx, j;
		bool clobbered = false;

		if (!use_reg[k])
			continue;
		/* the use reads the register before it writes: count writes before it */
		for (j = 0; j < upto && !clobbered; j++)
			clobbered = written[j] & (1u << use_reg[k]);
		if (clobbered)
			continue;
		reg = use_reg[k];
		snprintf(why, whylen, "+0x%lx %s", (unsigned long)(addr[k] - site->start), use_txt[k]);
	}
cleanup:
	if (in)
		cs_free(in, 1);
	cs_close(&cs);
	return reg;
}
