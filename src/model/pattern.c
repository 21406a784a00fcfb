// SPDX-License-Identifier: MIT
#include "model/pattern.h"
#include "util/util.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python identifiers as they appear in dotted names (ASCII subset, plus <locals>). */
static bool valid_dotted(const char *s, bool allow_locals)
{
	bool start = true;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (start)
				return false;
			start = true;
			continue;
		}
		if (allow_locals && start && !strncmp(s, "<locals>", 8)) {
			s += 7;
			start = false;
			continue;
		}
		if (!(isalnum((unsigned char)*s) || *s == '_' || ((unsigned char)*s >= 0x80)))
			return false;
		if (start && isdigit((unsigned char)*s))
			return false;
		start = false;
	}
	return !start;
}

static bool valid_name(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
			return false;
	}
	return n > 0 && n < PAT_NAME_LEN;
}

/* Is qualname a method (its owner is a class, not a function's locals)? */
static bool is_method(const char *qualname)
{
	const char *dot = strrchr(qualname, '.');

	if (!dot)
		return false;
	return !(dot - qualname >= 8 && !strncmp(dot - 8, "<locals>", 8));
}

int pattern_parse_spec(const char *spec, struct pattern *p, char *err, size_t errlen)
{
	const char *rest = spec, *colon, *dot;
	size_t mlen;

	if (strlen(spec) >= sizeof(p->spec)) {
		set_err(err, errlen, "pattern '%.40s...' is too long", spec);
		return -EINVAL;
	}
	str_copy(p->spec, spec, sizeof(p->spec));
	p->kind = PAT_FUNC;
	if (str_starts(rest, "class:")) {
		p->kind = PAT_CLASS;
		rest += 6;
	} else if (str_starts(rest, "func:")) {
		rest += 5;
	}
	colon = strchr(rest, ':');
	if (!colon || strchr(colon + 1, ':')) {
		set_err(err, errlen,
			"pattern '%s': expected [func:]module:Qual.name or class:module:Class", spec);
		return -EINVAL;
	}
	mlen = (size_t)(colon - rest);
	if (!mlen || mlen >= sizeof(p->module) || strlen(colon + 1) >= sizeof(p->qualname)) {
		set_err(err, errlen, "pattern '%s': module or name is empty or too long", spec);
		return -EINVAL;
	}
	memcpy(p->module, rest, mlen);
	p->module[mlen] = '\0';
	str_copy(p->qualname, colon + 1, sizeof(p->qualname));
	if (!valid_dotted(p->module, false) || !valid_dotted(p->qualname, true)) {
		set_err(err, errlen, "pattern '%s': not a valid dotted Python name", spec);
		return -EINVAL;
	}
	dot = strrchr(p->qualname, '.');
	str_copy(p->leaf, dot ? dot + 1 : p->qualname, sizeof(p->leaf));
	p->skip_self = p->kind == PAT_CLASS || is_method(p->qualname);
	p->nargs_eq = -1;
	return 0;
}

static int check_unique(const struct patterns *ps, const char *name, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		if (!strcmp(ps->v[i].name, name)) {
			set_err(err, errlen, "duplicate pattern name '%s'", name);
			return -EEXIST;
		}
	}
	return 0;
}

