// SPDX-License-Identifier: MIT
#include "probes/collector.h"
#include "probes/tracer_priv.h"
#include "model/model_samples.h"
#include "util/util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

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

/* A fork or exec of the target: 1 if the record was one, else 0. */
static int on_proc(struct tracer *t, const void *data, size_t len)
{
	const struct ps_ev_proc *pe = data;

	if (len < sizeof(*pe))
		return 0;
	if (pe->type == PS_EV_FORK) {
		if (t->nchildren < MAX_CHILDREN) {
			t->children_ts[t->nchildren] = pe->ts_ns;
			t->children[t->nchildren++] = (int)pe->pid;
		} else
			t->children_dropped++;
		return 1;
	}
	return pe->type == PS_EV_EXEC;	/* the loop reads target_execd */
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct tracer *t = ctx;
	uint32_t kind = 0;
	const struct ps_ev_code *ev = data;
	int ret;

	if (on_proc(t, data, len))
		return 0;
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

int collector__poll(struct tracer *t, int timeout_ms, int wake_fd)
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

int collector__refresh(struct tracer *t)
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

void collector__procs(const struct tracer *t, uint32_t *nforks, bool *execd)
{
	*nforks = t->skel->bss->nforks;
	*execd = t->skel->bss->target_execd;
}

size_t collector__take_children(struct tracer *t, int *pids, uint64_t *ts, size_t max,
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
