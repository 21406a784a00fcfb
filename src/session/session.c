// SPDX-License-Identifier: MIT
/* The event loop of one session, and the end of it: finish, detach, close. */
#include "session/internal.h"
#include "session/launch.h"
#include "session/meta.h"
#include "session/signals.h"
#include "probes/tracer.h"
#include "sink/recorder.h"
#include "target/pyrt.h"
#include "util/util.h"
#include "model/model_result.h"
#include "tracefile/tfbuild.h"
#include "probes/collector.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

bool session__gone(const struct session *s, bool pidfd_ready, int *code)
{
	char path[64];
	int dummy;

	if (s->launched)
		return launch_exited(s->pid, code ? code : &dummy);
	if (s->pidfd >= 0)
		return pidfd_ready;
	snprintf(path, sizeof(path), "/proc/%d/exe", s->pid);
	return access(path, F_OK) != 0 && (errno == ENOENT || errno == ESRCH);
}

static int start_recording(struct session *s)
{
	struct tf_source src = { .exprs = s->o.exprs, .nexprs = s->o.nexprs,
				 .pattern_file = s->o.pattern_file, .depth = s->o.depth,
				 .no_args = s->o.no_args, .count_only = s->o.count_only,
				 .capture = s->o.capture, .ncapture = s->o.ncapture };
	char err[PATH_MAX + 128];
	int ret;

	ret = recorder__start(s->rec, &src, s->m, &s->meta, err, sizeof(err));
	if (ret)
		diag_error(s->o.diag, err);
	return ret;
}

int session__start(struct session *s)
{
	int ret;

	signals__catch();
	fprintf(stderr, "pyscope: tracing pid %d (Python %s, via %s) for %zu pattern(s)%s; "
		"Ctrl-C to stop\n", s->pid, s->rt->version, s->meta.mechanism, s->ps.n,
		cover__pending(&s->cov) ? ", some not imported yet" : "");
	/* a pidfd becomes readable when the target exits: no polling delay */
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	s->start = now_ns();
	cover__started(&s->cov, s->start);
	s->meta.start_wall_ns = wall_ns();
	if (s->rec) {
		ret = start_recording(s);
		if (ret)
			return ret;
	}
	if (s->launched) {
		ret = launch_release(s->pid);
		if (ret) {
			char err[128];

			snprintf(err, sizeof(err), "cannot resume pid %d: %s", s->pid, strerror(-ret));
			diag_error(s->o.diag, err);
			return ret;
		}
		s->released = true;
	}
	return 0;
}

int session__step(struct session *s, int timeout_ms)
{
	int ret, code = 0;
	uint64_t now;

	if (s->ended || !s->t)
		return 1;
	ret = collector__poll(s->t, timeout_ms, s->pidfd);
	if (ret < 0) {
		char err[128];

		snprintf(err, sizeof(err), "pid %d: reading events: %s", s->pid, strerror(-ret));
		diag_error(s->o.diag, err);
		return ret;
	}
	now = now_ns();
	if (session__gone(s, ret == 1, &code)) {
		meta__exited(s, now, code);
		session__stop(s);
		return 1;
	}
	if (meta__execd(s, now)) {
		session__stop(s);
		return 1;
	}
	ret = cover__poll(&s->cov, now);
	if (ret)
		return ret;
	if (s->rec && recorder__due(s->rec, now)) {
		session__refresh(s);
		recorder__checkpoint(s->rec, s->m, &s->meta, now);
	}
	return 0;
}

void session__stop(struct session *s)
{
	if (s->ended)
		return;
	s->ended = true;
	meta__stopped(s, signals__stop_requested());
	debug(s->o.verbose, "%.1f ms: pid %d: stopping", (now_ns() - s->t0) / 1e6, s->pid);
}

int session__run(struct session *s, session_tick_fn tick, void *ctx)
{
	uint64_t limit = s->o.duration_ms * 1000000ull;
	int ret;

	ret = session__start(s);
	if (ret)
		return ret;
	while (!signals__stop_requested()) {
		ret = session__step(s, 50);
		if (ret < 0)
			return ret;
		if (ret)
			break;
		if (limit && now_ns() - s->start >= limit)
			break;
		if (tick && tick(ctx, s, now_ns()))
			break;
	}
	session__stop(s);
	return 0;
}

size_t session__children(struct session *s, int *pids, uint64_t *ts, size_t max,
			 uint32_t *dropped)
{
	return collector__take_children(s->t, pids, ts, max, dropped);
}

void session__refresh(struct session *s)
{
	if (!s->t)
		return;		/* detached: the model keeps the final statistics */
	s->meta.duration_ns = now_ns() - s->start;
	collector__refresh(s->t);
}

void session__finish(struct session *s)
{
	bool execd;

	if (s->t) {
		collector__poll(s->t, 0, -1);
		collector__refresh(s->t);
		collector__procs(s->t, &s->meta.children, &execd);
	}
	if (s->rec)
		recorder__finish(s->rec, s->m, &s->meta);
	s->failed = false;
}

void session__detach(struct session *s)
{
	if (!s->t)
		return;
	tracer__close(s->t);
	s->t = NULL;
	cover__detach(&s->cov);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	debug(s->o.verbose, "pid %d: detached", s->pid);
}

void session__warn_unmatched(struct session *s)
{
	size_t i;

	/* not an error, but most often a misspelt pattern */
	for (i = 0; i < s->ps.n; i++)
		if (!model__pattern_matched_code(s->m, i))
			warn("warning: pattern %s matched no code: no call of %s was seen",
			     s->ps.v[i].name, s->ps.v[i].spec);
}

int session__close(struct session *s)
{
	int status = 0;

	if (!s)
		return 0;
	if (s->t) {
		tracer__close(s->t);
		debug(s->o.verbose, "%.1f ms: detached", (now_ns() - s->t0) / 1e6);
	}
	if (s->launched && !s->released)
		launch_abort(s->pid);
	else if (s->launched)
		status = s->meta.target_exited ? s->meta.exit_code : launch_wait(s->pid);
	if (s->pidfd >= 0)
		close(s->pidfd);
	cover__free(&s->cov);
	srcfiles__close(&s->sf);
	model__free(s->m);
	pyrt__free(s->rt);
	patterns__free(&s->ps);
	recorder__close(s->rec, s->failed);
	/* a failed run removes the report file it created */
	outfile_close(&s->of, s->failed);
	free(s);
	return status;
}

int session__pid(const struct session *s)
{
	return s->pid;
}

const struct pyrt *session__rt(const struct session *s)
{
	return s->rt;
}

struct model *session__model(struct session *s)
{
	return s->m;
}

struct run_meta *session__meta(struct session *s)
{
	return &s->meta;
}

FILE *session__out(struct session *s)
{
	return s->out;
}

bool session__launched(const struct session *s)
{
	return s->launched;
}

uint64_t session__wall(const struct session *s, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + s->wall_minus_mono);
}
