// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * pyscope kernel side: count and time the starts of Python code objects
 * that may belong to a pattern.
 *
 * Where a frame starts and ends is chosen per interpreter by the user side
 * (src/plan.c); each program below is one such probe:
 *   on_eval_entry / on_eval_return   _PyEval_EvalFrameDefault (3.8-3.10),
 *                                    every Python call enters it
 *   on_resume                        the RESUME opcode handlers (3.11+),
 *                                    every function start executes one
 *   on_frame_clear                   _PyFrame_Clear(ExceptCode) (3.11+),
 *                                    every frame ends through it
 *   on_frame_exit_cur                the function__return USDT site, where
 *                                    _PyFrame_Clear is not visible
 *   on_code_dealloc / on_type_dealloc  forget freed objects
 *
 * Per call of a code that may match, the hot path is one code-cache lookup,
 * one aggregate lookup and an atomic add; the ring buffer carries only
 * first sightings.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "pyscope.h"
#include "pshist.h"
#include "pyframe.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u64 hash_init = 0;	/* ps_hash_str("__init__") */
const volatile __u64 hash_new = 0;	/* ps_hash_str("__new__") */
const volatile __u8 class_patterns = 0;	/* any class:... pattern */
const volatile __u8 capture_args = 1;
/* call paths: frames walked per hit (0: only the immediate caller) */
const volatile __u32 path_depth = 0;
/* --capture: the names are in capnames; values are str or int */
const volatile __u8 capture_on = 0;
const volatile __u64 str_type_addr = 0;		/* &PyUnicode_Type */
const volatile __u64 long_type_addr = 0;	/* &PyLong_Type */
/* _PyEval_EvalFrameDefault's range in the target (breakpoints on <= 3.10) */
const volatile __u64 eval_lo = 0;
const volatile __u64 eval_hi = 0;
/* breakpoints may be armed: the uprobe programs consult bp_codes */
__u8 bp_active = 0;

__u32 next_code_id = 1;
__u32 next_agg_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PS_MAX_CODES);
	__type(key, __u64);			/* code object */
	__type(value, struct ps_code_ent);
} codes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_CODES);
	__type(key, __u32);			/* code id */
	__type(value, __u8);
} code_sent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);			/* ps_hash_str(name) */
	__type(value, __u8);
} names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);			/* ps_hash_str(class __name__) */
	__type(value, __u8);
} classnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);			/* type object */
	__type(value, __u8);			/* 1: a class pattern's name */
} class_types SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u64);			/* ps_hash_str(parameter name) */
	__type(value, __u8);
} capnames SEC(".maps");

/* call paths already announced */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} stacks_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_AGGS);
	__type(key, struct ps_aggkey);
	__type(value, __u32);
} aggs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PS_MAX_AGGS);
	__type(key, __u32);
	__type(value, struct ps_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_INFLIGHT);
	__type(key, __u64);			/* frame */
	__type(value, struct ps_inflight);
} inflight SEC(".maps");

/* <= 3.10: caller frame -> running target frame, found again at return */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_INFLIGHT);
	__type(key, __u64);
	__type(value, __u64);
} callers SEC(".maps");

/*
 * Code objects counted by breakpoints.  The RESUME/eval programs leave them
 * to the breakpoint program, except for a start the breakpoint did not
 * count (armed between the two): bp_seen says, per thread, which frame the
 * breakpoint last saw and whether it counted it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);			/* code object */
	__type(value, __u8);
} bp_codes SEC(".maps");

