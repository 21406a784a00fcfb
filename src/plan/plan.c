// SPDX-License-Identifier: MIT
#include "plan/plan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *plan_exit_str(enum plan_exit e)
{
	switch (e) {
	case EXIT_URETPROBE:
		return "uretprobe on _PyEval_EvalFrameDefault";
	case EXIT_FRAME_CLEAR:
		return "uprobe on the frame-clear function";
	case EXIT_USDT_RETURN:
		return "USDT python:function__return";
	default:
		return "none (count only)";
	}
}

static int choose_exit(const struct pyrt *rt, struct plan *p)
{
	if (p->mech == MECH_EVAL)
		p->exit = EXIT_URETPROBE;
	else if (rt->frame_clear)
		p->exit = EXIT_FRAME_CLEAR;
	else if (rt->has_usdt_return)
		p->exit = EXIT_USDT_RETURN;
	else
		p->exit = EXIT_NONE;
	return 0;
}

int plan_make(const struct pyrt *rt, enum ps_via via, struct plan *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	switch (via) {
	case VIA_AUTO:
		if (rt->mech[MECH_EVAL].ok)
			out->mech = MECH_EVAL;
		else if (rt->mech[MECH_RESUME].ok)
			out->mech = MECH_RESUME;
		else {
			snprintf(err, errlen, "Python %s: no tracing mechanism works here (%s; %s)",
				 rt->version, rt->mech[MECH_EVAL].why, rt->mech[MECH_RESUME].why);
			return -ENOTSUP;
		}
		break;
	case VIA_EVAL:
	case VIA_RESUME:
	case VIA_BREAKPOINT:
		out->mech = via == VIA_EVAL ? MECH_EVAL : via == VIA_RESUME ? MECH_RESUME :
			    MECH_BREAKPOINT;
		if (!rt->mech[out->mech].ok) {
			snprintf(err, errlen, "--via %s does not work on Python %s: %s",
				 mech_name(out->mech), rt->version, rt->mech[out->mech].why);
			return -ENOTSUP;
		}
		break;
	}
	choose_exit(rt, out);
	snprintf(out->desc, sizeof(out->desc), "%s; returns: %s", rt->mech[out->mech].why,
		 plan_exit_str(out->exit));
	return 0;
}

size_t plan_probes(const struct pyrt *rt, const struct plan *p, struct probe_point *out)
{
	size_t n = 0;
	unsigned i;

	if (p->mech == MECH_EVAL) {
		/* the uretprobe needs the entry: eval_site never moves (SITE_FIXED) */
		out[n++] = (struct probe_point){ PROBE_EVAL_ENTRY, rt->eval_site.addr, 0, false,
						 "_PyEval_EvalFrameDefault entry" };
		out[n++] = (struct probe_point){ PROBE_EVAL_RETURN, rt->eval_site.addr, 0, true,
						 "_PyEval_EvalFrameDefault return" };
	} else if (p->mech == MECH_RESUME) {
		for (i = 0; i < rt->nhandlers && i < PYRT_MAX_HANDLERS; i++)
			out[n++] = (struct probe_point){ PROBE_RESUME, rt->handler_site[i].addr, 0,
							 false, rt->handler_ops[i],
							 rt->handler_freg[i] ?
							 (uint64_t)rt->handler_freg[i] | (uint64_t)i << 8 :
							 0 };
		if (p->exit == EXIT_FRAME_CLEAR)
			out[n++] = (struct probe_point){ PROBE_FRAME_CLEAR, rt->frame_clear_site.addr,
							 0, false, rt->frame_clear_sym };
		else if (p->exit == EXIT_USDT_RETURN)
			out[n++] = (struct probe_point){ PROBE_USDT_RETURN,
							 rt->usdt_return_site.addr,
							 rt->usdt_return.sema, false,
							 "python:function__return" };
	}
	if (n && rt->code_dealloc)
		out[n++] = (struct probe_point){ PROBE_CODE_DEALLOC, rt->code_dealloc_site.addr, 0,
						 false, "code object dealloc" };
	if (n && rt->type_dealloc)
		out[n++] = (struct probe_point){ PROBE_TYPE_DEALLOC, rt->type_dealloc_site.addr, 0,
						 false, "type object dealloc" };
	return n;
}
