// SPDX-License-Identifier: MIT
/*
 * pyscope check: a gate.  Exit 0 when no forbidden pattern was hit during
 * the whole armed window, 1 when one was, 2 on error.  Each first hit of a
 * forbidden pattern from a distinct call site and signature prints one
 * greppable line of evidence.  With rules in the pattern file (sequence and
 * isolation rules, sink/rules.c), every violation prints a VIOLATION line,
 * and counts like a forbidden hit; if a rule's call record was lost, the
 * verdict cannot be PASS (exit 3, "UNKNOWN").
 */
#include "cmd/cmds.h"
#include "model/model.h"
#include "sink/output.h"
#include "sink/report.h"
#include "sink/rules.h"
#include "session/session.h"
#include "util/util.h"
#include "model/model_result.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct check {
	const struct config *cfg;
	struct session *s;
	const struct patterns *ps;
	struct output *out;
	bool all_forbidden;		/* no pattern says "forbid": every one is */
	bool stop;
	/* rules */
	struct rules *rules;
	struct aggpats {
		bool done;
		int n;
		int pats[8];
	} *ap;				/* per aggregate: the rule patterns it counts for */
	uint64_t violations;
	uint64_t unknown_calls;		/* call records of an aggregate never announced */
};

static bool forbidden(const struct check *c, const struct pattern *p)
{
	return c->all_forbidden || p->forbid;
}

/* A new aggregate: one line of evidence per forbidden pattern it counts for. */
static void on_agg(void *ctx, const struct model *m, uint32_t id)
{
	struct check *c = ctx;
	const struct agg_info *a = model__agg(m, id);
	size_t i;

	if (!a)
		return;
	for (i = 0; i < c->ps->n; i++) {
		const struct pattern *p = &c->ps->v[i];

		if (!forbidden(c, p) || !model__agg_matches(m, a, p))
			continue;
		output__hit(c->out, m, session__meta(c->s), p, a);
		if (c->cfg->fail_fast)
			c->stop = true;
	}
}

static void on_violation(void *ctx, const struct rule_violation *v)
{
	struct check *c = ctx;

	c->violations++;
	if (c->cfg->fail_fast)
		c->stop = true;
	output__violation(c->out, session__model(c->s), session__meta(c->s), c->ps, v);
}

/* The rule patterns an aggregate counts for (cached: attribution is fixed once announced). */
static const struct aggpats *agg_pats(struct check *c, const struct model *m, uint32_t id)
{
	struct aggpats *ap;
	const struct agg_info *a;
	size_t i;

	if (id >= PS_MAX_AGGS || !(a = model__agg(m, id)))
		return NULL;
	ap = &c->ap[id];
	if (ap->done)
		return ap;
	ap->done = true;
	for (i = 0; i < c->ps->n && ap->n < (int)ARRAY_SIZE(ap->pats); i++)
		if (rules__wants(c->rules, i) && model__agg_matches(m, a, &c->ps->v[i]))
			ap->pats[ap->n++] = (int)i;
	return ap;
}

static void on_call(void *ctx, const struct model *m, const struct ps_ev_call *ev)
{
	struct check *c = ctx;
	const struct aggpats *ap = agg_pats(c, m, ev->agg_id);
	char text[PS_CAP_LEN + 1];
	struct rule_event re = { .ts_ns = ev->ts_ns, .tid = ev->tid, .agg_id = ev->agg_id,
				 .stack = ev->stack, .self = ev->self, .key = ev->keyval };

	if (!ap) {
		c->unknown_calls++;
		return;
	}
	if (!ap->n)
		return;
	if (ev->keyflags & PS_AGG_CAP_BIG)
		re.key_kind = RK_NONE;
	else if (ev->keyflags & PS_AGG_CAP_STR)
		re.key_kind = RK_STR;
	else if (ev->keyflags & PS_AGG_CAP_INT)
		re.key_kind = RK_INT;
	else if (ev->keyflags & PS_AGG_CAP_OTHER)
		re.key_kind = RK_OTHER;
	memcpy(text, ev->keytext, PS_CAP_LEN);
	text[PS_CAP_LEN] = '\0';
	str_sanitize(text);
	re.key_text = text;
	re.pats = ap->pats;
	re.npats = (size_t)ap->n;
	rules__feed(c->rules, &re);
}

static bool tick(void *ctx, struct session *s, uint64_t now)
{
	struct check *c = ctx;

	(void)s;
	if (c->rules)
		rules__tick(c->rules, now);
	return c->stop;
}

/* The rule engine, when the pattern file has rules: fed every call of their patterns. */
static int rules_on(struct check *c, struct model *m)
{
	int ret;

	if (!c->ps->nrules)
		return 0;
	c->ap = calloc(PS_MAX_AGGS, sizeof(*c->ap));
	ret = c->ap ? rules__new(&c->rules, c->ps, on_violation, c) : -ENOMEM;
	if (ret)
		return ret;
	model__set_call_hook(m, on_call, c);
	/* the probes are armed: runs may have begun before (not with -- CMD) */
	if (!session__launched(c->s))
		rules__set_attached(c->rules, now_ns());
	return 0;
}

