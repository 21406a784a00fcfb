// SPDX-License-Identifier: MIT
/* pyscope info: what the target runs and which mechanisms work on it. */
#include "target/caps.h"
#include "cmd/cmds.h"
#include "probes/hwbp.h"
#include "session/launch.h"
#include "probes/memread.h"
#include "model/pattern.h"
#include "target/pyrt.h"
#include "target/pywalk.h"
#include "util/json.h"
#include "util/util.h"
#include "model/pattern_spec.h"
#include "model/pattern_json.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every probe point the mechanisms may use, with the instruction chosen for it. */
struct site_ref {
	const char *what;
	const struct probe_site *site;
	int freg;		/* RESUME handlers: the frame register (enum ps_reg) */
	const char *freg_why;
};

static const char *reg_name(int r)
{
	static const char *const names[] = { "", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
					     "r8", "r9", "r10", "r11", "r12", "r13", "r14",
					     "r15" };

	return r > 0 && r < (int)ARRAY_SIZE(names) ? names[r] : "";
}

static size_t site_refs(const struct pyrt *rt, struct site_ref *v, size_t max)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < rt->nhandlers && n < max; i++)
		v[n++] = (struct site_ref){ rt->handler_ops[i], &rt->handler_site[i],
					    rt->handler_freg[i], rt->handler_freg_why[i] };
	if (rt->eval && rt->off.frame_kind == PYFRAME_OBJECT && n < max)
		v[n++] = (struct site_ref){ "_PyEval_EvalFrameDefault", &rt->eval_site };
	if (rt->frame_clear && n < max)
		v[n++] = (struct site_ref){ rt->frame_clear_sym, &rt->frame_clear_site };
	if (rt->has_usdt_return && n < max)
		v[n++] = (struct site_ref){ "function__return", &rt->usdt_return_site };
	if (rt->code_dealloc && n < max)
		v[n++] = (struct site_ref){ "code dealloc", &rt->code_dealloc_site };
	if (rt->type_dealloc && n < max)
		v[n++] = (struct site_ref){ "type dealloc", &rt->type_dealloc_site };
	return n;
}

