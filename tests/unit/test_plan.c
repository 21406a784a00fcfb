// SPDX-License-Identifier: MIT
/*
 * The plan: which mechanism each --via picks from the capabilities the
 * interpreter model reports, how returns are seen, and the probe points
 * that follows, from synthetic interpreter models.
 */
#include "testutil.h"
#include "plan/plan.h"
#include "target/pyrt.h"
#include "util/util.h"

#include <errno.h>

#define EVAL_AT		0x1000
#define CLEAR_AT	0x2000
#define USDT_AT		0x3000
#define USDT_SEMA	0x3100
#define CODE_FREE_AT	0x4000
#define TYPE_FREE_AT	0x5000

static struct pyrt rt;
static char err[512];

static void mech(enum ps_mech m, bool ok, const char *why)
{
	rt.mech[m].ok = ok;
	str_copy(rt.mech[m].why, why, sizeof(rt.mech[m].why));
}

/* A 3.11-like model: eval and resume both work, frame-clear and deallocs found. */
static int setup(void **state)
{
	(void)state;
	memset(&rt, 0, sizeof(rt));
	memset(err, 0, sizeof(err));
	str_copy(rt.version, "3.11.7", sizeof(rt.version));
	mech(MECH_EVAL, true, "eval works");
	mech(MECH_RESUME, true, "resume works");
	mech(MECH_USDT, false, "no USDT");
	mech(MECH_BREAKPOINT, true, "breakpoints work");
	rt.eval_site.addr = EVAL_AT;
	rt.nhandlers = 2;
	str_copy(rt.handler_ops[0], "RESUME", sizeof(rt.handler_ops[0]));
	str_copy(rt.handler_ops[1], "RESUME_CHECK", sizeof(rt.handler_ops[1]));
	rt.handler_site[0].addr = 0x100;
	rt.handler_site[1].addr = 0x200;
	rt.frame_clear = CLEAR_AT;
	rt.frame_clear_site.addr = CLEAR_AT + 4;
	str_copy(rt.frame_clear_sym, "_PyFrame_ClearExceptCode", sizeof(rt.frame_clear_sym));
	rt.usdt_return.sema = USDT_SEMA;
	rt.usdt_return_site.addr = USDT_AT;
	rt.code_dealloc = CODE_FREE_AT;
	rt.code_dealloc_site.addr = CODE_FREE_AT;
	rt.type_dealloc = TYPE_FREE_AT;
	rt.type_dealloc_site.addr = TYPE_FREE_AT;
	return 0;
}

static void test_auto_prefers_eval(void **state)
{
	struct plan p;

	(void)state;
	assert_int_equal(plan_make(&rt, VIA_AUTO, &p, err, sizeof(err)), 0);
	assert_int_equal(p.mech, MECH_EVAL);
	/* the uretprobe on the eval function, whatever else there is */
	assert_int_equal(p.exit, EXIT_URETPROBE);
	assert_string_equal(p.desc, "eval works; returns: uretprobe on _PyEval_EvalFrameDefault");
}

static void test_auto_falls_back_to_resume(void **state)
{
	struct plan p;

	(void)state;
	mech(MECH_EVAL, false, "no eval");
	assert_int_equal(plan_make(&rt, VIA_AUTO, &p, err, sizeof(err)), 0);
	assert_int_equal(p.mech, MECH_RESUME);
	assert_int_equal(p.exit, EXIT_FRAME_CLEAR);
	assert_string_equal(p.desc, "resume works; returns: uprobe on the frame-clear function");
}

static void test_auto_nothing_works(void **state)
{
	struct plan p;

	(void)state;
	mech(MECH_EVAL, false, "no eval here");
	mech(MECH_RESUME, false, "no resume here");
	assert_int_equal(plan_make(&rt, VIA_AUTO, &p, err, sizeof(err)), -ENOTSUP);
	assert_string_equal(err, "Python 3.11.7: no tracing mechanism works here (no eval here; "
			    "no resume here)");
}

