// SPDX-License-Identifier: MIT
#include "sink/report.h"
#include "model/cover_name.h"
#include "util/json.h"
#include "util/util.h"
#include "model/model_stacks.h"
#include "model/model_result.h"
#include "model/model_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

bool report_exact(const struct model *m, char *reason, size_t len)
{
	struct strbuf sb;
	uint64_t v;
	bool exact = true;

	sb_init(&sb);
	if ((v = model__counter(m, PS_CNT_RB_LOST))) {
		sb_printf(&sb, "%s%" PRIu64 " sightings lost (ring buffer full)", exact ? "" : "; ", v);
		exact = false;
	}
	if ((v = model__counter(m, PS_CNT_AGG_FULL))) {
		sb_printf(&sb, "%s%" PRIu64 " calls not counted (aggregate table full)",
			  exact ? "" : "; ", v);
		exact = false;
	}
	if ((v = model__counter(m, PS_CNT_TSTATE_MISS))) {
		sb_printf(&sb, "%s%" PRIu64 " probe hits without a Python thread state",
			  exact ? "" : "; ", v);
		exact = false;
	}
	if ((v = model__counter(m, PS_CNT_FREG_BAD))) {
		sb_printf(&sb, "%s%" PRIu64 " function starts read through a frame register that "
			  "proved wrong (earlier starts may be missed)", exact ? "" : "; ", v);
		exact = false;
	}
	if ((v = model__counter(m, PS_CNT_CALL_LOST))) {
		sb_printf(&sb, "%s%" PRIu64 " rule call records lost (ring buffer full)",
			  exact ? "" : "; ", v);
		exact = false;
	}
	if ((v = model__unresolved(m))) {
		sb_printf(&sb, "%s%" PRIu64 " calls of candidate code could not be attributed "
			  "(no source for the qualified name)", exact ? "" : "; ", v);
		exact = false;
	}
	if (model__note(m)) {
		sb_printf(&sb, "%s%s", exact ? "" : "; ", model__note(m));
		exact = false;
	}
	str_copy(reason, exact ? "no events lost" : (sb.buf ? sb.buf : "?"), len);
	sb_free(&sb);
	return exact;
}

static void ns(char *buf, size_t n, uint64_t v, bool have)
{
	if (!have)
		str_copy(buf, "-", n);
	else
		fmt_ns(buf, n, (double)v);
}

/* What the table cannot show: patterns not timed, armed late, or not armed. */
static void coverage_notes(FILE *out, const struct model *m)
{
	const struct patterns *ps = model__patterns(m);
	bool header = false;
	size_t i;

	for (i = 0; i < ps->n; i++) {
		const struct coverage *c = model__coverage(m, i);

		if (c->mech == COVER_UPROBE && c->timed && !c->partial)
			continue;
		if (!header)
			fprintf(out, "\ncoverage:\n");
		header = true;
		fprintf(out, "  %-26.26s ", ps->v[i].name);
		if (c->mech == COVER_NONE) {
			fprintf(out, "not armed: %.66s\n", c->why);
			continue;
		}
		fprintf(out, "%s%s", cover_mech_name(c->mech, COVER_TEXT_REPORT),
			c->timed ? "" : ", count only");
		if (c->partial)
			fprintf(out, ", armed after %.3fs (earlier calls not seen)",
				(double)c->armed_ns / 1e9);
		fprintf(out, "\n");
	}
}

/* "pyscope: pid N, Python V, via M, Ts" and how the run ended. */
static void text_header(FILE *out, const struct run_meta *meta)
{
	fprintf(out, "pyscope: pid %d", meta->pid);
	if (meta->ns_pid)
		fprintf(out, " (%d in its PID namespace)", meta->ns_pid);
	fprintf(out, ", Python %s, via %s, %.1fs", meta->python, meta->mechanism,
		(double)meta->duration_ns / 1e9);
	if (meta->target_exited && meta->launched)
		fprintf(out, ", target exited at %.1fs (status %d)",
			(double)meta->exited_after_ns / 1e9, meta->exit_code);
	else if (meta->target_exited)
		fprintf(out, ", target exited at %.1fs", (double)meta->exited_after_ns / 1e9);
	if (meta->parent_pid)
		fprintf(out, ", started by pid %d, traced from %.3fs after its fork",
			meta->parent_pid, (double)meta->attach_lag_ns / 1e9);
	if (meta->execd)
		fprintf(out, ", target exec'd %s at %.1fs: tracing stopped", meta->exec_path,
			(double)meta->execd_after_ns / 1e9);
	fprintf(out, "\n");
}

