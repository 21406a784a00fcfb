// SPDX-License-Identifier: MIT
#include "probes/tracer.h"
#include "pshash.h"
#include "pyscope.skel.h"
#include "probes/ulink.h"
#include "util/util.h"
#include "model/model_samples.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_WATCHES 4		/* x86 has 4 debug registers per CPU */
#define MAX_CHILDREN 64		/* children announced between two loop turns */

/* One watched byte: a breakpoint event per CPU, each running on_breakpoint. */
struct watch {
	uint64_t addr;
	int ncpu;
	int *fds;
	struct bpf_link **links;
};

struct tracer {
	struct pyscope_bpf *skel;
	struct ulinks links;
	struct probe_point probes[PLAN_MAX_PROBES];
	size_t nprobes;
	/* profile: a CPU-clock event per CPU, and the sched_switch link */
	int *sample_fds;
	struct bpf_link **sample_links;
	struct bpf_link *switch_link, *wakeup_link;
	/* the target's forks and exec */
	struct bpf_link *fork_link, *exec_link;
	int children[MAX_CHILDREN];
	uint64_t children_ts[MAX_CHILDREN];
	size_t nchildren;
	uint32_t children_dropped;
	struct tracer_opts opts;
	struct watch watches[MAX_WATCHES];
	int nwatches;
	struct ring_buffer *rb;
	struct model *m;
	const struct pyrt *rt;
	struct plan plan;
	int ncpu;
	int verbose;
	char vlog[12][512];		/* verifier statistics, with -vv */
};

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
 * Load only the programs this plan attaches (verifying the others cost up
 * to 150 ms on 3.13), each for the kind of link it will get.
 */
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
			ulink_prepare_multi(prog);
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

/*
 * The name maps: PS_NAME_PAT for every pattern, PS_NAME_RULE for those a
 * rule names when rules are on, with the index of the function's key
 * parameter in rule_keys.  Two patterns sharing a kernel name must agree
 * on the key.
 */
