// SPDX-License-Identifier: MIT
#include "testutil.h"
#include "procmaps.h"

#include <errno.h>

static void test_parse(void **state)
{
	const char *text =
		"55d0c1a00000-55d0c1a01000 r--p 00000000 fd:01 123 /usr/bin/python3.11\n"
		"7f0a00000000-7f0a00100000 r--p 00000000 fd:01 456 /opt/py/lib/libpython3.12.so.1.0\n"
		"7f0a00100000-7f0a00400000 r-xp 00100000 fd:01 456 /opt/py/lib/libpython3.12.so.1.0\n"
		"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
		"7f0a00500000-7f0a00501000 rw-p 00000000 00:00 0\n";
	struct procmaps m;
	const struct map_ent *e;

	(void)state;
	assert_int_equal(procmaps_parse(text, &m), 0);
	assert_int_equal(m.n, 5);
	e = procmaps_find_base(&m, "libpython");
	assert_non_null(e);
	assert_int_equal(e->start, 0x7f0a00000000ull);
	assert_int_equal(e->offset, 0);
	e = procmaps_find_path(&m, "/opt/py/lib/libpython3.12.so.1.0");
	assert_int_equal(e->offset, 0);
	assert_string_equal(m.ents[3].path, "[stack]");
	assert_string_equal(m.ents[4].path, "");
	assert_null(procmaps_find_base(&m, "stack"));
	procmaps_free(&m);
	assert_int_equal(procmaps_parse("garbage line\n", &m), -EINVAL);
	assert_int_equal(procmaps_parse("2000-1000 r--p 0 0:0 0 x\n", &m), -EINVAL);
	assert_int_equal(procmaps_parse("", &m), 0);
	assert_int_equal(m.n, 0);
	procmaps_free(&m);
	/* our own maps parse */
	assert_int_equal(procmaps_read(getpid(), &m), 0);
	assert_true(m.n > 5);
	procmaps_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_parse) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
