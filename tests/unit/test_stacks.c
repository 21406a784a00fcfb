// SPDX-License-Identifier: MIT
/*
 * Folded and speedscope outputs against golden files (tests/unit/golden).
 * UPDATE_GOLDEN=1 rewrites them; review the diff before committing.
 */
#include "testutil.h"
#include "model/model.h"
#include "model/model_stacks.h"
#include "model/pattern_spec.h"
#include "sink/report.h"
#include "util/util.h"

static void add_code(struct model *m, uint32_t id, const char *qual, const char *file, int first)
{
	struct ps_ev_code ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PS_EV_CODE;
	ev.code_id = id;
	ev.code_addr = 0x1000 + id;
	ev.kind = PS_CODE_IGNORE;
	ev.firstlineno = (uint32_t)first;
	snprintf(ev.name, sizeof(ev.name), "%s", strrchr(qual, '.') ? strrchr(qual, '.') + 1 : qual);
	snprintf(ev.qualname, sizeof(ev.qualname), "%s", qual);
	snprintf(ev.module, sizeof(ev.module), "app");
	snprintf(ev.filename, sizeof(ev.filename), "%s", file);
	/* 3.11 location table: unit i is on line first + i */
	for (int i = 0; i < 32; i++) {
		ev.linetable[2 * i] = 0x80 | (13 << 3);	/* one unit, no column */
		ev.linetable[2 * i + 1] = i ? 2 : 0;		/* +1 line after the first */
	}
	ev.lt_len = ev.lt_total = 64;
	model__add_code(m, &ev);
}

static void add_stack(struct model *m, uint64_t id, int n, const uint32_t *codes, const uint32_t *offs)
{
	struct ps_ev_stack ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PS_EV_STACK;
	ev.stack = id;
	ev.nframes = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		ev.frames[i].code_id = codes[i];
		ev.frames[i].offset = offs[i];
	}
	model__add_stack(m, &ev);
}

static void add_agg(struct model *m, uint32_t id, uint64_t stack, uint64_t count, uint64_t sum)
{
	struct ps_ev_agg ev;
	struct ps_stats st;

	memset(&ev, 0, sizeof(ev));
	ev.type = PS_EV_AGG;
	ev.agg_id = id;
	ev.key.code_id = 1;
	ev.key.caller_id = 2;
	ev.key.stack = stack;
	ev.key.nargs = 1;
	snprintf(ev.type_names[0], PS_TYPE_LEN, "Engine");
	model__add_agg(m, &ev);
	memset(&st, 0, sizeof(st));
	st.count = st.timed = count;
	st.sum_ns = sum;
	st.max_ns = sum / count * 2;
	st.hist[100] = count;
	model__set_stats(m, id, &st);
}

static struct model *build(struct patterns *ps)
{
	static const uint32_t c1[] = { 2, 3, 4 }, o1[] = { 4, 10, 0 };
	static const uint32_t c2[] = { 2, 5 }, o2[] = { 6, 2 };
	char err[128];
	struct model *m;

	assert_int_equal(pattern_spec__add_expr(ps, "ctor=class:app:Engine", err, sizeof(err)), 0);
	m = model__new(ps, &(struct model_interp){ .pyminor = 11, .qualnames = true });
	add_code(m, 1, "Engine.__init__", "/app/engine.py", 10);
	add_code(m, 2, "handle", "/app/server.py", 20);
	add_code(m, 3, "serve", "/app/server.py", 40);
	add_code(m, 4, "<module>", "/app/main.py", 1);
	add_code(m, 5, "Worker.run", "/app/worker.py", 7);
	model__add_code(m, &(struct ps_ev_code){ .type = PS_EV_CODE, .code_id = 1,
						 .code_addr = 0x1001, .kind = PS_CODE_INIT,
						 .firstlineno = 10, .name = "__init__",
						 .qualname = "Engine.__init__", .module = "app",
						 .filename = "/app/engine.py" });
	add_stack(m, 0x1111, 3, c1, o1);
	add_stack(m, 0x2222, 2, c2, o2);
	add_agg(m, 0, 0x1111, 23, 23000);
	add_agg(m, 1, 0x2222, 7, 70000);
	return m;
}

static void golden(const char *name, const char *got)
{
	char path[512], *want = NULL;

	snprintf(path, sizeof(path), SRCDIR "/tests/unit/golden/%s", name);
	if (getenv("UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	}
	assert_int_equal(read_file(path, 1 << 20, &want, NULL), 0);
	assert_string_equal(got, want);
	free(want);
}

static void test_folded(void **state)
{
	struct patterns ps = { 0 };
	struct model *m = build(&ps);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_int_equal(report_folded(f, m, false), 0);
	fclose(f);
	golden("paths.folded", buf);
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(report_folded(f, m, true), 0);
	fclose(f);
	golden("paths.latency.folded", buf);
	free(buf);
	model__free(m);
	patterns__free(&ps);
}

static void test_speedscope(void **state)
{
	struct run_meta meta = { .pid = 42, .python = "3.11.7" };
	struct patterns ps = { 0 };
	struct model *m = build(&ps);
	char *buf = NULL;
	size_t len = 0;
	cJSON *doc;
	FILE *f;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_int_equal(report_speedscope(f, m, &meta, false), 0);
	fclose(f);
	golden("paths.speedscope.json", buf);
	/* the structure speedscope requires */
	doc = cJSON_Parse(buf);
	assert_non_null(doc);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "shared"), "frames"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "profiles")), 1);
	cJSON_Delete(doc);
	free(buf);
	model__free(m);
	patterns__free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_speedscope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