/* Returns with resume: the frame-clear probe, else USDT function__return, else none. */
static void test_resume_exits(void **state)
{
	struct plan p;

	(void)state;
	assert_int_equal(plan_make(&rt, VIA_RESUME, &p, err, sizeof(err)), 0);
	assert_int_equal(p.exit, EXIT_FRAME_CLEAR);
	rt.frame_clear = 0;
	rt.has_usdt_return = true;
	assert_int_equal(plan_make(&rt, VIA_RESUME, &p, err, sizeof(err)), 0);
	assert_int_equal(p.exit, EXIT_USDT_RETURN);
	assert_string_equal(p.desc, "resume works; returns: USDT python:function__return");
	rt.has_usdt_return = false;
	assert_int_equal(plan_make(&rt, VIA_RESUME, &p, err, sizeof(err)), 0);
	assert_int_equal(p.exit, EXIT_NONE);
	assert_string_equal(p.desc, "resume works; returns: none (count only)");
}

static void test_via_each(void **state)
{
	static const struct { enum ps_via via; enum ps_mech mech; } v[] = {
		{ VIA_EVAL, MECH_EVAL }, { VIA_RESUME, MECH_RESUME },
		{ VIA_BREAKPOINT, MECH_BREAKPOINT },
	};
	struct plan p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(plan_make(&rt, v[i].via, &p, err, sizeof(err)), 0);
		assert_int_equal(p.mech, v[i].mech);
	}
	/* breakpoints time calls with the frame-clear probe, as resume does */
	assert_int_equal(p.exit, EXIT_FRAME_CLEAR);
}

static void test_via_refused(void **state)
{
	static const struct { enum ps_via via; enum ps_mech mech; const char *msg; } v[] = {
		{ VIA_EVAL, MECH_EVAL, "--via eval does not work on Python 3.11.7: off" },
		{ VIA_RESUME, MECH_RESUME, "--via resume does not work on Python 3.11.7: off" },
		{ VIA_BREAKPOINT, MECH_BREAKPOINT,
		  "--via breakpoint does not work on Python 3.11.7: off" },
	};
	struct plan p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		setup(NULL);
		mech(v[i].mech, false, "off");
		assert_int_equal(plan_make(&rt, v[i].via, &p, err, sizeof(err)), -ENOTSUP);
		assert_string_equal(err, v[i].msg);
	}
	/* auto does not need the one that is off */
	assert_int_equal(plan_make(&rt, VIA_AUTO, &p, err, sizeof(err)), 0);
}

static void test_probes_eval(void **state)
{
	struct probe_point pp[PLAN_MAX_PROBES];
	struct plan p;
	size_t n;

	(void)state;
	assert_int_equal(plan_make(&rt, VIA_EVAL, &p, err, sizeof(err)), 0);
	n = plan_probes(&rt, &p, pp);
	assert_int_equal(n, 4);
	assert_int_equal(pp[0].role, PROBE_EVAL_ENTRY);
	assert_int_equal(pp[0].vaddr, EVAL_AT);
	assert_false(pp[0].ret);
	assert_int_equal(pp[1].role, PROBE_EVAL_RETURN);
	assert_int_equal(pp[1].vaddr, EVAL_AT);
	assert_true(pp[1].ret);
	assert_int_equal(pp[2].role, PROBE_CODE_DEALLOC);
	assert_int_equal(pp[2].vaddr, CODE_FREE_AT);
	assert_int_equal(pp[3].role, PROBE_TYPE_DEALLOC);
	assert_int_equal(pp[3].vaddr, TYPE_FREE_AT);
}

