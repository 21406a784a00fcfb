// SPDX-License-Identifier: MIT
/* The text output: tables for people, greppable lines from pyscope check. */
#include "sink/output_ops.h"
#include "model/cover_name.h"
#include "util/util.h"
#include "model/model_stacks.h"
#include "model/model_result.h"
#include "model/model_text.h"

#include <inttypes.h>
#include <stdlib.h>

static void text_report(struct output *o, const struct model *m, const struct run_meta *meta,
			const struct report_opts *ro)
{
	report_text(o->f, m, meta, ro);
	if (ro->migration)
		report_migration_text(o->f, m, meta);
}

static void text_interval(struct output *o, const struct model *m, const struct run_meta *meta,
			  const struct report_opts *ro)
{
	fprintf(o->f, "\n-- %.1fs --\n", (double)meta->duration_ns / 1e9);
	report_text(o->f, m, meta, ro);
}

static void text_profile(struct output *o, const struct model *m, const struct run_meta *meta,
			 const struct report_opts *ro, const struct prof_opts *po)
{
	if (po->sampled)
		fprintf(o->f, "pyscope: pid %d, Python %s, %.1fs, pattern calls found by the "
			"samples (none counted or timed)\n", meta->pid, meta->python,
			(double)meta->duration_ns / 1e9);
	else
		report_text(o->f, m, meta, ro);
	report_profile_text(o->f, m, po);
}

static void multi_totals(FILE *out, const struct multi_report *mr)
{
	const struct patterns *ps = model__patterns(mr->procs[0].m);
	uint64_t *count = calloc(ps->n ? ps->n : 1, sizeof(*count));
	uint64_t *timed = calloc(ps->n ? ps->n : 1, sizeof(*timed));
	size_t i;
	bool exact;

	if (!count || !timed)
		goto cleanup;
	exact = output_multi_totals(mr, count, timed, ps->n);
	fprintf(out, "TOTAL over %zu process(es)\n", mr->n);
	fprintf(out, "%-28s %10s %10s\n", "PATTERN", "CALLS", "TIMED");
	for (i = 0; i < ps->n; i++)
		fprintf(out, "%-28.28s %10" PRIu64 " %10" PRIu64 "\n", ps->v[i].name, count[i],
			timed[i]);
	for (i = 0; i < mr->nskipped; i++)
		fprintf(out, "not traced: pid %d (started by pid %d): %s\n", mr->skipped[i].pid,
			mr->skipped[i].parent, mr->skipped[i].why);
	if (mr->lost)
		fprintf(out, "not traced: %u more process(es) (too many at once)\n", mr->lost);
	fprintf(out, "exact: %s\n", exact ? "yes (every process exact while traced)" :
		"NO (see each process; children are counted from when they were attached)");
cleanup:
	free(count);
	free(timed);
}

static void text_multi(struct output *o, const struct multi_report *mr,
		       const struct report_opts *ro)
{
	size_t i;

	for (i = 0; i < mr->n; i++) {
		report_text(o->f, mr->procs[i].m, mr->procs[i].meta, ro);
		fprintf(o->f, "\n");
	}
	multi_totals(o->f, mr);
}

static void text_hit(struct output *o, const struct model *m, const struct run_meta *meta,
		     const struct pattern *p, const struct agg_info *a)
{
	struct hit_words w;

	output_hit_words(m, meta, p, a, &w);
	fprintf(o->f, "HIT pattern=%s pid=%d tid=%u time=%s site=%s function=%s args=%s\n",
		p->name, meta->pid, a->first_tid, w.when, w.where, w.func[0] ? w.func : "-", w.sig);
	fflush(o->f);
}

static void seen_line(FILE *out, const struct model *m, const struct run_meta *meta,
		      const struct patterns *ps, const char *tag, const struct rule_seen *e)
{
	char when[80], where[PS_FILE_LEN + 16], func[PS_QUAL_LEN];

	output_iso_time(meta, e->ts_ns, when, sizeof(when));
	output_site(m, e->agg_id, where, sizeof(where), func, sizeof(func));
	fprintf(out, "  %s %s pattern=%s tid=%u site=%s function=%s\n", tag, when,
		output_pat_name(ps, e->pat), e->tid, where, func);
}

/* The call path of a call: its frames with --paths, else its call site. */
static void path_lines(FILE *out, const struct model *m, const struct rule_seen *e)
{
	const struct stack_info *si = e->stack ? model__stack(m, e->stack) : NULL;
	char buf[PS_QUAL_LEN + PS_FILE_LEN + 32], func[PS_QUAL_LEN];
	uint32_t i;

	if (!si) {
		output_site(m, e->agg_id, buf, sizeof(buf), func, sizeof(func));
		fprintf(out, "    at %s in %s\n", buf, func);
		return;
	}
	for (i = 0; i < si->n && i < PS_MAX_DEPTH; i++) {
		model__frame_text(m, &si->frames[i], buf, sizeof(buf));
		fprintf(out, "    at %s\n", buf);
	}
}

