// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the JSON pattern parser (-f FILE) and, with the same
 * bytes, a -e expression.  Every parsed pattern is then matched against a
 * signature built from its own constraints, which must hold.  Rules, if
 * any, are compiled and fed a few calls of every pattern.
 */
#include "model/pattern.h"
#include "model/pattern_spec.h"
#include "model/pattern_json.h"
#include "sink/rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_patterns(const struct patterns *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		struct call_sig sig;
		int k, skip = p->skip_self ? 1 : 0;

		/* every string field is terminated inside its array */
		if (strnlen(p->name, sizeof(p->name)) == sizeof(p->name) ||
		    strnlen(p->module, sizeof(p->module)) == sizeof(p->module) ||
		    strnlen(p->qualname, sizeof(p->qualname)) == sizeof(p->qualname) ||
		    strnlen(p->leaf, sizeof(p->leaf)) == sizeof(p->leaf) ||
		    strnlen(p->description, sizeof(p->description)) == sizeof(p->description))
			abort();
		if (p->nargs_c < 0 || p->nargs_c > PS_MAX_SIG || p->nkwargs < 0 ||
		    p->nkwargs > PS_MAX_KW)
			abort();
		/* a call that passes exactly what the pattern asks for matches it */
		memset(&sig, 0, sizeof(sig));
		sig.ntypes = skip + (p->nargs_eq >= 0 ? p->nargs_eq : p->nargs_c);
		if (sig.ntypes > PS_MAX_SIG)
			continue;
		for (k = 0; k < sig.ntypes; k++)
			sig.types[k] = k >= skip && k - skip < p->nargs_c ? p->args[k - skip] : "x";
		if (!p->no_kwargs) {
			sig.nkw = p->nkwargs;
			for (k = 0; k < p->nkwargs; k++)
				sig.kw[k] = p->kwargs[k];
		}
		if (p->nargs_c <= sig.ntypes - skip && !pattern__sig_matches(p, &sig))
			abort();
		(void)pattern__func_matches(p, p->module, p->qualname);
		(void)pattern__kernel_name(p, true);
		(void)pattern__class_name(p);
	}
}

static void on_violation(void *ctx, const struct rule_violation *v)
{
	(void)ctx;
	if (v->nseen > RULES_MAX_SEEN || !memchr(v->key, '\0', sizeof(v->key)))
		abort();
}

static void check_rules(const struct patterns *ps)
{
	struct rules *r;
	uint64_t ts = 1;
	size_t i;
	int k;

	if (!ps->nrules || rules__new(&r, ps, on_violation, NULL))
		return;
	for (k = 0; k < 3; k++) {
		for (i = 0; i < ps->n; i++) {
			int pat = (int)i;
			struct rule_event ev = { .ts_ns = ts++, .self = 0x1000 + (uint64_t)k * 16,
						 .key = (uint64_t)(k + (int)i) % 2,
						 .key_kind = k == 2 ? RK_NONE : RK_STR, .key_text = "k",
						 .pats = &pat, .npats = 1 };

			rules__feed(r, &ev);
		}
		rules__tick(r, ts * 1000000000ull);
	}
	rules__finish(r, ts);
	rules__free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patterns ps = { 0 };
	char err[512], *expr;

	err[0] = '\0';
	if (!pattern_json__parse(&ps, (const char *)data, size, "fuzz.json", err, sizeof(err))) {
		check_patterns(&ps);
		check_rules(&ps);
	}
	else if (!err[0] || !memchr(err, '\0', sizeof(err)))
		abort();	/* a failure always says why */
	patterns__free(&ps);

	expr = malloc(size + 1);
	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	if (!pattern_spec__add_expr(&ps, expr, err, sizeof(err)))
		check_patterns(&ps);
	patterns__free(&ps);
	free(expr);
	return 0;
}
