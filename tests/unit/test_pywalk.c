// SPDX-License-Identifier: MIT
/*
 * Resolving patterns to code objects in a fake target: CPython objects laid
 * out with the generated offsets of 3.12 (and 3.10 for the <= 3.10 paths)
 * in a buffer read through a memsrc_read_fn.
 */
#include "testutil.h"
#include "target/offsets.h"
#include "target/pywalk.h"

#include <errno.h>

#define BASE 0x10000000ull
#define OBJ 512		/* bytes for any object: more than every offset we use */

/* The fake target's memory: one bump-allocated, zero-filled region. */
struct fake {
	uint8_t buf[1 << 20];
	size_t used;
	const struct py_offsets *o;
	struct pywalk w;
	uint64_t type_type;	/* the type of classes */
	unsigned reads;		/* read calls, for the chunking test */
};

static int fake_read(void *ctx, struct memsrc_item *items, size_t n)
{
	struct fake *f = ctx;
	size_t i;

	f->reads++;
	for (i = 0; i < n; i++) {
		uint64_t a = items[i].addr;

		items[i].status = 0;
		if (a < BASE || a - BASE > f->used || items[i].len > f->used - (a - BASE))
			items[i].status = -EFAULT;
		else
			memcpy(items[i].dst, f->buf + (a - BASE), items[i].len);
	}
	return 0;
}

static uint64_t alloc(struct fake *f, size_t n)
{
	uint64_t a = BASE + f->used;

	n = (n + 15) & ~(size_t)15;
	assert_true(f->used + n <= sizeof(f->buf));
	f->used += n;
	return a;
}

static void put(struct fake *f, uint64_t addr, const void *v, size_t n)
{
	memcpy(f->buf + (addr - BASE), v, n);
}

static void put64(struct fake *f, uint64_t addr, uint64_t v)
{
	put(f, addr, &v, 8);
}

static uint64_t obj(struct fake *f, uint64_t type, size_t size)
{
	uint64_t a = alloc(f, size);

	put64(f, a + f->o->ob_type, type);
	return a;
}

/* A compact ASCII str. */
static uint64_t str(struct fake *f, const char *s)
{
	uint64_t a = alloc(f, f->o->u_ascii_data + strlen(s) + 1);
	uint32_t state = (1u << 5) | (1u << 6);
	int64_t len = (int64_t)strlen(s);

	put(f, a + f->o->u_state, &state, 4);
	put(f, a + f->o->u_length, &len, 8);
	put(f, a + f->o->u_ascii_data, s, strlen(s) + 1);
	return a;
}

static uint64_t tuple(struct fake *f, size_t n, const uint64_t *items)
{
	uint64_t a = alloc(f, f->o->tup_item + 8 * n + 8);
	size_t i;

	put64(f, a + f->o->tup_size, n);
	for (i = 0; i < n; i++)
		put64(f, a + f->o->tup_item + 8 * i, items[i]);
	return a;
}

/*
 * A combined dict of n entries, keys[i] -> vals[i] (NULL keys leave a hole).
 * 3.11+: unicode-keyed (16-byte entries) unless general; <= 3.10: 24-byte
 * entries after an index of size bytes.
 */
static uint64_t dict(struct fake *f, size_t n, const char *const *keys, const uint64_t *vals,
		     bool general)
{
	const struct py_offsets *o = f->o;
	uint64_t d = alloc(f, OBJ), k, e;
	uint32_t esize = 24, koff = 8;
	size_t i;

	if (o->dk_log2) {
		uint8_t lg = 3, ilg = 3, kind = general ? 0 : 1;

		if (!general) {
			esize = 16;
			koff = 0;
		}
		k = alloc(f, o->dk_indices + 8 + n * esize);
		put(f, k + o->dk_size, &lg, 1);
		put(f, k + o->dk_kind, &kind, 1);
		if (o->dk_index_bytes != PYOFF_NONE)
			put(f, k + o->dk_index_bytes, &ilg, 1);
		e = k + o->dk_indices + 8;
	} else {
		k = alloc(f, o->dk_indices + 8 + n * esize);
		put64(f, k + o->dk_size, 8);	/* 8 one-byte indices */
		e = k + o->dk_indices + 8;
	}
	put64(f, k + o->dk_nentries, n);
	for (i = 0; i < n; i++) {
		if (keys[i])
			put64(f, e + i * esize + koff, str(f, keys[i]));
		put64(f, e + i * esize + koff + 8, vals[i]);
	}
	put64(f, d + o->di_keys, k);
	return d;
}

