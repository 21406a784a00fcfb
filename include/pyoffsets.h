/* SPDX-License-Identifier: MIT */
/*
 * CPython struct layout, as the kernel side needs it.
 *
 * Shared by bpf/ and src/: fixed-width types only.  The user side fills one
 * of these per traced interpreter, either from the generated table
 * (src/target/gen/offsets_table.c, produced by tools/gen_offsets.sh for 3.8-3.12) or
 * from the interpreter's own _Py_DebugOffsets (3.13+), and hands it to the
 * BPF program as read-only data.  Nothing else in the project branches on
 * the Python version: code that needs to know whether a field exists tests
 * it against PYOFF_NONE.
 */
#ifndef PYSCOPE_PYOFFSETS_H
#define PYSCOPE_PYOFFSETS_H

#ifdef __BPF__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#define PYOFF_NONE 0xffffu

/* Layout family of the frame the evaluation loop runs. */
enum pyframe_kind {
	PYFRAME_OBJECT = 1,	/* 3.8-3.10: PyFrameObject, f_lasti */
	PYFRAME_INTERP = 2,	/* 3.11+: _PyInterpreterFrame, prev_instr/instr_ptr */
};

struct py_offsets {
	__u32 version_hex;	/* PY_VERSION_HEX of the headers this came from */
	__u16 frame_kind;	/* enum pyframe_kind */
	/*
	 * 1 when the frame's instruction pointer field names the previously
	 * executed code unit (3.11/3.12 prev_instr), 0 when it names the one
	 * being executed (3.13 instr_ptr).
	 */
	__u16 ip_is_prev;
	/* _PyEval_EvalFrameDefault's argument holding the frame (1-based) */
	__u16 eval_frame_arg;
	__u16 pad3;

	/* _PyRuntimeState */
	__u16 rt_interp_head;		/* interpreters.head */
	__u16 rt_tstate_current;	/* gilstate.tstate_current (<= 3.11) */

	/* PyInterpreterState */
	__u16 is_next;
	__u16 is_threads_head;
	__u16 is_ceval_gil;		/* ceval.gil, a pointer (3.12+) */
	__u16 is_modules;		/* modules / imports.modules */
	__u16 gil_last_holder;		/* _gil_runtime_state.last_holder */

	/* PyThreadState */
	__u16 ts_next;
	__u16 ts_interp;
	__u16 ts_thread_id;
	__u16 ts_native_thread_id;	/* 3.11+ */
	__u16 ts_frame;			/* frame (<=3.10), cframe (3.11/3.12), current_frame (3.13) */
	__u16 cf_current_frame;		/* _PyCFrame.current_frame (3.11/3.12) */

	/* PyFrameObject (<=3.10) or _PyInterpreterFrame (3.11+) */
	__u16 fr_back;			/* f_back / previous */
	__u16 fr_code;			/* f_code / f_executable */
	__u16 fr_lasti;			/* f_lasti, an int (<=3.10) */
	__u16 fr_ip;			/* prev_instr / instr_ptr (3.11+) */
	__u16 fr_localsplus;
	__u16 fr_owner;			/* char owner (3.11+) */
	__u16 fr_state;			/* char f_state (3.10) */
	__u16 fr_stacktop;		/* PyObject **f_stacktop (3.8/3.9) */
	__u16 fr_globals;
	__u16 fr_func;			/* f_func / f_funcobj (3.11+) */
	__u16 fr_lasti_units;		/* 1 when f_lasti counts code units (3.10) */

	/* PyCodeObject */
	__u16 co_argcount;
	__u16 co_posonlyargcount;
	__u16 co_kwonlyargcount;
	__u16 co_flags;
	__u16 co_firstlineno;
	__u16 co_nlocals;
	__u16 co_filename;
	__u16 co_name;
	__u16 co_qualname;		/* 3.11+ */
	__u16 co_code;			/* bytes object (<=3.10) */
	__u16 co_code_adaptive;		/* inline code units (3.11+) */
	__u16 co_linetable;		/* co_lnotab (<=3.9), co_linetable (3.10+) */
	__u16 co_consts;
	__u16 co_varnames;		/* co_varnames (<= 3.10) / co_localsplusnames (3.11+) */
	__u16 lg_size;			/* PyLongObject: ob_size (<= 3.11) or lv_tag (3.12+) */
	__u16 lg_digit;			/* ob_digit */
	__u16 lg_tag;			/* 1 when lg_size is 3.12's lv_tag */

	/* PyFunctionObject */
	__u16 fn_code;
	__u16 fn_module;
	__u16 fn_qualname;

