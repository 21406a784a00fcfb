// SPDX-License-Identifier: MIT
/* Attribution of kernel aggregates to patterns, and the reports built on it. */
#include "testutil.h"
#include "model/model.h"
#include "model/model_result.h"
#include "model/pattern_spec.h"
#include "sink/report.h"
#include "util/util.h"

static struct ps_ev_code *code_ev(uint32_t id, const char *name, const char *qual,
				  const char *module, const char *file, int first, uint32_t kind)
{
	static struct ps_ev_code ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PS_EV_CODE;
	ev.code_id = id;
	ev.code_addr = 0x1000 + id;
	ev.kind = kind;
	ev.firstlineno = (uint32_t)first;
	snprintf(ev.name, sizeof(ev.name), "%s", name);
	snprintf(ev.qualname, sizeof(ev.qualname), "%s", qual);
	snprintf(ev.module, sizeof(ev.module), "%s", module);
	snprintf(ev.filename, sizeof(ev.filename), "%s", file);
	/* 3.11 location table: one short-form entry per line step */
	ev.linetable[0] = 0x80 | (13 << 3) | 1;	/* no column, 2 units, line delta */
	ev.linetable[1] = 2;			/* +1 */
	ev.linetable[2] = 0x80 | (13 << 3) | 1;
	ev.linetable[3] = 2;			/* +1 */
	ev.lt_len = ev.lt_total = 4;
	return &ev;
}

static void add_agg(struct model *m, uint32_t id, uint32_t code, uint32_t caller, uint32_t off,
		    uint16_t flags, const char *t0, const char *t1, uint64_t count)
{
	struct ps_ev_agg ev;
	struct ps_stats st;

	memset(&ev, 0, sizeof(ev));
	ev.type = PS_EV_AGG;
	ev.agg_id = id;
	ev.key.code_id = code;
	ev.key.caller_id = caller;
	ev.key.caller_off = off;
	ev.key.flags = flags;
	ev.key.nargs = t1 ? 2 : 1;
	snprintf(ev.type_names[0], PS_TYPE_LEN, "%s", t0);
	if (t1)
		snprintf(ev.type_names[1], PS_TYPE_LEN, "%s", t1);
	model__add_agg(m, &ev);
	memset(&st, 0, sizeof(st));
	st.count = st.timed = count;
	st.sum_ns = count * 1000;
	st.max_ns = 1500;
	st.hist[20] = count;
	model__set_stats(m, id, &st);
}

static uint64_t count_of(struct model *m, size_t i)
{
	struct pat_result r;
	uint64_t n;

	assert_int_equal(model__result(m, i, &r), 0);
	n = r.count;
	pat_result__free(&r);
	return n;
}

static void test_attribution_311(void **state)
{
	struct patterns ps = { 0 };
	struct model *m;
	struct pat_result r;
	char err[128];

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "ctor=class:app:Engine", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "run=app:Engine.run", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "widget=class:app:Widget", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 11, .qualnames = true });
	assert_non_null(m);
	/* codes: Engine.__init__, Engine.run in app and in another module, a caller */
	model__add_code(m, code_ev(1, "__init__", "Engine.__init__", "app", "/a.py", 10,
				   PS_CODE_INIT));
	assert_int_equal(model__add_code(m, code_ev(2, "run", "Engine.run", "app", "/a.py", 20,
						    PS_CODE_FUNC)), PS_CODE_FUNC);
	/* same qualname elsewhere: the kernel is told to stop counting it */
	assert_int_equal(model__add_code(m, code_ev(3, "run", "Engine.run", "other", "/o.py", 5,
						    PS_CODE_FUNC)), PS_CODE_IGNORE);
	model__add_code(m, code_ev(4, "main", "main", "app", "/main.py", 100, PS_CODE_IGNORE));
	model__add_code(m, code_ev(5, "__init__", "Widget.__init__", "other", "/o.py", 1,
				   PS_CODE_INIT));

	add_agg(m, 0, 1, 4, 0, 0, "Engine", "int", 7);			/* line 101 */
	add_agg(m, 1, 1, 4, 4, 0, "Engine", "str", 5);			/* line 102 */
	add_agg(m, 2, 1, 1, 0, PS_AGG_CHAINED, "Engine", "int", 100);	/* super().__init__ */
	add_agg(m, 3, 1, 4, 0, 0, "Sub", "int", 1000);			/* a subclass */
	add_agg(m, 4, 2, 4, 6, 0, "Engine", NULL, 3);			/* line 102 */
	add_agg(m, 5, 3, 4, 6, 0, "Engine", NULL, 50);			/* other module */
	add_agg(m, 6, 5, 4, 0, 0, "Widget", "int", 9);			/* Widget of 'other' */
	add_agg(m, 7, 2, 4, 7, 0, "Engine", NULL, 2);			/* line 102, 2nd call */

	assert_int_equal(count_of(m, 0), 12);
	assert_int_equal(count_of(m, 1), 5);
	/* own __init__ in module 'other': not app.Widget */
	assert_int_equal(count_of(m, 2), 0);

	assert_int_equal(model__result(m, 0, &r), 0);
	assert_int_equal(r.nsigs, 2);
	assert_string_equal(r.sigs[0].text, "(int)");
	assert_int_equal(r.sigs[0].count, 7);
	assert_int_equal(r.nsites, 2);
	assert_string_equal(r.sites[0].where, "/main.py:101");
	assert_string_equal(r.sites[1].where, "/main.py:102");
	assert_string_equal(r.sites[0].func, "main");
	pat_result__free(&r);
	/* two call offsets on one line: one row */
	assert_int_equal(model__result(m, 1, &r), 0);
	assert_int_equal(r.nsites, 1);
	assert_string_equal(r.sites[0].where, "/main.py:102");
	assert_int_equal(r.sites[0].count, 5);
	assert_int_equal(r.lat.count, 5);
	assert_int_equal(r.lat.max_ns, 1500);
	pat_result__free(&r);
	assert_int_equal(model__unresolved(m), 0);
	model__free(m);
	patterns__free(&ps);
}

