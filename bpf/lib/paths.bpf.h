/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Call paths (--paths, profile): the Python frames above a call, hashed into
 * the aggregate or sample key, and announced once (PS_EV_STACK) with the
 * code id and call offset of each frame.
 */
#ifndef PYSCOPE_PATHS_BPF_H
#define PYSCOPE_PATHS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "pshash.h"
#include "maps.bpf.h"
#include "percpu.bpf.h"
#include "pyframe.bpf.h"
#include "code.bpf.h"

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

#endif /* PYSCOPE_PATHS_BPF_H */
