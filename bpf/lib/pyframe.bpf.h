/* SPDX-License-Identifier: MIT */
/*
 * Reading CPython state from the kernel: thread state, current frame, code
 * objects, strings and arguments.  Driven only by struct py_offsets; this
 * file and the user side's offsets layer are the only places that know
 * CPython layouts.  Every read is a bounded bpf_probe_read_user().  The
 * copies it fills (struct frame_copy, struct ts_buf) are in types.bpf.h.
 */
#ifndef PYSCOPE_PYFRAME_BPF_H
#define PYSCOPE_PYFRAME_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "maps.bpf.h"
#include "filter.bpf.h"

#define NONE PYOFF_NONE
#define PS_MAX_INTERPS 4
#define PS_MAX_THREADS 512

static __always_inline __u64 rd_u64(__u64 addr)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (const void *)addr);
	return v;
}

static __always_inline __s32 rd_s32(__u64 addr)
{
	__s32 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (const void *)addr);
	return v;
}

static __always_inline __s8 rd_s8(__u64 addr)
{
	__s8 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (const void *)addr);
	return v;
}

/* An 8-byte-aligned field of a copy (0 when the copy does not reach it). */
static __always_inline __u64 fb_u64(const struct frame_buf *f, __u32 o)
{
	__u32 k = o / 8;

	return k < PS_FRAME_WORDS ? f->w[k] : 0;
}

static __always_inline __s32 fb_s32(const struct frame_buf *f, __u32 o)
{
	__u32 k = o / 4;

	return k < PS_FRAME_BYTES / 4 ? f->i[k] : 0;
}

static __always_inline __s8 fb_s8(const struct frame_buf *f, __u32 o)
{
	return o < PS_FRAME_BYTES ? f->b[o] : 0;
}

static __always_inline __u64 tb_u64(const struct ts_buf *t, __u32 o)
{
	__u32 k = o / 8;

	return k < PS_TS_BYTES / 8 ? t->w[k] : 0;
}

/* Bytes to copy for a frame's header, and with its first PS_SLOTS fast locals. */
static __always_inline __u32 frame_bytes(bool slots)
{
	__u32 full = off.fr_localsplus + PS_SLOTS * 8;

	if (full > PS_FRAME_BYTES)
		full = PS_FRAME_BYTES;
	/* 3.11+: the locals follow a 72-byte header, so they always come along */
	return slots || full <= PS_HDR_BYTES + 16 ? full : PS_HDR_BYTES;
}

/*
 * Copy a frame's header, with slots its first fast locals too, in one read
 * (the sizes are constants to the verifier: offsets come from rodata).  A
 * small 3.11+ frame at the very end of its thread's data stack ends before
 * the copy does, and a read that crosses into an unmapped page fails whole:
 * then copy the header alone (fast locals are read one by one).  A failed
 * read leaves zeroes, so no stale field survives.
 */
static __always_inline int read_frame(struct frame_copy *c, __u64 frame, bool slots)
{
	__u32 n = frame_bytes(slots), h;

	c->addr = frame;
	c->words = n / 8;
	if (!bpf_probe_read_user(&c->fb, n, (const void *)frame))
		return 0;
	h = off.fr_localsplus < PS_HDR_BYTES ? off.fr_localsplus : PS_HDR_BYTES;
	c->words = h / 8;
	if (h && !bpf_probe_read_user(&c->fb, h, (const void *)frame))
		return 0;
	__builtin_memset(&c->fb, 0, sizeof(c->fb));
	c->words = 0;
	return -1;
}

/* Fast-locals slot i of a copied frame (from memory when the copy lacks it). */
static __always_inline __u64 frame_slot(const struct frame_copy *c, __u32 i)
{
	__u32 k = off.fr_localsplus / 8 + i;

	if (k < c->words && k < PS_FRAME_WORDS)
		return c->fb.w[k];
	return rd_u64(c->addr + off.fr_localsplus + (__u64)(i & 0xffff) * 8);
}

struct walk_ctx {
	__u64 ts;
	__u32 tid;
};

/*
 * Does this thread state belong to the calling thread?  3.11+ keep the kernel
 * tid; before, thread_id is pthread_self(), which glibc on x86-64 makes the
 * thread's FS base.
 */
