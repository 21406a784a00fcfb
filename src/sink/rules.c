// SPDX-License-Identifier: MIT
/*
 * Sequence rules are compiled into a position automaton (Glushkov): one
 * position per pattern occurrence in the rule, at most 64, so a set of
 * states is a 64-bit mask and a step costs a few mask operations per
 * position of the called pattern.  A run keeps two state sets: "exact"
 * (the calls so far are an allowed prefix) and "skip" (they are a
 * subsequence of an allowed prefix: some calls may have been dropped).
 */
#include "sink/rules.h"
#include "sink/rules_table.h"
#include "util/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POS 64

struct run {
	uint64_t key;
	enum rule_key_kind kind;
	char text[RULES_TEXT_LEN];
	uint64_t exact, skip;		/* state sets; 0 before the first call */
	bool started, exact_dead, skip_dead;
	bool judged;			/* timed out and reported: absorbs its late calls */
	bool partial;			/* may have started before the probes: never judged */
	size_t bad_at;			/* first call the exact automaton refused */
	int bad_pat;
	uint64_t bad_expected;		/* positions allowed there */
	uint64_t first_ns, last_ns;
	struct rule_seen seen[RULES_MAX_SEEN];
	size_t nseen;
	uint64_t total;
};

struct obj {
	uint64_t key;
	enum rule_key_kind kind;
	char text[RULES_TEXT_LEN];
	struct rule_seen first;
	bool reported;
};

struct crule {
	const struct rule *r;
	/* sequence automaton */
	int npos;
	int pos_pat[MAX_POS];
	uint64_t first, final, has_follow;
	uint64_t follow[MAX_POS];
	uint64_t reach[MAX_POS];	/* positions reachable in >= 1 step */
	uint64_t reach0;		/* positions reachable from the start */
	struct rules_table runs;		/* sequence: key -> struct run; isolation: self -> obj */
	struct rule_stats st;
};

struct rules {
	const struct patterns *ps;
	struct crule *c;
	size_t n;
	rules_report_fn report;
	void *ctx;
	uint64_t attached_ns;		/* 0: launched, every run seen from its start */
};

/* First and last positions of each step; follow edges; first and final sets. */
static void compile_seq(struct crule *c)
{
	const struct rule *r = c->r;
	int sfirst[RULE_MAX_STEPS], slast[RULE_MAX_STEPS], s, g, t, p, q;

	c->npos = 0;
	for (s = 0; s < r->nsteps; s++) {
		sfirst[s] = c->npos;
		for (g = 0; g < r->steps[s].npats && c->npos < MAX_POS; g++) {
			c->pos_pat[c->npos] = r->steps[s].pats[g];
			if (g)
				c->follow[c->npos - 1] |= 1ULL << c->npos;
			c->npos++;
		}
		slast[s] = c->npos - 1;
		if (r->steps[s].repeat)
			c->follow[slast[s]] |= 1ULL << sfirst[s];
	}
	/* a step is followed by the next ones up to and including the first required */
	for (s = 0; s < r->nsteps; s++) {
		for (t = s + 1; t < r->nsteps; t++) {
			c->follow[slast[s]] |= 1ULL << sfirst[t];
			if (!r->steps[t].optional)
				break;
		}
	}
	for (t = 0; t < r->nsteps; t++) {
		c->first |= 1ULL << sfirst[t];
		if (!r->steps[t].optional)
			break;
	}
	for (t = r->nsteps - 1; t >= 0; t--) {
		c->final |= 1ULL << slast[t];
		if (!r->steps[t].optional)
			break;
	}
	for (p = 0; p < c->npos; p++) {
		if (c->follow[p])
			c->has_follow |= 1ULL << p;
		c->reach[p] = c->follow[p];
	}
	/* transitive closure (at most 64 positions) */
	for (q = 0; q < c->npos; q++)
		for (p = 0; p < c->npos; p++)
			if (c->reach[p] & (1ULL << q))
				c->reach[p] |= c->reach[q];
	c->reach0 = c->first;
	for (p = 0; p < c->npos; p++)
		if (c->first & (1ULL << p))
			c->reach0 |= c->reach[p];
}

