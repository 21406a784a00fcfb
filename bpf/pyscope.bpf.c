// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pyscope kernel side: count and time the starts of Python code objects
 * that may belong to a pattern.
 *
 * Where a frame starts and ends is chosen per interpreter by the user side
 * (src/plan/); each program below is one such probe:
 *   on_eval_entry / on_eval_return   _PyEval_EvalFrameDefault (3.8-3.10),
 *                                    every Python call enters it
 *   on_resume                        the RESUME opcode handlers (3.11+),
 *                                    every function start executes one
 *   on_frame_clear                   _PyFrame_Clear(ExceptCode) (3.11+),
 *                                    every frame ends through it
 *   on_frame_exit_cur                the function__return USDT site, where
 *                                    _PyFrame_Clear is not visible
 *   on_code_dealloc / on_type_dealloc  forget freed objects
 *   on_breakpoint                    a hardware breakpoint on a function's
 *                                    first instruction (count only)
 *   on_cpu_sample, on_switch, on_wakeup  pyscope profile (lib/sample.bpf.h)
 *   on_fork, on_exec                 the target starts a process or a program
 *
 * Per call of a code that may match, the hot path is: the current frame
 * (from the thread state, 1-3 reads), one copy of the frame's header and
 * arguments, one read per argument type, one copy of the caller's header,
 * two code-cache lookups, one aggregate lookup, an atomic add, and a push
 * on the thread's stack of timed calls (task storage); the frame end pops
 * it and adds to the same statistics.  Reads of the target cost ~65 ns
 * each here, so the code reads blocks, and caches what code objects never
 * change (argument counts, flags) in the code cache.  The ring buffer
 * carries only first sightings.
 *
 * The knobs and maps are in lib/maps.bpf.h, the helpers in lib/, one
 * header per step, included in the order the data flows.  The helpers are
 * static inline, except the six global functions that are verified once
 * rather than per call site (classify, capture, send_call, key_path,
 * new_agg, window_agg): each is defined in its step's header, which only
 * this file includes.  This file holds the programs only, in the order the
 * object has always had them (the profile's first), so that each
 * section's layout stays the same.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "pyscope.h"
#include "lib/maps.bpf.h"	/* knobs, variables and maps, first */
#include "lib/percpu.bpf.h"	/* per-CPU scratch and counters */
#include "lib/filter.bpf.h"	/* the target's threads, forks and execs */
#include "lib/pyframe.bpf.h"	/* the CPython reader */
#include "lib/code.bpf.h"	/* code classification (classify) */
#include "lib/capture.bpf.h"	/* argument types and values (capture) */
#include "lib/rules.bpf.h"	/* rule records (send_call) */
#include "lib/paths.bpf.h"	/* call paths (key_path) */
#include "lib/agg.bpf.h"	/* aggregate keys and ids (new_agg) */
#include "lib/timing.bpf.h"	/* call starts and ends */
#include "lib/sample.bpf.h"	/* profile samples and waits (window_agg) */
#include "lib/start.bpf.h"	/* which frame starts, and whether to count it */

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* pyscope profile: a CPU-clock sample (-F HZ) on a target thread. */
SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct ps_sample_key k;

	if (!is_target())
		return 0;
	if (sample_key(&k, PS_SAMPLE_CPU))
		add_sample(&k, 0);
	return 0;
}

/*
 * A target thread blocks: remember where (its stack, in its own context).
 * Its wait ends when it is woken (on_wakeup), not when it next runs: the
 * time between is spent waiting for a CPU, which the injected or real wait
 * did not ask for.  Switching in covers a wake-up that was not seen.
 * Preemption is not waiting.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct offcpu_start start = {};
	__u32 tid;

	if (!prof_offcpu)
		return 0;
	if (prev->tgid == targ_tgid && prev->__state != 0 && !preempt) {
		if (sample_key(&start.key, PS_SAMPLE_OFFCPU)) {
			tid = prev->pid;
			start.ts = bpf_ktime_get_ns();
			bpf_map_update_elem(&offcpu, &tid, &start, BPF_ANY);
		}
	}
	if (next->tgid == targ_tgid)
		wait_over(next->pid);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	if (prof_offcpu && p->tgid == targ_tgid)
		wait_over(p->pid);
	return 0;
}

/* 3.8-3.10: every Python frame is evaluated by a call of this function. */
SEC("uprobe")
int BPF_KPROBE(on_eval_entry)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx);
	struct ps_code_ent *ent;
	struct scratch *s;
	__u64 frame, code;

	if (!is_target())
		return 0;
	s = scratch();
	if (!s)
		return 0;
	/* 3.8: (frame, throwflag); 3.9+: (tstate, frame, throwflag) */
	frame = off.eval_frame_arg == 1 ? a1 : a2;
	read_frame(&s->fr, frame, capture_args);
	code = fb_u64(&s->fr.fb, off.fr_code);
	ent = code_ent(code);
	if (!ent || ent->kind == PS_CODE_IGNORE)
		return 0;
	if (fb_s32(&s->fr.fb, off.fr_lasti) == -1) {
		/* the uretprobe sees this stack pointer plus the popped return address */
		if (!left_to_breakpoint(frame, code))
			frame_started(s, frame, code, ent, PT_REGS_SP(ctx));
	} else {
		/* a generator resumes: find it again at its next return */
		struct ps_inflight *rec = bpf_map_lookup_elem(&inflight, &frame);
		struct ps_tstack *stk;

		if (prof_on)
			note_await(frame, frame_offset(&s->fr, code));
		if (rec) {
			rec->caller_frame = fb_u64(&s->fr.fb, off.fr_back);
			bpf_map_update_elem(&callers, &rec->caller_frame, &frame, BPF_ANY);
			stk = tstack(true);
			if (stk)
				stk->pending++;
		}
	}
	return 0;
}

