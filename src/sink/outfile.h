/* SPDX-License-Identifier: MIT */
/*
 * The report file (trace -o).  pyscope usually runs as root, often in
 * directories others can write to, so the file is created 0600 with O_EXCL
 * and never through a symbolic link.  With force, an existing file is
 * overwritten only if it is a regular file of ours with a single link.
 */
#ifndef PYSCOPE_OUTFILE_H
#define PYSCOPE_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct outfile {
	FILE *f;		/* stdout when no path was given */
	char *path;
	bool created;		/* we created it (rather than truncated one) */
	dev_t dev;
	ino_t ino;
};

/* Open path (NULL: stdout).  On failure err gets one line: "PATH: why". */
int outfile_open(struct outfile *o, const char *path, bool force, char *err, size_t errlen);

/*
 * Flush and close.  With discard, a file we created and never wrote to is
 * removed again (a failed run leaves nothing behind that would make the
 * next one need --force).  Returns 0 or a negative errno from the flush.
 */
int outfile_close(struct outfile *o, bool discard);

#endif
