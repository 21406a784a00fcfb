/* SPDX-License-Identifier: MIT */
/*
 * Patterns: what to count.  A pattern names a function or method
 * (module:Qual.name) or the construction of a class (class:module:Class),
 * optionally constrained by argument types and keyword arguments.
 * docs/patterns.md is the user-facing description.  This module holds the
 * set of patterns and rules, and the matching of a pattern; the parsers are
 * pattern_spec.h (-e), pattern_json.h (-f) and rule_parse.h (its rules).
 */
#ifndef PYSCOPE_PATTERN_H
#define PYSCOPE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pyscope.h"

#define PAT_MAX 256
#define PAT_NAME_LEN 64
#define PAT_MAX_FILE (1u << 20)
#define PAT_MAX_DEPTH 16		/* JSON nesting in a pattern file (3 is enough) */

enum pat_kind {
	PAT_FUNC = 1,
	PAT_CLASS = 2,
};

struct pattern {
	char name[PAT_NAME_LEN];
	char spec[PS_QUAL_LEN * 2 + 16];
	enum pat_kind kind;
	char module[PS_QUAL_LEN];
	char qualname[PS_QUAL_LEN];	/* Qual.name, or the class's qualified name */
	char leaf[PS_NAME_LEN];		/* last component: the code's co_name */
	/* constraints; argument 0 is the first after self/cls when skip_self */
	bool skip_self;
	int nargs_c;			/* entries in args[] */
	char args[PS_MAX_SIG][PS_TYPE_LEN];	/* "" = any */
	int nargs_eq;			/* exact positional count, -1 = any */
	int nkwargs;
	char kwargs[PS_MAX_KW][PS_KW_LEN];	/* must all be passed as **kwargs keys */
	bool no_kwargs;			/* no **kwargs key at all */
	bool forbid;			/* pyscope check: must not be hit */
	bool legacy;			/* a deprecated path: listed in migration views */
	char description[200];
};

/*
 * Rules over the calls of patterns (pyscope check; docs/golden-path.md).
 * A sequence rule groups calls into runs by a key (an argument's value, or
 * self) and says in which order its patterns must be called in one run.
 * An isolation rule says that one object (self) only ever sees one value of
 * an argument across the calls of its patterns.
 */
#define RULE_MAX 16
#define RULE_MAX_STEPS 16
#define RULE_MAX_GROUP 4		/* patterns in one step (a group) */
#define RULE_MAX_CALLS 16

enum rule_kind {
	RULE_SEQUENCE = 1,
	RULE_ISOLATION = 2,
};

/* One step of a sequence: a pattern, or a group of patterns called in order. */
struct rule_step {
	int pats[RULE_MAX_GROUP];	/* pattern indices */
	int npats;
	bool optional;			/* may be left out */
	bool repeat;			/* may occur several times in a row */
};

struct rule {
	char name[PAT_NAME_LEN];
	enum rule_kind kind;
	bool key_self;			/* the key is argument 0 (self), not a named argument */
	char key[PS_KW_LEN];		/* the key argument's parameter name */
	/* sequence */
	struct rule_step steps[RULE_MAX_STEPS];
	int nsteps;
	uint64_t timeout_ms;		/* an open run older than this is incomplete; 0: never */
	bool exit_incomplete;		/* runs open when the trace ends are incomplete */
	/* isolation */
	int calls[RULE_MAX_CALLS];	/* patterns whose calls bind self to the key's value */
	int ncalls;
	int resets[RULE_MAX_CALLS];	/* patterns whose calls forget self (a new object) */
	int nresets;
	char description[200];
};

struct patterns {
	struct pattern *v;
	size_t n;
	struct rule *rules;
	size_t nrules;
};

/* Append p; -EEXIST if its name is taken, -E2BIG past PAT_MAX. */
int patterns__add(struct patterns *ps, const struct pattern *p, char *err, size_t errlen);
/* Index of the pattern named name, or -1. */
int patterns__find(const struct patterns *ps, const char *name);
/* Is pattern pidx named by a rule?  *key: the key parameter name, "" for self only. */
bool patterns__in_rule(const struct patterns *ps, size_t pidx, const char **key);
void patterns__free(struct patterns *ps);

/* A call's signature, as the model knows it. */
struct call_sig {
	int ntypes;				/* slots captured, self included */
	const char *types[PS_MAX_SIG];
	int nkw;
	const char *kw[PS_MAX_KW];
	bool kw_truncated;
};

/* Does a type name satisfy a constraint ("Qual.Name" or its last part)? */
bool pattern__type_matches(const char *want, const char *have);
/* Do the signature constraints hold?  ("skip" = slots to ignore at the front) */
bool pattern__sig_matches(const struct pattern *p, const struct call_sig *sig);
/* Is module:qualname the function p names? */
bool pattern__func_matches(const struct pattern *p, const char *module, const char *qualname);
/* The name hashed in the kernel for FUNC patterns: qualname, or leaf if qual_names is false. */
const char *pattern__kernel_name(const struct pattern *p, bool qual_names);
/* The class's __name__ (last component), as tp_name holds it for heap types. */
const char *pattern__class_name(const struct pattern *p);

#endif
