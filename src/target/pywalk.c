// SPDX-License-Identifier: MIT
#include "target/pywalk.h"
#include "pyscope.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE PYOFF_NONE
#define MAX_KEYS 65536		/* entries read from one dict */
#define KEY_MAX 128		/* longest name we compare */
#define DICT_CHUNK 128		/* dict entries read at a time */
#define NO_KEY 1		/* scan_chunk(): not in this chunk */

static int rd(const struct pywalk *w, uint64_t addr, void *buf, uint32_t len)
{
	struct memsrc_item it = { .addr = addr, .len = len, .dst = buf };
	int ret;

	if (!addr)
		return -EFAULT;
	ret = w->read(w->ctx, &it, 1);
	return ret ? ret : it.status;
}

static int rd_u64(const struct pywalk *w, uint64_t addr, uint64_t *v)
{
	return rd(w, addr, v, sizeof(*v));
}

static int obj_type(const struct pywalk *w, uint64_t obj, uint64_t *type)
{
	return rd_u64(w, obj + w->off->ob_type, type);
}

/* The tuple whose pointer is at addr, and its length. */
static int tuple_at(const struct pywalk *w, uint64_t addr, uint64_t *tup, uint64_t *n)
{
	int ret = rd_u64(w, addr, tup);

	return ret ? ret : rd_u64(w, *tup + w->off->tup_size, n);
}

static int tuple_item(const struct pywalk *w, uint64_t tup, uint64_t i, uint64_t *item)
{
	return rd_u64(w, tup + w->off->tup_item + 8 * i, item);
}

/* Where a combined dict's entries are, how many, their size and key offset. */
static int dict_layout(const struct pywalk *w, uint64_t dict, uint64_t *entries, uint64_t *n,
		       uint32_t *esize, uint32_t *koff)
{
	const struct py_offsets *o = w->off;
	uint64_t keys, values, size;
	int ret;

	ret = rd_u64(w, dict + o->di_values, &values);
	if (!ret)
		ret = rd_u64(w, dict + o->di_keys, &keys);
	if (ret)
		return ret;
	if (values || !keys)
		return -ENOTSUP;	/* split tables: instance dicts, never module/class dicts */
	ret = rd_u64(w, keys + o->dk_nentries, n);
	if (ret)
		return ret;
	*esize = 24;
	*koff = 8;
	if (o->dk_log2) {
		uint8_t lg = 0, ilg = 0, kind = 0;

		ret = rd(w, keys + o->dk_size, &lg, 1);
		if (!ret)
			ret = rd(w, keys + o->dk_kind, &kind, 1);
		if (!ret && o->dk_index_bytes != NONE)
			ret = rd(w, keys + o->dk_index_bytes, &ilg, 1);
		else if (!ret)
			ilg = lg < 8 ? lg : lg < 16 ? lg + 1 : lg < 32 ? lg + 2 : lg + 3;
		if (ret)
			return ret;
		if (ilg > 40)
			return -EINVAL;
		if (kind) {
			*esize = 16;
			*koff = 0;
		}
		*entries = keys + o->dk_indices + (1ull << ilg);
	} else {
		ret = rd_u64(w, keys + o->dk_size, &size);
		if (ret)
			return ret;
		if (size > (1ull << 32))
			return -EINVAL;
		*entries = keys + o->dk_indices +
			   size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffull ? 4 : 8);
	}
	return *n > MAX_KEYS ? -E2BIG : 0;
}

/* A dict scan: its entries, and buffers for one chunk of them and their keys. */
struct dict_scan {
	const struct pywalk *w;
	const char *key;
	size_t klen;
	uint32_t esize, koff;	/* an entry's size, and its key's offset in it */
	uint32_t slen;		/* bytes read of each key: its header and klen+1 of data */
	uint8_t *ent, *strs;
	struct memsrc_item *items;
};

/* Is the str read into s a compact ASCII str with d->key's length and bytes? */
static bool key_matches(const struct dict_scan *d, const uint8_t *s)
{
	const struct py_offsets *o = d->w->off;
	uint32_t state;
	int64_t length;

	memcpy(&state, s + o->u_state, 4);
	memcpy(&length, s + o->u_length, 8);
	if (!(state & (1u << 5)) || !(state & (1u << 6)) || length != (int64_t)d->klen)
		return false;
	return !memcmp(s + o->u_ascii_data, d->key, d->klen);
}

/*
 * The m entries read into d->ent: NO_KEY if none has the key, else 0 and
 * *value, or PW_NOT_FOUND if its value is NULL.
 */