/*
 * 3.8-3.10: a plain function's call is the top of the thread's stack, under
 * the stack pointer its entry saw.  Otherwise, if this thread registered
 * generator frames: the thread's current frame is the caller again, and a
 * target frame registered under that caller is the one returning.  A
 * generator that only yielded stays in flight.
 */
SEC("uretprobe")
int BPF_KRETPROBE(on_eval_return)
{
	struct ps_tstack *stk;
	__u64 ts, cur, *fp, frame;
	bool suspended;

	if (!is_target())
		return 0;
	stk = tstack(false);
	if (tstack_pop(stk, PT_REGS_SP(ctx) - 8))
		return 0;
	if (stk && !stk->pending)
		return 0;
	ts = rd_u64(runtime_addr + off.rt_tstate_current);
	if (!ts)
		return 0;
	cur = rd_u64(ts + off.ts_frame);
	fp = bpf_map_lookup_elem(&callers, &cur);
	if (!fp)
		return 0;
	frame = *fp;
	bpf_map_delete_elem(&callers, &cur);
	if (stk && stk->pending)
		stk->pending--;
	if (off.fr_state != NONE)
		suspended = rd_s8(frame + off.fr_state) < 0;
	else
		suspended = rd_u64(frame + off.fr_stacktop) != 0;
	if (!suspended)
		frame_ended(frame);
	return 0;
}

/*
 * 3.11+: a RESUME instruction is running in the current frame.  The probe
 * may sit a few instructions into the handler (src/target/), after the
 * handler stored the frame's instruction pointer: 3.11/3.12 set prev_instr
 * and 3.13 instr_ptr to the RESUME itself.  Before that store the field
 * names an earlier instruction of the same frame (or the code's start, for
 * a fresh frame); so "ip <= first RESUME" holds for a function start on
 * either side of the store, and a generator's later RESUMEs are past it on
 * either side too.  The frame itself comes from the frame register or the
 * thread state, which the handler does not touch.
 */
SEC("uprobe")
int BPF_KPROBE(on_resume)
{
	struct ps_code_ent *ent;
	struct scratch *s;
	__u64 ts = 0, frame, code = 0, ip, at, reg, rframe = 0;
	__u32 site = 0;
	bool trusted = false;

	if (!is_target())
		return 0;
	s = scratch();
	if (!s)
		return 0;
	reg = freg_off ? 0 : bpf_get_attach_cookie(ctx);
	site = (__u32)(reg >> 8) & (FREG_SITES - 1);
	reg &= 0xff;
	if (reg) {
		rframe = reg_value(ctx, reg);
		trusted = freg_agree[site] >= FREG_TRUST;
	}
	if (trusted) {
		frame = rframe;
	} else {
		frame = ts_frame(s, &ts);
		if (reg && ts)
			freg_verdict(site, rframe == frame, false);
	}
	ent = candidate(s, frame, &code);
	if (!ent)
		return 0;
	if (trusted) {
		/* a candidate: the rest needs the thread state anyway; check the register */
		__u64 cur = ts_frame(s, &ts);

		if (!ts)
			return 0;
		freg_verdict(site, cur == frame, true);
		if (cur != frame) {
			frame = cur;
			ent = candidate(s, frame, &code);
			if (!ent)
				return 0;
		}
	}
	/* the function start is the first RESUME; later ones resume generators */
	ip = fb_u64(&s->fr.fb, off.fr_ip);
	at = code_units(code) + (__u64)ent->resume_off * 2;
	if (ip > at) {
		/* a resume: profiling notes where a pattern's coroutine awaited */
		if (prof_on)
			note_await(frame, (__u32)(ip - code_units(code)));
		return 0;
	}
	if (resume_will_redispatch(&s->ts, code, ent))
		return 0;
	if (!left_to_breakpoint(frame, code))
		frame_started(s, frame, code, ent, frame);
	return 0;
}

/*
 * A hardware breakpoint on the argument byte of a target's function-start
 * instruction: the interpreter read it to dispatch that instruction.  Writes
 * by specialisation or instrumentation touch the opcode byte only.  Other
 * readers (dis, co_code) run in other frames and fail the frame test.
 */
