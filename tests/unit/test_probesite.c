// SPDX-License-Identifier: MIT
/*
 * Probe-site choice, the code index and the frame register: on hand-written
 * code in this test binary (assembled below, read back from /proc/self/exe),
 * then on the installed interpreters.  The emulation rules: test_x86emu.c.
 */
#include "testutil.h"
#include "target/code_index.h"
#include "target/elf_file.h"
#include "target/frame_reg.h"
#include "target/probesite.h"
#include "target/pyrt.h"
#include "target/x86dis.h"
#include "pyscope.h"

#include <errno.h>

static const struct x86emu_caps new_kernel = { .nopl = true };

/*
 * A miniature eval loop: "handlers" entered through a table, one entered
 * in its middle by a jump from another, one ending in an indirect jump,
 * one starting with a push, and a function whose argument register is
 * overwritten before its first branch.
 */
__asm__(".pushsection .text\n"
	".globl ps_fix_lo\n"
	"ps_fix_lo:\n"
	"ps_fix_a:\n"			/* candidate: the je at +8 */
	"	movq 0x20(%rbx), %rdi\n"
	"	movq %r15, 0x38(%rbx)\n"
	"	je 1f\n"
	"	addl $1, %eax\n"
	"1:	jmp *%rax\n"
	"ps_fix_b:\n"			/* entered at +4 from ps_fix_c: keep the entry */
	"	movq 0x20(%rbx), %rdi\n"
	"ps_fix_b_mid:\n"
	"	movq %r15, 0x38(%rbx)\n"
	"	jne 2f\n"
	"2:	jmp *%rax\n"
	"ps_fix_c:\n"			/* its jne is the site; it also enters ps_fix_b */
	"	movq %r15, 0x38(%rbx)\n"
	"	cmpq %rax, 0x10(%rbx)\n"
	"	jne ps_fix_b_mid\n"
	"	jmp *%rax\n"
	"ps_fix_d:\n"			/* no emulated instruction before the indirect jump */
	"	movq 0x20(%rbx), %rdi\n"
	"	leaq 2(%r14), %rax\n"
	"	jmp *%rax\n"
	"ps_fix_e:\n"			/* a push: emulated at the entry */
	"	pushq %rbx\n"
	"	movq 0x20(%rbx), %rdi\n"
	"	jmp *%rax\n"
	"ps_fix_f:\n"			/* %rdi is clobbered before the first branch */
	"	movq 0x10(%rdi), %rax\n"
	"	movl $1, %edi\n"
	"	jne 3f\n"
	"3:	ret\n"
	"ps_fix_g:\n"			/* the same without the clobber: the jne */
	"	movq 0x10(%rdi), %rax\n"
	"	movl $1, %ecx\n"
	"	jne 4f\n"
	"4:	ret\n"
	"ps_fix_h:\n"			/* frame in %rbx, then %rbx overwritten before the jne */
	"	movq %r15, 0x38(%rbx)\n"
	"	movq 0x10(%rbx), %rbx\n"
	"	jne 5f\n"
	"5:	ret\n"
	"ps_fix_i:\n"			/* the frame use after the probe: %rbp, untouched */
	"	leaq 2(%r14), %rax\n"
	"	jne 6f\n"
	"	movq %rax, 0x38(%rbp)\n"
	"6:	ret\n"
	".globl ps_fix_hi\n"
	"ps_fix_hi:\n"
	"	nop\n"
	".popsection\n");

struct fixture {
	struct elf_file *ef;
	struct code_index *ci;
	uint64_t lo, hi;
};

static uint64_t sym(const struct fixture *f, const char *name)
{
	const struct elf_sym *s = elf_file__sym(f->ef, name);

	assert_non_null(s);
	return s->value;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct code_span span;
	uint64_t entries[6];
	const char *names[] = { "ps_fix_a", "ps_fix_b", "ps_fix_c", "ps_fix_d", "ps_fix_e",
				"ps_fix_f" };
	unsigned i;

	if (!f || elf_file__open("/proc/self/exe", &f->ef))
		return -1;
	f->lo = sym(f, "ps_fix_lo");
	f->hi = sym(f, "ps_fix_hi");
	for (i = 0; i < 6; i++)
		entries[i] = sym(f, names[i]);
	span = (struct code_span){ f->lo, f->hi };
	if (code_index__build(f->ef, &span, 1, entries, 6, &f->ci))
		return -1;
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	code_index__free(f->ci);
	elf_file__free(f->ef);
	free(f);
	return 0;
}

