// SPDX-License-Identifier: MIT
#include "mech_uprobe.h"
#include "pshash.h"
#include "pyscope.skel.h"
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_LINKS 16
#define MAX_WATCHES 4		/* x86 has 4 debug registers per CPU */

/* One watched byte: a breakpoint event per CPU, each running on_breakpoint. */
struct watch {
	uint64_t addr;
	int ncpu;
	int *fds;
	struct bpf_link **links;
};

struct tracer {
	struct pyscope_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	/* profile: a CPU-clock event per CPU, and the sched_switch link */
	int *sample_fds;
	struct bpf_link **sample_links;
	struct bpf_link *switch_link;
	struct tracer_opts opts;
	struct watch watches[MAX_WATCHES];
	int nwatches;
	struct ring_buffer *rb;
	struct model *m;
	const struct pyrt *rt;
	struct plan plan;
	int ncpu;
	int verbose;
};

static int set_names(struct tracer *t, const struct patterns *ps)
{
	bool qual = t->rt->off.co_qualname != PYOFF_NONE;
	int names = bpf_map__fd(t->skel->maps.names);
	int classes = bpf_map__fd(t->skel->maps.classnames);
	__u8 one = 1;
	size_t i;

	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		__u64 h;
		int err;

		if (p->kind == PAT_FUNC) {
			h = ps_hash_str(pattern_kernel_name(p, qual));
			err = bpf_map_update_elem(names, &h, &one, BPF_ANY);
		} else {
			h = ps_hash_str(pattern_class_name(p));
			err = bpf_map_update_elem(classes, &h, &one, BPF_ANY);
		}
		if (err)
			return -errno;
	}
	return 0;
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
	t->skel = pyscope_bpf__open();
	if (!t->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	for (i = 0; i < ps->n; i++)
		classes |= ps->v[i].kind == PAT_CLASS;
	t->skel->rodata->off = rt->off;
	t->skel->rodata->targ_tgid = (__u32)rt->pid;
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
	/* load only what the plan can attach: each program costs verification time */
	bpf_program__set_autoload(t->skel->progs.on_eval_entry, plan->mech == MECH_EVAL);
	bpf_program__set_autoload(t->skel->progs.on_eval_return, plan->exit == EXIT_URETPROBE);
	bpf_program__set_autoload(t->skel->progs.on_resume, plan->mech == MECH_RESUME);
	bpf_program__set_autoload(t->skel->progs.on_frame_clear, plan->exit == EXIT_FRAME_CLEAR);
	bpf_program__set_autoload(t->skel->progs.on_frame_exit_cur,
				  plan->exit == EXIT_USDT_RETURN);
	bpf_program__set_autoload(t->skel->progs.on_breakpoint, rt->mech[MECH_BREAKPOINT].ok);
	bpf_program__set_autoload(t->skel->progs.on_cpu_sample, o->prof_hz > 0);
	bpf_program__set_autoload(t->skel->progs.on_switch, o->prof_offcpu);
	t->skel->rodata->prof_on = o->prof_hz > 0 || o->prof_offcpu;
	t->skel->rodata->prof_all = o->prof_all;
	t->skel->rodata->prof_offcpu = o->prof_offcpu;
	if (getenv("PYSCOPE_VERIFIER_STATS")) {
		/* verifier statistics per program, for tuning load time */
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, t->skel->obj) {
			static char logs[16][4096];
			static int nlog;

			if (nlog < 16) {
				bpf_program__set_log_buf(prog, logs[nlog++], sizeof(logs[0]));
				bpf_program__set_log_level(prog, 4);
			}
		}
	}
	ret = pyscope_bpf__load(t->skel);
	if (!ret && getenv("PYSCOPE_VERIFIER_STATS")) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, t->skel->obj) {
			size_t sz = 0;
			const char *log = bpf_program__log_buf(prog, &sz);

			if (log && log[0])
				fprintf(stderr, "%s: %s", bpf_program__name(prog), log);
		}
	}
	if (ret) {
		snprintf(err, errlen, "cannot load the BPF programs: %s%s", strerror(-ret),
			 ret == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
		goto fail;
	}
	ret = set_names(t, ps);
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

struct probe {
	uint64_t vaddr;
	struct bpf_program *prog;
	bool ret;
	uint64_t sema;		/* USDT semaphore vaddr, 0 if none */
	const char *what;
};

static int attach_one(struct tracer *t, const struct probe *p, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = p->ret);
	uint64_t off, sema_off = 0;
	struct bpf_link *l;

	if (t->nlinks >= MAX_LINKS) {
		snprintf(err, errlen, "too many probes");
		return -E2BIG;
	}
	if (elf_file__vaddr_to_off(t->rt->ef, p->vaddr, &off) ||
	    (p->sema && elf_file__vaddr_to_off(t->rt->ef, p->sema, &sema_off))) {
		snprintf(err, errlen, "%s: address 0x%lx is not in the file", p->what,
			 (unsigned long)p->vaddr);
		return -EINVAL;
	}
	opts.ref_ctr_offset = sema_off;
	l = bpf_program__attach_uprobe_opts(p->prog, t->rt->pid, t->rt->open_path, off, &opts);
	if (!l) {
		int e = -errno;

		snprintf(err, errlen, "cannot attach %s at %s+0x%lx: %s%s", p->what, t->rt->path,
			 (unsigned long)off, strerror(-e),
			 e == -EPERM || e == -EACCES ? " (uprobes need CAP_SYS_ADMIN, or root)" :
			 "");
		return e;
	}
	debug(t->verbose, "attached %s at %s+0x%lx", p->what, t->rt->path, (unsigned long)off);
	t->links[t->nlinks++] = l;
	return 0;
}