struct bp_seen {
	__u64 frame;
	__u64 code;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct bp_seen);
} bp_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct scratch {
	char name[PS_QUAL_LEN];
	__u16 units[PS_RESUME_SCAN];
	struct ps_aggkey key;
	__u64 fcode[PS_MAX_DEPTH];		/* the path being built */
	__u64 fframe[PS_MAX_DEPTH];
	__u32 foff[PS_MAX_DEPTH];
	__u32 nframes, truncated;
	char cap[PS_CAP_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += 1;
}

static __always_inline bool is_resume_op(__u16 unit)
{
	__u16 op = unit & 0xff;

	return op == off.op_resume || op == off.op_resume_quick ||
	       op == off.op_instrumented_resume;
}

/* Code units before the first RESUME (the function-start instruction). */
static __always_inline __u16 find_resume(__u64 code, struct scratch *s)
{
	if (off.op_resume == NONE)
		return 0;
	if (bpf_probe_read_user(s->units, sizeof(s->units), (const void *)code_units(code)))
		return 0;
	for (int i = 0; i < PS_RESUME_SCAN; i++) {
		if (is_resume_op(s->units[i]))
			return i;
	}
	return 0;
}

/* 1 + the parameter slot whose name is a --capture name, or 0. */
static __always_inline __u8 find_capture(__u64 code, struct scratch *s)
{
	__u64 names = rd_u64(code + off.co_varnames);
	__u32 n = (__u32)rd_s32(code + off.co_argcount) + (__u32)rd_s32(code + off.co_kwonlyargcount);

	for (__u32 i = 0; i < PS_CAP_SCAN; i++) {
		__u64 h;

		if (i >= n)
			break;
		read_pystr(rd_u64(names + off.tup_item + i * 8), s->name, sizeof(s->name));
		h = ps_hash_str(s->name);
		if (bpf_map_lookup_elem(&capnames, &h))
			return (__u8)(i + 1);
	}
	return 0;
}

/* Decide what a code object seen for the first time may be (global: verified once). */
__noinline int classify(__u64 code)
{
	struct ps_code_ent ent = {};
	struct scratch *s;
	__u32 zero = 0;
	__u64 h;

	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	read_pystr(rd_u64(code + off.co_name), s->name, sizeof(s->name));
	h = ps_hash_str(s->name);
	if (class_patterns && h == hash_init)
		ent.kind |= PS_CODE_INIT;
	if (class_patterns && h == hash_new)
		ent.kind |= PS_CODE_INIT | PS_CODE_NEW;
	if (off.co_qualname != NONE) {
		read_pystr(rd_u64(code + off.co_qualname), s->name, sizeof(s->name));
		h = ps_hash_str(s->name);
	}
	if (bpf_map_lookup_elem(&names, &h))
		ent.kind |= PS_CODE_FUNC;
	if (ent.kind != PS_CODE_IGNORE) {
		ent.resume_off = find_resume(code, s);
		if (capture_on)
			ent.cap_slot = find_capture(code, s);
	}
	ent.id = __sync_fetch_and_add(&next_code_id, 1);
	bpf_map_update_elem(&codes, &code, &ent, BPF_ANY);
	return 1;
}

static __always_inline struct ps_code_ent *code_ent(__u64 code)
{
	struct ps_code_ent *ent = bpf_map_lookup_elem(&codes, &code);

	if (ent || !classify(code))
		return ent;
	return bpf_map_lookup_elem(&codes, &code);
}

/* Announce a code object's names and line table, once per code id. */
static __always_inline void send_code(__u64 code, struct ps_code_ent *ent, __u64 frame)
{
	struct ps_ev_code *ev;
	__u64 lt;
	__u32 n;
	__u8 one = 1;

	if (bpf_map_lookup_elem(&code_sent, &ent->id))
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(PS_CNT_RB_LOST);
		return;
	}
	ev->type = PS_EV_CODE;
	ev->code_id = ent->id;
	ev->code_addr = code;
	ev->kind = ent->kind;
	ev->firstlineno = (__u32)rd_s32(code + off.co_firstlineno);
	ev->co_flags = (__u32)rd_s32(code + off.co_flags);
	ev->argcount = (__u32)rd_s32(code + off.co_argcount);
	read_pystr(rd_u64(code + off.co_name), ev->name, sizeof(ev->name));
	if (off.co_qualname != NONE)
		read_pystr(rd_u64(code + off.co_qualname), ev->qualname, sizeof(ev->qualname));
	else
		__builtin_memcpy(ev->qualname, ev->name, sizeof(ev->name));
	read_pystr(rd_u64(code + off.co_filename), ev->filename, sizeof(ev->filename));
	ev->module[0] = '\0';
	if (off.fr_func != NONE) {
		/* 3.11+: the running function's __module__ */
		__u64 func = rd_u64(frame + off.fr_func);

		if (func)
			read_pystr(rd_u64(func + off.fn_module), ev->module, sizeof(ev->module));
	} else {
		read_module_name(rd_u64(frame + off.fr_globals), ev->module, sizeof(ev->module));
	}
	lt = rd_u64(code + off.co_linetable);
	n = lt ? (__u32)rd_u64(lt + off.by_size) : 0;
	ev->lt_total = n;
	if (n > PS_LT_MAX)
		n = PS_LT_MAX;
	ev->lt_len = 0;
	if (n && !bpf_probe_read_user(ev->linetable, n & (PS_LT_MAX - 1) ? n & (PS_LT_MAX - 1) : PS_LT_MAX,
				      (const void *)(lt + off.by_sval)))
		ev->lt_len = n;
	bpf_ringbuf_submit(ev, 0);
	bpf_map_update_elem(&code_sent, &ent->id, &one, BPF_ANY);
}

