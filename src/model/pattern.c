// SPDX-License-Identifier: MIT
#include "model/pattern.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int patterns__find(const struct patterns *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].name, name))
			return (int)i;
	return -1;
}

int patterns__add(struct patterns *ps, const struct pattern *p, char *err, size_t errlen)
{
	struct pattern *nv;

	if (ps->n >= PAT_MAX) {
		set_err(err, errlen, "too many patterns (at most %d)", PAT_MAX);
		return -E2BIG;
	}
	if (patterns__find(ps, p->name) >= 0) {
		set_err(err, errlen, "duplicate pattern name '%s'", p->name);
		return -EEXIST;
	}
	nv = realloc(ps->v, (ps->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ps->v = nv;
	ps->v[ps->n++] = *p;
	return 0;
}

bool patterns__in_rule(const struct patterns *ps, size_t pidx, const char **key)
{
	bool in = false;
	size_t j;
	int s, g;

	*key = "";
	for (j = 0; j < ps->nrules; j++) {
		const struct rule *r = &ps->rules[j];
		bool here = false;

		for (s = 0; r->kind == RULE_SEQUENCE && s < r->nsteps; s++)
			for (g = 0; g < r->steps[s].npats; g++)
				here |= r->steps[s].pats[g] == (int)pidx;
		for (s = 0; s < r->ncalls; s++)
			here |= r->calls[s] == (int)pidx;
		for (s = 0; s < r->nresets; s++)
			in |= r->resets[s] == (int)pidx;
		if (here && !r->key_self)
			*key = r->key;
		in |= here;
	}
	return in;
}

void patterns__free(struct patterns *ps)
{
	free(ps->v);
	free(ps->rules);
	ps->v = NULL;
	ps->n = 0;
	ps->rules = NULL;
	ps->nrules = 0;
}

bool pattern__type_matches(const char *want, const char *have)
{
	size_t lw, lh;

	if (!want[0])
		return true;
	if (!have)
		return false;
	if (!strcmp(want, have))
		return true;
	/* "Name" matches "Outer.Name"; "mod.Name" matches a static type's tp_name */
	lw = strlen(want);
	lh = strlen(have);
	if (lh > lw && have[lh - lw - 1] == '.' && !strcmp(have + lh - lw, want))
		return true;
	return false;
}

bool pattern__sig_matches(const struct pattern *p, const struct call_sig *sig)
{
	int skip = p->skip_self ? 1 : 0, i, j;
	int npos = sig->ntypes - skip;

	if (npos < 0)
		npos = 0;
	if (p->nargs_eq >= 0 && npos != p->nargs_eq)
		return false;
	for (i = 0; i < p->nargs_c; i++) {
		if (!p->args[i][0])
			continue;
		if (i >= npos || !pattern__type_matches(p->args[i], sig->types[i + skip]))
			return false;
	}
	if (p->no_kwargs && sig->nkw)
		return false;
	for (i = 0; i < p->nkwargs; i++) {
		for (j = 0; j < sig->nkw; j++)
			if (!strcmp(p->kwargs[i], sig->kw[j]))
				break;
		if (j == sig->nkw)
			return false;
	}
	return true;
}

bool pattern__func_matches(const struct pattern *p, const char *module, const char *qualname)
{
	return p->kind == PAT_FUNC && !strcmp(p->module, module) && !strcmp(p->qualname, qualname);
}

const char *pattern__kernel_name(const struct pattern *p, bool qual_names)
{
	return qual_names ? p->qualname : p->leaf;
}

const char *pattern__class_name(const struct pattern *p)
{
	return p->leaf;
}
