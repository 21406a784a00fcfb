/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Aggregation: a call's key (code, caller and call offset, argument types,
 * **kwargs key hash, captured value, call path), and the aggregate it
 * counts in, found in the aggs map or created and announced (PS_EV_AGG)
 * at its first sighting.
 */
#ifndef PYSCOPE_AGG_BPF_H
#define PYSCOPE_AGG_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "maps.bpf.h"
#include "percpu.bpf.h"
#include "filter.bpf.h"
#include "pyframe.bpf.h"
#include "code.bpf.h"
#include "capture.bpf.h"
#include "paths.bpf.h"

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

/* The text of a captured value: a str's (from the scratch), or a type's name. */
static __always_inline void capture_text(struct ps_ev_agg *ev, const struct ps_aggkey *k)
{
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
}

/* The names of the **kwargs keys of a call starting in @frame, for the report. */
static __always_inline void kwargs_names(struct ps_ev_agg *ev, __u64 code, __u64 frame)
{
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
	capture_text(ev, k);
	if (k->kwhash)
		kwargs_names(ev, code, frame);
	bpf_ringbuf_submit(ev, 0);
	return id;
}

/*
 * A code that no function pattern names is a candidate of class patterns
 * only: the PS_NAME_* bits of the class of the instance in the call keyed
 * in s->key, 0 when no class pattern names it.
 */
static __always_inline __u8 instance_class(struct scratch *s)
{
	__u64 t = s->key.types[0];

	return t ? class_wanted(t) : 0;
}

/* The id of the aggregate keyed in s->key, a new one at its first sighting; -1 if none. */
static __always_inline __s64 agg_find(struct scratch *s, __u64 code, __u64 frame, __u64 caller)
{
	__u32 *idp = bpf_map_lookup_elem(&aggs, &s->key);

	if (idp)
		return *idp;
	return new_agg(&s->key, code, frame, caller);
}

#endif /* PYSCOPE_AGG_BPF_H */
