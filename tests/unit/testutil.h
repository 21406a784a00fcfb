/* SPDX-License-Identifier: MIT */
/* Shared by the cmocka unit tests. */
#ifndef PYSCOPE_TESTUTIL_H
#define PYSCOPE_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#ifndef SRCDIR
#define SRCDIR "."
#endif

/* Skip (with the reason on stderr) when a file the test reads is absent. */
#define REQUIRE_FILE(path)                                                             \
	do {                                                                           \
		if (access((path), R_OK)) {                                            \
			fprintf(stderr, "skip: %s not present on this machine\n", (path)); \
			skip();                                                        \
		}                                                                      \
	} while (0)

#endif