/* Word-wrap text at width columns, each line indented by indent spaces. */
static void print_wrapped(FILE *out, const char *text, int indent, int width)
{
	const char *p = text;

	while (*p) {
		int room = width - indent, n = (int)strlen(p);

		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (!n)
				n = room;
		}
		fprintf(out, "%*s%.*s\n", indent, "", n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

static void print_sites(const struct pyrt *rt, FILE *out)
{
	struct site_ref v[PYRT_MAX_HANDLERS + 5];
	size_t n = site_refs(rt, v, ARRAY_SIZE(v)), i;

	fprintf(out, "probe points:\n");
	for (i = 0; i < n; i++) {
		const struct probe_site *s = v[i].site;

		fprintf(out, "  %-24s 0x%" PRIx64 " (+0x%" PRIx64 ") %s: %s\n", v[i].what,
			s->addr + rt->bias, s->addr - s->start,
			s->emulated ? "emulated" : "single-stepped", s->insn);
		print_wrapped(out, s->why, 6, 100);
		if (v[i].freg)
			fprintf(out, "      frame in %%%s there (%s), checked against the thread "
				"state\n", reg_name(v[i].freg), v[i].freg_why);
		else if (v[i].freg_why)
			fprintf(out, "      frame from the thread state: %s\n", v[i].freg_why);
	}
	if (rt->index_insns)
		fprintf(out, "  (eval loop code: %zu instructions decoded, %zu entry points known)\n",
			rt->index_insns, rt->index_targets);
}

static void print_text(const struct pyrt *rt, FILE *out)
{
	unsigned i;

	fprintf(out, "pid:             %d (%s)\n", rt->pid, rt->exe);
	if (rt->pidns_ino)
		fprintf(out, "namespace:       its own PID namespace, pid %d there; files read "
			"through /proc/%d/root\n", rt->ns_pid, rt->pid);
	fprintf(out, "interpreter:     %s%s\n", rt->path, rt->is_lib ? " (shared library)" : "");
	fprintf(out, "load bias:       0x%" PRIx64 "\n", rt->bias);
	fprintf(out, "python:          %s (from %s)\n", rt->version, rt->version_how);
	fprintf(out, "symbols:         %s\n",
		rt->stripped ? ".dynsym only (stripped)" : ".symtab and .dynsym");
	fprintf(out, "offsets:         %s\n", pyoff_source_str(rt->off_src));
	fprintf(out, "_PyRuntime:      0x%" PRIx64 "\n", rt->runtime + rt->bias);
	if (rt->eval)
		fprintf(out, "eval loop:       _PyEval_EvalFrameDefault at 0x%" PRIx64 "\n",
			rt->eval + rt->bias);
	if (rt->opcode_targets) {
		fprintf(out, "opcode table:    0x%" PRIx64 " (%s)\n", rt->opcode_targets + rt->bias,
			rt->opcode_targets_how);
		for (i = 0; i < rt->nhandlers; i++)
			fprintf(out, "  %-20s handler at 0x%" PRIx64 "\n", rt->handler_ops[i],
				rt->handlers[i] + rt->bias);
	}
	if (rt->frame_clear)
		fprintf(out, "frame end:       %s at 0x%" PRIx64 "\n", rt->frame_clear_sym,
			rt->frame_clear + rt->bias);
	if (rt->has_usdt_return)
		fprintf(out, "usdt:            %u probes; function__return at 0x%" PRIx64 "%s\n",
			rt->nusdt, rt->usdt_return.pc + rt->bias,
			rt->usdt_return.sema ? " (semaphore)" : "");
	else
		fprintf(out, "usdt:            %u probes\n", rt->nusdt);
	fprintf(out, "code dealloc:    %s\n", rt->code_dealloc ? "found (PyCode_Type.tp_dealloc)" :
							"not found");
	print_sites(rt, out);
	fprintf(out, "mechanisms:\n");
	for (i = 0; i < MECH_COUNT; i++)
		fprintf(out, "  %-11s %-4s %s\n", mech_name(i), rt->mech[i].ok ? "yes" : "no",
			rt->mech[i].why);
}

static cJSON *hex(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return cJSON_CreateString(buf);
}

static const char *pw_status_str(int st)
{
	switch (st) {
	case PW_OK:
		return "resolved";
	case PW_NO_MODULE:
		return "not imported";
	case PW_NOT_FOUND:
		return "not found";
	case PW_NO_CODE:
		return "no Python code";
	default:
		return "error";
	}
}

/* With -e/-f: where each pattern's code lives now, and whether a breakpoint can watch it. */
struct located {
	struct patterns ps;
	struct where {
		int st;			/* enum pw_status, or a negative errno */
		char why[256];
		struct pw_target t;
	} *v;				/* one per pattern */
};

static void located_free(struct located *l)
{
	patterns__free(&l->ps);
	free(l->v);
}

static int locate(const struct config *cfg, const struct pyrt *rt, struct located *l, char *err,
		  size_t errlen)
{
	struct memread *mr = NULL;
	struct pywalk w;
	size_t i;
	int ret = 0;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < (size_t)cfg->nexprs && !ret; i++)
		ret = pattern_spec__add_expr(&l->ps, cfg->exprs[i], err, errlen);
	if (!ret && cfg->pattern_file)
		ret = pattern_json__load(&l->ps, cfg->pattern_file, err, errlen);
	if (!ret)
		ret = memread__open(&mr, rt->pid, err, errlen);
	if (ret)
		return ret;
	l->v = calloc(l->ps.n ? l->ps.n : 1, sizeof(*l->v));
	if (!l->v) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
	}
	pyrt__walker(rt, &w, memread__read, mr);
	for (i = 0; !ret && i < l->ps.n; i++) {
		const struct pattern *p = &l->ps.v[i];
		struct pw_query q = { p->module, p->qualname, p->kind == PAT_CLASS };

		l->v[i].st = pywalk__resolve(&w, &q, &l->v[i].t, l->v[i].why,
					     sizeof(l->v[i].why));
	}
	memread__close(mr);
	return ret;
}

