// SPDX-License-Identifier: MIT
#include "target/pyrt.h"
#include "target/code_index.h"
#include "target/frame_reg.h"
#include "target/opcode_table.h"
#include "target/procmaps.h"
#include "target/pywalk.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The distinct RESUME handlers, from the opcode table (its symbol, or found by its shape). */
static void find_handlers(struct pyrt *rt)
{
	const struct py_offsets *o = &rt->off;
	const struct elf_sym *s;
	const struct { uint16_t op; const char *name; } ops[] = {
		{ o->op_resume, "RESUME" },
		{ o->op_resume_quick, "RESUME_QUICK/CHECK" },
		{ o->op_instrumented_resume, "INSTRUMENTED_RESUME" },
	};
	uint64_t tab[256];
	size_t i;

	s = elf_file__sym_local(rt->ef, "opcode_targets");
	if (s && s->value) {
		rt->opcode_targets = s->value;
		snprintf(rt->opcode_targets_how, sizeof(rt->opcode_targets_how), "symbol %s",
			 s->name);
	} else if (!opcode_table_scan(rt->ef, rt->off.op_defined, &rt->opcode_targets)) {
		str_copy(rt->opcode_targets_how, "found by its shape in the data sections",
			 sizeof(rt->opcode_targets_how));
	} else {
		return;
	}
	if (elf_file__read_ptrs(rt->ef, rt->opcode_targets, tab, 256)) {
		rt->opcode_targets = 0;
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		uint64_t a;
		unsigned j;

		if (ops[i].op >= 256)
			continue;
		a = tab[ops[i].op];
		for (j = 0; j < rt->nhandlers; j++)
			if (rt->handlers[j] == a)
				break;
		if (j < rt->nhandlers || !elf_file__in_text(rt->ef, a))
			continue;
		rt->handlers[rt->nhandlers] = a;
		str_copy(rt->handler_ops[rt->nhandlers], ops[i].name,
			 sizeof(rt->handler_ops[0]));
		rt->nhandlers++;
	}
}

/*
 * The eval loop's code: its symbol, the cold parts the compiler split off
 * (".cold" symbols when unstripped; otherwise found by following branches),
 * and every opcode handler as a computed-goto entry.
 */
static struct code_index *eval_index(struct pyrt *rt)
{
	struct code_span spans[8];
	struct code_index *ci = NULL;
	uint64_t tab[256];
	size_t i, n = 0, ntab = 0;
	const size_t len = strlen("_PyEval_EvalFrameDefault.cold");

	if (!rt->eval || !rt->eval_size)
		return NULL;	/* its extent is unknown: nothing can be proven */
	spans[n++] = (struct code_span){ rt->eval, rt->eval + rt->eval_size };
	for (i = 0; i < elf_file__nsyms(rt->ef) && n < ARRAY_SIZE(spans); i++) {
		const struct elf_sym *s = elf_file__sym_at(rt->ef, i);

		if (s->value && s->size && !strncmp(s->name, "_PyEval_EvalFrameDefault.cold", len))
			spans[n++] = (struct code_span){ s->value, s->value + s->size };
	}
	if (rt->opcode_targets && !elf_file__read_ptrs(rt->ef, rt->opcode_targets, tab, 256))
		ntab = 256;
	if (code_index__build(rt->ef, spans, n, tab, ntab, &ci))
		return NULL;
	return ci;
}

/*
 * A function entry whose probe reads argument registers: move only if the
 * entry is single-stepped and the function's extent is known.
 */
static void choose_func_site(struct pyrt *rt, uint64_t addr, unsigned rules,
			     struct probe_site *site)
{
	const struct elf_sym *s = NULL;
	struct code_index *ci = NULL;
	struct code_span span;
	size_t i;

	probesite_choose(rt->ef, NULL, addr, rules, &rt->emu, site);
	if (site->emulated || (rules & SITE_FIXED))
		return;
	for (i = 0; i < elf_file__nsyms(rt->ef) && !s; i++) {
		const struct elf_sym *c = elf_file__sym_at(rt->ef, i);

		if (c->value == addr && c->size)
			s = c;
	}
	span = (struct code_span){ addr, s ? addr + s->size : addr };
	if (!s || code_index__build(rt->ef, &span, 1, NULL, 0, &ci))
		return;
	probesite_choose(rt->ef, ci, addr, rules, &rt->emu, site);
	code_index__free(ci);
}

