// SPDX-License-Identifier: MIT
#include "target/offsets.h"

#include <errno.h>
#include <string.h>

const char *pyoff_source_str(enum pyoff_source s)
{
	switch (s) {
	case PYOFF_SRC_TABLE_EXACT:
		return "generated table (exact version)";
	case PYOFF_SRC_TABLE_NEAR:
		return "generated table (nearest patch release, unverified)";
	case PYOFF_SRC_DEBUG:
		return "_Py_DebugOffsets";
	default:
		return "none";
	}
}

bool pyoff_supported(struct pyver v)
{
	return v.major == 3 && v.minor >= 8 && v.minor <= 13;
}

bool pyoff_in_runtime(struct pyver v)
{
	return v.minor >= 13;
}

enum py_linetable_fmt pyoff_linetable_fmt(unsigned minor)
{
	if (minor <= 9)
		return PY_LT_LNOTAB;
	return minor == 10 ? PY_LT_PEP626 : PY_LT_LOCATIONS;
}

bool pyoff_has_qualname(unsigned minor)
{
	return minor >= 11;
}

const struct py_offsets *pyoff_lookup(struct pyver v, enum pyoff_source *src)
{
	const struct py_offsets *best = NULL;
	unsigned best_d = ~0u, i;

	*src = PYOFF_SRC_NONE;
	for (i = 0; i < pyoff_table_len; i++) {
		struct pyver t = pyver_from_hex(pyoff_table[i].version_hex);
		unsigned d;

		if (t.major != v.major || t.minor != v.minor)
			continue;
		d = t.micro > v.micro ? t.micro - v.micro : v.micro - t.micro;
		if (d < best_d) {
			best_d = d;
			best = &pyoff_table[i];
		}
	}
	if (best)
		*src = best_d == 0 ? PYOFF_SRC_TABLE_EXACT : PYOFF_SRC_TABLE_NEAR;
	return best;
}

/* The 3.13 layout: every field a uint64_t, grouped as in pycore_runtime.h. */
struct dbg313 {
	char cookie[8];
	uint64_t version, free_threaded;
	struct { uint64_t size, finalizing, interpreters_head; } rt;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_enabled, gil_locked, gil_holder;
	} is;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} ts;
	struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } fr;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} co;
	struct { uint64_t size, ob_type; } ob;
	struct { uint64_t size, tp_name, tp_repr, tp_flags; } tp;
	struct { uint64_t size, ob_item, ob_size; } tup;
	struct { uint64_t size, ob_item, ob_size; } list;
	struct { uint64_t size, ma_keys, ma_values; } dict;
	struct { uint64_t size, ob_fval; } flt;
	struct { uint64_t size, lv_tag, ob_digit; } lng;
	struct { uint64_t size, ob_size, ob_sval; } bytes;
	struct { uint64_t size, state, length, asciiobject_size; } uni;
	struct { uint64_t size, collecting; } gc;
};

_Static_assert(sizeof(struct dbg313) == PY_DEBUG_OFFSETS_313_SIZE, "3.13 debug offsets size");

static int set16(__u16 *dst, uint64_t v)
{
	if (v >= PYOFF_NONE)
		return -ERANGE;
	*dst = (__u16)v;
	return 0;
}

int pyoff_from_debug(const void *buf, size_t len, const struct py_offsets *base,
		     struct py_offsets *out, uint64_t *version_hex)
{
	struct dbg313 d;
	int err = 0;

	if (len < 24 || memcmp(buf, "xdebugpy", 8))
		return -EINVAL;
	memcpy(&d, buf, 24);
	*version_hex = d.version;
	if ((d.version >> 16) != 0x030d)
		return -ENOTSUP;	/* only the 3.13 layout is known */
	if (len < sizeof(d))
		return -EINVAL;
	memcpy(&d, buf, sizeof(d));
	if (d.free_threaded)
		return -ENOTSUP;
	if (!base)
		return -ENOTSUP;	/* the fields it lacks must come from somewhere */
	*out = *base;
	out->version_hex = (__u32)d.version;
	err |= set16(&out->rt_interp_head, d.rt.interpreters_head);
	err |= set16(&out->is_next, d.is.next);
	err |= set16(&out->is_threads_head, d.is.threads_head);
	err |= set16(&out->is_modules, d.is.imports_modules);
	err |= set16(&out->is_ceval_gil, d.is.ceval_gil);
	/* interp-relative there; we follow interp->ceval.gil, so make it GIL-relative */
	if (d.is.gil_holder < d.is.gil_runtime_state)
		return -ERANGE;
	err |= set16(&out->gil_last_holder, d.is.gil_holder - d.is.gil_runtime_state);
	err |= set16(&out->ts_next, d.ts.next);
	err |= set16(&out->ts_interp, d.ts.interp);
	err |= set16(&out->ts_frame, d.ts.current_frame);
	err |= set16(&out->ts_thread_id, d.ts.thread_id);
	err |= set16(&out->ts_native_thread_id, d.ts.native_thread_id);
	err |= set16(&out->fr_back, d.fr.previous);
	err |= set16(&out->fr_code, d.fr.executable);
	err |= set16(&out->fr_ip, d.fr.instr_ptr);
	err |= set16(&out->fr_localsplus, d.fr.localsplus);
	err |= set16(&out->fr_owner, d.fr.owner);
	err |= set16(&out->co_filename, d.co.filename);
	err |= set16(&out->co_name, d.co.name);
	err |= set16(&out->co_qualname, d.co.qualname);
	err |= set16(&out->co_linetable, d.co.linetable);
	err |= set16(&out->co_firstlineno, d.co.firstlineno);
	err |= set16(&out->co_argcount, d.co.argcount);
	err |= set16(&out->co_code_adaptive, d.co.co_code_adaptive);
	err |= set16(&out->ob_type, d.ob.ob_type);
	err |= set16(&out->tp_name, d.tp.tp_name);
	err |= set16(&out->tp_flags, d.tp.tp_flags);
	err |= set16(&out->tup_item, d.tup.ob_item);
	err |= set16(&out->tup_size, d.tup.ob_size);
	err |= set16(&out->di_keys, d.dict.ma_keys);
	err |= set16(&out->di_values, d.dict.ma_values);
	err |= set16(&out->by_size, d.bytes.ob_size);
	err |= set16(&out->by_sval, d.bytes.ob_sval);
	err |= set16(&out->u_state, d.uni.state);
	err |= set16(&out->u_length, d.uni.length);
	err |= set16(&out->u_ascii_data, d.uni.asciiobject_size);
	return err ? -ERANGE : 0;
}
