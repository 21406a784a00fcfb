// SPDX-License-Identifier: MIT
#include "probes/tracer.h"
#include "probes/breakpoints.h"
#include "probes/profiler.h"
#include "probes/tracer_priv.h"
#include "pshash.h"
#include "util/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* The program for each probe role. */
static struct bpf_program *role_prog(struct pyscope_bpf *s, enum probe_role r)
{
	switch (r) {
	case PROBE_EVAL_ENTRY:
		return s->progs.on_eval_entry;
	case PROBE_EVAL_RETURN:
		return s->progs.on_eval_return;
	case PROBE_RESUME:
		return s->progs.on_resume;
	case PROBE_FRAME_CLEAR:
		return s->progs.on_frame_clear;
	case PROBE_USDT_RETURN:
		return s->progs.on_frame_exit_cur;
	case PROBE_CODE_DEALLOC:
		return s->progs.on_code_dealloc;
	case PROBE_TYPE_DEALLOC:
		return s->progs.on_type_dealloc;
	default:
		return NULL;
	}
}

/*
 * Maps of features this run does not use shrink to one entry: the kernel
 * preallocates hash maps at load, ~10 ms per 65536 entries here, and they
 * are most of the start-up time.
 */
static void size_maps(struct tracer *t, const struct tracer_opts *o)
{
	struct pyscope_bpf *s = t->skel;

	if (!(o->prof_hz > 0 || o->prof_offcpu)) {
		bpf_map__set_max_entries(s->maps.samples, 1);
		bpf_map__set_max_entries(s->maps.awaits, 1);
	}
	if (!o->prof_offcpu)
		bpf_map__set_max_entries(s->maps.offcpu, 1);
	if (!o->path_depth)
		bpf_map__set_max_entries(s->maps.stacks_seen, 1);
	if (t->rt->off.frame_kind != PYFRAME_OBJECT)
		bpf_map__set_max_entries(s->maps.callers, 1);
}

/*
 * Load only the programs this plan attaches (verifying the others cost up
 * to 150 ms on 3.13), each for the kind of link it will get.
 */
static void select_programs(struct tracer *t)
{
	struct pyscope_bpf *s = t->skel;
	struct bpf_program *prog;
	size_t i;

	bpf_object__for_each_program(prog, s->obj) {
		bool used = false;

		for (i = 0; i < t->nprobes; i++)
			used |= role_prog(s, t->probes[i].role) == prog;
		bpf_program__set_autoload(prog, used);
		if (used && t->links.multi)
			ulink__prepare_multi(prog);
	}
	/* perf-event and tracepoint programs */
	bpf_program__set_autoload(s->progs.on_breakpoint, t->rt->mech[MECH_BREAKPOINT].ok);
	bpf_program__set_autoload(s->progs.on_cpu_sample, t->opts.prof_hz > 0);
	bpf_program__set_autoload(s->progs.on_switch, t->opts.prof_offcpu);
	bpf_program__set_autoload(s->progs.on_wakeup, t->opts.prof_offcpu);
	bpf_program__set_autoload(s->progs.on_fork, true);
	bpf_program__set_autoload(s->progs.on_exec, true);
}

/* With -vv, the verifier's statistics per program (log level 4). */
static void verifier_stats_setup(struct tracer *t)
{
	struct bpf_program *prog;
	size_t k = 0;

	bpf_object__for_each_program(prog, t->skel->obj) {
		if (k >= ARRAY_SIZE(t->vlog) || !bpf_program__autoload(prog))
			continue;
		bpf_program__set_log_buf(prog, t->vlog[k++], sizeof(t->vlog[0]));
		bpf_program__set_log_level(prog, 4);
	}
}

static void verifier_stats_print(struct tracer *t)
{
	struct bpf_program *prog;
	size_t k = 0;

	bpf_object__for_each_program(prog, t->skel->obj) {
		char *l, *save = NULL;

		if (k >= ARRAY_SIZE(t->vlog) || !bpf_program__autoload(prog))
			continue;
		for (l = strtok_r(t->vlog[k++], "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (str_starts(l, "processed") || str_starts(l, "verification time"))
				debug(t->verbose, "verifier: %s: %s", bpf_program__name(prog), l);
	}
}

static int maps_failed(char *err, size_t errlen)
{
	int ret = -errno;

	snprintf(err, errlen, "cannot fill the pattern maps: %s", strerror(-ret));
	return ret;
}

/* The key parameters of rules so far, by their index in the rule_keys map. */
struct rule_keys {
	const char *names[PS_MAX_RULE_KEYS];
	__u32 n;
};

/*
 * For a pattern a rule names (when rules are on): PS_NAME_RULE, and the
 * index + 1 of its key parameter in rule_keys (added if new) unless the
 * rule is keyed by self.
 */
static int rule_flags(struct tracer *t, const struct patterns *ps, size_t pidx,
		      struct rule_keys *rk, __u8 *v, char *err, size_t errlen)
{
	const char *key = "";
	__u64 h;
	__u32 k;

	if (!t->opts.rules || !patterns__in_rule(ps, pidx, &key))
		return 0;
	*v |= PS_NAME_RULE;
	if (!key[0])
		return 0;
	for (k = 0; k < rk->n; k++)
		if (!strcmp(rk->names[k], key))
			break;
	if (k == rk->n) {
		if (rk->n == PS_MAX_RULE_KEYS) {
			snprintf(err, errlen, "rules key calls by more than %d argument names",
				 PS_MAX_RULE_KEYS);
			return -E2BIG;
		}
		h = ps_hash_str(key);
		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.rule_keys), &k, &h, BPF_ANY))
			return maps_failed(err, errlen);
		rk->names[rk->n++] = key;
	}
	*v |= (__u8)((k + 1) << PS_NAME_KEY_SHIFT);
	return 0;
}

