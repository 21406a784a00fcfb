// SPDX-License-Identifier: MIT
#include "target/pyrt.h"
#include "target/code_index.h"
#include "target/frame_reg.h"
#include "target/procmaps.h"
#include "target/pywalk.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define SUPPORTED "3.8-3.13"

const char *mech_name(enum ps_mech m)
{
	static const char *const names[MECH_COUNT] = {
		[MECH_EVAL] = "eval",
		[MECH_RESUME] = "resume",
		[MECH_USDT] = "usdt",
		[MECH_BREAKPOINT] = "breakpoint",
	};
	return m < MECH_COUNT ? names[m] : "?";
}

static void mech_set(struct pyrt *rt, enum ps_mech m, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void mech_set(struct pyrt *rt, enum ps_mech m, bool ok, const char *fmt, ...)
{
	va_list ap;

	rt->mech[m].ok = ok;
	va_start(ap, fmt);
	vsnprintf(rt->mech[m].why, sizeof(rt->mech[m].why), fmt, ap);
	va_end(ap);
}

/* "3.10.13", "3.8.0rc1", "2.7.18+" */
static bool parse_version_str(const char *s, struct pyver *v)
{
	unsigned a, b, c;
	int n = 0;

	if (sscanf(s, "%u.%u.%u%n", &a, &b, &c, &n) != 3 || a < 2 || a > 3 || b > 99 || c > 99)
		return false;
	if (s[n] && !isalpha((unsigned char)s[n]) && s[n] != '+')
		return false;
	v->major = a;
	v->minor = b;
	v->micro = c;
	v->level = 0xf;
	return true;
}

/*
 * Before 3.11 the version is only a string literal that Py_GetVersion()
 * passes to snprintf; the linker may tail-merge it into a longer string, so
 * follow the addresses the function loads (lea rip-relative, or mov imm32
 * in non-PIE builds) and keep the one that reads as a version.
 */
static int version_from_getversion(const struct elf_file *ef, struct pyver *v)
{
	const struct elf_sym *s = elf_file__sym(ef, "Py_GetVersion");
	unsigned char code[192];
	size_t len, i;

	if (!s || !s->value)
		return -ENOENT;
	len = s->size && s->size < sizeof(code) ? s->size : sizeof(code);
	if (elf_file__read(ef, s->value, code, len))
		return -ENOENT;
	for (i = 0; i + 5 <= len; i++) {
		uint64_t cand[2] = { 0, 0 };
		char str[24];
		int32_t disp;
		uint32_t imm;
		int k;

		if (i + 7 <= len && (code[i] == 0x48 || code[i] == 0x4c) && code[i + 1] == 0x8d &&
		    (code[i + 2] & 0xc7) == 0x05) {
			memcpy(&disp, &code[i + 3], 4);
			cand[0] = s->value + i + 7 + (int64_t)disp;
		}
		if (code[i] >= 0xb8 && code[i] <= 0xbf) {
			memcpy(&imm, &code[i + 1], 4);
			cand[1] = imm;
		}
		for (k = 0; k < 2; k++) {
			if (!cand[k] || elf_file__read_str(ef, cand[k], str, sizeof(str)))
				continue;
			if (parse_version_str(str, v))
				return 0;
		}
	}
	return -ENOENT;
}

int pyrt_detect_version(const struct elf_file *ef, struct pyver *v, char *how, size_t howlen)
{
	const struct elf_sym *s;
	uint32_t hex;
	char dbg[24];

	memset(v, 0, sizeof(*v));
	s = elf_file__sym(ef, "Py_Version");
	if (s && s->value && !elf_file__read(ef, s->value, &hex, sizeof(hex)) && (hex >> 24) == 3) {
		*v = pyver_from_hex(hex);
		str_copy(how, "Py_Version symbol", howlen);
		return 0;
	}
	s = elf_file__sym(ef, "_PyRuntime");
	if (s && s->value && !elf_file__read(ef, s->value, dbg, sizeof(dbg)) &&
	    !memcmp(dbg, "xdebugpy", 8)) {
		uint64_t ver;

		memcpy(&ver, dbg + 8, 8);
		*v = pyver_from_hex((uint32_t)ver);
		str_copy(how, "_Py_DebugOffsets", howlen);
		return 0;
	}
	if (!version_from_getversion(ef, v)) {
		str_copy(how, "Py_GetVersion string", howlen);
		return 0;
	}
	return -ENOENT;
}

static bool op_defined(const __u64 defined[4], unsigned op)
{
	return (defined[op / 64] >> (op % 64)) & 1;
}

/*
 * Does this window have the shape of the opcode table: the undefined
 * opcodes (two at least) all share one label, "unknown opcode", that no
 * defined opcode uses, and every entry is code?  A window shifted by any
 * number of slots breaks the pattern.  Linear in the window, and cheap
 * checks first: the scan tries every 8-byte step of the data sections.
 */
static bool table_shape_ok(const struct elf_file *ef, const uint64_t *ptrs,
			   const __u64 defined[4])
{
	unsigned i, nundef = 0;
	uint64_t unknown = 0;

	for (i = 0; i < 256; i++) {
		if (op_defined(defined, i))
			continue;
		if (!nundef++)
			unknown = ptrs[i];
		else if (ptrs[i] != unknown)
			return false;
	}
	if (nundef < 2)
		return false;
	for (i = 0; i < 256; i++)
		if (op_defined(defined, i) && ptrs[i] == unknown)
			return false;
	for (i = 0; i < 256; i++)
		if (!elf_file__in_text(ef, ptrs[i]))
			return false;
	return true;
}

int pyrt_scan_opcode_table(const struct elf_file *ef, const __u64 defined[4], uint64_t *addr)
{
	static const char *const sects[] = { ".rodata", ".data.rel.ro", ".data" };
	uint64_t ptrs[256];
	size_t k;

	if (!(defined[0] | defined[1] | defined[2] | defined[3]))
		return -ENOENT;
	for (k = 0; k < ARRAY_SIZE(sects); k++) {
		uint64_t start, size, a;

		/* only bytes the file holds: a header may claim a section of any size */
		if (elf_file__section_data(ef, sects[k], &start, &size) || size < sizeof(ptrs))
			continue;
		for (a = (start + 7) & ~7ull; a >= start && a - start <= size - sizeof(ptrs); a += 8) {
			if (elf_file__read_ptrs(ef, a, ptrs, 1) || !elf_file__in_text(ef, ptrs[0]))
				continue;
			if (elf_file__read_ptrs(ef, a, ptrs, 256))
				continue;
			if (table_shape_ok(ef, ptrs, defined)) {
				*addr = a;
				return 0;
			}
		}
	}
	return -ENOENT;
}

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
	} else if (!pyrt_scan_opcode_table(rt->ef, rt->off.op_defined, &rt->opcode_targets)) {
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
		rt->handler_freg[i] = rt->off.fr_ip != PYOFF_NONE ?
			frame_reg_find(rt->ef, &rt->handler_site[i], disps, 2,
				       rt->handler_freg_why[i], sizeof(rt->handler_freg_why[i])) : 0;
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

static void assess_mechanisms(struct pyrt *rt)
{
	const struct py_offsets *o = &rt->off;

	if (o->frame_kind == PYFRAME_OBJECT && rt->eval)
		mech_set(rt, MECH_EVAL, true,
			 "every Python call enters _PyEval_EvalFrameDefault; entry uprobe plus "
			 "uretprobe");
	else if (o->frame_kind == PYFRAME_OBJECT)
		mech_set(rt, MECH_EVAL, false, "_PyEval_EvalFrameDefault not found");
	else
		mech_set(rt, MECH_EVAL, false,
			 "from 3.11 Python-to-Python calls are inlined and never re-enter "
			 "_PyEval_EvalFrameDefault");

	if (o->frame_kind != PYFRAME_INTERP)
		mech_set(rt, MECH_RESUME, false, "no RESUME instruction before 3.11");
	else if (!rt->opcode_targets)
		mech_set(rt, MECH_RESUME, false,
			 "opcode jump table not found (no symbol, and no table of the "
			 "expected shape in the data sections)");
	else if (!rt->nhandlers)
		mech_set(rt, MECH_RESUME, false, "no RESUME handler in the opcode table");
	else if (rt->frame_clear)
		mech_set(rt, MECH_RESUME, true,
			 "starts: %u RESUME handlers (opcode table: %s); ends: %s", rt->nhandlers,
			 rt->opcode_targets_how, rt->frame_clear_sym);
	else if (rt->has_usdt_return)
		mech_set(rt, MECH_RESUME, true,
			 "starts: %u RESUME handlers (opcode table: %s); ends: USDT "
			 "python:function__return", rt->nhandlers, rt->opcode_targets_how);
	else
		mech_set(rt, MECH_RESUME, true,
			 "starts: %u RESUME handlers (opcode table: %s); count only: no frame-end "
			 "probe (stripped, no USDT)", rt->nhandlers, rt->opcode_targets_how);

	if (!rt->nusdt)
		mech_set(rt, MECH_USDT, false, "built without --with-dtrace: no USDT probes");
	else if (o->frame_kind == PYFRAME_INTERP && rt->has_usdt_entry)
		mech_set(rt, MECH_USDT, false,
			 "%u probes; function__entry fires only for frames entered from C in "
			 "3.11 (gh-98894); function__return is used to end frames", rt->nusdt);
	else if (rt->has_usdt_entry)
		mech_set(rt, MECH_USDT, false,
			 "%u probes; the eval mechanism sees the same events without the "
			 "semaphore cost", rt->nusdt);
	else
		mech_set(rt, MECH_USDT, false, "%u probes, but no function__entry/return",
			 rt->nusdt);

	if (!rt->function_type || !rt->module_type || !rt->code_type)
		mech_set(rt, MECH_BREAKPOINT, false,
			 "PyFunction_Type, PyModule_Type or PyCode_Type not found: cannot find "
			 "code objects");
	else
		mech_set(rt, MECH_BREAKPOINT, true,
			 "hardware watch on the argument byte of each target's start "
			 "instruction; code objects found through sys.modules; count only");
}

int pyrt__from_file(const char *open_path, const char *target_path, struct pyrt **out,
		    char *err, size_t errlen)
{
	const struct py_offsets *tab;
	const struct usdt_note *notes, *u;
	const struct elf_sym *s;
	struct pyrt *rt;
	const char *fc[] = { "_PyFrame_ClearExceptCode", "_PyFrame_Clear" };
	size_t i;
	int ret;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->pid = -1;
	str_copy(rt->path, target_path, sizeof(rt->path));
	str_copy(rt->open_path, open_path, sizeof(rt->open_path));
	ret = elf_file__open(open_path, &rt->ef);
	if (ret) {
		set_err(err, errlen, "%s: cannot read ELF file: %s", target_path,
			ret == -ENOEXEC ? "not an x86-64 ELF" : strerror(-ret));
		goto fail;
	}
	rt->stripped = !elf_file__has_symtab(rt->ef);
	rt->is_lib = !elf_file__is_exec(rt->ef) && strstr(target_path, "libpython");
	if (pyrt_detect_version(rt->ef, &rt->ver, rt->version_how, sizeof(rt->version_how))) {
		set_err(err, errlen, "%s is not a CPython interpreter (no version found)",
			target_path);
		ret = -ENOEXEC;
		goto fail;
	}
	snprintf(rt->version, sizeof(rt->version), "%u.%u.%u", rt->ver.major, rt->ver.minor,
		 rt->ver.micro);
	if (rt->ver.major != 3 || rt->ver.minor < 8 || rt->ver.minor > 13) {
		set_err(err, errlen, "Python %s is not supported (pyscope supports " SUPPORTED ")",
			rt->version);
		ret = -ENOTSUP;
		goto fail;
	}
	s = elf_file__sym(rt->ef, "_PyRuntime");
	if (!s || !s->value) {
		set_err(err, errlen, "%s is not a CPython interpreter (no _PyRuntime symbol)",
			target_path);
		ret = -ENOEXEC;
		goto fail;
	}
	rt->runtime = s->value;
	if (elf_file__sym(rt->ef, "_Py_NegativeRefcount") ||
	    elf_file__sym(rt->ef, "_Py_PrintReferences")) {
		set_err(err, errlen,
			"Python %s is a debug build (Py_DEBUG): its object layout differs, "
			"refusing rather than miscounting", rt->version);
		ret = -ENOTSUP;
		goto fail;
	}

	tab = pyoff_lookup(rt->ver, &rt->off_src);
	if (rt->ver.minor >= 13) {
		unsigned char dbg[PY_DEBUG_OFFSETS_313_SIZE];
		uint64_t vhex = 0;

		ret = elf_file__read(rt->ef, rt->runtime, dbg, sizeof(dbg));
		if (!ret)
			ret = pyoff_from_debug(dbg, sizeof(dbg), tab, &rt->off, &vhex);
		if (ret == -ENOTSUP && vhex && ((const uint64_t *)(dbg + 16))[0]) {
			set_err(err, errlen,
				"Python %s is a free-threaded build: not supported", rt->version);
			goto fail;
		}
		if (ret) {
			set_err(err, errlen, "Python %s: cannot use its _Py_DebugOffsets (%s)",
				rt->version, strerror(-ret));
			goto fail;
		}
		rt->off_src = PYOFF_SRC_DEBUG;
	} else if (tab) {
		rt->off = *tab;
	} else {
		set_err(err, errlen, "Python %s: no offsets table for this version", rt->version);
		ret = -ENOTSUP;
		goto fail;
	}

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
	s = elf_file__sym(rt->ef, "PyCell_Type");
	rt->cell_type = s ? s->value : 0;
	s = elf_file__sym(rt->ef, "PyFunction_Type");
	rt->function_type = s ? s->value : 0;
	s = elf_file__sym(rt->ef, "PyClassMethod_Type");
	rt->classmethod_type = s ? s->value : 0;
	s = elf_file__sym(rt->ef, "PyStaticMethod_Type");
	rt->staticmethod_type = s ? s->value : 0;
	s = elf_file__sym(rt->ef, "PyModule_Type");
	rt->module_type = s ? s->value : 0;
	s = elf_file__sym(rt->ef, "PyCode_Type");
	rt->code_type = s ? s->value : 0;
	s = elf_file__sym(rt->ef, "PyUnicode_Type");
	rt->str_type = s ? s->value : 0;
	s = elf_file__sym(rt->ef, "PyLong_Type");
	rt->long_type = s ? s->value : 0;
	rt->code_dealloc = type_dealloc_of(rt, "PyCode_Type");
	rt->type_dealloc = type_dealloc_of(rt, "PyType_Type");
	rt->nusdt = (unsigned)elf_file__usdt(rt->ef, &notes);
	u = elf_file__usdt_find(rt->ef, "python", "function__return");
	if (u) {
		rt->usdt_return = *u;
		rt->has_usdt_return = true;
	}
	rt->has_usdt_entry = elf_file__usdt_find(rt->ef, "python", "function__entry") != NULL;
	if (rt->off.frame_kind == PYFRAME_INTERP)
		find_handlers(rt);
	choose_sites(rt);
	assess_mechanisms(rt);
	*out = rt;
	return 0;
fail:
	pyrt__free(rt);
	return ret;
}

void pyrt_walker(const struct pyrt *rt, struct pywalk *w,
		 int (*read)(void *ctx, struct mr_item *items, size_t n), void *ctx)
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

	if (procmaps_read(pid, &m))
		return false;
	if (procmaps_find_base(&m, "libpython")) {
		ok = true;
	} else {
		if (proc_exe(pid, exe, sizeof(exe)) > 0) {
			snprintf(root, sizeof(root), "/proc/%d/root%s", pid, exe);
			ok = elf_is_python(root);
		}
	}
	procmaps_free(&m);
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
	ret = procmaps_read(pid, &m);
	if (ret)
		return ret;
	ent = procmaps_find_path(&m, raw);
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
	procmaps_free(&m);
	return ret;
}

