// SPDX-License-Identifier: MIT
#include "sink/report.h"
#include "util/util.h"
#include "model/hist.h"
#include "model/model_result.h"
#include "model/model_stacks.h"
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

static const char *mech_word(enum cover_mech m)
{
	return m == COVER_BREAKPOINT ? "breakpoint" : m == COVER_UPROBE ? "uprobe" :
	       m == COVER_SAMPLED ? "samples" : "none";
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
		fprintf(out, "%s%s", mech_word(c->mech), c->timed ? "" : ", count only");
		if (c->partial)
			fprintf(out, ", armed after %.3fs (earlier calls not seen)",
				(double)c->armed_ns / 1e9);
		fprintf(out, "\n");
	}
}

void report_text(FILE *out, const struct model *m, const struct run_meta *meta,
		 const struct report_opts *o)
{
	const struct patterns *ps = model__patterns(m);
	char reason[512], a[16], b[16], c[16], d[16], e[16];
	size_t i, j;
	bool exact;

	if (o->final) {
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
	if (o->sigs || o->sites) {
		for (i = 0; i < ps->n; i++) {
			struct pat_result r;

			if (!o->all_details && !ps->v[i].legacy && !ps->v[i].forbid)
				continue;
			if (model__result(m, i, &r))
				continue;
			if (!r.count) {
				pat_result__free(&r);
				continue;
			}
			fprintf(out, "\n%s  (%s)\n", ps->v[i].name, ps->v[i].spec);
			if (o->sigs) {
				fprintf(out, "  %10s  %s\n", "CALLS", "SIGNATURE");
				for (j = 0; j < r.nsigs && (int)j < o->top; j++)
					fprintf(out, "  %10" PRIu64 "  %.84s\n", r.sigs[j].count,
						r.sigs[j].text);
			}
			if (r.ncaps) {
				fprintf(out, "  %10s  %s\n", "CALLS", "CAPTURED VALUE");
				for (j = 0; j < r.ncaps && (int)j < o->top; j++)
					fprintf(out, "  %10" PRIu64 "  %.84s\n", r.caps[j].count,
						r.caps[j].value);
			}
			if (o->sites) {
				fprintf(out, "  %10s %9s %9s  %s\n", "CALLS", "P50", "MAX", "CALL SITE");
				for (j = 0; j < r.nsites && (int)j < o->top; j++) {
					const struct site_row *s = &r.sites[j];
					struct latency l;

					hist_summary(s->hist, s->sum_ns, s->max_ns, &l);
					ns(b, sizeof(b), l.p50_ns, s->timed);
					ns(e, sizeof(e), s->max_ns, s->timed);
					fprintf(out, "  %10" PRIu64 " %9s %9s  %.60s%s%.40s\n", s->count, b,
						e, s->where, s->func[0] ? " in " : "", s->func);
				}
			}
			for (j = 0; o->all_details && j < r.npaths && (int)j < o->top; j++) {
				const struct stack_info *si = model__stack(m, r.paths[j].stack);
				uint32_t k;

				fprintf(out, "  path #%zu: %" PRIu64 " calls%s\n", j + 1, r.paths[j].count,
					si && si->truncated ? " (deeper frames cut)" : "");
				for (k = 0; si && k < si->n; k++) {
					char fr[PS_QUAL_LEN + PS_FILE_LEN + 32];

					model__frame_text(m, &si->frames[k], fr, sizeof(fr));
					fprintf(out, "      %.92s\n", fr);
				}
			}
			pat_result__free(&r);
		}
	}
	if (!o->final)
		return;
	coverage_notes(out, m);
	exact = report_exact(m, reason, sizeof(reason));
	fprintf(out, "exact: %s (%s)\n", exact ? "yes" : "NO", reason);
	if (meta->children > meta->children_traced)
		fprintf(out, "children: %u process(es) started by pid %d were not traced; their "
			"calls are not in these counts (--follow-forks traces them)\n",
			meta->children - meta->children_traced, meta->pid);
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

cJSON *report_json(const struct model *m, const struct run_meta *meta, const struct report_opts *o)
{
	const struct patterns *ps = model__patterns(m);
	cJSON *root = cJSON_CreateObject(), *t, *arr, *lost;
	char reason[512];
	size_t i, j;

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "tool", "pyscope");
	cJSON_AddNumberToObject(root, "schema_version", 1);
	t = cJSON_AddObjectToObject(root, "target");
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
	cJSON_AddStringToObject(root, "mechanism", meta->mechanism);
	cJSON_AddStringToObject(root, "returns", meta->returns);
	cJSON_AddBoolToObject(root, "latency_measured", meta->timed);
	cJSON_AddNumberToObject(root, "start_unix_s", (double)meta->start_wall_ns / 1e9);
	cJSON_AddNumberToObject(root, "duration_s", (double)meta->duration_ns / 1e9);
	cJSON_AddBoolToObject(root, "final", o->final);
	cJSON_AddBoolToObject(root, "exact", report_exact(m, reason, sizeof(reason)));
	cJSON_AddStringToObject(root, "exact_reason", reason);
	lost = cJSON_AddObjectToObject(root, "lost");
	cJSON_AddNumberToObject(lost, "ringbuf", (double)model__counter(m, PS_CNT_RB_LOST));
	cJSON_AddNumberToObject(lost, "aggregates_full", (double)model__counter(m, PS_CNT_AGG_FULL));
	cJSON_AddNumberToObject(lost, "untimed_inflight_full",
				(double)model__counter(m, PS_CNT_INFLIGHT_FULL));
	cJSON_AddNumberToObject(lost, "no_thread_state", (double)model__counter(m, PS_CNT_TSTATE_MISS));
	cJSON_AddNumberToObject(lost, "unresolved", (double)model__unresolved(m));
	cJSON_AddNumberToObject(lost, "unpaired_entries", (double)model__counter(m, PS_CNT_UNPAIRED));
	cJSON_AddNumberToObject(lost, "frame_register", (double)model__counter(m, PS_CNT_FREG_BAD));
	arr = cJSON_AddArrayToObject(root, "patterns");
	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		cJSON *po = cJSON_CreateObject(), *sa, *ca;
		struct pat_result r;

		if (!po || model__result(m, i, &r)) {
			cJSON_Delete(po);
			continue;
		}
		cJSON_AddStringToObject(po, "name", p->name);
		cJSON_AddStringToObject(po, "spec", p->spec);
		cJSON_AddStringToObject(po, "kind", p->kind == PAT_CLASS ? "class" : "function");
		cJSON_AddNumberToObject(po, "count", (double)r.count);
		cJSON_AddNumberToObject(po, "timed", (double)r.timed);
		cJSON_AddItemToObject(po, "latency_ns", lat_json(&r.lat));
		{
			const struct coverage *c = model__coverage(m, i);
			cJSON *co = cJSON_AddObjectToObject(po, "coverage");

			cJSON_AddStringToObject(co, "mechanism", mech_word(c->mech));
			cJSON_AddBoolToObject(co, "timed", c->timed);
			cJSON_AddBoolToObject(co, "partial", c->partial);
			cJSON_AddNumberToObject(co, "armed_after_s", (double)c->armed_ns / 1e9);
			cJSON_AddStringToObject(co, "detail", c->why);
		}
		if (p->forbid)
			cJSON_AddBoolToObject(po, "forbid", true);
		if (p->legacy)
			cJSON_AddBoolToObject(po, "legacy", true);
		sa = cJSON_AddArrayToObject(po, "signatures");
		for (j = 0; j < r.nsigs; j++) {
			cJSON *so = cJSON_CreateObject();

			cJSON_AddStringToObject(so, "signature", r.sigs[j].text);
			cJSON_AddNumberToObject(so, "count", (double)r.sigs[j].count);
			cJSON_AddItemToArray(sa, so);
		}
		ca = cJSON_AddArrayToObject(po, "call_sites");
		for (j = 0; j < r.nsites; j++) {
			const struct site_row *s = &r.sites[j];
			cJSON *so = cJSON_CreateObject();
			struct latency l;

			hist_summary(s->hist, s->sum_ns, s->max_ns, &l);
			cJSON_AddStringToObject(so, "site", s->where);
			cJSON_AddStringToObject(so, "function", s->func);
			cJSON_AddNumberToObject(so, "count", (double)s->count);
			cJSON_AddItemToObject(so, "latency_ns", lat_json(&l));
			add_times(so, meta, s->first_ns, s->last_ns);
			cJSON_AddItemToArray(ca, so);
		}
		ca = cJSON_AddArrayToObject(po, "paths");
		for (j = 0; j < r.npaths; j++) {
			cJSON *so = cJSON_CreateObject();

			cJSON_AddNumberToObject(so, "count", (double)r.paths[j].count);
			cJSON_AddNumberToObject(so, "timed", (double)r.paths[j].timed);
			cJSON_AddNumberToObject(so, "total_ns", (double)r.paths[j].sum_ns);
			cJSON_AddNumberToObject(so, "max_ns", (double)r.paths[j].max_ns);
			cJSON_AddItemToObject(so, "frames", path_json(m, r.paths[j].stack));
			cJSON_AddItemToArray(ca, so);
		}
		ca = cJSON_AddArrayToObject(po, "captures");
		for (j = 0; j < r.ncaps; j++) {
			cJSON *so = cJSON_CreateObject();

			cJSON_AddStringToObject(so, "value", r.caps[j].value);
			cJSON_AddNumberToObject(so, "count", (double)r.caps[j].count);
			cJSON_AddItemToArray(ca, so);
		}
		cJSON_AddItemToArray(arr, po);
		pat_result__free(&r);
	}
	return root;
}

int report_json_print(FILE *out, const struct model *m, const struct run_meta *meta,
		      const struct report_opts *o)
{
	cJSON *root = report_json(m, meta, o);
	char *s;

	if (!root)
		return -ENOMEM;
	s = o->compact ? cJSON_PrintUnformatted(root) : cJSON_Print(root);
	cJSON_Delete(root);
	if (!s)
		return -ENOMEM;
	fprintf(out, "%s\n", s);
	free(s);
	return 0;
}
