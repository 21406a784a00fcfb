// SPDX-License-Identifier: MIT
#include "target/pywalk.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE PYOFF_NONE
#define MAX_KEYS 65536		/* entries read from one dict */
#define KEY_MAX 128		/* longest name we compare */

static int rd(const struct pywalk *w, uint64_t addr, void *buf, uint32_t len)
{
	struct mr_item it = { .addr = addr, .len = len, .dst = buf };
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

int pywalk_dict_get(const struct pywalk *w, uint64_t dict, const char *key, uint64_t *value)
{
	const struct py_offsets *o = w->off;
	size_t klen = strlen(key), i, chunk = 128;
	uint64_t entries, n;
	uint32_t esize, koff;
	uint8_t *ent = NULL, *strs = NULL;
	struct mr_item *items = NULL;
	uint32_t slen = o->u_ascii_data + (uint32_t)klen + 1;
	int ret;

	if (!dict || klen == 0 || klen >= KEY_MAX)
		return PW_NOT_FOUND;
	ret = dict_layout(w, dict, &entries, &n, &esize, &koff);
	if (ret)
		return ret;
	ent = malloc(chunk * esize);
	strs = malloc(chunk * slen);
	items = calloc(chunk, sizeof(*items));
	if (!ent || !strs || !items) {
		ret = -ENOMEM;
		goto cleanup;
	}
	ret = PW_NOT_FOUND;
	for (i = 0; i < n; i += chunk) {
		size_t m = MIN(chunk, n - i), j, k = 0;
		uint64_t kptr[128];
		int r;

		r = rd(w, entries + i * esize, ent, (uint32_t)(m * esize));
		if (r) {
			ret = r;
			goto cleanup;
		}
		/* read every key's header and the first klen+1 bytes of its data */
		for (j = 0; j < m; j++) {
			uint64_t kp;

			memcpy(&kp, ent + j * esize + koff, 8);
			if (!kp)
				continue;
			kptr[k] = j;
			items[k] = (struct mr_item){ .addr = kp, .len = slen, .dst = strs + k * slen };
			k++;
		}
		if (k && (r = w->read(w->ctx, items, k))) {
			ret = r;
			goto cleanup;
		}
		for (j = 0; j < k; j++) {
			const uint8_t *s = strs + j * slen;
			uint32_t state;
			int64_t length;

			if (items[j].status)
				continue;
			memcpy(&state, s + o->u_state, 4);
			memcpy(&length, s + o->u_length, 8);
			/* compact ASCII str of the same length and bytes */
			if (!(state & (1u << 5)) || !(state & (1u << 6)) || length != (int64_t)klen)
				continue;
			if (memcmp(s + o->u_ascii_data, key, klen))
				continue;
			memcpy(value, ent + kptr[j] * esize + koff + 8, 8);
			ret = *value ? 0 : PW_NOT_FOUND;
			goto cleanup;
		}
	}
cleanup:
	free(ent);
	free(strs);
	free(items);
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

/* The function-start unit of a code object, and whether it is safe to watch. */
static int start_unit(const struct pywalk *w, struct pw_target *t)
{
	const struct py_offsets *o = w->off;
	uint16_t units[64];
	int ret;

	if (o->co_code_adaptive != NONE) {
		/* 3.11+: the first RESUME; prologue ops (MAKE_CELL, RETURN_GENERATOR) come first */
		uint64_t base = t->code + o->co_code_adaptive;
		unsigned i;

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
	} else {
		/* <= 3.10: the first instruction; unsafe if a jump can land on it */
		uint64_t bytes, size;
		uint8_t *code = NULL;
		uint32_t arg = 0;
		size_t k;

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
		for (k = 0; k + 1 < size && !ret; k += 2) {
			unsigned op = code[k];

			arg |= code[k + 1];
			if (op == o->op_extended_arg) {
				arg <<= 8;
				continue;
			}
			if (((o->op_hasjabs[op / 64] >> (op % 64)) & 1) && arg == 0)
				t->unsafe = true;
			arg = 0;
		}
		free(code);
		if (ret)
			return ret;
	}
	t->watch = t->unit + 1;		/* the argument byte: read once per dispatch */
	return 0;
}

/* Find name in a class's MRO; *owner gets the class whose dict had it. */
static int mro_lookup(const struct pywalk *w, uint64_t cls, const char *name, uint64_t *value,
		      uint64_t *owner)
{
	const struct py_offsets *o = w->off;
	uint64_t mro, n, i;
	int ret;

	ret = rd_u64(w, cls + o->tp_mro, &mro);
	if (!ret)
		ret = rd_u64(w, mro + o->tup_size, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && i < 256; i++) {
		uint64_t base, dict;

		ret = rd_u64(w, mro + o->tup_item + 8 * i, &base);
		if (!ret)
			ret = rd_u64(w, base + o->tp_dict, &dict);
		if (ret)
			return ret;
		ret = pywalk_dict_get(w, dict, name, value);
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

int pywalk_resolve(const struct pywalk *w, const struct pattern *p, struct pw_target *out,
		   char *why, size_t whylen)
{
	const struct py_offsets *o = w->off;
	uint64_t interp, modules, obj, type, dict;
	char comp[PS_QUAL_LEN], *save = NULL, *part, *next;
	const char *how = "function";
	bool in_locals = false;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = rd_u64(w, w->runtime + o->rt_interp_head, &interp);
	if (!ret)
		ret = rd_u64(w, interp + o->is_modules, &modules);
	if (ret)
		return ret;
	ret = pywalk_dict_get(w, modules, p->module, &obj);
	if (ret == PW_NOT_FOUND) {
		set_why(why, whylen, "module %s%s is not imported", p->module, "");
		return PW_NO_MODULE;
	}
	if (ret)
		return ret;
	str_copy(comp, p->qualname, sizeof(comp));
	for (part = strtok_r(comp, ".", &save); part; part = next) {
		next = strtok_r(NULL, ".", &save);
		if (!strcmp(part, "<locals>")) {
			in_locals = true;
			continue;
		}
		if (in_locals) {
			/* a nested function: its code is a constant of the enclosing code */
			uint64_t code = 0, consts, n, i, found = 0;

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
			ret = rd_u64(w, code + o->co_consts, &consts);
			if (!ret)
				ret = rd_u64(w, consts + o->tup_size, &n);
			if (ret)
				return ret;
			for (i = 0; i < n && i < 4096 && !found; i++) {
				uint64_t c, cname;
				char name[KEY_MAX];

				if (rd_u64(w, consts + o->tup_item + 8 * i, &c) || obj_type(w, c, &type) ||
				    type != w->t.code || rd_u64(w, c + o->co_name, &cname) ||
				    read_str(w, cname, name, sizeof(name)))
					continue;
				if (!strcmp(name, part))
					found = c;
			}
			if (!found) {
				set_why(why, whylen, "no nested code %s in %s", part, p->qualname);
				return PW_NOT_FOUND;
			}
			obj = found;
			in_locals = false;
			continue;
		}
		ret = obj_type(w, obj, &type);
		if (ret)
			return ret;
		if (type == w->t.module)
			ret = rd_u64(w, obj + o->md_dict, &dict);
		else
			ret = rd_u64(w, obj + o->tp_dict, &dict);	/* a class */
		if (ret)
			return ret;
		ret = pywalk_dict_get(w, dict, part, &obj);
		if (ret == PW_NOT_FOUND) {
			set_why(why, whylen, "%s has no attribute %s", p->qualname, part);
			return PW_NOT_FOUND;
		}
		if (ret)
			return ret;
	}

	if (p->kind == PAT_CLASS) {
		uint64_t fn, owner;

		out->cls = obj;
		ret = mro_lookup(w, obj, "__init__", &fn, &owner);
		if (ret < 0)
			return ret;
		if (ret == 0 && code_of(w, fn, &out->code, &how) == 0 && out->code) {
			how = "__init__";
		} else {
			ret = mro_lookup(w, obj, "__new__", &fn, &owner);
			if (ret < 0)
				return ret;
			if (ret || code_of(w, fn, &out->code, &how) || !out->code) {
				set_why(why, whylen, "class %s runs no Python __init__ or __new__%s",
					p->qualname, "");
				return PW_NO_CODE;
			}
			how = "__new__";
		}
		snprintf(out->how, sizeof(out->how), "%s of %s", how,
			 owner == obj ? "the class" : "a base class");
	} else if (obj_type(w, obj, &type) == 0 && type == w->t.code) {
		out->code = obj;
		str_copy(out->how, "nested function", sizeof(out->how));
	} else {
		ret = code_of(w, obj, &out->code, &how);
		if (ret < 0)
			return ret;
		if (ret || !out->code) {
			set_why(why, whylen, "%s:%s is not a Python function", p->module, p->qualname);
			return PW_NO_CODE;
		}
		str_copy(out->how, how, sizeof(out->how));
	}
	ret = start_unit(w, out);
	return ret < 0 ? ret : PW_OK;
}
