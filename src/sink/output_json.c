// SPDX-License-Identifier: MIT
/* The JSON output (docs/report-schema.json): one document per report, or per line. */
#include "sink/output_ops.h"
#include "model/cover_name.h"
#include "util/json.h"
#include "util/util.h"
#include "model/model_stacks.h"
#include "model/model_result.h"
#include "model/model_text.h"

#include <stdlib.h>

static void json_report(struct output *o, const struct model *m, const struct run_meta *meta,
			const struct report_opts *ro)
{
	cJSON *root = report_json(m, meta, ro);

	if (root && ro->migration)
		cJSON_AddItemToObject(root, "migration", report_migration_json(m, meta));
	json_emit(o->f, root, o->lines);
}

static void json_interval(struct output *o, const struct model *m, const struct run_meta *meta,
			  const struct report_opts *ro)
{
	json_emit(o->f, report_json(m, meta, ro), true);
}

static void json_profile(struct output *o, const struct model *m, const struct run_meta *meta,
			 const struct report_opts *ro, const struct prof_opts *po)
{
	struct report_opts jo = *ro;
	cJSON *root;

	/* --sampled: calls were not counted; no count is better than a 0 */
	jo.no_patterns = po->sampled;
	root = report_json(m, meta, &jo);
	if (root) {
		cJSON_AddStringToObject(root, "windows", po->sampled ? "sampled" : "timed");
		cJSON_AddItemToObject(root, "profile", report_profile_json(m, po));
	}
	json_emit(o->f, root, o->lines);
}

static cJSON *multi_total(const struct multi_report *mr, const struct patterns *ps,
			  const uint64_t *count, const uint64_t *timed, bool exact)
{
	cJSON *tot = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddNumberToObject(tot, "processes", (double)mr->n);
	cJSON_AddBoolToObject(tot, "exact", exact);
	arr = cJSON_AddArrayToObject(tot, "patterns");
	for (i = 0; i < ps->n; i++) {
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "name", ps->v[i].name);
		cJSON_AddNumberToObject(p, "count", (double)count[i]);
		cJSON_AddNumberToObject(p, "timed", (double)timed[i]);
		cJSON_AddItemToArray(arr, p);
	}
	return tot;
}

static cJSON *multi_skipped(const struct multi_report *mr)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < mr->nskipped; i++) {
		cJSON *p = cJSON_CreateObject();

		cJSON_AddNumberToObject(p, "pid", mr->skipped[i].pid);
		cJSON_AddNumberToObject(p, "parent", mr->skipped[i].parent);
		cJSON_AddStringToObject(p, "reason", mr->skipped[i].why);
		cJSON_AddItemToArray(arr, p);
	}
	return arr;
}

static cJSON *multi_json(const struct multi_report *mr, const struct report_opts *ro)
{
	const struct patterns *ps = model__patterns(mr->procs[0].m);
	cJSON *root = cJSON_CreateObject(), *procs;
	uint64_t *count = calloc(ps->n ? ps->n : 1, sizeof(*count));
	uint64_t *timed = calloc(ps->n ? ps->n : 1, sizeof(*timed));
	bool exact;
	size_t i;

	if (!root || !count || !timed)
		goto cleanup;
	cJSON_AddStringToObject(root, "tool", "pyscope");
	cJSON_AddNumberToObject(root, "schema_version", 1);
	cJSON_AddBoolToObject(root, "final", true);
	procs = cJSON_AddArrayToObject(root, "processes");
	for (i = 0; i < mr->n; i++)
		cJSON_AddItemToArray(procs, report_json(mr->procs[i].m, mr->procs[i].meta, ro));
	exact = output_multi_totals(mr, count, timed, ps->n);
	cJSON_AddItemToObject(root, "total", multi_total(mr, ps, count, timed, exact));
	cJSON_AddItemToObject(root, "not_traced", multi_skipped(mr));
	cJSON_AddNumberToObject(root, "not_traced_more", mr->lost);
cleanup:
	free(count);
	free(timed);
	return root;
}

static void json_multi(struct output *o, const struct multi_report *mr,
		       const struct report_opts *ro)
{
	json_emit(o->f, multi_json(mr, ro), o->lines);
}

