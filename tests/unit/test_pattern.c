// SPDX-License-Identifier: MIT
#include "testutil.h"
#include "model/pattern.h"
#include "model/pattern_spec.h"
#include "model/pattern_json.h"

#include <errno.h>

static int parse(struct patterns *ps, const char *json, char *err, size_t n)
{
	return pattern_json__parse(ps, json, strlen(json), "test.json", err, n);
}

static void test_specs(void **state)
{
	struct pattern p;
	char err[256];

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(pattern_spec__parse("a.b.c:Cls.meth", &p, err, sizeof(err)), 0);
	assert_int_equal(p.kind, PAT_FUNC);
	assert_string_equal(p.module, "a.b.c");
	assert_string_equal(p.qualname, "Cls.meth");
	assert_string_equal(p.leaf, "meth");
	assert_true(p.skip_self);
	assert_int_equal(pattern_spec__parse("class:m:Outer.Inner", &p, err, sizeof(err)), 0);
	assert_int_equal(p.kind, PAT_CLASS);
	assert_string_equal(pattern__class_name(&p), "Inner");
	assert_int_equal(pattern_spec__parse("func:m:f.<locals>.g", &p, err, sizeof(err)), 0);
	assert_false(p.skip_self);	/* a nested function, not a method */
	assert_int_equal(pattern_spec__parse("m:f", &p, err, sizeof(err)), 0);
	assert_false(p.skip_self);
	assert_string_equal(pattern__kernel_name(&p, true), "f");

	const char *bad[] = { "nocolon", "a:b:c", ":f", "m:", "m:1f", "m:f..g", "m:f.", "bad-mod:f",
			      "class:", "m:f g" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pattern_spec__parse(bad[i], &p, err, sizeof(err)), -EINVAL);
}

static void test_exprs(void **state)
{
	struct patterns ps = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(pattern_spec__add_expr(&ps, "legacy=class:app.engine:Engine", err, sizeof(err)), 0);
	assert_int_equal(pattern_spec__add_expr(&ps, "app.engine:Engine.run", err, sizeof(err)), 0);
	assert_string_equal(ps.v[1].name, "Engine.run");
	assert_int_equal(pattern_spec__add_expr(&ps, "legacy=m:f", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "duplicate"));
	assert_int_equal(pattern_spec__add_expr(&ps, "bad name=m:f", err, sizeof(err)), -EINVAL);
	assert_int_equal(ps.n, 2);
	patterns__free(&ps);
}

static void test_json_ok(void **state)
{
	struct patterns ps = { 0 };
	char err[256];
	const char *doc =
		"{\"version\": 1, \"patterns\": ["
		"{\"name\": \"legacy\", \"class\": \"app:UserExecutionEngine\","
		" \"args\": [\"AgentRegistry\", null, \"*\"], \"nargs\": 3, \"legacy\": true},"
		"{\"name\": \"kw\", \"class\": \"app:UserExecutionEngine\", \"kwargs\": [\"context\"]},"
		"{\"name\": \"fac\", \"function\": \"app:UserExecutionEngine.create\", \"forbid\": true},"
		"{\"spec\": \"class:app:Other\"},"
		"{\"name\": \"st\", \"function\": \"app:K.static\", \"self\": false}]}";

	(void)state;
	assert_int_equal(parse(&ps, doc, err, sizeof(err)), 0);
	assert_int_equal(ps.n, 5);
	assert_int_equal(ps.v[0].nargs_c, 3);
	assert_string_equal(ps.v[0].args[0], "AgentRegistry");
	assert_string_equal(ps.v[0].args[1], "");
	assert_string_equal(ps.v[0].args[2], "");
	assert_int_equal(ps.v[0].nargs_eq, 3);
	assert_true(ps.v[0].legacy);
	assert_string_equal(ps.v[1].kwargs[0], "context");
	assert_true(ps.v[2].forbid);
	assert_string_equal(ps.v[3].name, "Other");
	assert_false(ps.v[4].skip_self);
	patterns__free(&ps);
	/* a bare list is accepted too */
	assert_int_equal(parse(&ps, "[{\"function\": \"m:f\"}]", err, sizeof(err)), 0);
	patterns__free(&ps);
}

