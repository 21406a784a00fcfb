// SPDX-License-Identifier: MIT
/*
 * pyscope profile's sinks: for each pattern, where the time inside its calls
 * goes, on CPU (samples) and off CPU (waits), as top functions, a one-line
 * summary, collapsed stacks and speedscope profiles.  Only the part of each
 * stack inside the pattern's call counts: from the pattern's frame to the leaf.
 */
#include "sink/report_profile.h"
#include "util/util.h"
#include "model/model_result.h"
#include "model/model_samples.h"
#include "model/model_stacks.h"
#include "model/model_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FUNC_LEN (PS_QUAL_LEN + PS_FILE_LEN + 24)

/* A function inside a pattern's calls, by name and file (all its lines). */
struct fn_stat {
	char func[FUNC_LEN];
	uint64_t self, total;
};

static uint64_t weight(const struct sample_row *r)
{
	return r->key.kind == PS_SAMPLE_OFFCPU ? r->val.ns : r->val.count;
}

/* "qualname (file)" of a frame: lines of one function merge. */
static void fn_name(const struct model *m, const struct ps_frame *f, char *buf, size_t n)
{
	char func[PS_QUAL_LEN], where[PS_FILE_LEN + 16];
	char *colon;

	model__frame_parts(m, f, func, sizeof(func), where, sizeof(where));
	colon = strrchr(where, ':');
	if (colon)
		*colon = '\0';
	snprintf(buf, n, "%s (%s)", func, where);
}

/* Does sample row r belong to pattern p (kind k)? */
static bool row_of(const struct model *m, const struct sample_row *r, const struct pattern *p,
		   uint8_t kind)
{
	const struct agg_info *a;

	if (r->key.kind != kind || r->key.agg_id == PS_NO_WINDOW)
		return false;
	a = model__agg(m, r->key.agg_id);
	return a && model__agg_matches(m, a, p) && model__stack(m, r->key.stack);
}

static struct fn_stat *fn_find(struct fn_stat **v, size_t *n, const char *name)
{
	struct fn_stat *nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i].func, name))
			return &(*v)[i];
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return NULL;
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[0]));
	str_copy(nv[*n].func, name, sizeof(nv[0].func));
	return &nv[(*n)++];
}

static int by_self(const void *x, const void *y)
{
	const struct fn_stat *a = x, *b = y;

	return a->self != b->self ? (a->self < b->self ? 1 : -1) : strcmp(a->func, b->func);
}

static int by_total(const void *x, const void *y)
{
	const struct fn_stat *a = x, *b = y;

	return a->total != b->total ? (a->total < b->total ? 1 : -1) : strcmp(a->func, b->func);
}

void prof_result_free(struct prof_result *r)
{
	free(r->self);
	free(r->total);
	memset(r, 0, sizeof(*r));
}

/* Does row r (stack si) follow the chain picked so far, depth levels below the pattern? */
static bool on_chain(const struct model *m, const struct sample_row *r,
		     const struct stack_info *si, char *const *picked, size_t depth)
{
	char name[FUNC_LEN];
	size_t lvl;

	for (lvl = 0; lvl < depth; lvl++) {
		fn_name(m, &si->frames[r->key.win_depth - 1 - lvl], name, sizeof(name));
		if (strcmp(name, picked[lvl]))
			return false;
	}
	return true;
}

/* The callees depth levels below the pattern's frame, on the chain so far, with their weight. */
static size_t chain_level(const struct model *m, const struct sample_row *rows, size_t nrows,
			  const struct pattern *p, uint8_t kind, char *const *picked, size_t depth,
			  struct fn_stat **groups)
{
	size_t ng = 0, i;

	for (i = 0; i < nrows; i++) {
		const struct sample_row *r = &rows[i];
		const struct stack_info *si;
		char name[FUNC_LEN];
		struct fn_stat *f;

		if (!row_of(m, r, p, kind))
			continue;
		si = model__stack(m, r->key.stack);
		if (r->key.win_depth < depth + 1 || r->key.win_depth >= si->n)
			continue;
		if (!on_chain(m, r, si, picked, depth))
			continue;
		fn_name(m, &si->frames[r->key.win_depth - 1 - depth], name, sizeof(name));
		f = fn_find(groups, &ng, name);
		if (!f)
			break;
		f->total += weight(r);
	}
	return ng;
}

/*
 * The heaviest chain below the pattern's frame: at each level the callee
 * with the most weight, while it holds at least half of its parent's.
 */