static void test_choose_on_fixture(void **state)
{
	struct fixture *f = *state;
	struct probe_site s;
	uint64_t a = sym(f, "ps_fix_a"), b = sym(f, "ps_fix_b"), c = sym(f, "ps_fix_c");
	uint64_t d = sym(f, "ps_fix_d"), e = sym(f, "ps_fix_e"), fn = sym(f, "ps_fix_f");
	uint64_t g = sym(f, "ps_fix_g"), at, from;

	/* the index knows the jump into ps_fix_b's middle, and where it comes from */
	assert_true(code_index__entry_in(f->ci, b, b + 4, &at, &from));
	assert_int_equal(at, b + 4);
	assert_true(from > c && from < d);
	assert_false(code_index__entry_in(f->ci, a, a + 8, &at, &from));

	probesite_choose(f->ef, f->ci, a, 0, &new_kernel, &s);
	assert_true(s.emulated);
	assert_int_equal(s.addr, a + 8);
	assert_non_null(strstr(s.insn, "je"));

	probesite_choose(f->ef, f->ci, b, 0, &new_kernel, &s);
	assert_false(s.emulated);
	assert_int_equal(s.addr, b);
	assert_non_null(strstr(s.why, "also entered"));

	probesite_choose(f->ef, f->ci, c, 0, &new_kernel, &s);
	assert_true(s.emulated);
	assert_int_equal(s.addr, c + 8);

	probesite_choose(f->ef, f->ci, d, 0, &new_kernel, &s);
	assert_false(s.emulated);
	assert_int_equal(s.addr, d);
	assert_non_null(strstr(s.why, "prefix ends"));

	probesite_choose(f->ef, f->ci, e, 0, &new_kernel, &s);
	assert_true(s.emulated);
	assert_int_equal(s.addr, e);

	/* without an index nothing past the entry can be proven */
	probesite_choose(f->ef, NULL, a, 0, &new_kernel, &s);
	assert_false(s.emulated);
	assert_int_equal(s.addr, a);

	/* a probe that must stay (uretprobe, USDT) stays */
	probesite_choose(f->ef, f->ci, a, SITE_FIXED, &new_kernel, &s);
	assert_int_equal(s.addr, a);

	/* a probe that reads %rdi cannot move past a write to it */
	probesite_choose(f->ef, f->ci, fn, SITE_KEEP_RDI, &new_kernel, &s);
	assert_int_equal(s.addr, fn);
	assert_non_null(strstr(s.why, "argument register"));
	probesite_choose(f->ef, f->ci, fn, 0, &new_kernel, &s);
	assert_int_not_equal(s.addr, fn);
	probesite_choose(f->ef, f->ci, g, SITE_KEEP_RDI, &new_kernel, &s);
	assert_true(s.emulated);
	assert_int_equal(s.addr, g + 9);
}

/* The prefix walk: instructions in order, as objdump prints them, to the first branch. */
static void test_prefix_walk(void **state)
{
	struct fixture *f = *state;
	struct x86dis_prefix px;
	const cs_insn *in;
	uint64_t a = sym(f, "ps_fix_a");
	char d[64];
	unsigned n = 0;

	assert_int_equal(x86dis_prefix__open(&px, f->ef, a), 0);
	in = x86dis_prefix__next(&px);
	assert_non_null(in);
	assert_int_equal(in->address, a);
	x86dis_describe(in, d, sizeof(d));
	assert_string_equal(d, "movq 0x20(%rbx), %rdi");
	while (in && !x86dis_is_flow(px.cs, in)) {
		in = x86dis_prefix__next(&px);
		n++;
	}
	assert_non_null(in);
	assert_int_equal(n, 2);
	assert_int_equal(in->address, a + 8);	/* the je */
	assert_false(x86dis_prefix__at_limit(&px));
	x86dis_prefix__close(&px);
	/* no executable section holds address 0 */
	assert_int_equal(x86dis_prefix__open(&px, f->ef, 0), -EFAULT);
}

