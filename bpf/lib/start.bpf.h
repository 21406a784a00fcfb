/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Function starts: which frame is starting at a probe (from the thread
 * state, or the frame register a RESUME handler keeps it in), whether its
 * code may match, and whether this hit is the one that counts it (not a
 * RESUME about to dispatch again, not a start a breakpoint counts).
 */
#ifndef PYSCOPE_START_BPF_H
#define PYSCOPE_START_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "pyscope.h"
#include "maps.bpf.h"
#include "percpu.bpf.h"
#include "filter.bpf.h"
#include "pyframe.bpf.h"
#include "code.bpf.h"

/* The thread state's current frame (0 when none; a missing thread state is counted). */
static __always_inline __u64 ts_frame(struct scratch *s, __u64 *ts)
{
	*ts = get_tstate(&s->ts);
	if (!*ts) {
		count(PS_CNT_TSTATE_MISS);
		return 0;
	}
	return current_frame(*ts, &s->ts);
}

/* Copy a frame into s->fr: its code's cache entry if the code may match, else NULL. */
static __always_inline struct ps_code_ent *candidate(struct scratch *s, __u64 frame, __u64 *code)
{
	struct ps_code_ent *ent;

	if (!frame)
		return NULL;
	read_frame(&s->fr, frame, false);
	*code = fb_u64(&s->fr.fb, off.fr_code);
	ent = code_ent(*code);
	return ent && ent->kind != PS_CODE_IGNORE ? ent : NULL;
}

/*
 * For the uprobe programs: is this start the breakpoint's to count?  3.11+:
 * the breakpoint fires first (the handler reads its argument byte to
 * dispatch), so only a start it counted is skipped.  <= 3.10: the eval
 * entry probe fires before the first instruction is dispatched, so a
 * watched code is always left to the breakpoint.
 */
static __always_inline bool left_to_breakpoint(__u64 frame, __u64 code)
{
	struct bp_seen *seen;
	__u32 tid;

	if (!bp_active || !bpf_map_lookup_elem(&bp_codes, &code))
		return false;
	if (off.frame_kind == PYFRAME_OBJECT)
		return true;
	tid = cur_tid();
	seen = bpf_map_lookup_elem(&bp_last, &tid);
	if (!seen || seen->frame != frame || seen->code != code)
		return false;
	bpf_map_delete_elem(&bp_last, &tid);
	return true;
}

/*
 * Instrumentation version check (3.12+): when it differs, RESUME updates
 * the code and dispatches itself again, and that second execution is the
 * one to count.  A code's version only ever changes to the current global
 * one, so once they were seen equal, an unchanged global version means
 * they still are: no read of the code then.
 */
static __always_inline bool resume_will_redispatch(const struct ts_buf *tb, __u64 code,
						   struct ps_code_ent *ent)
{
	__u64 cv, gv;

	if (off.instr_ver_from == 0)
		return false;
	if (off.instr_ver_from == 1) {
		__u64 interp = tb_u64(tb, off.ts_interp);

		gv = rd_u64(interp + off.is_monitoring_version);
	} else {
		gv = tb_u64(tb, off.ts_eval_breaker);
		gv &= ~((1ULL << (off.instr_ver_mask_bits & 63)) - 1);
	}
	if ((ent->bits & PS_CE_VER_OK) && ent->instr_ver == gv)
		return false;
	cv = rd_u64(code + off.co_instr_version);
	if (cv != gv)
		return true;
	ent->instr_ver = gv;
	ent->bits |= PS_CE_VER_OK;
	return false;
}

/*
 * The frame register (3.11+): user space found, by disassembly, the register
 * that holds the current frame at each RESUME probe, and passes it as the
 * attach cookie (src/target/).  Reading it saves the 2-3 dependent
 * target reads of the thread-state path on every function start.  It is
 * trusted only after FREG_TRUST hits agreed with the thread state, and it is
 * checked again at every hit of a candidate code; one disagreement turns it
 * off for good (and, once trusted, marks the counts not exact).
 */
#define FREG_TRUST 64

/*
 * A register of the probed thread.  A variable offset into the context is
 * refused by the verifier (the compiler turns a switch over fields into
 * one), so the register is copied out of the kernel's pt_regs instead.
 */
static __always_inline __u64 reg_value(struct pt_regs *regs, __u64 r)
{
	__u32 at;
	__u64 v = 0;

	switch (r) {
	case PS_REG_RAX: at = offsetof(struct pt_regs, ax); break;
	case PS_REG_RBX: at = offsetof(struct pt_regs, bx); break;
	case PS_REG_RCX: at = offsetof(struct pt_regs, cx); break;
	case PS_REG_RDX: at = offsetof(struct pt_regs, dx); break;
	case PS_REG_RSI: at = offsetof(struct pt_regs, si); break;
	case PS_REG_RDI: at = offsetof(struct pt_regs, di); break;
	case PS_REG_RBP: at = offsetof(struct pt_regs, bp); break;
	case PS_REG_R8: at = offsetof(struct pt_regs, r8); break;
	case PS_REG_R9: at = offsetof(struct pt_regs, r9); break;
	case PS_REG_R10: at = offsetof(struct pt_regs, r10); break;
	case PS_REG_R11: at = offsetof(struct pt_regs, r11); break;
	case PS_REG_R12: at = offsetof(struct pt_regs, r12); break;
	case PS_REG_R13: at = offsetof(struct pt_regs, r13); break;
	case PS_REG_R14: at = offsetof(struct pt_regs, r14); break;
	case PS_REG_R15: at = offsetof(struct pt_regs, r15); break;
	default: return 0;
	}
	bpf_probe_read_kernel(&v, sizeof(v), (void *)regs + at);
	return v;
}

/* The register's frame agreed (or not) with the thread state's. */
static __always_inline void freg_verdict(__u32 site, bool agree, bool trusted)
{
	if (agree) {
		if (!trusted && site < FREG_SITES)
			__sync_fetch_and_add(&freg_agree[site], 1);
		return;
	}
	freg_off = 1;
	if (trusted)
		count(PS_CNT_FREG_BAD);
}

#endif /* PYSCOPE_START_BPF_H */