static int set_names(struct tracer *t, const struct patterns *ps, char *err, size_t errlen)
{
	bool qual = t->rt->off.co_qualname != PYOFF_NONE;
	int names = bpf_map__fd(t->skel->maps.names);
	int classes = bpf_map__fd(t->skel->maps.classnames);
	int keys = bpf_map__fd(t->skel->maps.rule_keys);
	const char *keynames[PS_MAX_RULE_KEYS];
	__u32 nkeys = 0;
	size_t i;

	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		const char *key = "";
		int fd = p->kind == PAT_FUNC ? names : classes;
		__u8 v = PS_NAME_PAT, old = 0;
		__u32 k;
		__u64 h;

		if (t->opts.rules && patterns__in_rule(ps, i, &key)) {
			v |= PS_NAME_RULE;
			for (k = 0; key[0] && k < nkeys; k++)
				if (!strcmp(keynames[k], key))
					break;
			if (key[0] && k == nkeys) {
				if (nkeys == PS_MAX_RULE_KEYS) {
					snprintf(err, errlen, "rules key calls by more than %d argument "
						 "names", PS_MAX_RULE_KEYS);
					return -E2BIG;
				}
				h = ps_hash_str(key);
				if (bpf_map_update_elem(keys, &k, &h, BPF_ANY))
					goto fail;
				keynames[nkeys++] = key;
			}
			if (key[0])
				v |= (__u8)((k + 1) << PS_NAME_KEY_SHIFT);
		}
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
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot fill the pattern maps: %s", strerror(errno));
	return -errno;
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

int tracer__open(struct tracer **out, const struct pyrt *rt, const struct patterns *ps,
		 const struct plan *plan, struct model *m, const struct tracer_opts *o, char *err,
		 size_t errlen)
{
	struct tracer *t;
	bool classes = false;
	size_t i;
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
	t->links.multi = ulink_multi_supported();
	if (t->links.multi)
		debug(t->verbose, "attach: uprobe_multi links, one per program");
	else
		debug(t->verbose, "attach: this kernel has no uprobe_multi links (Linux 6.6+): one "
		      "perf-event uprobe per probe; detaching waits a grace period per probe");
	t->skel = pyscope_bpf__open();
	if (!t->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < ps->n; i++)
		classes |= ps->v[i].kind == PAT_CLASS;
	t->skel->rodata->off = rt->off;
	t->skel->bss->targ_tgid = (__u32)rt->pid;
	t->skel->bss->pidns_dev = rt->pidns_dev;
	t->skel->bss->pidns_ino = rt->pidns_ino;
	t->skel->rodata->runtime_addr = rt->runtime + rt->bias;
	t->skel->rodata->cell_type_addr = rt->cell_type ? rt->cell_type + rt->bias : 0;
	t->skel->rodata->path_depth = o->path_depth > PS_MAX_DEPTH ? PS_MAX_DEPTH : o->path_depth;
	t->skel->rodata->capture_on = o->ncapture > 0;
	t->skel->rodata->str_type_addr = rt->str_type ? rt->str_type + rt->bias : 0;
	t->skel->rodata->long_type_addr = rt->long_type ? rt->long_type + rt->bias : 0;
	t->skel->rodata->eval_lo = rt->eval ? rt->eval + rt->bias : 0;
	t->skel->rodata->eval_hi = rt->eval ? rt->eval + rt->bias + rt->eval_size : 0;
	t->skel->rodata->hash_init = ps_hash_str("__init__");
	t->skel->rodata->hash_new = ps_hash_str("__new__");
	t->skel->rodata->class_patterns = classes;
	t->skel->rodata->capture_args = o->capture_args;
	t->skel->rodata->prof_on = o->prof_hz > 0 || o->prof_offcpu;
	t->skel->rodata->prof_all = o->prof_all;
	t->skel->rodata->prof_offcpu = o->prof_offcpu;
	t->skel->rodata->prof_sampled = o->prof_sampled;
	t->skel->rodata->rules_on = o->rules;
	ringbuf_size(t);
	size_maps(t, o);
	select_programs(t);
	if (t->verbose >= 2 && !getenv("PYSCOPE_VERIFIER_LOG"))
		verifier_stats_setup(t);
	ret = pyscope_bpf__load(t->skel);
	if (!ret && t->verbose >= 2 && !getenv("PYSCOPE_VERIFIER_LOG"))
		verifier_stats_print(t);
	if (ret) {
		snprintf(err, errlen, "cannot load the BPF programs: %s%s", strerror(-ret),
			 ret == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
		goto fail;
	}
	ret = set_names(t, ps, err, errlen);
	if (ret)
		goto fail;
	for (i = 0; !ret && i < (size_t)o->ncapture; i++) {
		__u64 h = ps_hash_str(o->capture[i]);
		__u8 one = 1;

		if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.capnames), &h, &one, BPF_ANY))
			ret = -errno;
	}
	if (ret) {
		snprintf(err, errlen, "cannot fill the pattern maps: %s", strerror(-ret));
		goto fail;
	}
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

int tracer__attach(struct tracer *t, unsigned what, char *err, size_t errlen)
{
	struct ulink_probe up[PLAN_MAX_PROBES];
	const struct probe_point *sel[PLAN_MAX_PROBES];
	size_t i, n = 0;
	int ret;

	if ((what & ATTACH_PROC) && !t->fork_link) {
		t->fork_link = bpf_program__attach(t->skel->progs.on_fork);
		t->exec_link = t->fork_link ? bpf_program__attach(t->skel->progs.on_exec) : NULL;
		if (!t->exec_link) {
			ret = -errno;
			snprintf(err, errlen, "cannot attach to the sched_process_fork/exec "
				 "tracepoints: %s", strerror(-ret));
			bpf_link__destroy(t->fork_link);
			t->fork_link = NULL;
			return ret;
		}
	}
	if (!(what & ~ATTACH_PROC))
		return 0;
	if (!t->nprobes) {
		snprintf(err, errlen, "mechanism %s is not handled by the uprobe tracer",
			 mech_name(t->plan.mech));
		return -ENOTSUP;
	}
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
	if (!n)
		return 0;
	ret = ulinks_attach(&t->links, t->rt->open_path, t->rt->pid, up, n, err, errlen);
	for (i = 0; !ret && i < n; i++) {
		debug(t->verbose, "attached %s at %s+0x%lx", sel[i]->what, t->rt->path,
		      (unsigned long)up[i].off);
		if (role_step(sel[i]->role) == ATTACH_EXIT)
			t->skel->bss->timing_on = 1;
	}
	return ret;
}

