/* SPDX-License-Identifier: MIT */
/*
 * Reading a target's memory through BPF (bpf/memread.bpf.c): user space
 * fills a batch of requests, runs a task iterator bound to the target, and
 * reads back, per request, a header and the bytes.  pyscope never reads a
 * target's memory any other way (and never writes it).
 */
#ifndef PYSCOPE_MEMREAD_H
#define PYSCOPE_MEMREAD_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#define MR_MAX_REQ	128		/* requests per batch */
#define MR_MAX_LEN	4096		/* bytes per request */
#define MR_MAX_OUT	(28 * 1024)	/* bytes per batch: the iterator's seq buffer is 32 KiB */

struct mr_req {
	__u64 addr;
	__u32 len;
	__u32 pad;
};

/* Output per request: this header, then len bytes when status is 0. */
struct mr_hdr {
	__s32 status;			/* 0 or a negative errno from the copy */
	__u32 len;
};

#endif
