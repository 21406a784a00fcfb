/* SPDX-License-Identifier: MIT */
/*
 * Pattern files (-f, docs/patterns.md): a JSON list of patterns, or
 * {"version": 1, "patterns": [...], "rules": [...]}.  The text is checked
 * (size, UTF-8, nesting) before cJSON parses it; each error is one line
 * naming the file and the pattern or rule.
 */
#ifndef PYSCOPE_PATTERN_JSON_H
#define PYSCOPE_PATTERN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "model/pattern.h"

struct cJSON;

/* Add the patterns (and rules) of a pattern file's text; src names it in errors. */
int pattern_json__parse(struct patterns *ps, const char *text, size_t len, const char *src,
			char *err, size_t errlen);
/* Read the file at path (at most PAT_MAX_FILE bytes) and parse it. */
int pattern_json__load(struct patterns *ps, const char *path, char *err, size_t errlen);

/* For the parsers of the file's parts (rule_parse.c): */
/* The first member of object o whose name is not in keys[n], or NULL. */
const char *pattern_json__unknown_key(const struct cJSON *o, const char *const *keys, size_t n);
/* Is o object #idx + 1 of a list of WHATs ("pattern", "rule"), with only keys[n] in it? */
int pattern_json__object(const struct cJSON *o, const char *const *keys, size_t n,
			 const char *what, int idx, char *err, size_t errlen);
/* Member key of o, if present, into *v: it must be true or false ("WHAT 'NAME': ..."). */
int pattern_json__bool(const struct cJSON *o, const char *key, bool *v, const char *what,
		       const char *name, char *err, size_t errlen);
/* Member key of o, if present, into dst[n]: it must be a string. */
int pattern_json__string(const struct cJSON *o, const char *key, char *dst, size_t n,
			 const char *what, const char *name, char *err, size_t errlen);

#endif
