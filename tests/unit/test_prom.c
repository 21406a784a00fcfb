// SPDX-License-Identifier: MIT
/* The Prometheus exposition: bucket maths, label escaping, the whole text. */
#include "testutil.h"
#include "sink/prom.h"
#include "pshist.h"
#include "model/pattern_spec.h"

static void test_bounds_are_edges(void **state)
{
	unsigned b, i;

	(void)state;
	for (b = 0; b < PROM_NBOUNDS; b++) {
		uint64_t e = prom_bound_ns(b);
		bool edge = false;

		for (i = 0; i < PS_NBUCKETS; i++)
			edge |= ps_hist_lower(i) == e;
		if (!edge)
			fail_msg("bound %u (%llu ns) is not a kernel bucket edge", b,
				 (unsigned long long)e);
		/* the values on either side of it fall in different buckets */
		assert_int_not_equal(ps_hist_bucket(e - 1), ps_hist_bucket(e));
		if (b)
			assert_true(e > prom_bound_ns(b - 1));
	}
	assert_int_equal(prom_bound_ns(0), 512);
	/* the largest bound is below the kernel's catch-all bucket */
	assert_true(prom_bound_ns(PROM_NBOUNDS - 1) < ps_hist_lower(PS_NBUCKETS - 1));
}

static void test_cumulative(void **state)
{
	/* around bounds, inside buckets, tiny, and past the largest bucket */
	static const uint64_t v[] = { 0, 1, 7, 8, 300, 511, 512, 513, 1023, 1024, 1025, 3000,
				      999999, 1000000, 1048575, 1048576, 123456789, 2000000000,
				      17179869183ull, 17179869184ull, 17179869185ull,
				      1ull << 40, 1ull << 50 };
	__u64 hist[PS_NBUCKETS] = { 0 };
	uint64_t cum[PROM_NBOUNDS], total;
	unsigned b;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(v); k++)
		hist[ps_hist_bucket(v[k])] += k + 1;	/* distinct weights */
	total = prom_cumulative(hist, cum);
	assert_int_equal(total, ARRAY_SIZE(v) * (ARRAY_SIZE(v) + 1) / 2);
	for (b = 0; b < PROM_NBOUNDS; b++) {
		uint64_t want = 0;

		for (k = 0; k < ARRAY_SIZE(v); k++)
			if (v[k] < prom_bound_ns(b))
				want += k + 1;
		if (cum[b] != want)
			fail_msg("bound %u: %llu, want %llu", b, (unsigned long long)cum[b],
				 (unsigned long long)want);
	}
	memset(hist, 0, sizeof(hist));
	assert_int_equal(prom_cumulative(hist, cum), 0);
	for (b = 0; b < PROM_NBOUNDS; b++)
		assert_int_equal(cum[b], 0);
}