static int push(struct patterns *ps, const struct pattern *p, char *err, size_t errlen)
{
	struct pattern *nv;
	int ret;

	if (ps->n >= PAT_MAX) {
		set_err(err, errlen, "too many patterns (at most %d)", PAT_MAX);
		return -E2BIG;
	}
	ret = check_unique(ps, p->name, err, errlen);
	if (ret)
		return ret;
	nv = realloc(ps->v, (ps->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ps->v = nv;
	ps->v[ps->n++] = *p;
	return 0;
}

int patterns_add_expr(struct patterns *ps, const char *expr, char *err, size_t errlen)
{
	struct pattern p;
	const char *eq = strchr(expr, '=');
	const char *spec = eq ? eq + 1 : expr;
	int ret;

	memset(&p, 0, sizeof(p));
	ret = pattern_parse_spec(spec, &p, err, errlen);
	if (ret)
		return ret;
	if (eq) {
		if ((size_t)(eq - expr) >= sizeof(p.name)) {
			set_err(err, errlen, "pattern name in '%s' is too long", expr);
			return -EINVAL;
		}
		memcpy(p.name, expr, (size_t)(eq - expr));
		p.name[eq - expr] = '\0';
	} else {
		/* default name: the spec's qualified name */
		str_copy(p.name, p.qualname, sizeof(p.name));
	}
	if (!valid_name(p.name)) {
		set_err(err, errlen, "bad pattern name '%s' (letters, digits, _ . -)", p.name);
		return -EINVAL;
	}
	return push(ps, &p, err, errlen);
}

/* Well-formed UTF-8 (no overlongs, no surrogates). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/*
 * Depth of the deepest array or object (outside strings), stopping at max+1.
 * A pattern file needs 3 levels; refusing deep ones up front gives a clear
 * error and keeps the parser's recursion short.
 */
static int json_depth(const char *s, size_t n, int max, const char **where)
{
	bool in_str = false;
	int depth = 0, deepest = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > deepest)
				deepest = depth;
			if (depth > max) {
				*where = s + i;
				break;
			}
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return deepest;
}

static long line_of(const char *text, size_t len, const char *at)
{
	const char *q;
	long line = 1;

	for (q = text; at && q < at && q < text + len; q++)
		line += *q == '\n';
	return line;
}

static const char *const known_keys[] = {
	"name", "spec", "function", "class", "args", "nargs", "kwargs", "no_kwargs", "self",
	"forbid", "legacy", "description",
};

static int parse_one(const cJSON *o, int idx, struct pattern *p, char *err, size_t errlen)
{
	const cJSON *it, *spec = NULL;
	int nspec = 0, ret;
	size_t k;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(o)) {
		set_err(err, errlen, "pattern #%d: expected an object", idx + 1);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, o) {
		for (k = 0; k < ARRAY_SIZE(known_keys); k++)
			if (it->string && !strcmp(it->string, known_keys[k]))
				break;
		if (k == ARRAY_SIZE(known_keys)) {
			set_err(err, errlen, "pattern #%d: unknown key '%s'", idx + 1,
				it->string ? it->string : "?");
			return -EINVAL;
		}
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "spec");
	if (it) {
		spec = it;
		nspec++;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "function");
	if (it) {
		spec = it;
		nspec++;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "class");
	if (it) {
		spec = it;
		nspec++;
	}
	if (nspec != 1 || !cJSON_IsString(spec)) {
		set_err(err, errlen,
			"pattern #%d: give exactly one of \"spec\", \"function\" or \"class\" (a string)",
			idx + 1);
		return -EINVAL;
	}
	if (!strcmp(spec->string, "class")) {
		char buf[sizeof(p->spec) + 8];

		if (strlen(spec->valuestring) >= sizeof(p->spec) - 6) {
			set_err(err, errlen, "pattern #%d: class name too long", idx + 1);
			return -EINVAL;
		}
		snprintf(buf, sizeof(buf), "class:%s", spec->valuestring);
		ret = pattern_parse_spec(buf, p, err, errlen);
	} else if (!strcmp(spec->string, "function") && str_starts(spec->valuestring, "class:")) {
		set_err(err, errlen, "pattern #%d: \"function\" cannot name a class: use \"class\"",
			idx + 1);
		return -EINVAL;
	} else {
		ret = pattern_parse_spec(spec->valuestring, p, err, errlen);
	}
	if (ret)
		return ret;

	it = cJSON_GetObjectItemCaseSensitive(o, "name");
	if (it) {
		if (!cJSON_IsString(it) || !valid_name(it->valuestring)) {
			set_err(err, errlen,
				"pattern #%d: \"name\" must be letters, digits, _ . - (max %d)", idx + 1,
				PAT_NAME_LEN - 1);
			return -EINVAL;
		}
		str_copy(p->name, it->valuestring, sizeof(p->name));
	} else {
		str_copy(p->name, p->qualname, sizeof(p->name));
		if (!valid_name(p->name)) {
			set_err(err, errlen, "pattern #%d: give it a \"name\"", idx + 1);
			return -EINVAL;
		}
	}

	it = cJSON_GetObjectItemCaseSensitive(o, "self");
	if (it) {
		if (!cJSON_IsBool(it)) {
			set_err(err, errlen, "pattern '%s': \"self\" must be true or false", p->name);
			return -EINVAL;
		}
		p->skip_self = cJSON_IsTrue(it);
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "args");
	if (it) {
		const cJSON *a;
		int n = 0;

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) > PS_MAX_SIG - 1) {
			set_err(err, errlen, "pattern '%s': \"args\" must be a list of at most %d "
				"type names (null or \"*\" for any)", p->name, PS_MAX_SIG - 1);
			return -EINVAL;
		}
		cJSON_ArrayForEach(a, it) {
			if (cJSON_IsNull(a) || (cJSON_IsString(a) && !strcmp(a->valuestring, "*"))) {
				p->args[n][0] = '\0';
			} else if (cJSON_IsString(a) && valid_dotted(a->valuestring, true) &&
				   strlen(a->valuestring) < PS_TYPE_LEN) {
				str_copy(p->args[n], a->valuestring, PS_TYPE_LEN);
			} else {
				set_err(err, errlen, "pattern '%s': args[%d] is not a type name",
					p->name, n);
				return -EINVAL;
			}
			n++;
		}
		p->nargs_c = n;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "nargs");
	p->nargs_eq = -1;
	if (it) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 ||
		    it->valuedouble > PS_MAX_SIG - 2 || it->valuedouble != (int)it->valuedouble) {
			set_err(err, errlen, "pattern '%s': \"nargs\" must be an integer 0..%d",
				p->name, PS_MAX_SIG - 2);
			return -EINVAL;
		}
		p->nargs_eq = (int)it->valuedouble;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "kwargs");
	if (it) {
		const cJSON *a;
		int n = 0;

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) > PS_MAX_KW) {
			set_err(err, errlen, "pattern '%s': \"kwargs\" must be a list of at most %d "
				"names", p->name, PS_MAX_KW);
			return -EINVAL;
		}
		cJSON_ArrayForEach(a, it) {
			if (!cJSON_IsString(a) || !valid_dotted(a->valuestring, false) ||
			    strchr(a->valuestring, '.') || strlen(a->valuestring) >= PS_KW_LEN) {
				set_err(err, errlen, "pattern '%s': kwargs[%d] is not a keyword name",
					p->name, n);
				return -EINVAL;
			}
			str_copy(p->kwargs[n++], a->valuestring, PS_KW_LEN);
		}
		p->nkwargs = n;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "no_kwargs");
	if (it) {
		if (!cJSON_IsBool(it)) {
			set_err(err, errlen, "pattern '%s': \"no_kwargs\" must be true or false",
				p->name);
			return -EINVAL;
		}
		p->no_kwargs = cJSON_IsTrue(it);
	}
	if (p->no_kwargs && p->nkwargs) {
		set_err(err, errlen, "pattern '%s': \"kwargs\" and \"no_kwargs\" contradict", p->name);
		return -EINVAL;
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "forbid");
	if (it) {
		if (!cJSON_IsBool(it)) {
			set_err(err, errlen, "pattern '%s': \"forbid\" must be true or false", p->name);
			return -EINVAL;
		}
		p->forbid = cJSON_IsTrue(it);
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "legacy");
	if (it) {
		if (!cJSON_IsBool(it)) {
			set_err(err, errlen, "pattern '%s': \"legacy\" must be true or false", p->name);
			return -EINVAL;
		}
		p->legacy = cJSON_IsTrue(it);
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "description");
	if (it) {
		if (!cJSON_IsString(it)) {
			set_err(err, errlen, "pattern '%s': \"description\" must be a string", p->name);
			return -EINVAL;
		}
		str_copy(p->description, it->valuestring, sizeof(p->description));
	}
	return 0;
}

