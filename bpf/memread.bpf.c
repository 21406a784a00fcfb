// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Target memory reader.  A sleepable task iterator, attached to one thread of
 * the target, copies each requested range with bpf_copy_from_user_task() and
 * writes it to the iterator's output.  Used by the user side to find code
 * objects (walking sys.modules) without reading /proc/PID/mem or ptrace.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "memread.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* libbpf 1.1's helper list predates it; the kernel has it since 5.18. */
static long (*copy_from_user_task)(void *dst, __u32 size, const void *user_ptr,
				   struct task_struct *tsk, __u64 flags) = (void *)191;

__u32 nreq = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MR_MAX_REQ);
	__type(key, __u32);
	__type(value, struct mr_req);
} reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[MR_MAX_LEN]);
} buf SEC(".maps");

SEC("iter.s/task")
int read_mem(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	__u32 zero = 0;
	char *b;

	if (!task)
		return 0;
	b = bpf_map_lookup_elem(&buf, &zero);
	if (!b)
		return 0;
	for (__u32 i = 0; i < MR_MAX_REQ; i++) {
		struct mr_req *r;
		struct mr_hdr h;

		if (i >= nreq)
			break;
		r = bpf_map_lookup_elem(&reqs, &i);
		if (!r)
			break;
		h.len = r->len;
		if (h.len == 0 || h.len > MR_MAX_LEN) {
			h.status = -22;		/* -EINVAL */
			h.len = 0;
		} else {
			h.status = (__s32)copy_from_user_task(b, h.len, (const void *)r->addr, task, 0);
		}
		bpf_seq_write(seq, &h, sizeof(h));
		if (h.status == 0)
			bpf_seq_write(seq, b, h.len & (MR_MAX_LEN - 1) ? h.len & (MR_MAX_LEN - 1) : MR_MAX_LEN);
	}
	return 0;
}
