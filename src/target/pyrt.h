/* SPDX-License-Identifier: MIT */
/*
 * The interpreter model: which CPython a process runs, where its state and
 * probe points are, and which tracing mechanisms can work on it.  Built
 * from the ELF file alone (pyrt__from_file, unit-testable) or from a live
 * process (pyrt__from_pid, which also finds the load address).
 */
#ifndef PYSCOPE_PYRT_H
#define PYSCOPE_PYRT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "target/elf_file.h"
#include "target/mech.h"
#include "target/memsrc.h"
#include "target/offsets.h"
#include "target/probesite.h"
#include "target/x86emu.h"

#define PYRT_MAX_HANDLERS 4

struct pyrt {
	struct elf_file *ef;
	char path[PATH_MAX];		/* the interpreter ELF as the target names it */
	char open_path[PATH_MAX + 32];	/* the same file, reachable from here */
	bool is_lib;			/* libpython*.so rather than the executable */
	bool stripped;			/* no .symtab */
	struct pyver ver;
	char version[32];
	char version_how[48];
	enum pyoff_source off_src;
	struct py_offsets off;

	uint64_t runtime;		/* vaddr of _PyRuntime */
	uint64_t eval, eval_size;	/* _PyEval_EvalFrameDefault */
	uint64_t frame_clear;		/* called once as every frame ends (3.11+) */
	char frame_clear_sym[48];
	uint64_t code_dealloc, type_dealloc;
	uint64_t cell_type;		/* PyCell_Type */
	/* link-time addresses of the types the object walk recognises (0: absent) */
	uint64_t function_type, classmethod_type, staticmethod_type, module_type, code_type;
	uint64_t str_type, long_type;
	uint64_t opcode_targets;
	char opcode_targets_how[64];
	uint64_t handlers[PYRT_MAX_HANDLERS];	/* distinct RESUME handler addresses */
	char handler_ops[PYRT_MAX_HANDLERS][24];
	unsigned nhandlers;
	struct usdt_note usdt_return;	/* function__return, if the build has it */
	bool has_usdt_return, has_usdt_entry;
	unsigned nusdt;

	/*
	 * Where each probe goes (target/probesite.h): an instruction the kernel
	 * emulates when one is provably equivalent to the entry, else the entry.
	 */
	struct x86emu_caps emu;
	struct probe_site handler_site[PYRT_MAX_HANDLERS];
	/* the register holding the frame at each handler's probe (enum ps_reg), and why */
	int handler_freg[PYRT_MAX_HANDLERS];
	char handler_freg_why[PYRT_MAX_HANDLERS][96];
	struct probe_site eval_site, frame_clear_site, usdt_return_site;
	struct probe_site code_dealloc_site, type_dealloc_site;
	size_t index_insns, index_targets;	/* the eval loop's code index, for info */

	struct mech_status mech[MECH_COUNT];

	/* live process */
	int pid;
	uint64_t bias;			/* load address minus link-time address */
	char exe[PATH_MAX];
	/* its PID namespace, when not ours (kernel dev_t and inode), and its pid there */
	uint64_t pidns_dev, pidns_ino;
	int ns_pid;
};

/*
 * Model of the interpreter in the ELF at open_path (target_path is how the
 * target names it).  On failure, err gets one line for the user and the
 * return value is -ENOEXEC (not Python), -ENOTSUP (a build we refuse) or
 * another negative errno.
 */
int pyrt__from_file(const char *open_path, const char *target_path, struct pyrt **out,
		    char *err, size_t errlen);

/* Find and model the interpreter of a running process. */
int pyrt__from_pid(int pid, struct pyrt **out, char *err, size_t errlen);

/*
 * The model of a process forked from rt's process (same interpreter at the
 * same address, which is checked in its memory map), without reading the
 * ELF again.  -ESTALE if it no longer maps the interpreter there (it exec'd).
 */
int pyrt__for_child(const struct pyrt *rt, int pid, struct pyrt **out);

void pyrt__free(struct pyrt *rt);

struct pywalk;
/* A walker over the live process's objects, reading through read/ctx. */
void pyrt__walker(const struct pyrt *rt, struct pywalk *w, memsrc_read_fn read, void *ctx);

/* Does this process map a CPython interpreter?  (Cheap check for launch.) */
bool pyrt_pid_has_python(int pid);

#endif