static int find_pattern(const struct patterns *ps, const cJSON *it)
{
	size_t i;

	if (!cJSON_IsString(it))
		return -1;
	for (i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].name, it->valuestring))
			return (int)i;
	return -1;
}

/* A list of pattern names into idx[]; empty lists refused when required. */
static int parse_pat_list(const struct patterns *ps, const struct rule *r, const cJSON *list,
			  const char *what, int *idx, int max, int *n, char *err, size_t errlen)
{
	const cJSON *it;

	*n = 0;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 ||
	    cJSON_GetArraySize(list) > max) {
		set_err(err, errlen, "rule '%s': \"%s\" must be a list of 1 to %d pattern names",
			r->name, what, max);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, list) {
		int k = find_pattern(ps, it);

		if (k < 0) {
			set_err(err, errlen, "rule '%s': \"%s\" names no pattern (%s)", r->name, what,
				cJSON_IsString(it) ? it->valuestring : "not a string");
			return -EINVAL;
		}
		idx[(*n)++] = k;
	}
	return 0;
}

static int parse_bool(const cJSON *o, const char *key, bool *v, const struct rule *r, char *err,
		      size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!it)
		return 0;
	if (!cJSON_IsBool(it)) {
		set_err(err, errlen, "rule '%s': \"%s\" must be true or false", r->name, key);
		return -EINVAL;
	}
	*v = cJSON_IsTrue(it);
	return 0;
}

