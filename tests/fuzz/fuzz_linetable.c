// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the line-table decoders of every CPython minor version
 * pyscope supports.  Input: minor selector, flags, first line (4 bytes),
 * then the table.  Each table is decoded, complete and cut short, at offsets
 * spread over the range it could describe.
 */
#include "target/linetable.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned minor;
	enum py_linetable_fmt fmt;
	int32_t first;
	uint32_t off, limit, step;
	const uint8_t *tab;
	size_t len;

	/* the kernel ships at most PS_LT_MAX bytes of a table */
	if (size < 6 || size > 6 + 4096)
		return 0;
	minor = 8 + data[0] % 6;
	fmt = pyoff_linetable_fmt(minor);
	memcpy(&first, data + 2, 4);
	if (data[1] & 1)
		first &= 0xffff;	/* mostly realistic first lines, sometimes extremes */
	tab = data + 6;
	len = size - 6;
	/* 3.11+ entries cover up to 8 code units each, older ones 255 bytes */
	limit = (uint32_t)(len * (minor >= 11 ? 16 : 256) + 64);
	if (limit > 1u << 16)
		limit = 1u << 16;
	/* about 256 offsets per input: every one for short tables */
	step = 2 * (limit / 512 + 1);
	for (off = 0; off < limit; off += step) {
		int full = linetable_line(fmt, tab, len, true, first, off);
		int part = linetable_line(fmt, tab, len / 2, false, first, off);

		if (full < -1 || part < -1)
			abort();
		/* a cut table never gives a line the whole one does not */
		if (part != -1 && part != full)
			abort();
	}
	(void)linetable_line(fmt, tab, len, true, first, UINT32_MAX);
	return 0;
}
