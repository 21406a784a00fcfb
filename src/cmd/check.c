// SPDX-License-Identifier: MIT
/*
 * pyscope check: a gate.  Exit 0 when no forbidden pattern was hit during
 * the whole armed window, 1 when one was, 2 on error.  Each first hit of a
 * forbidden pattern from a distinct call site and signature prints one
 * greppable line of evidence.  With rules in the pattern file (sequence and
 * isolation rules, src/rules.c), every violation prints a VIOLATION line,
 * and counts like a forbidden hit; if a rule's call record was lost, the
 * verdict cannot be PASS (exit 3, "UNKNOWN").
 */
#include "cmd/cmds.h"
#include "model/model.h"
#include "model/model_result.h"
#include "model/model_stacks.h"
#include "model/model_text.h"
#include "sink/report.h"
#include "sink/rules.h"
#include "session/session.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct check {
	const struct config *cfg;
	struct session *s;
	const struct patterns *ps;
	bool all_forbidden;		/* no pattern says "forbid": every one is */
	bool stop;
	uint64_t hits;			/* evidence lines */
	cJSON *jhits;
	/* rules */
	struct rules *rules;
	struct aggpats {
		bool done;
		int n;
		int pats[8];
	} *ap;				/* per aggregate: the rule patterns it counts for */
	uint64_t violations;
	uint64_t unknown_calls;		/* call records of an aggregate never announced */
	cJSON *jviol;
};

static bool forbidden(const struct check *c, const struct pattern *p)
{
	return c->all_forbidden || p->forbid;
}

static void iso_time(uint64_t wall, char *buf, size_t n)
{
	time_t sec = (time_t)(wall / 1000000000ull);
	struct tm tm;

	char base[32];
	size_t len;

	gmtime_r(&sec, &tm);
	len = strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	base[len] = '\0';
	snprintf(buf, n, "%s.%06uZ", base, (unsigned)(wall % 1000000000ull / 1000));
}

static void on_agg(void *ctx, const struct model *m, uint32_t id)
{
	struct check *c = ctx;
	const struct agg_info *a = model__agg(m, id);
	size_t i;

	if (!a)
		return;
	for (i = 0; i < c->ps->n; i++) {
		const struct pattern *p = &c->ps->v[i];
		char when[80], where[PS_FILE_LEN + 16], func[PS_QUAL_LEN], sig[512];
		const struct run_meta *meta = session__meta(c->s);

		if (!forbidden(c, p) || !model__agg_matches(m, a, p))
			continue;
		iso_time(session__wall(c->s, a->first_ns), when, sizeof(when));
		model__agg_site(m, a, where, sizeof(where), func, sizeof(func));
		model__agg_sig(a, p->skip_self, sig, sizeof(sig));
		c->hits++;
		if (c->jhits) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "pattern", p->name);
			cJSON_AddNumberToObject(o, "pid", meta->pid);
			cJSON_AddNumberToObject(o, "tid", a->first_tid);
			cJSON_AddStringToObject(o, "time", when);
			cJSON_AddStringToObject(o, "site", where);
			cJSON_AddStringToObject(o, "function", func);
			cJSON_AddStringToObject(o, "args", sig);
			cJSON_AddItemToArray(c->jhits, o);
		} else {
			fprintf(session__out(c->s), "HIT pattern=%s pid=%d tid=%u time=%s site=%s "
				"function=%s args=%s\n", p->name, meta->pid, a->first_tid, when, where,
				func[0] ? func : "-", sig);
			fflush(session__out(c->s));
		}
		if (c->cfg->fail_fast)
			c->stop = true;
	}
}

/* "file:line in func" of an aggregate's call site. */
static void site_of(const struct model *m, uint32_t agg_id, char *where, size_t wlen, char *func,
		    size_t flen)
{
	const struct agg_info *a = model__agg(m, agg_id);

	str_copy(where, "?", wlen);
	str_copy(func, "-", flen);
	if (a)
		model__agg_site(m, a, where, wlen, func, flen);
	if (!func[0])
		str_copy(func, "-", flen);
}

