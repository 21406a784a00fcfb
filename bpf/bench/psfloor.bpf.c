// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Benchmark floor (tools/psbench floor): what a probe costs when its BPF
 * program only counts, like bpftrace's `/pid == N/ { @[probe] = count(); }`,
 * attached at pyscope's probe points with pyscope's kind of link.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define FLOOR_SLOTS 16

const volatile __u32 targ_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOOR_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void count_hit(void *ctx)
{
	__u32 slot;
	__u64 *c;

	if ((bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return;
	slot = (__u32)bpf_get_attach_cookie(ctx) & (FLOOR_SLOTS - 1);
	c = bpf_map_lookup_elem(&hits, &slot);
	if (c)
		*c += 1;
}

SEC("uprobe")
int floor_entry(struct pt_regs *ctx)
{
	count_hit(ctx);
	return 0;
}

SEC("uretprobe")
int floor_return(struct pt_regs *ctx)
{
	count_hit(ctx);
	return 0;
}