static void chain(const struct model *m, const struct sample_row *rows, size_t nrows,
		  const struct pattern *p, uint8_t kind, struct prof_result *out)
{
	char *picked[16];
	size_t depth, i;
	uint64_t parent = out->weight;
	struct strbuf sb;

	memset(picked, 0, sizeof(picked));
	for (depth = 0; depth < 16; depth++) {
		struct fn_stat *groups = NULL;
		size_t ng = chain_level(m, rows, nrows, p, kind, picked, depth, &groups), best = 0;

		for (i = 1; i < ng; i++)
			if (groups[i].total > groups[best].total)
				best = i;
		if (!ng || groups[best].total * 2 < parent) {
			free(groups);
			break;
		}
		picked[depth] = strdup(groups[best].func);
		parent = groups[best].total;
		out->chain_weight = parent;
		free(groups);
		if (!picked[depth])
			break;
	}
	sb_init(&sb);
	for (i = 0; i < depth; i++) {
		sb_printf(&sb, "%s%s", i ? " -> " : "", picked[i]);
		free(picked[i]);
	}
	str_copy(out->chain, sb.buf ? sb.buf : "", sizeof(out->chain));
	sb_free(&sb);
}

int profile_result(const struct model *m, size_t pidx, uint8_t kind, struct prof_result *out)
{
	const struct pattern *p = &model__patterns(m)->v[pidx];
	const struct sample_row *rows;
	size_t nrows = model__samples(m, &rows), i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nrows; i++) {
		const struct sample_row *r = &rows[i];
		const struct stack_info *si;
		char seen[PS_MAX_DEPTH][FUNC_LEN];
		size_t nseen = 0, k, j;
		struct fn_stat *f;

		if (!row_of(m, r, p, kind))
			continue;
		si = model__stack(m, r->key.stack);
		out->weight += weight(r);
		out->events += r->val.count;
		/* the window: frames 0 (leaf) to win_depth (the pattern's own frame) */
		for (k = 0; k <= r->key.win_depth && k < si->n; k++) {
			char name[FUNC_LEN];
			bool dup = false;

			fn_name(m, &si->frames[k], name, sizeof(name));
			for (j = 0; j < nseen && !dup; j++)
				dup = !strcmp(seen[j], name);
			if (dup)
				continue;	/* recursion counts once per stack */
			str_copy(seen[nseen++], name, FUNC_LEN);
			f = fn_find(&out->total, &out->ntotal, name);
			if (!f)
				return -ENOMEM;
			f->total += weight(r);
			if (k == 0)
				f->self += weight(r);
		}
	}
	if (out->ntotal) {
		out->self = malloc(out->ntotal * sizeof(*out->self));
		if (!out->self)
			return -ENOMEM;
		memcpy(out->self, out->total, out->ntotal * sizeof(*out->self));
		out->nself = out->ntotal;
		qsort(out->self, out->nself, sizeof(*out->self), by_self);
		qsort(out->total, out->ntotal, sizeof(*out->total), by_total);
	}
	chain(m, rows, nrows, p, kind, out);
	return 0;
}

static void fmt_weight(char *buf, size_t n, uint64_t w, uint8_t kind)
{
	if (kind == PS_SAMPLE_OFFCPU)
		fmt_ns(buf, n, (double)w);
	else
		snprintf(buf, n, "%" PRIu64, w);
}

/* Is any of p's code a coroutine or generator?  Then its time splits. */
static bool is_async(const struct model *m, const struct pattern *p)
{
	uint32_t i;

	for (i = 0; i < model__max_agg(m); i++) {
		const struct agg_info *a = model__agg(m, i);
		const struct code_info *c;

		if (!a || !model__agg_matches(m, a, p) || !(c = model__code(m, a->key.code_id)))
			continue;
		if (c->co_flags & (PY_CO_COROUTINE | PY_CO_GENERATOR | PY_CO_ASYNC_GENERATOR))
			return true;
	}
	return false;
}

static void pattern_head(FILE *out, const struct pattern *p, const struct pat_result *pr,
			 const struct prof_opts *o)
{
	char tot[32];

	fmt_ns(tot, sizeof(tot), (double)pr->lat.sum_ns);
	if (o->sampled)
		fprintf(out, "\n%s (%s): calls found by the samples (not counted)\n", p->name,
			p->spec);
	else
		fprintf(out, "\n%s (%s): %" PRIu64 " calls, %s in them\n", p->name, p->spec,
			pr->count, pr->timed ? tot : "time unknown");
}

