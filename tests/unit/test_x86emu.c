// SPDX-License-Identifier: MIT
/* Which instructions the kernel's uprobe code emulates, on encoded bytes. */
#include "testutil.h"
#include "target/x86emu.h"

#include <sys/utsname.h>

static const struct x86emu_caps old_kernel = { .nopl = false };
static const struct x86emu_caps new_kernel = { .nopl = true };

/* Bytes from "eb 05"-style hex. */
static size_t unhex(const char *hex, uint8_t *b, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (*hex && n < cap && sscanf(hex, "%2x", &v) == 1) {
		b[n++] = (uint8_t)v;
		hex += 2;
		while (*hex == ' ')
			hex++;
	}
	return n;
}

/* Emulated?  *what gets the class the module names. */
static bool classify(const char *hex, const struct x86emu_caps *caps, const char **what)
{
	uint8_t b[16];
	size_t n = unhex(hex, b, sizeof(b));

	return x86emu_emulated(b, n, caps, what);
}

static bool emu(const char *hex, const struct x86emu_caps *caps)
{
	const char *what;

	return classify(hex, caps, &what);
}

static bool refused(const char *hex)
{
	uint8_t b[16];
	size_t n = unhex(hex, b, sizeof(b));

	return x86emu_refused(b, n);
}

static void test_emulation_rules(void **state)
{
	(void)state;
	/* branch_setup_xol_ops: jmp, call, jcc, short and near */
	assert_true(emu("eb 05", &old_kernel));
	assert_true(emu("e9 00 01 00 00", &old_kernel));
	assert_true(emu("e8 00 01 00 00", &old_kernel));
	assert_true(emu("74 12", &old_kernel));
	assert_true(emu("0f 85 00 01 00 00", &old_kernel));
	/* 16-bit branches are refused outright */
	assert_false(emu("66 e9 00 01", &old_kernel));
	/* push_setup_xol_ops: 1 byte, or exactly REX 0x41 */
	assert_true(emu("53", &old_kernel));
	assert_true(emu("41 57", &old_kernel));
	assert_false(emu("48 53", &old_kernel));
	assert_false(emu("66 53", &old_kernel));
	/* nops: 0x90 always, 0f 1f /0 only where the kernel emulates every NOP */
	assert_true(emu("90", &old_kernel));
	assert_false(emu("41 90", &old_kernel));	/* xchg %eax,%r8d */
	assert_false(emu("0f 1f 00", &old_kernel));
	assert_true(emu("0f 1f 00", &new_kernel));
	assert_true(emu("0f 1f 44 00 00", &new_kernel));
	assert_false(emu("0f 1f 48 00", &new_kernel));	/* reg field 1: not NOPL */
	/* cs prefix: the kernel refuses to probe it */
	assert_false(emu("66 2e 0f 1f 84 00 00 00 00 00", &new_kernel));
	/* what the RESUME handlers start with: single-stepped */
	assert_false(emu("48 8b 7b 20", &new_kernel));	/* mov 0x20(%rbx),%rdi */
	assert_false(emu("49 8d 46 02", &new_kernel));	/* lea 0x2(%r14),%rax */
	assert_false(emu("4c 89 7d 38", &new_kernel));	/* mov %r15,0x38(%rbp) */
	assert_false(emu("ff e0", &new_kernel));		/* jmp *%rax */
	assert_false(emu("c3", &new_kernel));
}

/* The class each emulated instruction is reported as, and the reason for the others. */
static void test_what(void **state)
{
	const char *what;

	(void)state;
	assert_true(classify("eb 05", &old_kernel, &what));
	assert_string_equal(what, "jmp");
	assert_true(classify("e8 00 01 00 00", &old_kernel, &what));
	assert_string_equal(what, "call");
	assert_true(classify("0f 84 00 01 00 00", &old_kernel, &what));
	assert_string_equal(what, "jcc");
	assert_true(classify("7f 00", &old_kernel, &what));
	assert_string_equal(what, "jcc");
	assert_true(classify("55", &old_kernel, &what));
	assert_string_equal(what, "push");
	assert_true(classify("90", &old_kernel, &what));
	assert_string_equal(what, "nop");
	assert_true(classify("0f 1f 40 00", &new_kernel, &what));
	assert_string_equal(what, "nop");
	assert_false(classify("48 89 e5", &new_kernel, &what));	/* mov %rsp,%rbp */
	assert_string_equal(what, "single-stepped");
	assert_false(classify("f0 ff 00", &new_kernel, &what));	/* lock incl (%rax) */
	assert_string_equal(what, "refused by the kernel (prefix)");
	assert_false(classify("", &new_kernel, &what));
	assert_string_equal(what, "single-stepped");
}

/* Prefixes and REX: which the classification skips, and where it looks after them. */
static void test_prefixes(void **state)
{
	(void)state;
	/* a lone prefix is no instruction */
	assert_false(emu("66", &new_kernel));
	assert_false(emu("f3", &new_kernel));
	/* REX without B leaves 0x90 a nop; REX.W alone leaves NOPL a nop */
	assert_true(emu("40 90", &old_kernel));
	assert_true(emu("48 0f 1f 00", &new_kernel));
	/* REX.R makes NOPL's reg field non-zero */
	assert_false(emu("4c 0f 1f 00", &new_kernel));
	/* a second REX is the opcode, not a prefix */
	assert_false(emu("41 41 50", &new_kernel));
	/* push with a legacy prefix is single-stepped */
	assert_false(emu("f3 53", &new_kernel));
	/* a jcc cut short (0f alone) is not one */
	assert_false(emu("0f", &new_kernel));
}

static void test_refused(void **state)
{
	(void)state;
	/* is_prefix_bad(): es, cs, ss, ds, lock */
	assert_true(refused("26 90"));
	assert_true(refused("2e 90"));
	assert_true(refused("36 90"));
	assert_true(refused("3e 90"));
	assert_true(refused("f0 ff 00"));
	/* ... after other prefixes too */
	assert_true(refused("66 2e 0f 1f 84 00 00 00 00 00"));
	/* 16-bit relative branches: jmp, call, jcc */
	assert_true(refused("66 eb 05"));
	assert_true(refused("66 e8 00 01"));
	assert_true(refused("66 0f 85 00 01"));
	assert_true(refused("66 74 05"));
	/* fs/gs, rep and address-size prefixes are fine; so is 66 on anything else */
	assert_false(refused("64 48 8b 04 25 28 00 00 00"));
	assert_false(refused("f3 c3"));
	assert_false(refused("66 90"));
	assert_false(refused("eb 05"));
	assert_false(refused(""));
}

/* nopl follows the running kernel's release: 6.18 and later. */
static void test_running_caps(void **state)
{
	struct x86emu_caps caps = { .nopl = true };
	struct utsname u;
	unsigned maj, min;

	(void)state;
	x86emu_running_caps(&caps);
	assert_int_equal(uname(&u), 0);
	assert_int_equal(sscanf(u.release, "%u.%u", &maj, &min), 2);
	assert_int_equal(caps.nopl, maj > 6 || (maj == 6 && min >= 18));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emulation_rules),
		cmocka_unit_test(test_what),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_running_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
