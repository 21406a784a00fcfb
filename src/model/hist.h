/* SPDX-License-Identifier: MIT */
/* Percentiles from the kernel's log2-linear latency buckets (include/pshist.h). */
#ifndef PYSCOPE_HIST_H
#define PYSCOPE_HIST_H

#include <stdint.h>
#include "pyscope.h"

struct latency {
	uint64_t count;		/* calls timed */
	uint64_t sum_ns;
	uint64_t max_ns;
	double mean_ns;
	uint64_t p50_ns, p95_ns, p99_ns;	/* upper bounds, within 12.5% */
};

void hist_add(__u64 *dst, const __u64 *src);
/*
 * Smallest bucket bound v such that at least q of the samples are <= v,
 * clamped to max_ns (the exact maximum).  0 when there are no samples.
 */
uint64_t hist_quantile(const __u64 *buckets, double q, uint64_t max_ns);
void hist_summary(const __u64 *buckets, uint64_t sum_ns, uint64_t max_ns, struct latency *out);

#endif