/* pyscope check's document: {"patterns": [...], "rules": [...], "result": ..., ...}. */
static cJSON *check_doc(struct output *o)
{
	if (!o->check) {
		o->check = cJSON_CreateObject();
		cJSON_AddArrayToObject(o->check, "patterns");
	}
	return o->check;
}

static void add_to(cJSON **arr, cJSON *item)
{
	if (!*arr)
		*arr = cJSON_CreateArray();
	cJSON_AddItemToArray(*arr, item);
}

static void json_hit(struct output *o, const struct model *m, const struct run_meta *meta,
		     const struct pattern *p, const struct agg_info *a)
{
	cJSON *h = cJSON_CreateObject();
	struct hit_words w;

	output_hit_words(m, meta, p, a, &w);
	cJSON_AddStringToObject(h, "pattern", p->name);
	cJSON_AddNumberToObject(h, "pid", meta->pid);
	cJSON_AddNumberToObject(h, "tid", a->first_tid);
	cJSON_AddStringToObject(h, "time", w.when);
	cJSON_AddStringToObject(h, "site", w.where);
	cJSON_AddStringToObject(h, "function", w.func);
	cJSON_AddStringToObject(h, "args", w.sig);
	add_to(&o->hits, h);
}

static cJSON *seen_json(const struct model *m, const struct run_meta *meta,
			const struct patterns *ps, const struct rule_seen *e)
{
	char when[80], where[PS_FILE_LEN + 16], func[PS_QUAL_LEN];
	cJSON *s = cJSON_CreateObject();

	output_iso_time(meta, e->ts_ns, when, sizeof(when));
	output_site(m, e->agg_id, where, sizeof(where), func, sizeof(func));
	cJSON_AddStringToObject(s, "pattern", output_pat_name(ps, e->pat));
	cJSON_AddStringToObject(s, "time", when);
	cJSON_AddNumberToObject(s, "tid", e->tid);
	cJSON_AddStringToObject(s, "site", where);
	cJSON_AddStringToObject(s, "function", func);
	return s;
}

/* The call path of a call: its frames with --paths, else its call site. */
static void add_path(cJSON *v, const char *name, const struct model *m, const struct rule_seen *e)
{
	cJSON *arr = cJSON_AddArrayToObject(v, name);
	char buf[PS_QUAL_LEN + PS_FILE_LEN + 32], func[PS_QUAL_LEN];
	const struct stack_info *si;
	uint32_t i;

	if (!e)		/* a run with no call seen: an empty path */
		return;
	si = e->stack ? model__stack(m, e->stack) : NULL;
	if (!si) {
		output_site(m, e->agg_id, buf, sizeof(buf), func, sizeof(func));
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
		return;
	}
	for (i = 0; i < si->n && i < PS_MAX_DEPTH; i++) {
		model__frame_text(m, &si->frames[i], buf, sizeof(buf));
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
	}
}

static void isolation_json(cJSON *j, const struct model *m, const struct run_meta *meta,
			   const struct patterns *ps, const struct rule_violation *v)
{
	cJSON_AddStringToObject(j, "value1", v->value1);
	cJSON_AddStringToObject(j, "value2", v->value2);
	cJSON_AddItemToObject(j, "first", seen_json(m, meta, ps, &v->first));
	cJSON_AddItemToObject(j, "second", seen_json(m, meta, ps, &v->second));
	add_path(j, "first_path", m, &v->first);
	add_path(j, "second_path", m, &v->second);
}

static void sequence_json(cJSON *j, const struct model *m, const struct run_meta *meta,
			  const struct patterns *ps, const struct rule_violation *v)
{
	char expected[512];
	cJSON *seen;
	size_t i;

	output_pat_set(ps, v->expected, expected, sizeof(expected));
	cJSON_AddStringToObject(j, "got", v->got >= 0 ? output_pat_name(ps, v->got) : "");
	cJSON_AddStringToObject(j, "expected", expected);
	cJSON_AddNumberToObject(j, "calls", (double)v->total);
	cJSON_AddBoolToObject(j, "timed_out", v->timed_out);
	cJSON_AddBoolToObject(j, "open_at_end", v->at_end);
	seen = cJSON_AddArrayToObject(j, "seen");
	for (i = 0; i < v->nseen; i++)
		cJSON_AddItemToArray(seen, seen_json(m, meta, ps, &v->seen[i]));
	add_path(j, "last_path", m, v->nseen ? &v->seen[v->nseen - 1] : NULL);
}