/* The process a task belongs to (Tgid in /proc/PID/status), or -1. */
static int proc_tgid(int pid)
{
	char val[32];

	return proc_status(pid, "Tgid", val, sizeof(val)) ? -1 : atoi(val);
}

int pyrt__from_pid(int pid, struct pyrt **out, char *err, size_t errlen)
{
	const struct map_ent *lib, *ent = NULL;
	struct procmaps m = { 0 };
	char link[64], exe[PATH_MAX], open_path[PATH_MAX + 64];
	struct pyrt *rt = NULL;
	uint64_t vaddr;
	struct stat st;
	ssize_t n;
	int ret, tgid;

	*out = NULL;
	snprintf(link, sizeof(link), "/proc/%d", pid);
	if (pid <= 0 || stat(link, &st)) {
		set_err(err, errlen, "no process with pid %d", pid);
		return -ESRCH;
	}
	tgid = proc_tgid(pid);
	if (tgid > 0 && tgid != pid) {
		/* /proc/TID exists for every thread, but probes select whole processes */
		set_err(err, errlen, "pid %d is a thread of process %d: give -p %d", pid, tgid, tgid);
		return -EINVAL;
	}
	n = proc_exe(pid, exe, sizeof(exe));
	if (n < 0) {
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
	ret = procmaps_read(pid, &m);
	if (ret) {
		set_err(err, errlen, "pid %d: cannot read its memory map: %s", pid, strerror(-ret));
		return ret;
	}
	snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, exe);
	if (elf_is_python(open_path)) {
		ret = pyrt__from_file(open_path, exe, &rt, err, errlen);
		ent = procmaps_find_path(&m, exe);
	} else if ((lib = procmaps_find_base(&m, "libpython"))) {
		snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", pid, lib->path);
		ret = pyrt__from_file(open_path, lib->path, &rt, err, errlen);
		ent = procmaps_find_path(&m, lib->path);
	} else {
		set_err(err, errlen, "pid %d (%s) is not a Python process: no libpython and no "
			"interpreter in the executable", pid, exe);
		ret = -ENOEXEC;
	}
	if (ret)
		goto cleanup;
	rt->pid = pid;
	pid_namespace(rt);
	str_copy(rt->exe, exe, sizeof(rt->exe));
	/* from here on both are only shown, and the target chose them */
	str_sanitize(rt->exe);
	str_sanitize(rt->path);
	if (!ent || elf_file__is_exec(rt->ef)) {
		rt->bias = 0;
	} else if (elf_file__off_to_vaddr(rt->ef, ent->offset, &vaddr)) {
		set_err(err, errlen, "pid %d: cannot place %s in memory", pid, rt->path);
		ret = -ENOEXEC;
		goto cleanup;
	} else {
		rt->bias = ent->start - vaddr;
	}
	*out = rt;
	rt = NULL;
cleanup:
	pyrt__free(rt);
	procmaps_free(&m);
	return ret;
}
