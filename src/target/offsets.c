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

#define DBG(field, member) { offsetof(struct py_offsets, field), offsetof(struct dbg313, member) }

/* The py_offsets field each _Py_DebugOffsets field gives (gil_last_holder aside). */
static const struct {
	size_t dst, src;
} dbg313_fields[] = {
	DBG(rt_interp_head, rt.interpreters_head),
	DBG(is_next, is.next),
	DBG(is_threads_head, is.threads_head),
	DBG(is_modules, is.imports_modules),
	DBG(is_ceval_gil, is.ceval_gil),
	DBG(ts_next, ts.next),
	DBG(ts_interp, ts.interp),
	DBG(ts_frame, ts.current_frame),
	DBG(ts_thread_id, ts.thread_id),
	DBG(ts_native_thread_id, ts.native_thread_id),
	DBG(fr_back, fr.previous),
	DBG(fr_code, fr.executable),
	DBG(fr_ip, fr.instr_ptr),
	DBG(fr_localsplus, fr.localsplus),
	DBG(fr_owner, fr.owner),
	DBG(co_filename, co.filename),
	DBG(co_name, co.name),
	DBG(co_qualname, co.qualname),
	DBG(co_linetable, co.linetable),
	DBG(co_firstlineno, co.firstlineno),
	DBG(co_argcount, co.argcount),
	DBG(co_code_adaptive, co.co_code_adaptive),
	DBG(ob_type, ob.ob_type),
	DBG(tp_name, tp.tp_name),
	DBG(tp_flags, tp.tp_flags),
	DBG(tup_item, tup.ob_item),
	DBG(tup_size, tup.ob_size),
	DBG(di_keys, dict.ma_keys),
	DBG(di_values, dict.ma_values),
	DBG(by_size, bytes.ob_size),
	DBG(by_sval, bytes.ob_sval),
	DBG(u_state, uni.state),
	DBG(u_length, uni.length),
	DBG(u_ascii_data, uni.asciiobject_size),
};

int pyoff_from_debug(const void *buf, size_t len, const struct py_offsets *base,
		     struct py_offsets *out, uint64_t *version_hex)
{
	struct dbg313 d;
	size_t i;
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
	/* interp-relative there; we follow interp->ceval.gil, so make it GIL-relative */
	if (d.is.gil_holder < d.is.gil_runtime_state)
		return -ERANGE;
	err |= set16(&out->gil_last_holder, d.is.gil_holder - d.is.gil_runtime_state);
	for (i = 0; i < sizeof(dbg313_fields) / sizeof(dbg313_fields[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)&d + dbg313_fields[i].src, sizeof(v));
		err |= set16((__u16 *)((char *)out + dbg313_fields[i].dst), v);
	}
	return err ? -ERANGE : 0;
}
