// SPDX-License-Identifier: MIT
#include "model/model_result.h"
#include "model/model_text.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void sig_of(const struct agg_info *a, struct call_sig *sig)
{
	int i;

	memset(sig, 0, sizeof(*sig));
	sig->ntypes = a->key.nargs;
	for (i = 0; i < PS_MAX_SIG; i++)
		sig->types[i] = a->types[i];
	sig->nkw = a->nkw;
	for (i = 0; i < a->nkw; i++)
		sig->kw[i] = a->kw[i];
	sig->kw_truncated = a->key.flags & PS_AGG_KW_TRUNC;
}

/* Is this aggregate a construction of p's class (before signature checks)? */
static bool class_call(const struct code_info *ci, const struct agg_info *a,
		       const struct pattern *p, bool is_new)
{
	size_t ql = strlen(p->qualname);

	if (strcmp(ci->name, is_new ? "__new__" : "__init__"))
		return false;
	if (is_new != !!(a->key.flags & PS_AGG_NEW))
		return false;
	if (a->key.flags & PS_AGG_CHAINED)
		return false;
	if (strcmp(a->types[0], p->qualname))
		return false;
	/* the class's own __init__: its module must be the pattern's */
	if (ci->qual_known && ci->module[0] && !strncmp(ci->qualname, p->qualname, ql) &&
	    ci->qualname[ql] == '.' && !strcmp(ci->qualname + ql + 1, ci->name) &&
	    strcmp(ci->module, p->module))
		return false;
	return true;
}

/* Aggregate i if known, and the code it counts (NULL if either is unknown). */
static const struct agg_info *agg_code(const struct model *m, uint32_t i,
				       const struct code_info **ci)
{
	const struct agg_info *a = model__agg(m, i);

	*ci = a ? model__code(m, a->key.code_id) : NULL;
	return *ci ? a : NULL;
}

/* Did any __init__ of p's class run?  Then __new__ calls are not constructions. */
static bool class_has_init(const struct model *m, const struct pattern *p)
{
	uint32_t i, n = model__max_agg(m);

	for (i = 0; i < n; i++) {
		const struct code_info *ci;
		const struct agg_info *a = agg_code(m, i, &ci);

		if (a && class_call(ci, a, p, false))
			return true;
	}
	return false;
}

static bool agg_matches(const struct model *m, const struct agg_info *a, const struct pattern *p,
			bool has_init)
{
	const struct code_info *ci = model__code(m, a->key.code_id);
	struct call_sig sig;

	if (!ci)
		return false;
	sig_of(a, &sig);
	if (p->kind == PAT_FUNC) {
		if (!ci->qual_known || strcmp(ci->qualname, p->qualname) ||
		    strcmp(ci->name, p->leaf))
			return false;
		if (ci->module[0] && strcmp(ci->module, p->module))
			return false;
		return pattern__sig_matches(p, &sig);
	}
	if (!class_call(ci, a, p, false) && (has_init || !class_call(ci, a, p, true)))
		return false;
	return pattern__sig_matches(p, &sig);
}

bool model__pattern_matched_code(const struct model *m, size_t pidx)
{
	const struct pattern *p = &model__patterns(m)->v[pidx];
	uint32_t i, n = model__max_agg(m);

	for (i = 0; i < n; i++) {
		const struct code_info *ci;
		const struct agg_info *a = agg_code(m, i, &ci);

		if (!a)
			continue;
		if (p->kind == PAT_CLASS) {
			if (class_call(ci, a, p, false) || class_call(ci, a, p, true))
				return true;
			continue;
		}
		if (strcmp(ci->name, p->leaf) || (ci->module[0] && strcmp(ci->module, p->module)))
			continue;
		if (!ci->qual_known || !strcmp(ci->qualname, p->qualname))
			return true;
	}
	return false;
}

bool model__agg_matches(const struct model *m, const struct agg_info *a, const struct pattern *p)
{
	return agg_matches(m, a, p, p->kind == PAT_CLASS ? class_has_init(m, p) : true);
}

/* Rows with more calls first (the comparators' first key). */
static int most_first(uint64_t a, uint64_t b)
{
	return a == b ? 0 : a < b ? 1 : -1;
}

static int sig_cmp(const void *x, const void *y)
{
	const struct sig_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: strcmp(a->text, b->text);
}

static int path_cmp(const void *x, const void *y)
{
	const struct path_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: a->stack < b->stack ? -1 : a->stack > b->stack;
}

static int cap_cmp(const void *x, const void *y)
{
	const struct cap_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: strcmp(a->value, b->value);
}

static int site_cmp(const void *x, const void *y)
{
	const struct site_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: strcmp(a->where, b->where);
}

/* The rows of a growing array: room for n + 1, the last one zeroed; NULL without memory. */
static void *grow(void *rows, size_t n, size_t size)
{
	char *nr = realloc(rows, (n + 1) * size);

	if (nr)
		memset(nr + n * size, 0, size);
	return nr;
}

