// SPDX-License-Identifier: MIT
#include "session/cover.h"
#include "probes/memread.h"
#include "probes/tracer.h"
#include "sink/recorder.h"
#include "util/util.h"
#include "probes/breakpoints.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOLVE_PENDING_NS	(50ull * 1000000)	/* look for late imports */
#define RESOLVE_ARMED_NS	(500ull * 1000000)	/* notice redefinitions */
#define AUTO_MAX_WATCHES	4	/* the debug registers --via auto may fill */

/* Per pattern: how breakpoints cover it. */
struct bp_state {
	bool want;		/* meant for breakpoints (else uprobes) */
	bool armed;
	uint64_t code, watch;
};

static uint64_t since(const struct cover *c)
{
	return now_ns() - c->start;
}

static void set_cover(struct cover *c, size_t i, enum cover_mech mech, bool timed,
		      const char *why)
{
	struct coverage cv = { .mech = mech, .timed = timed };

	cv.armed_ns = c->start ? since(c) : 0;
	cv.partial = c->start && cv.armed_ns > 0;
	str_copy(cv.why, why ? why : "", sizeof(cv.why));
	model__set_coverage(c->m, i, &cv);
}

/*
 * The frame-end probe fires at every frame's end, hit or not.  With
 * breakpoints only it waits for their first hit: a never-called target then
 * costs nothing.  Calls seen before it is attached are counted, not timed.
 */
static int exits_now(struct cover *c, char *err, size_t errlen)
{
	size_t i;
	int ret;

	if (!c->exits_lazy || c->exits_on)
		return 0;
	ret = tracer__attach(c->t, ATTACH_EXIT, err, errlen);
	if (ret)
		return ret;
	c->exits_on = true;
	for (i = 0; i < c->ps->n; i++) {
		struct coverage cv = *model__coverage(c->m, i);
		size_t len = strlen(cv.why);

		if (cv.mech != COVER_BREAKPOINT || cv.timed)
			continue;
		cv.timed = true;
		snprintf(cv.why + len, sizeof(cv.why) - len, "; timed from %.3fs (the first hit)",
			 (double)since(c) / 1e9);
		model__set_coverage(c->m, i, &cv);
	}
	debug(c->verbose, "first breakpoint hit: frame-end probe attached at %.3fs",
	      (double)since(c) / 1e9);
	return 0;
}

/* Attach the eval/resume uprobes (once), for patterns breakpoints cannot cover. */
static int uprobes_on(struct cover *c, char *err, size_t errlen)
{
	int ret;

	if (c->uprobes_on)
		return 0;
	ret = exits_now(c, err, errlen);
	if (!ret)
		ret = tracer__attach(c->t, ATTACH_ENTRY, err, errlen);
	if (!ret)
		c->uprobes_on = true;
	return ret;
}

/*
 * The frame-end probe (unless lazy) and the deallocation probes: attached
 * once, before anything counts.
 */
static int base_probes(struct cover *c, bool lazy, char *err, size_t errlen)
{
	unsigned what = ATTACH_DEALLOC | ATTACH_PROC;
	int ret;

	if (c->plan->exit != EXIT_NONE && !c->count_only) {
		if (lazy)
			c->exits_lazy = true;
		else
			what |= ATTACH_EXIT;
	}
	ret = tracer__attach(c->t, what, err, errlen);
	if (!ret)
		c->exits_on = what & ATTACH_EXIT;
	return ret;
}

/* The model (and the trace file) learn the code a breakpoint pattern resolved to. */
static void note_resolved(struct cover *c, size_t i, uint64_t code)
{
	const struct pattern *p = &c->ps->v[i];

	if (p->kind != PAT_FUNC)
		return;
	model__set_resolved(c->m, code, p->module, p->qualname);
	if (c->rec)
		recorder__resolved(c->rec, code, p->module, p->qualname);
}

/*
 * Put pattern i under a breakpoint on its code's start unit.  Returns 0, or
 * -ENOSPC when the debug registers are full, or another negative errno.
 */
static int arm(struct cover *c, size_t i, const struct pw_target *t, bool rearm, char *err,
	       size_t errlen)
{
	struct bp_state *b = &c->bp[i];
	char how[320];
	int ret;

	ret = breakpoints__set_code(c->t, t->code, true);
	if (!ret)
		ret = breakpoints__watch(c->t, t->watch, err, errlen);
	if (ret) {
		breakpoints__set_code(c->t, t->code, false);
		return ret;
	}
	b->armed = true;
	b->code = t->code;
	b->watch = t->watch;
	note_resolved(c, i, t->code);
	if (rearm)
		snprintf(how, sizeof(how), "breakpoint on %s at 0x%lx, re-armed at %.3fs after the "
			 "code was redefined (calls in between may be missed)", t->how,
			 (unsigned long)t->watch, (double)since(c) / 1e9);
	else
		snprintf(how, sizeof(how), "breakpoint on %s at 0x%lx", t->how,
			 (unsigned long)t->watch);
	/* <= 3.10 without the eval entry probe: a resumed generator is not found again */
	set_cover(c, i, COVER_BREAKPOINT, c->exits_on, how);
	debug(c->verbose, "pattern %s: %s", c->ps->v[i].name, how);
	return 0;
}