/* Is the class being constructed one a class pattern names? */
static __always_inline bool class_wanted(__u64 type)
{
	struct scratch *s;
	__u32 zero = 0;
	__u8 *hit, v;
	__u64 h;

	hit = bpf_map_lookup_elem(&class_types, &type);
	if (hit)
		return *hit;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return false;
	s->name[0] = '\0';
	bpf_probe_read_user_str(s->name, sizeof(s->name), (const void *)rd_u64(type + off.tp_name));
	h = ps_hash_str(s->name);
	v = bpf_map_lookup_elem(&classnames, &h) ? 1 : 0;
	bpf_map_update_elem(&class_types, &type, &v, BPF_ANY);
	return v;
}

/* Sum of the str hashes of a **kwargs dict's keys (order-free). */
static __always_inline __u64 kwargs_hash(__u64 dict, __u16 *flags)
{
	__u32 esize, koff;
	__u64 nent = 0, h = 0, key, e = dict_entries(dict, &nent, &esize, &koff);

	if (!e)
		return 0;
	if (nent > PS_MAX_KW) {
		*flags |= PS_AGG_KW_TRUNC;
		nent = PS_MAX_KW;
	}
	for (int i = 0; i < PS_MAX_KW; i++) {
		if (i >= nent)
			break;
		key = rd_u64(e + i * esize + koff);
		if (key)
			h += rd_u64(key + off.u_hash);
	}
	return h;
}

/* The value of the --capture argument: a str (by hash), an int, or a type. */
static __always_inline void capture(struct ps_aggkey *k, __u64 frame, __u64 code, __u32 slot)
{
	__u64 obj = read_arg(frame, code, slot), type;
	struct scratch *s;
	__u32 zero = 0;

	if (!obj)
		return;
	type = rd_u64(obj + off.ob_type);
	if (type == str_type_addr) {
		s = bpf_map_lookup_elem(&scratch_map, &zero);
		if (!s)
			return;
		read_pystr(obj, s->cap, sizeof(s->cap));
		k->capval = ps_hash_strn(s->cap, sizeof(s->cap));
		k->flags |= PS_AGG_CAP_STR;
	} else if (type == long_type_addr) {
		/* up to two 30-bit digits; the sign is in ob_size (<= 3.11) or lv_tag */
		__u64 size = rd_u64(obj + off.lg_size), ndig, d0, d1;
		bool neg;

		if (off.lg_tag) {
			ndig = size >> 3;
			neg = (size & 3) == 2;
		} else {
			neg = (__s64)size < 0;
			ndig = neg ? -size : size;
		}
		if (ndig > 2) {
			k->flags |= PS_AGG_CAP_BIG;
			return;
		}
		d0 = ndig > 0 ? (__u32)rd_s32(obj + off.lg_digit) : 0;
		d1 = ndig > 1 ? (__u32)rd_s32(obj + off.lg_digit + 4) : 0;
		k->capval = (d0 & 0x3fffffff) | ((d1 & 0x3fffffff) << 30);
		if (neg)
			k->capval = -k->capval;
		k->flags |= PS_AGG_CAP_INT;
	} else {
		k->capval = type;
		k->flags |= PS_AGG_CAP_OTHER;
	}
}

/*
 * The call path above @frame: code and call offset of each Python frame,
 * innermost first, and a hash of it that identifies it in aggregate keys.
 */
