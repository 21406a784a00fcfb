// SPDX-License-Identifier: MIT
#include "target/usdt.h"
#include "util/util.h"

#include <errno.h>
#include <string.h>

#define NT_STAPSDT 3

bool usdt_is_note(uint32_t type, const char *name, size_t namesz, size_t descsz)
{
	return type == NT_STAPSDT && namesz == 8 && !memcmp(name, "stapsdt", 8) &&
	       descsz >= 3 * 8 + 3;
}

int usdt_parse(const char *desc, size_t descsz, uint64_t base_addr, struct usdt_note *out)
{
	const char *p = desc + 24, *end = desc + descsz;
	uint64_t pc, base, sema;

	memcpy(&pc, desc, 8);
	memcpy(&base, desc + 8, 8);
	memcpy(&sema, desc + 16, 8);
	memset(out, 0, sizeof(*out));
	/* prelink may have moved the binary: rebase on .stapsdt.base */
	if (base_addr && base) {
		pc += base_addr - base;
		if (sema)
			sema += base_addr - base;
	}
	out->pc = pc;
	out->sema = sema;
	str_copy(out->provider, p, MIN(sizeof(out->provider), (size_t)(end - p)));
	p += strnlen(p, (size_t)(end - p)) + 1;
	if (p >= end)
		return -EINVAL;
	str_copy(out->name, p, MIN(sizeof(out->name), (size_t)(end - p)));
	p += strnlen(p, (size_t)(end - p)) + 1;
	if (p < end)
		str_copy(out->args, p, MIN(sizeof(out->args), (size_t)(end - p)));
	return 0;
}
