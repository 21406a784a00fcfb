// SPDX-License-Identifier: MIT
/* The output interface: one implementation per format, chosen once. */
#include "sink/output_ops.h"
#include "util/util.h"
#include "model/model_result.h"
#include "model/model_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int output__new(struct output **out, enum output_format fmt, FILE *f, bool lines)
{
	struct output *o;

	*out = NULL;
	if (fmt > FMT_SPEEDSCOPE)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->ops = fmt == FMT_TEXT ? output_text_ops : output_json_ops;
	output_stacks_ops(&o->ops, fmt);
	o->f = f;
	o->lines = lines;
	*out = o;
	return 0;
}

void output__free(struct output *o)
{
	if (!o)
		return;
	cJSON_Delete(o->check);
	cJSON_Delete(o->hits);
	cJSON_Delete(o->viols);
	free(o);
}

void output__report(struct output *o, const struct model *m, const struct run_meta *meta,
		    const struct report_opts *ro)
{
	o->ops.report(o, m, meta, ro);
	fflush(o->f);
}

void output__interval(struct output *o, const struct model *m, const struct run_meta *meta,
		      const struct report_opts *ro)
{
	o->ops.interval(o, m, meta, ro);
	fflush(o->f);
}

void output__profile(struct output *o, const struct model *m, const struct run_meta *meta,
		     const struct report_opts *ro, const struct prof_opts *po)
{
	o->ops.profile(o, m, meta, ro, po);
	fflush(o->f);
}

void output__multi(struct output *o, const struct multi_report *mr, const struct report_opts *ro)
{
	o->ops.multi(o, mr, ro);
	fflush(o->f);
}

void output__hit(struct output *o, const struct model *m, const struct run_meta *meta,
		 const struct pattern *p, const struct agg_info *a)
{
	o->ops.hit(o, m, meta, p, a);
}

void output__violation(struct output *o, const struct model *m, const struct run_meta *meta,
		       const struct patterns *ps, const struct rule_violation *v)
{
	o->ops.violation(o, m, meta, ps, v);
}

void output__verdict(struct output *o, const struct pattern *p, const struct pat_result *r,
		     const struct coverage *cv)
{
	o->ops.verdict(o, p, r, cv);
}

void output__rule(struct output *o, const struct rule *r, const struct rule_stats *st)
{
	o->ops.rule(o, r, st);
}

void output__result(struct output *o, const struct run_meta *meta, const struct check_result *res)
{
	o->ops.result(o, meta, res);
	fflush(o->f);
}

void output_iso_time(const struct run_meta *meta, uint64_t mono, char *buf, size_t n)
{
	uint64_t wall = (uint64_t)report_wall_ns(meta, mono);
	time_t sec = (time_t)(wall / 1000000000ull);
	struct tm tm;
	char base[32];
	size_t len;

	gmtime_r(&sec, &tm);
	len = strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	base[len] = '\0';
	snprintf(buf, n, "%s.%06uZ", base, (unsigned)(wall % 1000000000ull / 1000));
}

void output_site(const struct model *m, uint32_t agg_id, char *where, size_t wlen, char *func,
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

const char *output_pat_name(const struct patterns *ps, int pat)
{
	return pat >= 0 && (size_t)pat < ps->n ? ps->v[pat].name : "-";
}

void output_pat_set(const struct patterns *ps, const uint64_t *set, char *buf, size_t n)
{
	struct strbuf sb;
	size_t i;
	bool any = false;

	sb_init(&sb);
	for (i = 0; i < ps->n && i < PAT_MAX; i++) {
		if (!(set[i / 64] & (1ULL << (i % 64))))
			continue;
		sb_printf(&sb, "%s%s", any ? "," : "", ps->v[i].name);
		any = true;
	}
	str_copy(buf, any && sb.buf && !sb.oom ? sb.buf : "-", n);
	sb_free(&sb);
}

void output_hit_words(const struct model *m, const struct run_meta *meta, const struct pattern *p,
		      const struct agg_info *a, struct hit_words *w)
{
	output_iso_time(meta, a->first_ns, w->when, sizeof(w->when));
	model__agg_site(m, a, w->where, sizeof(w->where), w->func, sizeof(w->func));
	model__agg_sig(a, p->skip_self, w->sig, sizeof(w->sig));
}

bool output_multi_totals(const struct multi_report *mr, uint64_t *count, uint64_t *timed,
			 size_t np)
{
	bool exact = mr->nskipped == 0 && !mr->lost;
	char reason[512];
	size_t i, p;

	memset(count, 0, np * sizeof(*count));
	memset(timed, 0, np * sizeof(*timed));
	for (i = 0; i < mr->n; i++) {
		const struct model *m = mr->procs[i].m;

		exact &= report_exact(m, reason, sizeof(reason));
		exact &= !mr->procs[i].meta->parent_pid;	/* attached after its fork */
		for (p = 0; p < np; p++) {
			struct pat_result r;

			if (model__result(m, p, &r))
				continue;
			count[p] += r.count;
			timed[p] += r.timed;
			pat_result__free(&r);
		}
	}
	return exact;
}