static __always_inline __u64 walk_path(__u64 frame, struct scratch *s)
{
	__u64 h = PS_FNV_OFFSET, f = caller_frame(frame);
	__u32 n = 0;

	s->truncated = 0;
	for (int i = 0; i < PS_MAX_DEPTH; i++) {
		__u64 code;
		__u32 o;

		if (!f)
			break;
		if (i >= path_depth) {
			s->truncated = 1;
			break;
		}
		code = frame_code(f);
		o = frame_offset(f, code);
		s->fcode[i & (PS_MAX_DEPTH - 1)] = code;
		s->fframe[i & (PS_MAX_DEPTH - 1)] = f;
		s->foff[i & (PS_MAX_DEPTH - 1)] = o;
		h = (h ^ code) * PS_FNV_PRIME;
		h = (h ^ o) * PS_FNV_PRIME;
		n++;
		f = caller_frame(f);
	}
	s->nframes = n;
	return h | 1;		/* never 0: 0 means "no path" */
}

struct announce_ctx {
	struct scratch *s;
	struct ps_ev_stack *ev;
};

/* bpf_loop callback: the code id of path frame i, announcing the code once. */
static long announce_frame(__u32 i, void *data)
{
	struct announce_ctx *c = data;
	struct ps_code_ent *ent;
	__u64 code;

	if (i >= PS_MAX_DEPTH)
		return 1;
	code = c->s->fcode[i];
	ent = code_ent(code);
	c->ev->frames[i].offset = c->s->foff[i];
	c->ev->frames[i].code_id = ent ? ent->id : 0;
	if (ent)
		send_code(code, ent, c->s->fframe[i]);
	return 0;
}

/* Announce a new path (frames in s), with code ids and each code once. */
static __always_inline int announce_path(__u64 stack, struct scratch *s)
{
	struct announce_ctx c = { .s = s };
	struct ps_ev_stack *ev;
	__u8 one = 1;

	if (bpf_map_update_elem(&stacks_seen, &stack, &one, BPF_NOEXIST))
		return 0;	/* announced already (or by another CPU just now) */
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(PS_CNT_RB_LOST);
		bpf_map_delete_elem(&stacks_seen, &stack);
		return 0;
	}
	ev->type = PS_EV_STACK;
	ev->stack = stack;
	ev->nframes = s->nframes;
	ev->truncated = s->truncated;
	c.ev = ev;
	bpf_loop(s->nframes, announce_frame, &c, 0);
	bpf_ringbuf_submit(ev, 0);
	return 1;
}

/* First sighting of the path in the probes' scratch.  Global: verified once. */
__noinline int new_path(__u64 stack)
{
	struct scratch *s;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&scratch_map, &zero);
	return s ? announce_path(stack, s) : 0;
}

/* Fill the aggregate key for a call of @code starting in @frame. */
static __always_inline void build_key(struct ps_aggkey *k, __u64 frame, __u64 code,
				      struct ps_code_ent *ent, __u64 *callerp)
{
	__u64 caller, arg0 = 0;
	__u32 argc, flags, n = 0, slot;
	struct ps_code_ent *cent;

	__builtin_memset(k, 0, sizeof(*k));
	k->code_id = ent->id;
	argc = (__u32)rd_s32(code + off.co_argcount);
	flags = (__u32)rd_s32(code + off.co_flags);
	if (capture_args) {
		for (int i = 0; i < PS_MAX_SIG; i++) {
			__u64 obj;

			if (i >= argc)
				break;
			obj = read_arg(frame, code, i);
			if (i == 0)
				arg0 = obj;
			k->types[i] = obj ? rd_u64(obj + off.ob_type) : 0;
			n++;
		}
		slot = argc + (__u32)rd_s32(code + off.co_kwonlyargcount);
		if (flags & PY_CO_VARARGS) {
			__u64 tup = read_arg(frame, code, slot);
			__u64 len = tup ? rd_u64(tup + off.tup_size) : 0;

			for (int i = 0; i < PS_MAX_SIG; i++) {
				__u64 obj;

				if (i >= len || n >= PS_MAX_SIG)
					break;
				obj = rd_u64(tup + off.tup_item + i * 8);
				if (n == 0)
					arg0 = obj;
				k->types[n] = obj ? rd_u64(obj + off.ob_type) : 0;
				n++;
			}
			slot++;
		}
		if (flags & PY_CO_VARKEYWORDS)
			k->kwhash = kwargs_hash(read_arg(frame, code, slot), &k->flags);
	}
	k->nargs = n;
	if (ent->cap_slot)
		capture(k, frame, code, ent->cap_slot - 1);

