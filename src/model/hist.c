// SPDX-License-Identifier: MIT
#include "model/hist.h"
#include "pshist.h"

#include <math.h>
#include <string.h>

void hist_add(__u64 *dst, const __u64 *src)
{
	unsigned i;

	for (i = 0; i < PS_NBUCKETS; i++)
		dst[i] += src[i];
}

uint64_t hist_quantile(const __u64 *b, double q, uint64_t max_ns)
{
	uint64_t total = 0, need, seen = 0, v;
	unsigned i;

	for (i = 0; i < PS_NBUCKETS; i++)
		total += b[i];
	if (!total)
		return 0;
	need = (uint64_t)ceil(q * (double)total);
	if (need < 1)
		need = 1;
	for (i = 0; i < PS_NBUCKETS; i++) {
		seen += b[i];
		if (seen >= need)
			break;
	}
	if (i == PS_NBUCKETS)
		i = PS_NBUCKETS - 1;
	v = ps_hist_upper(i) - 1;
	return v < max_ns ? v : max_ns;
}

void hist_summary(const __u64 *b, uint64_t sum_ns, uint64_t max_ns, struct latency *out)
{
	unsigned i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < PS_NBUCKETS; i++)
		out->count += b[i];
	out->sum_ns = sum_ns;
	out->max_ns = max_ns;
	if (!out->count)
		return;
	out->mean_ns = (double)sum_ns / (double)out->count;
	out->p50_ns = hist_quantile(b, 0.50, max_ns);
	out->p95_ns = hist_quantile(b, 0.95, max_ns);
	out->p99_ns = hist_quantile(b, 0.99, max_ns);
}
