/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Argument capture: the types of a starting call's arguments (positional,
 * *args, and a hash of the **kwargs keys) into its aggregate key, and the
 * value of one argument (--capture, a rule's key) as a str hash, an int or
 * a type.
 */
#ifndef PYSCOPE_CAPTURE_BPF_H
#define PYSCOPE_CAPTURE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "pshash.h"
#include "maps.bpf.h"
#include "pyframe.bpf.h"

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

#endif /* PYSCOPE_CAPTURE_BPF_H */
