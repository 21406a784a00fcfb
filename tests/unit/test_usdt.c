// SPDX-License-Identifier: MIT
/* SystemTap note parsing: one note's desc at a time. */
#include "testutil.h"
#include "target/usdt.h"

#include <errno.h>

/* A desc: pc, base, semaphore, then the strings (with their NULs) in strs[0..slen). */
static size_t desc(uint8_t *buf, uint64_t pc, uint64_t base, uint64_t sema, const char *strs,
		   size_t slen)
{
	memcpy(buf, &pc, 8);
	memcpy(buf + 8, &base, 8);
	memcpy(buf + 16, &sema, 8);
	memcpy(buf + 24, strs, slen);
	return 24 + slen;
}

static void test_is_note(void **state)
{
	(void)state;
	assert_true(usdt_is_note(3, "stapsdt", 8, 27));
	assert_false(usdt_is_note(1, "stapsdt", 8, 27));	/* another type */
	assert_false(usdt_is_note(3, "stapsdX", 8, 27));
	assert_false(usdt_is_note(3, "stapsdt", 7, 27));
	assert_false(usdt_is_note(3, "stapsdt", 8, 26));	/* no room for the strings */
}

static void test_parse(void **state)
{
	static const char strs[] = "python\0function__entry\0-8@%rbp 8@%rax";
	struct usdt_note u;
	uint8_t buf[128];
	size_t n;

	(void)state;
	n = desc(buf, 0x1000, 0x2000, 0x3000, strs, sizeof(strs));
	assert_int_equal(usdt_parse((const char *)buf, n, 0, &u), 0);
	assert_string_equal(u.provider, "python");
	assert_string_equal(u.name, "function__entry");
	assert_string_equal(u.args, "-8@%rbp 8@%rax");
	assert_int_equal(u.pc, 0x1000);
	assert_int_equal(u.sema, 0x3000);
	/* moved by prelink: .stapsdt.base is now 0x2100, the note says 0x2000 */
	assert_int_equal(usdt_parse((const char *)buf, n, 0x2100, &u), 0);
	assert_int_equal(u.pc, 0x1100);
	assert_int_equal(u.sema, 0x3100);
	/* no semaphore stays none */
	n = desc(buf, 0x1000, 0x2000, 0, strs, sizeof(strs));
	assert_int_equal(usdt_parse((const char *)buf, n, 0x2100, &u), 0);
	assert_int_equal(u.sema, 0);
	/* no arguments */
	n = desc(buf, 0x1000, 0, 0, "p\0n", 4);
	assert_int_equal(usdt_parse((const char *)buf, n, 0, &u), 0);
	assert_string_equal(u.name, "n");
	assert_string_equal(u.args, "");
}

/* A desc cut short: the name must start inside it; strings are bounded by it. */
static void test_truncated(void **state)
{
	struct usdt_note u;
	uint8_t buf[64];
	size_t n;

	(void)state;
	n = desc(buf, 1, 0, 0, "python", 6);		/* no NUL, no name */
	assert_int_equal(usdt_parse((const char *)buf, n, 0, &u), -EINVAL);
	n = desc(buf, 1, 0, 0, "p\0name", 6);		/* the name runs to the end */
	assert_int_equal(usdt_parse((const char *)buf, n, 0, &u), 0);
	assert_string_equal(u.name, "nam");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_note),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
