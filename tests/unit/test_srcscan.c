// SPDX-License-Identifier: MIT
#include "testutil.h"
#include "target/srcscan.h"

#include <errno.h>

static const char SRC[] =
	"import os\n"				/* 1 */
	"\n"					/* 2 */
	"def top(a):\n"				/* 3 */
	"    s = '''\n"				/* 4 */
	"def fake(): pass\n"			/* 5 */
	"'''\n"					/* 6 */
	"    def inner(b):\n"			/* 7 */
	"        return b\n"			/* 8 */
	"    return inner(a)\n"			/* 9 */
	"\n"					/* 10 */
	"class Outer:\n"			/* 11 */
	"    x = (1,\n"				/* 12 */
	"def notreal(): pass)\n"		/* 13: inside brackets */
	"    class Inner:\n"			/* 14 */
	"        @staticmethod\n"		/* 15 */
	"        @other(\n"			/* 16 */
	"            arg=1)\n"			/* 17 */
	"        def deco(v):\n"		/* 18 */
	"            return v\n"		/* 19 */
	"\n"					/* 20 */
	"        async def run(self):  # comment with def x():\n" /* 21 */
	"            pass\n"			/* 22 */
	"    def method(self, \\\n"		/* 23 */
	"               y):\n"			/* 24 */
	"        if y:\n"			/* 25 */
	"            def cb(): return \"def z():\"\n" /* 26 */
	"        return y\n"			/* 27 */
	"    def last(self): pass\n";		/* 28 */

static void check(int line, const char *name, const char *want)
{
	char out[256];
	int ret = srcscan_qualname(SRC, sizeof(SRC) - 1, line, name, out, sizeof(out));

	if (!want) {
		assert_int_equal(ret, -ENOENT);
		return;
	}
	if (ret)
		fail_msg("line %d %s: not found", line, name);
	assert_string_equal(out, want);
}

static void test_qualnames(void **state)
{
	(void)state;
	check(3, "top", "top");
	check(7, "inner", "top.<locals>.inner");
	check(15, "deco", "Outer.Inner.deco");	/* firstlineno is the first decorator */
	check(21, "run", "Outer.Inner.run");
	check(23, "method", "Outer.method");
	check(26, "cb", "Outer.method.<locals>.cb");
	check(28, "last", "Outer.last");
	check(5, "fake", NULL);			/* inside a string */
	check(13, "notreal", NULL);		/* inside brackets */
	check(3, "wrong", NULL);
	check(999, "top", NULL);
}

static void test_tabs(void **state)
{
	const char *src = "class A:\n\tdef f(self):\n\t\tdef g(): pass\n\tdef h(self): pass\n";
	char out[64];

	(void)state;
	assert_int_equal(srcscan_qualname(src, strlen(src), 2, "f", out, sizeof(out)), 0);
	assert_string_equal(out, "A.f");
	assert_int_equal(srcscan_qualname(src, strlen(src), 3, "g", out, sizeof(out)), 0);
	assert_string_equal(out, "A.f.<locals>.g");
	assert_int_equal(srcscan_qualname(src, strlen(src), 4, "h", out, sizeof(out)), 0);
	assert_string_equal(out, "A.h");
}

static void test_hostile(void **state)
{
	char buf[4096], out[64];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = "def class (\n\t'\"\\#@:x"[i * 7 % 21];
	for (i = 1; i < 200; i++)
		(void)srcscan_qualname(buf, sizeof(buf), (int)i, "x", out, sizeof(out));
	assert_int_equal(srcscan_qualname("", 0, 1, "f", out, sizeof(out)), -ENOENT);
	/* a name too long for the output */
	assert_int_equal(srcscan_qualname("class A:\n def f(): pass\n", 24, 2, "f", out, 3),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qualnames),
		cmocka_unit_test(test_tabs),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