	caller = caller_frame(frame);
	*callerp = caller;
	if (!caller) {
		k->flags |= PS_AGG_NO_CALLER;
	} else {
		__u64 ccode = frame_code(caller);

		cent = code_ent(ccode);
		if (cent) {
			k->caller_id = cent->id;
			k->caller_off = frame_offset(caller, ccode);
		}
		/* the same first argument in the caller: super().__init__() and kin */
		if (arg0 && rd_s32(ccode + off.co_nlocals) > 0 && read_arg(caller, ccode, 0) == arg0)
			k->flags |= PS_AGG_CHAINED;
	}
	if ((ent->kind & PS_CODE_NEW) && arg0) {
		/* __new__ receives the class itself: record the class */
		k->types[0] = arg0;
		k->flags |= PS_AGG_NEW;
	}
}

/*
 * First sighting of the aggregate whose key is in scratch: allocate its id
 * and announce it (and its codes).  Global: verified once.
 */
__noinline int new_agg(__u64 code, __u64 frame, __u64 caller)
{
	struct ps_code_ent *ent = bpf_map_lookup_elem(&codes, &code);
	struct ps_aggkey *k;
	struct ps_ev_agg *ev;
	struct scratch *s;
	__u32 id, *idp, zero = 0;

	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s || !ent)
		return -1;
	k = &s->key;

	id = __sync_fetch_and_add(&next_agg_id, 1);
	if (id >= PS_MAX_AGGS) {
		count(PS_CNT_AGG_FULL);
		return -1;
	}
	if (bpf_map_update_elem(&aggs, k, &id, BPF_NOEXIST)) {
		idp = bpf_map_lookup_elem(&aggs, k);
		if (!idp) {
			count(PS_CNT_AGG_FULL);
			return -1;
		}
		return *idp;
	}
	send_code(code, ent, frame);
	if (caller) {
		__u64 ccode = frame_code(caller);
		struct ps_code_ent *cent = bpf_map_lookup_elem(&codes, &ccode);

		if (cent)
			send_code(ccode, cent, caller);
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(PS_CNT_RB_LOST);
		return id;
	}
	ev->type = PS_EV_AGG;
	ev->agg_id = id;
	ev->key = *k;
	ev->nkw = 0;
	ev->tid = cur_tid();
	ev->ts_ns = bpf_ktime_get_ns();
	for (int i = 0; i < PS_MAX_SIG; i++) {
		ev->type_names[i][0] = '\0';
		if (i < k->nargs && k->types[i])
			read_type_name(k->types[i], ev->type_names[i], PS_TYPE_LEN);
	}
	for (int i = 0; i < PS_MAX_KW; i++)
		ev->kwnames[i][0] = '\0';
	ev->capture[0] = '\0';
	if (k->flags & PS_AGG_CAP_STR) {
		__builtin_memcpy(ev->capture, s->cap, sizeof(ev->capture));
	} else if (k->flags & PS_AGG_CAP_OTHER) {
		read_type_name(k->capval, ev->capture, sizeof(ev->capture));
	}
	if (k->kwhash) {
		/* names of the **kwargs keys, for the report */
		__u32 argc = (__u32)rd_s32(code + off.co_argcount);
		__u32 flags = (__u32)rd_s32(code + off.co_flags);
		__u32 slot = argc + (__u32)rd_s32(code + off.co_kwonlyargcount) +
			     ((flags & PY_CO_VARARGS) ? 1 : 0);
		__u32 esize, koff;
		__u64 nent = 0, e = dict_entries(read_arg(frame, code, slot), &nent, &esize, &koff);

		for (int i = 0; i < PS_MAX_KW && e; i++) {
			__u64 key;

			if (i >= nent)
				break;
			key = rd_u64(e + i * esize + koff);
			if (key && read_pystr(key, ev->kwnames[i], PS_KW_LEN) > 0)
				ev->nkw++;
		}
	}
	bpf_ringbuf_submit(ev, 0);
	return id;
}

/*
 * A frame of a code that may match has started: count it and start its
 * timer.  A global function, so the verifier checks it once on its own
 * rather than once per calling program and path.
 */