static __always_inline bool tstate_is_mine(__u64 ts, __u32 tid)
{
	if (!ts)
		return false;
	if (off.ts_native_thread_id == NONE) {
		struct task_struct *task = bpf_get_current_task_btf();

		return rd_u64(ts + off.ts_thread_id) == task->thread.fsbase;
	}
	return (__u32)rd_u64(ts + off.ts_native_thread_id) == tid;
}

static long walk_thread(__u64 i, void *arg)
{
	struct walk_ctx *w = arg;

	(void)i;
	if (!w->ts)
		return 1;
	if (tstate_is_mine(w->ts, w->tid))
		return 1;
	w->ts = rd_u64(w->ts + off.ts_next);
	return 0;
}

/*
 * Walk every interpreter's thread list for the calling thread (3.12+).
 * bpf_loop: the verifier checks the body once instead of per iteration.
 */
static __always_inline __u64 tstate_walk(__u32 tid)
{
	__u64 interp = rd_u64(runtime_addr + off.rt_interp_head);

	for (int i = 0; i < PS_MAX_INTERPS && interp; i++) {
		struct walk_ctx w = { .ts = rd_u64(interp + off.is_threads_head), .tid = tid };

		bpf_loop(PS_MAX_THREADS, walk_thread, &w, 0);
		if (w.ts) {
			bpf_map_update_elem(&tstates, &tid, &w.ts, BPF_ANY);
			return w.ts;
		}
		interp = rd_u64(interp + off.is_next);
	}
	return 0;
}

/*
 * The calling thread's PyThreadState.  Up to 3.11 the GIL holder is kept in
 * _PyRuntime.  From 3.12 it lives in thread-local storage; the GIL's last
 * holder is the running thread for the main interpreter, and a cache plus
 * a walk of the thread lists covers the rest.  For 3.12+, tb receives the
 * thread state's first PS_TS_BYTES (its frame and thread id are there).
 */
static __always_inline __u64 get_tstate(struct ts_buf *tb)
{
	__u32 tid = cur_tid();
	__u64 ts, *cached;

	if (off.rt_tstate_current != NONE)
		return rd_u64(runtime_addr + off.rt_tstate_current);
	if (off.is_ceval_gil != NONE) {
		__u64 at = gil_holder_at;

		if (!at) {
			__u64 interp = rd_u64(runtime_addr + off.rt_interp_head);
			__u64 gil = interp ? rd_u64(interp + off.is_ceval_gil) : 0;

			at = gil ? gil + off.gil_last_holder : 0;
			gil_holder_at = at;
		}
		ts = at ? rd_u64(at) : 0;
		if (ts && !bpf_probe_read_user(tb, sizeof(*tb), (const void *)ts) &&
		    (__u32)tb_u64(tb, off.ts_native_thread_id) == tid)
			return ts;
	}
	cached = bpf_map_lookup_elem(&tstates, &tid);
	ts = cached ? *cached : 0;
	if (!ts || bpf_probe_read_user(tb, sizeof(*tb), (const void *)ts) ||
	    (__u32)tb_u64(tb, off.ts_native_thread_id) != tid) {
		ts = tstate_walk(tid);
		if (!ts || bpf_probe_read_user(tb, sizeof(*tb), (const void *)ts))
			return 0;
	}
	return ts;
}

/*
 * The calling thread's PyThreadState from anywhere (a timer sample, a
 * context switch): the thread may not hold the GIL, so the GIL holder is
 * only a first guess that must prove to be ours.  Fills tb as get_tstate().
 */
static __always_inline __u64 get_tstate_any(struct ts_buf *tb)
{
	__u32 tid = cur_tid();
	__u64 ts, *cached;

	if (off.rt_tstate_current == NONE)
		return get_tstate(tb);		/* 3.12+: checks the thread id itself */
	ts = rd_u64(runtime_addr + off.rt_tstate_current);
	if (tstate_is_mine(ts, tid))
		return ts;
	cached = bpf_map_lookup_elem(&tstates, &tid);
	if (cached && tstate_is_mine(*cached, tid))
		return *cached;
	return tstate_walk(tid);
}

