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
 * Per call of a code that may match, the hot path is: the current frame
 * (from the thread state, 1-3 reads), one copy of the frame's header and
 * arguments, one read per argument type, one copy of the caller's header,
 * two code-cache lookups, one aggregate lookup, an atomic add, and a push
 * on the thread's stack of timed calls (task storage); the frame end pops
 * it and adds to the same statistics.  Reads of the target cost ~65 ns
 * each here, so the code reads blocks, and caches what code objects never
 * change (argument counts, flags) in the code cache.  The ring buffer
 * carries only first sightings.
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
/* pyscope check with rules: calls of rule patterns are sent (PS_EV_CALL) */
const volatile __u8 rules_on = 0;
/* call records wake the reader once this much is pending (1/16 of the ring buffer) */
const volatile __u64 call_wake_bytes = 512 << 10;
/* breakpoints may be armed: the uprobe programs consult bp_codes */
__u8 bp_active = 0;
/*
 * The frame-end probe is attached (user space sets it): only then are
 * starts pushed for timing.  Without it (count only; breakpoint mode before
 * its first hit) a start is counted and nothing else is kept.
 */
__u8 timing_on = 0;
/* function starts seen by the breakpoint program (user space polls it) */
__u64 bp_starts = 0;

__u32 next_code_id = 1;
__u32 next_agg_id = 0;
/* entries in the inflight map (generator frames): 0 lets ends skip it */
__s64 inflight_n = 0;

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
	__type(value, __u8);			/* PS_NAME_* */
} names SEC(".maps");

/* Hashes of the parameter names rules key calls by (names' bits 4-7 - 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PS_MAX_RULE_KEYS);
	__type(key, __u32);
	__type(value, __u64);
} rule_keys SEC(".maps");

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
	__type(value, __u8);			/* its class name's PS_NAME_* bits, 0: none */
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
 * count (armed between the two): bp_last says, per thread, which frame the
 * breakpoint last counted.
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

/* Timed calls of plain functions, per thread (see struct ps_tstack). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ps_tstack);
} tstacks SEC(".maps");

struct scratch {
	char name[PS_QUAL_LEN];
	__u16 units[PS_RESUME_SCAN];
	struct ps_aggkey key;
	struct ts_buf ts;		/* the thread state's first bytes (3.12+) */
	struct frame_copy fr;		/* the starting frame */
	struct frame_copy cfr;		/* its caller */
	__u64 arg0;			/* the starting frame's first argument */
	__u64 fcode[PS_MAX_DEPTH];	/* the path being built */
	__u64 fframe[PS_MAX_DEPTH];
	__u32 foff[PS_MAX_DEPTH];
	__u32 nframes, truncated;
	char cap[PS_CAP_LEN];		/* the --capture str value */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_map, &zero);
}

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

/* 1 + the parameter slot whose name hashes to @want, or 0. */
static __always_inline __u8 find_param(__u64 code, struct scratch *s, __u64 want)
{
	__u64 names = rd_u64(code + off.co_varnames);
	__u32 n = (__u32)rd_s32(code + off.co_argcount) + (__u32)rd_s32(code + off.co_kwonlyargcount);

	for (__u32 i = 0; i < PS_CAP_SCAN; i++) {
		if (i >= n)
			break;
		read_pystr(rd_u64(names + off.tup_item + i * 8), s->name, sizeof(s->name));
		if (ps_hash_str(s->name) == want)
			return (__u8)(i + 1);
	}
	return 0;
}

/* Decide what a code object seen for the first time may be. */
/*
 * Global (not inlined) functions are verified once, not once per call site:
 * classify() is reached from five places (the frame and up to four
 * callers), and its name hashing and RESUME scan are loops.
 */
