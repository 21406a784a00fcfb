/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Everything pyscope.bpf.c owns besides its programs: the knobs user space
 * sets before load, the variables either side writes after it, and every
 * map, each with its key and value.  The helper headers in bpf/lib use
 * these and declare none of their own.
 *
 * The declarations keep the order they had in the object before
 * bpf/lib existed, which is their layout in .rodata, .bss and .data.
 */
#ifndef PYSCOPE_MAPS_BPF_H
#define PYSCOPE_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pyscope.h"
#include "types.bpf.h"

/* Knobs (rodata): set by the user side between open and load. */

const volatile struct py_offsets off = {};	/* the target's CPython layout */
const volatile __u64 runtime_addr = 0;		/* &_PyRuntime in the target */
const volatile __u64 cell_type_addr = 0;	/* &PyCell_Type in the target */
const volatile __u64 hash_init = 0;	/* ps_hash_str("__init__") */
const volatile __u64 hash_new = 0;	/* ps_hash_str("__new__") */
const volatile __u8 class_patterns = 0;	/* any class:... pattern */
const volatile __u8 capture_args = 1;	/* read argument types (not --no-args) */
/* call paths: frames walked per hit (0: only the immediate caller) */
const volatile __u32 path_depth = 0;
/* --capture: the names are in capnames; values are str or int */
const volatile __u8 capture_on = 0;
const volatile __u64 str_type_addr = 0;		/* &PyUnicode_Type */
const volatile __u64 long_type_addr = 0;	/* &PyLong_Type */
/* _PyEval_EvalFrameDefault's range in the target (breakpoints on <= 3.10) */
const volatile __u64 eval_lo = 0;
const volatile __u64 eval_hi = 0;
/* pyscope check with rules: calls of rule patterns are sent (PS_EV_CALL) */
const volatile __u8 rules_on = 0;
/* call records wake the reader once this much is pending (1/16 of the ring buffer) */
const volatile __u64 call_wake_bytes = 512 << 10;
const volatile __u8 prof_on = 0;	/* profiling: record awaits on resumes */
const volatile __u8 prof_all = 0;	/* --all: keep samples outside pattern calls */
const volatile __u8 prof_offcpu = 0;	/* --off-cpu */
const volatile __u8 prof_sampled = 0;	/* --sampled: windows found by the samples themselves */

/* Variables (.bss, .data): written after load, by user space or by the programs. */

/*
 * The target: set before attaching.  Not in rodata, so that an object can be
 * loaded ahead and given to a process the target forks (--follow-forks).
 */
__u32 targ_tgid = 0;
/*
 * The target's PID namespace when it is not pyscope's (a container): CPython
 * (3.12+) keeps the thread id as the target sees it, so threads are named
 * by their id in that namespace.
 */
__u64 pidns_dev = 0;
__u64 pidns_ino = 0;
/*
 * Set by on_exec when the target replaces its program: the code objects
 * cached by address belong to the old image, so nothing is counted after.
 */
__u8 target_execd = 0;
/* &gil->last_holder of the main interpreter (3.12+), once known: it never moves. */
__u64 gil_holder_at = 0;
/* breakpoints may be armed: the uprobe programs consult bp_codes */
__u8 bp_active = 0;
/*
 * The frame-end probe is attached (user space sets it): only then are
 * starts pushed for timing.  Without it (count only; breakpoint mode before
 * its first hit) a start is counted and nothing else is kept.
 */
__u8 timing_on = 0;
/* function starts seen by the breakpoint program (user space polls it) */
__u64 bp_starts = 0;
__u32 next_code_id = 1;		/* the next code cache entry's id */
__u32 next_agg_id = 0;		/* the next aggregate's id: its index in stats */
/* entries in the inflight map (generator frames): 0 lets ends skip it */
__s64 inflight_n = 0;
/* per RESUME handler, hits whose frame register agreed with the thread state */
__u64 freg_agree[FREG_SITES] = {};
__u32 freg_off = 0;		/* a frame register disagreed once: never read again */
/* Processes (not threads) the target started while traced. */
__u32 nforks = 0;

/* Maps */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);		/* tid */
	__type(value, __u64);		/* PyThreadState * */
} tstates SEC(".maps");

/* The code cache: what a code object may be, and what never changes in it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PS_MAX_CODES);
	__type(key, __u64);			/* code object */
	__type(value, struct ps_code_ent);
} codes SEC(".maps");

/* Code ids announced (PS_EV_CODE) already. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_CODES);
	__type(key, __u32);			/* code id */
	__type(value, __u8);
} code_sent SEC(".maps");

/* The patterns' qualified (<= 3.10: plain) function names. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);			/* ps_hash_str(name) */
	__type(value, __u8);			/* PS_NAME_* */
} names SEC(".maps");

/* Hashes of the parameter names rules key calls by (names' bits 4-7 - 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PS_MAX_RULE_KEYS);
	__type(key, __u32);
	__type(value, __u64);
} rule_keys SEC(".maps");

/* The class patterns' class names. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);			/* ps_hash_str(class __name__) */
	__type(value, __u8);			/* PS_NAME_* */
} classnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);			/* type object */
	__type(value, __u8);			/* its class name's PS_NAME_* bits, 0: none */
} class_types SEC(".maps");

/* The --capture parameter names. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u64);			/* ps_hash_str(parameter name) */
	__type(value, __u8);
} capnames SEC(".maps");

/* call paths already announced */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);			/* the path's hash (ps_aggkey.stack) */
	__type(value, __u8);
} stacks_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_AGGS);
	__type(key, struct ps_aggkey);
	__type(value, __u32);			/* aggregate id */
} aggs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PS_MAX_AGGS);
	__type(key, __u32);			/* aggregate id */
	__type(value, struct ps_stats);
} stats SEC(".maps");

/* Timed calls that may suspend (generators) or have no entry stack pointer. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_INFLIGHT);
	__type(key, __u64);			/* frame */
	__type(value, struct ps_inflight);
} inflight SEC(".maps");

/* <= 3.10: caller frame -> running target frame, found again at return */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_MAX_INFLIGHT);
	__type(key, __u64);			/* caller frame */
	__type(value, __u64);			/* frame */
} callers SEC(".maps");

/*
 * Code objects counted by breakpoints.  The RESUME/eval programs leave them
 * to the breakpoint program, except for a start the breakpoint did not
 * count (armed between the two): bp_last says, per thread, which frame the
 * breakpoint last counted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);			/* code object */
	__type(value, __u8);
} bp_codes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct bp_seen);
} bp_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_CNT_MAX);
	__type(key, __u32);			/* PS_CNT_* */
	__type(value, __u64);
} counters SEC(".maps");

/* First sightings (code, aggregate, path), rule records, forks and execs. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Timed calls of plain functions, per thread (see struct ps_tstack). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ps_tstack);
} tstacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);			/* 0 */
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* pyscope profile: samples and waits by stack and pattern call. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ps_sample_key);
	__type(value, struct ps_sample_val);
} samples SEC(".maps");

/* pyscope profile: where pattern calls (coroutines) awaited, and how often. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ps_await_key);
	__type(value, __u64);			/* resumes */
} awaits SEC(".maps");

/* pyscope profile --off-cpu: the threads blocked now. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct offcpu_start);
} offcpu SEC(".maps");

/* A second scratch: samples may land while a probe uses the first. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);			/* 0 */
	__type(value, struct scratch);
} sample_scratch SEC(".maps");

#endif /* PYSCOPE_MAPS_BPF_H */
