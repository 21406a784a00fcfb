/* SPDX-License-Identifier: MIT */
/*
 * Log2-linear latency buckets, shared by the kernel (which fills them) and
 * the user side (which turns them back into values).  Values below
 * PS_HIST_SUB get a bucket each; above, every power of two is cut into
 * PS_HIST_SUB equal parts, so a bucket's width is at most 1/8 of its lower
 * bound (12.5% relative error).
 */
#ifndef PYSCOPE_PSHIST_H
#define PYSCOPE_PSHIST_H

#include "pyscope.h"

/* floor(log2(v)) for v > 0, without clz (the BPF target has none). */
static inline __u32 ps_log2(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xFFFFFFFFULL) << 5; v >>= s; r |= s;
	s = (v > 0xFFFF) << 4; v >>= s; r |= s;
	s = (v > 0xFF) << 3; v >>= s; r |= s;
	s = (v > 0xF) << 2; v >>= s; r |= s;
	s = (v > 0x3) << 1; v >>= s; r |= s;
	r |= (__u32)(v >> 1);
	return r;
}

static inline __u32 ps_hist_bucket(__u64 v)
{
	__u32 lg, idx;

	if (v < PS_HIST_SUB)
		return (__u32)v;
	lg = ps_log2(v);
	if (lg > PS_HIST_MAX_LOG)
		return PS_NBUCKETS - 1;
	idx = (lg - PS_HIST_SUB_BITS + 1) * PS_HIST_SUB +
	      (__u32)((v >> (lg - PS_HIST_SUB_BITS)) & (PS_HIST_SUB - 1));
	return idx < PS_NBUCKETS ? idx : PS_NBUCKETS - 1;
}

/* Smallest value that falls in bucket idx. */
static inline __u64 ps_hist_lower(__u32 idx)
{
	__u32 lg, sub;

	if (idx < PS_HIST_SUB)
		return idx;
	lg = idx / PS_HIST_SUB + PS_HIST_SUB_BITS - 1;
	sub = idx % PS_HIST_SUB;
	return ((__u64)PS_HIST_SUB + sub) << (lg - PS_HIST_SUB_BITS);
}

/* One past the largest value that falls in bucket idx. */
static inline __u64 ps_hist_upper(__u32 idx)
{
	if (idx < PS_HIST_SUB)
		return (__u64)idx + 1;
	return ps_hist_lower(idx) +
	       (1ULL << (idx / PS_HIST_SUB + PS_HIST_SUB_BITS - 1 - PS_HIST_SUB_BITS));
}

#endif /* PYSCOPE_PSHIST_H */