/* The end-of-trace warning: which patterns matched no code at all. */
static void test_pattern_matched_code(void **state)
{
	struct patterns ps = { 0 };
	struct model *m;
	char err[128];

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "run=app:Engine.run", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "typo=app:Engine.rnu", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "ctor=class:app:Engine", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "widget=class:app:Widget", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "strs=app:Engine.stop", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "other=app:helper", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 11, .qualnames = true });
	assert_non_null(m);
	/* nothing ran yet */
	assert_false(model__pattern_matched_code(m, 0));
	model__add_code(m, code_ev(1, "run", "Engine.run", "app", "/a.py", 20, PS_CODE_FUNC));
	model__add_code(m, code_ev(2, "__init__", "Engine.__init__", "app", "/a.py", 10,
				   PS_CODE_INIT));
	model__add_code(m, code_ev(3, "__init__", "Widget.__init__", "other", "/o.py", 1,
				   PS_CODE_INIT));
	model__add_code(m, code_ev(4, "stop", "Engine.stop", "app", "/a.py", 30, PS_CODE_FUNC));
	model__add_code(m, code_ev(5, "helper", "helper", "elsewhere", "/e.py", 1,
				   PS_CODE_FUNC));
	add_agg(m, 0, 1, 0, 0, PS_AGG_NO_CALLER, "Engine", NULL, 3);
	add_agg(m, 1, 2, 0, 0, PS_AGG_NO_CALLER, "Engine", "int", 5);
	add_agg(m, 2, 3, 0, 0, PS_AGG_NO_CALLER, "Widget", "int", 9);	/* other.Widget */
	add_agg(m, 3, 4, 0, 0, PS_AGG_NO_CALLER, "Engine", NULL, 2);
	add_agg(m, 4, 5, 0, 0, PS_AGG_NO_CALLER, "int", NULL, 4);	/* another module's */
	/* a constrained pattern that counted nothing still matched code */
	ps.v[4].nargs_c = 1;
	str_copy(ps.v[4].args[0], "str", PS_TYPE_LEN);
	assert_int_equal(count_of(m, 4), 0);

	assert_true(model__pattern_matched_code(m, 0));
	assert_false(model__pattern_matched_code(m, 1));
	assert_true(model__pattern_matched_code(m, 2));
	assert_false(model__pattern_matched_code(m, 3));
	assert_true(model__pattern_matched_code(m, 4));
	assert_false(model__pattern_matched_code(m, 5));
	model__free(m);
	patterns__free(&ps);
}

