// SPDX-License-Identifier: MIT
#include "model/rule_parse.h"
#include "model/pattern_json.h"
#include "model/pattern_spec.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_pattern(const struct patterns *ps, const cJSON *it)
{
	return cJSON_IsString(it) ? patterns__find(ps, it->valuestring) : -1;
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
	return pattern_json__bool(o, key, v, "rule", r->name, err, errlen);
}

/* A step given as an object: {"pattern": N} or {"group": [N...]}, "optional", "repeat". */
static int parse_step_object(const struct patterns *ps, struct rule *r, const cJSON *it,
			     struct rule_step *st, char *err, size_t errlen)
{
	static const char *const keys[] = { "pattern", "group", "optional", "repeat" };
	const cJSON *pat, *grp;
	const char *bad;
	int ret;

	bad = pattern_json__unknown_key(it, keys, ARRAY_SIZE(keys));
	if (bad) {
		set_err(err, errlen, "rule '%s': step %d: unknown key '%s'", r->name, r->nsteps + 1,
			bad);
		return -EINVAL;
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
	return ret;
}

/* One step: a pattern's name, or an object. */
static int parse_step(const struct patterns *ps, struct rule *r, const cJSON *it, char *err,
		      size_t errlen)
{
	struct rule_step *st = &r->steps[r->nsteps];

	if (cJSON_IsString(it)) {
		st->pats[0] = find_pattern(ps, it);
		st->npats = 1;
		if (st->pats[0] < 0) {
			set_err(err, errlen, "rule '%s': step %d names no pattern (%s)", r->name,
				r->nsteps + 1, it->valuestring);
			return -EINVAL;
		}
		return 0;
	}
	if (!cJSON_IsObject(it)) {
		set_err(err, errlen, "rule '%s': step %d: a pattern name or an object", r->name,
			r->nsteps + 1);
		return -EINVAL;
	}
	return parse_step_object(ps, r, it, st, err, errlen);
}

static int parse_steps(const struct patterns *ps, struct rule *r, const cJSON *list, char *err,
		       size_t errlen)
{
	const cJSON *it;
	int ret;

	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1 ||
	    cJSON_GetArraySize(list) > RULE_MAX_STEPS) {
		set_err(err, errlen, "rule '%s': \"sequence\" must be a list of 1 to %d steps",
			r->name, RULE_MAX_STEPS);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, list) {
		ret = parse_step(ps, r, it, err, errlen);
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

static int parse_name(const cJSON *o, int idx, struct rule *r, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "name");

	if (!it)
		return 0;
	if (!cJSON_IsString(it) || !pattern_spec__valid_name(it->valuestring)) {
		set_err(err, errlen, "rule #%d: bad \"name\" (letters, digits, _ . -)", idx + 1);
		return -EINVAL;
	}
	str_copy(r->name, it->valuestring, sizeof(r->name));
	return 0;
}

/* "key": the name of the parameter whose value groups the calls, or "self". */
static int parse_key(const cJSON *o, struct rule *r, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "key");

	if (!cJSON_IsString(it) || (strcmp(it->valuestring, "self") &&
				    (!pattern_spec__valid_dotted(it->valuestring, false) ||
				     strchr(it->valuestring, '.') ||
				     strlen(it->valuestring) >= PS_KW_LEN))) {
		set_err(err, errlen, "rule '%s': \"key\" must be a parameter name or \"self\"",
			r->name);
		return -EINVAL;
	}
	r->key_self = !strcmp(it->valuestring, "self");
	if (!r->key_self)
		str_copy(r->key, it->valuestring, sizeof(r->key));
	return 0;
}

static int parse_sequence(const struct patterns *ps, const cJSON *o, const cJSON *seq,
			  struct rule *r, char *err, size_t errlen)
{
	int ret;

	r->kind = RULE_SEQUENCE;
	ret = parse_steps(ps, r, seq, err, errlen);
	if (ret)
		return ret;
	if (cJSON_GetObjectItemCaseSensitive(o, "reset")) {
		set_err(err, errlen, "rule '%s': \"reset\" is for isolation rules", r->name);
		return -EINVAL;
	}
	return 0;
}

static int parse_isolation(const struct patterns *ps, const cJSON *o, const cJSON *iso,
			   struct rule *r, char *err, size_t errlen)
{
	const cJSON *reset = cJSON_GetObjectItemCaseSensitive(o, "reset");
	int ret;

	r->kind = RULE_ISOLATION;
	if (r->key_self) {
		set_err(err, errlen, "rule '%s': an isolation rule's key is an argument, not self",
			r->name);
		return -EINVAL;
	}
	ret = parse_pat_list(ps, r, iso, "isolation", r->calls, RULE_MAX_CALLS, &r->ncalls, err,
			     errlen);
	if (!ret && reset)
		ret = parse_pat_list(ps, r, reset, "reset", r->resets, RULE_MAX_CALLS, &r->nresets,
				     err, errlen);
	return ret;
}

/* Exactly one of "sequence" and "isolation". */
static int parse_body(const struct patterns *ps, const cJSON *o, struct rule *r, char *err,
		      size_t errlen)
{
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "sequence");
	const cJSON *iso = cJSON_GetObjectItemCaseSensitive(o, "isolation");

	if (!!seq == !!iso) {
		set_err(err, errlen, "rule '%s': needs exactly one of \"sequence\" and \"isolation\"",
			r->name);
		return -EINVAL;
	}
	if (seq)
		return parse_sequence(ps, o, seq, r, err, errlen);
	return parse_isolation(ps, o, iso, r, err, errlen);
}

/* "timeout" (sequence rules): seconds, or a duration ("30s", "500ms"). */
static int parse_timeout(const cJSON *o, struct rule *r, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "timeout");

	if (!it)
		return 0;
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
	return 0;
}

static int parse_rule(const struct patterns *ps, const cJSON *o, int idx, struct rule *r,
		      char *err, size_t errlen)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->exit_incomplete = true;
	snprintf(r->name, sizeof(r->name), "rule%d", idx + 1);
	ret = pattern_json__object(o, rule_keys, ARRAY_SIZE(rule_keys), "rule", idx, err, errlen);
	if (!ret)
		ret = parse_name(o, idx, r, err, errlen);
	if (!ret)
		ret = parse_key(o, r, err, errlen);
	if (!ret)
		ret = parse_body(ps, o, r, err, errlen);
	if (!ret)
		ret = parse_timeout(o, r, err, errlen);
	if (!ret)
		ret = parse_bool(o, "incomplete_at_exit", &r->exit_incomplete, r, err, errlen);
	if (!ret)
		ret = pattern_json__string(o, "description", r->description,
					   sizeof(r->description), "rule", r->name, err, errlen);
	return ret;
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

int rule_parse__list(struct patterns *ps, const cJSON *list, const char *src, char *err,
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
