// SPDX-License-Identifier: MIT
#include "target/pyver.h"
#include "target/elf_file.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* "3.10.13", "3.8.0rc1", "2.7.18+" */
static bool parse_version_str(const char *s, struct pyver *v)
{
	unsigned a, b, c;
	int n = 0;

	if (sscanf(s, "%u.%u.%u%n", &a, &b, &c, &n) != 3 || a < 2 || a > 3 || b > 99 || c > 99)
		return false;
	if (s[n] && !isalpha((unsigned char)s[n]) && s[n] != '+')
		return false;
	v->major = a;
	v->minor = b;
	v->micro = c;
	v->level = 0xf;
	return true;
}

/*
 * Before 3.11 the version is only a string literal that Py_GetVersion()
 * passes to snprintf; the linker may tail-merge it into a longer string, so
 * follow the addresses the function loads (lea rip-relative, or mov imm32
 * in non-PIE builds) and keep the one that reads as a version.
 */
static int version_from_getversion(const struct elf_file *ef, struct pyver *v)
{
	const struct elf_sym *s = elf_file__sym(ef, "Py_GetVersion");
	unsigned char code[192];
	size_t len, i;

	if (!s || !s->value)
		return -ENOENT;
	len = s->size && s->size < sizeof(code) ? s->size : sizeof(code);
	if (elf_file__read(ef, s->value, code, len))
		return -ENOENT;
	for (i = 0; i + 5 <= len; i++) {
		uint64_t cand[2] = { 0, 0 };
		char str[24];
		int32_t disp;
		uint32_t imm;
		int k;

		if (i + 7 <= len && (code[i] == 0x48 || code[i] == 0x4c) && code[i + 1] == 0x8d &&
		    (code[i + 2] & 0xc7) == 0x05) {
			memcpy(&disp, &code[i + 3], 4);
			cand[0] = s->value + i + 7 + (int64_t)disp;
		}
		if (code[i] >= 0xb8 && code[i] <= 0xbf) {
			memcpy(&imm, &code[i + 1], 4);
			cand[1] = imm;
		}
		for (k = 0; k < 2; k++) {
			if (!cand[k] || elf_file__read_str(ef, cand[k], str, sizeof(str)))
				continue;
			if (parse_version_str(str, v))
				return 0;
		}
	}
	return -ENOENT;
}

int pyver_detect(const struct elf_file *ef, struct pyver *v, char *how, size_t howlen)
{
	const struct elf_sym *s;
	uint32_t hex;
	char dbg[24];

	memset(v, 0, sizeof(*v));
	s = elf_file__sym(ef, "Py_Version");
	if (s && s->value && !elf_file__read(ef, s->value, &hex, sizeof(hex)) && (hex >> 24) == 3) {
		*v = pyver_from_hex(hex);
		str_copy(how, "Py_Version symbol", howlen);
		return 0;
	}
	s = elf_file__sym(ef, "_PyRuntime");
	if (s && s->value && !elf_file__read(ef, s->value, dbg, sizeof(dbg)) &&
	    !memcmp(dbg, "xdebugpy", 8)) {
		uint64_t ver;

		memcpy(&ver, dbg + 8, 8);
		*v = pyver_from_hex((uint32_t)ver);
		str_copy(how, "_Py_DebugOffsets", howlen);
		return 0;
	}
	if (!version_from_getversion(ef, v)) {
		str_copy(how, "Py_GetVersion string", howlen);
		return 0;
	}
	return -ENOENT;
}