/* Does an armed pattern other than except still need this code object (or watch address)? */
static bool needed(const struct cover *c, size_t except, bool code, uint64_t v)
{
	size_t i;

	for (i = 0; i < c->ps->n; i++)
		if (i != except && c->bp[i].armed && (code ? c->bp[i].code : c->bp[i].watch) == v)
			return true;
	return false;
}

static void disarm(struct cover *c, size_t i)
{
	struct bp_state *b = &c->bp[i];

	if (!b->armed)
		return;
	b->armed = false;
	if (!needed(c, i, false, b->watch))
		breakpoints__unwatch(c->t, b->watch);
	if (!needed(c, i, true, b->code))
		breakpoints__set_code(c->t, b->code, false);
}

/* A breakpoint pattern that cannot be watched goes to the uprobes. */
static int fall_back(struct cover *c, size_t i, const char *why)
{
	char err[256], msg[200];
	int ret;

	c->bp[i].want = false;
	ret = uprobes_on(c, err, sizeof(err));
	if (ret) {
		diag_error(c->diag, err);
		return ret;
	}
	snprintf(msg, sizeof(msg), "%s: %s", mech_name(c->plan->mech), why);
	set_cover(c, i, COVER_UPROBE, c->exits_on, msg);
	warn("pattern %s: %s; using the %s mechanism", c->ps->v[i].name, why,
	     mech_name(c->plan->mech));
	return 0;
}

/* Pattern i resolved to t: arm it, or follow its code if it moved.  Errors are reported. */
static int arm_resolved(struct cover *c, size_t i, const struct pw_target *t)
{
	struct bp_state *b = &c->bp[i];
	char err[256];
	bool rearm;
	int ret;

	if (t->unsafe)
		return b->armed ? 0 : fall_back(c, i, "its first instruction is also a jump target");
	if (b->armed && b->code == t->code)
		return 0;
	rearm = b->armed;
	if (rearm) {
		debug(c->verbose, "pattern %s: code moved (redefined or reloaded)", c->ps->v[i].name);
		disarm(c, i);
	}
	ret = arm(c, i, t, rearm, err, sizeof(err));
	if (ret == -ENOSPC)
		return fall_back(c, i, "no free hardware breakpoint");
	if (ret)
		diag_error(c->diag, err);
	return ret;
}

/* What the walk looks for, for pattern p. */
static struct pw_query query_of(const struct pattern *p)
{
	return (struct pw_query){ p->module, p->qualname, p->kind == PAT_CLASS };
}

/* Resolve breakpoint patterns: arm the new ones, follow redefinitions. */
static int resolve(struct cover *c, bool armed_too)
{
	size_t i;
	int ret;

	for (i = 0; i < c->ps->n; i++) {
		struct bp_state *b = &c->bp[i];
		struct pw_query query = query_of(&c->ps->v[i]);
		struct pw_target t;
		char why[256] = "";
		int st;

		if (!b->want || (b->armed && !armed_too))
			continue;
		st = pywalk__resolve(&c->walk, &query, &t, why, sizeof(why));
		if (st < 0) {
			/* exiting, or caught mid-update: the loop notices an exit, else retry */
			debug(c->verbose, "resolving %s: %s", c->ps->v[i].name, strerror(-st));
			return 0;
		}
		if (st != PW_OK) {
			/*
			 * Not imported, or not defined yet: a module is in sys.modules
			 * while it still runs.  Keep looking; keep an armed watch.
			 */
			if (!b->armed)
				set_cover(c, i, COVER_NONE, false, why);
			continue;
		}
		ret = arm_resolved(c, i, &t);
		if (ret)
			return ret;
	}
	return 0;
}

/* profile --sampled: no probe at calls, the samples find the pattern calls on the stack. */
static int choose_sampled(struct cover *c, char *err, size_t errlen)
{
	size_t i;
	int ret;

	ret = base_probes(c, false, err, errlen);
	for (i = 0; !ret && i < c->ps->n; i++)
		set_cover(c, i, COVER_SAMPLED, false,
			  "pattern calls found by the samples; calls not counted");
	return ret;
}

