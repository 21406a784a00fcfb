// SPDX-License-Identifier: MIT
#include "model/pattern_json.h"
#include "model/pattern_spec.h"
#include "model/rule_parse.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *pattern_json__unknown_key(const cJSON *o, const char *const *keys, size_t n)
{
	const cJSON *it;
	size_t k;

	cJSON_ArrayForEach(it, o) {
		for (k = 0; k < n; k++)
			if (it->string && !strcmp(it->string, keys[k]))
				break;
		if (k == n)
			return it->string ? it->string : "?";
	}
	return NULL;
}

int pattern_json__object(const cJSON *o, const char *const *keys, size_t n, const char *what,
			 int idx, char *err, size_t errlen)
{
	const char *bad;

	if (!cJSON_IsObject(o)) {
		set_err(err, errlen, "%s #%d: expected an object", what, idx + 1);
		return -EINVAL;
	}
	bad = pattern_json__unknown_key(o, keys, n);
	if (bad) {
		set_err(err, errlen, "%s #%d: unknown key '%s'", what, idx + 1, bad);
		return -EINVAL;
	}
	return 0;
}

int pattern_json__bool(const cJSON *o, const char *key, bool *v, const char *what,
		       const char *name, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!it)
		return 0;
	if (!cJSON_IsBool(it)) {
		set_err(err, errlen, "%s '%s': \"%s\" must be true or false", what, name, key);
		return -EINVAL;
	}
	*v = cJSON_IsTrue(it);
	return 0;
}

int pattern_json__string(const cJSON *o, const char *key, char *dst, size_t n,
			 const char *what, const char *name, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!it)
		return 0;
	if (!cJSON_IsString(it)) {
		set_err(err, errlen, "%s '%s': \"%s\" must be a string", what, name, key);
		return -EINVAL;
	}
	str_copy(dst, it->valuestring, n);
	return 0;
}

static const char *const known_keys[] = {
	"name", "spec", "function", "class", "args", "nargs", "kwargs", "no_kwargs", "self",
	"forbid", "legacy", "description",
};

/* What the pattern names: exactly one of "spec", "function" and "class". */
static int parse_target(const cJSON *o, int idx, struct pattern *p, char *err, size_t errlen)
{
	static const char *const keys[] = { "spec", "function", "class" };
	const cJSON *it, *spec = NULL;
	char buf[sizeof(p->spec) + 8];
	int nspec = 0;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		it = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
		if (it) {
			spec = it;
			nspec++;
		}
	}
	if (nspec != 1 || !cJSON_IsString(spec)) {
		set_err(err, errlen,
			"pattern #%d: give exactly one of \"spec\", \"function\" or \"class\" (a string)",
			idx + 1);
		return -EINVAL;
	}
	if (!strcmp(spec->string, "class")) {
		if (strlen(spec->valuestring) >= sizeof(p->spec) - 6) {
			set_err(err, errlen, "pattern #%d: class name too long", idx + 1);
			return -EINVAL;
		}
		snprintf(buf, sizeof(buf), "class:%s", spec->valuestring);
		return pattern_spec__parse(buf, p, err, errlen);
	}
	if (!strcmp(spec->string, "function") && str_starts(spec->valuestring, "class:")) {
		set_err(err, errlen, "pattern #%d: \"function\" cannot name a class: use \"class\"",
			idx + 1);
		return -EINVAL;
	}
	return pattern_spec__parse(spec->valuestring, p, err, errlen);
}

/* "name", else the qualified name if that is a valid name. */
static int parse_name(const cJSON *o, int idx, struct pattern *p, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "name");

	if (it) {
		if (!cJSON_IsString(it) || !pattern_spec__valid_name(it->valuestring)) {
			set_err(err, errlen,
				"pattern #%d: \"name\" must be letters, digits, _ . - (max %d)", idx + 1,
				PAT_NAME_LEN - 1);
			return -EINVAL;
		}
		str_copy(p->name, it->valuestring, sizeof(p->name));
		return 0;
	}
	str_copy(p->name, p->qualname, sizeof(p->name));
	if (!pattern_spec__valid_name(p->name)) {
		set_err(err, errlen, "pattern #%d: give it a \"name\"", idx + 1);
		return -EINVAL;
	}
	return 0;
}