SEC("perf_event")
int on_breakpoint(struct bpf_perf_event_data *ctx)
{
	struct bp_seen seen = {};
	struct ps_code_ent *ent;
	struct scratch *s;
	__u64 ts, frame, code;
	__u32 tid;

	if (!is_target())
		return 0;
	s = scratch();
	if (!s)
		return 0;
	frame = ts_frame(s, &ts);
	if (!frame)
		return 0;
	read_frame(&s->fr, frame, off.frame_kind == PYFRAME_OBJECT && capture_args);
	code = fb_u64(&s->fr.fb, off.fr_code);
	if (!bpf_map_lookup_elem(&bp_codes, &code))
		return 0;		/* shares the watched bytes (<= 3.10), or not armed yet */
	ent = code_ent(code);
	if (!ent || ent->kind == PS_CODE_IGNORE)
		return 0;
	if (off.frame_kind == PYFRAME_OBJECT) {
		/*
		 * <= 3.10: a dispatch of the first instruction.  The other reader is
		 * the opcache set-up at frame entry once a code has run 1024 times.
		 * 3.8/3.9 set f_lasti to 0 first, 3.10 reads first (f_lasti still
		 * -1); the opcache set-up reads from outside the eval function.
		 */
		__s32 lasti = fb_s32(&s->fr.fb, off.fr_lasti);
		__u64 ip = PT_REGS_IP(&ctx->regs);

		if (lasti > 0 || lasti < -1 || (lasti == -1 && (ip < eval_lo || ip >= eval_hi)))
			return 0;
		/* no entry stack pointer here: timed through the inflight map */
		frame_started(s, frame, code, ent, 0);
	} else {
		__u64 ip = fb_u64(&s->fr.fb, off.fr_ip);

		if (ip > code_units(code) + (__u64)ent->resume_off * 2)
			return 0;
		if (resume_will_redispatch(&s->ts, code, ent))
			return 0;
		frame_started(s, frame, code, ent, frame);
	}
	__sync_fetch_and_add(&bp_starts, 1);
	seen.frame = frame;
	seen.code = code;
	tid = cur_tid();
	bpf_map_update_elem(&bp_last, &tid, &seen, BPF_ANY);
	return 0;
}

/* 3.11+: a frame is being cleared, its call is over. */
SEC("uprobe")
int BPF_KPROBE(on_frame_clear)
{
	__u64 frame = PT_REGS_PARM1(ctx);

	if (!is_target())
		return 0;
	if (!tstack_pop(tstack(false), frame) && inflight_n > 0)
		frame_ended(frame);
	return 0;
}

/* 3.11 function__return site: the current frame returns, raises or yields. */
SEC("uprobe")
int BPF_KPROBE(on_frame_exit_cur)
{
	struct ps_tstack *stk;
	struct scratch *s;
	__u64 ts, frame;

	if (!is_target())
		return 0;
	/* nothing timed on this thread's stack nor in the map: no need for the frame */
	stk = tstack(false);
	if ((!stk || !stk->depth) && inflight_n <= 0)
		return 0;
	s = scratch();
	if (!s)
		return 0;
	ts = get_tstate(&s->ts);
	frame = ts ? current_frame(ts, &s->ts) : 0;
	if (!frame)
		return 0;
	/* plain functions cannot yield: on the stack, this is their end */
	if (tstack_pop(stk, frame) || !bpf_map_lookup_elem(&inflight, &frame))
		return 0;
	if (off.fr_owner != NONE && rd_s8(frame + off.fr_owner) == off.owned_by_generator) {
		__u64 gen = frame - off.gen_iframe;

		if (rd_s8(gen + off.gen_frame_state) < 0)
			return 0;	/* suspended at a yield */
	}
	frame_ended(frame);
	return 0;
}

/* A code object is freed: its address may come back as another one. */
SEC("uprobe")
int BPF_KPROBE(on_code_dealloc)
{
	__u64 code = PT_REGS_PARM1(ctx);

	if (!is_target())
		return 0;
	bpf_map_delete_elem(&codes, &code);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_type_dealloc)
{
	__u64 type = PT_REGS_PARM1(ctx);

	if (!is_target())
		return 0;
	bpf_map_delete_elem(&class_types, &type);
	return 0;
}

/*
 * The target forks: the child's calls are not counted here (the uprobe
 * links and is_target() select the target's tgid), so user space says so,
 * or follows the child with --follow-forks.  Threads share the tgid.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	if (parent->tgid != targ_tgid || child->tgid == parent->tgid || target_execd)
		return 0;
	__sync_fetch_and_add(&nforks, 1);
	proc_event(PS_EV_FORK, (__u32)child->tgid);
	return 0;
}

/* The target exec'd: stop counting before the new program runs any code. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (p->tgid != targ_tgid || target_execd)
		return 0;
	target_execd = 1;
	proc_event(PS_EV_EXEC, (__u32)p->tgid);
	return 0;
}
