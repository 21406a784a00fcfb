/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pyscope profile: on-CPU samples (a CPU-clock perf event per CPU) and
 * off-CPU waits (sched_switch), each attributed to the innermost pattern
 * call on the thread's Python stack: a frame on the thread's stack of timed
 * calls (task storage) or in the in-flight map; with --sampled, the first
 * frame of a candidate code (window_agg).  A coroutine counts only while
 * its frame is on the stack, so its running time and its awaiting time
 * come apart; the awaits themselves are counted where they resume
 * (note_await).  The stack walk is the call-path walk's (same frame
 * reader).  The programs are in pyscope.bpf.c.
 */
#ifndef PYSCOPE_SAMPLE_BPF_H
#define PYSCOPE_SAMPLE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "pshash.h"
#include "maps.bpf.h"
#include "percpu.bpf.h"
#include "pyframe.bpf.h"
#include "code.bpf.h"
#include "paths.bpf.h"
#include "agg.bpf.h"
#include "timing.bpf.h"

/*
 * pyscope profile --sampled: the aggregate that a running frame of a
 * candidate code belongs to, built as at its start (arguments, caller and
 * call site are still in the frames), or -1.  No probe fires at frame
 * starts in this mode: only the samples pay.  Global: verified once.
 */
__noinline __s64 window_agg(__u64 frame, __u64 code)
{
	struct ps_code_ent *ent;
	struct scratch *s;
	__u64 caller = 0;
	__u32 zero = 0;

	ent = code_ent(code);
	if (!ent || ent->kind == PS_CODE_IGNORE)
		return -1;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return -1;
	read_frame(&s->fr, frame, capture_args);
	build_key(s, code, ent, &caller);
	if (!(ent->kind & PS_CODE_FUNC) && !instance_class(s))
		return -1;
	return agg_find(s, code, frame, caller);
}

/* A timed pattern call (generator, coroutine) resumes after awaiting at off. */
static __always_inline void note_await(__u64 frame, __u32 off_bytes)
{
	struct ps_inflight *rec;
	struct ps_await_key k;
	__u64 one = 1, *n;

	if (inflight_n <= 0)
		return;
	rec = bpf_map_lookup_elem(&inflight, &frame);
	if (!rec)
		return;
	k.agg_id = rec->agg_id;
	k.offset = off_bytes;
	n = bpf_map_lookup_elem(&awaits, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&awaits, &k, &one, BPF_NOEXIST);
}

struct sample_walk {
	struct scratch *s;
	__u64 frame;
	__u64 hash;
	struct ps_tstack *stk;		/* the thread's timed calls, or NULL */
	__u32 agg_id;
	__u32 win_depth;
	__u32 n;
};

/* Is frame f a timed call of this thread?  Its aggregate into *agg. */
static __always_inline bool timed_frame(struct sample_walk *w, __u64 f, __u32 *agg)
{
	struct ps_inflight *rec;
	struct ps_tentry *e;
	__u32 d;
	int above;

	if (w->stk) {
		/* LIFO: the innermost is on top, below it only entries whose end was missed */
		e = tstack_find(w->stk, f, true, &d, &above);
		if (e) {
			*agg = e->agg_id;
			return true;
		}
	}
	if (inflight_n <= 0)
		return false;
	rec = bpf_map_lookup_elem(&inflight, &f);
	if (!rec)
		return false;
	*agg = rec->agg_id;
	return true;
}

/* bpf_loop callback: one frame of the whole stack, leaf first. */
static long sample_frame(__u32 i, void *data)
{
	struct sample_walk *w = data;
	__u64 f = w->frame, code;
	__u32 o, agg;

	if (!f || i >= PS_MAX_DEPTH)
		return 1;
	code = frame_code(f);
	o = frame_offset_at(f, code);
	w->s->fcode[i] = code;
	w->s->fframe[i] = f;
	w->s->foff[i] = o;
	w->hash = (w->hash ^ code) * PS_FNV_PRIME;
	w->hash = (w->hash ^ o) * PS_FNV_PRIME;
	if (w->agg_id == PS_NO_WINDOW) {
		if (prof_sampled) {
			__s64 a = window_agg(f, code);

			if (a >= 0) {
				w->agg_id = (__u32)a;
				w->win_depth = i;
			}
		} else if (timed_frame(w, f, &agg)) {
			w->agg_id = agg;
			w->win_depth = i;
		}
	}
	w->n = i + 1;
	w->frame = caller_frame(f);
	return 0;
}

/*
 * The key of a sample of the calling thread's Python stack; false when the
 * thread is not in Python, or outside every pattern call without --all.
 */
static __always_inline bool sample_key(struct ps_sample_key *k, __u8 kind)
{
	struct sample_walk w = { .hash = PS_FNV_OFFSET, .agg_id = PS_NO_WINDOW };
	__u32 zero = 0;
	__u64 ts;

	w.s = bpf_map_lookup_elem(&sample_scratch, &zero);
	if (!w.s)
		return false;
	ts = get_tstate_any(&w.s->ts);
	w.frame = ts ? current_frame(ts, &w.s->ts) : 0;
	if (!w.frame)
		return false;
	w.stk = tstack(false);
	bpf_loop(PS_MAX_DEPTH, sample_frame, &w, 0);
	if (w.agg_id == PS_NO_WINDOW && !prof_all)
		return false;
	k->stack = w.hash | 1;
	k->agg_id = w.agg_id;
	k->win_depth = (__u16)w.win_depth;
	k->kind = kind;
	k->pad = 0;
	w.s->nframes = w.n;
	w.s->truncated = w.frame != 0;
	announce_path(k->stack, w.s);
	return true;
}

static __always_inline void add_sample(struct ps_sample_key *k, __u64 ns)
{
	struct ps_sample_val *v = bpf_map_lookup_elem(&samples, k), init = {};

	if (!v) {
		bpf_map_update_elem(&samples, k, &init, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&samples, k);
		if (!v) {
			count(PS_CNT_AGG_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->ns, ns);
}

/* A wait of a target thread ends: add the time since it blocked. */
static __always_inline void wait_over(__u32 tid)
{
	struct offcpu_start *st = bpf_map_lookup_elem(&offcpu, &tid);
	struct ps_sample_key k;
	__u64 dt;

	if (!st)
		return;
	k = st->key;
	dt = bpf_ktime_get_ns() - st->ts;
	bpf_map_delete_elem(&offcpu, &tid);
	add_sample(&k, dt);
}

#endif /* PYSCOPE_SAMPLE_BPF_H */