/* "args": type names of the positional arguments, null or "*" for any. */
static int parse_args(const cJSON *o, struct pattern *p, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "args"), *a;
	int n = 0;

	if (!it)
		return 0;
	if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) > PS_MAX_SIG - 1) {
		set_err(err, errlen, "pattern '%s': \"args\" must be a list of at most %d "
			"type names (null or \"*\" for any)", p->name, PS_MAX_SIG - 1);
		return -EINVAL;
	}
	cJSON_ArrayForEach(a, it) {
		if (cJSON_IsNull(a) || (cJSON_IsString(a) && !strcmp(a->valuestring, "*"))) {
			p->args[n][0] = '\0';
		} else if (cJSON_IsString(a) && pattern_spec__valid_dotted(a->valuestring, true) &&
			   strlen(a->valuestring) < PS_TYPE_LEN) {
			str_copy(p->args[n], a->valuestring, PS_TYPE_LEN);
		} else {
			set_err(err, errlen, "pattern '%s': args[%d] is not a type name", p->name, n);
			return -EINVAL;
		}
		n++;
	}
	p->nargs_c = n;
	return 0;
}

/* "nargs": the exact number of positional arguments. */
static int parse_nargs(const cJSON *o, struct pattern *p, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "nargs");

	p->nargs_eq = -1;
	if (!it)
		return 0;
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > PS_MAX_SIG - 2 ||
	    it->valuedouble != (int)it->valuedouble) {
		set_err(err, errlen, "pattern '%s': \"nargs\" must be an integer 0..%d", p->name,
			PS_MAX_SIG - 2);
		return -EINVAL;
	}
	p->nargs_eq = (int)it->valuedouble;
	return 0;
}

/* "kwargs": keyword names that must all be passed as **kwargs keys. */
static int parse_kwargs(const cJSON *o, struct pattern *p, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, "kwargs"), *a;
	int n = 0;

	if (!it)
		return 0;
	if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) > PS_MAX_KW) {
		set_err(err, errlen, "pattern '%s': \"kwargs\" must be a list of at most %d "
			"names", p->name, PS_MAX_KW);
		return -EINVAL;
	}
	cJSON_ArrayForEach(a, it) {
		if (!cJSON_IsString(a) || !pattern_spec__valid_dotted(a->valuestring, false) ||
		    strchr(a->valuestring, '.') || strlen(a->valuestring) >= PS_KW_LEN) {
			set_err(err, errlen, "pattern '%s': kwargs[%d] is not a keyword name",
				p->name, n);
			return -EINVAL;
		}
		str_copy(p->kwargs[n++], a->valuestring, PS_KW_LEN);
	}
	p->nkwargs = n;
	return 0;
}

/* The constraints and flags, checked in the order of docs/patterns.md. */
static int parse_constraints(const cJSON *o, struct pattern *p, char *err, size_t errlen)
{
	int ret;

	ret = pattern_json__bool(o, "self", &p->skip_self, "pattern", p->name, err, errlen);
	if (!ret)
		ret = parse_args(o, p, err, errlen);
	if (!ret)
		ret = parse_nargs(o, p, err, errlen);
	if (!ret)
		ret = parse_kwargs(o, p, err, errlen);
	if (!ret)
		ret = pattern_json__bool(o, "no_kwargs", &p->no_kwargs, "pattern", p->name, err,
					 errlen);
	if (!ret && p->no_kwargs && p->nkwargs) {
		set_err(err, errlen, "pattern '%s': \"kwargs\" and \"no_kwargs\" contradict", p->name);
		ret = -EINVAL;
	}
	if (!ret)
		ret = pattern_json__bool(o, "forbid", &p->forbid, "pattern", p->name, err, errlen);
	if (!ret)
		ret = pattern_json__bool(o, "legacy", &p->legacy, "pattern", p->name, err, errlen);
	if (!ret)
		ret = pattern_json__string(o, "description", p->description, sizeof(p->description),
					   "pattern", p->name, err, errlen);
	return ret;
}

/* Pattern #idx + 1 of the file. */
static int parse_one(const cJSON *o, int idx, struct pattern *p, char *err, size_t errlen)
{
	int ret;

	memset(p, 0, sizeof(*p));
	ret = pattern_json__object(o, known_keys, ARRAY_SIZE(known_keys), "pattern", idx, err,
				   errlen);
	if (!ret)
		ret = parse_target(o, idx, p, err, errlen);
	if (!ret)
		ret = parse_name(o, idx, p, err, errlen);
	if (!ret)
		ret = parse_constraints(o, p, err, errlen);
	return ret;
}

