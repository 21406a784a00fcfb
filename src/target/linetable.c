// SPDX-License-Identifier: MIT
#include "target/linetable.h"

#include <limits.h>
#include <stdbool.h>

/*
 * Lines are summed from deltas the target supplies: keep the sum in 64 bits
 * and saturate, so a hostile table cannot overflow it.
 */
static long long add_line(long long line, long long delta)
{
	line += delta;
	return line > INT_MAX ? INT_MAX : line < INT_MIN ? INT_MIN : line;
}

/* 3.8/3.9 co_lnotab: (byte increment, signed line increment) pairs. */
static long long lnotab_line(const uint8_t *tab, size_t len, bool complete, long long line,
			     uint32_t off)
{
	uint32_t addr = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > off)
			return line;
		line = add_line(line, (int8_t)tab[i + 1]);
	}
	/* past the last entry: the line holds only if the table was whole */
	return complete ? line : -1;
}

/*
 * 3.10: (byte delta, signed line delta) pairs, each one address range; a
 * line delta of -128 means the range has no line.
 */
static long long pep626_line(const uint8_t *tab, size_t len, long long line, uint32_t off)
{
	uint32_t start, end = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		int8_t ldelta = (int8_t)tab[i + 1];
		long long cur = -1;

		start = end;
		end += tab[i];
		if (ldelta != -128) {
			line = add_line(line, ldelta);
			cur = line;
		}
		if (off >= start && off < end)
			return cur;
	}
	return -1;
}

static bool read_varint(const uint8_t *tab, size_t len, size_t *i, uint32_t *out)
{
	uint32_t v = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t b;

		if (*i >= len || shift > 28)
			return false;
		b = tab[(*i)++];
		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	*out = v;
	return true;
}

static bool read_svarint(const uint8_t *tab, size_t len, size_t *i, int *out)
{
	uint32_t v;

	if (!read_varint(tab, len, i, &v))
		return false;
	*out = (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
	return true;
}

/* 3.11+ location table: entries covering 1-8 code units each. */
static long long loc_line(const uint8_t *tab, size_t len, long long line, uint32_t off)
{
	uint32_t unit = off / 2, at = 0, skip;
	size_t i = 0;

	while (i < len) {
		uint8_t first = tab[i++];
		unsigned code = (first >> 3) & 15, length = (first & 7) + 1;
		int delta = 0;
		bool has_line = true;

		if (!(first & 0x80))
			return -1;	/* not at an entry start: corrupt */
		switch (code) {
		case 15:		/* no location */
			has_line = false;
			break;
		case 14:		/* long form: line delta, end line, columns */
			if (!read_svarint(tab, len, &i, &delta) || !read_varint(tab, len, &i, &skip) ||
			    !read_varint(tab, len, &i, &skip) || !read_varint(tab, len, &i, &skip))
				return -1;
			break;
		case 13:		/* no column */
			if (!read_svarint(tab, len, &i, &delta))
				return -1;
			break;
		case 10: case 11: case 12:	/* one line, two column bytes */
			delta = (int)code - 10;
			if (i + 2 > len)
				return -1;
			i += 2;
			break;
		default:		/* short form, same line, one column byte */
			if (i + 1 > len)
				return -1;
			i += 1;
			break;
		}
		if (has_line)
			line = add_line(line, delta);
		if (unit >= at && unit < at + length)
			return has_line ? line : -1;
		at += length;
	}
	return -1;
}

int linetable_line(enum py_linetable_fmt fmt, const uint8_t *tab, size_t len, bool complete,
		   int firstlineno, uint32_t off)
{
	long long line;

	if (!tab && len)
		return -1;
	if (fmt == PY_LT_LNOTAB)
		line = lnotab_line(tab, len, complete, firstlineno, off);
	else if (fmt == PY_LT_PEP626)
		line = pep626_line(tab, len, firstlineno, off);
	else
		line = loc_line(tab, len, firstlineno, off);
	/* a table that walks below line 0 is corrupt: no line rather than a wrong one */
	return line >= 0 ? (int)line : -1;
}