/* One row per pattern: calls, timed calls, latency. */
static void text_table(FILE *out, const struct model *m)
{
	const struct patterns *ps = model__patterns(m);
	char a[16], b[16], c[16], d[16], e[16];
	size_t i;

	fprintf(out, "%-28s %10s %10s %9s %9s %9s %9s %9s\n", "PATTERN", "CALLS", "TIMED", "MEAN",
		"P50", "P95", "P99", "MAX");
	for (i = 0; i < ps->n; i++) {
		struct pat_result r;

		if (model__result(m, i, &r))
			continue;
		ns(a, sizeof(a), (uint64_t)r.lat.mean_ns, r.timed);
		ns(b, sizeof(b), r.lat.p50_ns, r.timed);
		ns(c, sizeof(c), r.lat.p95_ns, r.timed);
		ns(d, sizeof(d), r.lat.p99_ns, r.timed);
		ns(e, sizeof(e), r.lat.max_ns, r.timed);
		fprintf(out, "%-28.28s %10" PRIu64 " %10" PRIu64 " %9s %9s %9s %9s %9s\n",
			ps->v[i].name, r.count, r.timed, a, b, c, d, e);
		pat_result__free(&r);
	}
}

static void text_values(FILE *out, const struct pat_result *r, const struct report_opts *o)
{
	size_t j;

	if (o->sigs) {
		fprintf(out, "  %10s  %s\n", "CALLS", "SIGNATURE");
		for (j = 0; j < r->nsigs && (int)j < o->top; j++)
			fprintf(out, "  %10" PRIu64 "  %.84s\n", r->sigs[j].count, r->sigs[j].text);
	}
	if (r->ncaps) {
		fprintf(out, "  %10s  %s\n", "CALLS", "CAPTURED VALUE");
		for (j = 0; j < r->ncaps && (int)j < o->top; j++)
			fprintf(out, "  %10" PRIu64 "  %.84s\n", r->caps[j].count, r->caps[j].value);
	}
}

static void text_sites(FILE *out, const struct pat_result *r, int top)
{
	char p50[16], max[16];
	size_t j;

	fprintf(out, "  %10s %9s %9s  %s\n", "CALLS", "P50", "MAX", "CALL SITE");
	for (j = 0; j < r->nsites && (int)j < top; j++) {
		const struct site_row *s = &r->sites[j];
		struct latency l;

		hist_summary(s->hist, s->sum_ns, s->max_ns, &l);
		ns(p50, sizeof(p50), l.p50_ns, s->timed);
		ns(max, sizeof(max), s->max_ns, s->timed);
		fprintf(out, "  %10" PRIu64 " %9s %9s  %.60s%s%.40s\n", s->count, p50, max, s->where,
			s->func[0] ? " in " : "", s->func);
	}
}

static void text_paths(FILE *out, const struct model *m, const struct pat_result *r, int top)
{
	size_t j;

	for (j = 0; j < r->npaths && (int)j < top; j++) {
		const struct stack_info *si = model__stack(m, r->paths[j].stack);
		uint32_t k;

		fprintf(out, "  path #%zu: %" PRIu64 " calls%s\n", j + 1, r->paths[j].count,
			si && si->truncated ? " (deeper frames cut)" : "");
		for (k = 0; si && k < si->n; k++) {
			char fr[PS_QUAL_LEN + PS_FILE_LEN + 32];

			model__frame_text(m, &si->frames[k], fr, sizeof(fr));
			fprintf(out, "      %.92s\n", fr);
		}
	}
}

