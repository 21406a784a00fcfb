// SPDX-License-Identifier: MIT
#include "target/srcscan.h"
#include "util/util.h"
#include "pyscope.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct logical {
	int line;		/* 1-based physical line where it starts */
	int indent;		/* columns, tabs to multiples of 8 */
	const char *text;	/* first non-blank character */
	const char *end;	/* end of its first physical line */
};

static bool word_at(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) > n && !strncmp(p, w, n) && (p[n] == ' ' || p[n] == '\t');
}

/* Name after "def ", "async def " or "class ": writes it to out. */
static bool header(const struct logical *l, const char **kind, char *out, size_t outlen)
{
	const char *p = l->text, *e = l->end, *s;
	size_t n;

	if (word_at(p, e, "async")) {
		p += 5;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
	}
	if (word_at(p, e, "def")) {
		*kind = "def";
		p += 3;
	} else if (word_at(p, e, "class")) {
		*kind = "class";
		p += 5;
	} else {
		return false;
	}
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	s = p;
	while (p < e && (isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80))
		p++;
	n = (size_t)(p - s);
	if (!n || n >= outlen)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* What carries from one physical line to the next. */
struct scan_state {
	int depth;		/* open brackets */
	char quote;		/* open string delimiter */
	bool triple;		/* ... of a triple-quoted string */
	bool cont;		/* a backslash continuation */
};

/* Inside a string at *q: step over an escape, or close the string. */
static void string_char(struct scan_state *st, const char **q, const char *eol)
{
	char c = **q;

	if (c == '\\' && *q + 1 < eol) {
		(*q)++;
		return;
	}
	if (c != st->quote)
		return;
	if (!st->triple) {
		st->quote = 0;
	} else if (*q + 2 < eol && (*q)[1] == st->quote && (*q)[2] == st->quote) {
		st->quote = 0;
		*q += 2;
	}
}

/* Follow strings, brackets, comments and a final backslash through [first, eol). */
static void scan_line(struct scan_state *st, const char *first, const char *eol, const char *end)
{
	const char *q;

	st->cont = false;
	for (q = first; q < eol; q++) {
		char c = *q;

		if (st->quote) {
			string_char(st, &q, eol);
			continue;
		}
		if (c == '#')
			break;
		if (c == '\'' || c == '"') {
			st->quote = c;
			st->triple = q + 2 < end && q[1] == c && q[2] == c;
			if (st->triple)
				q += 2;
			continue;
		}
		if (c == '(' || c == '[' || c == '{')
			st->depth += st->depth < 1000;
		else if ((c == ')' || c == ']' || c == '}') && st->depth > 0)
			st->depth--;
		else if (c == '\\' && q + 1 == eol)
			st->cont = true;
		else if (c == '\\' && q + 2 == eol && q[1] == '\r')
			st->cont = true;
	}
	/* a single-quoted string cannot span lines (without a backslash) */
	if (st->quote && !st->triple && !(eol > first && eol[-1] == '\\'))
		st->quote = 0;
}

/*
 * Split into logical lines.  State carried across physical lines: open
 * brackets, an open triple-quoted string, a backslash continuation.
 */
static int scan(const char *src, size_t len, struct logical **out, size_t *nout)
{
	const char *p = src, *end = src + len;
	struct logical *v = NULL, *nv;
	struct scan_state st = { 0 };
	size_t n = 0, cap = 0;
	int line = 1;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *first;
		int indent = 0;

		if (!eol)
			eol = end;
		first = p;
		while (first < eol && (*first == ' ' || *first == '\t' || *first == '\f')) {
			indent = *first == '\t' ? (indent / 8 + 1) * 8 : indent + 1;
			first++;
		}
		if (!st.quote && !st.depth && !st.cont && first < eol && *first != '#' &&
		    *first != '\r') {
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				nv = realloc(v, cap * sizeof(*v));
				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
			}
			v[n++] = (struct logical){ line, indent, first, eol };
		}
		scan_line(&st, first, eol, end);
		p = eol < end ? eol + 1 : end;
		line++;
	}
	*out = v;
	*nout = n;
	return 0;
}

int srcscan_qualname(const char *src, size_t len, int firstlineno, const char *name, char *out,
		     size_t outlen)
{
	struct logical *v = NULL;
	char scopes[MAX_DEPTH][PS_NAME_LEN + 10], word[PS_NAME_LEN];
	const char *kind;
	size_t n = 0, i, t;
	int nscopes = 0, indent, ret;
	struct strbuf sb;

	ret = scan(src, len, &v, &n);
	if (ret)
		return ret;
	ret = -ENOENT;
	/* the def at firstlineno, after any decorators */
	for (t = 0; t < n && v[t].line < firstlineno; t++)
		;
	while (t < n && v[t].text[0] == '@')
		t++;
	if (t >= n || !header(&v[t], &kind, word, sizeof(word)) || strcmp(kind, "def") ||
	    strcmp(word, name))
		goto cleanup;
	/* enclosing scopes: headers at strictly smaller indentation */
	indent = v[t].indent;
	for (i = t; i-- > 0 && indent > 0;) {
		if (v[i].indent >= indent)
			continue;
		indent = v[i].indent;
		if (nscopes < MAX_DEPTH && header(&v[i], &kind, word, sizeof(word)))
			snprintf(scopes[nscopes++], sizeof(scopes[0]), "%s%s", word,
				 !strcmp(kind, "def") ? ".<locals>" : "");
	}
	sb_init(&sb);
	while (nscopes-- > 0)
		sb_printf(&sb, "%s.", scopes[nscopes]);
	sb_printf(&sb, "%s", name);
	if (!sb.oom && sb.len < outlen) {
		memcpy(out, sb.buf, sb.len + 1);
		ret = 0;
	} else {
		ret = -ENAMETOOLONG;
	}
	sb_free(&sb);
cleanup:
	free(v);
	return ret;
}
