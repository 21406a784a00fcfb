/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Timing: a call of a code that may match starts (counted in its
 * aggregate, its rule record sent, its start kept) and ends (its time added
 * to the aggregate's statistics).  Plain functions keep their start on the
 * thread's stack of timed calls (task storage); generators, which may
 * suspend and end elsewhere, in the inflight map.
 */
#ifndef PYSCOPE_TIMING_BPF_H
#define PYSCOPE_TIMING_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "pshist.h"
#include "maps.bpf.h"
#include "percpu.bpf.h"
#include "filter.bpf.h"
#include "pyframe.bpf.h"
#include "code.bpf.h"
#include "rules.bpf.h"
#include "agg.bpf.h"

static __always_inline struct ps_tstack *tstack(bool create)
{
	return bpf_task_storage_get(&tstacks, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* Add one timed call to its aggregate's statistics. */
static __always_inline void record_end(__u32 agg_id, __u64 start_ns)
{
	struct ps_stats *st = bpf_map_lookup_elem(&stats, &agg_id);
	__u64 dt = bpf_ktime_get_ns() - start_ns, cur;

	if (!st)
		return;
	__sync_fetch_and_add(&st->timed, 1);
	__sync_fetch_and_add(&st->sum_ns, dt);
	__sync_fetch_and_add(&st->hist[ps_hist_bucket(dt)], 1);
	cur = st->max_ns;
	for (int i = 0; i < 8 && dt > cur; i++) {
		__u64 seen = __sync_val_compare_and_swap(&st->max_ns, cur, dt);

		if (seen == cur)
			break;
		cur = seen;
	}
}

/* Push a started call on this thread's stack of timed calls; false when it is full. */
static __always_inline bool tstack_push(struct ps_tstack *stk, __u64 key, __u64 frame,
					__u64 start_ns, __u32 agg_id)
{
	__u32 d = stk->depth;
	struct ps_tentry *e;

	if (d >= PS_TSTACK)
		return false;
	e = &stk->e[d & (PS_TSTACK - 1)];
	e->key = key;
	e->frame = frame;
	e->start_ns = start_ns;
	e->agg_id = agg_id;
	stk->depth = d + 1;
	return true;
}

/*
 * A call on this thread's stack of timed calls, found by its key (by_frame:
 * by its frame): normally the top; a few entries deeper when ends were
 * missed.  Its entry, with its depth (from 1) and the entries above it;
 * NULL when it is not there.
 */
static __always_inline struct ps_tentry *tstack_find(struct ps_tstack *stk, __u64 v, bool by_frame,
						     __u32 *depth, int *above)
{
	__u32 d = stk->depth;

	for (int j = 0; j < 4; j++) {
		struct ps_tentry *e;

		if (d == 0 || d > PS_TSTACK)
			return NULL;
		e = &stk->e[(d - 1) & (PS_TSTACK - 1)];
		if ((by_frame ? e->frame : e->key) == v) {
			*depth = d;
			*above = j;
			return e;
		}
		d--;
	}
	return NULL;
}

/*
 * A call ends whose start was pushed on this thread's stack under @key;
 * the ends of the calls above it were missed (counted, their timing is
 * lost).  False when @key is not there.
 */
static __always_inline bool tstack_pop(struct ps_tstack *stk, __u64 key)
{
	struct ps_tentry *e;
	__u32 d;
	int above;

	if (!stk)
		return false;
	e = tstack_find(stk, key, false, &d, &above);
	if (!e)
		return false;
	if (above)
		count(PS_CNT_UNPAIRED);
	stk->depth = d - 1;
	record_end(e->agg_id, e->start_ns);
	return true;
}

/*
 * A frame of a code that may match has started; s->fr holds its copy.
 * Plain functions are timed on the thread's stack under @skey (the frame,
 * or <=3.10 the stack pointer at entry); generators, which may suspend and
 * end elsewhere, and starts seen where no entry stack pointer is known
 * (@skey 0: a breakpoint on <=3.10), in the inflight map.
 */
static __always_inline void frame_started(struct scratch *s, __u64 frame, __u64 code,
					  struct ps_code_ent *ent, __u64 skey)
{
	struct ps_inflight rec = {};
	struct ps_tstack *stk;
	struct ps_stats *st;
	__u64 caller = 0;
	__s64 id;
	__u8 rule = ent->kind & PS_CODE_FUNC ? ent->bits & PS_CE_RULE : 0;

	build_key(s, code, ent, &caller);
	if (!(ent->kind & PS_CODE_FUNC)) {
		__u8 cls = instance_class(s);

		if (!cls)
			return;
		rule = cls & PS_NAME_RULE;
	} else if (rules_on && (ent->kind & PS_CODE_INIT) && s->key.types[0]) {
		rule |= class_wanted(s->key.types[0]) & PS_NAME_RULE;
	}
	id = agg_find(s, code, frame, caller);
	if (id < 0)
		return;
	rec.agg_id = (__u32)id;
	st = bpf_map_lookup_elem(&stats, &rec.agg_id);
	if (!st)
		return;
	__sync_fetch_and_add(&st->count, 1);

	rec.start_ns = bpf_ktime_get_ns();
	st->last_ns = rec.start_ns;
	if (rules_on && rule)
		send_call(s, code, ent->rule_slot, rec.agg_id, rec.start_ns);
	if (!timing_on)
		return;
	stk = tstack(true);
	if (stk && skey && !(ent->bits & PS_CE_GEN) &&
	    tstack_push(stk, skey, frame, rec.start_ns, rec.agg_id))
		return;
	rec.tid = cur_tid();
	if (off.frame_kind == PYFRAME_OBJECT) {
		rec.caller_frame = fb_u64(&s->fr.fb, off.fr_back);
		bpf_map_update_elem(&callers, &rec.caller_frame, &frame, BPF_ANY);
		if (stk)
			stk->pending++;
	}
	if (!bpf_map_update_elem(&inflight, &frame, &rec, BPF_NOEXIST)) {
		__sync_fetch_and_add(&inflight_n, 1);
	} else {
		count(PS_CNT_UNPAIRED);
		if (bpf_map_update_elem(&inflight, &frame, &rec, BPF_ANY))
			count(PS_CNT_INFLIGHT_FULL);
	}
}

/* A frame timed in the inflight map has ended. */
static __always_inline void frame_ended(__u64 frame)
{
	struct ps_inflight *rec = bpf_map_lookup_elem(&inflight, &frame);
	__u64 start;
	__u32 agg;

	if (!rec)
		return;
	start = rec->start_ns;
	agg = rec->agg_id;
	if (!bpf_map_delete_elem(&inflight, &frame))
		__sync_fetch_and_add(&inflight_n, -1);
	record_end(agg, start);
}

#endif /* PYSCOPE_TIMING_BPF_H */
