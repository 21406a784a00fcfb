// SPDX-License-Identifier: MIT
/* ELF reading and the interpreter model, on the real interpreters of this machine. */
#include "testutil.h"
#include "elf_file.h"
#include "pyrt.h"

#include <errno.h>
#include <fcntl.h>

struct interp {
	const char *path;
	const char *version;
	bool stripped;
};

static const struct interp interps[] = {
	{ "/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0", "3.8.18", false },
	{ "/root/.pyenv/versions/3.9.18/lib/libpython3.9.so.1.0", "3.9.18", false },
	{ "/root/.pyenv/versions/3.10.13/lib/libpython3.10.so.1.0", "3.10.13", false },
	{ "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", "3.11.7", false },
	{ "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", "3.12.1", false },
	{ "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0", "3.13.0", false },
	{ "/usr/bin/python3.11", NULL, true },
};

static void test_versions_and_mechanisms(void **state)
{
	unsigned i, seen = 0;

	(void)state;
	for (i = 0; i < sizeof(interps) / sizeof(interps[0]); i++) {
		struct pyrt *rt = NULL;
		char err[256];

		if (access(interps[i].path, R_OK)) {
			fprintf(stderr, "skip: %s not present\n", interps[i].path);
			continue;
		}
		seen++;
		assert_int_equal(pyrt__from_file(interps[i].path, interps[i].path, &rt, err,
						 sizeof(err)), 0);
		if (interps[i].version)
			assert_string_equal(rt->version, interps[i].version);
		assert_int_equal(rt->stripped, interps[i].stripped);
		assert_true(rt->runtime != 0);
		assert_true(rt->eval != 0);
		assert_true(rt->code_dealloc != 0);
		if (rt->ver.minor <= 10) {
			assert_true(rt->mech[MECH_EVAL].ok);
			assert_false(rt->mech[MECH_RESUME].ok);
			assert_int_equal(rt->off.frame_kind, PYFRAME_OBJECT);
		} else {
			assert_false(rt->mech[MECH_EVAL].ok);
			assert_true(rt->mech[MECH_RESUME].ok);
			assert_true(rt->nhandlers >= 2);
			assert_int_equal(rt->off.frame_kind, PYFRAME_INTERP);
			/* every build can end frames: a symbol or the USDT probe */
			assert_true(rt->frame_clear || rt->has_usdt_return);
		}
		pyrt__free(rt);
	}
	assert_true(seen > 0);
}

/* The opcode-table scan must find what the symbol says, on unstripped builds. */
static void test_opcode_scan_matches_symbol(void **state)
{
	unsigned i, checked = 0;

	(void)state;
	for (i = 3; i < 6; i++) {
		struct pyrt *rt = NULL;
		uint64_t found = 0;
		char err[256];

		if (access(interps[i].path, R_OK))
			continue;
		assert_int_equal(pyrt__from_file(interps[i].path, interps[i].path, &rt, err,
						 sizeof(err)), 0);
		assert_true(strstr(rt->opcode_targets_how, "symbol") != NULL);
		assert_int_equal(pyrt_scan_opcode_table(rt->ef, rt->off.op_defined, &found), 0);
		assert_int_equal(found, rt->opcode_targets);
		checked++;
		pyrt__free(rt);
	}
	assert_true(checked > 0);
}

static void test_debian_stripped(void **state)
{
	const char *p = "/usr/bin/python3.11";
	const struct usdt_note *u;
	struct pyrt *rt = NULL;
	char err[256];

	(void)state;
	REQUIRE_FILE(p);
	assert_int_equal(pyrt__from_file(p, p, &rt, err, sizeof(err)), 0);
	assert_int_equal(rt->ver.minor, 11);
	assert_true(strstr(rt->opcode_targets_how, "shape") != NULL);
	assert_true(rt->has_usdt_return);
	assert_true(rt->usdt_return.sema != 0);
	u = elf_file__usdt_find(rt->ef, "python", "function__entry");
	assert_non_null(u);
	assert_string_equal(u->provider, "python");
	assert_int_equal(rt->frame_clear, 0);
	pyrt__free(rt);
}

static void test_not_python_and_garbage(void **state)
{
	struct elf_file *ef = NULL;
	struct pyrt *rt = NULL;
	char err[256], junk[4096];
	int fd;

	(void)state;
	assert_int_equal(pyrt__from_file("/bin/sh", "/bin/sh", &rt, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not a CPython"));
	memset(junk, 0x7f, sizeof(junk));
	assert_int_equal(elf_file__open_mem(junk, sizeof(junk), &ef), -ENOEXEC);
	assert_null(ef);
	assert_true(elf_file__open("/nonexistent", &ef) < 0);
	/* a truncated real ELF: open must fail cleanly or succeed, never crash */
	fd = open("/bin/sh", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	if (!elf_file__open_mem(junk, sizeof(junk), &ef)) {
		(void)elf_file__sym(ef, "main");
		elf_file__free(ef);
	}
}

static void test_unsupported_versions(void **state)
{
	const char *old[] = {
		"/root/.pyenv/versions/3.7.16/lib/libpython3.7m.so.1.0",
		"/root/.pyenv/versions/3.6.15/lib/libpython3.6m.so.1.0",
		"/root/.pyenv/versions/2.7.18/lib/libpython2.7.so.1.0",
	};
	unsigned i, seen = 0;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct pyrt *rt = NULL;
		char err[256];

		if (access(old[i], R_OK))
			continue;
		seen++;
		assert_int_equal(pyrt__from_file(old[i], old[i], &rt, err, sizeof(err)), -ENOTSUP);
		assert_non_null(strstr(err, "not supported"));
	}
	if (!seen)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_and_mechanisms),
		cmocka_unit_test(test_opcode_scan_matches_symbol),
		cmocka_unit_test(test_debian_stripped),
		cmocka_unit_test(test_not_python_and_garbage),
		cmocka_unit_test(test_unsupported_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
