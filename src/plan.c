// SPDX-License-Identifier: MIT
#include "plan.h"

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