static int scan_chunk(struct dict_scan *d, size_t m, uint64_t *value)
{
	uint64_t kptr[DICT_CHUNK];
	size_t j, k = 0;
	int r;

	/* read every key's header and the first klen+1 bytes of its data */
	for (j = 0; j < m; j++) {
		uint64_t kp;

		memcpy(&kp, d->ent + j * d->esize + d->koff, 8);
		if (!kp)
			continue;
		kptr[k] = j;
		d->items[k] = (struct memsrc_item){ .addr = kp, .len = d->slen,
						    .dst = d->strs + k * d->slen };
		k++;
	}
	if (k && (r = d->w->read(d->w->ctx, d->items, k)))
		return r;
	for (j = 0; j < k; j++) {
		if (d->items[j].status || !key_matches(d, d->strs + j * d->slen))
			continue;
		memcpy(value, d->ent + kptr[j] * d->esize + d->koff + 8, 8);
		return *value ? 0 : PW_NOT_FOUND;
	}
	return NO_KEY;
}

int pywalk__dict_get(const struct pywalk *w, uint64_t dict, const char *key, uint64_t *value)
{
	struct dict_scan d = { .w = w, .key = key, .klen = strlen(key) };
	uint64_t entries, n, i;
	int ret;

	if (!dict || d.klen == 0 || d.klen >= KEY_MAX)
		return PW_NOT_FOUND;
	ret = dict_layout(w, dict, &entries, &n, &d.esize, &d.koff);
	if (ret)
		return ret;
	d.slen = w->off->u_ascii_data + (uint32_t)d.klen + 1;
	d.ent = malloc(DICT_CHUNK * d.esize);
	d.strs = malloc(DICT_CHUNK * d.slen);
	d.items = calloc(DICT_CHUNK, sizeof(*d.items));
	if (!d.ent || !d.strs || !d.items) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = NO_KEY;
	for (i = 0; i < n && ret == NO_KEY; i += DICT_CHUNK) {
		size_t m = MIN(DICT_CHUNK, n - i);

		ret = rd(w, entries + i * d.esize, d.ent, (uint32_t)(m * d.esize));
		if (!ret)
			ret = scan_chunk(&d, m, value);
	}
	if (ret == NO_KEY)
		ret = PW_NOT_FOUND;
cleanup:
	free(d.ent);
	free(d.strs);
	free(d.items);
	return ret;
}

static int read_str(const struct pywalk *w, uint64_t str, char *buf, size_t len)
{
	uint8_t hdr[256];
	uint32_t state;
	int64_t length;
	int ret;

	if (len > sizeof(hdr) - w->off->u_ascii_data)
		len = sizeof(hdr) - w->off->u_ascii_data;
	ret = rd(w, str, hdr, w->off->u_ascii_data);
	if (ret)
		return ret;
	memcpy(&state, hdr + w->off->u_state, 4);
	memcpy(&length, hdr + w->off->u_length, 8);
	if (!(state & (1u << 5)) || !(state & (1u << 6)) || length < 0 || (size_t)length >= len)
		return -ENOTSUP;
	if (length) {
		ret = rd(w, str + w->off->u_ascii_data, buf, (uint32_t)length);
		if (ret)
			return ret;
	}
	buf[length] = '\0';
	return 0;
}

/* The code of a function, classmethod or staticmethod object; 0 if none. */
static int code_of(const struct pywalk *w, uint64_t obj, uint64_t *code, const char **how)
{
	uint64_t type;
	int ret = obj_type(w, obj, &type);

	if (ret)
		return ret;
	*how = "function";
	if (type == w->t.classmethod || type == w->t.staticmethod) {
		*how = type == w->t.classmethod ? "classmethod" : "staticmethod";
		ret = rd_u64(w, obj + w->off->cm_callable, &obj);
		if (!ret)
			ret = obj_type(w, obj, &type);
		if (ret)
			return ret;
	}
	if (type != w->t.function) {
		*code = 0;
		return PW_NO_CODE;
	}
	return rd_u64(w, obj + w->off->fn_code, code);
}

/* 3.11+: the first RESUME; prologue ops (MAKE_CELL, RETURN_GENERATOR) come first. */
static int resume_unit(const struct pywalk *w, struct pw_target *t)
{
	const struct py_offsets *o = w->off;
	uint64_t base = t->code + o->co_code_adaptive;
	uint16_t units[64];
	unsigned i;
	int ret;

	ret = rd(w, base, units, sizeof(units));
	if (ret)
		return ret;
	for (i = 0; i < 64; i++) {
		unsigned op = units[i] & 0xff;

		if (op == o->op_resume || op == o->op_resume_quick ||
		    op == o->op_instrumented_resume)
			break;
	}
	if (i == 64)
		return -ENOENT;
	t->resume_off = i;
	t->unit = base + 2ull * i;
	return 0;
}