static void test_json_bad(void **state)
{
	const char *bad[] = {
		"",
		"{",
		"[]",
		"{\"patterns\": []}",
		"{\"patterns\": [ {\"function\": \"m:f\"}, ]}",
		"{\"patternz\": []}",
		"{\"version\": 2, \"patterns\": [{\"function\": \"m:f\"}]}",
		"[{\"function\": \"m:f\", \"typo\": 1}]",
		"[{\"function\": \"m:f\", \"class\": \"m:C\"}]",
		"[{\"name\": \"a\"}]",
		"[{\"function\": 3}]",
		"[{\"function\": \"class:m:C\"}]",
		"[{\"name\": \"a\", \"function\": \"m:f\"}, {\"name\": \"a\", \"function\": \"m:g\"}]",
		"[{\"function\": \"m:f\", \"args\": \"int\"}]",
		"[{\"function\": \"m:f\", \"args\": [1]}]",
		"[{\"function\": \"m:f\", \"nargs\": -1}]",
		"[{\"function\": \"m:f\", \"nargs\": 1.5}]",
		"[{\"function\": \"m:f\", \"kwargs\": [\"a b\"]}]",
		"[{\"function\": \"m:f\", \"kwargs\": [\"a\"], \"no_kwargs\": true}]",
		"[{\"function\": \"m:f\", \"forbid\": \"yes\"}]",
		"[\"m:f\"]",
		"[{\"function\": \"m:f\"}] trailing",
	};
	struct patterns ps = { 0 };
	char err[256];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(&ps, bad[i], err, sizeof(err)) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strlen(err) > 0);
		assert_non_null(strstr(err, "test.json"));
		patterns__free(&ps);
	}
	/* not UTF-8, and embedded NUL */
	assert_true(pattern_json__parse(&ps, "[{\"function\": \"m:\xff\"}]", 24, "t", err,
					sizeof(err)) < 0);
	assert_non_null(strstr(err, "UTF-8"));
	assert_true(pattern_json__parse(&ps, "[\0]", 3, "t", err, sizeof(err)) < 0);
	patterns__free(&ps);
}

static void test_json_limits(void **state)
{
	struct patterns ps = { 0 };
	char err[256], *deep, *many;
	size_t i, n = 5000, len;

	(void)state;
	/* deeply nested: refused, no stack overflow */
	deep = malloc(2 * n + 1);
	for (i = 0; i < n; i++) {
		deep[i] = '[';
		deep[2 * n - 1 - i] = ']';
	}
	deep[2 * n] = '\0';
	assert_true(parse(&ps, deep, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "nested deeper than"));
	free(deep);
	/* brackets inside strings are not nesting */
	assert_int_equal(parse(&ps, "[{\"function\": \"m:f\", \"description\": "
				"\"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{\\\"[[[[\"}]", err, sizeof(err)), 0);
	assert_string_equal(ps.v[0].description, "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{\"[[[[");
	patterns__free(&ps);
	/* as deep as allowed: the error is about the content, not the depth */
	assert_int_equal(parse(&ps, "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]", err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "nested"));
	assert_int_equal(parse(&ps, "\n\n[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "test.json:3: JSON nested deeper than 16 levels"));
	/* more patterns than allowed */
	many = malloc(PAT_MAX * 64 + 64);
	len = (size_t)sprintf(many, "[");
	for (i = 0; i <= PAT_MAX; i++)
		len += (size_t)sprintf(many + len, "%s{\"function\": \"m:f%zu\"}", i ? "," : "", i);
	sprintf(many + len, "]");
	assert_int_equal(parse(&ps, many, err, sizeof(err)), -E2BIG);
	free(many);
	patterns__free(&ps);
	/* too big a file */
	assert_int_equal(pattern_json__parse(&ps, "[]", PAT_MAX_FILE + 1, "t", err, sizeof(err)),
			 -EFBIG);
}

static void test_sig_matching(void **state)
{
	struct patterns ps = { 0 };
	struct call_sig sig = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(parse(&ps,
			       "[{\"name\": \"legacy\", \"class\": \"m:E\", \"args\": [\"Registry\", "
			       "\"Bridge\", \"Ctx\"], \"no_kwargs\": true},"
			       "{\"name\": \"kw\", \"class\": \"m:E\", \"kwargs\": [\"context\"]},"
			       "{\"name\": \"two\", \"function\": \"m:f\", \"nargs\": 2}]",
			       err, sizeof(err)), 0);
	sig.ntypes = 4;
	sig.types[0] = "E";
	sig.types[1] = "Registry";
	sig.types[2] = "pkg.Bridge";	/* a qualified name matches its last part */
	sig.types[3] = "Ctx";
	assert_true(pattern__sig_matches(&ps.v[0], &sig));
	assert_false(pattern__sig_matches(&ps.v[1], &sig));
	sig.types[3] = "OtherCtx";
	assert_false(pattern__sig_matches(&ps.v[0], &sig));
	sig.types[3] = "Ctx";
	sig.nkw = 1;
	sig.kw[0] = "context";
	assert_false(pattern__sig_matches(&ps.v[0], &sig));
	assert_true(pattern__sig_matches(&ps.v[1], &sig));
	sig.ntypes = 2;
	assert_false(pattern__sig_matches(&ps.v[0], &sig));
	assert_true(pattern__sig_matches(&ps.v[2], &sig));
	assert_true(pattern__type_matches("Inner", "Outer.Inner"));
	assert_false(pattern__type_matches("Inner", "OuterInner"));
	assert_true(pattern__type_matches("", "anything"));
	assert_true(pattern__func_matches(&ps.v[2], "m", "f"));
	assert_false(pattern__func_matches(&ps.v[2], "m2", "f"));
	patterns__free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_specs), cmocka_unit_test(test_exprs),
		cmocka_unit_test(test_json_ok), cmocka_unit_test(test_json_bad),
		cmocka_unit_test(test_json_limits), cmocka_unit_test(test_sig_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
