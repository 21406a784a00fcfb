/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the kernel side (bpf/) and the user side (src/): map keys
 * and values, ring-buffer records and limits.  Fixed-width types only.
 *
 * Model: the kernel counts and times *code objects* that may belong to a
 * pattern, split by call site and argument signature ("aggregates").  It
 * announces each new code object and each new aggregate once on the ring
 * buffer, with the strings the user side needs.  The user side decides
 * which pattern(s) an aggregate belongs to, so every pattern rule (module,
 * qualified name, argument constraints) is applied in one place.
 */
#ifndef PYSCOPE_H
#define PYSCOPE_H

#include "pyoffsets.h"

#define PS_MAX_SIG	6	/* argument slots captured per call */
#define PS_MAX_KW	8	/* **kwargs keys captured per call */
#define PS_QUAL_LEN	128
#define PS_NAME_LEN	64
#define PS_FILE_LEN	256
#define PS_TYPE_LEN	64
#define PS_KW_LEN	32
#define PS_LT_MAX	4096	/* line-table bytes shipped per code object */
#define PS_MAX_AGGS	8192
#define PS_MAX_CODES	65536
#define PS_MAX_INFLIGHT	65536
#define PS_RESUME_SCAN	64	/* code units searched for the first RESUME */
#define PS_MAX_DEPTH	64	/* frames of a call path */
#define PS_CAP_LEN	48	/* bytes of a captured str value */
#define PS_CAP_SCAN	16	/* parameters searched for a --capture name */

/*
 * A general-purpose register, as a probe's attach cookie: the register that
 * holds the current frame at an opcode-handler probe (src/probesite.c).
 * 0: unknown, read the frame from the thread state.
 */
enum ps_reg {
	PS_REG_NONE = 0,
	PS_REG_RAX, PS_REG_RBX, PS_REG_RCX, PS_REG_RDX, PS_REG_RSI, PS_REG_RDI, PS_REG_RBP,
	PS_REG_R8, PS_REG_R9, PS_REG_R10, PS_REG_R11, PS_REG_R12, PS_REG_R13, PS_REG_R14,
	PS_REG_R15,
};

/* Latency histogram: log2 buckets, each cut into 8 linear sub-buckets. */
#define PS_HIST_SUB_BITS 3
#define PS_HIST_SUB	(1 << PS_HIST_SUB_BITS)
#define PS_HIST_MAX_LOG	43	/* values >= 2^44 ns (~4.9 h) share the last bucket */
#define PS_NBUCKETS	((PS_HIST_MAX_LOG - PS_HIST_SUB_BITS + 2) * PS_HIST_SUB)

/* What a code object may be, decided by the kernel from its names. */
enum ps_code_kind {
	PS_CODE_IGNORE = 0,	/* no pattern can match it */
	PS_CODE_FUNC = 1,	/* its qualified (<=3.10: plain) name is a pattern's */
	PS_CODE_INIT = 2,	/* __init__/__new__ while class patterns exist */
	PS_CODE_NEW = 4,	/* with PS_CODE_INIT: it is __new__ */
};

/* Aggregate flags */
#define PS_AGG_CHAINED	0x1	/* the calling frame has the same first argument */
#define PS_AGG_NEW	0x2	/* the code is __new__: argument 0 is the class */
#define PS_AGG_KW_TRUNC	0x4	/* more **kwargs keys than PS_MAX_KW */
#define PS_AGG_NO_CALLER 0x8	/* entered from C with no Python caller */
#define PS_AGG_CAP_STR	0x10	/* capval: hash of a captured str */
#define PS_AGG_CAP_INT	0x20	/* capval: a captured int (two's complement) */
#define PS_AGG_CAP_OTHER 0x40	/* capval: the captured object's type */
#define PS_AGG_CAP_BIG	0x80	/* an int too big to capture exactly */

struct ps_aggkey {
	__u64 types[PS_MAX_SIG];	/* type object of each argument slot */
	__u64 kwhash;			/* hash of the **kwargs key set, 0 if none */
	__u64 stack;			/* call-path id (hash), 0 when paths are off */
	__u64 capval;			/* captured argument, see PS_AGG_CAP_* */
	__u32 code_id;
	__u32 caller_id;		/* code id of the calling Python frame */
	__u32 caller_off;		/* byte offset of the call in the caller */
	__u16 flags;
	__u16 nargs;			/* slots filled in types[] */
};