static void located_text(FILE *out, const struct located *l)
{
	size_t i;

	fprintf(out, "patterns:\n");
	for (i = 0; i < l->ps.n; i++) {
		const struct where *w = &l->v[i];

		if (w->st == PW_OK)
			fprintf(out, "  %-24s code 0x%" PRIx64 " (%s), watch 0x%" PRIx64 "%s\n",
				l->ps.v[i].name, w->t.code, w->t.how, w->t.watch, w->t.unsafe ?
				" (start is a jump target: not watchable)" : "");
		else
			fprintf(out, "  %-24s %s%s%s\n", l->ps.v[i].name,
				w->st < 0 ? strerror(-w->st) : pw_status_str(w->st),
				w->why[0] ? ": " : "", w->why);
	}
}

static cJSON *located_json(const struct located *l)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < l->ps.n; i++) {
		const struct where *w = &l->v[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", l->ps.v[i].name);
		cJSON_AddStringToObject(o, "status", w->st < 0 ? strerror(-w->st) :
					pw_status_str(w->st));
		if (w->st == PW_OK) {
			cJSON_AddItemToObject(o, "code", hex(w->t.code));
			cJSON_AddItemToObject(o, "watch", hex(w->t.watch));
			cJSON_AddStringToObject(o, "how", w->t.how);
			cJSON_AddBoolToObject(o, "watchable", !w->t.unsafe);
		} else if (w->why[0]) {
			cJSON_AddStringToObject(o, "why", w->why);
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *handlers_json(const struct pyrt *rt)
{
	cJSON *h = cJSON_CreateArray();
	unsigned i;

	for (i = 0; h && i < rt->nhandlers; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "opcode", rt->handler_ops[i]);
		cJSON_AddItemToObject(o, "address", hex(rt->handlers[i] + rt->bias));
		cJSON_AddItemToArray(h, o);
	}
	return h;
}

static cJSON *sites_json(const struct pyrt *rt)
{
	struct site_ref v[PYRT_MAX_HANDLERS + 5];
	size_t n = site_refs(rt, v, ARRAY_SIZE(v)), i;
	cJSON *h = cJSON_CreateArray();

	for (i = 0; h && i < n; i++) {
		const struct probe_site *ps = v[i].site;
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "point", v[i].what);
		cJSON_AddItemToObject(o, "entry", hex(ps->start + rt->bias));
		cJSON_AddItemToObject(o, "address", hex(ps->addr + rt->bias));
		cJSON_AddNumberToObject(o, "offset", (double)(ps->addr - ps->start));
		cJSON_AddStringToObject(o, "instruction", ps->insn);
		cJSON_AddBoolToObject(o, "emulated", ps->emulated);
		cJSON_AddStringToObject(o, "why", ps->why);
		if (v[i].freg_why) {
			cJSON_AddStringToObject(o, "frame_register", reg_name(v[i].freg));
			cJSON_AddStringToObject(o, "frame_register_why", v[i].freg_why);
		}
		cJSON_AddItemToArray(h, o);
	}
	return h;
}

static cJSON *mechs_json(const struct pyrt *rt)
{
	cJSON *mechs = cJSON_CreateObject();
	unsigned i;

	for (i = 0; mechs && i < MECH_COUNT; i++) {
		cJSON *m = cJSON_CreateObject();

		cJSON_AddBoolToObject(m, "available", rt->mech[i].ok);
		cJSON_AddStringToObject(m, "why", rt->mech[i].why);
		cJSON_AddItemToObject(mechs, mech_name(i), m);
	}
	return mechs;
}

static cJSON *rt_json(const struct pyrt *rt)
{
	cJSON *root = cJSON_CreateObject();

	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "pid", rt->pid);
	if (rt->pidns_ino)
		cJSON_AddNumberToObject(root, "ns_pid", rt->ns_pid);
	cJSON_AddStringToObject(root, "exe", rt->exe);
	cJSON_AddStringToObject(root, "interpreter", rt->path);
	cJSON_AddBoolToObject(root, "shared_library", rt->is_lib);
	cJSON_AddItemToObject(root, "load_bias", hex(rt->bias));
	cJSON_AddStringToObject(root, "python_version", rt->version);
	cJSON_AddStringToObject(root, "version_source", rt->version_how);
	cJSON_AddBoolToObject(root, "stripped", rt->stripped);
	cJSON_AddStringToObject(root, "offsets_source", pyoff_source_str(rt->off_src));
	cJSON_AddItemToObject(root, "runtime", hex(rt->runtime + rt->bias));
	if (rt->eval)
		cJSON_AddItemToObject(root, "eval_frame", hex(rt->eval + rt->bias));
	if (rt->opcode_targets) {
		cJSON_AddItemToObject(root, "opcode_targets", hex(rt->opcode_targets + rt->bias));
		cJSON_AddStringToObject(root, "opcode_targets_source", rt->opcode_targets_how);
		cJSON_AddItemToObject(root, "resume_handlers", handlers_json(rt));
	}
	if (rt->frame_clear)
		cJSON_AddStringToObject(root, "frame_end", rt->frame_clear_sym);
	cJSON_AddItemToObject(root, "probe_points", sites_json(rt));
	cJSON_AddNumberToObject(root, "usdt_probes", rt->nusdt);
	cJSON_AddBoolToObject(root, "usdt_function_return", rt->has_usdt_return);
	cJSON_AddItemToObject(root, "mechanisms", mechs_json(rt));
	return root;
}