/*
 * The name maps: PS_NAME_PAT for every pattern, and rule_flags().  Two
 * patterns sharing a kernel name must agree on the key.
 */
static int set_names(struct tracer *t, const struct patterns *ps, char *err, size_t errlen)
{
	bool qual = t->rt->off.co_qualname != PYOFF_NONE;
	int names = bpf_map__fd(t->skel->maps.names);
	int classes = bpf_map__fd(t->skel->maps.classnames);
	struct rule_keys rk = { .n = 0 };
	size_t i;
	int ret;

	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		int fd = p->kind == PAT_FUNC ? names : classes;
		__u8 v = PS_NAME_PAT, old = 0;
		__u64 h;

		ret = rule_flags(t, ps, i, &rk, &v, err, errlen);
		if (ret)
			return ret;
		h = ps_hash_str(p->kind == PAT_FUNC ? pattern__kernel_name(p, qual) :
				pattern__class_name(p));
		if (!bpf_map_lookup_elem(fd, &h, &old)) {
			if ((old >> PS_NAME_KEY_SHIFT) && (v >> PS_NAME_KEY_SHIFT) &&
			    (old >> PS_NAME_KEY_SHIFT) != (v >> PS_NAME_KEY_SHIFT)) {
				snprintf(err, errlen, "pattern %s: another pattern with the same name "
					 "(%s) is keyed by another argument", p->name,
					 pattern__kernel_name(p, qual));
				return -EINVAL;
			}
			v |= old;
		}
		if (bpf_map_update_elem(fd, &h, &v, BPF_ANY))
			return maps_failed(err, errlen);
	}
	return 0;
}

/*
 * The ring buffer's size (8 MiB), or PYSCOPE_RINGBUF_KB (a power of two of
 * at least 4, for tests that need losses); call records wake the reader
 * once 1/16 of it is pending.
 */
static void ringbuf_size(struct tracer *t)
{
	const char *env = getenv("PYSCOPE_RINGBUF_KB");
	__u32 size = bpf_map__max_entries(t->skel->maps.events);
	unsigned long kb;

	if (env) {
		kb = strtoul(env, NULL, 10);
		if (kb >= 4 && kb <= (1ul << 20) && !(kb & (kb - 1)) &&
		    !bpf_map__set_max_entries(t->skel->maps.events, (__u32)(kb << 10)))
			size = (__u32)(kb << 10);
		debug(t->verbose, "ring buffer: %u bytes", size);
	}
	t->skel->rodata->call_wake_bytes = size / 16;
}

/* The programs' constants: the target, the interpreter's layout and addresses, the options. */
static void set_rodata(struct tracer *t, const struct patterns *ps, const struct tracer_opts *o)
{
	struct pyscope_bpf *s = t->skel;
	const struct pyrt *rt = t->rt;
	bool classes = false;
	size_t i;

	for (i = 0; i < ps->n; i++)
		classes |= ps->v[i].kind == PAT_CLASS;
	s->rodata->off = rt->off;
	s->bss->targ_tgid = (__u32)rt->pid;
	s->bss->pidns_dev = rt->pidns_dev;
	s->bss->pidns_ino = rt->pidns_ino;
	s->rodata->runtime_addr = rt->runtime + rt->bias;
	s->rodata->cell_type_addr = rt->cell_type ? rt->cell_type + rt->bias : 0;
	s->rodata->path_depth = o->path_depth > PS_MAX_DEPTH ? PS_MAX_DEPTH : o->path_depth;
	s->rodata->capture_on = o->ncapture > 0;
	s->rodata->str_type_addr = rt->str_type ? rt->str_type + rt->bias : 0;
	s->rodata->long_type_addr = rt->long_type ? rt->long_type + rt->bias : 0;
	s->rodata->eval_lo = rt->eval ? rt->eval + rt->bias : 0;
	s->rodata->eval_hi = rt->eval ? rt->eval + rt->bias + rt->eval_size : 0;
	s->rodata->hash_init = ps_hash_str("__init__");
	s->rodata->hash_new = ps_hash_str("__new__");
	s->rodata->class_patterns = classes;
	s->rodata->capture_args = o->capture_args;
	s->rodata->prof_on = o->prof_hz > 0 || o->prof_offcpu;
	s->rodata->prof_all = o->prof_all;
	s->rodata->prof_offcpu = o->prof_offcpu;
	s->rodata->prof_sampled = o->prof_sampled;
	s->rodata->rules_on = o->rules;
}