int rules__new(struct rules **out, const struct patterns *ps, rules_report_fn fn, void *ctx)
{
	struct rules *r;
	size_t i;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ps = ps;
	r->report = fn;
	r->ctx = ctx;
	r->n = ps->nrules;
	r->c = calloc(r->n ? r->n : 1, sizeof(*r->c));
	if (!r->c) {
		free(r);
		return -ENOMEM;
	}
	for (i = 0; i < r->n; i++) {
		r->c[i].r = &ps->rules[i];
		if (ps->rules[i].kind == RULE_SEQUENCE)
			compile_seq(&r->c[i]);
	}
	*out = r;
	return 0;
}

void rules__set_attached(struct rules *r, uint64_t armed_ns)
{
	r->attached_ns = armed_ns;
}

void rules__free(struct rules *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		rules_table__free(&r->c[i].runs);
	free(r->c);
	free(r);
}

static bool in_list(const int *v, int n, int pat)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == pat)
			return true;
	return false;
}

/* Positions of the event's patterns in a sequence rule. */
static uint64_t event_pos(const struct crule *c, const struct rule_event *ev, int *pat)
{
	uint64_t m = 0;
	size_t k;
	int p;

	for (k = 0; k < ev->npats; k++) {
		for (p = 0; p < c->npos; p++) {
			if (c->pos_pat[p] == ev->pats[k]) {
				if (!m)
					*pat = ev->pats[k];
				m |= 1ULL << p;
			}
		}
	}
	return m;
}

bool rules__wants(const struct rules *r, size_t pidx)
{
	const char *key;

	return patterns__in_rule(r->ps, pidx, &key);
}

static uint64_t follow_of(const struct crule *c, uint64_t set, bool reach)
{
	uint64_t m = 0;
	int p;

	for (p = 0; p < c->npos; p++)
		if (set & (1ULL << p))
			m |= reach ? c->reach[p] : c->follow[p];
	return m;
}

static void pos_to_pats(const struct crule *c, uint64_t pos, uint64_t *pats)
{
	int p;

	for (p = 0; p < c->npos; p++)
		if ((pos & (1ULL << p)) && c->pos_pat[p] >= 0 && c->pos_pat[p] < PAT_MAX)
			pats[c->pos_pat[p] / 64] |= 1ULL << (c->pos_pat[p] % 64);
}

static void key_text(char *buf, size_t n, enum rule_key_kind kind, uint64_t key, uint64_t self,
		     bool key_self, const char *text)
{
	if (key_self)
		snprintf(buf, n, "0x%" PRIx64, self);
	else if (kind == RK_STR)
		snprintf(buf, n, "%s", text ? text : "?");
	else if (kind == RK_INT)
		snprintf(buf, n, "%" PRId64, (int64_t)key);
	else
		snprintf(buf, n, "<type 0x%" PRIx64 ">", key);
	str_sanitize(buf);
}

/* Judge a run (the caller then forgets it, or keeps it as judged). */
static void judge(struct rules *r, size_t ri, struct run *run, bool timed_out, bool at_end)
{
	struct crule *c = &r->c[ri];
	struct rule_violation v;

	c->st.runs++;
	memset(&v, 0, sizeof(v));
	v.got = -1;
	if (!run->exact_dead) {
		if (run->exact & c->final)
			return;			/* an allowed, complete run */
		if (at_end && !c->r->exit_incomplete)
			return;
		v.kind = VIOL_INCOMPLETE;
		v.at = run->nseen;
		pos_to_pats(c, follow_of(c, run->exact, false), v.expected);
	} else {
		v.kind = run->skip_dead ? VIOL_ORDER : VIOL_MISSING;
		v.at = run->bad_at;
		v.got = run->bad_pat;
		pos_to_pats(c, run->bad_expected, v.expected);
	}
	c->st.violations++;
	v.rule = ri;
	v.timed_out = timed_out;
	v.at_end = at_end;
	str_copy(v.key, run->text, sizeof(v.key));
	memcpy(v.seen, run->seen, sizeof(v.seen));
	v.nseen = run->nseen;
	v.total = run->total;
	if (r->report)
		r->report(r->ctx, &v);
}

static uint64_t run_id(enum rule_key_kind kind, uint64_t key)
{
	return key ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ULL);
}

/*
 * The run of the event's key: found, or started by this call.  A run that
 * starts at a call other than a first step, when the probes may have
 * missed its beginning, is partial.  NULL without memory.
 */
