// SPDX-License-Identifier: MIT
/*
 * pyscope check: a gate.  Exit 0 when no forbidden pattern was hit during
 * the whole armed window, 1 when one was, 2 on error.  Each first hit of a
 * forbidden pattern from a distinct call site and signature prints one
 * greppable line of evidence.
 */
#include "cmds.h"
#include "model.h"
#include "report.h"
#include "session.h"
#include "util.h"

#include <cJSON.h>
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

static bool tick(void *ctx, struct session *s, uint64_t now)
{
	struct check *c = ctx;

	(void)s;
	(void)now;
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
	cJSON *root = NULL, *pats = NULL;
	uint64_t hit_patterns = 0;
	char reason[512];
	size_t i;
	int ret, status = 2;
	bool exact;

	ret = session__open(&s, cfg, true);
	if (ret)
		return 2;
	c.s = s;
	m = session__model(s);
	c.ps = model__patterns(m);
	c.all_forbidden = true;
	for (i = 0; i < c.ps->n; i++)
		c.all_forbidden &= !c.ps->v[i].forbid;
	if (cfg->format != FMT_TEXT)
		c.jhits = cJSON_CreateArray();
	model__set_agg_hook(m, on_agg, &c);
	ret = session__run(s, tick, &c);
	if (ret)
		goto cleanup;
	session__finish(s);
	meta = session__meta(s);
	exact = report_exact(m, reason, sizeof(reason));
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
		pat_result_free(&r);
	}
	status = hit_patterns ? 1 : 0;
	if (root) {
		char *txt;

		cJSON_AddStringToObject(root, "result", status ? "fail" : "pass");
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
		fprintf(session__out(s), "RESULT %s: %" PRIu64 " forbidden pattern(s) hit in %.1fs%s%s\n",
			status ? "FAIL" : "PASS", hit_patterns, (double)meta->duration_ns / 1e9,
			meta->target_exited ? " (target exited)" : "",
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
	return ret ? 2 : status;
}
