/* SPDX-License-Identifier: MIT */
/*
 * The rule engine of pyscope check (docs/golden-path.md): fed one event per
 * call of a pattern some rule names, in the order the calls started, it
 * reports each violation once through a callback.  Pure: it knows patterns
 * by index, and call sites and paths only as opaque ids for the caller.
 *
 * Sequence rules: calls are grouped into runs by key.  A run ends at a call
 * of a closing pattern (one after which the rule allows nothing more), when
 * it has been open longer than the rule's timeout, or when the trace ends.
 * Each run is judged once:
 *   missing     the calls are in order, but some required ones never came
 *               (the run's calls are a subsequence of an allowed run)
 *   order       no dropped calls explain the run: calls came out of order
 *   incomplete  every call so far was allowed, but the run never ended
 *               (timed out, or still open when the trace ended)
 * Isolation rules: self is bound to the key's value at its first call; a
 * call with another value is reported (once per binding).  A call of a
 * "reset" pattern forgets self's binding: a new object may reuse the
 * address of a freed one.
 */
#ifndef PYSCOPE_RULES_H
#define PYSCOPE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/pattern.h"

enum rule_key_kind {
	RK_NONE = 0,		/* the argument was not found or not read */
	RK_STR,			/* key: hash of the str */
	RK_INT,			/* key: the int */
	RK_OTHER,		/* key: the object's type (not a str or int) */
};

#define RULES_TEXT_LEN 64

struct rule_event {
	uint64_t ts_ns;			/* CLOCK_MONOTONIC start of the call */
	uint32_t tid;
	uint32_t agg_id;		/* opaque: where the call came from */
	uint64_t stack;			/* opaque: its call path, 0 if none */
	uint64_t self;			/* argument 0 */
	uint64_t key;
	enum rule_key_kind key_kind;
	const char *key_text;		/* printable key value (str keys), or NULL */
	const int *pats;		/* the patterns this call counts for */
	size_t npats;
};

/* A call as the engine remembers it. */
struct rule_seen {
	int pat;
	uint32_t tid, agg_id;
	uint64_t ts_ns, stack;
};

#define RULES_MAX_SEEN 24

enum viol_kind {
	VIOL_MISSING = 1,
	VIOL_ORDER,
	VIOL_INCOMPLETE,
	VIOL_ISOLATION,
};

struct rule_violation {
	size_t rule;
	enum viol_kind kind;
	char key[RULES_TEXT_LEN];	/* the run's key, or the object's address */
	/* sequence: the run's calls (the first RULES_MAX_SEEN), where it went wrong */
	struct rule_seen seen[RULES_MAX_SEEN];
	size_t nseen;
	uint64_t total;			/* calls in the run */
	size_t at;			/* index in seen[] of the first call not allowed */
	int got;			/* its pattern, -1 for incomplete */
	uint64_t expected[(PAT_MAX + 63) / 64];	/* patterns allowed there (a set) */
	bool timed_out;
	bool at_end;			/* judged when the trace ended */
	/* isolation: the object's first call, and the first with another value */
	char value1[RULES_TEXT_LEN], value2[RULES_TEXT_LEN];
	struct rule_seen first, second;
};

typedef void (*rules_report_fn)(void *ctx, const struct rule_violation *v);

struct rules;

int rules__new(struct rules **out, const struct patterns *ps, rules_report_fn fn, void *ctx);
void rules__free(struct rules *r);
/*
 * The target was already running when the probes were armed (at armed_ns,
 * CLOCK_MONOTONIC): a run whose first call is not a first step, and which
 * may have started before armed_ns (within the rule's timeout of it; ever,
 * without a timeout), is counted as partial and not judged.
 */
void rules__set_attached(struct rules *r, uint64_t armed_ns);
/* Does the engine need calls of pattern pidx? */
bool rules__wants(const struct rules *r, size_t pidx);
void rules__feed(struct rules *r, const struct rule_event *ev);
/* Judge runs open longer than their rule's timeout (now: CLOCK_MONOTONIC ns). */
void rules__tick(struct rules *r, uint64_t now_ns);
/* The trace ended: judge every open run. */
void rules__finish(struct rules *r, uint64_t now_ns);

struct rule_stats {
	uint64_t events;		/* calls fed to the rule */
	uint64_t runs;			/* runs judged (sequence), objects bound (isolation) */
	uint64_t violations;
	uint64_t unkeyed;		/* calls without a usable key (not judged) */
	uint64_t open;			/* runs still open (not judged yet) */
	uint64_t partial;		/* runs that may have started before the probes (-p) */
};

void rules__stats(const struct rules *r, size_t rule, struct rule_stats *st);
const char *rules__kind_name(enum viol_kind k);

#endif
