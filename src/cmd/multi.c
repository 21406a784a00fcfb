// SPDX-License-Identifier: MIT
/*
 * pyscope trace on several processes: every -p, and with --follow-forks
 * every process a traced one starts (fork, multiprocessing).  One session
 * per process, each with its own interpreter model, BPF object and model
 * (they may run different Pythons), driven from one loop; the report gives
 * each process, then the totals per pattern.
 */
#include "target/caps.h"
#include "probes/tracer.h"
#include "cmd/cmds.h"
#include "sink/outfile.h"
#include "sink/output.h"
#include "session/session.h"
#include "session/signals.h"
#include "util/util.h"
#include "model/model_result.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MULTI_MAX 64		/* processes traced in one run */
#define MULTI_SKIPPED 64	/* children not traced, kept with the reason */
#define MULTI_SPARES 4		/* tracers loaded ahead per family: a burst of forks */

struct member {
	struct session *s;
	int parent;		/* the pid that started it; 0 for -p and a launched command */
	size_t family;		/* the -p (or launched command) it descends from */
};

struct multi {
	const struct config *cfg;
	struct session_opts so;		/* every session's */
	struct member v[MULTI_MAX];
	size_t n;
	struct multi_skip sk[MULTI_SKIPPED];
	size_t nsk;
	uint32_t lost;		/* children announced past every bound */
	struct outfile of;
	size_t nfamilies;
	/*
	 * --follow-forks: per family, tracers loaded ahead for its interpreter by
	 * a thread, so that a new child waits for an attach, not for the BPF
	 * verifier, and the loop never waits for either.  mu guards spare[],
	 * nspare[], no_spare[] and stop; the families' sessions are only read.
	 */
	struct tracer *spare[MULTI_MAX][MULTI_SPARES];
	size_t nspare[MULTI_MAX];
	bool no_spare[MULTI_MAX];
	pthread_t loader;
	bool loader_on, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void skip_child(struct multi *g, int pid, int parent, const char *why)
{
	warn("pid %d (started by pid %d) is not traced: %s", pid, parent, why);
	if (g->nsk == MULTI_SKIPPED) {
		g->lost++;
		return;
	}
	g->sk[g->nsk].pid = pid;
	g->sk[g->nsk].parent = parent;
	str_copy(g->sk[g->nsk].why, why, sizeof(g->sk[0].why));
	str_sanitize(g->sk[g->nsk].why);
	g->nsk++;
}

/* A tracer loaded ahead for this family, or NULL; the loader makes another. */
static struct tracer *take_spare(struct multi *g, size_t f)
{
	struct tracer *t = NULL;

