/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Code classification: what a code object seen for the first time may be
 * (by its names' hashes: a pattern's function, a constructor while class
 * patterns exist, or nothing), cached in the codes map with what never
 * changes in it, and announced once (PS_EV_CODE) when a call counts.  The
 * class of an instance is classified the same way, once per type.
 */
#ifndef PYSCOPE_CODE_BPF_H
#define PYSCOPE_CODE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "pshash.h"
#include "maps.bpf.h"
#include "percpu.bpf.h"
#include "pyframe.bpf.h"

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

/*
 * 1 + the parameter slot whose name is a --capture name (cap), or else
 * hashes to @want; 0 if none.
 */
static __always_inline __u8 find_param(__u64 code, struct scratch *s, bool cap, __u64 want)
{
	__u64 names = rd_u64(code + off.co_varnames);
	__u32 n = (__u32)rd_s32(code + off.co_argcount) + (__u32)rd_s32(code + off.co_kwonlyargcount);

	for (__u32 i = 0; i < PS_CAP_SCAN; i++) {
		__u64 h;

		if (i >= n)
			break;
		read_pystr(rd_u64(names + off.tup_item + i * 8), s->name, sizeof(s->name));
		h = ps_hash_str(s->name);
		if (cap ? bpf_map_lookup_elem(&capnames, &h) != NULL : h == want)
			return (__u8)(i + 1);
	}
	return 0;
}

/*
 * Decide what a code object seen for the first time may be.  Global (not
 * inlined) functions are verified once, not once per call site: classify()
 * is reached from five places (the frame and up to four callers), and its
 * name hashing and RESUME scan are loops.
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
			ent.cap_slot = find_param(code, s, true, 0);
	}
	if (rules_on && (nbits & PS_NAME_RULE)) {
		__u32 k = (nbits >> PS_NAME_KEY_SHIFT) & 0xf;
		__u64 *want;

		ent.bits |= PS_CE_RULE;
		if (k) {
			k--;
			want = bpf_map_lookup_elem(&rule_keys, &k);
			if (want)
				ent.rule_slot = find_param(code, s, false, *want);
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

#endif /* PYSCOPE_CODE_BPF_H */
