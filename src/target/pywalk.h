/* SPDX-License-Identifier: MIT */
/*
 * Finding live Python objects in a target: sys.modules -> module -> class ->
 * function -> code object, through a memsrc_read_fn (in production the BPF
 * reader, in tests a fake memory).  Only struct py_offsets is used for
 * layouts.
 */
#ifndef PYSCOPE_PYWALK_H
#define PYSCOPE_PYWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/memsrc.h"
#include "pyoffsets.h"

/* Runtime addresses of the type objects the walk recognises. */
struct pywalk_types {
	uint64_t function, classmethod, staticmethod, module, code;
};

struct pywalk {
	const struct py_offsets *off;
	uint64_t runtime;		/* &_PyRuntime in the target */
	struct pywalk_types t;
	memsrc_read_fn read;
	void *ctx;
};

enum pw_status {
	PW_OK = 0,
	PW_NO_MODULE = 1,	/* the module is not imported (yet) */
	PW_NOT_FOUND = 2,	/* the module has no such attribute */
	PW_NO_CODE = 3,		/* it exists but runs no Python code (a C type, a builtin) */
};

/* What to resolve: a function (nested ones through "<locals>") or a class. */
struct pw_query {
	const char *module;
	const char *qualname;	/* "Qual.name", "f.<locals>.g", or the class's */
	bool is_class;		/* then the code of its __init__, else its __new__ */
};

struct pw_target {
	uint64_t code;		/* the code object */
	uint64_t unit;		/* its function-start code unit */
	uint64_t watch;		/* the byte to watch: that unit's argument byte */
	uint32_t resume_off;	/* code units before it (3.11+: RESUME after prologue ops) */
	uint64_t cls;		/* class patterns: the class object */
	bool unsafe;		/* the start unit is also a jump target: a watch would miscount */
	char how[96];		/* what was resolved, for the report */
};

/*
 * Resolve a query to the code object that runs for it.  Returns PW_* (>= 0)
 * or a negative errno when the target's memory could not be read; why gets
 * a short reason for PW_NO_MODULE / PW_NOT_FOUND / PW_NO_CODE.
 */
int pywalk__resolve(const struct pywalk *w, const struct pw_query *q, struct pw_target *out,
		    char *why, size_t whylen);

/* Look a str key up in a dict object (0 and *value, or PW_NOT_FOUND). */
int pywalk__dict_get(const struct pywalk *w, uint64_t dict, const char *key, uint64_t *value);

#endif
