/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * pyscope profile: on-CPU samples (a CPU-clock perf event per CPU) and
 * off-CPU waits (sched_switch), each attributed to the innermost pattern call
 * on the thread's Python stack: a frame on the thread's stack of timed calls
 * (task storage) or in the in-flight map.  A
 * coroutine counts only while its frame is on the stack, so its running time
 * and its awaiting time come apart.  Included by pyscope.bpf.c to share its
 * maps; the stack walk is the call-path walk's (same frame reader).
 */
#ifndef PYSCOPE_SAMPLE_BPF_H
#define PYSCOPE_SAMPLE_BPF_H

const volatile __u8 prof_on = 0;	/* profiling: record awaits on resumes */
const volatile __u8 prof_all = 0;	/* --all: keep samples outside pattern calls */
const volatile __u8 prof_offcpu = 0;	/* --off-cpu */
const volatile __u8 prof_sampled = 0;	/* --sampled: windows found by the samples themselves */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ps_sample_key);
	__type(value, struct ps_sample_val);
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ps_await_key);
	__type(value, __u64);
} awaits SEC(".maps");

struct offcpu_start {
	__u64 ts;
	struct ps_sample_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct offcpu_start);
} offcpu SEC(".maps");

/* A second scratch: samples may land while a probe uses the first. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} sample_scratch SEC(".maps");

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

	if (w->stk) {
		__u32 d = w->stk->depth;

		/* LIFO: the innermost is on top, below it only entries whose end was missed */
		for (int j = 0; j < 4; j++) {
			struct ps_tentry *e;

			if (d == 0 || d > PS_TSTACK)
				break;
			e = &w->stk->e[(d - 1) & (PS_TSTACK - 1)];
			if (e->frame == f) {
				*agg = e->agg_id;
				return true;
			}
			d--;
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

#endif /* PYSCOPE_SAMPLE_BPF_H */
