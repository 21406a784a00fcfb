// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Collector benchmark (tools/psbench flood): fills pyscope's ring buffer
 * with aggregate and code records as fast as the kernel can, so that the
 * user side's consumption rate and memory can be measured.  Run with
 * BPF_PROG_TEST_RUN; returns how many records it could submit (it stops at
 * the first one the full ring refuses: the caller retries, nothing is lost).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct flood_args {
	__u64 seq;		/* first record's sequence number */
	/*
	 * 64-bit: the verifier's inlined bpf_loop() checks its count as a
	 * 64-bit register, and clang may load two adjacent u32 fields at once
	 */
	__u64 n;		/* records to submit */
	__u64 code_every;	/* one code record per this many (0: none) */
	__u64 codes;		/* distinct code ids (>= 1) */
	__u64 done;		/* out: submitted */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* as pyscope's */
} events SEC(".maps");

static long emit(__u64 i, void *ctx)
{
	struct flood_args *a = ctx;
	__u64 seq = a->seq + i;

	if (a->code_every && seq % a->code_every == 0) {
		struct ps_ev_code *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

		if (!ev)
			return 1;
		ev->type = PS_EV_CODE;
		/* ids wrap as the kernel's do when code objects come and go */
		ev->code_id = (__u32)(seq / a->code_every % a->codes) + 1;
		ev->code_addr = 0x7f0000000000ULL + seq * 64;
		ev->kind = PS_CODE_FUNC;
		ev->firstlineno = 10;
		ev->co_flags = 3;
		ev->argcount = 1;
		ev->lt_len = 64;
		ev->lt_total = 64;
		__builtin_memcpy(ev->name, "handler", 8);
		__builtin_memcpy(ev->qualname, "Service.handler", 16);
		__builtin_memcpy(ev->module, "app.service", 12);
		__builtin_memcpy(ev->filename, "/srv/app/service.py", 20);
		bpf_ringbuf_submit(ev, 0);
	} else {
		struct ps_ev_agg *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

		if (!ev)
			return 1;
		ev->type = PS_EV_AGG;
		ev->agg_id = (__u32)(seq % PS_MAX_AGGS);
		__builtin_memset(&ev->key, 0, sizeof(ev->key));
		ev->key.code_id = (__u32)(seq % 997) + 1;
		ev->key.caller_id = (__u32)(seq % 991) + 1;
		ev->key.caller_off = (__u32)(seq % 512) * 2;
		ev->key.nargs = 2;
		ev->key.types[0] = 0x7f1000000000ULL;
		ev->key.types[1] = 0x7f2000000000ULL;
		ev->nkw = 0;
		for (int k = 0; k < PS_MAX_SIG; k++)
			ev->type_names[k][0] = '\0';
		__builtin_memcpy(ev->type_names[0], "Request", 8);
		__builtin_memcpy(ev->type_names[1], "int", 4);
		for (int k = 0; k < PS_MAX_KW; k++)
			ev->kwnames[k][0] = '\0';
		bpf_ringbuf_submit(ev, 0);
	}
	a->done++;
	return 0;
}

SEC("syscall")
int flood(struct flood_args *args)
{
	struct flood_args a = *args;	/* bpf_loop's context must be on the stack */

	a.done = 0;
	bpf_loop(a.n, emit, &a, 0);
	args->done = a.done;
	return 0;
}
