/* SPDX-License-Identifier: MIT */
/*
 * Prints one entry of src/target/gen/offsets_table.c for the CPython whose internal
 * headers this file is compiled against.  tools/gen_offsets.sh compiles and
 * runs it once per installed interpreter:
 *
 *   cc -DPy_BUILD_CORE -I$inc -I$inc/internal tools/gen_offsets.c
 *
 * Every number comes from offsetof()/sizeof() or an enum in the headers,
 * except where a comment says the struct is private to Objects/ (then the
 * layout is written out and checked against the interpreter in tests).
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <frameobject.h>
#include <opcode.h>
#if __has_include("pycore_code.h")
#include "pycore_code.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "pycore_frame.h"
#include "pycore_dict.h"
#include "pycore_function.h"
#endif
#if PY_VERSION_HEX >= 0x030C0000
#include "pycore_gil.h"
#endif
#if PY_VERSION_HEX >= 0x030D0000
#include "pycore_ceval.h"
#define NEED_OPCODE_METADATA
#include "pycore_opcode_metadata.h"
#elif PY_VERSION_HEX >= 0x030B0000
#define NEED_OPCODE_TABLES
#include "pycore_opcode.h"
#endif
#if __has_include("pycore_interp.h")
#include "pycore_interp.h"
#endif
#if __has_include("pycore_runtime.h")
#include "pycore_runtime.h"
#endif
#if PY_VERSION_HEX < 0x030B0000
#include "pycore_pystate.h"
#endif

/*
 * One line of the entry: ".name = value,".  kind 'u' prints an offset or a
 * count, 'n' the PYOFF_NONE marker (absent in this version), 'd' a signed
 * enum value.
 */
struct field {
	const char *name;
	long long val;
	char kind;
};

#define F(name, val) { #name, (long long)(val), 'u' }
#define FN(name) { #name, 0, 'n' }
#define FS(name, val) { #name, (long long)(val), 'd' }
#define PRINT(tab) print_fields(tab, sizeof(tab) / sizeof(tab[0]))

static void print_fields(const struct field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (f[i].kind == 'n')
			printf("\t\t.%s = 0xffff,\n", f[i].name);
		else if (f[i].kind == 'd')
			printf("\t\t.%s = %d,\n", f[i].name, (int)f[i].val);
		else
			printf("\t\t.%s = %lu,\n", f[i].name, (unsigned long)f[i].val);
	}
}

static void print_mask(const char *name, const unsigned long long m[4])
{
	printf("\t\t.%s = { 0x%llxull, 0x%llxull, 0x%llxull, 0x%llxull },\n", name, m[0], m[1],
	       m[2], m[3]);
}

/* The evaluation loop's frame argument, runtime, interpreter and thread state. */
static void state_fields(void)
{
	static const struct field f[] = {
#if PY_VERSION_HEX >= 0x03090000
		F(eval_frame_arg, 2),	/* (tstate, frame, throwflag) */
#else
		F(eval_frame_arg, 1),	/* (frame, throwflag) */
#endif
		/* runtime */
		F(rt_interp_head, offsetof(_PyRuntimeState, interpreters.head)),
#if PY_VERSION_HEX < 0x030C0000
		F(rt_tstate_current, offsetof(_PyRuntimeState, gilstate.tstate_current)),
#else
		FN(rt_tstate_current),
#endif
		/* interpreter */
		F(is_next, offsetof(PyInterpreterState, next)),
#if PY_VERSION_HEX >= 0x030B0000
		F(is_threads_head, offsetof(PyInterpreterState, threads.head)),
#else
		F(is_threads_head, offsetof(PyInterpreterState, tstate_head)),
#endif
#if PY_VERSION_HEX >= 0x030C0000
		F(is_ceval_gil, offsetof(PyInterpreterState, ceval.gil)),
		F(gil_last_holder, offsetof(struct _gil_runtime_state, last_holder)),
		F(is_modules, offsetof(PyInterpreterState, imports.modules)),
#else
		FN(is_ceval_gil),
		FN(gil_last_holder),
		F(is_modules, offsetof(PyInterpreterState, modules)),
#endif
		/* thread */
		F(ts_next, offsetof(PyThreadState, next)),
		F(ts_interp, offsetof(PyThreadState, interp)),
		F(ts_thread_id, offsetof(PyThreadState, thread_id)),
#if PY_VERSION_HEX >= 0x030B0000
		F(ts_native_thread_id, offsetof(PyThreadState, native_thread_id)),
#else
		FN(ts_native_thread_id),
#endif
#if PY_VERSION_HEX >= 0x030D0000
		F(ts_frame, offsetof(PyThreadState, current_frame)),
		FN(cf_current_frame),
#elif PY_VERSION_HEX >= 0x030B0000
		F(ts_frame, offsetof(PyThreadState, cframe)),
		F(cf_current_frame, offsetof(_PyCFrame, current_frame)),
#else
		F(ts_frame, offsetof(PyThreadState, frame)),
		FN(cf_current_frame),
#endif
	};

	PRINT(f);
}