	/* objects and types */
	__u16 ob_type;
	__u16 tp_name;
	__u16 tp_flags;
	__u16 ht_qualname;		/* PyHeapTypeObject */
	__u16 tp_dealloc;
	__u16 tp_dict;
	__u16 tp_mro;
	__u16 md_dict;			/* PyModuleObject.md_dict */
	__u16 cm_callable;		/* classmethod / staticmethod callable */
	__u16 u_hash;			/* PyASCIIObject.hash */

	/* str: state bits (kind 2-4, compact 5, ascii 6) and where data starts */
	__u16 u_state;
	__u16 u_length;
	__u16 u_ascii_data;		/* sizeof(PyASCIIObject) */
	__u16 u_compact_data;		/* sizeof(PyCompactUnicodeObject) */
	__u16 u_utf8;			/* PyCompactUnicodeObject.utf8 */

	/* tuple, bytes, dict */
	__u16 tup_size;
	__u16 tup_item;
	__u16 by_size;
	__u16 by_sval;
	__u16 di_keys;			/* PyDictObject.ma_keys */
	__u16 di_values;		/* PyDictObject.ma_values */
	__u16 dk_size;			/* dk_size (<=3.10) or dk_log2_size (3.11+), see dk_log2 */
	__u16 dk_log2;			/* 1 when dk_size holds log2 */
	__u16 dk_index_bytes;		/* dk_log2_index_bytes (3.12+) */
	__u16 dk_kind;			/* dk_kind (3.11+): 0 general, else unicode */
	__u16 dk_nentries;
	__u16 dk_indices;		/* offset of dk_indices */

	/* cells: an argument captured by a closure lives in a cell */
	__u16 cell_ref;			/* PyCellObject.ob_ref */
	__u16 co_cell2arg;		/* Py_ssize_t *co_cell2arg (<=3.10) */
	__u16 co_cellvars;		/* tuple co_cellvars (<=3.10) */
	__u16 pad4;

	/* generators (3.11+): the frame lives inside the generator object */
	__u16 gen_iframe;
	__u16 gen_frame_state;

	/* enum values */
	__s8 owned_by_generator;
	__s8 owned_by_cstack;		/* -1 when the version has no C-stack frames */
	__u16 pad0;
	/* co_flags bit of internal trampolines such as 3.13's __init__ shim */
	__u32 co_flag_shim;

	/*
	 * Instrumentation versions (3.12+).  RESUME re-dispatches itself when the
	 * code's version differs from the current one, so a probe at the
	 * handler sees that execution twice; the kernel counts only the one
	 * that runs with matching versions.  instr_ver_from: 0 none, 1
	 * interp->monitoring_version (3.12), 2 tstate->eval_breaker with the
	 * low instr_ver_mask_bits cleared (3.13).
	 */
	__u16 co_instr_version;
	__u16 instr_ver_from;
	__u16 is_monitoring_version;
	__u16 ts_eval_breaker;
	__u16 instr_ver_mask_bits;
	__u16 pad2;

	/* opcodes (0xffff when absent in this version) */
	__u16 op_resume;
	__u16 op_resume_quick;		/* RESUME_QUICK (3.11) / RESUME_CHECK (3.13) */
	__u16 op_instrumented_resume;
	__u16 op_extended_arg;
	__u16 op_load_const;
	__u16 op_call_kw;		/* CALL_FUNCTION_KW (<=3.10), CALL_KW (3.13) */
	__u16 op_kw_names;		/* KW_NAMES (3.11/3.12) */
	__u16 pad1;
	/*
	 * Opcodes with their own handler in the computed-goto table (bit set);
	 * the others share one "unknown opcode" label.  The user side uses it to
	 * recognise the table in stripped binaries.  All zero before 3.11.
	 */
	__u64 op_defined[4];
	/* opcodes whose argument is an absolute jump target (<= 3.10) */
	__u64 op_hasjabs[4];
	/* instruction-unit jump arguments (3.10) rather than byte offsets (3.8/3.9) */
	__u16 jump_units;
	__u16 pad5[3];
};

/* Code flags we read (stable across 3.8-3.13). */
#define PY_CO_VARARGS		0x0004
#define PY_CO_VARKEYWORDS	0x0008
#define PY_CO_GENERATOR		0x0020
#define PY_CO_COROUTINE		0x0080
#define PY_CO_ITERABLE_COROUTINE 0x0100
#define PY_CO_ASYNC_GENERATOR	0x0200

#endif /* PYSCOPE_PYOFFSETS_H */