static void json_violation(struct output *o, const struct model *m, const struct run_meta *meta,
			   const struct patterns *ps, const struct rule_violation *v)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "rule", ps->rules[v->rule].name);
	cJSON_AddStringToObject(j, "kind", rules__kind_name(v->kind));
	cJSON_AddStringToObject(j, "key", v->key);
	if (v->kind == VIOL_ISOLATION)
		isolation_json(j, m, meta, ps, v);
	else
		sequence_json(j, m, meta, ps, v);
	add_to(&o->viols, j);
}

static void json_verdict(struct output *o, const struct pattern *p, const struct pat_result *r,
			 const struct coverage *cv)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "name", p->name);
	cJSON_AddStringToObject(j, "spec", p->spec);
	cJSON_AddNumberToObject(j, "count", (double)r->count);
	cJSON_AddStringToObject(j, "mechanism", cover_mech_name(cv->mech, COVER_TEXT_CHECK));
	cJSON_AddBoolToObject(j, "armed", cv->mech != COVER_NONE);
	cJSON_AddNumberToObject(j, "armed_after_s", (double)cv->armed_ns / 1e9);
	if (cv->mech == COVER_NONE)
		cJSON_AddStringToObject(j, "why", cv->why);
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(check_doc(o), "patterns"), j);
}

static void json_rule(struct output *o, const struct rule *r, const struct rule_stats *st)
{
	bool seq = r->kind == RULE_SEQUENCE;
	cJSON *j = cJSON_CreateObject();

	if (!o->rules)
		o->rules = cJSON_AddArrayToObject(check_doc(o), "rules");
	cJSON_AddStringToObject(j, "name", r->name);
	cJSON_AddStringToObject(j, "kind", seq ? "sequence" : "isolation");
	cJSON_AddNumberToObject(j, "calls", (double)st->events);
	cJSON_AddNumberToObject(j, seq ? "runs" : "objects", (double)st->runs);
	cJSON_AddNumberToObject(j, "violations", (double)st->violations);
	cJSON_AddNumberToObject(j, "unkeyed", (double)st->unkeyed);
	cJSON_AddNumberToObject(j, "open", (double)st->open);
	cJSON_AddNumberToObject(j, "partial", (double)st->partial);
	cJSON_AddItemToArray(o->rules, j);
}

static cJSON *take(cJSON **arr)
{
	cJSON *a = *arr ? *arr : cJSON_CreateArray();

	*arr = NULL;
	return a;
}

static void json_result(struct output *o, const struct run_meta *meta,
			const struct check_result *res)
{
	cJSON *root = check_doc(o);

	o->check = NULL;
	o->rules = NULL;
	cJSON_AddStringToObject(root, "result", res->status == 1 ? "fail" : res->status == 3 ?
				"unknown" : "pass");
	cJSON_AddNumberToObject(root, "violation_count", (double)res->violations);
	cJSON_AddBoolToObject(root, "rules_exact", res->rules_exact);
	cJSON_AddItemToObject(root, "violations", take(&o->viols));
	cJSON_AddNumberToObject(root, "pid", meta->pid);
	cJSON_AddStringToObject(root, "python", meta->python);
	cJSON_AddNumberToObject(root, "duration_s", (double)meta->duration_ns / 1e9);
	cJSON_AddBoolToObject(root, "target_exited", meta->target_exited);
	cJSON_AddBoolToObject(root, "exact", res->exact);
	cJSON_AddStringToObject(root, "exact_reason", res->reason);
	cJSON_AddItemToObject(root, "hits", take(&o->hits));
	json_emit(o->f, root, o->lines);
}

const struct output_ops output_json_ops = {
	.report = json_report,
	.interval = json_interval,
	.profile = json_profile,
	.multi = json_multi,
	.hit = json_hit,
	.violation = json_violation,
	.verdict = json_verdict,
	.rule = json_rule,
	.result = json_result,
};