/* Names, files and types come from the target: nothing it puts there reaches a terminal raw. */
static void test_hostile_strings(void **state)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain.name_1", "plain.name_1" },
		{ "h\xc3\xa9llo \xe6\x97\xa5\xf0\x9f\x90\x8d", "h\xc3\xa9llo \xe6\x97\xa5\xf0\x9f\x90\x8d" },
		{ "esc\x1b[2Jbell\x07" "del\x7f\n", "esc?[2Jbell?del??" },
		{ "c1\xc2\x9b" "31m", "c1??31m" },			/* CSI as U+009B */
		{ "overlong\xc0\xaf surrogate\xed\xa0\x80", "overlong?? surrogate???" },
		{ "cut\xe6\x97", "cut??" },
		{ "\xff\xfe", "??" },
	};
	struct patterns ps = { 0 };
	struct run_meta meta;
	struct report_opts o = { .final = true, .sigs = true, .sites = true, .all_details = true,
				 .top = 10 };
	const struct code_info *ci;
	struct ps_ev_agg ev;
	struct model *m;
	char err[128], buf[64], *text = NULL, *json;
	size_t len = 0, i;
	FILE *f;
	cJSON *doc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		str_copy(buf, cases[i].in, sizeof(buf));
		str_sanitize(buf);
		assert_string_equal(buf, cases[i].out);
	}
	assert_int_equal(pattern_spec__add_expr(&ps, "f=m:f", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 11, .qualnames = true });
	model__add_code(m, code_ev(1, "f", "f", "m", "/srv/\x1b]0;owned\x07.py", 1, PS_CODE_FUNC));
	model__add_code(m, code_ev(2, "\x1b[31mmain", "\x1b[31mmain", "m\xff", "/m.py", 1,
				   PS_CODE_IGNORE));
	ci = model__code(m, 1);
	assert_string_equal(ci->filename, "/srv/?]0;owned?.py");
	memset(&ev, 0, sizeof(ev));
	ev.agg_id = 0;
	ev.key.code_id = 1;
	ev.key.caller_id = 2;
	ev.key.nargs = 1;
	ev.nkw = 1;
	str_copy(ev.type_names[0], "T\x1b[8m", PS_TYPE_LEN);
	str_copy(ev.kwnames[0], "k\r", PS_KW_LEN);
	model__add_agg(m, &ev);
	assert_string_equal(model__agg(m, 0)->types[0], "T?[8m");
	assert_string_equal(model__agg(m, 0)->kw[0], "k?");

	memset(&meta, 0, sizeof(meta));
	f = open_memstream(&text, &len);
	report_text(f, m, &meta, &o);
	assert_int_equal(report_json_print(f, m, &meta, &o), 0);
	fclose(f);
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n' && text[i] != '\t')
			fail_msg("control character 0x%02x at %zu in:\n%s", text[i], i, text);
	assert_non_null(strstr(text, "?[31mmain"));
	json = strchr(text, '{');
	assert_non_null(json);
	doc = cJSON_Parse(json);
	assert_non_null(doc);
	cJSON_Delete(doc);
	free(text);
	model__free(m);
	patterns__free(&ps);
}

/* Aggregate ids are the kernel's: any value may arrive, in any order. */
static void test_agg_ids(void **state)
{
	struct patterns ps = { 0 };
	struct model *m;
	char err[128];

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "f=m:f", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 12, .qualnames = true });
	model__add_code(m, code_ev(1, "f", "f", "m", "/a.py", 1, PS_CODE_FUNC));
	add_agg(m, PS_MAX_AGGS - 1, 1, 0, 0, PS_AGG_NO_CALLER, "int", NULL, 5);
	add_agg(m, 3, 1, 0, 0, PS_AGG_NO_CALLER, "str", NULL, 7);
	add_agg(m, PS_MAX_AGGS, 1, 0, 0, PS_AGG_NO_CALLER, "x", NULL, 1000);	/* ignored */
	add_agg(m, UINT32_MAX, 1, 0, 0, PS_AGG_NO_CALLER, "x", NULL, 1000);	/* ignored */
	assert_int_equal(model__max_agg(m), PS_MAX_AGGS);
	assert_non_null(model__agg(m, PS_MAX_AGGS - 1));
	assert_non_null(model__agg(m, 3));
	assert_null(model__agg(m, 4));
	assert_null(model__agg(m, PS_MAX_AGGS));
	assert_int_equal(count_of(m, 0), 12);
	model__free(m);
	patterns__free(&ps);
}

