// SPDX-License-Identifier: MIT
/* The rule engine (src/rules.c) on synthetic calls, and rule parsing. */
#include "testutil.h"
#include "model/pattern.h"
#include "model/pattern_json.h"
#include "sink/rules.h"

#include <errno.h>
#include <time.h>

static const char *const RULES_JSON =
	"{\"version\": 1, \"patterns\": ["
	" {\"name\": \"started\", \"function\": \"m:E.started\"},"
	" {\"name\": \"thinking\", \"function\": \"m:E.thinking\"},"
	" {\"name\": \"exec\", \"function\": \"m:E.exec\"},"
	" {\"name\": \"done\", \"function\": \"m:E.done\"},"
	" {\"name\": \"completed\", \"function\": \"m:E.completed\"},"
	" {\"name\": \"execute\", \"function\": \"m:Engine.execute\"},"
	" {\"name\": \"construct\", \"class\": \"m:Engine\"}],"
	" \"rules\": ["
	"  {\"name\": \"run\", \"key\": \"run_id\", \"timeout\": 10, \"sequence\": [\"started\","
	"   \"thinking\", {\"group\": [\"exec\", \"done\"], \"repeat\": true}, \"completed\"]},"
	"  {\"name\": \"iso\", \"key\": \"user_id\", \"isolation\": [\"execute\"],"
	"   \"reset\": [\"construct\"]}]}";

enum { P_STARTED, P_THINKING, P_EXEC, P_DONE, P_COMPLETED, P_EXECUTE, P_CONSTRUCT };

struct got {
	int n;
	struct rule_violation v[16];
};

static void collect(void *ctx, const struct rule_violation *v)
{
	struct got *g = ctx;

	if (g->n < 16)
		g->v[g->n] = *v;
	g->n++;
}

static void call(struct rules *r, int pat, uint64_t key, uint64_t self, uint64_t ts)
{
	char text[32];
	struct rule_event ev = { .ts_ns = ts, .tid = 1, .agg_id = (uint32_t)pat, .self = self,
				 .key = key, .key_kind = RK_STR, .key_text = text,
				 .pats = &pat, .npats = 1 };

	snprintf(text, sizeof(text), "run%llu", (unsigned long long)key);
	rules__feed(r, &ev);
}

/* One run: started thinking (exec done)*ntools completed, with a fault. */
static void one_run(struct rules *r, uint64_t key, int ntools, const char *fault, uint64_t *ts)
{
	int t;

	if (!strcmp(fault, "swap")) {
		call(r, P_THINKING, key, 0, (*ts)++);
		call(r, P_STARTED, key, 0, (*ts)++);
	} else {
		call(r, P_STARTED, key, 0, (*ts)++);
		if (strcmp(fault, "drop"))
			call(r, P_THINKING, key, 0, (*ts)++);
	}
	for (t = 0; t < ntools; t++) {
		call(r, P_EXEC, key, 0, (*ts)++);
		call(r, P_DONE, key, 0, (*ts)++);
	}
	if (strcmp(fault, "never"))
		call(r, P_COMPLETED, key, 0, (*ts)++);
}

/* Patterns and rules from json, and a rule engine that collects into g. */
static void setup_from(struct patterns *ps, struct rules **r, struct got *g, const char *json)
{
	char err[300];

	memset(ps, 0, sizeof(*ps));
	memset(g, 0, sizeof(*g));
	assert_int_equal(pattern_json__parse(ps, json, strlen(json), "t", err, sizeof(err)), 0);
	assert_int_equal(rules__new(r, ps, collect, g), 0);
}

static void setup(struct patterns *ps, struct rules **r, struct got *g)
{
	setup_from(ps, r, g, RULES_JSON);
	assert_int_equal(ps->nrules, 2);
}

