// SPDX-License-Identifier: MIT
/*
 * Trace files: the chunk codec, the reader over damaged files (cut at 50
 * offsets, flipped bytes, wrong versions), the writer's bound, and the
 * committed sample (tests/data/sample-v1.pstrace) against the oracle's
 * totals recorded with it.
 */
#include "testutil.h"
#include "sink/report.h"
#include "tracefile/replay.h"
#include "tracefile/tfbuild.h"
#include "tracefile/tfwriter.h"
#include "tracefile/tracefile.h"
#include "util/util.h"
#include "model/pattern_spec.h"
#include "model/model_result.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <zlib.h>

#define SAMPLE SRCDIR "/tests/data/sample-v1.pstrace"
#define ORACLE SRCDIR "/tests/data/sample-v1.oracle.json"

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

static uint8_t *load(const char *path, size_t *len)
{
	char *d = NULL;

	REQUIRE_FILE(path);
	assert_int_equal(read_file(path, 1 << 26, &d, len), 0);
	return (uint8_t *)d;
}

/* End offsets of the chunks of an intact file, in order. */
static size_t chunk_ends(const uint8_t *d, size_t len, size_t *ends, size_t max)
{
	size_t pos = TF_FILE_HDR, n = 0;

	while (pos + TF_CHUNK_HDR <= len && n < max) {
		uint32_t clen = (uint32_t)d[pos + 12] | (uint32_t)d[pos + 13] << 8 |
				(uint32_t)d[pos + 14] << 16 | (uint32_t)d[pos + 15] << 24;

		pos += TF_CHUNK_HDR + clen;
		assert_true(pos <= len);
		ends[n++] = pos;
	}
	assert_int_equal(pos, len);
	return n;
}

static void test_codec_roundtrip(void **state)
{
	struct tf_buf file = { 0 }, raw = { 0 };
	uint8_t hdr[TF_FILE_HDR], *ch;
	struct tf_reader *r;
	struct tf_chunk c;
	char err[128];
	size_t n;
	int i;

	(void)state;
	tf_file__header(hdr);
	tf_buf__put(&file, hdr, sizeof(hdr));
	for (i = 0; i < 3; i++) {
		raw.len = 0;
		tf_buf__put_u64(&raw, 0x0102030405060708ull + (uint64_t)i);
		tf_buf__put_record(&raw, TF_REC_KERNEL, "abc\0\0\0", 6);	/* stored as "abc" */
		assert_int_equal(tf_chunk__encode(TF_CH_EVENTS, (uint32_t)i, raw.p, raw.len, 6, &ch,
						 &n), 0);
		tf_buf__put(&file, ch, n);
		free(ch);
	}
	assert_false(file.oom);
	assert_int_equal(tf_reader__new(&r, file.p, file.len, err, sizeof(err)), 0);
	for (i = 0; i < 3; i++) {
		struct tf_cur cur;

		assert_int_equal(tf_reader__next(r, &c), 1);
		assert_int_equal(c.type, TF_CH_EVENTS);
		assert_int_equal(c.seq, i);
		cur = (struct tf_cur){ .p = c.raw, .left = c.raw_len };
		assert_true(tf_cur__get_u64(&cur) == 0x0102030405060708ull + (uint64_t)i);
		assert_int_equal(tf_cur__get_u16(&cur), TF_REC_KERNEL);
		assert_int_equal(tf_cur__get_u16(&cur), 0);
		assert_int_equal(tf_cur__get_u32(&cur), 3);
		assert_memory_equal(tf_cur__get_bytes(&cur, 3), "abc", 3);
		assert_int_equal(cur.left, 0);
		assert_false(cur.bad);
		tf_cur__get_u8(&cur);
		assert_true(cur.bad);
	}
	assert_int_equal(tf_reader__next(r, &c), 0);
	assert_int_equal(tf_reader__damage(r)->chunks_ok, 3);
	assert_int_equal(tf_reader__damage(r)->bytes_skipped, 0);
	tf_reader__free(r);
	tf_buf__free(&file);
	tf_buf__free(&raw);
}