__noinline int count_start(__u64 frame, __u64 code)
{
	struct ps_inflight rec = {};
	struct ps_code_ent *ent;
	struct ps_stats *st;
	struct scratch *s;
	__u32 zero = 0, *idp;
	__u64 caller = 0;
	__s64 id;

	ent = bpf_map_lookup_elem(&codes, &code);
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!ent || !s)
		return 0;
	build_key(&s->key, frame, code, ent, &caller);
	if (path_depth) {
		s->key.stack = walk_path(frame, s);
		new_path(s->key.stack);
	}
	if (!(ent->kind & PS_CODE_FUNC)) {
		/* only class patterns could want it: check the instance's class */
		__u64 t = s->key.types[0];

		if (!t || !class_wanted(t))
			return 0;
	}
	idp = bpf_map_lookup_elem(&aggs, &s->key);
	if (idp)
		id = *idp;
	else
		id = new_agg(code, frame, caller);
	if (id < 0)
		return 0;
	rec.agg_id = (__u32)id;
	st = bpf_map_lookup_elem(&stats, &rec.agg_id);
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->count, 1);
	rec.start_ns = bpf_ktime_get_ns();
	st->last_ns = rec.start_ns;
	rec.tid = cur_tid();
	if (off.frame_kind == PYFRAME_OBJECT) {
		rec.caller_frame = rd_u64(frame + off.fr_back);
		bpf_map_update_elem(&callers, &rec.caller_frame, &frame, BPF_ANY);
	}
	if (bpf_map_update_elem(&inflight, &frame, &rec, BPF_NOEXIST)) {
		count(PS_CNT_UNPAIRED);
		if (bpf_map_update_elem(&inflight, &frame, &rec, BPF_ANY))
			count(PS_CNT_INFLIGHT_FULL);
	}
	return 0;
}

#include "sample.bpf.h"

/* A timed frame has ended. */
static __always_inline void frame_ended(__u64 frame)
{
	struct ps_inflight *rec = bpf_map_lookup_elem(&inflight, &frame);
	struct ps_stats *st;
	__u64 dt, cur;

	if (!rec)
		return;
	dt = bpf_ktime_get_ns() - rec->start_ns;
	st = bpf_map_lookup_elem(&stats, &rec->agg_id);
	bpf_map_delete_elem(&inflight, &frame);
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

/* A timed pattern call (generator, coroutine) resumes after awaiting at off. */
static __always_inline void note_await(__u64 frame, __u32 off_bytes)
{
	struct ps_inflight *rec = bpf_map_lookup_elem(&inflight, &frame);
	struct ps_await_key k;
	__u64 one = 1, *n;

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

/* For the uprobe programs: was this start already counted by a breakpoint? */
static __always_inline bool left_to_breakpoint(__u64 frame, __u64 code)
{
	struct bp_seen *seen;
	__u32 tid;

	if (!bp_active || !bpf_map_lookup_elem(&bp_codes, &code))
		return false;
	tid = cur_tid();
	seen = bpf_map_lookup_elem(&bp_last, &tid);
	if (!seen || seen->frame != frame || seen->code != code)
		return false;
	bpf_map_delete_elem(&bp_last, &tid);
	return true;
}

/* 3.8-3.10: every Python frame is evaluated by a call of this function. */
SEC("uprobe")
int BPF_KPROBE(on_eval_entry)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx);
	struct ps_code_ent *ent;
	__u64 frame, code;

	if (!is_target())
		return 0;
	/* 3.8: (frame, throwflag); 3.9+: (tstate, frame, throwflag) */
	frame = off.eval_frame_arg == 1 ? a1 : a2;
	code = frame_code(frame);
	ent = code_ent(code);
	if (!ent || ent->kind == PS_CODE_IGNORE)
		return 0;
	if (rd_s32(frame + off.fr_lasti) == -1) {
		if (!left_to_breakpoint(frame, code))
			count_start(frame, code);
	} else {
		/* a generator resumes: find it again at its next return */
		struct ps_inflight *rec = bpf_map_lookup_elem(&inflight, &frame);

		if (prof_on)
			note_await(frame, frame_offset(frame, code));
		if (rec) {
			rec->caller_frame = rd_u64(frame + off.fr_back);
			bpf_map_update_elem(&callers, &rec->caller_frame, &frame, BPF_ANY);
		}
	}
	return 0;
}

/*
 * 3.8-3.10: on return, the thread's current frame is the caller again; a
 * target frame registered under that caller is the one returning.  A
 * generator that only yielded stays in flight.
 */