struct ps_stats {
	__u64 count;			/* calls started */
	__u64 last_ns;			/* start of the latest call (CLOCK_MONOTONIC) */
	__u64 timed;			/* calls whose return was seen */
	__u64 sum_ns;
	__u64 max_ns;
	__u64 hist[PS_NBUCKETS];
};

/* Code-object facts the kernel caches per code object (code objects are immutable). */
#define PS_CE_SHIM	0x1	/* an internal trampoline (3.13's __init__ shim): not a caller */
#define PS_CE_GEN	0x2	/* generator, coroutine or async generator: may suspend */
#define PS_CE_VER_OK	0x4	/* instr_ver holds the code's instrumentation version */
#define PS_CE_RULE	0x8	/* its name is a rule pattern's: each call is sent (PS_EV_CALL) */

/*
 * Values in the names map (function patterns, by name hash) and classnames
 * map (class patterns): PS_NAME_PAT, plus PS_NAME_RULE when a rule of
 * pyscope check names the pattern; bits 4-7 for functions: 1 + the index
 * in rule_keys of the parameter name the rule keys its calls by.
 */
#define PS_NAME_PAT	0x1
#define PS_NAME_RULE	0x2
#define PS_NAME_KEY_SHIFT 4
#define PS_MAX_RULE_KEYS 15

struct ps_code_ent {
	__u64 instr_ver;		/* the code's instrumentation version, last seen (3.12+) */
	__u32 id;
	__u32 co_flags;
	__u16 resume_off;		/* code units before the first RESUME (3.11+) */
	__u16 argcount;
	__u16 kwonlyargcount;
	__u16 nlocals;
	__u8 kind;			/* enum ps_code_kind, may be lowered by user space */
	__u8 cap_slot;			/* 1 + local slot of the --capture argument, 0 if none */
	__u8 bits;			/* PS_CE_* */
	__u8 rule_slot;			/* 1 + local slot of the rule key argument, 0 if none */
	__u8 pad[4];
};

struct ps_inflight {
	__u64 start_ns;
	__u64 caller_frame;		/* <=3.10: frame that will be current after return */
	__u32 agg_id;
	__u32 tid;
};

/* pyscope profile: samples and waits per (pattern call, Python stack). */
enum ps_sample_kind {
	PS_SAMPLE_CPU = 1,		/* a timer sample while running */
	PS_SAMPLE_OFFCPU = 2,		/* a wait: blocked, then woken */
};

#define PS_NO_WINDOW 0xffffffffu	/* a sample outside every pattern call (--all) */

struct ps_sample_key {
	__u64 stack;			/* the whole Python stack, leaf first (a path id) */
	__u32 agg_id;			/* innermost pattern call on it, or PS_NO_WINDOW */
	__u16 win_depth;		/* that call's frame index in the stack */
	__u8 kind;			/* enum ps_sample_kind */
	__u8 pad;
};

struct ps_sample_val {
	__u64 count;
	__u64 ns;			/* off-CPU: time blocked */
};

/* Where a pattern's coroutine or generator was suspended, when it resumed. */
struct ps_await_key {
	__u32 agg_id;
	__u32 offset;			/* byte offset of the await (yield) in its code */
};

/*
 * Timed calls of plain (non-generator) functions, per thread, in BPF task
 * storage: they end in LIFO order on the thread that started them, so a
 * stack replaces a hash-map insert and delete per call (~200 ns here).
 * Generator frames, and calls deeper than the stack, use the inflight map.
 */
#define PS_TSTACK 32

struct ps_tentry {
	__u64 key;			/* the frame (3.11+); the stack pointer at entry (<=3.10) */
	__u64 frame;
	__u64 start_ns;
	__u32 agg_id;
	__u32 pad;
};

struct ps_tstack {
	__u32 depth;
	__u32 pending;			/* <=3.10: this thread's entries in the callers map */
	struct ps_tentry e[PS_TSTACK];
};

