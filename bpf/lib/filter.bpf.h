/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The target: is the probed task one of its threads, the thread's id as
 * the target sees it, and the records of its forks and execs.
 */
#ifndef PYSCOPE_FILTER_BPF_H
#define PYSCOPE_FILTER_BPF_H

#include "maps.bpf.h"
#include "percpu.bpf.h"

static __always_inline __u32 cur_tid(void)
{
	if (pidns_ino) {
		struct bpf_pidns_info ns = {};

		if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
			return 0;
		return ns.pid;
	}
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == targ_tgid && !target_execd;
}

/* The target forked or exec'd (PS_EV_FORK, PS_EV_EXEC). */
static __always_inline void proc_event(__u32 type, __u32 pid)
{
	struct ps_ev_proc *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(PS_CNT_RB_LOST);
		return;
	}
	ev->type = type;
	ev->pid = pid;
	ev->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(ev, 0);
}

#endif /* PYSCOPE_FILTER_BPF_H */
