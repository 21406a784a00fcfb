// SPDX-License-Identifier: MIT
#include "probes/breakpoints.h"
#include "probes/tracer_priv.h"
#include "util/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

static void watch_free(struct watch *w)
{
	int c;

	for (c = 0; c < w->ncpu; c++) {
		bpf_link__destroy(w->links[c]);
		if (w->fds[c] >= 0)
			close(w->fds[c]);
	}
	free(w->fds);
	free(w->links);
	memset(w, 0, sizeof(*w));
}

/* A breakpoint on the byte at addr, for every process (the program filters the target). */
static void watch_attr(struct perf_event_attr *attr, uint64_t addr)
{
	memset(attr, 0, sizeof(*attr));
	attr->type = PERF_TYPE_BREAKPOINT;
	attr->size = sizeof(*attr);
	attr->bp_type = HW_BREAKPOINT_RW;	/* x86 has no read-only watch */
	attr->bp_addr = addr;
	attr->bp_len = HW_BREAKPOINT_LEN_1;
	attr->sample_period = 1;
	attr->exclude_kernel = 1;
	attr->exclude_hv = 1;
}

/*
 * Per CPU, for every process: covers the target's threads, present and
 * future.  Returns the CPUs that took it (offline ones are skipped), or a
 * negative errno.
 */
static int watch_cpus(struct tracer *t, struct watch *w, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	int c, ret, opened = 0;

	watch_attr(&attr, w->addr);
	for (c = 0; c < t->ncpu; c++) {
		w->fds[c] = (int)syscall(SYS_perf_event_open, &attr, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		if (w->fds[c] < 0) {
			if (errno == ENODEV)	/* offline CPU */
				continue;
			ret = -errno;
			snprintf(err, errlen, "cannot set a hardware breakpoint on CPU %d: %s%s", c,
				 strerror(-ret), ret == -ENOSPC ? " (no free debug register)" : "");
			return ret;
		}
		w->links[c] = bpf_program__attach_perf_event(t->skel->progs.on_breakpoint,
							      w->fds[c]);
		if (!w->links[c]) {
			ret = -errno;
			snprintf(err, errlen, "cannot attach to a breakpoint event: %s",
				 strerror(-ret));
			return ret;
		}
		opened++;
	}
	return opened;
}

int breakpoints__watch(struct tracer *t, uint64_t addr, char *err, size_t errlen)
{
	struct watch *w;
	int c, ret = 0;
	__u8 on = 1;

	for (c = 0; c < t->nwatches; c++)
		if (t->watches[c].addr == addr)
			return 0;
	if (t->nwatches == MAX_WATCHES) {
		snprintf(err, errlen, "all %d hardware breakpoints are in use", MAX_WATCHES);
		return -ENOSPC;
	}
	w = &t->watches[t->nwatches];
	w->fds = malloc((size_t)t->ncpu * sizeof(*w->fds));
	w->links = calloc((size_t)t->ncpu, sizeof(*w->links));
	if (!w->fds || !w->links) {
		ret = -ENOMEM;
		goto fail;
	}
	w->addr = addr;
	w->ncpu = t->ncpu;
	for (c = 0; c < t->ncpu; c++)
		w->fds[c] = -1;
	ret = watch_cpus(t, w, err, errlen);
	if (ret == 0) {
		ret = -ENODEV;
		snprintf(err, errlen, "no CPU accepted a breakpoint");
	}
	if (ret < 0)
		goto fail;
	t->nwatches++;
	t->skel->bss->bp_active = on;
	debug(t->verbose, "watching 0x%lx on %d CPUs", (unsigned long)addr, ret);
	return 0;
fail:
	if (!w->fds)
		w->ncpu = 0;
	watch_free(w);
	return ret;
}

void breakpoints__unwatch(struct tracer *t, uint64_t addr)
{
	int i;

	for (i = 0; i < t->nwatches; i++) {
		if (t->watches[i].addr != addr)
			continue;
		watch_free(&t->watches[i]);
		t->watches[i] = t->watches[t->nwatches - 1];
		memset(&t->watches[t->nwatches - 1], 0, sizeof(t->watches[0]));
		t->nwatches--;
		return;
	}
}

int breakpoints__set_code(struct tracer *t, uint64_t code, bool on)
{
	int fd = bpf_map__fd(t->skel->maps.bp_codes);
	__u8 one = 1;

	if (on)
		return bpf_map_update_elem(fd, &code, &one, BPF_ANY) ? -errno : 0;
	bpf_map_delete_elem(fd, &code);
	return 0;
}

int breakpoints__free_slots(const struct tracer *t)
{
	return MAX_WATCHES - t->nwatches;
}

void breakpoints__unwatch_all(struct tracer *t)
{
	while (t->nwatches)
		breakpoints__unwatch(t, t->watches[0].addr);
}

uint64_t breakpoints__starts(const struct tracer *t)
{
	return __atomic_load_n(&t->skel->bss->bp_starts, __ATOMIC_RELAXED);
}
