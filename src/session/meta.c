// SPDX-License-Identifier: MIT
#include "session/meta.h"
#include "session/internal.h"
#include "probes/tracer.h"
#include "util/util.h"
#include "probes/collector.h"

#include <stdio.h>

/* How the patterns are covered, in one word: the plan's mechanism, breakpoints, or both. */
static const char *mechanism(const struct session *s)
{
	if (s->o.profile && s->o.prof_sampled)
		return "samples";
	if (s->cov.uprobes_on && s->cov.mr)
		return "mixed";
	return s->cov.uprobes_on ? mech_name(s->plan.mech) : "breakpoint";
}

void meta__armed(struct session *s)
{
	struct run_meta *mt = &s->meta;

	mt->pid = s->pid;
	mt->ns_pid = s->rt->ns_pid;
	mt->launched = s->launched;
	str_copy(mt->python, s->rt->version, sizeof(mt->python));
	str_copy(mt->interpreter, s->rt->path, sizeof(mt->interpreter));
	str_copy(mt->mechanism, mechanism(s), sizeof(mt->mechanism));
	if (s->cov.exits_lazy)
		snprintf(mt->returns, sizeof(mt->returns), "%s (attached at the first "
			 "breakpoint hit)", plan_exit_str(s->plan.exit));
	else
		str_copy(mt->returns, s->cov.exits_on ? plan_exit_str(s->plan.exit) :
			 "none (count only)", sizeof(mt->returns));
	mt->timed = s->cov.exits_on || s->cov.exits_lazy;
	mt->wall_minus_mono = s->wall_minus_mono;
}

void meta__exited(struct session *s, uint64_t now, int code)
{
	s->meta.target_exited = true;
	s->meta.exited_after_ns = now - s->start;
	s->meta.exit_code = code;
}

bool meta__execd(struct session *s, uint64_t now)
{
	struct run_meta *mt = &s->meta;
	uint32_t nforks;
	bool execd;

	collector__procs(s->t, &nforks, &execd);
	mt->children = nforks;
	if (!execd)
		return false;
	mt->execd = true;
	mt->execd_after_ns = now - s->start;
	if (proc_exe(s->pid, mt->exec_path, sizeof(mt->exec_path)) <= 0)
		str_copy(mt->exec_path, "another program", sizeof(mt->exec_path));
	str_sanitize(mt->exec_path);
	warn("target pid %d exec'd %s: tracing stopped", s->pid, mt->exec_path);
	return true;
}

void meta__stopped(struct session *s, bool by_signal)
{
	s->meta.stopped_by_signal = by_signal;
	s->meta.duration_ns = now_ns() - s->start;
}