	if (!g->loader_on)
		return NULL;
	pthread_mutex_lock(&g->mu);
	if (g->nspare[f])
		t = g->spare[f][--g->nspare[f]];
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return t;
}

static void give_back_spare(struct multi *g, size_t f, struct tracer *t)
{
	pthread_mutex_lock(&g->mu);
	if (g->nspare[f] < MULTI_SPARES) {
		g->spare[f][g->nspare[f]++] = t;
		t = NULL;
	}
	pthread_mutex_unlock(&g->mu);
	tracer__close(t);
}

/* The family that most needs a spare, or -1; called with mu held. */
static int spare_wanted(const struct multi *g)
{
	size_t f, best = 0;
	bool any = false;

	for (f = 0; f < g->nfamilies; f++) {
		if (g->no_spare[f] || g->nspare[f] == MULTI_SPARES)
			continue;
		if (!any || g->nspare[f] < g->nspare[best])
			best = f;
		any = true;
	}
	return any ? (int)best : -1;
}

/*
 * The loader thread: keeps MULTI_SPARES tracers per family.  It reads the
 * family's session (interpreter model, patterns, plan), which nothing
 * changes once the session is open.
 */
static void *loader_main(void *arg)
{
	struct multi *g = arg;
	char err[256];
	sigset_t set;

	/* SIGINT and SIGTERM are for the loop, and must not cut a load short */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		struct tracer *t = NULL;
		int f = spare_wanted(g);

		if (f < 0) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		pthread_mutex_unlock(&g->mu);
		if (session__spare(g->v[f].s, &t, err, sizeof(err)))
			debug(g->cfg->verbose, "no tracer loaded ahead for pid %d: %s",
			      session__pid(g->v[f].s), err);
		pthread_mutex_lock(&g->mu);
		if (!t)
			g->no_spare[f] = true;
		else if (g->stop || g->nspare[f] == MULTI_SPARES)
			tracer__close(t);
		else
			g->spare[f][g->nspare[f]++] = t;
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

static void loader_stop_init_failed(struct multi *g)
{
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
}

static void loader_stop(struct multi *g)
{
	size_t f, k;

	if (!g->loader_on)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->loader, NULL);
	for (f = 0; f < g->nfamilies; f++)
		for (k = 0; k < g->nspare[f]; k++)
			tracer__close(g->spare[f][k]);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	g->loader_on = false;
}

/* --follow-forks: a session for a process a traced one started. */
static void follow(struct multi *g, struct member *parent, int pid, uint64_t fork_ns)
{
	struct session_target tg = { .pid = pid, .parent_rt = session__rt(parent->s),
				     .spare = take_spare(g, parent->family) };
	int ppid = session__pid(parent->s);
	size_t family = parent->family;
	struct run_meta *meta;
	struct session *s;
	char err[768];
	int ret;

	(void)family;
	if (g->n == MULTI_MAX) {
		skip_child(g, pid, ppid, "too many processes traced already");
		return;
	}
	ret = session__open_target(&s, &g->so, &tg, err, sizeof(err));
	/* the child's now (or freed with it); else back for the next child */
	if (tg.spare && !tg.spare_used)
		give_back_spare(g, family, tg.spare);
	if (ret) {
		skip_child(g, pid, ppid, err);
		return;
	}
	meta = session__meta(s);
	meta->parent_pid = ppid;
	if (session__start(s)) {
		session__close(s);
		skip_child(g, pid, ppid, "cannot start tracing it");
		return;
	}
	/* its calls between the fork and now were not seen */
	meta->attach_lag_ns = now_ns() - fork_ns;
	session__meta(parent->s)->children_traced++;
	g->v[g->n++] = (struct member){ .s = s, .parent = ppid, .family = family };
}

static int open_targets(struct multi *g, char *err, size_t errlen)
{
	const struct config *cfg = g->cfg;
	int i, ret, n = cfg->argv ? 1 : cfg->npids;

	for (i = 0; i < n; i++) {
		struct session_target tg = { .pid = cfg->argv ? 0 : cfg->pids[i] };

		ret = session__open_target(&g->v[g->n].s, &g->so, &tg, err, errlen);
		if (ret)
			return ret;
		g->v[g->n].family = g->n;
		g->n++;
	}
	g->nfamilies = g->n;
	for (i = 0; i < n; i++) {
		ret = session__start(g->v[i].s);
		if (ret) {
			snprintf(err, errlen, "cannot start tracing pid %d", session__pid(g->v[i].s));
			return ret;
		}
	}
	return 0;
}

/* Run every session until each target is gone, -d, or a signal. */
static int loop(struct multi *g)
{
	const struct config *cfg = g->cfg;
	uint64_t t0 = now_ns();
	size_t i;
	int ret;

	while (!signals__stop_requested()) {
		size_t active = 0;

		for (i = 0; i < g->n; i++) {
			int pids[16];
			uint64_t ts[16];
			uint32_t dropped = 0;
			size_t k, nc;

			/* about 50 ms per turn in all, as with one target */
			ret = session__step(g->v[i].s, (int)(50 / g->n) + 1);
			if (ret < 0)
				return ret;
			active += ret == 0;
			nc = session__children(g->v[i].s, pids, ts, ARRAY_SIZE(pids), &dropped);
			g->lost += dropped;
			for (k = 0; cfg->follow_forks && k < nc; k++)
				follow(g, &g->v[i], pids[k], ts[k]);
		}
		if (!active)
			break;
		if (cfg->duration_ms && now_ns() - t0 >= cfg->duration_ms * 1000000ull)
			break;
	}
	for (i = 0; i < g->n; i++)
		session__stop(g->v[i].s);
	return 0;
}

/* Each process's report, then the totals. */
static int report(struct multi *g)
{
	struct report_opts fin = trace_report_opts(g->cfg);
	struct multi_proc *procs = calloc(g->n, sizeof(*procs));
	struct multi_report mr = { .procs = procs, .n = g->n, .skipped = g->sk,
				   .nskipped = g->nsk, .lost = g->lost };
	struct output *out = NULL;
	size_t i;
	int ret;

	ret = procs ? output__new(&out, g->cfg->format, g->of.f, false) : -ENOMEM;
	if (ret)
		goto cleanup;
	for (i = 0; i < g->n; i++)
		procs[i] = (struct multi_proc){ session__model(g->v[i].s), session__meta(g->v[i].s) };
	output__multi(out, &mr, &fin);
cleanup:
	output__free(out);
	free(procs);
	return ret;
}

/* As session__warn_unmatched, over every process. */
static void warn_unmatched(const struct multi *g)
{
	const struct patterns *ps = model__patterns(session__model(g->v[0].s));
	size_t i, p;

	for (p = 0; p < ps->n; p++) {
		bool seen = false;

		for (i = 0; i < g->n && !seen; i++)
			seen = model__pattern_matched_code(session__model(g->v[i].s), p);
		if (!seen)
			warn("warning: pattern %s matched no code: no call of %s was seen",
			     ps->v[p].name, ps->v[p].spec);
	}
}

int cmd_trace_multi(const struct config *cfg)
{
	struct multi *g = calloc(1, sizeof(*g));
	char err[768] = "";
	int ret, status = 0, st;
	bool failed = true;
	size_t i;

	if (!g)
		return 2;
	g->cfg = cfg;
	cmd_session_opts(cfg, &g->so);
	/* every capability before anything is created, launched or attached */
	for (i = 0; i < (size_t)(cfg->argv ? 1 : cfg->npids); i++) {
		ret = caps_require(true, cfg->argv ? 0 : cfg->pids[i], err, sizeof(err));
		if (ret)
			goto cleanup;
	}
	ret = outfile_open(&g->of, cfg->output, cfg->force, err, sizeof(err));
	if (ret)
		goto cleanup;
	ret = open_targets(g, err, sizeof(err));
	if (ret)
		goto cleanup;
	if (cfg->follow_forks && !pthread_mutex_init(&g->mu, NULL)) {
		if (pthread_cond_init(&g->cv, NULL))
			pthread_mutex_destroy(&g->mu);
		else if (pthread_create(&g->loader, NULL, loader_main, g))
			loader_stop_init_failed(g);
		else
			g->loader_on = true;
	}
	ret = loop(g);
	if (ret)
		goto cleanup;
	for (i = 0; i < g->n; i++)
		session__finish(g->v[i].s);
	ret = report(g);
	if (ret) {
		snprintf(err, sizeof(err), "out of memory");
		goto cleanup;
	}
	warn_unmatched(g);
	failed = false;
cleanup:
	if (ret && err[0])
		diag_error(cfg_diag(cfg), err);
	loader_stop(g);
	for (i = 0; i < g->n; i++) {
		/* a launched command is the first; its status is pyscope's */
		st = session__close(g->v[i].s);
		if (i == 0 && cfg->argv)
			status = st;
	}
	outfile_close(&g->of, failed);
	free(g);
	return ret ? 2 : status;
}
