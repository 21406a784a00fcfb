/* SPDX-License-Identifier: MIT */
/*
 * User-facing errors: one line on stderr, and in the JSON output modes the
 * same message as a JSON object on stdout, so that a reader of the JSON
 * sees why there is no report.  The command decides the mode once, from
 * its output format; the layers below are given it.
 */
#ifndef PYSCOPE_DIAG_H
#define PYSCOPE_DIAG_H

enum diag_mode {
	DIAG_TEXT = 0,		/* stderr only */
	DIAG_JSON,		/* also {"error": MSG} on stdout */
};

/* One error line (the command then exits with status 2). */
void diag_error(enum diag_mode mode, const char *msg);

#endif