static void isolation_lines(FILE *out, const struct model *m, const struct run_meta *meta,
			    const struct patterns *ps, const struct rule_violation *v)
{
	char w1[PS_FILE_LEN + 16], w2[PS_FILE_LEN + 16], f[PS_QUAL_LEN];

	output_site(m, v->first.agg_id, w1, sizeof(w1), f, sizeof(f));
	output_site(m, v->second.agg_id, w2, sizeof(w2), f, sizeof(f));
	fprintf(out, "VIOLATION rule=%s kind=isolation key=%s value1=%s value2=%s site1=%s "
		"site2=%s\n", ps->rules[v->rule].name, v->key, v->value1, v->value2, w1, w2);
	seen_line(out, m, meta, ps, "first", &v->first);
	path_lines(out, m, &v->first);
	seen_line(out, m, meta, ps, "second", &v->second);
	path_lines(out, m, &v->second);
}

static void sequence_lines(FILE *out, const struct model *m, const struct run_meta *meta,
			   const struct patterns *ps, const struct rule_violation *v)
{
	char expected[512];
	size_t i;

	output_pat_set(ps, v->expected, expected, sizeof(expected));
	fprintf(out, "VIOLATION rule=%s kind=%s key=%s got=%s expected=%s calls=%" PRIu64 "%s\n",
		ps->rules[v->rule].name, rules__kind_name(v->kind), v->key,
		v->got >= 0 ? output_pat_name(ps, v->got) : "-", expected, v->total,
		v->timed_out ? " timed_out" : v->at_end ? " open_at_end" : "");
	for (i = 0; i < v->nseen; i++)
		seen_line(out, m, meta, ps, i == v->at && v->kind != VIOL_INCOMPLETE ? "BAD " : "call",
			  &v->seen[i]);
	if (v->total > v->nseen)
		fprintf(out, "  ... %" PRIu64 " more call(s)\n", v->total - v->nseen);
	if (v->nseen)
		path_lines(out, m, &v->seen[v->nseen - 1]);
}

static void text_violation(struct output *o, const struct model *m, const struct run_meta *meta,
			   const struct patterns *ps, const struct rule_violation *v)
{
	if (v->kind == VIOL_ISOLATION)
		isolation_lines(o->f, m, meta, ps, v);
	else
		sequence_lines(o->f, m, meta, ps, v);
	fflush(o->f);
}

static void text_verdict(struct output *o, const struct pattern *p, const struct pat_result *r,
			 const struct coverage *cv)
{
	fprintf(o->f, "PATTERN %s calls=%" PRIu64 " mechanism=%s", p->name, r->count,
		cover_mech_name(cv->mech, COVER_TEXT_CHECK));
	if (cv->mech == COVER_NONE)
		fprintf(o->f, " (%s)", cv->why);
	else if (cv->partial)
		fprintf(o->f, " armed_after=%.3fs", (double)cv->armed_ns / 1e9);
	fprintf(o->f, "\n");
}

static void text_rule(struct output *o, const struct rule *r, const struct rule_stats *st)
{
	bool seq = r->kind == RULE_SEQUENCE;

	fprintf(o->f, "RULE %s kind=%s calls=%" PRIu64 " %s=%" PRIu64 " violations=%" PRIu64
		" unkeyed=%" PRIu64 " open=%" PRIu64 " partial=%" PRIu64 "\n", r->name,
		seq ? "sequence" : "isolation", st->events, seq ? "runs" : "objects", st->runs,
		st->violations, st->unkeyed, st->open, st->partial);
}

static void text_result(struct output *o, const struct run_meta *meta,
			const struct check_result *res)
{
	fprintf(o->f, "RESULT %s: %" PRIu64 " forbidden pattern(s) hit, %" PRIu64
		" rule violation(s) in %.1fs%s%s\n",
		res->status == 1 ? "FAIL" : res->status == 3 ? "UNKNOWN" : "PASS",
		res->hit_patterns, res->violations, (double)meta->duration_ns / 1e9,
		meta->target_exited ? " (target exited)" : "",
		!res->rules_exact ? " (NOT EXACT: rule calls lost or not judged, no PASS possible)" :
		res->exact ? "" : " (NOT EXACT: see -v)");
	if (!res->exact)
		warn("not exact: %s", res->reason);
}

const struct output_ops output_text_ops = {
	.report = text_report,
	.interval = text_interval,
	.profile = text_profile,
	.multi = text_multi,
	.hit = text_hit,
	.violation = text_violation,
	.verdict = text_verdict,
	.rule = text_rule,
	.result = text_result,
};
