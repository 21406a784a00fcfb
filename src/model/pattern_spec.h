/* SPDX-License-Identifier: MIT */
/*
 * The -e grammar: "NAME=SPEC" or "SPEC", where SPEC is
 * [func:]module:Qual.name or class:module:Class, and the names it allows
 * (also those of pattern files and rules).
 */
#ifndef PYSCOPE_PATTERN_SPEC_H
#define PYSCOPE_PATTERN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include "model/pattern.h"

/* Parse SPEC into p's spec, kind, module, qualname, leaf and skip_self. */
int pattern_spec__parse(const char *spec, struct pattern *p, char *err, size_t errlen);
/* Parse "NAME=SPEC" or "SPEC" (named after its qualified name) and add it to ps. */
int pattern_spec__add_expr(struct patterns *ps, const char *expr, char *err, size_t errlen);

/* A pattern or rule name: letters, digits, _ . - (shorter than PAT_NAME_LEN). */
bool pattern_spec__valid_name(const char *s);
/* A dotted Python name (ASCII identifiers, any non-ASCII byte); <locals> parts if allowed. */
bool pattern_spec__valid_dotted(const char *s, bool allow_locals);

#endif
