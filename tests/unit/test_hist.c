// SPDX-License-Identifier: MIT
#include "testutil.h"
#include "model/hist.h"
#include "pshist.h"

static void test_buckets_roundtrip(void **state)
{
	(void)state;
	/* every value lands in a bucket whose [lower, upper) contains it */
	for (uint64_t v = 0; v < 100000; v += (v < 1000 ? 1 : 97)) {
		uint32_t b = ps_hist_bucket(v);

		assert_true(ps_hist_lower(b) <= v);
		assert_true(v < ps_hist_upper(b));
	}
	for (int lg = 3; lg <= PS_HIST_MAX_LOG; lg++) {
		uint64_t v = 1ull << lg;
		uint32_t b = ps_hist_bucket(v);

		assert_int_equal(ps_hist_lower(b), v);
		assert_int_equal(ps_hist_bucket(v - 1) + 1, b);
	}
	/* width is at most 1/8 of the lower bound above the linear range */
	for (uint32_t b = PS_HIST_SUB; b < PS_NBUCKETS - 1; b++)
		assert_true((ps_hist_upper(b) - ps_hist_lower(b)) * 8 <= ps_hist_lower(b));
	assert_int_equal(ps_hist_bucket(~0ull), PS_NBUCKETS - 1);
	assert_int_equal(ps_log2(1), 0);
	assert_int_equal(ps_log2(0x8000000000000000ull), 63);
	assert_int_equal(ps_log2(1023), 9);
}

static void test_quantiles(void **state)
{
	__u64 h[PS_NBUCKETS] = { 0 };
	struct latency l;
	uint64_t sum = 0, max = 0;

	(void)state;
	/* 1009 samples: 1000 at ~1us, 9 at ~1ms */
	for (int i = 0; i < 1000; i++) {
		h[ps_hist_bucket(1000)]++;
		sum += 1000;
	}
	for (int i = 0; i < 9; i++) {
		h[ps_hist_bucket(1000000 + i)]++;
		sum += 1000000 + i;
		max = 1000000 + i;
	}
	hist_summary(h, sum, max, &l);
	assert_int_equal(l.count, 1009);
	assert_true(l.p50_ns >= 1000 && l.p50_ns < 1125);
	assert_true(l.p95_ns >= 1000 && l.p95_ns < 1125);
	/* p99: rank 999 of 1009 is still in the 1us group */
	assert_true(l.p99_ns >= 1000 && l.p99_ns < 1125);
	assert_int_equal(l.max_ns, max);
	assert_true(l.mean_ns > 9900 && l.mean_ns < 10000);
	/* a quantile never exceeds the exact maximum */
	assert_true(hist_quantile(h, 1.0, max) <= max);
	memset(h, 0, sizeof(h));
	hist_summary(h, 0, 0, &l);
	assert_int_equal(l.count, 0);
	assert_int_equal(l.p99_ns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_roundtrip),
		cmocka_unit_test(test_quantiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
