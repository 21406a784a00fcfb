/* SPDX-License-Identifier: MIT */
/*
 * A tracing session, shared by the commands that trace (trace, record,
 * check, profile, serve): patterns, the target (attached or launched), the
 * interpreter model, the plan, the model, the BPF side, and which mechanism
 * covers each pattern (session/cover.h), then the event loop.  Opening is
 * in open.c, the run's metadata in meta.c, the loop in session.c.
 */
#ifndef PYSCOPE_SESSION_H
#define PYSCOPE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/meta.h"
#include "model/model.h"
#include "plan/plan.h"
#include "util/diag.h"

/*
 * What a session does.  Each command fills one (src/cmd/); nothing below
 * the commands reads the command line.  Strings and arrays are borrowed:
 * they must outlive the session.
 */
struct session_opts {
	/* the target: a running process, or a command launched (pid 0) */
	int pid;
	char **argv;
	/* the patterns: each -e spec in order, then the pattern file */
	const char *const *exprs;
	size_t nexprs;
	const char *pattern_file;
	/* what the probes measure */
	enum ps_via via;
	bool count_only;		/* do not time calls (lets --via auto use breakpoints) */
	bool rules;			/* judge the pattern file's rules (pyscope check) */
	bool no_args;			/* read no call arguments */
	unsigned depth;			/* frames per call path; 0: the call site only */
	const char *const *capture;	/* argument names counts are broken down by */
	size_t ncapture;
	/* pyscope profile: the samplers */
	bool profile;
	unsigned prof_hz;		/* CPU samples per second */
	bool prof_offcpu;		/* also waits off CPU */
	bool prof_sampled;		/* no probes at calls: the samples find the calls */
	bool prof_all;			/* keep samples outside the patterns' calls */
	/* where the results go */
	const char *output;		/* the report file; NULL: stdout */
	const char *record;		/* the trace file, or NULL */
	bool force;			/* either may replace a file of ours */
	uint64_t duration_ms;		/* session__run stops after it; 0: no limit */
	int verbose;
	enum diag_mode diag;		/* how errors are reported */
};

struct session;

/* Called after every poll; returning true stops the loop. */
typedef bool (*session_tick_fn)(void *ctx, struct session *s, uint64_t now_ns);

/*
 * Set everything up for o->pid (0: launch o->argv) and arm the probes.  On
 * failure, one error line has been reported and the return value is
 * negative.
 */
int session__open(struct session **out, const struct session_opts *o);
/* Where a session's target comes from. */
struct session_target {
	int pid;			/* 0: launch o->argv */
	bool own_output;		/* open o->output and o->record itself (one target) */
	/* a forked child: its parent's model, and a tracer loaded ahead for it */
	const struct pyrt *parent_rt;
	struct tracer *spare;
	bool spare_used;		/* out: the session took spare (it owns it now) */
};

/*
 * session__open for one of several targets: on failure, err gets the line
 * and nothing is printed (the caller decides how bad it is).
 */
int session__open_target(struct session **out, const struct session_opts *o,
			 struct session_target *tg, char *err, size_t errlen);
/*
 * Release a launched command; run until the target exits, o->duration_ms
 * passes, a signal comes or tick says stop.
 */
int session__run(struct session *s, session_tick_fn tick, void *ctx);

/* session__run in parts, for a loop over several sessions: */
/* say it is tracing, release a launched command */
int session__start(struct session *s);
/* one turn: events for up to timeout_ms; 1 once the target exited or exec'd */
int session__step(struct session *s, int timeout_ms);
/* the end of the traced time (idempotent) */
void session__stop(struct session *s);
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