static bool with_patterns(const struct config *cfg)
{
	return cfg->nexprs || cfg->pattern_file;
}

/* The text form: the interpreter first, then where the patterns are. */
static int info_text(const struct config *cfg, const struct pyrt *rt, char *err, size_t errlen)
{
	struct located l;
	int ret;

	print_text(rt, stdout);
	if (!with_patterns(cfg))
		return 0;
	ret = locate(cfg, rt, &l, err, errlen);
	if (!ret)
		located_text(stdout, &l);
	located_free(&l);
	return ret;
}

/* The JSON form: one document, printed once everything is known. */
static int info_json(const struct config *cfg, const struct pyrt *rt, char *err, size_t errlen)
{
	struct located l = { 0 };
	cJSON *root;
	int ret = 0;

	if (with_patterns(cfg))
		ret = locate(cfg, rt, &l, err, errlen);
	if (ret)
		goto cleanup;
	root = rt_json(rt);
	if (root && with_patterns(cfg))
		cJSON_AddItemToObject(root, "patterns", located_json(&l));
	json_emit(stdout, root, false);
cleanup:
	located_free(&l);
	return ret;
}

/* The target to describe: -p, or the command launched and held. */
static int target(const struct config *cfg, int *pid, bool *launched, char *err, size_t errlen)
{
	int ret;

	*pid = cfg->pid;
	*launched = false;
	ret = caps_require(false, *pid, err, errlen);
	if (ret || *pid)
		return ret;
	ret = launch_start(cfg->argv, pid, err, errlen);
	*launched = !ret;
	return ret;
}

int cmd_info(const struct config *cfg)
{
	struct pyrt *rt = NULL;
	char err[512] = "";
	int pid, ret;
	bool launched;

	ret = target(cfg, &pid, &launched, err, sizeof(err));
	if (!ret)
		ret = pyrt__from_pid(pid, &rt, err, sizeof(err));
	if (!ret) {
		hwbp_check(rt);
		ret = cfg->format == FMT_TEXT ? info_text(cfg, rt, err, sizeof(err)) :
						info_json(cfg, rt, err, sizeof(err));
	}
	if (ret)
		diag_error(cfg_diag(cfg), err);
	if (launched)
		launch_abort(pid);
	pyrt__free(rt);
	return ret ? 2 : 0;
}