/* Load the programs the plan and the options need (with -vv, their verifier statistics). */
static int load(struct tracer *t, char *err, size_t errlen)
{
	bool stats = t->verbose >= 2 && !getenv("PYSCOPE_VERIFIER_LOG");
	int ret;

	select_programs(t);
	if (stats)
		verifier_stats_setup(t);
	ret = pyscope_bpf__load(t->skel);
	if (!ret && stats)
		verifier_stats_print(t);
	if (ret)
		snprintf(err, errlen, "cannot load the BPF programs: %s%s", strerror(-ret),
			 ret == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
	return ret;
}

/* The names of the parameters whose values are captured. */
static int set_capnames(struct tracer *t, const struct tracer_opts *o, char *err, size_t errlen)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < (size_t)o->ncapture; i++) {
		__u64 h = ps_hash_str(o->capture[i]);
		__u8 one = 1;

		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.capnames), &h, &one, BPF_ANY))
			ret = -errno;
	}
	if (ret)
		snprintf(err, errlen, "cannot fill the pattern maps: %s", strerror(-ret));
	return ret;
}

/* How uprobes are attached here, said with -v. */
static void links_choose(struct tracer *t)
{
	t->links.multi = ulink__multi_supported();
	if (t->links.multi)
		debug(t->verbose, "attach: uprobe_multi links, one per program");
	else
		debug(t->verbose, "attach: this kernel has no uprobe_multi links (Linux 6.6+): one "
		      "perf-event uprobe per probe; detaching waits a grace period per probe");
}