/* The top functions of one kind of sample: by self weight, then by total. */
static void top_text(FILE *out, const struct prof_result *r, uint8_t kind, int top)
{
	char w[32];
	size_t j;

	fprintf(out, "  %10s %6s  %s\n", "SELF", "%", "FUNCTION (self)");
	for (j = 0; j < r->nself && (int)j < top && r->self[j].self; j++) {
		fmt_weight(w, sizeof(w), r->self[j].self, kind);
		fprintf(out, "  %10s %5.1f%%  %.80s\n", w,
			100.0 * (double)r->self[j].self / (double)r->weight, r->self[j].func);
	}
	fprintf(out, "  %10s %6s  %s\n", "TOTAL", "%", "FUNCTION (self and callees)");
	for (j = 0; j < r->ntotal && (int)j < top; j++) {
		fmt_weight(w, sizeof(w), r->total[j].total, kind);
		fprintf(out, "  %10s %5.1f%%  %.80s\n", w,
			100.0 * (double)r->total[j].total / (double)r->weight, r->total[j].func);
	}
}

/* Pattern i's time of one kind (on or off CPU); false if it has none. */
static bool kind_text(FILE *out, const struct model *m, size_t i, uint8_t kind,
		      const struct prof_opts *o)
{
	struct prof_result r;
	char tw[32];

	if (profile_result(m, i, kind, &r))
		return false;
	fmt_weight(tw, sizeof(tw), r.weight, kind);
	if (!r.weight) {
		fprintf(out, "  %s: nothing\n", kind == PS_SAMPLE_CPU ? "on CPU" : "off CPU");
		prof_result_free(&r);
		return false;
	}
	if (kind == PS_SAMPLE_CPU)
		fprintf(out, "  on CPU: %s samples (about %.1f ms)\n", tw,
			(double)r.weight * 1000.0 / o->hz);
	else
		fprintf(out, "  off CPU: %s blocked in %" PRIu64 " waits\n", tw, r.events);
	if (r.chain[0])
		fprintf(out, "  %.0f%% of it is in %s\n",
			100.0 * (double)r.chain_weight / (double)r.weight, r.chain);
	top_text(out, &r, kind, o->top);
	prof_result_free(&r);
	return true;
}

/* A coroutine's time: running (the samples) and awaiting (the rest of its calls' time). */
static void coroutine_text(FILE *out, const struct model *m, size_t i, const struct pat_result *pr,
			   const struct prof_opts *o)
{
	struct prof_result r;
	double run, all = (double)pr->lat.sum_ns;
	char a[32], b[32];

	if (profile_result(m, i, PS_SAMPLE_CPU, &r))
		return;
	run = (double)r.weight * 1e9 / o->hz;
	fmt_ns(a, sizeof(a), run);
	fmt_ns(b, sizeof(b), all > run ? all - run : 0);
	fprintf(out, "  coroutine: running about %s, awaiting about %s\n", a, b);
	prof_result_free(&r);
}

/* Where p's coroutines awaited. */
static void awaits_text(FILE *out, const struct model *m, const struct pattern *p)
{
	const struct await_row *aw;
	size_t naw = model__awaits(m, &aw), j;

	for (j = 0; j < naw; j++) {
		const struct agg_info *a = model__agg(m, aw[j].key.agg_id);
		const struct code_info *c;
		struct ps_frame fr;
		char text[PS_QUAL_LEN + PS_FILE_LEN + 32];

		if (!a || !model__agg_matches(m, a, p) || !(c = model__code(m, a->key.code_id)))
			continue;
		fr.code_id = c->id;
		fr.offset = aw[j].key.offset;
		model__frame_text(m, &fr, text, sizeof(text));
		fprintf(out, "  awaited %" PRIu64 " times at %.80s\n", aw[j].count, text);
	}
}

void report_profile_text(FILE *out, const struct model *m, const struct prof_opts *o)
{
	const struct patterns *ps = model__patterns(m);
	size_t i;

	fprintf(out, "\nprofile: %u Hz on CPU%s; time inside each pattern's calls\n", o->hz,
		o->offcpu ? ", and waits off CPU" : "");
	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		struct pat_result pr;
		bool any;

		if (model__result(m, i, &pr))
			continue;
		pattern_head(out, p, &pr, o);
		any = kind_text(out, m, i, PS_SAMPLE_CPU, o);
		if (o->offcpu)
			any |= kind_text(out, m, i, PS_SAMPLE_OFFCPU, o);
		if (is_async(m, p))
			coroutine_text(out, m, i, &pr, o);
		awaits_text(out, m, p);
		if (!any)
			fprintf(out, "  (no samples inside its calls)\n");
		pat_result__free(&pr);
	}
}