static const char *pat_name(const struct check *c, int pat)
{
	return pat >= 0 && (size_t)pat < c->ps->n ? c->ps->v[pat].name : "-";
}

/* Names of a set of patterns, comma-separated. */
static void pat_set(const struct check *c, const uint64_t *set, char *buf, size_t n)
{
	struct strbuf sb;
	size_t i;
	bool any = false;

	sb_init(&sb);
	for (i = 0; i < c->ps->n && i < PAT_MAX; i++) {
		if (!(set[i / 64] & (1ULL << (i % 64))))
			continue;
		sb_printf(&sb, "%s%s", any ? "," : "", c->ps->v[i].name);
		any = true;
	}
	str_copy(buf, any && sb.buf && !sb.oom ? sb.buf : "-", n);
	sb_free(&sb);
}

static cJSON *seen_json(const struct check *c, const struct rule_seen *e)
{
	const struct model *m = session__model(c->s);
	char when[80], where[PS_FILE_LEN + 16], func[PS_QUAL_LEN];
	cJSON *o = cJSON_CreateObject();

	iso_time(session__wall(c->s, e->ts_ns), when, sizeof(when));
	site_of(m, e->agg_id, where, sizeof(where), func, sizeof(func));
	cJSON_AddStringToObject(o, "pattern", pat_name(c, e->pat));
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "tid", e->tid);
	cJSON_AddStringToObject(o, "site", where);
	cJSON_AddStringToObject(o, "function", func);
	return o;
}

static void seen_text(const struct check *c, FILE *out, const char *tag, const struct rule_seen *e)
{
	const struct model *m = session__model(c->s);
	char when[80], where[PS_FILE_LEN + 16], func[PS_QUAL_LEN];

	iso_time(session__wall(c->s, e->ts_ns), when, sizeof(when));
	site_of(m, e->agg_id, where, sizeof(where), func, sizeof(func));
	fprintf(out, "  %s %s pattern=%s tid=%u site=%s function=%s\n", tag, when,
		pat_name(c, e->pat), e->tid, where, func);
}

/* The call path of a call: its frames with --paths, else its call site. */
static void path_out(const struct check *c, FILE *out, cJSON *arr, const struct rule_seen *e)
{
	const struct model *m = session__model(c->s);
	const struct stack_info *si = e->stack ? model__stack(m, e->stack) : NULL;
	char buf[PS_QUAL_LEN + PS_FILE_LEN + 32], func[PS_QUAL_LEN];
	uint32_t i;

	if (!si) {
		site_of(m, e->agg_id, buf, sizeof(buf), func, sizeof(func));
		if (arr)
			cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
		else
			fprintf(out, "    at %s in %s\n", buf, func);
		return;
	}
	for (i = 0; i < si->n && i < PS_MAX_DEPTH; i++) {
		model__frame_text(m, &si->frames[i], buf, sizeof(buf));
		if (arr)
			cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
		else
			fprintf(out, "    at %s\n", buf);
	}
}