static void test_seconds(void **state)
{
	char buf[32];

	(void)state;
	prom_seconds(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0");
	prom_seconds(buf, sizeof(buf), 512);
	assert_string_equal(buf, "0.000000512");
	prom_seconds(buf, sizeof(buf), 1000000000);
	assert_string_equal(buf, "1");
	prom_seconds(buf, sizeof(buf), 1500000000);
	assert_string_equal(buf, "1.5");
	prom_seconds(buf, sizeof(buf), 17179869184ull);
	assert_string_equal(buf, "17.179869184");
	prom_seconds(buf, sizeof(buf), UINT64_MAX);
	assert_string_equal(buf, "18446744073.709551615");
}

static void escaped(const char *in, const char *want)
{
	struct strbuf sb;

	sb_init(&sb);
	prom_escape(&sb, in);
	assert_false(sb.oom);
	assert_string_equal(sb.buf ? sb.buf : "", want);
	sb_free(&sb);
}

static void test_escape(void **state)
{
	(void)state;
	escaped("", "");
	escaped("3.11.2", "3.11.2");
	escaped("a\\b", "a\\\\b");
	escaped("say \"hi\"", "say \\\"hi\\\"");
	escaped("two\nlines", "two\\nlines");
	escaped("\\\"\n", "\\\\\\\"\\n");
	/* other controls, DEL, malformed UTF-8 and C1 controls cannot pass */
	escaped("t\tr\re\x1b[31m\x7f", "t?r?e?[31m?");
	escaped("bad\xff\xc3x", "bad??x");
	escaped("\xc2\x85", "??");
	escaped("caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93");
}

static void add_code(struct model *m, uint32_t id, const char *qual)
{
	struct ps_ev_code ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PS_EV_CODE;
	ev.code_id = id;
	ev.code_addr = 0x1000 + id;
	ev.kind = PS_CODE_FUNC;
	ev.firstlineno = 1;
	snprintf(ev.name, sizeof(ev.name), "%s", qual);
	snprintf(ev.qualname, sizeof(ev.qualname), "%s", qual);
	snprintf(ev.module, sizeof(ev.module), "app");
	snprintf(ev.filename, sizeof(ev.filename), "/app.py");
	model__add_code(m, &ev);
}

static void add_calls(struct model *m, uint32_t agg, uint32_t code, const uint64_t *ns, size_t n)
{
	struct ps_ev_agg ev;
	struct ps_stats st;
	size_t k;

	memset(&ev, 0, sizeof(ev));
	ev.type = PS_EV_AGG;
	ev.agg_id = agg;
	ev.key.code_id = code;
	model__add_agg(m, &ev);
	memset(&st, 0, sizeof(st));
	for (k = 0; k < n; k++) {
		st.count++;
		st.timed++;
		st.sum_ns += ns[k];
		st.max_ns = MAX(st.max_ns, ns[k]);
		st.hist[ps_hist_bucket(ns[k])]++;
	}
	model__set_stats(m, agg, &st);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

static void test_render(void **state)
{
	static const uint64_t ns[] = { 600, 700, 2000, 1500000000 };
	struct patterns ps = { 0 };
	struct run_meta meta = { .pid = 4242, .timed = true };
	struct prom_target t;
	struct strbuf sb;
	struct model *m;
	char err[128];
	const char *calls, *hist, *lost, *p;

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "legacy.path-1=app:old", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "unused=app:never", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 12, .qualnames = true });
	assert_non_null(m);
	add_code(m, 1, "old");
	add_calls(m, 0, 1, ns, ARRAY_SIZE(ns));
	/* a hostile interpreter could put anything in its version string */
	snprintf(meta.python, sizeof(meta.python), "3.12\"x\\\ny\x01");
	snprintf(meta.mechanism, sizeof(meta.mechanism), "resume");
	t.m = m;
	t.meta = &meta;
	sb_init(&sb);
	prom_render(&sb, &t, 1);
	assert_false(sb.oom);
	assert_non_null(sb.buf);
#define L "pattern=\"legacy.path-1\",pid=\"4242\",python=\"3.12\\\"x\\\\\\ny?\",mechanism=\"resume\""
#define T "pid=\"4242\",python=\"3.12\\\"x\\\\\\ny?\",mechanism=\"resume\""
	assert_true(has_line(sb.buf, "# TYPE pyscope_calls_total counter"));
	assert_true(has_line(sb.buf, "pyscope_calls_total{" L "} 4"));
	assert_true(has_line(sb.buf, "pyscope_calls_total{pattern=\"unused\"," T "} 0"));
	assert_true(has_line(sb.buf, "# TYPE pyscope_call_duration_seconds histogram"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_bucket{" L ",le=\"0.000000512\"} 0"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_bucket{" L ",le=\"0.000001024\"} 2"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_bucket{" L ",le=\"0.000002048\"} 3"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_bucket{" L ",le=\"1.073741824\"} 3"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_bucket{" L ",le=\"2.147483648\"} 4"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_bucket{" L ",le=\"+Inf\"} 4"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_sum{" L "} 1.5000033"));
	assert_true(has_line(sb.buf, "pyscope_call_duration_seconds_count{" L "} 4"));
	assert_true(has_line(sb.buf, "pyscope_lost_events_total{" T "} 0"));
	assert_true(has_line(sb.buf, "pyscope_counts_exact{" T "} 1"));
	assert_true(has_line(sb.buf, "pyscope_target_exited{" T "} 0"));
	assert_true(has_line(sb.buf, "pyscope_targets 1"));
	/* each family's HELP and TYPE come before its samples, families are not interleaved */
	calls = strstr(sb.buf, "# HELP pyscope_calls_total ");
	hist = strstr(sb.buf, "# HELP pyscope_call_duration_seconds ");
	lost = strstr(sb.buf, "# HELP pyscope_lost_events_total ");
	assert_true(calls && hist && lost && calls < hist && hist < lost);
	assert_true(strstr(sb.buf, "pyscope_calls_total{") > calls);
	p = strstr(sb.buf, "pyscope_calls_total{");
	assert_true(p < hist);
	assert_null(strstr(hist, "pyscope_calls_total{"));
	assert_int_equal(sb.buf[sb.len - 1], '\n');
	sb_free(&sb);

	/* count only: no histogram samples; an exited target says so */
	meta.timed = false;
	meta.target_exited = true;
	sb_init(&sb);
	prom_render(&sb, &t, 1);
	assert_null(strstr(sb.buf, "pyscope_call_duration_seconds_bucket"));
	assert_true(has_line(sb.buf, "pyscope_target_exited{" T "} 1"));
	sb_free(&sb);
	/* no targets: the families and a zero */
	sb_init(&sb);
	prom_render(&sb, NULL, 0);
	assert_true(has_line(sb.buf, "pyscope_targets 0"));
	sb_free(&sb);
	model__free(m);
	patterns__free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounds_are_edges),
		cmocka_unit_test(test_cumulative),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
