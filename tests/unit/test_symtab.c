// SPDX-License-Identifier: MIT
/* The sorted symbol table: which of several same-named symbols a lookup finds. */
#include "testutil.h"
#include "target/symtab.h"

static void add(struct symtab *t, const char *name, uint64_t value, bool dynamic)
{
	struct elf_sym s = { .name = (char *)name, .value = value, .size = 8, .type = 2,
			     .dynamic = dynamic };

	assert_int_equal(symtab__add(t, &s), 0);
}

static void test_find(void **state)
{
	struct symtab t = { 0 };
	char name[] = "copied";
	const struct elf_sym *s;

	(void)state;
	add(&t, "foo", 0, true);		/* undefined: an import */
	add(&t, "foo", 0x2000, true);
	add(&t, "foo", 0x1000, false);
	add(&t, "bar", 0x3000, false);
	add(&t, name, 0x4000, false);
	name[0] = 'X';				/* the table has its own copy */
	symtab__sort(&t);
	assert_int_equal(t.n, 5);
	/* defined before undefined, .symtab before .dynsym */
	s = symtab__find(&t, "foo");
	assert_non_null(s);
	assert_int_equal(s->value, 0x1000);
	assert_false(s->dynamic);
	assert_non_null(symtab__find(&t, "copied"));
	assert_null(symtab__find(&t, "fo"));
	assert_null(symtab__find(&t, "zzz"));
	symtab__free(&t);
	assert_int_equal(t.n, 0);
	assert_null(symtab__find(&t, "foo"));
}

/* A local static the compiler renamed: "name" if defined, else "name.N". */
static void test_find_local(void **state)
{
	struct symtab t = { 0 };
	const struct elf_sym *s;

	(void)state;
	add(&t, "opcode_targets.3", 0x5000, false);
	add(&t, "opcode_targets", 0, false);
	add(&t, "eval.cold", 0x6000, false);
	add(&t, "table.7", 0, false);
	add(&t, "table", 0x7000, false);
	symtab__sort(&t);
	s = symtab__find_local(&t, "opcode_targets");
	assert_non_null(s);
	assert_string_equal(s->name, "opcode_targets.3");
	/* ".cold" is no compiler number */
	assert_null(symtab__find_local(&t, "eval"));
	/* the exact name wins when it is defined */
	s = symtab__find_local(&t, "table");
	assert_non_null(s);
	assert_int_equal(s->value, 0x7000);
	assert_null(symtab__find_local(&t, "nothing"));
	symtab__free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_find_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