/* After the session opened: what is forbidden, where the evidence goes, the rules. */
static int check_start(struct check *c)
{
	struct model *m = session__model(c->s);
	size_t i;
	int ret;

	c->ps = model__patterns(m);
	/* with rules, only patterns marked "forbid" are forbidden */
	c->all_forbidden = !c->ps->nrules;
	for (i = 0; i < c->ps->n; i++)
		c->all_forbidden &= !c->ps->v[i].forbid;
	ret = output__new(&c->out, c->cfg->format, session__out(c->s), false);
	if (ret)
		return ret;
	model__set_agg_hook(m, on_agg, c);
	return rules_on(c, m);
}

/* Are the rules' verdicts exact?  A lost call or aggregate record may hide or fake a violation. */
static bool rules_exact(const struct check *c, const struct model *m, char *reason, size_t n,
			bool *exact)
{
	size_t l;

	if (!c->rules)
		return true;
	if (c->unknown_calls) {
		l = strlen(reason);
		snprintf(reason + l, n - l, "; %" PRIu64 " rule call records of unknown aggregates",
			 c->unknown_calls);
		*exact = false;
	}
	return !model__counter(m, PS_CNT_CALL_LOST) && !model__counter(m, PS_CNT_RB_LOST) &&
	       !model__counter(m, PS_CNT_AGG_FULL) && !model__counter(m, PS_CNT_TSTATE_MISS) &&
	       !c->unknown_calls && !model__unresolved(m);
}

/* A verdict per forbidden pattern; how many were hit. */
static uint64_t pattern_verdicts(const struct check *c, const struct model *m)
{
	uint64_t hit = 0;
	size_t i;

	for (i = 0; i < c->ps->n; i++) {
		const struct pattern *p = &c->ps->v[i];
		struct pat_result r;

		if (!forbidden(c, p) || model__result(m, i, &r))
			continue;
		hit += r.count > 0;
		output__verdict(c->out, p, &r, model__coverage(m, i));
		pat_result__free(&r);
	}
	return hit;
}

/* A verdict per rule; false if a rule judged nothing of some calls. */
static bool rule_verdicts(const struct check *c)
{
	bool all_keyed = true;
	size_t i;

	for (i = 0; c->rules && i < c->ps->nrules; i++) {
		const struct rule *r = &c->ps->rules[i];
		struct rule_stats st;

		rules__stats(c->rules, i, &st);
		/* a misspelt key judges nothing: say so rather than pass quietly */
		if (st.unkeyed) {
			all_keyed = false;
			warn("warning: rule %s: %" PRIu64 " of %" PRIu64 " calls had no usable key (no "
			     "parameter '%s', or not read); they were not judged", r->name, st.unkeyed,
			     st.events, r->key_self ? "self" : r->key);
		}
		output__rule(c->out, r, &st);
	}
	return all_keyed;
}

/* The traced time is over: judge, print the verdicts; the exit status. */
static int check_finish(struct check *c)
{
	struct model *m = session__model(c->s);
	const struct run_meta *meta = session__meta(c->s);
	struct check_result res;
	char reason[768];

	session__finish(c->s);
	/*
	 * Runs still open when the target exited are judged (incomplete unless
	 * the rule says otherwise); when the check stopped first (-d, a signal,
	 * --fail-fast), they may still complete: they are only counted as open.
	 */
	if (c->rules && meta->target_exited && !c->stop)
		rules__finish(c->rules, now_ns());
	res.violations = c->violations;
	res.exact = report_exact(m, reason, sizeof(reason));
	res.rules_exact = rules_exact(c, m, reason, sizeof(reason), &res.exact);
	res.reason = reason;
	res.hit_patterns = pattern_verdicts(c, m);
	res.rules_exact &= rule_verdicts(c);
	res.status = res.hit_patterns || res.violations ? 1 : !res.rules_exact ? 3 : 0;
	output__result(c->out, meta, &res);
	return res.status;
}

int cmd_check(const struct config *cfg)
{
	struct check c = { .cfg = cfg };
	struct session_opts so;
	int ret, status = 2;

	cmd_session_opts(cfg, &so);
	so.count_only = true;
	so.rules = true;
	if (session__open(&c.s, &so))
		return 2;
	ret = check_start(&c);
	if (ret) {
		diag_error(so.diag, "out of memory");
		goto cleanup;
	}
	ret = session__run(c.s, tick, &c);
	if (ret)
		goto cleanup;
	status = check_finish(&c);
	session__warn_unmatched(c.s);
cleanup:
	session__close(c.s);
	output__free(c.out);
	rules__free(c.rules);
	free(c.ap);
	return status;
}
