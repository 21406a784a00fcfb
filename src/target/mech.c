// SPDX-License-Identifier: MIT
#include "target/mech.h"
#include "target/pyrt.h"

#include <stdarg.h>
#include <stdio.h>

const char *mech_name(enum ps_mech m)
{
	static const char *const names[MECH_COUNT] = {
		[MECH_EVAL] = "eval",
		[MECH_RESUME] = "resume",
		[MECH_USDT] = "usdt",
		[MECH_BREAKPOINT] = "breakpoint",
	};
	return m < MECH_COUNT ? names[m] : "?";
}

static void mech_set(struct mech_status *st, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void mech_set(struct mech_status *st, bool ok, const char *fmt, ...)
{
	va_list ap;

	st->ok = ok;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

static void assess_eval(const struct pyrt *rt, struct mech_status *st)
{
	const struct py_offsets *o = &rt->off;

	if (o->frame_kind == PYFRAME_OBJECT && rt->eval)
		mech_set(st, true,
			 "every Python call enters _PyEval_EvalFrameDefault; entry uprobe plus "
			 "uretprobe");
	else if (o->frame_kind == PYFRAME_OBJECT)
		mech_set(st, false, "_PyEval_EvalFrameDefault not found");
	else
		mech_set(st, false,
			 "from 3.11 Python-to-Python calls are inlined and never re-enter "
			 "_PyEval_EvalFrameDefault");
}

static void assess_resume(const struct pyrt *rt, struct mech_status *st)
{
	if (rt->off.frame_kind != PYFRAME_INTERP)
		mech_set(st, false, "no RESUME instruction before 3.11");
	else if (!rt->opcode_targets)
		mech_set(st, false,
			 "opcode jump table not found (no symbol, and no table of the "
			 "expected shape in the data sections)");
	else if (!rt->nhandlers)
		mech_set(st, false, "no RESUME handler in the opcode table");
	else if (rt->frame_clear)
		mech_set(st, true,
			 "starts: %u RESUME handlers (opcode table: %s); ends: %s", rt->nhandlers,
			 rt->opcode_targets_how, rt->frame_clear_sym);
	else if (rt->has_usdt_return)
		mech_set(st, true,
			 "starts: %u RESUME handlers (opcode table: %s); ends: USDT "
			 "python:function__return", rt->nhandlers, rt->opcode_targets_how);
	else
		mech_set(st, true,
			 "starts: %u RESUME handlers (opcode table: %s); count only: no frame-end "
			 "probe (stripped, no USDT)", rt->nhandlers, rt->opcode_targets_how);
}

static void assess_usdt(const struct pyrt *rt, struct mech_status *st)
{
	if (!rt->nusdt)
		mech_set(st, false, "built without --with-dtrace: no USDT probes");
	else if (rt->off.frame_kind == PYFRAME_INTERP && rt->has_usdt_entry)
		mech_set(st, false,
			 "%u probes; function__entry fires only for frames entered from C in "
			 "3.11 (gh-98894); function__return is used to end frames", rt->nusdt);
	else if (rt->has_usdt_entry)
		mech_set(st, false,
			 "%u probes; the eval mechanism sees the same events without the "
			 "semaphore cost", rt->nusdt);
	else
		mech_set(st, false, "%u probes, but no function__entry/return",
			 rt->nusdt);
}

static void assess_breakpoint(const struct pyrt *rt, struct mech_status *st)
{
	if (!rt->function_type || !rt->module_type || !rt->code_type)
		mech_set(st, false,
			 "PyFunction_Type, PyModule_Type or PyCode_Type not found: cannot find "
			 "code objects");
	else
		mech_set(st, true,
			 "hardware watch on the argument byte of each target's start "
			 "instruction; code objects found through sys.modules; count only");
}

void mech_assess(const struct pyrt *rt, struct mech_status st[MECH_COUNT])
{
	assess_eval(rt, &st[MECH_EVAL]);
	assess_resume(rt, &st[MECH_RESUME]);
	assess_usdt(rt, &st[MECH_USDT]);
	assess_breakpoint(rt, &st[MECH_BREAKPOINT]);
}