/* "steps": names, or {"pattern": N} / {"group": [N...]} with "optional", "repeat". */
static int parse_steps(const struct patterns *ps, struct rule *r, const cJSON *list, char *err,
		       size_t errlen)
{
	static const char *const keys[] = { "pattern", "group", "optional", "repeat" };
	const cJSON *it;

	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 ||
	    cJSON_GetArraySize(list) > RULE_MAX_STEPS) {
		set_err(err, errlen, "rule '%s': \"sequence\" must be a list of 1 to %d steps",
			r->name, RULE_MAX_STEPS);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, list) {
		struct rule_step *st = &r->steps[r->nsteps];
		const cJSON *k, *pat, *grp;
		int ret;
		size_t j;

		if (cJSON_IsString(it)) {
			st->pats[0] = find_pattern(ps, it);
			st->npats = 1;
			if (st->pats[0] < 0) {
				set_err(err, errlen, "rule '%s': step %d names no pattern (%s)", r->name,
					r->nsteps + 1, it->valuestring);
				return -EINVAL;
			}
			r->nsteps++;
			continue;
		}
		if (!cJSON_IsObject(it)) {
			set_err(err, errlen, "rule '%s': step %d: a pattern name or an object",
				r->name, r->nsteps + 1);
			return -EINVAL;
		}
		cJSON_ArrayForEach(k, it) {
			for (j = 0; j < ARRAY_SIZE(keys); j++)
				if (k->string && !strcmp(k->string, keys[j]))
					break;
			if (j == ARRAY_SIZE(keys)) {
				set_err(err, errlen, "rule '%s': step %d: unknown key '%s'", r->name,
					r->nsteps + 1, k->string ? k->string : "?");
				return -EINVAL;
			}
		}
		pat = cJSON_GetObjectItemCaseSensitive(it, "pattern");
		grp = cJSON_GetObjectItemCaseSensitive(it, "group");
		if (!!pat == !!grp) {
			set_err(err, errlen, "rule '%s': step %d needs exactly one of \"pattern\" and "
				"\"group\"", r->name, r->nsteps + 1);
			return -EINVAL;
		}
		if (pat) {
			st->pats[0] = find_pattern(ps, pat);
			st->npats = 1;
			if (st->pats[0] < 0) {
				set_err(err, errlen, "rule '%s': step %d names no pattern", r->name,
					r->nsteps + 1);
				return -EINVAL;
			}
		} else {
			ret = parse_pat_list(ps, r, grp, "group", st->pats, RULE_MAX_GROUP, &st->npats,
					     err, errlen);
			if (ret)
				return ret;
		}
		ret = parse_bool(it, "optional", &st->optional, r, err, errlen);
		if (!ret)
			ret = parse_bool(it, "repeat", &st->repeat, r, err, errlen);
		if (ret)
			return ret;
		r->nsteps++;
	}
	return 0;
}