int tracer__attach(struct tracer *t, unsigned what, char *err, size_t errlen)
{
	struct pyscope_bpf *s = t->skel;
	const struct pyrt *rt = t->rt;
	struct probe probes[MAX_LINKS];
	int n = 0, i, ret, first = t->nlinks;

	if (t->plan.mech == MECH_EVAL) {
		if (what & ATTACH_ENTRY)
			probes[n++] = (struct probe){ rt->eval, s->progs.on_eval_entry, false, 0,
						      "_PyEval_EvalFrameDefault entry" };
		if ((what & ATTACH_EXIT) && t->plan.exit == EXIT_URETPROBE)
			probes[n++] = (struct probe){ rt->eval, s->progs.on_eval_return, true, 0,
						      "_PyEval_EvalFrameDefault return" };
	} else if (t->plan.mech == MECH_RESUME) {
		for (i = 0; (what & ATTACH_ENTRY) && i < (int)rt->nhandlers; i++)
			probes[n++] = (struct probe){ rt->handlers[i], s->progs.on_resume, false, 0,
						      rt->handler_ops[i] };
		if ((what & ATTACH_EXIT) && t->plan.exit == EXIT_FRAME_CLEAR)
			probes[n++] = (struct probe){ rt->frame_clear, s->progs.on_frame_clear,
						      false, 0, rt->frame_clear_sym };
		else if ((what & ATTACH_EXIT) && t->plan.exit == EXIT_USDT_RETURN)
			probes[n++] = (struct probe){ rt->usdt_return.pc,
						      s->progs.on_frame_exit_cur, false,
						      rt->usdt_return.sema, "python:function__return" };
	} else {
		snprintf(err, errlen, "mechanism %s is not handled by the uprobe tracer",
			 mech_name(t->plan.mech));
		return -ENOTSUP;
	}
	if ((what & ATTACH_DEALLOC) && rt->code_dealloc)
		probes[n++] = (struct probe){ rt->code_dealloc, s->progs.on_code_dealloc, false, 0,
					      "code object dealloc" };
	if ((what & ATTACH_DEALLOC) && rt->type_dealloc)
		probes[n++] = (struct probe){ rt->type_dealloc, s->progs.on_type_dealloc, false, 0,
					      "type object dealloc" };
	for (i = 0; i < n; i++) {
		ret = attach_one(t, &probes[i], err, errlen);
		if (ret) {
			/* nothing of this call stays attached */
			while (t->nlinks > first)
				bpf_link__destroy(t->links[--t->nlinks]);
			return ret;
		}
	}
	return 0;
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
	__u32 type;

	if (len < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (type == PS_EV_CODE && len >= sizeof(struct ps_ev_code)) {
		const struct ps_ev_code *ev = data;
		uint32_t kind = model__add_code(t->m, ev);
		const struct code_info *ci = model__code(t->m, ev->code_id);

		debug(t->verbose, "code %u: %s (%s) module '%s' %s:%u kind %u -> %u", ev->code_id,
		      ci ? ci->qualname : ev->qualname, ci && ci->qual_known ? "known" : "unresolved",
		      ev->module, ev->filename, ev->firstlineno, ev->kind, kind);
		if (kind != ev->kind)
			lower_kind(t, ev->code_addr, ev->code_id, kind);
	} else if (type == PS_EV_AGG && len >= sizeof(struct ps_ev_agg)) {
		model__add_agg(t->m, data);
	} else if (type == PS_EV_STACK && len >= sizeof(struct ps_ev_stack)) {
		model__add_stack(t->m, data);
	}
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
	t->switch_link = NULL;
}

void tracer__detach(struct tracer *t)
{
	profile_stop(t);
	int i;

	for (i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
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