/* <= 3.10: does an absolute jump in the size bytes of bytecode land on offset 0? */
static bool jumps_to_start(const struct py_offsets *o, const uint8_t *code, uint64_t size)
{
	uint32_t arg = 0;
	uint64_t k;

	for (k = 0; k + 1 < size; k += 2) {
		unsigned op = code[k];

		arg |= code[k + 1];
		if (op == o->op_extended_arg) {
			arg <<= 8;
			continue;
		}
		if (((o->op_hasjabs[op / 64] >> (op % 64)) & 1) && arg == 0)
			return true;
		arg = 0;
	}
	return false;
}

/* <= 3.10: the first instruction; unsafe if a jump can land on it. */
static int first_unit(const struct pywalk *w, struct pw_target *t)
{
	const struct py_offsets *o = w->off;
	uint64_t bytes, size, k;
	uint8_t *code;
	int ret;

	ret = rd_u64(w, t->code + o->co_code, &bytes);
	if (!ret)
		ret = rd_u64(w, bytes + o->by_size, &size);
	if (ret)
		return ret;
	if (size < 2 || size > (1u << 20))
		return -EINVAL;
	t->resume_off = 0;
	t->unit = bytes + o->by_sval;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	for (k = 0; k < size && !ret; k += MIN(size - k, 4096))
		ret = rd(w, t->unit + k, code + k, (uint32_t)MIN(size - k, 4096));
	if (!ret && jumps_to_start(o, code, size))
		t->unsafe = true;
	free(code);
	return ret;
}

/* The function-start unit of a code object, and whether it is safe to watch. */
static int start_unit(const struct pywalk *w, struct pw_target *t)
{
	int ret = w->off->co_code_adaptive != NONE ? resume_unit(w, t) : first_unit(w, t);

	if (ret)
		return ret;
	t->watch = t->unit + 1;		/* the argument byte: read once per dispatch */
	return 0;
}

/* Find name in a class's MRO; *owner gets the class whose dict had it. */
static int mro_lookup(const struct pywalk *w, uint64_t cls, const char *name, uint64_t *value,
		      uint64_t *owner)
{
	uint64_t mro, n, i;
	int ret;

	ret = tuple_at(w, cls + w->off->tp_mro, &mro, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && i < 256; i++) {
		uint64_t base, dict;

		ret = tuple_item(w, mro, i, &base);
		if (!ret)
			ret = rd_u64(w, base + w->off->tp_dict, &dict);
		if (ret)
			return ret;
		ret = pywalk__dict_get(w, dict, name, value);
		if (ret == 0) {
			*owner = base;
			return 0;
		}
		if (ret < 0)
			return ret;
	}
	return PW_NOT_FOUND;
}

static void set_why(char *why, size_t n, const char *fmt, const char *a, const char *b)
{
	if (why && n)
		snprintf(why, n, fmt, a, b);
}

/* sys.modules[q->module] */
static int find_module(const struct pywalk *w, const struct pw_query *q, uint64_t *mod, char *why,
		       size_t whylen)
{
	const struct py_offsets *o = w->off;
	uint64_t interp, modules;
	int ret;

	ret = rd_u64(w, w->runtime + o->rt_interp_head, &interp);
	if (!ret)
		ret = rd_u64(w, interp + o->is_modules, &modules);
	if (ret)
		return ret;
	ret = pywalk__dict_get(w, modules, q->module, mod);
	if (ret == PW_NOT_FOUND) {
		set_why(why, whylen, "module %s%s is not imported", q->module, "");
		return PW_NO_MODULE;
	}
	return ret;
}

/* A nested def: the code object called name among the constants of obj's code. */
static int nested_code(const struct pywalk *w, uint64_t obj, const char *name, uint64_t *found)
{
	const struct py_offsets *o = w->off;
	uint64_t code = 0, type, consts, n, i;
	const char *how;
	int ret;

	ret = obj_type(w, obj, &type);
	if (ret)
		return ret;
	if (type == w->t.code) {
		code = obj;
	} else {
		ret = code_of(w, obj, &code, &how);
		if (ret < 0)
			return ret;
		if (ret || !code)
			return PW_NO_CODE;
	}
	ret = tuple_at(w, code + o->co_consts, &consts, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && i < 4096; i++) {
		uint64_t c, cname;
		char cn[KEY_MAX];

		if (tuple_item(w, consts, i, &c) || obj_type(w, c, &type) ||
		    type != w->t.code || rd_u64(w, c + o->co_name, &cname) ||
		    read_str(w, cname, cn, sizeof(cn)))
			continue;
		if (!strcmp(cn, name)) {
			*found = c;
			return 0;
		}
	}
	return PW_NOT_FOUND;
}