static int add_sig(struct pat_result *out, const struct agg_info *a, bool skip_self)
{
	char text[sizeof(out->sigs[0].text)];
	struct sig_row *n;
	size_t j;

	model__agg_sig(a, skip_self, text, sizeof(text));
	for (j = 0; j < out->nsigs; j++)
		if (!strcmp(out->sigs[j].text, text))
			break;
	if (j == out->nsigs) {
		n = grow(out->sigs, j, sizeof(*n));
		if (!n)
			return -ENOMEM;
		out->sigs = n;
		str_copy(n[j].text, text, sizeof(n[j].text));
		out->nsigs++;
	}
	out->sigs[j].count += a->st.count;
	return 0;
}

/* One row per file:line and function: a line may hold several calls. */
static int add_site(const struct model *m, struct pat_result *out, const struct agg_info *a)
{
	char where[sizeof(out->sites[0].where)], func[sizeof(out->sites[0].func)];
	struct site_row *site;
	size_t j;

	model__agg_site(m, a, where, sizeof(where), func, sizeof(func));
	for (j = 0; j < out->nsites; j++)
		if (!strcmp(out->sites[j].where, where) && !strcmp(out->sites[j].func, func))
			break;
	if (j == out->nsites) {
		site = grow(out->sites, j, sizeof(*site));
		if (!site)
			return -ENOMEM;
		out->sites = site;
		str_copy(site[j].where, where, sizeof(site[j].where));
		str_copy(site[j].func, func, sizeof(site[j].func));
		site[j].caller_id = a->key.caller_id;
		site[j].caller_off = (a->key.flags & PS_AGG_NO_CALLER) ? ~0u : a->key.caller_off;
		out->nsites++;
	}
	site = &out->sites[j];
	if (!site->first_ns || a->first_ns < site->first_ns)
		site->first_ns = a->first_ns;
	if (a->st.last_ns > site->last_ns)
		site->last_ns = a->st.last_ns;
	if (!site->example_stack)
		site->example_stack = a->key.stack;
	site->count += a->st.count;
	site->timed += a->st.timed;
	site->sum_ns += a->st.sum_ns;
	site->max_ns = MAX(site->max_ns, a->st.max_ns);
	hist_add(site->hist, a->st.hist);
	return 0;
}

static int add_path(struct pat_result *out, const struct agg_info *a)
{
	struct path_row *n;
	size_t j;

	if (!a->key.stack)
		return 0;
	for (j = 0; j < out->npaths; j++)
		if (out->paths[j].stack == a->key.stack)
			break;
	if (j == out->npaths) {
		n = grow(out->paths, j, sizeof(*n));
		if (!n)
			return -ENOMEM;
		out->paths = n;
		n[j].stack = a->key.stack;
		out->npaths++;
	}
	out->paths[j].count += a->st.count;
	out->paths[j].timed += a->st.timed;
	out->paths[j].sum_ns += a->st.sum_ns;
	out->paths[j].max_ns = MAX(out->paths[j].max_ns, a->st.max_ns);
	return 0;
}

static int add_cap(struct pat_result *out, const struct agg_info *a)
{
	struct cap_row *n;
	size_t j;

	if (!a->capture[0])
		return 0;
	for (j = 0; j < out->ncaps; j++)
		if (!strcmp(out->caps[j].value, a->capture))
			break;
	if (j == out->ncaps) {
		n = grow(out->caps, j, sizeof(*n));
		if (!n)
			return -ENOMEM;
		out->caps = n;
		str_copy(n[j].value, a->capture, sizeof(n[j].value));
		out->ncaps++;
	}
	out->caps[j].count += a->st.count;
	return 0;
}

static void sort_rows(struct pat_result *out)
{
	if (out->nsigs)
		qsort(out->sigs, out->nsigs, sizeof(*out->sigs), sig_cmp);
	if (out->nsites)
		qsort(out->sites, out->nsites, sizeof(*out->sites), site_cmp);
	if (out->npaths)
		qsort(out->paths, out->npaths, sizeof(*out->paths), path_cmp);
	if (out->ncaps)
		qsort(out->caps, out->ncaps, sizeof(*out->caps), cap_cmp);
}

int model__result(const struct model *m, size_t pidx, struct pat_result *out)
{
	const struct pattern *p = &model__patterns(m)->v[pidx];
	bool has_init = p->kind == PAT_CLASS ? class_has_init(m, p) : true;
	uint32_t i, n = model__max_agg(m);
	uint64_t sum = 0, max = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		const struct agg_info *a = model__agg(m, i);

		if (!a || !agg_matches(m, a, p, has_init))
			continue;
		out->count += a->st.count;
		out->timed += a->st.timed;
		sum += a->st.sum_ns;
		max = MAX(max, a->st.max_ns);
		hist_add(out->hist, a->st.hist);
		if (add_sig(out, a, p->skip_self) || add_site(m, out, a) || add_path(out, a) ||
		    add_cap(out, a)) {
			pat_result__free(out);
			return -ENOMEM;
		}
	}
	hist_summary(out->hist, sum, max, &out->lat);
	sort_rows(out);
	return 0;
}

void pat_result__free(struct pat_result *r)
{
	free(r->sigs);
	free(r->sites);
	free(r->paths);
	free(r->caps);
	r->sigs = NULL;
	r->sites = NULL;
	r->paths = NULL;
	r->caps = NULL;
	r->nsigs = r->nsites = r->npaths = r->ncaps = 0;
}