static struct run *run_of(struct rules *r, struct crule *c, const struct rule_event *ev,
			  uint64_t pos, enum rule_key_kind kind, uint64_t key)
{
	uint64_t id = run_id(kind, key);
	void **slot = rules_table__find(&c->runs, id);
	struct run *run = slot ? *slot : NULL;

	if (run)
		return run;
	run = calloc(1, sizeof(*run));
	if (!run || rules_table__put(&c->runs, id, run)) {
		free(run);
		return NULL;
	}
	run->key = key;
	run->kind = kind;
	run->first_ns = ev->ts_ns;
	if (r->attached_ns && !(pos & c->first) &&
	    (!c->r->timeout_ms || ev->ts_ns < r->attached_ns + c->r->timeout_ms * 1000000ull)) {
		run->partial = true;
		c->st.partial++;
	}
	key_text(run->text, sizeof(run->text), ev->key_kind, ev->key, ev->self, c->r->key_self,
		 ev->key_text);
	return run;
}

/* One call of a run: both automata take a step. */
static void run_step(const struct crule *c, struct run *run, const struct rule_event *ev,
		     uint64_t pos, int pat)
{
	uint64_t allowed, reach;

	if (run->nseen < RULES_MAX_SEEN)
		run->seen[run->nseen++] = (struct rule_seen){ .pat = pat, .tid = ev->tid,
			.agg_id = ev->agg_id, .ts_ns = ev->ts_ns, .stack = ev->stack };
	run->total++;
	run->last_ns = ev->ts_ns;
	allowed = run->started ? follow_of(c, run->exact, false) : c->first;
	if (!run->exact_dead) {
		if (pos & allowed) {
			run->exact = pos & allowed;
		} else {
			run->exact_dead = true;
			run->bad_at = run->nseen ? run->nseen - 1 : 0;
			if (run->total > RULES_MAX_SEEN)
				run->bad_at = RULES_MAX_SEEN;	/* past what is kept */
			run->bad_pat = pat;
			run->bad_expected = allowed;
		}
	}
	reach = run->started ? follow_of(c, run->skip, true) : c->reach0;
	if (!run->skip_dead) {
		if (pos & reach)
			run->skip = pos & reach;
		else
			run->skip_dead = true;
	}
	run->started = true;
}

static void feed_seq(struct rules *r, size_t ri, const struct rule_event *ev)
{
	struct crule *c = &r->c[ri];
	enum rule_key_kind kind = c->r->key_self ? RK_INT : ev->key_kind;
	uint64_t key = c->r->key_self ? ev->self : ev->key;
	struct run *run;
	uint64_t pos;
	int pat = -1;

	pos = event_pos(c, ev, &pat);
	if (!pos)
		return;
	c->st.events++;
	if (kind == RK_NONE) {
		c->st.unkeyed++;
		return;
	}
	run = run_of(r, c, ev, pos, kind, key);
	if (!run) {
		c->st.unkeyed++;
		return;
	}
	if (run->judged || run->partial) {
		/* a late call of a run reported as timed out, or of one begun before the probes */
		run->last_ns = ev->ts_ns;
		if (!(pos & c->has_follow))
			rules_table__del(&c->runs, run_id(kind, key));
		return;
	}
	run_step(c, run, ev, pos, pat);
	/* a call after which the rule allows nothing more ends the run */
	if (!(pos & c->has_follow)) {
		judge(r, ri, run, false, false);
		rules_table__del(&c->runs, run_id(kind, key));
	}
}

/* Which of the rule's roles the event's patterns have: a bound call (*pat: the first), a reset. */
static void iso_roles(const struct rule *ru, const struct rule_event *ev, bool *call,
		      bool *reset, int *pat)
{
	size_t k;

	*call = *reset = false;
	*pat = -1;
	for (k = 0; k < ev->npats; k++) {
		bool c = in_list(ru->calls, ru->ncalls, ev->pats[k]);

		*call |= c;
		*reset |= in_list(ru->resets, ru->nresets, ev->pats[k]);
		if (c && *pat < 0)
			*pat = ev->pats[k];
	}
}