__noinline int classify(__u64 code)
{
	struct ps_code_ent ent = {};
	struct scratch *s;
	__u32 zero = 0;
	__u8 *nv, nbits = 0;
	__u64 h;

	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return -1;
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
	nv = bpf_map_lookup_elem(&names, &h);
	if (nv) {
		ent.kind |= PS_CODE_FUNC;
		nbits = *nv;
	}
	if (ent.kind != PS_CODE_IGNORE) {
		ent.resume_off = find_resume(code, s);
		if (capture_on)
			ent.cap_slot = find_capture(code, s);
	}
	if (rules_on && (nbits & PS_NAME_RULE)) {
		__u32 k = (nbits >> PS_NAME_KEY_SHIFT) & 0xf;
		__u64 *want;

		ent.bits |= PS_CE_RULE;
		if (k) {
			k--;
			want = bpf_map_lookup_elem(&rule_keys, &k);
			if (want)
				ent.rule_slot = find_param(code, s, *want);
		}
	}
	/* read once: every call of the code needs them, and they never change */
	ent.co_flags = (__u32)rd_s32(code + off.co_flags);
	ent.argcount = (__u16)rd_s32(code + off.co_argcount);
	ent.kwonlyargcount = (__u16)rd_s32(code + off.co_kwonlyargcount);
	ent.nlocals = (__u16)rd_s32(code + off.co_nlocals);
	if (off.co_flag_shim && (ent.co_flags & off.co_flag_shim))
		ent.bits |= PS_CE_SHIM;
	if (ent.co_flags & (PY_CO_GENERATOR | PY_CO_COROUTINE | PY_CO_ASYNC_GENERATOR))
		ent.bits |= PS_CE_GEN;
	ent.id = __sync_fetch_and_add(&next_code_id, 1);
	return bpf_map_update_elem(&codes, &code, &ent, BPF_ANY) ? -1 : 0;
}