static void test_new_fallback(void **state)
{
	struct patterns ps = { 0 };
	struct model *m;
	char err[128];

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "s=class:app:Slotted", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 12, .qualnames = true });
	model__add_code(m, code_ev(1, "__new__", "Slotted.__new__", "app", "/a.py", 1,
				   PS_CODE_INIT | PS_CODE_NEW));
	add_agg(m, 0, 1, 0, 0, PS_AGG_NEW | PS_AGG_NO_CALLER, "Slotted", "int", 7);
	assert_int_equal(count_of(m, 0), 7);
	/* once an __init__ of the class is seen, __new__ no longer counts */
	model__add_code(m, code_ev(2, "__init__", "Slotted.__init__", "app", "/a.py", 9,
				   PS_CODE_INIT));
	add_agg(m, 1, 2, 0, 0, PS_AGG_NO_CALLER, "Slotted", "int", 7);
	assert_int_equal(count_of(m, 0), 7);
	model__free(m);
	patterns__free(&ps);
}

static int fake_source(void *ctx, const char *filename, char **text, size_t *len)
{
	(void)ctx;
	if (strcmp(filename, "/app.py"))
		return -2;
	*text = strdup("class Engine:\n    def run(self):\n        pass\n\ndef run():\n    pass\n");
	*len = strlen(*text);
	return 0;
}

static void test_qualnames_310(void **state)
{
	struct patterns ps = { 0 };
	struct model *m;
	char err[128];

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "run=app:Engine.run", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 10, .qualnames = false });
	model__set_source_reader(m, fake_source, NULL);
	/* <= 3.10 codes carry only co_name; the source gives the qualified name */
	assert_int_equal(model__add_code(m, code_ev(1, "run", "run", "app", "/app.py", 2,
						    PS_CODE_FUNC)), PS_CODE_FUNC);
	assert_int_equal(model__add_code(m, code_ev(2, "run", "run", "app", "/app.py", 5,
						    PS_CODE_FUNC)), PS_CODE_IGNORE);
	/* no source: kept, and counted as unresolved (not exact) */
	assert_int_equal(model__add_code(m, code_ev(3, "run", "run", "app", "/gone.py", 5,
						    PS_CODE_FUNC)), PS_CODE_FUNC);
	add_agg(m, 0, 1, 0, 0, PS_AGG_NO_CALLER, "Engine", NULL, 4);
	add_agg(m, 1, 3, 0, 0, PS_AGG_NO_CALLER, "Engine", NULL, 2);
	assert_int_equal(count_of(m, 0), 4);
	assert_int_equal(model__unresolved(m), 2);
	model__free(m);
	patterns__free(&ps);
}

static void test_reports(void **state)
{
	struct run_meta meta = { .pid = 42, .python = "3.12.1", .mechanism = "resume",
				 .returns = "x", .timed = true, .duration_ns = 2000000000 };
	struct report_opts o = { .final = true, .sigs = true, .sites = true, .all_details = true,
				 .top = 5 };
	struct patterns ps = { 0 };
	struct model *m;
	char err[128], *buf = NULL, reason[256];
	size_t len = 0;
	cJSON *j, *p;
	FILE *f;

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "ctor=class:app:Engine", err, sizeof(err)), 0);
	m = model__new(&ps, &(struct model_interp){ .pyminor = 12, .qualnames = true });
	model__add_code(m, code_ev(1, "__init__", "Engine.__init__", "app", "/a.py", 10,
				   PS_CODE_INIT));
	add_agg(m, 0, 1, 0, 0, PS_AGG_NO_CALLER, "Engine", "int", 23);
	f = open_memstream(&buf, &len);
	report_text(f, m, &meta, &o);
	fclose(f);
	assert_non_null(strstr(buf, "pyscope: pid 42, Python 3.12.1, via resume"));
	assert_non_null(strstr(buf, "ctor"));
	assert_non_null(strstr(buf, "<called from C>"));
	assert_non_null(strstr(buf, "exact: yes"));
	/* every line fits 100 columns */
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		assert_true(strlen(l) <= 100);
	free(buf);
	j = report_json(m, &meta, &o);
	p = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "patterns"), 0);
	assert_int_equal(cJSON_GetObjectItem(p, "count")->valuedouble, 23);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "exact")));
	cJSON_Delete(j);
	/* a lost event makes the report say so */
	model__set_counter(m, PS_CNT_RB_LOST, 3);
	assert_false(report_exact(m, reason, sizeof(reason)));
	assert_non_null(strstr(reason, "3 sightings lost"));
	model__free(m);
	patterns__free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attribution_311),
		cmocka_unit_test(test_new_fallback),
		cmocka_unit_test(test_pattern_matched_code),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_agg_ids),
		cmocka_unit_test(test_qualnames_310),
		cmocka_unit_test(test_reports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