/* A 3.11+ code object whose RESUME is the unit at index resume (-1: none). */
static uint64_t code(struct fake *f, const char *name, uint64_t consts, int resume)
{
	const struct py_offsets *o = f->o;
	uint64_t c = obj(f, f->w.t.code, o->co_code_adaptive + 2 * 64);
	unsigned i;

	put64(f, c + o->co_name, str(f, name));
	put64(f, c + o->co_consts, consts ? consts : tuple(f, 0, NULL));
	for (i = 0; i < 64; i++) {
		uint16_t unit = (uint16_t)((int)i == resume ? o->op_resume : 1);

		put(f, c + o->co_code_adaptive + 2 * i, &unit, 2);
	}
	return c;
}

static uint64_t func(struct fake *f, uint64_t code_obj)
{
	uint64_t fn = obj(f, f->w.t.function, OBJ);

	put64(f, fn + f->o->fn_code, code_obj);
	return fn;
}

static uint64_t wrap(struct fake *f, uint64_t type, uint64_t callable)
{
	uint64_t w = obj(f, type, OBJ);

	put64(f, w + f->o->cm_callable, callable);
	return w;
}

/* A class with its own dict; its MRO is itself, then bases. */
static uint64_t klass(struct fake *f, uint64_t cdict, size_t nbases, const uint64_t *bases)
{
	uint64_t c = obj(f, f->type_type, OBJ), mro[4];
	size_t i;

	mro[0] = c;
	for (i = 0; i < nbases; i++)
		mro[i + 1] = bases[i];
	put64(f, c + f->o->tp_dict, cdict);
	put64(f, c + f->o->tp_mro, tuple(f, nbases + 1, mro));
	return c;
}

static struct fake *fake_new(unsigned minor)
{
	struct fake *f = calloc(1, sizeof(*f));
	enum pyoff_source src;
	uint64_t interp;

	assert_non_null(f);
	f->o = pyoff_lookup((struct pyver){ 3, minor, minor == 12 ? 1 : 13, 0xf }, &src);
	assert_non_null(f->o);
	f->used = 16;	/* address BASE is no object */
	f->w.off = f->o;
	f->w.read = fake_read;
	f->w.ctx = f;
	f->w.t.function = alloc(f, OBJ);
	f->w.t.classmethod = alloc(f, OBJ);
	f->w.t.staticmethod = alloc(f, OBJ);
	f->w.t.module = alloc(f, OBJ);
	f->w.t.code = alloc(f, OBJ);
	f->type_type = alloc(f, OBJ);
	f->w.runtime = alloc(f, OBJ);
	interp = alloc(f, OBJ);
	put64(f, f->w.runtime + f->o->rt_interp_head, interp);
	return f;
}

/* sys.modules = { name: a module whose dict is mdict } */
static void modules(struct fake *f, const char *name, uint64_t mdict)
{
	uint64_t interp, mod = obj(f, f->w.t.module, OBJ);
	const char *keys[] = { "sys", name };
	uint64_t vals[] = { alloc(f, OBJ), mod };

	put64(f, mod + f->o->md_dict, mdict);
	memcpy(&interp, f->buf + (f->w.runtime + f->o->rt_interp_head - BASE), 8);
	put64(f, interp + f->o->is_modules, dict(f, 2, keys, vals, false));
}

struct world {
	struct fake *f;
	uint64_t code_f, code_g, code_init, code_new, code_meth, code_cm;
};

/*
 * module m: f (with a nested g), C (__init__, meth, cm a classmethod),
 * D(C), N (__new__ only), P (no constructor), v (not a function)
 */