/* Signatures, captured values, call sites and paths of the patterns that show them. */
static void text_details(FILE *out, const struct model *m, const struct report_opts *o)
{
	const struct patterns *ps = model__patterns(m);
	size_t i;

	for (i = 0; i < ps->n; i++) {
		struct pat_result r;

		if (!o->all_details && !ps->v[i].legacy && !ps->v[i].forbid)
			continue;
		if (model__result(m, i, &r))
			continue;
		if (r.count) {
			fprintf(out, "\n%s  (%s)\n", ps->v[i].name, ps->v[i].spec);
			text_values(out, &r, o);
			if (o->sites)
				text_sites(out, &r, o->top);
			if (o->all_details)
				text_paths(out, m, &r, o->top);
		}
		pat_result__free(&r);
	}
}

/* The coverage notes, whether the counts are exact, the children not traced. */
static void text_footer(FILE *out, const struct model *m, const struct run_meta *meta)
{
	char reason[512];
	bool exact;

	coverage_notes(out, m);
	exact = report_exact(m, reason, sizeof(reason));
	fprintf(out, "exact: %s (%s)\n", exact ? "yes" : "NO", reason);
	if (meta->children > meta->children_traced)
		fprintf(out, "children: %u process(es) started by pid %d were not traced; their "
			"calls are not in these counts (--follow-forks traces them)\n",
			meta->children - meta->children_traced, meta->pid);
}

void report_text(FILE *out, const struct model *m, const struct run_meta *meta,
		 const struct report_opts *o)
{
	if (o->final)
		text_header(out, meta);
	text_table(out, m);
	if (o->sigs || o->sites)
		text_details(out, m, o);
	if (o->final)
		text_footer(out, m, meta);
}

static cJSON *lat_json(const struct latency *l)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "count", (double)l->count);
	cJSON_AddNumberToObject(o, "total", (double)l->sum_ns);
	cJSON_AddNumberToObject(o, "mean", l->mean_ns);
	cJSON_AddNumberToObject(o, "p50", (double)l->p50_ns);
	cJSON_AddNumberToObject(o, "p95", (double)l->p95_ns);
	cJSON_AddNumberToObject(o, "p99", (double)l->p99_ns);
	cJSON_AddNumberToObject(o, "max", (double)l->max_ns);
	return o;
}

int64_t report_wall_ns(const struct run_meta *meta, uint64_t mono_ns)
{
	return (int64_t)(mono_ns + (uint64_t)meta->wall_minus_mono);
}

double report_wall_s(const struct run_meta *meta, uint64_t mono_ns)
{
	return (double)report_wall_ns(meta, mono_ns) / 1e9;
}

static void add_times(cJSON *o, const struct run_meta *meta, uint64_t first, uint64_t last)
{
	if (first)
		cJSON_AddNumberToObject(o, "first_seen_unix_s", report_wall_s(meta, first));
	if (last)
		cJSON_AddNumberToObject(o, "last_seen_unix_s", report_wall_s(meta, last));
}

/* A path as [{function, site}], innermost caller first. */
static cJSON *path_json(const struct model *m, uint64_t stack)
{
	const struct stack_info *si = model__stack(m, stack);
	cJSON *arr = cJSON_CreateArray();
	uint32_t k;

	for (k = 0; si && k < si->n; k++) {
		char func[PS_QUAL_LEN], where[PS_FILE_LEN + 16];
		cJSON *f = cJSON_CreateObject();

		model__frame_parts(m, &si->frames[k], func, sizeof(func), where, sizeof(where));
		cJSON_AddStringToObject(f, "function", func);
		cJSON_AddStringToObject(f, "site", where);
		cJSON_AddItemToArray(arr, f);
	}
	return arr;
}

