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
#include <unistd.h>

#define MAX_LINKS 16

struct tracer {
	struct pyscope_bpf *skel;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
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
	t->skel->rodata->hash_init = ps_hash_str("__init__");
	t->skel->rodata->hash_new = ps_hash_str("__new__");
	t->skel->rodata->class_patterns = classes;
	t->skel->rodata->capture_args = o->capture_args;
	ret = pyscope_bpf__load(t->skel);
	if (ret) {
		snprintf(err, errlen, "cannot load the BPF programs: %s%s", strerror(-ret),
			 ret == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
		goto fail;
	}
	ret = set_names(t, ps);
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

int tracer__attach(struct tracer *t, char *err, size_t errlen)
{
	struct pyscope_bpf *s = t->skel;
	const struct pyrt *rt = t->rt;
	struct probe probes[MAX_LINKS];
	int n = 0, i, ret;

	if (t->plan.mech == MECH_EVAL) {
		probes[n++] = (struct probe){ rt->eval, s->progs.on_eval_entry, false, 0,
					      "_PyEval_EvalFrameDefault entry" };
		probes[n++] = (struct probe){ rt->eval, s->progs.on_eval_return, true, 0,
					      "_PyEval_EvalFrameDefault return" };
	} else if (t->plan.mech == MECH_RESUME) {
		for (i = 0; i < (int)rt->nhandlers; i++)
			probes[n++] = (struct probe){ rt->handlers[i], s->progs.on_resume, false, 0,
						      rt->handler_ops[i] };
		if (t->plan.exit == EXIT_FRAME_CLEAR)
			probes[n++] = (struct probe){ rt->frame_clear, s->progs.on_frame_clear,
						      false, 0, rt->frame_clear_sym };
		else if (t->plan.exit == EXIT_USDT_RETURN)
			probes[n++] = (struct probe){ rt->usdt_return.pc,
						      s->progs.on_frame_exit_cur, false,
						      rt->usdt_return.sema, "python:function__return" };
	} else {
		snprintf(err, errlen, "mechanism %s is not handled by the uprobe tracer",
			 mech_name(t->plan.mech));
		return -ENOTSUP;
	}
	if (rt->code_dealloc)
		probes[n++] = (struct probe){ rt->code_dealloc, s->progs.on_code_dealloc, false, 0,
					      "code object dealloc" };
	if (rt->type_dealloc)
		probes[n++] = (struct probe){ rt->type_dealloc, s->progs.on_type_dealloc, false, 0,
					      "type object dealloc" };
	for (i = 0; i < n; i++) {
		ret = attach_one(t, &probes[i], err, errlen);
		if (ret) {
			tracer__detach(t);
			return ret;
		}
	}
	return 0;
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

void tracer__detach(struct tracer *t)
{
	int i;

	for (i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
}

void tracer__close(struct tracer *t)
{
	if (!t)
		return;
	tracer__detach(t);
	ring_buffer__free(t->rb);
	pyscope_bpf__destroy(t->skel);
	free(t);
}
