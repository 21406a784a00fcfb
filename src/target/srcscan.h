/* SPDX-License-Identifier: MIT */
/*
 * Qualified names from Python source, for interpreters whose code objects
 * have none (3.8-3.10): given a function's co_firstlineno and co_name, find
 * its def and the enclosing classes and functions.  A small line scanner
 * that understands strings, brackets, comments, continuations and
 * decorators; pure and fuzzed.
 */
#ifndef PYSCOPE_SRCSCAN_H
#define PYSCOPE_SRCSCAN_H

#include <stddef.h>

/* 0 and out = "Class.method" / "f.<locals>.g"; -ENOENT when no def matches. */
int srcscan_qualname(const char *src, size_t len, int firstlineno, const char *name, char *out,
		     size_t outlen);

#endif