static void choose_sites(struct pyrt *rt)
{
	struct code_index *ci = NULL;
	unsigned i;

	x86emu_running_caps(&rt->emu);
	if (rt->nhandlers) {
		ci = eval_index(rt);
		rt->index_insns = code_index__ninsns(ci);
		rt->index_targets = code_index__ntargets(ci);
	}
	for (i = 0; i < rt->nhandlers; i++) {
		/* f_code at 0 (3.12+) is no distinctive displacement: the ip field is */
		uint32_t disps[2] = { rt->off.fr_ip, rt->off.fr_code };

		probesite_choose(rt->ef, ci, rt->handlers[i], 0, &rt->emu, &rt->handler_site[i]);
		rt->handler_freg[i] = rt->off.fr_ip == PYOFF_NONE ? 0 :
			frame_reg_find(rt->ef, &rt->handler_site[i], disps, 2,
				       rt->handler_freg_why[i], sizeof(rt->handler_freg_why[i]));
	}
	code_index__free(ci);
	/* the uretprobe shares the entry probe: both must stay at the entry */
	if (rt->eval)
		choose_func_site(rt, rt->eval, SITE_FIXED | SITE_KEEP_RDI | SITE_KEEP_RSI,
				 &rt->eval_site);
	if (rt->frame_clear)
		choose_func_site(rt, rt->frame_clear, SITE_KEEP_RDI, &rt->frame_clear_site);
	if (rt->has_usdt_return)
		choose_func_site(rt, rt->usdt_return.pc, SITE_FIXED, &rt->usdt_return_site);
	if (rt->code_dealloc)
		choose_func_site(rt, rt->code_dealloc, SITE_KEEP_RDI, &rt->code_dealloc_site);
	if (rt->type_dealloc)
		choose_func_site(rt, rt->type_dealloc, SITE_KEEP_RDI, &rt->type_dealloc_site);
}

/* tp_dealloc of a static type object, read from the file with relocations. */
static uint64_t type_dealloc_of(const struct pyrt *rt, const char *type_sym)
{
	const struct elf_sym *s = elf_file__sym(rt->ef, type_sym);
	uint64_t p = 0;

	if (!s || !s->value || elf_file__read_ptrs(rt->ef, s->value + rt->off.tp_dealloc, &p, 1))
		return 0;
	return elf_file__in_text(rt->ef, p) ? p : 0;
}

/* What kind of file: stripped or not, libpython or an executable. */
static int open_elf(struct pyrt *rt, const char *open_path, const char *target_path, char *err,
		    size_t errlen)
{
	int ret = elf_file__open(open_path, &rt->ef);

	if (ret) {
		set_err(err, errlen, "%s: cannot read ELF file: %s", target_path,
			ret == -ENOEXEC ? "not an x86-64 ELF" : strerror(-ret));
		return ret;
	}
	rt->stripped = !elf_file__has_symtab(rt->ef);
	rt->is_lib = !elf_file__is_exec(rt->ef) && strstr(target_path, "libpython");
	return 0;
}

/* Is it a CPython interpreter, of a version and build pyscope can trace? */
static int check_build(struct pyrt *rt, const char *target_path, char *err, size_t errlen)
{
	const struct elf_sym *s;

	if (pyver_detect(rt->ef, &rt->ver, rt->version_how, sizeof(rt->version_how))) {
		set_err(err, errlen, "%s is not a CPython interpreter (no version found)",
			target_path);
		return -ENOEXEC;
	}
	snprintf(rt->version, sizeof(rt->version), "%u.%u.%u", rt->ver.major, rt->ver.minor,
		 rt->ver.micro);
	if (!pyoff_supported(rt->ver)) {
		set_err(err, errlen, "Python %s is not supported (pyscope supports "
			PYOFF_SUPPORTED ")", rt->version);
		return -ENOTSUP;
	}
	s = elf_file__sym(rt->ef, "_PyRuntime");
	if (!s || !s->value) {
		set_err(err, errlen, "%s is not a CPython interpreter (no _PyRuntime symbol)",
			target_path);
		return -ENOEXEC;
	}
	rt->runtime = s->value;
	if (elf_file__sym(rt->ef, "_Py_NegativeRefcount") ||
	    elf_file__sym(rt->ef, "_Py_PrintReferences")) {
		set_err(err, errlen,
			"Python %s is a debug build (Py_DEBUG): its object layout differs, "
			"refusing rather than miscounting", rt->version);
		return -ENOTSUP;
	}
	return 0;
}

