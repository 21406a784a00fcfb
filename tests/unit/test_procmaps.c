// SPDX-License-Identifier: MIT
#include "testutil.h"
#include "target/procmaps.h"
#include "util/util.h"

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
	assert_int_equal(procmaps__parse(text, &m), 0);
	assert_int_equal(m.n, 5);
	e = procmaps__find_base(&m, "libpython");
	assert_non_null(e);
	assert_int_equal(e->start, 0x7f0a00000000ull);
	assert_int_equal(e->offset, 0);
	e = procmaps__find_path(&m, "/opt/py/lib/libpython3.12.so.1.0");
	assert_int_equal(e->offset, 0);
	assert_string_equal(m.ents[3].path, "[stack]");
	assert_string_equal(m.ents[4].path, "");
	assert_null(procmaps__find_base(&m, "stack"));
	procmaps__free(&m);
	assert_int_equal(procmaps__parse("garbage line\n", &m), -EINVAL);
	assert_int_equal(procmaps__parse("2000-1000 r--p 0 0:0 0 x\n", &m), -EINVAL);
	assert_int_equal(procmaps__parse("", &m), 0);
	assert_int_equal(m.n, 0);
	procmaps__free(&m);
	/* our own maps parse */
	assert_int_equal(procmaps__read(getpid(), &m), 0);
	assert_true(m.n > 5);
	procmaps__free(&m);
}

/* "Key:" lines of /proc/PID/status */
static void test_status(void **state)
{
	const char *text = "Name:\tpython3\nUmask:\t0022\nTgid:\t4242\nNgid:\t0\n"
			   "NSpid:\t4242\t17\nUid:\t0\t1\t2\t3\nGid:\t5 6 7 8";
	char val[16], tiny[4];
	int pid;

	(void)state;
	assert_int_equal(status_value(text, "Name", val, sizeof(val)), 0);
	assert_string_equal(val, "python3");
	assert_int_equal(status_value(text, "Tgid", val, sizeof(val)), 0);
	assert_string_equal(val, "4242");
	/* a key is a whole line prefix up to the colon: "gid" is not "Ngid" or "Tgid" */
	assert_int_equal(status_value(text, "gid", val, sizeof(val)), -ENOENT);
	assert_string_equal(val, "");
	assert_int_equal(status_value(text, "NSpid", val, sizeof(val)), 0);
	assert_string_equal(val, "4242\t17");
	assert_int_equal(status_value(text, "Gid", val, sizeof(val)), 0);	/* no final newline */
	assert_string_equal(val, "5 6 7 8");
	assert_int_equal(status_value(text, "Uid", tiny, sizeof(tiny)), 0);	/* truncated */
	assert_string_equal(tiny, "0\t1");
	assert_int_equal(status_value("", "Name", val, sizeof(val)), -ENOENT);
	/* our own status */
	assert_int_equal(proc_status(getpid(), "Tgid", val, sizeof(val)), 0);
	pid = atoi(val);
	assert_int_equal(pid, getpid());
	assert_true(proc_status(-1, "Tgid", val, sizeof(val)) < 0);
	/* /proc/PID/exe */
	{
		char exe[4096], small[8];

		assert_true(proc_exe(getpid(), exe, sizeof(exe)) > 0);
		assert_true(str_ends(exe, "/test_procmaps"));
		assert_int_equal(proc_exe(getpid(), small, sizeof(small)), 7);	/* truncated */
		assert_int_equal(strlen(small), 7);
		assert_int_equal(proc_exe(-1, exe, sizeof(exe)), -ENOENT);
		assert_string_equal(exe, "");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_parse),
					    cmocka_unit_test(test_status) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