static const char *const rule_keys[] = {
	"name", "sequence", "isolation", "key", "timeout", "incomplete_at_exit", "reset",
	"description",
};

static int parse_rule(struct patterns *ps, const cJSON *o, int idx, struct rule *r, char *err,
		      size_t errlen)
{
	const cJSON *it, *seq, *iso;
	size_t k;
	int ret;

	memset(r, 0, sizeof(*r));
	r->exit_incomplete = true;
	snprintf(r->name, sizeof(r->name), "rule%d", idx + 1);
	if (!cJSON_IsObject(o)) {
		set_err(err, errlen, "rule #%d: expected an object", idx + 1);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, o) {
		for (k = 0; k < ARRAY_SIZE(rule_keys); k++)
			if (it->string && !strcmp(it->string, rule_keys[k]))
				break;
		if (k == ARRAY_SIZE(rule_keys)) {
			set_err(err, errlen, "rule #%d: unknown key '%s'", idx + 1,
				it->string ? it->string : "?");
			return -EINVAL;
		}
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "name");
	if (it) {
		if (!cJSON_IsString(it) || !valid_name(it->valuestring)) {
			set_err(err, errlen, "rule #%d: bad \"name\" (letters, digits, _ . -)", idx + 1);
			return -EINVAL;
		}
		str_copy(r->name, it->valuestring, sizeof(r->name));
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "key");
	if (!cJSON_IsString(it) || (strcmp(it->valuestring, "self") &&
				    (!valid_dotted(it->valuestring, false) ||
				     strchr(it->valuestring, '.') ||
				     strlen(it->valuestring) >= PS_KW_LEN))) {
		set_err(err, errlen, "rule '%s': \"key\" must be a parameter name or \"self\"",
			r->name);
		return -EINVAL;
	}
	r->key_self = !strcmp(it->valuestring, "self");
	if (!r->key_self)
		str_copy(r->key, it->valuestring, sizeof(r->key));
	seq = cJSON_GetObjectItemCaseSensitive(o, "sequence");
	iso = cJSON_GetObjectItemCaseSensitive(o, "isolation");
	if (!!seq == !!iso) {
		set_err(err, errlen, "rule '%s': needs exactly one of \"sequence\" and \"isolation\"",
			r->name);
		return -EINVAL;
	}
	if (seq) {
		r->kind = RULE_SEQUENCE;
		ret = parse_steps(ps, r, seq, err, errlen);
		if (ret)
			return ret;
		if (cJSON_GetObjectItemCaseSensitive(o, "reset")) {
			set_err(err, errlen, "rule '%s': \"reset\" is for isolation rules", r->name);
			return -EINVAL;
		}
	} else {
		r->kind = RULE_ISOLATION;
		if (r->key_self) {
			set_err(err, errlen, "rule '%s': an isolation rule's key is an argument, "
				"not self", r->name);
			return -EINVAL;
		}
		ret = parse_pat_list(ps, r, iso, "isolation", r->calls, RULE_MAX_CALLS, &r->ncalls,
				     err, errlen);
		if (ret)
			return ret;
		it = cJSON_GetObjectItemCaseSensitive(o, "reset");
		if (it) {
			ret = parse_pat_list(ps, r, it, "reset", r->resets, RULE_MAX_CALLS,
					     &r->nresets, err, errlen);
			if (ret)
				return ret;
		}
	}
	it = cJSON_GetObjectItemCaseSensitive(o, "timeout");
	if (it) {
		if (r->kind != RULE_SEQUENCE) {
			set_err(err, errlen, "rule '%s': \"timeout\" is for sequence rules", r->name);
			return -EINVAL;
		}
		if (cJSON_IsNumber(it) && it->valuedouble > 0 && it->valuedouble < 1e9) {
			r->timeout_ms = (uint64_t)(it->valuedouble * 1000.0);
		} else if (!cJSON_IsString(it) ||
			   parse_duration_ms(it->valuestring, &r->timeout_ms) || !r->timeout_ms) {
			set_err(err, errlen, "rule '%s': \"timeout\" must be seconds or a duration "
				"(\"30s\", \"500ms\")", r->name);
			return -EINVAL;
		}
	}
	ret = parse_bool(o, "incomplete_at_exit", &r->exit_incomplete, r, err, errlen);
	if (ret)
		return ret;
	it = cJSON_GetObjectItemCaseSensitive(o, "description");
	if (it) {
		if (!cJSON_IsString(it)) {
			set_err(err, errlen, "rule '%s': \"description\" must be a string", r->name);
			return -EINVAL;
		}
		str_copy(r->description, it->valuestring, sizeof(r->description));
	}
	return 0;
}