/* struct py_offsets: from the interpreter's _Py_DebugOffsets, or from the table. */
static int load_offsets(struct pyrt *rt, char *err, size_t errlen)
{
	const struct py_offsets *tab = pyoff_lookup(rt->ver, &rt->off_src);
	unsigned char dbg[PY_DEBUG_OFFSETS_313_SIZE];
	uint64_t vhex = 0;
	int ret;

	if (!pyoff_in_runtime(rt->ver)) {
		if (tab) {
			rt->off = *tab;
			return 0;
		}
		set_err(err, errlen, "Python %s: no offsets table for this version", rt->version);
		return -ENOTSUP;
	}
	ret = elf_file__read(rt->ef, rt->runtime, dbg, sizeof(dbg));
	if (!ret)
		ret = pyoff_from_debug(dbg, sizeof(dbg), tab, &rt->off, &vhex);
	if (ret == -ENOTSUP && vhex && ((const uint64_t *)(dbg + 16))[0]) {
		set_err(err, errlen, "Python %s is a free-threaded build: not supported",
			rt->version);
		return ret;
	}
	if (ret) {
		set_err(err, errlen, "Python %s: cannot use its _Py_DebugOffsets (%s)", rt->version,
			strerror(-ret));
		return ret;
	}
	rt->off_src = PYOFF_SRC_DEBUG;
	return 0;
}

/* Where the eval loop, the frame-end function and the type objects are. */
static void find_symbols(struct pyrt *rt)
{
	static const char *const fc[] = { "_PyFrame_ClearExceptCode", "_PyFrame_Clear" };
	const struct { const char *name; uint64_t *addr; } types[] = {
		{ "PyCell_Type", &rt->cell_type },
		{ "PyFunction_Type", &rt->function_type },
		{ "PyClassMethod_Type", &rt->classmethod_type },
		{ "PyStaticMethod_Type", &rt->staticmethod_type },
		{ "PyModule_Type", &rt->module_type },
		{ "PyCode_Type", &rt->code_type },
		{ "PyUnicode_Type", &rt->str_type },
		{ "PyLong_Type", &rt->long_type },
	};
	const struct elf_sym *s;
	size_t i;

	s = elf_file__sym(rt->ef, "_PyEval_EvalFrameDefault");
	if (s && s->value) {
		rt->eval = s->value;
		rt->eval_size = s->size;
	}
	for (i = 0; i < ARRAY_SIZE(fc); i++) {
		s = elf_file__sym(rt->ef, fc[i]);
		if (s && s->value && s->type == 2 /* STT_FUNC */) {
			rt->frame_clear = s->value;
			str_copy(rt->frame_clear_sym, fc[i], sizeof(rt->frame_clear_sym));
			break;
		}
	}
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		s = elf_file__sym(rt->ef, types[i].name);
		*types[i].addr = s ? s->value : 0;
	}
	rt->code_dealloc = type_dealloc_of(rt, "PyCode_Type");
	rt->type_dealloc = type_dealloc_of(rt, "PyType_Type");
}

static void find_usdt(struct pyrt *rt)
{
	const struct usdt_note *notes, *u;

	rt->nusdt = (unsigned)elf_file__usdt(rt->ef, &notes);
	u = elf_file__usdt_find(rt->ef, "python", "function__return");
	if (u) {
		rt->usdt_return = *u;
		rt->has_usdt_return = true;
	}
	rt->has_usdt_entry = elf_file__usdt_find(rt->ef, "python", "function__entry") != NULL;
}

int pyrt__from_file(const char *open_path, const char *target_path, struct pyrt **out,
		    char *err, size_t errlen)
{
	struct pyrt *rt;
	int ret;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->pid = -1;
	str_copy(rt->path, target_path, sizeof(rt->path));
	str_copy(rt->open_path, open_path, sizeof(rt->open_path));
	ret = open_elf(rt, open_path, target_path, err, errlen);
	if (!ret)
		ret = check_build(rt, target_path, err, errlen);
	if (!ret)
		ret = load_offsets(rt, err, errlen);
	if (ret) {
		pyrt__free(rt);
		return ret;
	}
	find_symbols(rt);
	find_usdt(rt);
	if (rt->off.frame_kind == PYFRAME_INTERP)
		find_handlers(rt);
	choose_sites(rt);
	mech_assess(rt, rt->mech);
	*out = rt;
	return 0;
}

