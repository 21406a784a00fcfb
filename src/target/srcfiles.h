/* SPDX-License-Identifier: MIT */
/*
 * The traced program's source files, read for 3.8-3.10 qualified names
 * (target/srcscan.c) as the target sees them and may read them.  The file
 * names come from its code objects, so the target chooses them:
 *  - a path resolves inside the target's root directory, kept open so that
 *    it still works once the target has exited;
 *  - the file is opened with the target's filesystem ids (as they are when
 *    the file is read, or were when last seen if the target has exited):
 *    pyscope, often root, does not read for it what it could not read;
 *  - only a regular file is read, at most 16 MiB (a FIFO would block).
 */
#ifndef PYSCOPE_SRCFILES_H
#define PYSCOPE_SRCFILES_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define SRCFILES_MAX (16u << 20)

struct srcfiles {
	int pid;			/* 0: fixed ids (tests) */
	int root_fd;			/* O_PATH, the target's "/" */
	char cwd[PATH_MAX];		/* its working directory, inside that root */
	uid_t fsuid;
	gid_t fsgid;
};

/* For process pid (reads /proc/PID/{root,cwd,status}). */
int srcfiles__open(struct srcfiles *sf, int pid);
/* For a directory standing as the root, a cwd inside it, and ids (tests). */
int srcfiles__open_root(struct srcfiles *sf, const char *root, const char *cwd, uid_t fsuid,
			gid_t fsgid);
/* A source_reader_fn (model.h): ctx is a struct srcfiles. */
int srcfiles__read(void *ctx, const char *filename, char **text, size_t *len);
void srcfiles__close(struct srcfiles *sf);

#endif