SEC("uretprobe")
int BPF_KRETPROBE(on_eval_return)
{
	__u64 ts, cur, *fp, frame;
	bool suspended;

	if (!is_target())
		return 0;
	ts = get_tstate();
	if (!ts)
		return 0;
	cur = rd_u64(ts + off.ts_frame);
	fp = bpf_map_lookup_elem(&callers, &cur);
	if (!fp)
		return 0;
	frame = *fp;
	bpf_map_delete_elem(&callers, &cur);
	if (off.fr_state != NONE)
		suspended = rd_s8(frame + off.fr_state) < 0;
	else
		suspended = rd_u64(frame + off.fr_stacktop) != 0;
	if (!suspended)
		frame_ended(frame);
	return 0;
}

/*
 * Instrumentation version check (3.12+): when it differs, RESUME updates
 * the code and dispatches itself again, and that second execution is the
 * one to count.
 */
static __always_inline bool resume_will_redispatch(__u64 ts, __u64 code)
{
	__u64 cv, gv;

	if (off.instr_ver_from == 0)
		return false;
	cv = rd_u64(code + off.co_instr_version);
	if (off.instr_ver_from == 1) {
		__u64 interp = rd_u64(ts + off.ts_interp);

		gv = rd_u64(interp + off.is_monitoring_version);
	} else {
		gv = rd_u64(ts + off.ts_eval_breaker);
		gv &= ~((1ULL << (off.instr_ver_mask_bits & 63)) - 1);
	}
	return cv != gv;
}

/* 3.11+: a RESUME instruction is about to run in the current frame. */
SEC("uprobe")
int BPF_KPROBE(on_resume)
{
	struct ps_code_ent *ent;
	__u64 ts, frame, code, ip, at;

	if (!is_target())
		return 0;
	ts = get_tstate();
	if (!ts) {
		count(PS_CNT_TSTATE_MISS);
		return 0;
	}
	frame = current_frame(ts);
	if (!frame)
		return 0;
	code = frame_code(frame);
	ent = code_ent(code);
	if (!ent || ent->kind == PS_CODE_IGNORE)
		return 0;
	/* the function start is the first RESUME; later ones resume generators */
	ip = rd_u64(frame + off.fr_ip);
	at = code_units(code) + (__u64)ent->resume_off * 2;
	if (ip > at) {
		/* a resume: profiling notes where a pattern's coroutine awaited */
		if (prof_on)
			note_await(frame, (__u32)(ip - code_units(code)));
		return 0;
	}
	if (resume_will_redispatch(ts, code))
		return 0;
	if (!left_to_breakpoint(frame, code))
		count_start(frame, code);
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
	__u64 ts, frame, code;
	__u32 tid;

	if (!is_target())
		return 0;
	ts = get_tstate();
	if (!ts) {
		count(PS_CNT_TSTATE_MISS);
		return 0;
	}
	frame = current_frame(ts);
	if (!frame)
		return 0;
	code = frame_code(frame);
	if (!bpf_map_lookup_elem(&bp_codes, &code))
		return 0;		/* shares the watched bytes (<= 3.10), or not armed yet */
	ent = code_ent(code);
	if (!ent || ent->kind == PS_CODE_IGNORE)
		return 0;
	if (off.frame_kind == PYFRAME_OBJECT) {
		/*
		 * <= 3.10: a dispatch of the first instruction.  The other reader is
		 * the opcache set-up at frame entry once a code has run 1024 times.
		 */
		__s32 lasti = rd_s32(frame + off.fr_lasti);
		__u64 ip = PT_REGS_IP(&ctx->regs);

		/*
		 * 3.8/3.9 set f_lasti to 0 first, 3.10 reads first (f_lasti still -1);
		 * the opcache set-up reads from outside the eval function.
		 */
		if (lasti > 0 || lasti < -1 || (lasti == -1 && (ip < eval_lo || ip >= eval_hi)))
			return 0;
	} else {
		__u64 ip = rd_u64(frame + off.fr_ip);

		if (ip > code_units(code) + (__u64)ent->resume_off * 2)
			return 0;
		if (resume_will_redispatch(ts, code))
			return 0;
	}
	count_start(frame, code);
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
	if (!is_target())
		return 0;
	frame_ended(PT_REGS_PARM1(ctx));
	return 0;
}

/* 3.11 function__return site: the current frame returns, raises or yields. */
SEC("uprobe")
int BPF_KPROBE(on_frame_exit_cur)
{
	__u64 ts, frame;

	if (!is_target())
		return 0;
	ts = get_tstate();
	frame = ts ? current_frame(ts) : 0;
	if (!frame)
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