/* The frame the evaluation loop runs: _PyInterpreterFrame (3.11+) or PyFrameObject. */
static void frame_fields(void)
{
	static const struct field f[] = {
#if PY_VERSION_HEX >= 0x030B0000
		F(frame_kind, 2),
		F(fr_back, offsetof(_PyInterpreterFrame, previous)),
#if PY_VERSION_HEX >= 0x030D0000
		F(ip_is_prev, 0),
		F(fr_code, offsetof(_PyInterpreterFrame, f_executable)),
		F(fr_ip, offsetof(_PyInterpreterFrame, instr_ptr)),
		F(fr_func, offsetof(_PyInterpreterFrame, f_funcobj)),
#elif PY_VERSION_HEX >= 0x030C0000
		F(ip_is_prev, 1),
		F(fr_code, offsetof(_PyInterpreterFrame, f_code)),
		F(fr_ip, offsetof(_PyInterpreterFrame, prev_instr)),
		F(fr_func, offsetof(_PyInterpreterFrame, f_funcobj)),
#else
		F(ip_is_prev, 1),
		F(fr_code, offsetof(_PyInterpreterFrame, f_code)),
		F(fr_ip, offsetof(_PyInterpreterFrame, prev_instr)),
		F(fr_func, offsetof(_PyInterpreterFrame, f_func)),
#endif
		FN(fr_lasti),
		F(fr_localsplus, offsetof(_PyInterpreterFrame, localsplus)),
		F(fr_owner, offsetof(_PyInterpreterFrame, owner)),
		FN(fr_state),
		FN(fr_stacktop),
		F(fr_globals, offsetof(_PyInterpreterFrame, f_globals)),
		F(fr_lasti_units, 0),
#else
		F(frame_kind, 1),
		F(ip_is_prev, 0),
		F(fr_back, offsetof(PyFrameObject, f_back)),
		F(fr_code, offsetof(PyFrameObject, f_code)),
		F(fr_lasti, offsetof(PyFrameObject, f_lasti)),
		FN(fr_ip),
		F(fr_localsplus, offsetof(PyFrameObject, f_localsplus)),
		FN(fr_owner),
#if PY_VERSION_HEX >= 0x030A0000
		F(fr_state, offsetof(PyFrameObject, f_state)),
		FN(fr_stacktop),
		F(fr_lasti_units, 1),
#else
		FN(fr_state),
		F(fr_stacktop, offsetof(PyFrameObject, f_stacktop)),
		F(fr_lasti_units, 0),
#endif
		F(fr_globals, offsetof(PyFrameObject, f_globals)),
		FN(fr_func),
#endif
	};

	PRINT(f);
}

/* Code objects (and int objects, read for arguments), then functions. */
static void code_fields(void)
{
	static const struct field f[] = {
		F(co_argcount, offsetof(PyCodeObject, co_argcount)),
		F(co_posonlyargcount, offsetof(PyCodeObject, co_posonlyargcount)),
		F(co_kwonlyargcount, offsetof(PyCodeObject, co_kwonlyargcount)),
		F(co_flags, offsetof(PyCodeObject, co_flags)),
		F(co_firstlineno, offsetof(PyCodeObject, co_firstlineno)),
		F(co_nlocals, offsetof(PyCodeObject, co_nlocals)),
		F(co_filename, offsetof(PyCodeObject, co_filename)),
		F(co_name, offsetof(PyCodeObject, co_name)),
		F(co_consts, offsetof(PyCodeObject, co_consts)),
#if PY_VERSION_HEX >= 0x030B0000
		F(co_varnames, offsetof(PyCodeObject, co_localsplusnames)),
#else
		F(co_varnames, offsetof(PyCodeObject, co_varnames)),
#endif
#if PY_VERSION_HEX >= 0x030C0000
		F(lg_size, offsetof(PyLongObject, long_value.lv_tag)),
		F(lg_digit, offsetof(PyLongObject, long_value.ob_digit)),
		F(lg_tag, 1),
#else
		F(lg_size, offsetof(PyVarObject, ob_size)),
		F(lg_digit, offsetof(PyLongObject, ob_digit)),
		F(lg_tag, 0),
#endif
#if PY_VERSION_HEX >= 0x030B0000
		F(co_qualname, offsetof(PyCodeObject, co_qualname)),
		FN(co_code),
		F(co_code_adaptive, offsetof(PyCodeObject, co_code_adaptive)),
		F(co_linetable, offsetof(PyCodeObject, co_linetable)),
#else
		FN(co_qualname),
		F(co_code, offsetof(PyCodeObject, co_code)),
		FN(co_code_adaptive),
#if PY_VERSION_HEX >= 0x030A0000
		F(co_linetable, offsetof(PyCodeObject, co_linetable)),
#else
		F(co_linetable, offsetof(PyCodeObject, co_lnotab)),
#endif
#endif
		/* functions */
		F(fn_code, offsetof(PyFunctionObject, func_code)),
		F(fn_module, offsetof(PyFunctionObject, func_module)),
		F(fn_qualname, offsetof(PyFunctionObject, func_qualname)),
	};

	PRINT(f);
}