void pyrt__walker(const struct pyrt *rt, struct pywalk *w, memsrc_read_fn read, void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->off = &rt->off;
	w->runtime = rt->runtime + rt->bias;
	w->t.function = rt->function_type ? rt->function_type + rt->bias : 0;
	w->t.classmethod = rt->classmethod_type ? rt->classmethod_type + rt->bias : 0;
	w->t.staticmethod = rt->staticmethod_type ? rt->staticmethod_type + rt->bias : 0;
	w->t.module = rt->module_type ? rt->module_type + rt->bias : 0;
	w->t.code = rt->code_type ? rt->code_type + rt->bias : 0;
	w->read = read;
	w->ctx = ctx;
}

void pyrt__free(struct pyrt *rt)
{
	if (!rt)
		return;
	elf_file__free(rt->ef);
	free(rt);
}

/* Does this ELF embed a CPython interpreter (of any version)? */
static bool elf_is_python(const char *path)
{
	struct elf_file *ef;
	const struct elf_sym *s;
	bool ok;

	if (elf_file__open(path, &ef))
		return false;
	s = elf_file__sym(ef, "Py_GetVersion");
	ok = s && s->value;
	elf_file__free(ef);
	return ok;
}

bool pyrt_pid_has_python(int pid)
{
	struct procmaps m;
	char exe[PATH_MAX];
	char root[PATH_MAX + 64];
	bool ok = false;

	if (procmaps__read(pid, &m))
		return false;
	if (procmaps__find_base(&m, "libpython")) {
		ok = true;
	} else {
		if (proc_exe(pid, exe, sizeof(exe)) > 0) {
			snprintf(root, sizeof(root), "/proc/%d/root%s", pid, exe);
			ok = elf_is_python(root);
		}
	}
	procmaps__free(&m);
	return ok;
}

/* The state letter in /proc/PID/stat ('Z' zombie, 'X' dead), or 0. */
static char proc_state(int pid)
{
	char path[64], *text = NULL, *paren, state = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, 4096, &text, NULL))
		return 0;
	/* "pid (comm) S ...": comm may hold anything, so find its last ')' */
	paren = strrchr(text, ')');
	if (paren && paren[1] == ' ')
		state = paren[2];
	free(text);
	return state;
}

/*
 * The process's PID namespace if it is not ours, and its pid there (the
 * last NSpid field of /proc/PID/status; the first is ours).
 */
static void pid_namespace(struct pyrt *rt)
{
	char path[64], line[256], *tok, *save = NULL;
	struct stat mine, its;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", rt->pid);
	if (stat("/proc/self/ns/pid", &mine) || stat(path, &its) ||
	    (mine.st_dev == its.st_dev && mine.st_ino == its.st_ino))
		return;
	/* bpf_get_ns_current_pid_tgid() compares the kernel's dev_t encoding */
	rt->pidns_dev = ((uint64_t)major(its.st_dev) << 20) | minor(its.st_dev);
	rt->pidns_ino = its.st_ino;
	if (proc_status(rt->pid, "NSpid", line, sizeof(line)))
		return;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		rt->ns_pid = atoi(tok);
}

int pyrt__for_child(const struct pyrt *rt, int pid, struct pyrt **out)
{
	const char *raw = rt->open_path;
	const struct map_ent *ent;
	struct procmaps m = { 0 };
	struct pyrt *c = NULL;
	uint64_t vaddr;
	int ret;

	*out = NULL;
	/* open_path is "/proc/PID/root" + the path as the maps name it (path is sanitised) */
	if (strncmp(raw, "/proc/", 6) || !(raw = strchr(raw + 6, '/')) || strncmp(raw, "/root/", 6))
		return -EINVAL;
	raw += 5;
	ret = procmaps__read(pid, &m);
	if (ret)
		return ret;
	ent = procmaps__find_path(&m, raw);
	if (!ent || (!elf_file__is_exec(rt->ef) &&
		     (elf_file__off_to_vaddr(rt->ef, ent->offset, &vaddr) ||
		      ent->start - vaddr != rt->bias))) {
		ret = -ESTALE;
		goto cleanup;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		ret = -ENOMEM;
		goto cleanup;
	}
	*c = *rt;
	c->ef = elf_file__ref(rt->ef);
	c->pid = pid;
	c->pidns_dev = c->pidns_ino = 0;
	c->ns_pid = 0;
	pid_namespace(c);
	snprintf(c->open_path, sizeof(c->open_path), "/proc/%d/root%s", pid, raw);
	*out = c;
cleanup:
	procmaps__free(&m);
	return ret;
}

