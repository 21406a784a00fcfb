/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The per-CPU scratch (struct scratch: too big for the stack) and the
 * per-CPU counters of what went wrong (PS_CNT_*: lost records, missed
 * thread states, unpaired ends), which the user side sums.
 */
#ifndef PYSCOPE_PERCPU_BPF_H
#define PYSCOPE_PERCPU_BPF_H

#include "maps.bpf.h"

static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_map, &zero);
}

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);

	if (c)
		*c += 1;
}

#endif /* PYSCOPE_PERCPU_BPF_H */