/* Refuse what cannot be a pattern file before parsing it. */
static int check_text(const char *text, size_t len, const char *src, char *err, size_t errlen)
{
	const char *deep = NULL;

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
	if (json_depth(text, len, PAT_MAX_DEPTH, &deep) > PAT_MAX_DEPTH) {
		set_err(err, errlen, "%s:%ld: JSON nested deeper than %d levels", src,
			line_of(text, len, deep), PAT_MAX_DEPTH);
		return -EINVAL;
	}
	return 0;
}

/* The document, with only whitespace after it; NULL (err set) when malformed. */
static cJSON *parse_document(const char *text, size_t len, const char *src, char *err,
			     size_t errlen)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);

	if (root) {
		while (end < text + len && strchr(" \t\r\n", *end))
			end++;
		if (end < text + len) {
			cJSON_Delete(root);
			root = NULL;
		}
	}
	if (!root)
		set_err(err, errlen, "%s:%ld: malformed JSON", src,
			line_of(text, len, end ? end : cJSON_GetErrorPtr()));
	return root;
}

/* The list of patterns: the document, or the "patterns" of a versioned one. */
static int pattern_list(const cJSON *root, const char *src, const cJSON **list, char *err,
			size_t errlen)
{
	static const char *const top_keys[] = { "patterns", "version", "rules" };
	const cJSON *it;
	const char *bad;

	*list = NULL;
	if (cJSON_IsArray(root)) {
		*list = root;
	} else if (cJSON_IsObject(root)) {
		bad = pattern_json__unknown_key(root, top_keys, ARRAY_SIZE(top_keys));
		if (bad) {
			set_err(err, errlen, "%s: unknown top-level key '%s'", src, bad);
			return -EINVAL;
		}
		it = cJSON_GetObjectItemCaseSensitive(root, "version");
		if (it && (!cJSON_IsNumber(it) || it->valuedouble != 1)) {
			set_err(err, errlen, "%s: unsupported \"version\" (this pyscope reads 1)", src);
			return -EINVAL;
		}
		*list = cJSON_GetObjectItemCaseSensitive(root, "patterns");
	}
	if (!cJSON_IsArray(*list)) {
		set_err(err, errlen, "%s: expected {\"patterns\": [...]} or a list of patterns", src);
		return -EINVAL;
	}
	if (cJSON_GetArraySize(*list) == 0) {
		set_err(err, errlen, "%s: no patterns", src);
		return -EINVAL;
	}
	return 0;
}

static int add_patterns(struct patterns *ps, const cJSON *list, const char *src, char *err,
			size_t errlen)
{
	const cJSON *it;
	int idx = 0, ret;

	cJSON_ArrayForEach(it, list) {
		struct pattern p;
		char sub[300];

		ret = parse_one(it, idx++, &p, sub, sizeof(sub));
		if (!ret)
			ret = patterns__add(ps, &p, sub, sizeof(sub));
		if (ret) {
			set_err(err, errlen, "%s: %s", src, sub);
			return ret;
		}
	}
	return 0;
}

int pattern_json__parse(struct patterns *ps, const char *text, size_t len, const char *src,
			char *err, size_t errlen)
{
	const cJSON *list, *rules;
	cJSON *root;
	int ret;

	ret = check_text(text, len, src, err, errlen);
	if (ret)
		return ret;
	root = parse_document(text, len, src, err, errlen);
	if (!root)
		return -EINVAL;
	ret = pattern_list(root, src, &list, err, errlen);
	if (!ret)
		ret = add_patterns(ps, list, src, err, errlen);
	rules = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "rules") : NULL;
	if (!ret && rules && ps->rules) {
		set_err(err, errlen, "%s: rules come from one pattern file only", src);
		ret = -EINVAL;
	}
	if (!ret && rules)
		ret = rule_parse__list(ps, rules, src, err, errlen);
	cJSON_Delete(root);
	return ret;
}

int pattern_json__load(struct patterns *ps, const char *path, char *err, size_t errlen)
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
	ret = pattern_json__parse(ps, text, len, path, err, errlen);
	free(text);
	return ret;
}