/* The thread's current frame, from get_tstate()'s results. */
static __always_inline __u64 current_frame(__u64 ts, const struct ts_buf *tb)
{
	__u64 p;

	if (off.rt_tstate_current != NONE)	/* <= 3.11: tb was not filled */
		p = rd_u64(ts + off.ts_frame);
	else
		p = tb_u64(tb, off.ts_frame);
	if (off.cf_current_frame != NONE)	/* 3.11/3.12: through the _PyCFrame */
		p = p ? rd_u64(p + off.cf_current_frame) : 0;
	return p;
}

static __always_inline __u64 frame_code(__u64 frame)
{
	return rd_u64(frame + off.fr_code);
}

/* Address of a code object's first code unit. */
static __always_inline __u64 code_units(__u64 code)
{
	if (off.co_code_adaptive != NONE)
		return code + off.co_code_adaptive;
	return rd_u64(code + off.co_code) + off.by_sval;
}

/* Byte offset of the instruction a copied frame is executing (or last executed). */
static __always_inline __u32 frame_offset(const struct frame_copy *c, __u64 code)
{
	if (off.fr_lasti != NONE) {
		__s32 lasti = fb_s32(&c->fb, off.fr_lasti);

		if (lasti < 0)
			return 0;
		return off.fr_lasti_units ? (__u32)lasti * 2 : (__u32)lasti;
	}
	return (__u32)(fb_u64(&c->fb, off.fr_ip) - code_units(code));
}

/* Byte offset of the instruction a frame in memory is executing (cold paths). */
static __always_inline __u32 frame_offset_at(__u64 frame, __u64 code)
{
	if (off.fr_lasti != NONE) {
		__s32 lasti = rd_s32(frame + off.fr_lasti);

		if (lasti < 0)
			return 0;
		return off.fr_lasti_units ? (__u32)lasti * 2 : (__u32)lasti;
	}
	return (__u32)(rd_u64(frame + off.fr_ip) - code_units(code));
}

/* A frame that is not a Python function's: C-stack entry or init shim (cold paths). */
static __always_inline bool frame_is_shim(__u64 frame)
{
	if (off.fr_owner != NONE && off.owned_by_cstack >= 0 &&
	    rd_s8(frame + off.fr_owner) == off.owned_by_cstack)
		return true;
	return off.co_flag_shim &&
	       (rd_s32(frame_code(frame) + off.co_flags) & off.co_flag_shim);
}

/* The Python frame that called @frame, skipping shims; 0 if none (cold paths). */
static __always_inline __u64 caller_frame(__u64 frame)
{
	__u64 f = rd_u64(frame + off.fr_back);

	for (int i = 0; i < 4 && f; i++) {
		if (!frame_is_shim(f))
			return f;
		f = rd_u64(f + off.fr_back);
	}
	return 0;
}

/*
 * Copy a str object into buf as UTF-8 (NUL-terminated).  Compact ASCII is
 * read in place, other compact strings through their cached UTF-8 form.
 * Returns the bytes copied including the NUL, or <= 0.
 */
static __always_inline long read_pystr(__u64 str, char *buf, __u32 len)
{
	__u32 state;
	__u64 data;

	buf[0] = '\0';
	if (!str)
		return 0;
	if (bpf_probe_read_user(&state, sizeof(state), (const void *)(str + off.u_state)))
		return -1;
	if (!(state & (1u << 5)))	/* not compact: legacy string */
		return 0;
	if (state & (1u << 6))		/* ascii */
		data = str + off.u_ascii_data;
	else
		data = rd_u64(str + off.u_utf8);
	if (!data)
		return 0;
	return bpf_probe_read_user_str(buf, len, (const void *)data);
}

/*
 * Where a dict's entries start, their size and the key's offset in one.
 * Only combined tables (ma_values == NULL), as kwargs and module dicts are.
 */
