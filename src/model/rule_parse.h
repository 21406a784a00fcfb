/* SPDX-License-Identifier: MIT */
/*
 * The "rules" of a pattern file (docs/golden-path.md): sequence rules
 * (steps of patterns, optional or repeated, grouped into runs by a key)
 * and isolation rules (one value of an argument per object).  Rules name
 * the file's patterns, so they are parsed after them.
 */
#ifndef PYSCOPE_RULE_PARSE_H
#define PYSCOPE_RULE_PARSE_H

#include <stddef.h>
#include "model/pattern.h"

struct cJSON;

/* Parse the JSON list into ps->rules (ps->nrules); src names the file in errors. */
int rule_parse__list(struct patterns *ps, const struct cJSON *list, const char *src, char *err,
		     size_t errlen);

#endif
