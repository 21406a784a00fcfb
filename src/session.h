/* SPDX-License-Identifier: MIT */
/*
 * A tracing session, shared by pyscope trace and pyscope check: patterns,
 * the target (attached or launched), the interpreter model, the plan, the
 * model, the BPF side, and which mechanism covers each pattern (breakpoints
 * where they fit, uprobes otherwise), then the event loop.
 */
#ifndef PYSCOPE_SESSION_H
#define PYSCOPE_SESSION_H

#include <stdbool.h>
#include <stdio.h>
#include "cli.h"
#include "model.h"
#include "report.h"

struct session;

/* Called after every poll; returning true stops the loop. */
typedef bool (*session_tick_fn)(void *ctx, struct session *s, uint64_t now_ns);

/*
 * Set everything up and arm the probes.  On failure, one error line has been
 * reported and the return value is negative.  count_only: do not time calls
 * (lets --via auto pick breakpoints).
 */
int session__open(struct session **out, const struct config *cfg, bool count_only);
/* Release a launched command; run until the target exits, -d, a signal or tick says stop. */
int session__run(struct session *s, session_tick_fn tick, void *ctx);

/*
 * The same loop, driven from outside (pyscope serve drives one session per
 * process): catch SIGINT/SIGTERM once, start (banner, release a launched
 * command), then step until it returns 1 (the target exited, or -d) or a
 * negative errno, or session__stopping(); then stop.
 */
void session__catch_signals(void);
bool session__stopping(void);
int session__start(struct session *s);
/* Wait up to timeout_ms for events and take them; 0: go on, 1: over, < 0: error. */
int session__step(struct session *s, int timeout_ms);
void session__stop(struct session *s);
/* Final drain of events and statistics into the model. */
void session__finish(struct session *s);
/* One warning line per pattern that matched no code object at all. */
void session__warn_unmatched(struct session *s);
/* Remove every probe and free the BPF side; the model keeps its final statistics. */
void session__detach(struct session *s);
/* Refresh statistics (for live tables). */
void session__refresh(struct session *s);
/* Remove every probe, wait for a launched command; returns its exit code (or 0). */
int session__close(struct session *s);

struct model *session__model(struct session *s);
struct run_meta *session__meta(struct session *s);
FILE *session__out(struct session *s);
bool session__launched(const struct session *s);
/* CLOCK_REALTIME ns for a CLOCK_MONOTONIC ns timestamp from the kernel. */
uint64_t session__wall(const struct session *s, uint64_t mono_ns);

#endif