/* The process a task belongs to (Tgid in /proc/PID/status), or -1. */
static int proc_tgid(int pid)
{
	char val[32];

	return proc_status(pid, "Tgid", val, sizeof(val)) ? -1 : atoi(val);
}

/* Can pid be modelled: a process (not a thread) with an executable?  Its path in exe. */
static int process_exe(int pid, char *exe, size_t len, char *err, size_t errlen)
{
	char link[64];
	struct stat st;
	ssize_t n;
	int ret, tgid;

	snprintf(link, sizeof(link), "/proc/%d", pid);
	if (pid <= 0 || stat(link, &st)) {
		set_err(err, errlen, "no process with pid %d", pid);
		return -ESRCH;
	}
	tgid = proc_tgid(pid);
	if (tgid > 0 && tgid != pid) {
		/* /proc/TID exists for every thread, but probes select whole processes */
		set_err(err, errlen, "pid %d is a thread of process %d: give -p %d", pid, tgid,
			tgid);
		return -EINVAL;
	}
	n = proc_exe(pid, exe, len);
	if (n >= 0)
		return 0;
	ret = (int)n;
	if (ret == -ENOENT && (proc_state(pid) == 'Z' || proc_state(pid) == 'X'))
		set_err(err, errlen, "pid %d is a zombie: it has exited and has nothing left "
			"to trace", pid);
	else if (ret == -ENOENT)
		set_err(err, errlen, "pid %d has no executable (a kernel thread)", pid);
	else
		set_err(err, errlen, "pid %d: cannot read /proc/%d/exe: %s", pid, pid,
			strerror(-ret));
	return ret == -ENOENT ? -ESRCH : ret;
}

/* The interpreter: in the executable, or the libpython it maps (*ent: its mapping). */
static int model_interpreter(int pid, const char *exe, const struct procmaps *m,
			     struct pyrt **rt, const struct map_ent **ent, char *err, size_t errlen)
{
	char open_path[PATH_MAX + 64];
	const struct map_ent *lib;

	snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, exe);
	if (elf_is_python(open_path)) {
		*ent = procmaps__find_path(m, exe);
		return pyrt__from_file(open_path, exe, rt, err, errlen);
	}
	lib = procmaps__find_base(m, "libpython");
	if (!lib) {
		set_err(err, errlen, "pid %d (%s) is not a Python process: no libpython and no "
			"interpreter in the executable", pid, exe);
		return -ENOEXEC;
	}
	snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, lib->path);
	*ent = procmaps__find_path(m, lib->path);
	return pyrt__from_file(open_path, lib->path, rt, err, errlen);
}

/* The load bias, from the interpreter's mapping ent (a shared object's first). */
static int place(struct pyrt *rt, const struct map_ent *ent, char *err, size_t errlen)
{
	uint64_t vaddr;

	rt->bias = 0;
	if (!ent || elf_file__is_exec(rt->ef))
		return 0;
	if (elf_file__off_to_vaddr(rt->ef, ent->offset, &vaddr)) {
		set_err(err, errlen, "pid %d: cannot place %s in memory", rt->pid, rt->path);
		return -ENOEXEC;
	}
	rt->bias = ent->start - vaddr;
	return 0;
}

int pyrt__from_pid(int pid, struct pyrt **out, char *err, size_t errlen)
{
	const struct map_ent *ent = NULL;
	struct procmaps m = { 0 };
	char exe[PATH_MAX];
	struct pyrt *rt = NULL;
	int ret;

	*out = NULL;
	ret = process_exe(pid, exe, sizeof(exe), err, errlen);
	if (ret)
		return ret;
	ret = procmaps__read(pid, &m);
	if (ret) {
		set_err(err, errlen, "pid %d: cannot read its memory map: %s", pid, strerror(-ret));
		return ret;
	}
	ret = model_interpreter(pid, exe, &m, &rt, &ent, err, errlen);
	if (ret)
		goto cleanup;
	rt->pid = pid;
	pid_namespace(rt);
	str_copy(rt->exe, exe, sizeof(rt->exe));
	/* from here on both are only shown, and the target chose them */
	str_sanitize(rt->exe);
	str_sanitize(rt->path);
	ret = place(rt, ent, err, errlen);
	if (ret)
		goto cleanup;
	*out = rt;
	rt = NULL;
cleanup:
	pyrt__free(rt);
	procmaps__free(&m);
	return ret;
}