static cJSON *fn_json(const struct fn_stat *v, size_t n, bool self, int top)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n && (int)i < top; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "function", v[i].func);
		cJSON_AddNumberToObject(o, self ? "self" : "total", (double)(self ? v[i].self : v[i].total));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* Where p's coroutines awaited: [{site, function, count}]. */
static cJSON *awaits_json(const struct model *m, const struct pattern *p)
{
	const struct await_row *aw;
	size_t naw = model__awaits(m, &aw), j;
	cJSON *arr = cJSON_CreateArray();

	for (j = 0; j < naw; j++) {
		const struct agg_info *a = model__agg(m, aw[j].key.agg_id);
		const struct code_info *c;
		char func[PS_QUAL_LEN], where[PS_FILE_LEN + 16];
		struct ps_frame fr;
		cJSON *o;

		if (!a || !model__agg_matches(m, a, p) || !(c = model__code(m, a->key.code_id)))
			continue;
		fr.code_id = c->id;
		fr.offset = aw[j].key.offset;
		model__frame_parts(m, &fr, func, sizeof(func), where, sizeof(where));
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "site", where);
		cJSON_AddStringToObject(o, "function", func);
		cJSON_AddNumberToObject(o, "count", (double)aw[j].count);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *report_profile_json(const struct model *m, const struct prof_opts *o)
{
	const struct patterns *ps = model__patterns(m);
	cJSON *root = cJSON_CreateObject(), *arr;
	size_t i;
	int ki;

	cJSON_AddNumberToObject(root, "hz", o->hz);
	cJSON_AddBoolToObject(root, "off_cpu", o->offcpu);
	arr = cJSON_AddArrayToObject(root, "patterns");
	for (i = 0; i < ps->n; i++) {
		cJSON *po = cJSON_CreateObject();

		cJSON_AddStringToObject(po, "name", ps->v[i].name);
		cJSON_AddItemToObject(po, "awaits", awaits_json(m, &ps->v[i]));
		for (ki = 0; ki < 2; ki++) {
			uint8_t kind = ki ? PS_SAMPLE_OFFCPU : PS_SAMPLE_CPU;
			struct prof_result r;
			cJSON *ko;

			if ((kind == PS_SAMPLE_OFFCPU && !o->offcpu) || profile_result(m, i, kind, &r))
				continue;
			ko = cJSON_AddObjectToObject(po, ki ? "off_cpu" : "on_cpu");
			cJSON_AddNumberToObject(ko, ki ? "blocked_ns" : "samples", (double)r.weight);
			cJSON_AddNumberToObject(ko, "events", (double)r.events);
			cJSON_AddStringToObject(ko, "chain", r.chain);
			cJSON_AddNumberToObject(ko, "chain_weight", (double)r.chain_weight);
			cJSON_AddItemToObject(ko, "top_self", fn_json(r.self, r.nself, true, o->top));
			cJSON_AddItemToObject(ko, "top_total", fn_json(r.total, r.ntotal, false, o->top));
			prof_result_free(&r);
		}
		cJSON_AddItemToArray(arr, po);
	}
	return root;
}

int report_profile_folded(FILE *out, const struct model *m, bool offcpu)
{
	const struct patterns *ps = model__patterns(m);
	const struct sample_row *rows;
	size_t nrows = model__samples(m, &rows), i, j;
	uint8_t kind = offcpu ? PS_SAMPLE_OFFCPU : PS_SAMPLE_CPU;

	for (i = 0; i < ps->n; i++) {
		for (j = 0; j < nrows; j++) {
			const struct sample_row *r = &rows[j];
			const struct stack_info *si;
			int k;

			if (!row_of(m, r, &ps->v[i], kind))
				continue;
			si = model__stack(m, r->key.stack);
			fprintf(out, "[%s]", ps->v[i].name);
			for (k = r->key.win_depth; k >= 0 && (uint32_t)k < si->n; k--) {
				char name[FUNC_LEN], *c;

				fn_name(m, &si->frames[k], name, sizeof(name));
				for (c = name; *c; c++)
					if (*c == ';')
						*c = ',';
				fprintf(out, ";%s", name);
			}
			fprintf(out, " %" PRIu64 "\n", weight(r));
		}
	}
	return 0;
}