/* Counters the user side must print: anything here means "not exact". */
enum ps_counter {
	PS_CNT_RB_LOST = 0,	/* ring buffer full: a sighting was dropped */
	PS_CNT_AGG_FULL,	/* no room for a new aggregate: a call was not counted */
	PS_CNT_INFLIGHT_FULL,	/* no room to time a call */
	PS_CNT_READ_ERR,	/* a target read failed on a target hit */
	PS_CNT_UNPAIRED,	/* an entry replaced a stale one for the same frame */
	PS_CNT_TSTATE_MISS,	/* no thread state found for a running thread */
	PS_CNT_HITS,		/* probe hits in the traced process (diagnostic) */
	PS_CNT_FREG_BAD,	/* the frame register disagreed with the thread state */
	PS_CNT_CALL_LOST,	/* ring buffer full: a rule's call record was dropped */
	PS_CNT_MAX,
};

enum ps_event_type {
	PS_EV_CODE = 1,
	PS_EV_AGG = 2,
	PS_EV_STACK = 3,
	PS_EV_CALL = 4,
	PS_EV_FORK = 5,			/* the target started a process */
	PS_EV_EXEC = 6,			/* the target replaced its program */
};

/*
 * One call of a pattern a rule names (pyscope check only): sent for every
 * such call, after the aggregate's first sighting.  The key argument is
 * read like --capture's: a str by hash, with its text in every record (it
 * was read to hash it; a map of texts already sent would cost more than
 * the copy), an int by value, anything else by its type.
 */
struct ps_ev_call {
	__u32 type;			/* PS_EV_CALL */
	__u32 agg_id;
	__u64 ts_ns;			/* start of the call, CLOCK_MONOTONIC */
	__u64 self;			/* argument 0 */
	__u64 keyval;			/* see PS_AGG_CAP_* in keyflags */
	__u64 stack;			/* call-path id, 0 when paths are off */
	__u32 tid;
	__u16 keyflags;			/* PS_AGG_CAP_*; 0: no key argument */
	__u16 pad;
	char keytext[PS_CAP_LEN];	/* the key's text when a str */
};

/* A process event (PS_EV_FORK, PS_EV_EXEC) of the target. */
struct ps_ev_proc {
	__u32 type;
	__u32 pid;			/* the child (fork) or the target (exec) */
	__u64 ts_ns;			/* CLOCK_MONOTONIC */
};

struct ps_frame {
	__u32 code_id;
	__u32 offset;			/* byte offset of the call in that code */
};

/* A call path seen for the first time: callers, innermost first. */
struct ps_ev_stack {
	__u32 type;			/* PS_EV_STACK */
	__u32 nframes;
	__u64 stack;			/* its id in aggregate keys */
	__u32 truncated;		/* deeper than the capture depth */
	__u32 pad;
	struct ps_frame frames[PS_MAX_DEPTH];
};

struct ps_ev_code {
	__u32 type;			/* PS_EV_CODE */
	__u32 code_id;
	__u64 code_addr;
	__u32 firstlineno;
	__u32 co_flags;
	__u32 argcount;
	__u32 kind;
	__u32 lt_len;			/* bytes in linetable[] */
	__u32 lt_total;			/* size of the line table in the target */
	char qualname[PS_QUAL_LEN];	/* co_qualname (3.11+), else co_name */
	char name[PS_NAME_LEN];		/* co_name */
	char module[PS_QUAL_LEN];	/* __module__ of the running function, if known */
	char filename[PS_FILE_LEN];
	__u8 linetable[PS_LT_MAX];
};

struct ps_ev_agg {
	__u32 type;			/* PS_EV_AGG */
	__u32 agg_id;
	struct ps_aggkey key;
	__u32 nkw;
	__u32 tid;			/* the thread of the first call */
	__u64 ts_ns;			/* its start, CLOCK_MONOTONIC */
	char type_names[PS_MAX_SIG][PS_TYPE_LEN];	/* qualified names when heap types */
	char kwnames[PS_MAX_KW][PS_KW_LEN];
	char capture[PS_CAP_LEN];	/* the captured str, or the type name */
};

#endif /* PYSCOPE_H */
