// SPDX-License-Identifier: MIT
/* The line-table decoder against CPython's own decoding (fixtures/). */
#include "testutil.h"
#include "target/linetable.h"
#include "util/util.h"

#include <cJSON.h>
#include <limits.h>

static int unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s) / 2, i;

	if (n > max)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)n;
}

/* The line for a 3.minor code object's table (the fixtures are per version). */
static int line_of(unsigned minor, const uint8_t *tab, size_t len, bool complete, int first,
		   uint32_t off)
{
	return linetable_line(pyoff_linetable_fmt(minor), tab, len, complete, first, off);
}

static void check_version(unsigned minor)
{
	char path[256], *text = NULL;
	cJSON *root, *codes, *c;
	int checked = 0;

	snprintf(path, sizeof(path), SRCDIR "/tests/unit/fixtures/linetable_3.%u.json", minor);
	assert_int_equal(read_file(path, 1 << 22, &text, NULL), 0);
	root = cJSON_Parse(text);
	assert_non_null(root);
	codes = cJSON_GetObjectItem(root, "codes");
	cJSON_ArrayForEach(c, codes) {
		static uint8_t tab[1 << 16];
		int first = cJSON_GetObjectItem(c, "firstlineno")->valueint;
		int n = unhex(cJSON_GetObjectItem(c, "table")->valuestring, tab, sizeof(tab));
		cJSON *row;

		assert_true(n >= 0);
		cJSON_ArrayForEach(row, cJSON_GetObjectItem(c, "lines")) {
			int off = cJSON_GetArrayItem(row, 0)->valueint;
			int want = cJSON_GetArrayItem(row, 1)->valueint;
			int got = line_of(minor, tab, (size_t)n, true, first, (uint32_t)off);

			if (got != want)
				fail_msg("3.%u %s offset %d: line %d, CPython says %d", minor,
					 cJSON_GetObjectItem(c, "name")->valuestring, off, got, want);
			checked++;
		}
		/* a table cut in half never gives a wrong line, only -1 */
		cJSON_ArrayForEach(row, cJSON_GetObjectItem(c, "lines")) {
			int off = cJSON_GetArrayItem(row, 0)->valueint;
			int want = cJSON_GetArrayItem(row, 1)->valueint;
			int got = line_of(minor, tab, (size_t)n / 2, false, first, (uint32_t)off);

			assert_true(got == want || got == -1);
		}
	}
	assert_true(checked > 300);
	cJSON_Delete(root);
	free(text);
}

static void test_38(void **s) { (void)s; check_version(8); }
static void test_39(void **s) { (void)s; check_version(9); }
static void test_310(void **s) { (void)s; check_version(10); }
static void test_311(void **s) { (void)s; check_version(11); }
static void test_312(void **s) { (void)s; check_version(12); }
static void test_313(void **s) { (void)s; check_version(13); }

static void test_garbage(void **state)
{
	uint8_t junk[64];

	(void)state;
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	for (unsigned minor = 8; minor <= 13; minor++)
		for (uint32_t off = 0; off < 512; off += 2)
			(void)line_of(minor, junk, sizeof(junk), false, 1, off);
	assert_int_equal(line_of(11, NULL, 4, true, 1, 0), -1);
	assert_int_equal(line_of(8, NULL, 0, true, 7, 10), 7);
}

/* Found by tests/fuzz/fuzz_linetable: tables the target controls walk anywhere. */
static void test_hostile_lines(void **state)
{
	/* 3.9: one instruction, then a line delta of -121 */
	const uint8_t down[] = { 2, 0x87 };
	/* 3.11+: one code unit with no column, line delta +2 (svarint 4) */
	const uint8_t up[] = { 0x80 | 13 << 3, 4 };
	/* 3.10: a range of 2 bytes, line delta +100 */
	const uint8_t up10[] = { 2, 100 };
	unsigned minor;

	(void)state;
	assert_int_equal(line_of(9, down, sizeof(down), true, 10, 0), 10);
	assert_int_equal(line_of(9, down, sizeof(down), true, 10, 2), -1);
	assert_int_equal(line_of(8, down, sizeof(down), true, 200, 2), 79);
	for (minor = 11; minor <= 13; minor++) {
		assert_int_equal(line_of(minor, up, sizeof(up), true, 7, 0), 9);
		/* was a signed overflow */
		assert_int_equal(line_of(minor, up, sizeof(up), true, INT_MAX, 0), INT_MAX);
		assert_int_equal(line_of(minor, up, sizeof(up), true, -5, 0), -1);
	}
	assert_int_equal(line_of(10, up10, sizeof(up10), true, INT_MAX - 1, 0), INT_MAX);
	assert_int_equal(line_of(10, up10, sizeof(up10), true, -150, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_38), cmocka_unit_test(test_39), cmocka_unit_test(test_310),
		cmocka_unit_test(test_311), cmocka_unit_test(test_312), cmocka_unit_test(test_313),
		cmocka_unit_test(test_garbage), cmocka_unit_test(test_hostile_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