uint64_t tracer__bp_starts(const struct tracer *t)
{
	return __atomic_load_n(&t->skel->bss->bp_starts, __ATOMIC_RELAXED);
}

static void watch_free(struct watch *w)
{
	int c;

	for (c = 0; c < w->ncpu; c++) {
		bpf_link__destroy(w->links[c]);
		if (w->fds[c] >= 0)
			close(w->fds[c]);
	}
	free(w->fds);
	free(w->links);
	memset(w, 0, sizeof(*w));
}

int tracer__watch(struct tracer *t, uint64_t addr, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	struct watch *w;
	int c, ret = 0, opened = 0;
	__u8 on = 1;

	for (c = 0; c < t->nwatches; c++)
		if (t->watches[c].addr == addr)
			return 0;
	if (t->nwatches == MAX_WATCHES) {
		snprintf(err, errlen, "all %d hardware breakpoints are in use", MAX_WATCHES);
		return -ENOSPC;
	}
	w = &t->watches[t->nwatches];
	w->fds = malloc((size_t)t->ncpu * sizeof(*w->fds));
	w->links = calloc((size_t)t->ncpu, sizeof(*w->links));
	if (!w->fds || !w->links) {
		ret = -ENOMEM;
		goto fail;
	}
	w->addr = addr;
	w->ncpu = t->ncpu;
	for (c = 0; c < t->ncpu; c++)
		w->fds[c] = -1;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_BREAKPOINT;
	attr.size = sizeof(attr);
	attr.bp_type = HW_BREAKPOINT_RW;	/* x86 has no read-only watch */
	attr.bp_addr = addr;
	attr.bp_len = HW_BREAKPOINT_LEN_1;
	attr.sample_period = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	/*
	 * Per CPU, for every process: covers the target's threads, present and
	 * future; the BPF program filters on the target's tgid.
	 */
	for (c = 0; c < t->ncpu; c++) {
		w->fds[c] = (int)syscall(SYS_perf_event_open, &attr, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		if (w->fds[c] < 0) {
			if (errno == ENODEV)	/* offline CPU */
				continue;
			ret = -errno;
			snprintf(err, errlen, "cannot set a hardware breakpoint on CPU %d: %s%s", c,
				 strerror(errno), errno == ENOSPC ? " (no free debug register)" : "");
			goto fail;
		}
		w->links[c] = bpf_program__attach_perf_event(t->skel->progs.on_breakpoint,
							      w->fds[c]);
		if (!w->links[c]) {
			ret = -errno;
			snprintf(err, errlen, "cannot attach to a breakpoint event: %s",
				 strerror(-ret));
			goto fail;
		}
		opened++;
	}
	if (!opened) {
		ret = -ENODEV;
		snprintf(err, errlen, "no CPU accepted a breakpoint");
		goto fail;
	}
	t->nwatches++;
	t->skel->bss->bp_active = on;
	debug(t->verbose, "watching 0x%lx on %d CPUs", (unsigned long)addr, opened);
	return 0;
fail:
	if (!w->fds)
		w->ncpu = 0;
	watch_free(w);
	return ret;
}

void tracer__unwatch(struct tracer *t, uint64_t addr)
{
	int i;

	for (i = 0; i < t->nwatches; i++) {
		if (t->watches[i].addr != addr)
			continue;
		watch_free(&t->watches[i]);
		t->watches[i] = t->watches[t->nwatches - 1];
		memset(&t->watches[t->nwatches - 1], 0, sizeof(t->watches[0]));
		t->nwatches--;
		return;
	}
}

int tracer__bp_code(struct tracer *t, uint64_t code, bool on)
{
	int fd = bpf_map__fd(t->skel->maps.bp_codes);
	__u8 one = 1;

	if (on)
		return bpf_map_update_elem(fd, &code, &one, BPF_ANY) ? -errno : 0;
	bpf_map_delete_elem(fd, &code);
	return 0;
}

int tracer__free_watches(const struct tracer *t)
{
	return MAX_WATCHES - t->nwatches;
}

/* Lower a code's kind in the kernel once the model has ruled a pattern out. */
static void lower_kind(struct tracer *t, uint64_t addr, uint32_t id, uint32_t kind)
{
	int fd = bpf_map__fd(t->skel->maps.codes);
	struct ps_code_ent ent;

	if (bpf_map_lookup_elem(fd, &addr, &ent) || ent.id != id)
		return;
	ent.kind = (__u8)kind;
	bpf_map_update_elem(fd, &addr, &ent, BPF_EXIST);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct tracer *t = ctx;
	uint32_t kind = 0;
	const struct ps_ev_code *ev = data;
	const struct ps_ev_proc *pe = data;
	int ret;

	if (len >= sizeof(*pe) && pe->type == PS_EV_FORK) {
		if (t->nchildren < MAX_CHILDREN) {
			t->children_ts[t->nchildren] = pe->ts_ns;
			t->children[t->nchildren++] = (int)pe->pid;
		} else
			t->children_dropped++;
		return 0;
	}
	if (len >= sizeof(*pe) && pe->type == PS_EV_EXEC)
		return 0;	/* the loop reads target_execd */
	ret = model__add_record(t->m, data, len, &kind);
	if (ret >= 0 && t->opts.on_record)
		t->opts.on_record(t->opts.record_ctx, data, len);
	if (ret < 0 || ((const struct ps_ev_code *)data)->type != PS_EV_CODE)
		return 0;
	if (t->verbose) {
		const struct code_info *ci = model__code(t->m, ev->code_id);

		debug(t->verbose, "code %u: %s (%s) module '%s' %s:%u kind %u -> %u", ev->code_id,
		      ci ? ci->qualname : ev->qualname, ci && ci->qual_known ? "known" : "unresolved",
		      ev->module, ev->filename, ev->firstlineno, ev->kind, ret ? kind : ev->kind);
	}
	if (ret == 1)
		lower_kind(t, ev->code_addr, ev->code_id, kind);
	return 0;
}

int tracer__poll(struct tracer *t, int timeout_ms, int wake_fd)
{
	struct pollfd pfd[2];
	int ret, n = 1;

	if (!t->rb) {
		t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_event, t, NULL);
		if (!t->rb)
			return -errno;
	}
	pfd[0] = (struct pollfd){ .fd = ring_buffer__epoll_fd(t->rb), .events = POLLIN };
	if (wake_fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
	ret = poll(pfd, (nfds_t)n, timeout_ms);
	if (ret < 0 && errno != EINTR)
		return -errno;
	ret = ring_buffer__consume(t->rb);
	if (ret < 0 && ret != -EINTR)
		return ret;
	return n > 1 && (pfd[1].revents & (POLLIN | POLLHUP)) ? 1 : 0;
}

/* Copy the sample and await maps into the model (they are small). */
static void refresh_samples(struct tracer *t)
{
	int sfd = bpf_map__fd(t->skel->maps.samples), afd = bpf_map__fd(t->skel->maps.awaits);
	struct ps_sample_key k, *prev = NULL;
	struct ps_await_key ak, *aprev = NULL;

	model__clear_samples(t->m);
	while (!bpf_map_get_next_key(sfd, prev, &k)) {
		struct ps_sample_val v;

		if (!bpf_map_lookup_elem(sfd, &k, &v))
			model__add_sample(t->m, &k, &v);
		prev = &k;
	}
	while (!bpf_map_get_next_key(afd, aprev, &ak)) {
		__u64 n;

		if (!bpf_map_lookup_elem(afd, &ak, &n))
			model__add_await(t->m, &ak, n);
		aprev = &ak;
	}
}

int tracer__refresh(struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.stats), cfd = bpf_map__fd(t->skel->maps.counters);
	uint32_t n = model__max_agg(t->m), i;
	struct ps_stats *st;
	__u64 *per;
	int ret = 0;

	st = malloc(sizeof(*st));
	per = calloc((size_t)t->ncpu, sizeof(*per));
	if (!st || !per) {
		ret = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		if (!model__agg(t->m, i))
			continue;
		if (bpf_map_lookup_elem(fd, &i, st))
			continue;
		model__set_stats(t->m, i, st);
	}
	if (t->opts.prof_hz || t->opts.prof_offcpu)
		refresh_samples(t);
	for (i = 0; i < PS_CNT_MAX; i++) {
		__u64 sum = 0;
		int c;

		if (bpf_map_lookup_elem(cfd, &i, per))
			continue;
		for (c = 0; c < t->ncpu; c++)
			sum += per[c];
		model__set_counter(t->m, i, sum);
	}
cleanup:
	free(st);
	free(per);
	return ret;
}