static void on_violation(void *ctx, const struct rule_violation *v)
{
	struct check *c = ctx;
	const struct rule *r = &c->ps->rules[v->rule];
	FILE *out = session__out(c->s);
	char expected[512];
	size_t i;

	c->violations++;
	if (c->cfg->fail_fast)
		c->stop = true;
	pat_set(c, v->expected, expected, sizeof(expected));
	if (c->jviol) {
		cJSON *o = cJSON_CreateObject(), *a;

		cJSON_AddStringToObject(o, "rule", r->name);
		cJSON_AddStringToObject(o, "kind", rules__kind_name(v->kind));
		cJSON_AddStringToObject(o, "key", v->key);
		if (v->kind == VIOL_ISOLATION) {
			cJSON_AddStringToObject(o, "value1", v->value1);
			cJSON_AddStringToObject(o, "value2", v->value2);
			cJSON_AddItemToObject(o, "first", seen_json(c, &v->first));
			cJSON_AddItemToObject(o, "second", seen_json(c, &v->second));
			a = cJSON_AddArrayToObject(o, "first_path");
			path_out(c, out, a, &v->first);
			a = cJSON_AddArrayToObject(o, "second_path");
			path_out(c, out, a, &v->second);
		} else {
			cJSON_AddStringToObject(o, "got", v->got >= 0 ? pat_name(c, v->got) : "");
			cJSON_AddStringToObject(o, "expected", expected);
			cJSON_AddNumberToObject(o, "calls", (double)v->total);
			cJSON_AddBoolToObject(o, "timed_out", v->timed_out);
			cJSON_AddBoolToObject(o, "open_at_end", v->at_end);
			a = cJSON_AddArrayToObject(o, "seen");
			for (i = 0; i < v->nseen; i++)
				cJSON_AddItemToArray(a, seen_json(c, &v->seen[i]));
			a = cJSON_AddArrayToObject(o, "last_path");
			if (v->nseen)
				path_out(c, out, a, &v->seen[v->nseen - 1]);
		}
		cJSON_AddItemToArray(c->jviol, o);
		return;
	}
	if (v->kind == VIOL_ISOLATION) {
		char w1[PS_FILE_LEN + 16], w2[PS_FILE_LEN + 16], f[PS_QUAL_LEN];

		site_of(session__model(c->s), v->first.agg_id, w1, sizeof(w1), f, sizeof(f));
		site_of(session__model(c->s), v->second.agg_id, w2, sizeof(w2), f, sizeof(f));
		fprintf(out, "VIOLATION rule=%s kind=isolation key=%s value1=%s value2=%s site1=%s "
			"site2=%s\n", r->name, v->key, v->value1, v->value2, w1, w2);
		seen_text(c, out, "first", &v->first);
		path_out(c, out, NULL, &v->first);
		seen_text(c, out, "second", &v->second);
		path_out(c, out, NULL, &v->second);
	} else {
		fprintf(out, "VIOLATION rule=%s kind=%s key=%s got=%s expected=%s calls=%" PRIu64
			"%s\n", r->name, rules__kind_name(v->kind), v->key,
			v->got >= 0 ? pat_name(c, v->got) : "-", expected, v->total,
			v->timed_out ? " timed_out" : v->at_end ? " open_at_end" : "");
		for (i = 0; i < v->nseen; i++)
			seen_text(c, out, i == v->at && v->kind != VIOL_INCOMPLETE ? "BAD " : "call",
				  &v->seen[i]);
		if (v->total > v->nseen)
			fprintf(out, "  ... %" PRIu64 " more call(s)\n", v->total - v->nseen);
		if (v->nseen)
			path_out(c, out, NULL, &v->seen[v->nseen - 1]);
	}
	fflush(out);
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

static const char *mech_str(enum cover_mech m)
{
	return m == COVER_BREAKPOINT ? "breakpoint" : m == COVER_UPROBE ? "uprobe" :
	       m == COVER_SAMPLED ? "samples" : "not armed";
}

int cmd_check(const struct config *cfg)
{
	struct check c = { .cfg = cfg };
	struct session *s = NULL;
	struct model *m;
	const struct run_meta *meta;
	cJSON *root = NULL, *pats = NULL, *rules = NULL;
	uint64_t hit_patterns = 0;
	char reason[768];
	size_t i;
	int ret, status = 2;
	bool exact, rules_exact = true;

	ret = session__open(&s, cfg, true);
	if (ret)
		return 2;
	c.s = s;
	m = session__model(s);
	c.ps = model__patterns(m);
	/* with rules, only patterns marked "forbid" are forbidden */
	c.all_forbidden = !c.ps->nrules;
	for (i = 0; i < c.ps->n; i++)
		c.all_forbidden &= !c.ps->v[i].forbid;
	if (cfg->format != FMT_TEXT) {
		c.jhits = cJSON_CreateArray();
		c.jviol = cJSON_CreateArray();
	}
	model__set_agg_hook(m, on_agg, &c);
	if (c.ps->nrules) {
		c.ap = calloc(PS_MAX_AGGS, sizeof(*c.ap));
		ret = c.ap ? rules__new(&c.rules, c.ps, on_violation, &c) : -ENOMEM;
		if (ret) {
			report_error(cfg, "out of memory");
			goto cleanup;
		}
		model__set_call_hook(m, on_call, &c);
		/* the probes are armed: runs may have begun before (not with -- CMD) */
		if (!session__launched(s))
			rules__set_attached(c.rules, now_ns());
	}
	ret = session__run(s, tick, &c);
	if (ret)
		goto cleanup;
	session__finish(s);
	meta = session__meta(s);
	/*
	 * Runs still open when the target exited are judged (incomplete unless
	 * the rule says otherwise); when the check stopped first (-d, a signal,
	 * --fail-fast), they may still complete: they are only counted as open.
	 */
	if (c.rules && meta->target_exited && !c.stop)
		rules__finish(c.rules, now_ns());
	exact = report_exact(m, reason, sizeof(reason));
	if (c.rules) {
		/* a lost call or aggregate record may hide or fake a violation */
		rules_exact = !model__counter(m, PS_CNT_CALL_LOST) &&
			      !model__counter(m, PS_CNT_RB_LOST) &&
			      !model__counter(m, PS_CNT_AGG_FULL) &&
			      !model__counter(m, PS_CNT_TSTATE_MISS) && !c.unknown_calls &&
			      !model__unresolved(m);
		if (c.unknown_calls) {
			size_t l = strlen(reason);

			snprintf(reason + l, sizeof(reason) - l, "; %" PRIu64 " rule call records of "
				 "unknown aggregates", c.unknown_calls);
			exact = false;
		}
	}
	if (c.jhits) {
		root = cJSON_CreateObject();
		pats = cJSON_AddArrayToObject(root, "patterns");
	}
	for (i = 0; i < c.ps->n; i++) {
		const struct pattern *p = &c.ps->v[i];
		const struct coverage *cv = model__coverage(m, i);
		struct pat_result r;

		if (!forbidden(&c, p) || model__result(m, i, &r))
			continue;
		hit_patterns += r.count > 0;
		if (pats) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name", p->name);
			cJSON_AddStringToObject(o, "spec", p->spec);
			cJSON_AddNumberToObject(o, "count", (double)r.count);
			cJSON_AddStringToObject(o, "mechanism", mech_str(cv->mech));
			cJSON_AddBoolToObject(o, "armed", cv->mech != COVER_NONE);
			cJSON_AddNumberToObject(o, "armed_after_s", (double)cv->armed_ns / 1e9);
			if (cv->mech == COVER_NONE)
				cJSON_AddStringToObject(o, "why", cv->why);
			cJSON_AddItemToArray(pats, o);
		} else {
			fprintf(session__out(s), "PATTERN %s calls=%" PRIu64 " mechanism=%s", p->name,
				r.count, mech_str(cv->mech));
			if (cv->mech == COVER_NONE)
				fprintf(session__out(s), " (%s)", cv->why);
			else if (cv->partial)
				fprintf(session__out(s), " armed_after=%.3fs",
					(double)cv->armed_ns / 1e9);
			fprintf(session__out(s), "\n");
		}
		pat_result__free(&r);
	}
	for (i = 0; c.rules && i < c.ps->nrules; i++) {
		const struct rule *r = &c.ps->rules[i];
		struct rule_stats st;

		rules__stats(c.rules, i, &st);
		/* a misspelt key judges nothing: say so rather than pass quietly */
		if (st.unkeyed)
			rules_exact = false;
		if (st.unkeyed)
			warn("warning: rule %s: %" PRIu64 " of %" PRIu64 " calls had no usable key (no "
			     "parameter '%s', or not read); they were not judged", r->name, st.unkeyed,
			     st.events, r->key_self ? "self" : r->key);
		if (root) {
			cJSON *o = cJSON_CreateObject();

			if (!rules)
				rules = cJSON_AddArrayToObject(root, "rules");
			cJSON_AddStringToObject(o, "name", r->name);
			cJSON_AddStringToObject(o, "kind", r->kind == RULE_SEQUENCE ? "sequence" :
						"isolation");
			cJSON_AddNumberToObject(o, "calls", (double)st.events);
			cJSON_AddNumberToObject(o, r->kind == RULE_SEQUENCE ? "runs" : "objects",
						(double)st.runs);
			cJSON_AddNumberToObject(o, "violations", (double)st.violations);
			cJSON_AddNumberToObject(o, "unkeyed", (double)st.unkeyed);
			cJSON_AddNumberToObject(o, "open", (double)st.open);
			cJSON_AddNumberToObject(o, "partial", (double)st.partial);
			cJSON_AddItemToArray(rules, o);
		} else {
			fprintf(session__out(s), "RULE %s kind=%s calls=%" PRIu64 " %s=%" PRIu64
				" violations=%" PRIu64 " unkeyed=%" PRIu64 " open=%" PRIu64 " partial=%"
				PRIu64 "\n", r->name, r->kind == RULE_SEQUENCE ? "sequence" :
				"isolation", st.events, r->kind == RULE_SEQUENCE ? "runs" : "objects",
				st.runs, st.violations, st.unkeyed, st.open, st.partial);
		}
	}
	status = hit_patterns || c.violations ? 1 : !rules_exact ? 3 : 0;
	if (root) {
		char *txt;

		cJSON_AddStringToObject(root, "result", status == 1 ? "fail" : status == 3 ?
					"unknown" : "pass");
		cJSON_AddNumberToObject(root, "violation_count", (double)c.violations);
		cJSON_AddBoolToObject(root, "rules_exact", rules_exact);
		cJSON_AddItemToObject(root, "violations", c.jviol);
		c.jviol = NULL;
		cJSON_AddNumberToObject(root, "pid", meta->pid);
		cJSON_AddStringToObject(root, "python", meta->python);
		cJSON_AddNumberToObject(root, "duration_s", (double)meta->duration_ns / 1e9);
		cJSON_AddBoolToObject(root, "target_exited", meta->target_exited);
		cJSON_AddBoolToObject(root, "exact", exact);
		cJSON_AddStringToObject(root, "exact_reason", reason);
		cJSON_AddItemToObject(root, "hits", c.jhits);
		c.jhits = NULL;
		txt = cJSON_Print(root);
		if (txt)
			fprintf(session__out(s), "%s\n", txt);
		free(txt);
	} else {
		fprintf(session__out(s), "RESULT %s: %" PRIu64 " forbidden pattern(s) hit, %" PRIu64
			" rule violation(s) in %.1fs%s%s\n",
			status == 1 ? "FAIL" : status == 3 ? "UNKNOWN" : "PASS", hit_patterns,
			c.violations, (double)meta->duration_ns / 1e9,
			meta->target_exited ? " (target exited)" : "",
			!rules_exact ? " (NOT EXACT: rule calls lost or not judged, no PASS possible)" :
			exact ? "" : " (NOT EXACT: see -v)");
		if (!exact)
			warn("not exact: %s", reason);
	}
	fflush(session__out(s));
cleanup:
	if (!ret)
		session__warn_unmatched(s);
	session__close(s);
	cJSON_Delete(root);
	cJSON_Delete(c.jhits);
	cJSON_Delete(c.jviol);
	rules__free(c.rules);
	free(c.ap);
	return ret ? 2 : status;
}
