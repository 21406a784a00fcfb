/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The kernel side's own types: copies of the target's frames and thread
 * states, the per-CPU scratch, and the values of the maps that only the
 * kernel side reads.  What user space shares is in include/pyscope.h.
 */
#ifndef PYSCOPE_TYPES_BPF_H
#define PYSCOPE_TYPES_BPF_H

#include "vmlinux.h"
#include "pyscope.h"

/*
 * A bpf_probe_read_user() costs ~65 ns here whether it copies 8 or 128
 * bytes (measured, docs/BENCHMARKS.md), so the hot paths read a frame's
 * or thread state's leading fields in one go and pick fields out of the
 * copy.  Offsets come from rodata, so the verifier sees constant indices.
 */
#define PS_SLOTS 8		/* fast locals kept with a frame copy */
/* <=3.10 keeps the fast locals after a 352-360 byte header: room for both */
#define PS_FRAME_BYTES 432
#define PS_FRAME_WORDS (PS_FRAME_BYTES / 8)
#define PS_HDR_BYTES 128	/* every header field we use lies below this */
#define PS_TS_BYTES 192

struct frame_buf {
	union {
		__u64 w[PS_FRAME_WORDS];
		__s32 i[PS_FRAME_BYTES / 4];
		__s8 b[PS_FRAME_BYTES];
	};
};

/* A frame copy: its header, and its first fast locals when asked for. */
struct frame_copy {
	__u64 addr;
	__u32 words;			/* 8-byte words of fb that hold the frame's bytes */
	__u32 pad;
	struct frame_buf fb;
};

struct ts_buf {
	__u64 w[PS_TS_BYTES / 8];
};

/* One per CPU and program kind (scratch_map, sample_scratch): too big for the stack. */
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

/* The start a breakpoint counted last on a thread (bp_last). */
struct bp_seen {
	__u64 frame;
	__u64 code;
};

/* Where a target thread blocked, and when (offcpu). */
struct offcpu_start {
	__u64 ts;
	struct ps_sample_key key;
};

/* RESUME handlers whose frame register is checked apart (freg_agree). */
#define FREG_SITES 4	/* cookie: register | site index << 8 (one per RESUME handler) */

#endif /* PYSCOPE_TYPES_BPF_H */
