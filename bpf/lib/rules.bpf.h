/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Rule records (pyscope check with rules): one PS_EV_CALL per call of a
 * pattern a rule names, with the object it was called on and the value of
 * the rule's key argument, judged in order by the user side (src/sink/rules.c).
 */
#ifndef PYSCOPE_RULES_BPF_H
#define PYSCOPE_RULES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "maps.bpf.h"
#include "percpu.bpf.h"
#include "filter.bpf.h"
#include "pyframe.bpf.h"
#include "capture.bpf.h"

/*
 * A call of a pattern a rule names: its record (global: verified once, and
 * only loaded into the hot path of pyscope check with rules).
 */
__noinline int send_call(struct scratch *s, __u64 code, __u32 rule_slot, __u32 agg_id, __u64 ts)
{
	struct ps_ev_call *ev;
	__u64 frame;

	if (!s)
		return 0;
	frame = s->fr.addr;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(PS_CNT_CALL_LOST);
		return 0;
	}
	ev->type = PS_EV_CALL;
	ev->agg_id = agg_id;
	ev->ts_ns = ts;
	ev->tid = cur_tid();
	ev->self = s->arg0 ? s->arg0 : read_arg(frame, code, 0);
	ev->stack = s->key.stack;
	ev->keyval = 0;
	ev->keyflags = 0;
	ev->pad = 0;
	ev->keytext[0] = '\0';
	if (rule_slot)
		read_value(read_arg(frame, code, rule_slot - 1), &ev->keyval, &ev->keyflags,
			   ev->keytext);
	/*
	 * No wakeup per record (an irq_work each, when the reader keeps up):
	 * the reader polls every 50 ms anyway; wake it only once a backlog
	 * builds up, long before the buffer could fill.
	 */
	bpf_ringbuf_submit(ev, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > call_wake_bytes ?
			   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 1;
}

#endif /* PYSCOPE_RULES_BPF_H */