static void test_probes_resume(void **state)
{
	struct probe_point pp[PLAN_MAX_PROBES];
	struct plan p;
	size_t n;

	(void)state;
	/* the frame is in a register at the second handler's probe (enum ps_reg 3) */
	rt.handler_freg[1] = 3;
	rt.type_dealloc = 0;
	assert_int_equal(plan_make(&rt, VIA_RESUME, &p, err, sizeof(err)), 0);
	n = plan_probes(&rt, &p, pp);
	assert_int_equal(n, 4);
	assert_int_equal(pp[0].role, PROBE_RESUME);
	assert_int_equal(pp[0].vaddr, 0x100);
	assert_string_equal(pp[0].what, "RESUME");
	assert_int_equal(pp[0].cookie, 0);
	assert_int_equal(pp[1].role, PROBE_RESUME);
	assert_int_equal(pp[1].vaddr, 0x200);
	assert_string_equal(pp[1].what, "RESUME_CHECK");
	assert_int_equal(pp[1].cookie, 3 | 1 << 8);	/* the register, and which handler */
	assert_int_equal(pp[2].role, PROBE_FRAME_CLEAR);
	assert_int_equal(pp[2].vaddr, CLEAR_AT + 4);
	assert_string_equal(pp[2].what, "_PyFrame_ClearExceptCode");
	assert_int_equal(pp[3].role, PROBE_CODE_DEALLOC);
}

static void test_probes_resume_usdt(void **state)
{
	struct probe_point pp[PLAN_MAX_PROBES];
	struct plan p;
	size_t n;

	(void)state;
	rt.frame_clear = 0;
	rt.has_usdt_return = true;
	rt.code_dealloc = rt.type_dealloc = 0;
	assert_int_equal(plan_make(&rt, VIA_RESUME, &p, err, sizeof(err)), 0);
	n = plan_probes(&rt, &p, pp);
	assert_int_equal(n, 3);
	assert_int_equal(pp[2].role, PROBE_USDT_RETURN);
	assert_int_equal(pp[2].vaddr, USDT_AT);
	assert_int_equal(pp[2].sema, USDT_SEMA);
	assert_string_equal(pp[2].what, "python:function__return");
}

static void test_probes_count_only(void **state)
{
	struct probe_point pp[PLAN_MAX_PROBES];
	struct plan p;

	(void)state;
	assert_int_equal(plan_make(&rt, VIA_RESUME, &p, err, sizeof(err)), 0);
	/* the session's count-only runs drop the exit: no frame-end probe then */
	p.exit = EXIT_NONE;
	assert_int_equal(plan_probes(&rt, &p, pp), 4);
	assert_int_equal(pp[2].role, PROBE_CODE_DEALLOC);
}

/* Breakpoints need no probe point at all: not even the deallocation probes. */
static void test_probes_breakpoint(void **state)
{
	struct probe_point pp[PLAN_MAX_PROBES];
	struct plan p;

	(void)state;
	assert_int_equal(plan_make(&rt, VIA_BREAKPOINT, &p, err, sizeof(err)), 0);
	assert_int_equal(plan_probes(&rt, &p, pp), 0);
}

static void test_exit_names(void **state)
{
	(void)state;
	assert_string_equal(plan_exit_str(EXIT_NONE), "none (count only)");
	assert_string_equal(plan_exit_str(EXIT_URETPROBE), "uretprobe on _PyEval_EvalFrameDefault");
	assert_string_equal(plan_exit_str(EXIT_FRAME_CLEAR), "uprobe on the frame-clear function");
	assert_string_equal(plan_exit_str(EXIT_USDT_RETURN), "USDT python:function__return");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_auto_prefers_eval, setup),
		cmocka_unit_test_setup(test_auto_falls_back_to_resume, setup),
		cmocka_unit_test_setup(test_auto_nothing_works, setup),
		cmocka_unit_test_setup(test_resume_exits, setup),
		cmocka_unit_test_setup(test_via_each, setup),
		cmocka_unit_test_setup(test_via_refused, setup),
		cmocka_unit_test_setup(test_probes_eval, setup),
		cmocka_unit_test_setup(test_probes_resume, setup),
		cmocka_unit_test_setup(test_probes_resume_usdt, setup),
		cmocka_unit_test_setup(test_probes_count_only, setup),
		cmocka_unit_test_setup(test_probes_breakpoint, setup),
		cmocka_unit_test_setup(test_exit_names, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
