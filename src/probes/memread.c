// SPDX-License-Identifier: MIT
#include <memread.h>	/* include/: the BPF side's request and reply layout */
#include "probes/memread.h"
#include "memread.skel.h"
#include "util/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct memread {
	struct memread_bpf *skel;
	struct bpf_link *link;
	char *out;		/* one batch's output */
};

int memread__open(struct memread **out, int pid, char *err, size_t errlen)
{
	union bpf_iter_link_info info;
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	struct memread *mr;
	int ret;

	*out = NULL;
	mr = calloc(1, sizeof(*mr));
	if (!mr)
		return -ENOMEM;
	mr->out = malloc(MR_MAX_OUT + 64 * 1024);
	mr->skel = memread_bpf__open_and_load();
	if (!mr->out || !mr->skel) {
		ret = mr->out ? -errno : -ENOMEM;
		snprintf(err, errlen, "cannot load the memory reader: %s", strerror(-ret));
		goto fail;
	}
	/* iterate over exactly one task: the target's main thread */
	memset(&info, 0, sizeof(info));
	info.task.tid = (__u32)pid;
	opts.link_info = &info;
	opts.link_info_len = sizeof(info);
	mr->link = bpf_program__attach_iter(mr->skel->progs.read_mem, &opts);
	if (!mr->link) {
		ret = -errno;
		snprintf(err, errlen, "cannot attach the memory reader to pid %d: %s", pid,
			 strerror(-ret));
		goto fail;
	}
	*out = mr;
	return 0;
fail:
	memread__close(mr);
	return ret;
}

/* One iterator run over at most MR_MAX_REQ requests fitting MR_MAX_OUT bytes. */
static int run_chunk(struct memread *mr, struct memsrc_item *items, size_t n)
{
	int fd, mfd = bpf_map__fd(mr->skel->maps.reqs), ret = 0;
	size_t got = 0, pos = 0, i;
	ssize_t r;

	for (i = 0; i < n; i++) {
		struct mr_req q = { .addr = items[i].addr, .len = items[i].len };
		__u32 k = (__u32)i;

		if (bpf_map_update_elem(mfd, &k, &q, BPF_ANY))
			return -errno;
	}
	mr->skel->bss->nreq = (__u32)n;
	fd = bpf_iter_create(bpf_link__fd(mr->link));
	if (fd < 0)
		return -errno;
	while ((r = read(fd, mr->out + got, MR_MAX_OUT + 64 * 1024 - got)) > 0)
		got += (size_t)r;
	if (r < 0)
		ret = -errno;
	close(fd);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		struct mr_hdr h;

		if (pos + sizeof(h) > got) {
			/* the task is gone (or exiting): nothing was read */
			items[i].status = -ESRCH;
			continue;
		}
		memcpy(&h, mr->out + pos, sizeof(h));
		pos += sizeof(h);
		if (h.status) {
			items[i].status = h.status;
			continue;
		}
		if (h.len != items[i].len || pos + h.len > got)
			return -EIO;
		memcpy(items[i].dst, mr->out + pos, h.len);
		pos += h.len;
		items[i].status = 0;
	}
	return 0;
}

int memread__batch(struct memread *mr, struct memsrc_item *items, size_t n)
{
	size_t start = 0;

	while (start < n) {
		size_t k = 0, bytes = 0;
		int ret;

		while (start + k < n && k < MR_MAX_REQ &&
		       bytes + items[start + k].len + sizeof(struct mr_hdr) <= MR_MAX_OUT) {
			if (items[start + k].len == 0 || items[start + k].len > MR_MAX_LEN)
				return -EINVAL;
			bytes += items[start + k].len + sizeof(struct mr_hdr);
			k++;
		}
		if (!k)
			return -EINVAL;
		ret = run_chunk(mr, items + start, k);
		if (ret)
			return ret;
		start += k;
	}
	return 0;
}

int memread__read(void *ctx, struct memsrc_item *items, size_t n)
{
	return memread__batch(ctx, items, n);
}

void memread__close(struct memread *mr)
{
	if (!mr)
		return;
	bpf_link__destroy(mr->link);
	memread_bpf__destroy(mr->skel);
	free(mr->out);
	free(mr);
}
