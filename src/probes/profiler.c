// SPDX-License-Identifier: MIT
#include "probes/profiler.h"
#include "probes/tracer_priv.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A CPU clock at prof_hz on every CPU, each running on_cpu_sample. */
static int start_sampler(struct tracer *t, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	int c;

	t->sample_fds = malloc((size_t)t->ncpu * sizeof(int));
	t->sample_links = calloc((size_t)t->ncpu, sizeof(*t->sample_links));
	if (!t->sample_fds || !t->sample_links)
		return -ENOMEM;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = t->opts.prof_hz;
	for (c = 0; c < t->ncpu; c++) {
		t->sample_fds[c] = (int)syscall(SYS_perf_event_open, &attr, -1, c, -1,
						PERF_FLAG_FD_CLOEXEC);
		if (t->sample_fds[c] < 0) {
			if (errno == ENODEV)
				continue;
			snprintf(err, errlen, "cannot open a CPU clock on CPU %d: %s", c,
				 strerror(errno));
			return -errno;
		}
		t->sample_links[c] = bpf_program__attach_perf_event(t->skel->progs.on_cpu_sample,
								     t->sample_fds[c]);
		if (!t->sample_links[c]) {
			snprintf(err, errlen, "cannot attach the sampler: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Off-CPU waits: the context switches and wakeups. */
static int start_offcpu(struct tracer *t, char *err, size_t errlen)
{
	t->switch_link = bpf_program__attach(t->skel->progs.on_switch);
	if (!t->switch_link) {
		snprintf(err, errlen, "cannot attach to sched_switch: %s", strerror(errno));
		return -errno;
	}
	t->wakeup_link = bpf_program__attach(t->skel->progs.on_wakeup);
	if (!t->wakeup_link) {
		snprintf(err, errlen, "cannot attach to sched_wakeup: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int profiler__start(struct tracer *t, char *err, size_t errlen)
{
	int ret = 0;

	if (t->opts.prof_hz)
		ret = start_sampler(t, err, errlen);
	if (!ret && t->opts.prof_offcpu)
		ret = start_offcpu(t, err, errlen);
	return ret;
}

void profiler__stop(struct tracer *t)
{
	int c;

	for (c = 0; t->sample_fds && c < t->ncpu; c++) {
		bpf_link__destroy(t->sample_links[c]);
		if (t->sample_fds[c] >= 0)
			close(t->sample_fds[c]);
	}
	free(t->sample_fds);
	free(t->sample_links);
	t->sample_fds = NULL;
	t->sample_links = NULL;
	bpf_link__destroy(t->switch_link);
	bpf_link__destroy(t->wakeup_link);
	t->switch_link = NULL;
	t->wakeup_link = NULL;
}
