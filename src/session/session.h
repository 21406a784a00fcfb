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
#include "cli/cli.h"
#include "model/model.h"
#include "sink/report.h"

struct session;

/* Called after every poll; returning true stops the loop. */
typedef bool (*session_tick_fn)(void *ctx, struct session *s, uint64_t now_ns);

/*
 * Set everything up and arm the probes.  On failure, one error line has been
 * reported and the return value is negative.  count_only: do not time calls
 * (lets --via auto pick breakpoints).
 */
int session__open(struct session **out, const struct config *cfg, bool count_only);
/* Where a session's target comes from. */
struct session_target {
	int pid;			/* 0: launch cfg->argv */
	bool own_output;		/* open cfg->output itself (one target) */
	/* a forked child: its parent's model, and a tracer loaded ahead for it */
	const struct pyrt *parent_rt;
	struct tracer *spare;
	bool spare_used;		/* out: the session took spare (it owns it now) */
};

/*
 * session__open for one of several targets: on failure, err gets the line
 * and nothing is printed (the caller decides how bad it is).
 */
int session__open_target(struct session **out, const struct config *cfg,
			 struct session_target *tg, char *err, size_t errlen);
/* Release a launched command; run until the target exits, -d, a signal or tick says stop. */
int session__run(struct session *s, session_tick_fn tick, void *ctx);

/* session__run in parts, for a loop over several sessions: */
/* say it is tracing, release a launched command */
int session__start(struct session *s);
/* one turn: events for up to timeout_ms; 1 once the target exited or exec'd */
int session__step(struct session *s, int timeout_ms);
/* the end of the traced time (idempotent) */
void session__stop(struct session *s);
/* SIGINT or SIGTERM arrived */
bool session__signalled(void);
/* The same for a loop driven from outside (pyscope serve): catch the signals first. */
void session__catch_signals(void);
bool session__stopping(void);
/* Processes the target forked since the last call (pid, fork time CLOCK_MONOTONIC ns). */
size_t session__children(struct session *s, int *pids, uint64_t *ts, size_t max,
			 uint32_t *dropped);
int session__pid(const struct session *s);
const struct pyrt *session__rt(const struct session *s);
/*
 * A tracer loaded for this session's interpreter and patterns but for no
 * process yet: a forked child's session adopts it (session_target.spare).
 */
struct tracer;
int session__spare(const struct session *s, struct tracer **out, char *err, size_t errlen);
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
