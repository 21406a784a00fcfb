// SPDX-License-Identifier: MIT
#include "sink/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Why an existing path may not be overwritten, or NULL if it may. */
static const char *refuse_existing(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid())
		return "owned by another user";
	if (st->st_nlink != 1)
		return "has other hard links";
	return NULL;
}

#define OPEN_FLAGS (O_WRONLY | O_NOFOLLOW | O_CLOEXEC)

/* path exists: open it to overwrite (with force), or say why not.  An fd, or -errno. */
static int open_existing(const char *path, bool force, const char **why)
{
	struct stat st;
	int fd;

	if (lstat(path, &st))
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		*why = "is a symbolic link; refusing to write through it";
		return -ELOOP;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "exists and is not a regular file";
		return -EEXIST;
	}
	if (!force) {
		*why = "exists; give --force to overwrite it";
		return -EEXIST;
	}
	/* O_NONBLOCK: a FIFO swapped in must not block us; fstat rejects it */
	fd = open(path, OPEN_FLAGS | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		*why = "is a symbolic link; refusing to write through it";
	return fd < 0 ? -errno : fd;
}

/* The existing file opened (st: what it is): ours to overwrite?  Then empty and private. */
static int reuse(int fd, const struct stat *st, const char **why)
{
	*why = refuse_existing(st);
	if (*why)
		return -EPERM;
	if (ftruncate(fd, 0) || fchmod(fd, 0600) ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
		return -errno;
	return 0;
}

int outfile_open(struct outfile *o, const char *path, bool force, char *err, size_t errlen)
{
	const char *why = NULL;
	struct stat st;
	int fd, ret;

	memset(o, 0, sizeof(*o));
	if (!path) {
		o->f = stdout;
		return 0;
	}
	o->path = strdup(path);
	if (!o->path)
		return -ENOMEM;
	/* O_CREAT | O_EXCL fails on any existing name, a symbolic link included */
	fd = open(path, OPEN_FLAGS | O_CREAT | O_EXCL, 0600);
	if (fd >= 0)
		o->created = true;
	else
		fd = errno == EEXIST ? open_existing(path, force, &why) : -errno;
	ret = fd < 0 ? fd : 0;
	if (!ret && fstat(fd, &st))
		ret = -errno;
	if (!ret && !o->created)
		ret = reuse(fd, &st, &why);
	if (!ret && !(o->f = fdopen(fd, "w")))
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, why ? why : strerror(-ret));
		if (fd >= 0)
			close(fd);
		if (o->created)
			unlink(path);
		free(o->path);
		memset(o, 0, sizeof(*o));
		return ret;
	}
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return 0;
}

int outfile_close(struct outfile *o, bool discard)
{
	struct stat st;
	int ret = 0;

	if (!o->f || o->f == stdout) {
		if (o->f && fflush(o->f))
			ret = -errno;
		memset(o, 0, sizeof(*o));
		return ret;
	}
	if (fflush(o->f))
		ret = -errno;
	/* remove only what is still the empty file we made, not whatever took its name */
	if (discard && o->created && !fstat(fileno(o->f), &st) && st.st_size == 0 &&
	    !lstat(o->path, &st) && st.st_dev == o->dev && st.st_ino == o->ino)
		unlink(o->path);
	if (fclose(o->f) && !ret)
		ret = -errno;
	free(o->path);
	memset(o, 0, sizeof(*o));
	return ret;
}