static __always_inline __u64 dict_entries(__u64 dict, __u64 *nent, __u32 *esize, __u32 *koff)
{
	__u64 keys;

	if (!dict || rd_u64(dict + off.di_values))
		return 0;
	keys = rd_u64(dict + off.di_keys);
	if (!keys)
		return 0;
	*nent = rd_u64(keys + off.dk_nentries);
	*esize = 24;			/* {hash, key, value} */
	*koff = 8;
	if (off.dk_log2) {
		__u8 lg = 0, ilg = 0, kind = 0;

		bpf_probe_read_user(&lg, 1, (const void *)(keys + off.dk_size));
		bpf_probe_read_user(&kind, 1, (const void *)(keys + off.dk_kind));
		if (off.dk_index_bytes != NONE)		/* 3.12+ stores it */
			bpf_probe_read_user(&ilg, 1, (const void *)(keys + off.dk_index_bytes));
		else					/* 3.11: size << log2(index width) */
			ilg = lg < 8 ? lg : lg < 16 ? lg + 1 : lg < 32 ? lg + 2 : lg + 3;
		if (kind) {				/* unicode keys: {key, value} */
			*esize = 16;
			*koff = 0;
		}
		return keys + off.dk_indices + (1ULL << (ilg & 63));
	} else {
		__u64 size = rd_u64(keys + off.dk_size);

		return keys + off.dk_indices +
		       size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffULL ? 4 : 8);
	}
}

/* <=3.10: where an argument captured by a closure went (its cell, after the locals). */
static __always_inline __u64 cell2arg_slot(__u64 frame, __u64 code, __u32 i)
{
	__u64 locals = frame + off.fr_localsplus, obj = 0;

	if (off.co_cell2arg != NONE) {
		__u64 c2a = rd_u64(code + off.co_cell2arg);
		__u64 cells = rd_u64(code + off.co_cellvars);
		__u64 ncell = cells ? rd_u64(cells + off.tup_size) : 0;
		__u32 nlocals = (__u32)rd_s32(code + off.co_nlocals);

		for (int j = 0; j < 8 && c2a; j++) {
			if (j >= ncell)
				break;
			if (rd_u64(c2a + j * 8) == i) {
				obj = rd_u64(locals + ((nlocals + j) & 0xffff) * 8);
				break;
			}
		}
	}
	return obj;
}

/*
 * Argument i of a frame that is starting, as the function sees it, and its
 * type: an argument captured by a closure sits in a cell (3.11+: the slot
 * holds the cell; <=3.10: the slot is NULL and the cell follows the
 * locals).  The type read also tells a cell, so a plain argument costs one
 * read beyond the frame copy.
 */
static __always_inline __u64 arg_of(const struct frame_copy *c, __u64 code, __u32 i, __u64 *type)
{
	__u64 obj = frame_slot(c, i), t;

	if (!obj && off.co_cell2arg != NONE)
		obj = cell2arg_slot(c->addr, code, i);
	t = obj ? rd_u64(obj + off.ob_type) : 0;
	if (t && t == cell_type_addr) {
		obj = rd_u64(obj + off.cell_ref);
		t = obj ? rd_u64(obj + off.ob_type) : 0;
	}
	*type = t;
	return obj;
}

/* The same, without the type (cold paths). */
static __always_inline __u64 read_arg(__u64 frame, __u64 code, __u32 i)
{
	__u64 obj = rd_u64(frame + off.fr_localsplus + (__u64)(i & 0xff) * 8);

	if (!obj && off.co_cell2arg != NONE)
		obj = cell2arg_slot(frame, code, i);
	if (obj && cell_type_addr && rd_u64(obj + off.ob_type) == cell_type_addr)
		obj = rd_u64(obj + off.cell_ref);
	return obj;
}

/* __name__ of a module dict: its first entry, as modules are created. */
static __always_inline void read_module_name(__u64 globals, char *buf, __u32 len)
{
	__u32 esize, koff;
	__u64 nent = 0, e = dict_entries(globals, &nent, &esize, &koff);
	const char want[9] = "__name__";
	char key[9] = {};

	buf[0] = '\0';
	if (!e || !nent)
		return;
	read_pystr(rd_u64(e + koff), key, sizeof(key));
	for (int i = 0; i < 9; i++)
		if (key[i] != want[i])
			return;
	read_pystr(rd_u64(e + koff + 8), buf, len);
}

/* The type name of an object: qualified name for heap types. */
static __always_inline void read_type_name(__u64 type, char *buf, __u32 len)
{
	__u64 flags = rd_u64(type + off.tp_flags);

	buf[0] = '\0';
	if ((flags & (1ULL << 9)) && read_pystr(rd_u64(type + off.ht_qualname), buf, len) > 1)
		return;
	bpf_probe_read_user_str(buf, len, (const void *)rd_u64(type + off.tp_name));
}

#endif /* PYSCOPE_PYFRAME_BPF_H */
