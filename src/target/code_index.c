// SPDX-License-Identifier: MIT
#include "target/code_index.h"
#include "target/x86dis.h"

#include <errno.h>
#include <stdlib.h>

/* Bounds: the code decoded per index, and the entries read from one jump table. */
#define INDEX_MAX_INSNS 400000
#define TABLE_MAX_ENTRIES 4096

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
	if (x86dis_open(&b.cs, false)) {
		free(b.ci);
		return -ENOTSUP;
	}
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

bool code_index__complete(const struct code_index *ci)
{
	return ci->complete;
}

size_t code_index__ntargets(const struct code_index *ci)
{
	return ci ? ci->nt : 0;
}

size_t code_index__ninsns(const struct code_index *ci)
{
	return ci ? ci->ninsns : 0;
}