/* Every pattern under the plan's uprobes. */
static int choose_uprobes(struct cover *c, char *err, size_t errlen)
{
	size_t i;
	int ret;

	ret = uprobes_on(c, err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < c->ps->n; i++)
		set_cover(c, i, COVER_UPROBE, c->exits_on, c->plan->desc);
	return 0;
}

/*
 * Can breakpoints be used here at all?  --via breakpoint fails when they
 * cannot (-ENOTSUP or the reader's error); auto quietly goes without.
 */
static int bp_usable(struct cover *c, bool *try_bp, char *err, size_t errlen)
{
	const struct mech_status *bp = &c->rt->mech[MECH_BREAKPOINT];
	int ret;

	if (!*try_bp)
		return 0;
	if (!bp->ok) {
		*try_bp = false;
		if (c->via != VIA_BREAKPOINT)
			return 0;
		snprintf(err, errlen, "--via breakpoint: %s", bp->why);
		return -ENOTSUP;
	}
	ret = memread__open(&c->mr, c->pid, err, errlen);
	if (!ret) {
		pyrt__walker(c->rt, &c->walk, memread__read, c->mr);
		return 0;
	}
	*try_bp = false;
	if (c->via == VIA_BREAKPOINT)
		return ret;
	debug(c->verbose, "no breakpoints: %s", err);
	return 0;
}

/* --via auto: all or nothing, so that every count is exact from the start. */
static bool auto_fits(struct cover *c)
{
	uint64_t addrs[AUTO_MAX_WATCHES];
	size_t naddr = 0, i, k;

	for (i = 0; i < c->ps->n; i++) {
		struct pw_query query = query_of(&c->ps->v[i]);
		struct pw_target t;

		if (pywalk__resolve(&c->walk, &query, &t, NULL, 0) != PW_OK || t.unsafe)
			return false;
		for (k = 0; k < naddr; k++)
			if (addrs[k] == t.watch)
				break;
		if (k < naddr)
			continue;
		if (naddr == AUTO_MAX_WATCHES)
			return false;
		addrs[naddr++] = t.watch;
	}
	return true;
}

int cover__choose(struct cover *c, char *err, size_t errlen)
{
	/*
	 * Rules need every call of their patterns from the start, in the order
	 * they start: with them, auto uses the uprobes.
	 */
	bool try_bp = c->via == VIA_BREAKPOINT || (c->via == VIA_AUTO && c->count_only && !c->rules);
	size_t i;
	int ret;

	if (c->sampled)
		return choose_sampled(c, err, errlen);
	ret = bp_usable(c, &try_bp, err, errlen);
	if (ret)
		return ret;
	if (try_bp && c->via == VIA_AUTO) {
		try_bp = auto_fits(c);
		debug(c->verbose, "auto: %s", try_bp ? "every pattern fits in breakpoints" :
		      "using uprobes (a pattern does not resolve now or the breakpoints are too few)");
	}
	for (i = 0; i < c->ps->n; i++)
		c->bp[i].want = try_bp;
	ret = base_probes(c, try_bp, err, errlen);
	if (ret)
		return ret;
	if (!try_bp)
		return choose_uprobes(c, err, errlen);
	ret = resolve(c, false);
	if (ret)
		snprintf(err, errlen, "cannot arm the breakpoints: %s", strerror(-ret));
	return ret;
}

int cover__init(struct cover *c)
{
	c->bp = calloc(c->ps->n ? c->ps->n : 1, sizeof(*c->bp));
	return c->bp ? 0 : -ENOMEM;
}

bool cover__pending(const struct cover *c)
{
	size_t i;

	for (i = 0; i < c->ps->n; i++)
		if (c->bp[i].want && !c->bp[i].armed)
			return true;
	return false;
}

void cover__started(struct cover *c, uint64_t now)
{
	c->start = c->last_pending = c->last_armed = now;
}

int cover__poll(struct cover *c, uint64_t now)
{
	bool armed_too;
	int ret;

	if (c->exits_lazy && !c->exits_on && breakpoints__starts(c->t)) {
		char err[256];

		ret = exits_now(c, err, sizeof(err));
		if (ret) {
			diag_error(c->diag, err);
			return ret;
		}
	}
	if (!c->mr || now - c->last_pending < RESOLVE_PENDING_NS)
		return 0;
	armed_too = now - c->last_armed >= RESOLVE_ARMED_NS;
	c->last_pending = now;
	if (armed_too)
		c->last_armed = now;
	return resolve(c, armed_too);
}

void cover__detach(struct cover *c)
{
	c->t = NULL;
	memread__close(c->mr);
	c->mr = NULL;
}

void cover__free(struct cover *c)
{
	cover__detach(c);
	free(c->bp);
	c->bp = NULL;
}
