/* SPDX-License-Identifier: MIT */
/*
 * Where struct py_offsets comes from: the generated table (3.8-3.12, and
 * the fields 3.13's _Py_DebugOffsets lacks) or the interpreter's own
 * _Py_DebugOffsets (3.13+).  The only user-side code that knows layouts.
 */
#ifndef PYSCOPE_OFFSETS_H
#define PYSCOPE_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pyoffsets.h"

extern const struct py_offsets pyoff_table[];
extern const unsigned pyoff_table_len;

struct pyver {
	unsigned major, minor, micro;
	unsigned level;		/* 0xA alpha, 0xB beta, 0xC rc, 0xF final */
};

static inline struct pyver pyver_from_hex(uint32_t hex)
{
	struct pyver v = { hex >> 24, (hex >> 16) & 0xff, (hex >> 8) & 0xff, (hex >> 4) & 0xf };
	return v;
}

static inline uint32_t pyver_key(struct pyver v)
{
	return (v.major << 16) | (v.minor << 8) | v.micro;
}

enum pyoff_source {
	PYOFF_SRC_NONE = 0,
	PYOFF_SRC_TABLE_EXACT,		/* generated from this exact version's headers */
	PYOFF_SRC_TABLE_NEAR,		/* same minor, another micro: unverified */
	PYOFF_SRC_DEBUG,		/* _Py_DebugOffsets, completed from the table */
};

const char *pyoff_source_str(enum pyoff_source s);

/*
 * Table entry for a version: the exact micro if generated, else the closest
 * micro of the same minor (*src says which).  NULL if the minor is unknown.
 */
const struct py_offsets *pyoff_lookup(struct pyver v, enum pyoff_source *src);

/* Size of the 3.13 _Py_DebugOffsets struct we parse. */
#define PY_DEBUG_OFFSETS_313_SIZE 584

/*
 * Parse the _Py_DebugOffsets at the start of _PyRuntime (3.13+).  Fields it
 * has override @base (a table entry for the same minor, or NULL); fields it
 * lacks are taken from @base.  -EINVAL for a bad cookie, -ENOTSUP for a
 * free-threaded build or a layout we do not know.
 */
int pyoff_from_debug(const void *buf, size_t len, const struct py_offsets *base,
		     struct py_offsets *out, uint64_t *version_hex);

#endif
