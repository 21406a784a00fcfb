// SPDX-License-Identifier: MIT
#include "model/pattern_spec.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

bool pattern_spec__valid_dotted(const char *s, bool allow_locals)
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

bool pattern_spec__valid_name(const char *s)
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

int pattern_spec__parse(const char *spec, struct pattern *p, char *err, size_t errlen)
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
	if (!pattern_spec__valid_dotted(p->module, false) ||
	    !pattern_spec__valid_dotted(p->qualname, true)) {
		set_err(err, errlen, "pattern '%s': not a valid dotted Python name", spec);
		return -EINVAL;
	}
	dot = strrchr(p->qualname, '.');
	str_copy(p->leaf, dot ? dot + 1 : p->qualname, sizeof(p->leaf));
	p->skip_self = p->kind == PAT_CLASS || is_method(p->qualname);
	p->nargs_eq = -1;
	return 0;
}

int pattern_spec__add_expr(struct patterns *ps, const char *expr, char *err, size_t errlen)
{
	struct pattern p;
	const char *eq = strchr(expr, '=');
	const char *spec = eq ? eq + 1 : expr;
	int ret;

	memset(&p, 0, sizeof(p));
	ret = pattern_spec__parse(spec, &p, err, errlen);
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
	if (!pattern_spec__valid_name(p.name)) {
		set_err(err, errlen, "bad pattern name '%s' (letters, digits, _ . -)", p.name);
		return -EINVAL;
	}
	return patterns__add(ps, &p, err, errlen);
}