static cJSON *target_json(const struct run_meta *meta)
{
	cJSON *t = cJSON_CreateObject();

	cJSON_AddNumberToObject(t, "pid", meta->pid);
	if (meta->ns_pid)
		cJSON_AddNumberToObject(t, "ns_pid", meta->ns_pid);
	cJSON_AddStringToObject(t, "python", meta->python);
	cJSON_AddStringToObject(t, "interpreter", meta->interpreter);
	cJSON_AddBoolToObject(t, "launched", meta->launched);
	cJSON_AddBoolToObject(t, "exited", meta->target_exited);
	if (meta->target_exited)
		cJSON_AddNumberToObject(t, "exited_after_s", (double)meta->exited_after_ns / 1e9);
	if (meta->target_exited && meta->launched)
		cJSON_AddNumberToObject(t, "exit_status", meta->exit_code);
	if (meta->parent_pid) {
		cJSON_AddNumberToObject(t, "parent_pid", meta->parent_pid);
		cJSON_AddNumberToObject(t, "traced_after_fork_s", (double)meta->attach_lag_ns / 1e9);
	}
	cJSON_AddBoolToObject(t, "execd", meta->execd);
	if (meta->execd) {
		cJSON_AddStringToObject(t, "exec_path", meta->exec_path);
		cJSON_AddNumberToObject(t, "execd_after_s", (double)meta->execd_after_ns / 1e9);
	}
	cJSON_AddNumberToObject(t, "children", meta->children);
	cJSON_AddNumberToObject(t, "children_untraced", meta->children - meta->children_traced);
	return t;
}

static cJSON *lost_json(const struct model *m)
{
	cJSON *lost = cJSON_CreateObject();

	cJSON_AddNumberToObject(lost, "ringbuf", (double)model__counter(m, PS_CNT_RB_LOST));
	cJSON_AddNumberToObject(lost, "aggregates_full", (double)model__counter(m, PS_CNT_AGG_FULL));
	cJSON_AddNumberToObject(lost, "untimed_inflight_full",
				(double)model__counter(m, PS_CNT_INFLIGHT_FULL));
	cJSON_AddNumberToObject(lost, "no_thread_state", (double)model__counter(m, PS_CNT_TSTATE_MISS));
	cJSON_AddNumberToObject(lost, "unresolved", (double)model__unresolved(m));
	cJSON_AddNumberToObject(lost, "unpaired_entries", (double)model__counter(m, PS_CNT_UNPAIRED));
	cJSON_AddNumberToObject(lost, "frame_register", (double)model__counter(m, PS_CNT_FREG_BAD));
	return lost;
}

static cJSON *coverage_json(const struct coverage *c)
{
	cJSON *co = cJSON_CreateObject();

	cJSON_AddStringToObject(co, "mechanism", cover_mech_name(c->mech, COVER_TEXT_REPORT));
	cJSON_AddBoolToObject(co, "timed", c->timed);
	cJSON_AddBoolToObject(co, "partial", c->partial);
	cJSON_AddNumberToObject(co, "armed_after_s", (double)c->armed_ns / 1e9);
	cJSON_AddStringToObject(co, "detail", c->why);
	return co;
}

static cJSON *sigs_json(const struct pat_result *r)
{
	cJSON *arr = cJSON_CreateArray();
	size_t j;

	for (j = 0; j < r->nsigs; j++) {
		cJSON *so = cJSON_CreateObject();

		cJSON_AddStringToObject(so, "signature", r->sigs[j].text);
		cJSON_AddNumberToObject(so, "count", (double)r->sigs[j].count);
		cJSON_AddItemToArray(arr, so);
	}
	return arr;
}

static cJSON *sites_json(const struct run_meta *meta, const struct pat_result *r)
{
	cJSON *arr = cJSON_CreateArray();
	size_t j;

	for (j = 0; j < r->nsites; j++) {
		const struct site_row *s = &r->sites[j];
		cJSON *so = cJSON_CreateObject();
		struct latency l;

		hist_summary(s->hist, s->sum_ns, s->max_ns, &l);
		cJSON_AddStringToObject(so, "site", s->where);
		cJSON_AddStringToObject(so, "function", s->func);
		cJSON_AddNumberToObject(so, "count", (double)s->count);
		cJSON_AddItemToObject(so, "latency_ns", lat_json(&l));
		add_times(so, meta, s->first_ns, s->last_ns);
		cJSON_AddItemToArray(arr, so);
	}
	return arr;
}