static void test_clean_and_faults(void **state)
{
	struct patterns ps;
	struct rules *r;
	struct rule_stats st;
	struct got g;
	uint64_t ts = 1;
	int i;

	(void)state;
	setup(&ps, &r, &g);
	for (i = 0; i < 100; i++)
		one_run(r, (uint64_t)i, 1 + i % 3, "", &ts);
	assert_int_equal(g.n, 0);
	one_run(r, 1000, 2, "drop", &ts);
	one_run(r, 1001, 1, "swap", &ts);
	one_run(r, 1002, 3, "never", &ts);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.v[0].kind, VIOL_MISSING);
	assert_string_equal(g.v[0].key, "run1000");
	assert_int_equal(g.v[0].got, P_EXEC);
	assert_true(g.v[0].expected[0] & (1ULL << P_THINKING));
	assert_int_equal(g.v[0].at, 1);
	assert_int_equal(g.v[1].kind, VIOL_ORDER);
	assert_string_equal(g.v[1].key, "run1001");
	assert_int_equal(g.v[1].got, P_THINKING);
	assert_int_equal(g.v[1].nseen, 5);
	/* the never-completed run is judged by its timeout, or at the end */
	rules__tick(r, ts + 5);
	assert_int_equal(g.n, 2);
	rules__tick(r, ts + 20ull * 1000000000);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.v[2].kind, VIOL_INCOMPLETE);
	assert_true(g.v[2].timed_out);
	assert_string_equal(g.v[2].key, "run1002");
	assert_true(g.v[2].expected[0] & (1ULL << P_COMPLETED));
	assert_true(g.v[2].expected[0] & (1ULL << P_EXEC));
	/* its late calls are not a new run */
	rules__stats(r, 0, &st);
	assert_int_equal(st.open, 1);
	call(r, P_EXEC, 1002, 0, ts++);
	call(r, P_DONE, 1002, 0, ts++);
	assert_int_equal(g.n, 3);
	call(r, P_COMPLETED, 1002, 0, ts++);
	assert_int_equal(g.n, 3);
	rules__stats(r, 0, &st);
	assert_int_equal(st.runs, 103);
	assert_int_equal(st.violations, 3);
	assert_int_equal(st.open, 0);
	/* a timed-out run without late calls is forgotten after another timeout */
	call(r, P_STARTED, 3000, 0, ts++);
	rules__tick(r, ts + 20ull * 1000000000);
	assert_int_equal(g.n, 4);
	rules__tick(r, ts + 60ull * 1000000000);
	rules__stats(r, 0, &st);
	assert_int_equal(st.open, 0);
	assert_int_equal(g.n, 4);
	/* open at the end */
	call(r, P_STARTED, 2000, 0, ts++);
	rules__finish(r, ts);
	assert_int_equal(g.n, 5);
	assert_true(g.v[4].at_end);
	rules__free(r);
	patterns__free(&ps);
}

static void test_isolation(void **state)
{
	struct patterns ps;
	struct rules *r;
	struct got g;
	uint64_t ts = 1;

	(void)state;
	setup(&ps, &r, &g);
	call(r, P_CONSTRUCT, 0, 0x1000, ts++);
	call(r, P_EXECUTE, 7, 0x1000, ts++);
	call(r, P_EXECUTE, 7, 0x1000, ts++);
	/* freed, a new engine at the same address for another user: no violation */
	call(r, P_CONSTRUCT, 0, 0x1000, ts++);
	call(r, P_EXECUTE, 8, 0x1000, ts++);
	assert_int_equal(g.n, 0);
	/* reused for a third user: one violation, reported once */
	call(r, P_EXECUTE, 9, 0x1000, ts++);
	call(r, P_EXECUTE, 10, 0x1000, ts++);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0].kind, VIOL_ISOLATION);
	assert_string_equal(g.v[0].value1, "run8");
	assert_string_equal(g.v[0].value2, "run9");
	assert_string_equal(g.v[0].key, "0x1000");
	assert_int_equal(g.v[0].first.ts_ns, 5);
	assert_int_equal(g.v[0].second.ts_ns, 6);
	rules__free(r);
	patterns__free(&ps);
}

/* Optional and repeated steps; several runs interleaved. */
static void test_optional_interleaved(void **state)
{
	static const char *const J =
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"},"
		" {\"name\": \"b\", \"function\": \"m:b\"}, {\"name\": \"c\", \"function\": \"m:c\"}],"
		" \"rules\": [{\"name\": \"r\", \"key\": \"k\", \"incomplete_at_exit\": false,"
		"  \"sequence\": [\"a\", {\"pattern\": \"b\", \"optional\": true, \"repeat\": true},"
		"  \"c\"]}]}";
	struct patterns ps;
	struct rules *r;
	struct got g;

	(void)state;
	setup_from(&ps, &r, &g, J);
	call(r, 0, 1, 0, 1);
	call(r, 0, 2, 0, 2);
	call(r, 2, 1, 0, 3);	/* 1: a c */
	call(r, 1, 2, 0, 4);
	call(r, 1, 2, 0, 5);
	call(r, 2, 2, 0, 6);	/* 2: a b b c */
	call(r, 0, 3, 0, 7);	/* 3: open at the end, not judged */
	call(r, 2, 4, 0, 8);	/* 4: c alone: a is missing */
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0].kind, VIOL_MISSING);
	rules__finish(r, 9);
	assert_int_equal(g.n, 1);
	rules__free(r);
	patterns__free(&ps);
}

/* Runs keyed by self (an emitter object) and an int key. */
static void test_self_and_int_keys(void **state)
{
	static const char *const J =
		"{\"patterns\": [{\"name\": \"open\", \"function\": \"m:E.open\"},"
		" {\"name\": \"close\", \"function\": \"m:E.close\"},"
		" {\"name\": \"use\", \"function\": \"m:use\"}],"
		" \"rules\": [{\"name\": \"obj\", \"key\": \"self\", \"sequence\": [\"open\", \"close\"]},"
		"  {\"name\": \"iso\", \"key\": \"n\", \"isolation\": [\"use\"]}]}";
	struct patterns ps;
	struct rules *r;
	struct got g;
	int open = 0, close = 1, use = 2;
	struct rule_event ev = { .tid = 1, .npats = 1 };

	(void)state;
	setup_from(&ps, &r, &g, J);
	ev.pats = &open;
	ev.self = 0x10;
	rules__feed(r, &ev);		/* no key argument: self is the key */
	ev.self = 0x20;
	rules__feed(r, &ev);
	ev.pats = &close;
	rules__feed(r, &ev);		/* 0x20 complete */
	ev.self = 0x30;
	rules__feed(r, &ev);		/* 0x30: close without open */
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0].kind, VIOL_MISSING);
	assert_string_equal(g.v[0].key, "0x30");
	ev.pats = &use;
	ev.key_kind = RK_INT;
	ev.key = (uint64_t)-5;
	rules__feed(r, &ev);
	ev.key = 5;
	rules__feed(r, &ev);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.v[1].value1, "-5");
	assert_string_equal(g.v[1].value2, "5");
	rules__finish(r, 100);
	assert_int_equal(g.n, 3);	/* 0x10 never closed */
	assert_int_equal(g.v[2].kind, VIOL_INCOMPLETE);
	assert_string_equal(g.v[2].key, "0x10");
	rules__free(r);
	patterns__free(&ps);
}

