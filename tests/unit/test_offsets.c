// SPDX-License-Identifier: MIT
#include "testutil.h"
#include "target/elf_file.h"
#include "target/offsets.h"

#include <errno.h>

static void test_lookup(void **state)
{
	enum pyoff_source src;
	const struct py_offsets *o;

	(void)state;
	o = pyoff_lookup((struct pyver){ 3, 12, 1, 0xf }, &src);
	assert_non_null(o);
	assert_int_equal(src, PYOFF_SRC_TABLE_EXACT);
	assert_int_equal(o->version_hex >> 16, 0x030c);
	o = pyoff_lookup((struct pyver){ 3, 12, 5, 0xf }, &src);
	assert_non_null(o);
	assert_int_equal(src, PYOFF_SRC_TABLE_NEAR);
	/* Debian's 3.11.2 has its own entry, apart from 3.11.7 */
	o = pyoff_lookup((struct pyver){ 3, 11, 2, 0xf }, &src);
	assert_non_null(o);
	assert_int_equal(src, PYOFF_SRC_TABLE_EXACT);
	assert_null(pyoff_lookup((struct pyver){ 3, 7, 16, 0xf }, &src));
	assert_int_equal(src, PYOFF_SRC_NONE);
	assert_null(pyoff_lookup((struct pyver){ 2, 7, 18, 0xf }, &src));
}

/*
 * What the offsets layer tells the rest about a version, so that nothing else
 * tests version numbers; it agrees with the generated table.
 */
static void test_capabilities(void **state)
{
	unsigned i, minor;

	(void)state;
	assert_true(pyoff_supported((struct pyver){ 3, 8, 0, 0xf }));
	assert_true(pyoff_supported((struct pyver){ 3, 13, 0, 0xf }));
	assert_false(pyoff_supported((struct pyver){ 3, 7, 16, 0xf }));
	assert_false(pyoff_supported((struct pyver){ 3, 14, 0, 0xf }));
	assert_false(pyoff_supported((struct pyver){ 2, 7, 18, 0xf }));
	assert_false(pyoff_in_runtime((struct pyver){ 3, 12, 1, 0xf }));
	assert_true(pyoff_in_runtime((struct pyver){ 3, 13, 0, 0xf }));
	assert_int_equal(pyoff_linetable_fmt(8), PY_LT_LNOTAB);
	assert_int_equal(pyoff_linetable_fmt(9), PY_LT_LNOTAB);
	assert_int_equal(pyoff_linetable_fmt(10), PY_LT_PEP626);
	for (minor = 11; minor <= 13; minor++)
		assert_int_equal(pyoff_linetable_fmt(minor), PY_LT_LOCATIONS);
	for (i = 0; i < pyoff_table_len; i++) {
		struct pyver v = pyver_from_hex(pyoff_table[i].version_hex);

		assert_true(pyoff_supported(v));
		assert_int_equal(pyoff_has_qualname(v.minor),
				 pyoff_table[i].co_qualname != PYOFF_NONE);
	}
}

/* Generated facts the kernel side relies on, checked against probe-points.md. */
static void test_table_facts(void **state)
{
	enum pyoff_source src;
	const struct py_offsets *o11, *o12, *o8;

	(void)state;
	o11 = pyoff_lookup((struct pyver){ 3, 11, 7, 0xf }, &src);
	o12 = pyoff_lookup((struct pyver){ 3, 12, 1, 0xf }, &src);
	o8 = pyoff_lookup((struct pyver){ 3, 8, 18, 0xf }, &src);
	assert_non_null(o11);
	assert_non_null(o12);
	assert_non_null(o8);
	assert_int_equal(o11->fr_code, 32);
	assert_int_equal(o11->fr_back, 48);
	assert_int_equal(o11->fr_localsplus, 72);
	assert_int_equal(o12->fr_code, 0);
	assert_int_equal(o12->fr_back, 8);
	assert_int_equal(o11->co_filename, 112);
	assert_int_equal(o11->co_name, 120);
	assert_int_equal(o11->co_qualname, 128);
	assert_int_equal(o11->co_firstlineno, 72);
	assert_int_equal(o12->co_firstlineno, 68);
	assert_int_equal(o11->ts_native_thread_id, 160);
	assert_int_equal(o12->ts_native_thread_id, 144);
	assert_int_equal(o11->ip_is_prev, 1);
	assert_int_equal(o8->frame_kind, PYFRAME_OBJECT);
	assert_int_equal(o8->eval_frame_arg, 1);
	assert_int_equal(o11->op_resume, 151);
	assert_int_equal(o12->op_instrumented_resume, 240);
	assert_true(o8->co_qualname == PYOFF_NONE);
}

/* 3.13: _Py_DebugOffsets read from the real library agrees with its headers. */
static void test_debug_offsets_313(void **state)
{
	const char *p = "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0";
	unsigned char buf[PY_DEBUG_OFFSETS_313_SIZE];
	const struct py_offsets *tab;
	struct py_offsets got;
	struct elf_file *ef = NULL;
	const struct elf_sym *s;
	enum pyoff_source src;
	uint64_t vhex = 0;

	(void)state;
	REQUIRE_FILE(p);
	assert_int_equal(elf_file__open(p, &ef), 0);
	s = elf_file__sym(ef, "_PyRuntime");
	assert_non_null(s);
	assert_int_equal(elf_file__read(ef, s->value, buf, sizeof(buf)), 0);
	tab = pyoff_lookup((struct pyver){ 3, 13, 0, 0xf }, &src);
	assert_non_null(tab);
	assert_int_equal(pyoff_from_debug(buf, sizeof(buf), tab, &got, &vhex), 0);
	assert_int_equal(vhex >> 16, 0x030d);
	/* every field both sources know must agree */
	assert_int_equal(got.rt_interp_head, tab->rt_interp_head);
	assert_int_equal(got.is_threads_head, tab->is_threads_head);
	assert_int_equal(got.ts_frame, tab->ts_frame);
	assert_int_equal(got.ts_native_thread_id, tab->ts_native_thread_id);
	assert_int_equal(got.fr_back, tab->fr_back);
	assert_int_equal(got.fr_code, tab->fr_code);
	assert_int_equal(got.fr_ip, tab->fr_ip);
	assert_int_equal(got.fr_localsplus, tab->fr_localsplus);
	assert_int_equal(got.fr_owner, tab->fr_owner);
	assert_int_equal(got.co_filename, tab->co_filename);
	assert_int_equal(got.co_qualname, tab->co_qualname);
	assert_int_equal(got.co_firstlineno, tab->co_firstlineno);
	assert_int_equal(got.co_code_adaptive, tab->co_code_adaptive);
	assert_int_equal(got.u_ascii_data, tab->u_ascii_data);
	assert_int_equal(got.is_ceval_gil, tab->is_ceval_gil);
	assert_int_equal(got.gil_last_holder, tab->gil_last_holder);
	/* bad cookie and free-threaded builds are refused */
	buf[0] = 'X';
	assert_int_equal(pyoff_from_debug(buf, sizeof(buf), tab, &got, &vhex), -EINVAL);
	buf[0] = 'x';
	buf[16] = 1;
	assert_int_equal(pyoff_from_debug(buf, sizeof(buf), tab, &got, &vhex), -ENOTSUP);
	assert_int_equal(pyoff_from_debug(buf, 10, tab, &got, &vhex), -EINVAL);
	elf_file__free(ef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_table_facts),
		cmocka_unit_test(test_debug_offsets_313),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