int tracer__profile(struct tracer *t, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	int c;

	if (t->opts.prof_hz) {
		t->sample_fds = malloc((size_t)t->ncpu * sizeof(int));
		t->sample_links = calloc((size_t)t->ncpu, sizeof(*t->sample_links));
		if (!t->sample_fds || !t->sample_links)
			return -ENOMEM;
		memset(&attr, 0, sizeof(attr));
		attr.type = PERF_TYPE_SOFTWARE;
		attr.size = sizeof(attr);
		attr.config = PERF_COUNT_SW_CPU_CLOCK;
		attr.freq = 1;
		attr.sample_freq = t->opts.prof_hz;
		for (c = 0; c < t->ncpu; c++) {
			t->sample_fds[c] = (int)syscall(SYS_perf_event_open, &attr, -1, c, -1,
							PERF_FLAG_FD_CLOEXEC);
			if (t->sample_fds[c] < 0) {
				if (errno == ENODEV)
					continue;
				snprintf(err, errlen, "cannot open a CPU clock on CPU %d: %s", c,
					 strerror(errno));
				return -errno;
			}
			t->sample_links[c] = bpf_program__attach_perf_event(
				t->skel->progs.on_cpu_sample, t->sample_fds[c]);
			if (!t->sample_links[c]) {
				snprintf(err, errlen, "cannot attach the sampler: %s", strerror(errno));
				return -errno;
			}
		}
	}
	if (t->opts.prof_offcpu) {
		t->switch_link = bpf_program__attach(t->skel->progs.on_switch);
		if (!t->switch_link) {
			snprintf(err, errlen, "cannot attach to sched_switch: %s", strerror(errno));
			return -errno;
		}
		t->wakeup_link = bpf_program__attach(t->skel->progs.on_wakeup);
		if (!t->wakeup_link) {
			snprintf(err, errlen, "cannot attach to sched_wakeup: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static void profile_stop(struct tracer *t)
{
	int c;

	for (c = 0; t->sample_fds && c < t->ncpu; c++) {
		bpf_link__destroy(t->sample_links[c]);
		if (t->sample_fds[c] >= 0)
			close(t->sample_fds[c]);
	}
	free(t->sample_fds);
	free(t->sample_links);
	t->sample_fds = NULL;
	t->sample_links = NULL;
	bpf_link__destroy(t->switch_link);
	bpf_link__destroy(t->wakeup_link);
	t->switch_link = NULL;
	t->wakeup_link = NULL;
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

void tracer__procs(const struct tracer *t, uint32_t *nforks, bool *execd)
{
	*nforks = t->skel->bss->nforks;
	*execd = t->skel->bss->target_execd;
}

size_t tracer__take_children(struct tracer *t, int *pids, uint64_t *ts, size_t max,
			     uint32_t *dropped)
{
	size_t n = t->nchildren < max ? t->nchildren : max;

	memcpy(pids, t->children, n * sizeof(*pids));
	memcpy(ts, t->children_ts, n * sizeof(*ts));
	memmove(t->children, t->children + n, (t->nchildren - n) * sizeof(*pids));
	memmove(t->children_ts, t->children_ts + n, (t->nchildren - n) * sizeof(*ts));
	t->nchildren -= n;
	*dropped = t->children_dropped;
	t->children_dropped = 0;
	return n;
}

void tracer__detach(struct tracer *t)
{
	uint64_t t0 = now_ns();
	int n;

	profile_stop(t);
	bpf_link__destroy(t->exec_link);
	bpf_link__destroy(t->fork_link);
	t->exec_link = t->fork_link = NULL;
	n = ulinks_detach(&t->links);
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

		ulink_run_stats(t->skel->obj, &runs, &ns);
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
	while (t->nwatches)
		tracer__unwatch(t, t->watches[0].addr);
	tracer__detach(t);
	ring_buffer__free(t->rb);
	pyscope_bpf__destroy(t->skel);
	free(t);
}