/*
 * The kernel captures one key argument per code object, and only for
 * functions (a class's __init__ may serve several classes): each pattern a
 * rule keys by an argument is a function, keyed by one parameter name.
 */
static int check_rule_keys(const struct patterns *ps, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < ps->n; i++) {
		const char *key = NULL;

		for (j = 0; j < ps->nrules; j++) {
			const struct rule *r = &ps->rules[j];
			bool keyed = false;
			int s, g;

			if (r->kind == RULE_SEQUENCE)
				for (s = 0; s < r->nsteps; s++)
					for (g = 0; g < r->steps[s].npats; g++)
						keyed |= r->steps[s].pats[g] == (int)i;
			for (s = 0; s < r->ncalls; s++)
				keyed |= r->calls[s] == (int)i;
			if (!keyed || r->key_self)
				continue;
			if (ps->v[i].kind != PAT_FUNC) {
				set_err(err, errlen, "rule '%s': pattern '%s' is a class; rules keyed by "
					"an argument take functions (use it in \"reset\", or key by "
					"self)", r->name, ps->v[i].name);
				return -EINVAL;
			}
			if (key && strcmp(key, r->key)) {
				set_err(err, errlen, "rule '%s': pattern '%s' is keyed by '%s' in another "
					"rule (one key argument per pattern)", r->name, ps->v[i].name,
					key);
				return -EINVAL;
			}
			key = r->key;
		}
	}
	return 0;
}

static int parse_rules(struct patterns *ps, const cJSON *list, const char *src, char *err,
		       size_t errlen)
{
	const cJSON *it;
	int idx = 0, ret;
	size_t j;

	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > RULE_MAX) {
		set_err(err, errlen, "%s: \"rules\" must be a list of at most %d rules", src,
			RULE_MAX);
		return -EINVAL;
	}
	ps->rules = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*ps->rules));
	if (!ps->rules)
		return -ENOMEM;
	cJSON_ArrayForEach(it, list) {
		struct rule *r = &ps->rules[ps->nrules];
		char sub[300];

		ret = parse_rule(ps, it, idx++, r, sub, sizeof(sub));
		for (j = 0; !ret && j < ps->nrules; j++) {
			if (!strcmp(ps->rules[j].name, r->name)) {
				snprintf(sub, sizeof(sub), "duplicate rule name '%s'", r->name);
				ret = -EEXIST;
			}
		}
		if (ret) {
			set_err(err, errlen, "%s: %s", src, sub);
			return ret;
		}
		ps->nrules++;
	}
	ret = check_rule_keys(ps, err, errlen);
	if (ret) {
		char sub[300];

		str_copy(sub, err, sizeof(sub));
		set_err(err, errlen, "%s: %s", src, sub);
	}
	return ret;
}

bool patterns_in_rule(const struct patterns *ps, size_t pidx, const char **key)
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