static void test_sample_matches_oracle(void **state)
{
	size_t len, olen, i;
	uint8_t *d = load(SAMPLE, &len);
	char *otext = NULL, err[256], sum[512];
	struct replay *r;
	cJSON *orc, *counts, *e;
	int matched = 0;

	(void)state;
	REQUIRE_FILE(ORACLE);
	assert_int_equal(read_file(ORACLE, 1 << 20, &otext, &olen), 0);
	orc = cJSON_Parse(otext);
	assert_non_null(orc);
	counts = cJSON_GetObjectItem(orc, "counts");
	assert_int_equal(replay__load(&r, d, len, err, sizeof(err)), 0);
	assert_false(replay__damaged(r, sum, sizeof(sum)));
	assert_true(r->have_trailer);
	assert_true(r->checkpoints >= 1);
	assert_string_equal(r->meta.python, "3.12.1");
	cJSON_ArrayForEach(e, counts) {
		for (i = 0; i < r->ps.n; i++) {
			struct pat_result pr;

			if (strcmp(r->ps.v[i].name, e->string))
				continue;
			assert_int_equal(model__result(r->m, i, &pr), 0);
			if (pr.count != (uint64_t)e->valuedouble)
				fail_msg("%s: file %lu, oracle %.0f", e->string,
					 (unsigned long)pr.count, e->valuedouble);
			pat_result__free(&pr);
			matched++;
		}
	}
	assert_int_equal(matched, (int)r->ps.n);
	{
		char reason[256];

		assert_true(report_exact(r->m, reason, sizeof(reason)));
	}
	replay__free(r);
	cJSON_Delete(orc);
	free(otext);
	free(d);
}

/* Cut at 50 offsets: every complete chunk is recovered, the cut is reported. */
static void test_truncated(void **state)
{
	size_t len, ends[4096], n, k;
	uint8_t *d = load(SAMPLE, &len);
	int t;

	(void)state;
	n = chunk_ends(d, len, ends, 4096);
	assert_true(n > 10);
	for (t = 0; t < 50; t++) {
		size_t cut = t < 3 ? (size_t)t * 7 : rnd() % len, complete = 0;
		struct replay *r;
		char err[256], sum[512];
		int ret;

		for (k = 0; k < n; k++)
			complete += ends[k] <= cut;
		ret = replay__load(&r, d, cut, err, sizeof(err));
		if (!complete) {
			/* no header chunk: one clear error */
			assert_true(ret < 0);
			assert_true(strlen(err) > 0);
			continue;
		}
		assert_int_equal(ret, 0);
		if (r->dmg.chunks_ok != complete)
			fail_msg("cut at %zu: %lu chunks recovered, %zu complete", cut,
				 (unsigned long)r->dmg.chunks_ok, complete);
		if (cut < len) {
			assert_true(replay__damaged(r, sum, sizeof(sum)));
			assert_non_null(strstr(sum, "no trailer"));
			if (cut > ends[complete - 1])
				assert_non_null(strstr(sum, "truncated"));
			assert_false(report_exact(r->m, err, sizeof(err)));
		}
		replay__free(r);
	}
	free(d);
}

/* Flipped bytes: at most the chunk holding them is lost; never a crash. */
static void test_flipped(void **state)
{
	size_t len, ends[4096], n;
	uint8_t *d = load(SAMPLE, &len), *c = malloc(len);
	int t;

	(void)state;
	assert_non_null(c);
	n = chunk_ends(d, len, ends, 4096);
	for (t = 0; t < 60; t++) {
		size_t at = rnd() % len, flips = 1 + t % 3, f;
		struct replay *r;
		char err[256], sum[512];
		int ret;

		memcpy(c, d, len);
		for (f = 0; f < flips; f++)
			c[(at + f * 997) % len] ^= (uint8_t)(1 + rnd() % 255);
		ret = replay__load(&r, c, len, err, sizeof(err));
		if (at + (flips - 1) * 997 < ends[0] && ret) {
			assert_true(strlen(err) > 0);	/* the header chunk is gone */
			continue;
		}
		if (ret)
			fail_msg("flip at %zu: %s", at, err);
		/* each flipped byte spoils at most one chunk */
		assert_true(r->dmg.chunks_ok + flips >= n);
		if (r->dmg.chunks_ok < n)
			assert_true(replay__damaged(r, sum, sizeof(sum)));
		replay__free(r);
	}
	free(c);
	free(d);
}

