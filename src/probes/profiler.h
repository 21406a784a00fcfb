/* SPDX-License-Identifier: MIT */
/*
 * pyscope profile's kernel side: a CPU-clock perf event per CPU running
 * on_cpu_sample, and the sched_switch / sched_wakeup probes for off-CPU
 * waits (as the tracer's options ask).  The collector reads their maps.
 */
#ifndef PYSCOPE_PROFILER_H
#define PYSCOPE_PROFILER_H

#include <stddef.h>

struct tracer;

/* Start the CPU sampler and the context-switch probes. */
int profiler__start(struct tracer *t, char *err, size_t errlen);
/* Stop them (nothing if they were not started). */
void profiler__stop(struct tracer *t);

#endif