/* Object o, bound to one value, is called with another: reported once. */
static void report_iso(struct rules *r, size_t ri, struct obj *o, const struct rule_event *ev,
		       const struct rule_seen *now)
{
	struct crule *c = &r->c[ri];
	struct rule_violation v;

	memset(&v, 0, sizeof(v));
	v.rule = ri;
	v.kind = VIOL_ISOLATION;
	v.got = now->pat;
	snprintf(v.key, sizeof(v.key), "0x%" PRIx64, ev->self);
	str_copy(v.value1, o->text, sizeof(v.value1));
	key_text(v.value2, sizeof(v.value2), ev->key_kind, ev->key, 0, false, ev->key_text);
	v.first = o->first;
	v.second = *now;
	o->reported = true;
	c->st.violations++;
	if (r->report)
		r->report(r->ctx, &v);
}

static void feed_iso(struct rules *r, size_t ri, const struct rule_event *ev)
{
	struct crule *c = &r->c[ri];
	struct rule_seen now;
	bool call, reset;
	struct obj *o;
	void **slot;
	int pat;

	iso_roles(c->r, ev, &call, &reset, &pat);
	if (reset)
		rules_table__del(&c->runs, ev->self);
	if (!call)
		return;
	c->st.events++;
	if (ev->key_kind == RK_NONE || !ev->self) {
		c->st.unkeyed++;
		return;
	}
	now = (struct rule_seen){ .pat = pat, .tid = ev->tid, .agg_id = ev->agg_id,
				  .ts_ns = ev->ts_ns, .stack = ev->stack };
	slot = rules_table__find(&c->runs, ev->self);
	if (!slot) {
		o = calloc(1, sizeof(*o));
		if (!o || rules_table__put(&c->runs, ev->self, o)) {
			free(o);
			c->st.unkeyed++;
			return;
		}
		o->key = ev->key;
		o->kind = ev->key_kind;
		o->first = now;
		key_text(o->text, sizeof(o->text), ev->key_kind, ev->key, 0, false, ev->key_text);
		c->st.runs++;
		return;
	}
	o = *slot;
	if (!o->reported && (o->kind != ev->key_kind || o->key != ev->key))
		report_iso(r, ri, o, ev, &now);
}

void rules__feed(struct rules *r, const struct rule_event *ev)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->c[i].r->kind == RULE_SEQUENCE)
			feed_seq(r, i, ev);
		else
			feed_iso(r, i, ev);
	}
}

static void sweep(struct rules *r, uint64_t now_ns, bool at_end)
{
	size_t i, k;

	for (i = 0; i < r->n; i++) {
		struct crule *c = &r->c[i];
		uint64_t tmo = c->r->timeout_ms * 1000000ull;

		if (c->r->kind != RULE_SEQUENCE || (!at_end && !tmo))
			continue;
		for (k = 0; k < c->runs.cap;) {
			struct run *run = c->runs.s[k].v;
			uint64_t since = run ? (run->judged ? run->last_ns : run->first_ns) : 0;
			bool late = run && tmo && now_ns > since && now_ns - since > tmo;

			if (!run || (!at_end && !late)) {
				k++;
				continue;
			}
			if (!run->judged && !run->partial)
				judge(r, i, run, late, at_end && !late);
			/*
			 * A timed-out run stays, judged, for another timeout: its late
			 * calls must not start a new run (and a second violation).
			 */
			if (!at_end && !run->judged && !run->partial) {
				run->judged = true;
				run->last_ns = now_ns;
				k++;
				continue;
			}
			/* the slot is refilled by a shifted entry: look at it again */
			rules_table__del_at(&c->runs, k);
		}
	}
}

void rules__tick(struct rules *r, uint64_t now_ns)
{
	sweep(r, now_ns, false);
}

void rules__finish(struct rules *r, uint64_t now_ns)
{
	sweep(r, now_ns, true);
}

void rules__stats(const struct rules *r, size_t rule, struct rule_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (rule >= r->n)
		return;
	*st = r->c[rule].st;
	st->open = r->c[rule].r->kind == RULE_SEQUENCE ? r->c[rule].runs.n : 0;
}

const char *rules__kind_name(enum viol_kind k)
{
	switch (k) {
	case VIOL_MISSING:
		return "missing";
	case VIOL_ORDER:
		return "order";
	case VIOL_INCOMPLETE:
		return "incomplete";
	case VIOL_ISOLATION:
		return "isolation";
	default:
		return "?";
	}
}
