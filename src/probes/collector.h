/* SPDX-License-Identifier: MIT */
/*
 * The collector: a tracer's ring buffer and maps into its model.  Records
 * (first sightings of codes, aggregates and call paths; per-call records
 * for rules) are consumed as they come; statistics, counters and profile
 * samples are copied at each refresh.  The target's forks and exec are
 * announced here too.
 */
#ifndef PYSCOPE_COLLECTOR_H
#define PYSCOPE_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tracer;

/*
 * Wait up to timeout_ms for ring-buffer records (or for wake_fd, if >= 0, to
 * become readable) and consume them into the model.  Returns 1 when wake_fd
 * woke us, 0 otherwise, or a negative errno.
 */
int collector__poll(struct tracer *t, int timeout_ms, int wake_fd);
/* Copy statistics and loss counters into the model. */
int collector__refresh(struct tracer *t);

/* Processes (not threads) the target started so far, and whether it exec'd. */
void collector__procs(const struct tracer *t, uint32_t *nforks, bool *execd);
/*
 * Children the target forked, announced since the last call, oldest first
 * (at most max); *dropped gets how many did not fit since the last call.
 */
size_t collector__take_children(struct tracer *t, int *pids, uint64_t *ts, size_t max,
				uint32_t *dropped);

#endif