int patterns_parse_json(struct patterns *ps, const char *text, size_t len, const char *src,
			char *err, size_t errlen)
{
	const cJSON *list, *it;
	const char *end = NULL;
	cJSON *root = NULL;
	int idx = 0, ret = 0;

	if (len == 0 || !text) {
		set_err(err, errlen, "%s: empty pattern file", src);
		return -EINVAL;
	}
	if (len > PAT_MAX_FILE) {
		set_err(err, errlen, "%s: pattern file larger than %u bytes", src, PAT_MAX_FILE);
		return -EFBIG;
	}
	if (memchr(text, '\0', len) || !utf8_ok((const unsigned char *)text, len)) {
		set_err(err, errlen, "%s: not UTF-8 text", src);
		return -EINVAL;
	}
	if (json_depth(text, len, PAT_MAX_DEPTH, &end) > PAT_MAX_DEPTH) {
		set_err(err, errlen, "%s:%ld: JSON nested deeper than %d levels", src,
			line_of(text, len, end), PAT_MAX_DEPTH);
		return -EINVAL;
	}
	end = NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root) {
		/* only whitespace may follow the document */
		while (end < text + len && strchr(" \t\r\n", *end))
			end++;
		if (end < text + len) {
			cJSON_Delete(root);
			root = NULL;
		}
	}
	if (!root) {
		set_err(err, errlen, "%s:%ld: malformed JSON", src,
			line_of(text, len, end ? end : cJSON_GetErrorPtr()));
		return -EINVAL;
	}
	if (cJSON_IsArray(root)) {
		list = root;
	} else if (cJSON_IsObject(root)) {
		cJSON_ArrayForEach(it, root) {
			if (strcmp(it->string, "patterns") && strcmp(it->string, "version") &&
			    strcmp(it->string, "rules")) {
				set_err(err, errlen, "%s: unknown top-level key '%s'", src, it->string);
				ret = -EINVAL;
				goto cleanup;
			}
		}
		it = cJSON_GetObjectItemCaseSensitive(root, "version");
		if (it && (!cJSON_IsNumber(it) || it->valuedouble != 1)) {
			set_err(err, errlen, "%s: unsupported \"version\" (this pyscope reads 1)", src);
			ret = -EINVAL;
			goto cleanup;
		}
		list = cJSON_GetObjectItemCaseSensitive(root, "patterns");
	} else {
		list = NULL;
	}
	if (!cJSON_IsArray(list)) {
		set_err(err, errlen, "%s: expected {\"patterns\": [...]} or a list of patterns", src);
		ret = -EINVAL;
		goto cleanup;
	}
	if (cJSON_GetArraySize(list) == 0) {
		set_err(err, errlen, "%s: no patterns", src);
		ret = -EINVAL;
		goto cleanup;
	}
	cJSON_ArrayForEach(it, list) {
		struct pattern p;
		char sub[300];

		ret = parse_one(it, idx, &p, sub, sizeof(sub));
		if (!ret)
			ret = push(ps, &p, sub, sizeof(sub));
		if (ret) {
			set_err(err, errlen, "%s: %s", src, sub);
			goto cleanup;
		}
		idx++;
	}
	it = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "rules") : NULL;
	if (it) {
		if (ps->rules) {
			set_err(err, errlen, "%s: rules come from one pattern file only", src);
			ret = -EINVAL;
			goto cleanup;
		}
		ret = parse_rules(ps, it, src, err, errlen);
	}
cleanup:
	cJSON_Delete(root);
	return ret;
}

int patterns_load_file(struct patterns *ps, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(path, PAT_MAX_FILE, &text, &len);
	if (ret) {
		set_err(err, errlen, "%s: %s", path,
			ret == -EFBIG ? "pattern file larger than 1 MiB" : strerror(-ret));
		return ret;
	}
	ret = patterns_parse_json(ps, text, len, path, err, errlen);
	free(text);
	return ret;
}

void patterns_free(struct patterns *ps)
{
	free(ps->v);
	free(ps->rules);
	ps->v = NULL;
	ps->n = 0;
	ps->rules = NULL;
	ps->nrules = 0;
}

bool pattern_type_matches(const char *want, const char *have)
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

bool pattern_sig_matches(const struct pattern *p, const struct call_sig *sig)
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
		if (i >= npos || !pattern_type_matches(p->args[i], sig->types[i + skip]))
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

bool pattern_func_matches(const struct pattern *p, const char *module, const char *qualname)
{
	return p->kind == PAT_FUNC && !strcmp(p->module, module) && !strcmp(p->qualname, qualname);
}

const char *pattern_kernel_name(const struct pattern *p, bool qual_names)
{
	return qual_names ? p->qualname : p->leaf;
}

const char *pattern_class_name(const struct pattern *p)
{
	return p->leaf;
}