int tracer__open(struct tracer **out, const struct pyrt *rt, const struct patterns *ps,
		 const struct plan *plan, struct model *m, const struct tracer_opts *o, char *err,
		 size_t errlen)
{
	struct tracer *t;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->m = m;
	t->rt = rt;
	t->plan = *plan;
	t->opts = *o;
	t->verbose = o->verbose;
	t->ncpu = libbpf_num_possible_cpus();
	if (t->ncpu <= 0) {
		ret = -EINVAL;
		snprintf(err, errlen, "cannot count CPUs");
		goto fail;
	}
	t->nprobes = plan_probes(rt, plan, t->probes);
	links_choose(t);
	t->skel = pyscope_bpf__open();
	if (!t->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	set_rodata(t, ps, o);
	ringbuf_size(t);
	size_maps(t, o);
	ret = load(t, err, errlen);
	if (!ret)
		ret = set_names(t, ps, err, errlen);
	if (!ret)
		ret = set_capnames(t, o, err, errlen);
	if (ret)
		goto fail;
	*out = t;
	return 0;
fail:
	tracer__close(t);
	return ret;
}

/* Which attach step a probe belongs to (enum attach_what). */
static unsigned role_step(enum probe_role r)
{
	switch (r) {
	case PROBE_EVAL_ENTRY:
	case PROBE_RESUME:
		return ATTACH_ENTRY;
	case PROBE_EVAL_RETURN:
	case PROBE_FRAME_CLEAR:
	case PROBE_USDT_RETURN:
		return ATTACH_EXIT;
	default:
		return ATTACH_DEALLOC;
	}
}

/* The target's forks and exec (tracepoints), once. */
static int attach_proc(struct tracer *t, char *err, size_t errlen)
{
	int ret;

	if (t->fork_link)
		return 0;
	t->fork_link = bpf_program__attach(t->skel->progs.on_fork);
	t->exec_link = t->fork_link ? bpf_program__attach(t->skel->progs.on_exec) : NULL;
	if (t->exec_link)
		return 0;
	ret = -errno;
	snprintf(err, errlen, "cannot attach to the sched_process_fork/exec tracepoints: %s",
		 strerror(-ret));
	bpf_link__destroy(t->fork_link);
	t->fork_link = NULL;
	return ret;
}

/* The plan's probes of the given kinds as uprobes: up[i] for sel[i]; the count, or -errno. */
static int uprobes_of(struct tracer *t, unsigned what, const struct probe_point **sel,
		      struct ulink_probe *up, char *err, size_t errlen)
{
	size_t i, n = 0;

	for (i = 0; i < t->nprobes; i++) {
		const struct probe_point *p = &t->probes[i];

		/* the frame-end probe only where the plan times calls */
		if (role_step(p->role) == ATTACH_EXIT && t->plan.exit == EXIT_NONE)
			continue;
		if (role_step(p->role) & what)
			sel[n++] = p;
	}
	for (i = 0; i < n; i++) {
		const struct probe_point *p = sel[i];
		uint64_t off = 0, ref = 0;

		if (elf_file__vaddr_to_off(t->rt->ef, p->vaddr, &off) ||
		    (p->sema && elf_file__vaddr_to_off(t->rt->ef, p->sema, &ref))) {
			snprintf(err, errlen, "%s: address 0x%lx is not in the file", p->what,
				 (unsigned long)p->vaddr);
			return -EINVAL;
		}
		up[i] = (struct ulink_probe){ .prog = role_prog(t->skel, p->role), .off = off,
					      .ref_ctr_off = ref, .ret = p->ret, .what = p->what,
					      .cookie = p->cookie };
	}
	return (int)n;
}

int tracer__attach(struct tracer *t, unsigned what, char *err, size_t errlen)
{
	struct ulink_probe up[PLAN_MAX_PROBES];
	const struct probe_point *sel[PLAN_MAX_PROBES];
	size_t i, n;
	int ret;

	if (what & ATTACH_PROC) {
		ret = attach_proc(t, err, errlen);
		if (ret)
			return ret;
	}
	if (!(what & ~ATTACH_PROC))
		return 0;
	if (!t->nprobes) {
		snprintf(err, errlen, "mechanism %s is not handled by the uprobe tracer",
			 mech_name(t->plan.mech));
		return -ENOTSUP;
	}
	ret = uprobes_of(t, what, sel, up, err, errlen);
	if (ret <= 0)
		return ret;
	n = (size_t)ret;
	ret = ulink__attach(&t->links, t->rt->open_path, t->rt->pid, up, n, err, errlen);
	for (i = 0; !ret && i < n; i++) {
		debug(t->verbose, "attached %s at %s+0x%lx", sel[i]->what, t->rt->path,
		      (unsigned long)up[i].off);
		if (role_step(sel[i]->role) == ATTACH_EXIT)
			t->skel->bss->timing_on = 1;
	}
	return ret;
}

int tracer__adopt(struct tracer *t, const struct pyrt *rt, struct model *m)
{
	if (t->links.nfds || t->links.nlinks || t->fork_link || t->nwatches || t->rb ||
	    t->sample_fds || t->switch_link)
		return -EBUSY;
	/* the programs' constants (addresses, offsets) were set from t->rt */
	if (rt->ef != t->rt->ef || rt->bias != t->rt->bias || rt->runtime != t->rt->runtime)
		return -EINVAL;
	t->rt = rt;
	t->m = m;
	t->skel->bss->pidns_dev = rt->pidns_dev;
	t->skel->bss->pidns_ino = rt->pidns_ino;
	t->skel->bss->targ_tgid = (__u32)rt->pid;
	return 0;
}

void tracer__detach(struct tracer *t)
{
	uint64_t t0 = now_ns();
	int n;

	profiler__stop(t);
	bpf_link__destroy(t->exec_link);
	bpf_link__destroy(t->fork_link);
	t->exec_link = t->fork_link = NULL;
	n = ulink__detach(&t->links);
	if (n && t->skel->bss)
		debug(t->verbose, "frame register: %s; agreeing checks per handler: %llu %llu "
		      "%llu %llu", t->skel->bss->freg_off ? "turned off (disagreed once)" : "in use",
		      (unsigned long long)t->skel->bss->freg_agree[0],
		      (unsigned long long)t->skel->bss->freg_agree[1],
		      (unsigned long long)t->skel->bss->freg_agree[2],
		      (unsigned long long)t->skel->bss->freg_agree[3]);

	if (n) {
		uint64_t runs, ns;
		struct rusage ru;

		ulink__run_stats(t->skel->obj, &runs, &ns);
		if (runs)
			debug(t->verbose, "bpf: %llu program runs, %.1f ns each "
			      "(kernel.bpf_stats_enabled)", (unsigned long long)runs,
			      (double)ns / (double)runs);
		getrusage(RUSAGE_SELF, &ru);
		debug(t->verbose, "detach: %d link(s) removed in %.1f ms; peak RSS %ld KiB", n,
		      (double)(now_ns() - t0) / 1e6, ru.ru_maxrss);
	}
}

void tracer__close(struct tracer *t)
{
	if (!t)
		return;
	breakpoints__unwatch_all(t);
	tracer__detach(t);
	ring_buffer__free(t->rb);
	pyscope_bpf__destroy(t->skel);
	free(t);
}
