/* SPDX-License-Identifier: MIT */
/*
 * struct session, for the files that implement it: session.c (the event
 * loop), open.c (opening a target) and meta.c (the run's metadata).
 */
#ifndef PYSCOPE_SESSION_INTERNAL_H
#define PYSCOPE_SESSION_INTERNAL_H

#include "model/pattern.h"
#include "plan/plan.h"
#include "session/cover.h"
#include "session/session.h"
#include "sink/outfile.h"
#include "target/srcfiles.h"

struct session {
	struct session_opts o;
	struct patterns ps;
	struct pyrt *rt;
	struct model *m;
	struct tracer *t;
	struct plan plan;
	struct cover cov;
	struct run_meta meta;
	struct srcfiles sf;
	struct outfile of;
	struct recorder *rec;		/* record, trace --record */
	FILE *out;
	int pid, pidfd;
	bool failed;			/* remove an output file we created */
	bool ended;			/* the target exited or exec'd, or the loop stopped */
	bool launched, released;
	uint64_t t0, start;
	int64_t wall_minus_mono;
};

/*
 * Has the target exited?  (A zombie counts: nothing is left to trace.)
 * pidfd_ready: its pidfd said so; code gets a launched command's status.
 */
bool session__gone(const struct session *s, bool pidfd_ready, int *code);

#endif