/* obj.name, from a module's or a class's own dict. */
static int attr_of(const struct pywalk *w, uint64_t obj, const char *name, uint64_t *value)
{
	uint64_t type, dict;
	int ret;

	ret = obj_type(w, obj, &type);
	if (ret)
		return ret;
	if (type == w->t.module)
		ret = rd_u64(w, obj + w->off->md_dict, &dict);
	else
		ret = rd_u64(w, obj + w->off->tp_dict, &dict);	/* a class */
	if (ret)
		return ret;
	return pywalk__dict_get(w, dict, name, value);
}

/* From the module object *obj, follow q->qualname: attributes, and defs after "<locals>". */
static int walk_qualname(const struct pywalk *w, const struct pw_query *q, uint64_t *obj,
			 char *why, size_t whylen)
{
	char comp[PS_QUAL_LEN], *save = NULL, *part;
	bool in_locals = false;
	int ret = 0;

	str_copy(comp, q->qualname, sizeof(comp));
	for (part = strtok_r(comp, ".", &save); part && !ret; part = strtok_r(NULL, ".", &save)) {
		if (!strcmp(part, "<locals>")) {
			in_locals = true;
			continue;
		}
		if (in_locals) {
			ret = nested_code(w, *obj, part, obj);
			if (ret == PW_NOT_FOUND)
				set_why(why, whylen, "no nested code %s in %s", part, q->qualname);
		} else {
			ret = attr_of(w, *obj, part, obj);
			if (ret == PW_NOT_FOUND)
				set_why(why, whylen, "%s has no attribute %s", q->qualname, part);
		}
		in_locals = false;
	}
	return ret;
}

/* What calling class cls runs: its __init__ or else its __new__, through its MRO. */
static int class_code(const struct pywalk *w, const struct pw_query *q, uint64_t cls,
		      struct pw_target *out, char *why, size_t whylen)
{
	const char *how = "function";
	uint64_t fn, owner;
	int ret;

	out->cls = cls;
	ret = mro_lookup(w, cls, "__init__", &fn, &owner);
	if (ret < 0)
		return ret;
	if (ret == 0 && code_of(w, fn, &out->code, &how) == 0 && out->code) {
		how = "__init__";
	} else {
		ret = mro_lookup(w, cls, "__new__", &fn, &owner);
		if (ret < 0)
			return ret;
		if (ret || code_of(w, fn, &out->code, &how) || !out->code) {
			set_why(why, whylen, "class %s runs no Python __init__ or __new__%s",
				q->qualname, "");
			return PW_NO_CODE;
		}
		how = "__new__";
	}
	snprintf(out->how, sizeof(out->how), "%s of %s", how,
		 owner == cls ? "the class" : "a base class");
	return 0;
}

/* The code of obj: a code object (a nested def), a function or a method wrapper. */
static int function_code(const struct pywalk *w, const struct pw_query *q, uint64_t obj,
			 struct pw_target *out, char *why, size_t whylen)
{
	const char *how = "function";
	uint64_t type;
	int ret;

	if (obj_type(w, obj, &type) == 0 && type == w->t.code) {
		out->code = obj;
		str_copy(out->how, "nested function", sizeof(out->how));
		return 0;
	}
	ret = code_of(w, obj, &out->code, &how);
	if (ret < 0)
		return ret;
	if (ret || !out->code) {
		set_why(why, whylen, "%s:%s is not a Python function", q->module, q->qualname);
		return PW_NO_CODE;
	}
	str_copy(out->how, how, sizeof(out->how));
	return 0;
}

int pywalk__resolve(const struct pywalk *w, const struct pw_query *q, struct pw_target *out,
		    char *why, size_t whylen)
{
	uint64_t obj;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = find_module(w, q, &obj, why, whylen);
	if (!ret)
		ret = walk_qualname(w, q, &obj, why, whylen);
	if (!ret)
		ret = q->is_class ? class_code(w, q, obj, out, why, whylen) :
				    function_code(w, q, obj, out, why, whylen);
	if (ret)
		return ret;
	ret = start_unit(w, out);
	return ret < 0 ? ret : PW_OK;
}