/* Objects, types, strings, tuples, bytes, dicts and their keys. */
static void object_fields(void)
{
	static const struct field f[] = {
		F(ob_type, offsetof(PyObject, ob_type)),
		F(tp_name, offsetof(PyTypeObject, tp_name)),
		F(tp_flags, offsetof(PyTypeObject, tp_flags)),
		F(ht_qualname, offsetof(PyHeapTypeObject, ht_qualname)),
		F(tp_dealloc, offsetof(PyTypeObject, tp_dealloc)),
		F(tp_dict, offsetof(PyTypeObject, tp_dict)),
		F(tp_mro, offsetof(PyTypeObject, tp_mro)),
		/*
		 * PyModuleObject and the classmethod/staticmethod structs are private to
		 * Objects/ in every version: { PyObject_HEAD; PyObject *first; ... }.
		 */
		F(md_dict, sizeof(PyObject)),
		F(cm_callable, sizeof(PyObject)),
		F(u_hash, offsetof(PyASCIIObject, hash)),
		F(u_state, offsetof(PyASCIIObject, state)),
		F(u_length, offsetof(PyASCIIObject, length)),
		F(u_ascii_data, sizeof(PyASCIIObject)),
		F(u_compact_data, sizeof(PyCompactUnicodeObject)),
		F(u_utf8, offsetof(PyCompactUnicodeObject, utf8)),
		F(tup_size, offsetof(PyVarObject, ob_size)),
		F(tup_item, offsetof(PyTupleObject, ob_item)),
		F(by_size, offsetof(PyVarObject, ob_size)),
		F(by_sval, offsetof(PyBytesObject, ob_sval)),
		F(di_keys, offsetof(PyDictObject, ma_keys)),
		F(di_values, offsetof(PyDictObject, ma_values)),
#if PY_VERSION_HEX >= 0x030B0000
		F(dk_size, offsetof(PyDictKeysObject, dk_log2_size)),
		F(dk_log2, 1),
#if PY_VERSION_HEX >= 0x030C0000
		F(dk_index_bytes, offsetof(PyDictKeysObject, dk_log2_index_bytes)),
#else
		FN(dk_index_bytes),
#endif
		F(dk_kind, offsetof(PyDictKeysObject, dk_kind)),
		F(dk_nentries, offsetof(PyDictKeysObject, dk_nentries)),
		F(dk_indices, offsetof(PyDictKeysObject, dk_indices)),
#else
		/*
		 * PyDictKeysObject is private to Objects/dict-common.h before 3.11:
		 * { Py_ssize_t dk_refcnt, dk_size; lookup func; Py_ssize_t dk_usable,
		 *   dk_nentries; char dk_indices[]; }, the same in 3.8, 3.9 and 3.10.
		 */
		F(dk_size, 8),
		F(dk_log2, 0),
		FN(dk_index_bytes),
		FN(dk_kind),
		F(dk_nentries, 32),
		F(dk_indices, 40),
#endif
	};

	PRINT(f);
}

/* Cells (captured arguments) and generators (their frames, 3.11+). */
static void cell_gen_fields(void)
{
	static const struct field f[] = {
		F(cell_ref, offsetof(PyCellObject, ob_ref)),
#if PY_VERSION_HEX < 0x030B0000
		F(co_cell2arg, offsetof(PyCodeObject, co_cell2arg)),
		F(co_cellvars, offsetof(PyCodeObject, co_cellvars)),
#else
		FN(co_cell2arg),	/* 3.11+: MAKE_CELL turns the argument slot into a cell */
		FN(co_cellvars),
#endif
#if PY_VERSION_HEX >= 0x030B0000
		F(gen_iframe, offsetof(PyGenObject, gi_iframe)),
		F(gen_frame_state, offsetof(PyGenObject, gi_frame_state)),
		FS(owned_by_generator, FRAME_OWNED_BY_GENERATOR),
#if PY_VERSION_HEX >= 0x030C0000
		FS(owned_by_cstack, FRAME_OWNED_BY_CSTACK),
#else
		FS(owned_by_cstack, -1),
#endif
#else
		FN(gen_iframe),
		FN(gen_frame_state),
		FS(owned_by_generator, -1),
		FS(owned_by_cstack, -1),
#endif
	};

	PRINT(f);
}