static __always_inline struct ps_code_ent *code_ent(__u64 code)
{
	struct ps_code_ent *ent = bpf_map_lookup_elem(&codes, &code);

	if (ent || !code || classify(code))
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

/* Is the class being constructed one a class pattern names?  Its PS_NAME_* bits. */
static __always_inline __u8 class_wanted(__u64 type)
{
	struct scratch *s;
	__u32 zero = 0;
	__u8 *hit, *nv, v;
	__u64 h;

	hit = bpf_map_lookup_elem(&class_types, &type);
	if (hit)
		return *hit;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	s->name[0] = '\0';
	bpf_probe_read_user_str(s->name, sizeof(s->name), (const void *)rd_u64(type + off.tp_name));
	h = ps_hash_str(s->name);
	nv = bpf_map_lookup_elem(&classnames, &h);
	v = nv ? *nv : 0;
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

/* A tuple's first items' types into the key (one read for the size and items). */
static __always_inline __u32 tuple_types(struct ps_aggkey *k, __u32 n, __u64 tup, __u64 *arg0)
{
	__u64 blk[PS_MAX_SIG + 1] = {};
	__u64 len;

	if (!tup)
		return n;
	/*
	 * Size and items in one read; a short tuple ends before the block does,
	 * and at the end of a mapping that read fails: then one by one.
	 */
	if (off.tup_item != off.tup_size + 8 ||
	    bpf_probe_read_user(blk, sizeof(blk), (const void *)(tup + off.tup_size))) {
		blk[0] = rd_u64(tup + off.tup_size);
		for (int i = 0; i < PS_MAX_SIG; i++) {
			if (i >= blk[0])
				break;
			blk[i + 1] = rd_u64(tup + off.tup_item + i * 8);
		}
	}
	len = blk[0];
	for (int i = 0; i < PS_MAX_SIG; i++) {
		__u64 obj;

		if (i >= len || n >= PS_MAX_SIG)
			break;
		obj = blk[i + 1];
		if (n == 0)
			*arg0 = obj;
		k->types[n] = obj ? rd_u64(obj + off.ob_type) : 0;
		n++;
	}
	return n;
}

/*
 * Find the Python caller of the frame in s->fr, skipping shims (C-stack
 * entry frames, 3.13's __init__ shim): its copy lands in s->cfr, with its
 * first fast locals when slots.  Returns the caller's code-cache entry.
 */
static __always_inline struct ps_code_ent *find_caller(struct scratch *s, __u64 *callerp,
							__u64 *ccodep, bool slots)
{
	__u64 f = fb_u64(&s->fr.fb, off.fr_back);

	for (int i = 0; i < 4 && f; i++) {
		struct ps_code_ent *cent;
		__u64 ccode;

		read_frame(&s->cfr, f, slots);
		if (off.fr_owner != NONE && off.owned_by_cstack >= 0 &&
		    fb_s8(&s->cfr.fb, off.fr_owner) == off.owned_by_cstack) {
			f = fb_u64(&s->cfr.fb, off.fr_back);
			continue;
		}
		ccode = fb_u64(&s->cfr.fb, off.fr_code);
		cent = code_ent(ccode);
		if (cent && (cent->bits & PS_CE_SHIM)) {
			f = fb_u64(&s->cfr.fb, off.fr_back);
			continue;
		}
		*callerp = f;
		*ccodep = ccode;
		return cent;
	}
	*callerp = 0;
	return NULL;
}

/*
 * The types of the arguments of the frame copied in s->fr into s->key, its
 * first argument into s->arg0; returns how many types.  Global: its loops
 * and branches are verified once, apart from the callers' paths (this
 * alone was 5/6 of the verifier's work).
 */
__noinline int capture(struct scratch *s, __u64 code, __u32 argc, __u32 kwonly, __u32 flags)
{
	struct ps_aggkey *k;
	__u32 n = 0, slot;
	__u64 t, arg0 = 0;

	if (!s)
		return 0;
	k = &s->key;
	for (int i = 0; i < PS_MAX_SIG; i++) {
		__u64 obj;

		if (i >= argc)
			break;
		obj = arg_of(&s->fr, code, i, &t);
		if (i == 0)
			arg0 = obj;
		k->types[i] = t;
		n++;
	}
	slot = argc + kwonly;
	if (flags & PY_CO_VARARGS) {
		n = tuple_types(k, n, arg_of(&s->fr, code, slot, &t), &arg0);
		slot++;
	}
	if (flags & PY_CO_VARKEYWORDS)
		k->kwhash = kwargs_hash(arg_of(&s->fr, code, slot, &t), &k->flags);
	s->arg0 = arg0;
	return (int)n;
}

/* An argument's value: a str (by hash, its text in buf), an int, or a type. */
static __always_inline void read_value(__u64 obj, __u64 *val, __u16 *flags, char *buf)
{
	__u64 type;

	if (!obj)
		return;
	type = rd_u64(obj + off.ob_type);
	if (type == str_type_addr) {
		read_pystr(obj, buf, PS_CAP_LEN);
		*val = ps_hash_strn(buf, PS_CAP_LEN);
		*flags |= PS_AGG_CAP_STR;
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
			*flags |= PS_AGG_CAP_BIG;
			return;
		}
		d0 = ndig > 0 ? (__u32)rd_s32(obj + off.lg_digit) : 0;
		d1 = ndig > 1 ? (__u32)rd_s32(obj + off.lg_digit + 4) : 0;
		*val = (d0 & 0x3fffffff) | ((d1 & 0x3fffffff) << 30);
		if (neg)
			*val = -*val;
		*flags |= PS_AGG_CAP_INT;
	} else {
		*val = type;
		*flags |= PS_AGG_CAP_OTHER;
	}
}

/* The value of the --capture argument, into the aggregate key. */
static __always_inline void capture_value(struct scratch *s, __u64 frame, __u64 code, __u32 slot)
{
	read_value(read_arg(frame, code, slot), &s->key.capval, &s->key.flags, s->cap);
}

/*
 * A call of a pattern a rule names: its record (global: verified once, and
 * only loaded into the hot path of pyscope check with rules).
 */
__noinline int send_call(struct scratch *s, __u64 code, __u32 rule_slot, __u32 agg_id, __u64 ts)
{
	struct ps_ev_call *ev;
	__u64 frame;

	if (!s)
		return 0;
	frame = s->fr.addr;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(PS_CNT_CALL_LOST);
		return 0;
	}
	ev->type = PS_EV_CALL;
	ev->agg_id = agg_id;
	ev->ts_ns = ts;
	ev->tid = cur_tid();
	ev->self = s->arg0 ? s->arg0 : read_arg(frame, code, 0);
	ev->stack = s->key.stack;
	ev->keyval = 0;
	ev->keyflags = 0;
	ev->pad = 0;
	ev->keytext[0] = '\0';
	if (rule_slot)
		read_value(read_arg(frame, code, rule_slot - 1), &ev->keyval, &ev->keyflags,
			   ev->keytext);
	/*
	 * No wakeup per record (an irq_work each, when the reader keeps up):
	 * the reader polls every 50 ms anyway; wake it only once a backlog
	 * builds up, long before the buffer could fill.
	 */
	bpf_ringbuf_submit(ev, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > call_wake_bytes ?
			   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 1;
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
		o = frame_offset_at(f, code);
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

/* The call path of the frame starting, into s->key.  Global: verified once, cold. */
__noinline int key_path(struct scratch *s, __u64 frame)
{
	if (!s)
		return 0;
	s->key.stack = walk_path(frame, s);
	return announce_path(s->key.stack, s);
}

/* Fill s->key for a call of @code starting in the frame copied in s->fr. */
static __always_inline void build_key(struct scratch *s, __u64 code, struct ps_code_ent *ent,
				      __u64 *callerp)
{
	struct ps_aggkey *k = &s->key;
	struct ps_code_ent *cent;
	__u64 arg0 = 0, ccode = 0, t;
	__u32 argc = ent->argcount, flags = ent->co_flags, n = 0;
	bool init = ent->kind & PS_CODE_INIT;

	__builtin_memset(k, 0, sizeof(*k));
	k->code_id = ent->id;
	s->arg0 = 0;
	if (capture_args)
		n = capture(s, code, argc, ent->kwonlyargcount, flags);
	arg0 = s->arg0;
	k->nargs = n;
	if ((ent->kind & PS_CODE_NEW) && arg0) {
		/* __new__ receives the class itself: record the class */
		k->types[0] = arg0;
		k->flags |= PS_AGG_NEW;
	}

	/* the caller's first argument is needed only to tell super().__init__() chains */
	if (ent->cap_slot)
		capture_value(s, s->fr.addr, code, ent->cap_slot - 1);
	if (path_depth)
		key_path(s, s->fr.addr);

	cent = find_caller(s, callerp, &ccode, init && arg0);
	if (!*callerp) {
		k->flags |= PS_AGG_NO_CALLER;
		return;
	}
	if (cent) {
		k->caller_id = cent->id;
		k->caller_off = frame_offset(&s->cfr, ccode);
	}
	/* the same first argument in the caller: super().__init__() and kin */
	if (init && arg0 && cent && cent->nlocals > 0 &&
	    (frame_slot(&s->cfr, 0) == arg0 || arg_of(&s->cfr, ccode, 0, &t) == arg0))
		k->flags |= PS_AGG_CHAINED;
}

/* First sighting of an aggregate: allocate its id and announce it (global: cold). */
__noinline __s64 new_agg(struct ps_aggkey *k, __u64 code, __u64 frame, __u64 caller)
{
	struct ps_code_ent *ent = bpf_map_lookup_elem(&codes, &code);
	struct ps_ev_agg *ev;
	__u32 id, *idp;

	if (!k || !ent)
		return -1;
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
		struct scratch *s;
		__u32 zero = 0;

		s = bpf_map_lookup_elem(&scratch_map, &zero);
		if (s)
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

/*
 * A call ends whose start was pushed on this thread's stack under @key:
 * normally the top; a few entries deeper when ends were missed (counted,
 * their timing is lost).  False when @key is not there.
 */
static __always_inline bool tstack_pop(struct ps_tstack *stk, __u64 key)
{
	__u32 d;

	if (!stk)
		return false;
	d = stk->depth;
	for (int j = 0; j < 4; j++) {
		struct ps_tentry *e;

		if (d == 0 || d > PS_TSTACK)
			return false;
		e = &stk->e[(d - 1) & (PS_TSTACK - 1)];
		if (e->key == key) {
			if (j)
				count(PS_CNT_UNPAIRED);
			stk->depth = d - 1;
			record_end(e->agg_id, e->start_ns);
			return true;
		}
		d--;
	}
	return false;
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
	__u32 *idp, d;
	__u64 caller = 0;
	__s64 id;
	__u8 rule = ent->kind & PS_CODE_FUNC ? ent->bits & PS_CE_RULE : 0;

	build_key(s, code, ent, &caller);
	if (!(ent->kind & PS_CODE_FUNC)) {
		/* only class patterns could want it: check the instance's class */
		__u64 t = s->key.types[0];
		__u8 cw = t ? class_wanted(t) : 0;

		if (!cw)
			return;
		rule = cw & PS_NAME_RULE;
	} else if (rules_on && (ent->kind & PS_CODE_INIT) && s->key.types[0]) {
		rule |= class_wanted(s->key.types[0]) & PS_NAME_RULE;
	}
	idp = bpf_map_lookup_elem(&aggs, &s->key);
	if (idp)
		id = *idp;
	else
		id = new_agg(&s->key, code, frame, caller);
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
	if (stk && skey && !(ent->bits & PS_CE_GEN)) {
		d = stk->depth;
		if (d < PS_TSTACK) {
			struct ps_tentry *e = &stk->e[d & (PS_TSTACK - 1)];

			e->key = skey;
			e->frame = frame;
			e->start_ns = rec.start_ns;
			e->agg_id = rec.agg_id;
			stk->depth = d + 1;
			return;
		}
	}
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
	__u64 caller = 0, t;
	__u32 zero = 0, *idp;

	ent = code_ent(code);
	if (!ent || ent->kind == PS_CODE_IGNORE)
		return -1;
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return -1;
	read_frame(&s->fr, frame, capture_args);
	build_key(s, code, ent, &caller);
	if (!(ent->kind & PS_CODE_FUNC)) {
		t = s->key.types[0];
		if (!t || !class_wanted(t))
			return -1;
	}
	idp = bpf_map_lookup_elem(&aggs, &s->key);
	if (idp)
		return *idp;
	return new_agg(&s->key, code, frame, caller);
}

#include "sample.bpf.h"

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
 * attach cookie (src/probesite.c).  Reading it saves the 2-3 dependent
 * target reads of the thread-state path on every function start.  It is
 * trusted only after FREG_TRUST hits agreed with the thread state, and it is
 * checked again at every hit of a candidate code; one disagreement turns it
 * off for good (and, once trusted, marks the counts not exact).
 */
#define FREG_TRUST 64
#define FREG_SITES 4	/* cookie: register | site index << 8 (one per RESUME handler) */

__u64 freg_agree[FREG_SITES] = {};
__u32 freg_off = 0;

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

/*
 * 3.11+: a RESUME instruction is running in the current frame.  The probe
 * may sit a few instructions into the handler (src/probesite.c), after the
 * handler stored the frame's instruction pointer: 3.11/3.12 set prev_instr
 * and 3.13 instr_ptr to the RESUME itself.  Before that store the field
 * names an earlier instruction of the same frame (or the code's start, for
 * a fresh frame); so "ip <= first RESUME" holds for a function start on
 * either side of the store, and a generator's later RESUMEs are past it on
 * either side too.  The frame itself comes from the frame register or the
 * thread state, which the handler does not touch.
 */
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
	ts = get_tstate(&s->ts);
	if (!ts) {
		count(PS_CNT_TSTATE_MISS);
		return 0;
	}
	frame = current_frame(ts, &s->ts);
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

/* Processes (not threads) the target started while traced. */
__u32 nforks = 0;

static __always_inline void proc_event(__u32 type, __u32 pid)
{
	struct ps_ev_proc *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(PS_CNT_RB_LOST);
		return;
	}
	ev->type = type;
	ev->pid = pid;
	ev->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(ev, 0);
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