static cJSON *paths_json(const struct model *m, const struct pat_result *r)
{
	cJSON *arr = cJSON_CreateArray();
	size_t j;

	for (j = 0; j < r->npaths; j++) {
		cJSON *so = cJSON_CreateObject();

		cJSON_AddNumberToObject(so, "count", (double)r->paths[j].count);
		cJSON_AddNumberToObject(so, "timed", (double)r->paths[j].timed);
		cJSON_AddNumberToObject(so, "total_ns", (double)r->paths[j].sum_ns);
		cJSON_AddNumberToObject(so, "max_ns", (double)r->paths[j].max_ns);
		cJSON_AddItemToObject(so, "frames", path_json(m, r->paths[j].stack));
		cJSON_AddItemToArray(arr, so);
	}
	return arr;
}

static cJSON *caps_json(const struct pat_result *r)
{
	cJSON *arr = cJSON_CreateArray();
	size_t j;

	for (j = 0; j < r->ncaps; j++) {
		cJSON *so = cJSON_CreateObject();

		cJSON_AddStringToObject(so, "value", r->caps[j].value);
		cJSON_AddNumberToObject(so, "count", (double)r->caps[j].count);
		cJSON_AddItemToArray(arr, so);
	}
	return arr;
}

static void pattern_json(cJSON *po, const struct model *m, const struct run_meta *meta, size_t i,
			 const struct pat_result *r)
{
	const struct pattern *p = &model__patterns(m)->v[i];

	cJSON_AddStringToObject(po, "name", p->name);
	cJSON_AddStringToObject(po, "spec", p->spec);
	cJSON_AddStringToObject(po, "kind", p->kind == PAT_CLASS ? "class" : "function");
	cJSON_AddNumberToObject(po, "count", (double)r->count);
	cJSON_AddNumberToObject(po, "timed", (double)r->timed);
	cJSON_AddItemToObject(po, "latency_ns", lat_json(&r->lat));
	cJSON_AddItemToObject(po, "coverage", coverage_json(model__coverage(m, i)));
	if (p->forbid)
		cJSON_AddBoolToObject(po, "forbid", true);
	if (p->legacy)
		cJSON_AddBoolToObject(po, "legacy", true);
	cJSON_AddItemToObject(po, "signatures", sigs_json(r));
	cJSON_AddItemToObject(po, "call_sites", sites_json(meta, r));
	cJSON_AddItemToObject(po, "paths", paths_json(m, r));
	cJSON_AddItemToObject(po, "captures", caps_json(r));
}

static cJSON *patterns_json(const struct model *m, const struct run_meta *meta)
{
	const struct patterns *ps = model__patterns(m);
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < ps->n; i++) {
		cJSON *po = cJSON_CreateObject();
		struct pat_result r;

		if (!po || model__result(m, i, &r)) {
			cJSON_Delete(po);
			continue;
		}
		pattern_json(po, m, meta, i, &r);
		cJSON_AddItemToArray(arr, po);
		pat_result__free(&r);
	}
	return arr;
}

cJSON *report_json(const struct model *m, const struct run_meta *meta, const struct report_opts *o)
{
	cJSON *root = cJSON_CreateObject();
	char reason[512];

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "tool", "pyscope");
	cJSON_AddNumberToObject(root, "schema_version", 1);
	cJSON_AddItemToObject(root, "target", target_json(meta));
	cJSON_AddStringToObject(root, "mechanism", meta->mechanism);
	cJSON_AddStringToObject(root, "returns", meta->returns);
	cJSON_AddBoolToObject(root, "latency_measured", meta->timed);
	cJSON_AddNumberToObject(root, "start_unix_s", (double)meta->start_wall_ns / 1e9);
	cJSON_AddNumberToObject(root, "duration_s", (double)meta->duration_ns / 1e9);
	cJSON_AddBoolToObject(root, "final", o->final);
	cJSON_AddBoolToObject(root, "exact", report_exact(m, reason, sizeof(reason)));
	cJSON_AddStringToObject(root, "exact_reason", reason);
	cJSON_AddItemToObject(root, "lost", lost_json(m));
	if (!o->no_patterns)
		cJSON_AddItemToObject(root, "patterns", patterns_json(m, meta));
	return root;
}

int report_json_print(FILE *out, const struct model *m, const struct run_meta *meta,
		      const struct report_opts *o)
{
	return json_emit(out, report_json(m, meta, o), o->compact);
}