/* Instrumentation versions (3.12+) and the flag of internal trampolines. */
static void instr_fields(void)
{
	static const struct field f[] = {
#if PY_VERSION_HEX >= 0x030D0000
		F(co_instr_version, offsetof(PyCodeObject, _co_instrumentation_version)),
		F(instr_ver_from, 2),
		FN(is_monitoring_version),
		F(ts_eval_breaker, offsetof(PyThreadState, eval_breaker)),
		F(instr_ver_mask_bits, _PY_EVAL_EVENTS_BITS),
#elif PY_VERSION_HEX >= 0x030C0000
		F(co_instr_version, offsetof(PyCodeObject, _co_instrumentation_version)),
		F(instr_ver_from, 1),
		F(is_monitoring_version, offsetof(PyInterpreterState, monitoring_version)),
		FN(ts_eval_breaker),
		F(instr_ver_mask_bits, 0),
#else
		FN(co_instr_version),
		F(instr_ver_from, 0),
		FN(is_monitoring_version),
		FN(ts_eval_breaker),
		F(instr_ver_mask_bits, 0),
#endif
#ifdef CO_NO_MONITORING_EVENTS
		F(co_flag_shim, CO_NO_MONITORING_EVENTS),
#else
		F(co_flag_shim, 0),
#endif
	};

	PRINT(f);
}

/* Opcodes pyscope looks for. */
static void opcode_fields(void)
{
	static const struct field f[] = {
#ifdef RESUME
		F(op_resume, RESUME),
#else
		FN(op_resume),
#endif
#if defined(RESUME_QUICK)
		F(op_resume_quick, RESUME_QUICK),
#elif defined(RESUME_CHECK)
		F(op_resume_quick, RESUME_CHECK),
#else
		FN(op_resume_quick),
#endif
#ifdef INSTRUMENTED_RESUME
		F(op_instrumented_resume, INSTRUMENTED_RESUME),
#else
		FN(op_instrumented_resume),
#endif
		F(op_extended_arg, EXTENDED_ARG),
		F(op_load_const, LOAD_CONST),
#if defined(CALL_KW)
		F(op_call_kw, CALL_KW),
#elif defined(CALL_FUNCTION_KW)
		F(op_call_kw, CALL_FUNCTION_KW),
#else
		FN(op_call_kw),
#endif
#ifdef KW_NAMES
		F(op_kw_names, KW_NAMES),
#else
		FN(op_kw_names),
#endif
	};

	PRINT(f);
}

/* Which opcodes have a handler of their own (3.11+), which jump absolutely (<= 3.10). */
static void opcode_masks(void)
{
#if PY_VERSION_HEX >= 0x030B0000
	{
		unsigned long long m[4] = { 0, 0, 0, 0 };

		/* _PyOpcode_Deopt is non-zero for every real opcode; CACHE is 0 */
		for (int i = 0; i < 256; i++)
			if (i == 0 || _PyOpcode_Deopt[i])
				m[i / 64] |= 1ull << (i % 64);
#ifdef DO_TRACING
		m[DO_TRACING / 64] |= 1ull << (DO_TRACING % 64);
#endif
		print_mask("op_defined", m);
	}
#endif
#ifdef HASJABS_MASK
	{
		/* from the interpreter's own opcode.hasjabs, passed in by gen_offsets.sh */
		unsigned long long j[4] = { HASJABS_MASK };

		print_mask("op_hasjabs", j);
	}
#endif
}

static void jump_fields(void)
{
	static const struct field f[] = {
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030B0000
		F(jump_units, 1),
#else
		F(jump_units, 0),
#endif
	};

	PRINT(f);
}

int main(void)
{
	printf("\t{\n");
	printf("\t\t/* generated from Python %s headers */\n", PY_VERSION);
	printf("\t\t.version_hex = 0x%08lx,\n", (unsigned long)PY_VERSION_HEX);
	state_fields();
	frame_fields();
	code_fields();
	object_fields();
	cell_gen_fields();
	instr_fields();
	opcode_fields();
	opcode_masks();
	jump_fields();
	printf("\t},\n");
	return 0;
}
