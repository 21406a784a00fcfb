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
#include "target/pyver.h"

extern const struct py_offsets pyoff_table[];
extern const unsigned pyoff_table_len;

/* The versions whose layout pyscope knows, as the user is told. */
#define PYOFF_SUPPORTED "3.8-3.13"

/* Does pyscope know the layout of this version? */
bool pyoff_supported(struct pyver v);

/*
 * Does this version describe its own layout: the _Py_DebugOffsets at the
 * start of _PyRuntime (3.13+), read with pyoff_from_debug()?
 */
bool pyoff_in_runtime(struct pyver v);

/*
 * Capabilities of the code objects of a 3.minor interpreter, for code that
 * has only the minor version (the model, a replayed trace file).
 */
enum py_linetable_fmt {
	PY_LT_LNOTAB = 1,	/* co_lnotab (3.8, 3.9) */
	PY_LT_PEP626,		/* co_linetable, PEP 626 (3.10) */
	PY_LT_LOCATIONS,	/* co_linetable, the location table (3.11+) */
};

enum py_linetable_fmt pyoff_linetable_fmt(unsigned minor);
/* Does a code object carry its qualified name (co_qualname, 3.11+)? */
bool pyoff_has_qualname(unsigned minor);

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