static void test_versions_and_junk(void **state)
{
	size_t len;
	uint8_t *d = load(SAMPLE, &len), *c = malloc(len);
	struct replay *r;
	char err[256];
	uLong crc;

	(void)state;
	assert_non_null(c);
	assert_int_equal(replay__load(&r, d, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(replay__load(&r, (const uint8_t *)"{\"not\": \"a trace\"}", 18, err,
				      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a pyscope trace"));
	/* a newer major version: refused with a clear error */
	memcpy(c, d, len);
	c[8] = 2;
	crc = crc32(crc32(0L, Z_NULL, 0), c, 12);
	c[12] = (uint8_t)crc;
	c[13] = (uint8_t)(crc >> 8);
	c[14] = (uint8_t)(crc >> 16);
	c[15] = (uint8_t)(crc >> 24);
	assert_int_equal(replay__load(&r, c, len, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "newer"));
	/* an older minor of the same major is read */
	c[8] = 1;
	c[10] = 0;
	crc = crc32(crc32(0L, Z_NULL, 0), c, 12);
	c[12] = (uint8_t)crc;
	c[13] = (uint8_t)(crc >> 8);
	c[14] = (uint8_t)(crc >> 16);
	c[15] = (uint8_t)(crc >> 24);
	assert_int_equal(replay__load(&r, c, len, err, sizeof(err)), 0);
	replay__free(r);
	/* garbage between chunks is skipped by resynchronising on the next chunk */
	{
		size_t ends[4096], n = chunk_ends(d, len, ends, 4096), at = ends[n / 2];
		uint8_t *g = malloc(len + 100);

		assert_non_null(g);
		memcpy(g, d, at);
		memset(g + at, 'P', 100);
		memcpy(g + at + 100, d + at, len - at);
		assert_int_equal(replay__load(&r, g, len + 100, err, sizeof(err)), 0);
		assert_int_equal(r->dmg.chunks_ok, n);
		assert_int_equal(r->dmg.bytes_skipped, 100);
		assert_int_equal(r->dmg.first_bad_off, at);
		replay__free(r);
		free(g);
	}
	free(c);
	free(d);
}

/* A disk slower than the events: chunks are dropped and counted, memory stays bounded. */
static void test_writer_bound(void **state)
{
	struct tf_writer_opts o = { .chunk_raw = 1024, .queue_max = 4096, .delay_ms = 20 };
	char path[] = "/tmp/pyscope-tfw-XXXXXX", err[128];
	uint8_t rec[200], *d;
	struct tf_writer *w;
	struct tf_wstats st;
	struct tf_reader *r;
	struct tf_chunk ch;
	uint64_t back = 0;
	size_t len;
	int fd, i;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(tf_writer__new(&w, fd, &o), 0);
	assert_int_equal(tf_writer__header(w, "{}", 2), 0);
	for (i = 0; i < 2003; i++) {
		memset(rec, (uint8_t)(i | 1), sizeof(rec));
		tf_writer__record(w, TF_REC_KERNEL, rec, sizeof(rec));
	}
	assert_int_equal(tf_writer__close(w, "end", 3, &st), 0);
	close(fd);
	assert_int_equal(st.records, 2003);
	assert_true(st.records_dropped > 0);
	assert_true(st.records_dropped < 2003);
	d = load(path, &len);
	unlink(path);
	assert_int_equal(len, st.bytes_written + TF_FILE_HDR);
	assert_int_equal(tf_reader__new(&r, d, len, err, sizeof(err)), 0);
	while (tf_reader__next(r, &ch) == 1) {
		struct tf_cur c = { .p = ch.raw, .left = ch.raw_len };

		while (ch.type == TF_CH_EVENTS && c.left && !c.bad) {
			tf_cur__get_u32(&c);
			tf_cur__get_bytes(&c, tf_cur__get_u32(&c));
			back++;
		}
	}
	/* what was not dropped is all there, in sequence */
	assert_int_equal(back, st.records - st.records_dropped);
	assert_int_equal(tf_reader__damage(r)->seq_missing, 0);
	assert_int_equal(tf_reader__damage(r)->bytes_skipped, 0);
	tf_reader__free(r);
	free(d);
}

/*
 * fuzz_tracefile found it: a file's clock offset plus a file's timestamp
 * overflowed int64 (undefined) in the reports' wall-clock times.  They wrap
 * now; make asan (UBSan) runs this.
 */
static void test_wall_clock_wraps(void **state)
{
	struct patterns ps = { 0 };
	struct run_meta meta = { .wall_minus_mono = INT64_MAX - 5 };
	struct report_opts o = { .final = true, .sigs = true, .sites = true, .all_details = true,
				 .top = 5 };
	static struct ps_ev_code code;
	static struct ps_ev_agg agg;
	struct ps_stats st = { .count = 3, .last_ns = (uint64_t)INT64_MAX - 7 };
	struct model *m;
	char err[128], *text = NULL;
	size_t len = 0;
	double w;
	FILE *f;
	cJSON *j;

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "f=m:f", err, sizeof(err)), 0);
	ps.v[0].legacy = true;
	m = model__new(&ps, &(struct model_interp){ .pyminor = 12, .qualnames = true });
	assert_non_null(m);
	code.type = PS_EV_CODE;
	code.code_id = 1;
	strcpy(code.name, "f");
	strcpy(code.qualname, "f");
	strcpy(code.module, "m");
	code.kind = PS_CODE_FUNC;
	model__add_code(m, &code);
	agg.type = PS_EV_AGG;
	agg.key.code_id = 1;
	agg.ts_ns = (uint64_t)INT64_MAX - 3;
	model__add_agg(m, &agg);
	model__set_stats(m, 0, &st);
	w = report_wall_s(&meta, (uint64_t)INT64_MAX - 3);
	assert_true(w > -1e10 && w < 1e10);
	j = report_json(m, &meta, &o);
	assert_non_null(j);
	cJSON_Delete(j);
	j = report_migration_json(m, &meta);
	assert_non_null(j);
	cJSON_Delete(j);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	report_migration_text(f, m, &meta);
	fclose(f);
	free(text);
	model__free(m);
	patterns__free(&ps);
}

/*
 * A file records the interpreter's minor version only; replay gets what the
 * live model knew (co_qualname or not) from the offsets table.  A code
 * record whose name record was lost keeps its qualified name only where
 * the interpreter has co_qualname.
 */
static void replay_minor(unsigned minor, bool qualnames)
{
	struct patterns ps = { 0 };
	static struct ps_ev_code code;
	struct tf_buf file = { 0 }, ev = { 0 };
	struct run_meta meta = { .pid = 1 };
	struct tf_source src = { 0 };
	const char *expr = "f=m:Cls.f";
	const struct code_info *ci;
	uint8_t hdr[TF_FILE_HDR], *ch;
	struct replay *r;
	struct model *m;
	char err[128], *json;
	size_t n;

	assert_int_equal(pattern_spec__add_expr(&ps, expr, err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = minor, .qualnames = qualnames });
	assert_non_null(m);
	src.exprs = &expr;
	src.nexprs = 1;
	json = tf_build__header(&src, m, &meta);
	assert_non_null(json);
	code.type = PS_EV_CODE;
	code.code_id = 7;
	code.kind = PS_CODE_FUNC;
	strcpy(code.name, "f");
	strcpy(code.qualname, "Cls.f");
	strcpy(code.module, "m");
	tf_buf__put_record(&ev, TF_REC_KERNEL, &code, sizeof(code));
	tf_file__header(hdr);
	tf_buf__put(&file, hdr, sizeof(hdr));
	assert_int_equal(tf_chunk__encode(TF_CH_HEADER, 0, json, strlen(json), 6, &ch, &n), 0);
	tf_buf__put(&file, ch, n);
	free(ch);
	assert_int_equal(tf_chunk__encode(TF_CH_EVENTS, 1, ev.p, ev.len, 6, &ch, &n), 0);
	tf_buf__put(&file, ch, n);
	free(ch);
	assert_false(file.oom);
	assert_int_equal(replay__load(&r, file.p, file.len, err, sizeof(err)), 0);
	assert_int_equal(model__pyminor(r->m), minor);
	ci = model__code(r->m, 7);
	assert_non_null(ci);
	assert_int_equal(ci->qual_known, qualnames);
	assert_string_equal(ci->qualname, "Cls.f");
	replay__free(r);
	free(json);
	tf_buf__free(&ev);
	tf_buf__free(&file);
	model__free(m);
	patterns__free(&ps);
}

static void test_replay_capabilities(void **state)
{
	(void)state;
	replay_minor(8, false);
	replay_minor(10, false);
	replay_minor(11, true);
	replay_minor(13, true);
	/* minors the table does not know: its nearest */
	replay_minor(7, false);
	replay_minor(14, true);
}

/* Chunks of 32 MiB of zeros, ~32 KiB each in the file: decompression stops at the budget. */
static void test_zip_bomb(void **state)
{
	struct tf_buf file = { 0 };
	uint8_t hdr[TF_FILE_HDR], *zeros = calloc(1, TF_MAX_RAW), *ch;
	struct tf_reader *r;
	struct tf_chunk c;
	char err[128];
	size_t n;
	int i, got = 0;

	(void)state;
	assert_non_null(zeros);
	tf_file__header(hdr);
	tf_buf__put(&file, hdr, sizeof(hdr));
	/* the same chunk 20 times (the reader does not mind a repeated sequence number) */
	assert_int_equal(tf_chunk__encode(TF_CH_EVENTS, 1, zeros, TF_MAX_RAW, 6, &ch, &n), 0);
	for (i = 0; i < 20; i++)
		tf_buf__put(&file, ch, n);
	free(ch);
	assert_false(file.oom);
	assert_true(file.len < (1u << 20));
	assert_int_equal(tf_reader__new(&r, file.p, file.len, err, sizeof(err)), 0);
	while (tf_reader__next(r, &c) == 1)
		got++;
	assert_true(tf_reader__damage(r)->too_big);
	assert_int_equal(got, TF_RAW_MIN / TF_MAX_RAW);
	assert_true(tf_reader__damage(r)->raw_total <= TF_RAW_MIN);
	tf_reader__free(r);
	tf_buf__free(&file);
	free(zeros);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_sample_matches_oracle),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped),
		cmocka_unit_test(test_versions_and_junk),
		cmocka_unit_test(test_writer_bound),
		cmocka_unit_test(test_wall_clock_wraps),
		cmocka_unit_test(test_zip_bomb),
		cmocka_unit_test(test_replay_capabilities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
