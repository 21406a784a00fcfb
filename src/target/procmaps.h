/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps, parsed. */
#ifndef PYSCOPE_PROCMAPS_H
#define PYSCOPE_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>

struct map_ent {
	uint64_t start, end, offset, inode;
	char perms[5];
	char *path;		/* "" for anonymous mappings */
};

struct procmaps {
	struct map_ent *ents;
	size_t n;
};

/* Parse the text of a maps file.  Malformed lines give -EINVAL. */
int procmaps__parse(const char *text, struct procmaps *out);
int procmaps__read(int pid, struct procmaps *out);
void procmaps__free(struct procmaps *m);

/* First mapping of a file whose basename starts with prefix, or NULL. */
const struct map_ent *procmaps__find_base(const struct procmaps *m, const char *prefix);
/* Lowest-offset mapping of path, or NULL. */
const struct map_ent *procmaps__find_path(const struct procmaps *m, const char *path);

#endif