static void world_312(struct world *wd)
{
	struct fake *f = fake_new(12);
	uint64_t c, d, n, p, consts;
	const char *ckeys[] = { "__init__", "meth", "cm" }, *nkeys[] = { "__new__" };
	const char *mkeys[] = { "f", "C", "D", "N", "P", "v" };

	wd->f = f;
	wd->code_g = code(f, "g", 0, 0);
	consts = tuple(f, 2, (uint64_t[]){ alloc(f, OBJ), wd->code_g });
	wd->code_f = code(f, "f", consts, 2);	/* MAKE_CELL and COPY_FREE_VARS first */
	wd->code_init = code(f, "__init__", 0, 0);
	wd->code_new = code(f, "__new__", 0, 0);
	wd->code_meth = code(f, "meth", 0, 0);
	wd->code_cm = code(f, "cm", 0, 0);
	c = klass(f, dict(f, 3, ckeys, (uint64_t[]){ func(f, wd->code_init),
		  func(f, wd->code_meth), wrap(f, f->w.t.classmethod, func(f, wd->code_cm)) },
		  false), 0, NULL);
	d = klass(f, dict(f, 0, NULL, NULL, false), 1, &c);
	n = klass(f, dict(f, 1, nkeys, (uint64_t[]){ wrap(f, f->w.t.staticmethod,
		  func(f, wd->code_new)) }, false), 0, NULL);
	p = klass(f, dict(f, 0, NULL, NULL, false), 0, NULL);
	modules(f, "m", dict(f, 6, mkeys, (uint64_t[]){ func(f, wd->code_f), c, d, n, p,
		alloc(f, OBJ) }, false));
}

static int resolve(struct world *wd, const char *module, const char *qualname, bool is_class,
		   struct pw_target *t, char *why)
{
	struct pw_query q = { module, qualname, is_class };

	why[0] = '\0';
	return pywalk__resolve(&wd->f->w, &q, t, why, 128);
}

static void test_functions(void **state)
{
	struct world wd;
	struct pw_target t;
	char why[128];
	const struct py_offsets *o;

	(void)state;
	world_312(&wd);
	o = wd.f->o;
	assert_int_equal(resolve(&wd, "m", "f", false, &t, why), PW_OK);
	assert_int_equal(t.code, wd.code_f);
	assert_string_equal(t.how, "function");
	assert_int_equal(t.resume_off, 2);
	assert_int_equal(t.unit, wd.code_f + o->co_code_adaptive + 4);
	assert_int_equal(t.watch, t.unit + 1);
	assert_false(t.unsafe);
	assert_int_equal(resolve(&wd, "m", "C.meth", false, &t, why), PW_OK);
	assert_int_equal(t.code, wd.code_meth);
	assert_int_equal(resolve(&wd, "m", "C.cm", false, &t, why), PW_OK);
	assert_int_equal(t.code, wd.code_cm);
	assert_string_equal(t.how, "classmethod");
	assert_int_equal(resolve(&wd, "m", "f.<locals>.g", false, &t, why), PW_OK);
	assert_int_equal(t.code, wd.code_g);
	assert_string_equal(t.how, "nested function");
	/* an attribute of the class itself only, not of its bases */
	assert_int_equal(resolve(&wd, "m", "D.meth", false, &t, why), PW_NOT_FOUND);
	assert_string_equal(why, "D.meth has no attribute meth");
	free(wd.f);
}

static void test_classes(void **state)
{
	struct world wd;
	struct pw_target t;
	char why[128];

	(void)state;
	world_312(&wd);
	assert_int_equal(resolve(&wd, "m", "C", true, &t, why), PW_OK);
	assert_int_equal(t.code, wd.code_init);
	assert_string_equal(t.how, "__init__ of the class");
	assert_int_not_equal(t.cls, 0);
	assert_int_equal(resolve(&wd, "m", "D", true, &t, why), PW_OK);
	assert_int_equal(t.code, wd.code_init);
	assert_string_equal(t.how, "__init__ of a base class");
	assert_int_equal(resolve(&wd, "m", "N", true, &t, why), PW_OK);
	assert_int_equal(t.code, wd.code_new);
	assert_string_equal(t.how, "__new__ of the class");
	assert_int_equal(resolve(&wd, "m", "P", true, &t, why), PW_NO_CODE);
	assert_string_equal(why, "class P runs no Python __init__ or __new__");
	free(wd.f);
}

static void test_not_found(void **state)
{
	struct world wd;
	struct pw_target t;
	char why[128];

	(void)state;
	world_312(&wd);
	assert_int_equal(resolve(&wd, "x", "f", false, &t, why), PW_NO_MODULE);
	assert_string_equal(why, "module x is not imported");
	assert_int_equal(resolve(&wd, "m", "nope", false, &t, why), PW_NOT_FOUND);
	assert_string_equal(why, "nope has no attribute nope");
	assert_int_equal(resolve(&wd, "m", "v", false, &t, why), PW_NO_CODE);
	assert_string_equal(why, "m:v is not a Python function");
	assert_int_equal(resolve(&wd, "m", "f.<locals>.zz", false, &t, why), PW_NOT_FOUND);
	assert_string_equal(why, "no nested code zz in f.<locals>.zz");
	/* no RESUME in the first 64 units */
	put64(wd.f, wd.code_meth + wd.f->o->co_code_adaptive, 0x0101010101010101ull);
	assert_int_equal(resolve(&wd, "m", "C.meth", false, &t, why), -ENOENT);
	/* memory that cannot be read is an error, not an answer */
	wd.f->w.runtime = 0x1000;
	assert_int_equal(resolve(&wd, "m", "f", false, &t, why), -EFAULT);
	free(wd.f);
}

