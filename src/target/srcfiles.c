// SPDX-License-Identifier: MIT
#include "target/srcfiles.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int srcfiles__open_root(struct srcfiles *sf, const char *root, const char *cwd, uid_t fsuid,
			gid_t fsgid)
{
	memset(sf, 0, sizeof(*sf));
	sf->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);	/* -1 on failure */
	if (sf->root_fd < 0)
		return -errno;
	str_copy(sf->cwd, cwd, sizeof(sf->cwd));
	sf->fsuid = fsuid;
	sf->fsgid = fsgid;
	return 0;
}

/* The 4th id (filesystem) of "Uid:" or "Gid:" in /proc/PID/status. */
static int fs_id(int pid, const char *key, unsigned *id)
{
	char val[128];
	int ret = proc_status(pid, key, val, sizeof(val));

	if (!ret && sscanf(val, "%*u %*u %*u %u", id) != 1)
		ret = -ENOENT;
	return ret;
}

/* The filesystem ids process pid has now. */
static int target_ids(int pid, unsigned *uid, unsigned *gid)
{
	return fs_id(pid, "Uid", uid) ?: fs_id(pid, "Gid", gid);
}

int srcfiles__open(struct srcfiles *sf, int pid)
{
	char path[64], cwd[PATH_MAX];
	unsigned uid, gid;
	ssize_t n;
	int ret;

	sf->root_fd = -1;
	ret = target_ids(pid, &uid, &gid);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
	n = readlink(path, cwd, sizeof(cwd) - 1);
	cwd[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	ret = srcfiles__open_root(sf, path, n > 0 ? cwd : "/", uid, gid);
	sf->pid = pid;
	return ret;
}

/* Open a file of the target's as the target: its root, its filesystem ids. */
static int open_as_target(const struct srcfiles *sf, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		/* "/" and ".." stop at the target's root, whatever links say */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	uid_t old_uid = (uid_t)setfsuid(sf->fsuid);
	gid_t old_gid = (gid_t)setfsgid(sf->fsgid);
	int fd, err = 0;

	/* setfsuid() says nothing on failure: ask again what is in force */
	if ((uid_t)setfsuid((uid_t)-1) != sf->fsuid || (gid_t)setfsgid((gid_t)-1) != sf->fsgid)
		err = -EPERM;
	fd = err ? -1 : (int)syscall(SYS_openat2, sf->root_fd, path, &how, sizeof(how));
	if (fd < 0 && !err)
		err = -errno;
	setfsgid(old_gid);
	setfsuid(old_uid);
	return fd >= 0 ? fd : err;
}

int srcfiles__read(void *ctx, const char *filename, char **text, size_t *len)
{
	struct srcfiles *sf = ctx;
	char path[PATH_MAX * 2 + 2];
	unsigned uid, gid;
	struct stat st;
	int fd, ret;

	*text = NULL;
	/* the ids it has now (it may have dropped privileges); else the last seen */
	if (sf->pid > 0 && !target_ids(sf->pid, &uid, &gid)) {
		sf->fsuid = uid;
		sf->fsgid = gid;
	}
	if (filename[0] == '<' || !filename[0])
		return -ENOENT;		/* "<string>", "<frozen ...>" */
	if (filename[0] == '/')
		str_copy(path, filename, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s/%s", sf->cwd, filename);
	fd = open_as_target(sf, path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st))
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EINVAL;
	else
		ret = read_fd(fd, SRCFILES_MAX, text, len);
	close(fd);
	return ret;
}

void srcfiles__close(struct srcfiles *sf)
{
	if (sf->root_fd >= 0)
		close(sf->root_fd);
	sf->root_fd = -1;
}
