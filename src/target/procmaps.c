// SPDX-License-Identifier: MIT
#include "target/procmaps.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_line(const char *line, size_t len, struct map_ent *e)
{
	unsigned long long start, end, offset, inode;
	char perms[5], *copy;
	int pos = 0;

	copy = strndup(line, len);
	if (!copy)
		return -ENOMEM;
	if (sscanf(copy, "%llx-%llx %4s %llx %*x:%*x %llu %n", &start, &end, perms, &offset,
		   &inode, &pos) < 5 || end < start) {
		free(copy);
		return -EINVAL;
	}
	e->start = start;
	e->end = end;
	e->offset = offset;
	e->inode = inode;
	memcpy(e->perms, perms, sizeof(perms));
	e->path = strdup(pos > 0 ? copy + pos : "");
	free(copy);
	return e->path ? 0 : -ENOMEM;
}

int procmaps__parse(const char *text, struct procmaps *out)
{
	size_t cap = 0;
	const char *p = text;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len) {
			if (out->n == cap) {
				struct map_ent *n;

				cap = cap ? cap * 2 : 64;
				n = realloc(out->ents, cap * sizeof(*n));
				if (!n) {
					err = -ENOMEM;
					goto fail;
				}
				out->ents = n;
			}
			err = parse_line(p, len, &out->ents[out->n]);
			if (err)
				goto fail;
			out->n++;
		}
		p += len + (nl ? 1 : 0);
	}
	return 0;
fail:
	procmaps__free(out);
	return err;
}

int procmaps__read(int pid, struct procmaps *out)
{
	char path[64], *text = NULL;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	err = read_file(path, 64u << 20, &text, NULL);
	if (err)
		return err;
	err = procmaps__parse(text, out);
	free(text);
	return err;
}

void procmaps__free(struct procmaps *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->ents[i].path);
	free(m->ents);
	memset(m, 0, sizeof(*m));
}

const struct map_ent *procmaps__find_base(const struct procmaps *m, const char *prefix)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const char *slash = strrchr(m->ents[i].path, '/');
		const char *base = slash ? slash + 1 : m->ents[i].path;

		if (m->ents[i].path[0] == '/' && str_starts(base, prefix))
			return &m->ents[i];
	}
	return NULL;
}

const struct map_ent *procmaps__find_path(const struct procmaps *m, const char *path)
{
	const struct map_ent *best = NULL;
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->ents[i].path, path))
			continue;
		if (!best || m->ents[i].offset < best->offset)
			best = &m->ents[i];
	}
	return best;
}