/*
 * pywalk__dict_get reads a big dict in chunks of 128 entries; the first
 * entry whose key matches decides, even when its value is NULL.
 */
static void test_dict_chunks(void **state)
{
	struct fake *f = fake_new(12);
	const char *keys[300];
	uint64_t vals[300], d, v = 0;
	char names[300][8];
	size_t i;

	(void)state;
	for (i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "k%zu", i);
		keys[i] = names[i];
		vals[i] = 0x1000 + i;
	}
	keys[7] = NULL;				/* a deleted entry */
	keys[10] = "dup";
	vals[10] = 0;
	keys[200] = "dup";
	d = dict(f, 300, keys, vals, true);
	assert_int_equal(pywalk__dict_get(&f->w, d, "k250", &v), 0);
	assert_int_equal(v, 0x1000 + 250);
	assert_int_equal(pywalk__dict_get(&f->w, d, "dup", &v), PW_NOT_FOUND);
	f->reads = 0;
	assert_int_equal(pywalk__dict_get(&f->w, d, "absent", &v), PW_NOT_FOUND);
	/* 6 reads for the layout, then 2 per chunk of 128: its entries, then their keys */
	assert_int_equal(f->reads, 6 + 3 * 2);
	assert_int_equal(pywalk__dict_get(&f->w, d, "", &v), PW_NOT_FOUND);
	assert_int_equal(pywalk__dict_get(&f->w, 0, "k1", &v), PW_NOT_FOUND);
	free(f);
}

/* <= 3.10: the first instruction is the unit; a jump to offset 0 makes it unsafe. */
static void test_first_unit_310(void **state)
{
	struct fake *f = fake_new(10);
	const struct py_offsets *o = f->o;
	const char *mkeys[] = { "a", "b" };
	uint8_t loop[6] = { 100, 0, 0, 0, 0, 0 }, far[8] = { 100, 0, 0, 0, 0, 0, 0, 0 };
	uint64_t ca, cb, bytes_a, bytes_b;
	struct world wd = { .f = f };
	struct pw_target t;
	char why[128];
	unsigned jabs;

	(void)state;
	for (jabs = 0; jabs < 256 && !((o->op_hasjabs[jabs / 64] >> (jabs % 64)) & 1); jabs++)
		;
	assert_true(jabs < 256);
	loop[2] = (uint8_t)jabs;		/* LOAD_CONST; JUMP 0 */
	far[2] = (uint8_t)o->op_extended_arg;	/* LOAD_CONST; EXTENDED_ARG 1; JUMP 256 */
	far[3] = 1;
	far[4] = (uint8_t)jabs;
	ca = obj(f, f->w.t.code, OBJ);
	bytes_a = alloc(f, o->by_sval + sizeof(loop));
	put64(f, bytes_a + o->by_size, sizeof(loop));
	put(f, bytes_a + o->by_sval, loop, sizeof(loop));
	put64(f, ca + o->co_code, bytes_a);
	cb = obj(f, f->w.t.code, OBJ);
	bytes_b = alloc(f, o->by_sval + sizeof(far));
	put64(f, bytes_b + o->by_size, sizeof(far));
	put(f, bytes_b + o->by_sval, far, sizeof(far));
	put64(f, cb + o->co_code, bytes_b);
	modules(f, "m", dict(f, 2, mkeys, (uint64_t[]){ func(f, ca), func(f, cb) }, false));
	assert_int_equal(resolve(&wd, "m", "a", false, &t, why), PW_OK);
	assert_int_equal(t.unit, bytes_a + o->by_sval);
	assert_int_equal(t.resume_off, 0);
	assert_true(t.unsafe);
	assert_int_equal(resolve(&wd, "m", "b", false, &t, why), PW_OK);
	assert_int_equal(t.unit, bytes_b + o->by_sval);
	assert_int_equal(t.watch, t.unit + 1);
	assert_false(t.unsafe);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_dict_chunks),
		cmocka_unit_test(test_first_unit_310),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