/* Attached to a running target (-p): runs begun before the probes are not judged. */
static void test_attached(void **state)
{
	struct patterns ps;
	struct rules *r;
	struct rule_stats st;
	struct got g;
	uint64_t armed = 1000000000ull, ts = armed + 1;

	(void)state;
	setup(&ps, &r, &g);
	rules__set_attached(r, armed);
	/* began before: its first calls were missed */
	call(r, P_EXEC, 1, 0, ts++);
	call(r, P_DONE, 1, 0, ts++);
	call(r, P_COMPLETED, 1, 0, ts++);
	one_run(r, 2, 2, "", &ts);
	assert_int_equal(g.n, 0);
	/* after the timeout (10 s) a run that lacks its start cannot have begun before */
	ts = armed + 11ull * 1000000000;
	call(r, P_THINKING, 3, 0, ts++);
	call(r, P_EXEC, 3, 0, ts++);
	call(r, P_DONE, 3, 0, ts++);
	call(r, P_COMPLETED, 3, 0, ts++);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0].kind, VIOL_MISSING);
	rules__stats(r, 0, &st);
	assert_int_equal(st.partial, 1);
	assert_int_equal(st.open, 0);
	rules__free(r);
	patterns__free(&ps);
}

static void test_bad_rules(void **state)
{
	static const char *const bad[] = {
		/* unknown pattern, unknown key, both kinds, class keyed by an argument */
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"}], \"rules\": "
		"[{\"key\": \"k\", \"sequence\": [\"zz\"]}]}",
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"}], \"rules\": "
		"[{\"key\": \"k\", \"sequence\": [\"a\"], \"bogus\": 1}]}",
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"}], \"rules\": "
		"[{\"key\": \"k\", \"sequence\": [\"a\"], \"isolation\": [\"a\"]}]}",
		"{\"patterns\": [{\"name\": \"a\", \"class\": \"m:A\"}], \"rules\": "
		"[{\"key\": \"k\", \"sequence\": [\"a\"]}]}",
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"}], \"rules\": "
		"[{\"key\": \"self\", \"isolation\": [\"a\"]}]}",
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"}], \"rules\": "
		"[{\"key\": \"k\", \"sequence\": [\"a\"]}, {\"key\": \"j\", \"sequence\": [\"a\"]}]}",
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"}], \"rules\": "
		"[{\"key\": \"k\", \"sequence\": [{\"pattern\": \"a\", \"group\": [\"a\"]}]}]}",
		"{\"patterns\": [{\"name\": \"a\", \"function\": \"m:a\"}], \"rules\": "
		"[{\"key\": \"k\", \"timeout\": -1, \"sequence\": [\"a\"]}]}",
	};
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct patterns ps = { 0 };

		assert_int_equal(pattern_json__parse(&ps, bad[i], strlen(bad[i]), "t", err,
						     sizeof(err)), -EINVAL);
		patterns__free(&ps);
	}
}

static uint64_t mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* User-side cost per call record: printed, and bounded loosely. */
static void test_cost(void **state)
{
	struct patterns ps;
	struct rules *r;
	struct got g;
	uint64_t ts = 1, t0, dt, calls = 0;
	int i;

	(void)state;
	setup(&ps, &r, &g);
	t0 = mono();
	for (i = 0; i < 100000; i++) {
		one_run(r, (uint64_t)i, 1 + i % 3, "", &ts);
		call(r, P_CONSTRUCT, 0, 0x1000 + (uint64_t)(i % 64) * 64, ts++);
		call(r, P_EXECUTE, (uint64_t)i, 0x1000 + (uint64_t)(i % 64) * 64, ts++);
	}
	dt = mono() - t0;
	calls = ts - 1;
	assert_int_equal(g.n, 0);
	fprintf(stderr, "rules: %.1f ns per call (%llu calls, 2 rules)\n", (double)dt / (double)calls,
		(unsigned long long)calls);
	assert_true((double)dt / (double)calls < 20000.0);
	rules__free(r);
	patterns__free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_and_faults),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_optional_interleaved),
		cmocka_unit_test(test_self_and_int_keys),
		cmocka_unit_test(test_attached),
		cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