static void test_frame_reg(void **state)
{
	struct fixture *f = *state;
	struct probe_site s;
	const uint32_t disps[2] = { 0x38, 0x20 };
	char why[128];

	/* ps_fix_a: movq 0x20(%rbx) at the entry, probe at the je: %rbx */
	probesite_choose(f->ef, f->ci, sym(f, "ps_fix_a"), 0, &new_kernel, &s);
	assert_int_equal(frame_reg_find(f->ef, &s, disps, 2, why, sizeof(why)), PS_REG_RBX);
	assert_non_null(strstr(why, "0x20(%rbx)"));
	/* only displacements that are asked for count */
	assert_int_equal(frame_reg_find(f->ef, &s, (const uint32_t[]){ 0x99 }, 1, why, sizeof(why)),
			 PS_REG_NONE);
	/* %rbx is overwritten before the probe at the jne: no register */
	s = (struct probe_site){ .start = sym(f, "ps_fix_h"), .addr = sym(f, "ps_fix_h") + 8 };
	assert_int_equal(frame_reg_find(f->ef, &s, disps, 2, why, sizeof(why)), PS_REG_NONE);
	/* the same probe at the entry: %rbx still holds the frame there */
	s.addr = s.start;
	assert_int_equal(frame_reg_find(f->ef, &s, disps, 2, why, sizeof(why)), PS_REG_RBX);
	/* a use past the probe, in another straight-line block, is not seen */
	s = (struct probe_site){ .start = sym(f, "ps_fix_i"), .addr = sym(f, "ps_fix_i") + 4 };
	assert_int_equal(frame_reg_find(f->ef, &s, disps, 2, why, sizeof(why)), PS_REG_NONE);
}

static const char *const interps[] = {
	"/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
	"/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0",
	"/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0",
	"/usr/bin/python3.11",
};

/*
 * On the real eval loops: every RESUME handler is either probed on an
 * emulated instruction, or kept at its entry because something else jumps
 * into its prefix (3.13's RESUME_CHECK deoptimises into RESUME's middle).
 * No other opcode handler starts inside a chosen prefix.
 */
static void test_real_handlers(void **state)
{
	unsigned i, j, k, seen = 0;

	(void)state;
	for (i = 0; i < sizeof(interps) / sizeof(interps[0]); i++) {
		struct pyrt *rt = NULL;
		uint64_t tab[256];
		char err[256];
		unsigned moved = 0;

		if (access(interps[i], R_OK)) {
			fprintf(stderr, "skip: %s not present\n", interps[i]);
			continue;
		}
		seen++;
		assert_int_equal(pyrt__from_file(interps[i], interps[i], &rt, err, sizeof(err)), 0);
		assert_int_equal(elf_file__read_ptrs(rt->ef, rt->opcode_targets, tab, 256), 0);
		assert_true(rt->index_insns > 1000);
		for (j = 0; j < rt->nhandlers; j++) {
			const struct probe_site *s = &rt->handler_site[j];

			assert_int_equal(s->start, rt->handlers[j]);
			if (!s->emulated) {
				assert_int_equal(s->addr, s->start);
				assert_non_null(strstr(s->why, "also entered"));
				continue;
			}
			moved += s->addr > s->start;
			assert_true(s->addr - s->start < 128);
			for (k = 0; k < 256; k++)
				assert_false(tab[k] > s->start && tab[k] <= s->addr);
		}
		assert_true(moved >= 1);
		/* every handler's frame register is known on these builds */
		for (j = 0; j < rt->nhandlers; j++)
			assert_int_not_equal(rt->handler_freg[j], PS_REG_NONE);
		/* function entries all start with a push on these builds */
		if (rt->frame_clear)
			assert_true(rt->frame_clear_site.emulated);
		if (rt->has_usdt_return)
			assert_true(rt->usdt_return_site.emulated);
		pyrt__free(rt);
	}
	if (!seen)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_choose_on_fixture, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_prefix_walk, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_frame_reg, fixture_setup, fixture_teardown),
		cmocka_unit_test(test_real_handlers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
