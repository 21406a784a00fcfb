// SPDX-License-Identifier: MIT
#include "probes/ulink.h"
#include "util/util.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * libbpf 1.1 and the installed uapi headers predate uprobe_multi, so the
 * attribute is spelled out: union bpf_attr's link_create as in
 * include/uapi/linux/bpf.h of Linux 6.6+, with the values of
 * BPF_TRACE_UPROBE_MULTI (enum bpf_attach_type) and BPF_F_UPROBE_MULTI_RETURN.
 */
#define PS_TRACE_UPROBE_MULTI 48
#define PS_F_UPROBE_MULTI_RETURN 1u

struct ps_uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 um_flags;
	__u32 pid;
};

_Static_assert(offsetof(struct ps_uprobe_multi_attr, path) == 16,
	       "link_create's per-type union starts at byte 16 of union bpf_attr");
_Static_assert(offsetof(struct ps_uprobe_multi_attr, pid) == 56, "uprobe_multi.pid");

static int multi_link(int prog_fd, const char *path, const __u64 *offs, const __u64 *refs,
		      const __u64 *cookies, __u32 cnt, bool ret, int pid)
{
	struct ps_uprobe_multi_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = (__u32)prog_fd;
	a.attach_type = PS_TRACE_UPROBE_MULTI;
	a.path = (__u64)(unsigned long)path;
	a.offsets = (__u64)(unsigned long)offs;
	a.ref_ctr_offsets = (__u64)(unsigned long)refs;
	a.cookies = (__u64)(unsigned long)cookies;
	a.cnt = cnt;
	a.um_flags = ret ? PS_F_UPROBE_MULTI_RETURN : 0;
	a.pid = (__u32)pid;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}

/*
 * Load the smallest program with that expected attach type and link it to
 * a directory: a kernel that knows uprobe_multi refuses the path (EBADF);
 * an older one refuses the attach type before looking at it.
 */
bool ulink__multi_supported(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = (enum bpf_attach_type)PS_TRACE_UPROBE_MULTI);
	__u64 off = 0;
	int prog, link;

	/* for tests of the fallback on kernels that have uprobe_multi */
	if (getenv("PYSCOPE_NO_UPROBE_MULTI"))
		return false;
	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, ARRAY_SIZE(insns), &opts);
	if (prog < 0)
		return false;
	link = multi_link(prog, "/", &off, NULL, NULL, 1, false, 0);
	if (link >= 0)
		close(link);
	close(prog);
	return link == -EBADF;
}

void ulink__prepare_multi(struct bpf_program *prog)
{
	bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)PS_TRACE_UPROBE_MULTI);
}

static const char *perm_hint(int e)
{
	return e == -EPERM || e == -EACCES ? " (needs CAP_PERFMON and CAP_SYS_ADMIN/CAP_BPF, "
					     "or root)" : "";
}

/* One link per (program, return) pair, holding all its probes. */
static int attach_multi(struct ulinks *ls, const char *path, int pid, const struct ulink_probe *p,
			size_t n, char *err, size_t errlen)
{
	__u64 offs[ULINK_MAX], refs[ULINK_MAX], cookies[ULINK_MAX];
	bool done[ULINK_MAX] = { false };
	size_t i, j;

	for (i = 0; i < n; i++) {
		__u32 cnt = 0;
		int fd;

		if (done[i])
			continue;
		for (j = i; j < n; j++) {
			if (done[j] || p[j].prog != p[i].prog || p[j].ret != p[i].ret)
				continue;
			done[j] = true;
			offs[cnt] = p[j].off;
			refs[cnt] = p[j].ref_ctr_off;
			cookies[cnt++] = p[j].cookie;
		}
		if (ls->nfds >= ULINK_MAX) {
			snprintf(err, errlen, "too many links");
			return -E2BIG;
		}
		fd = multi_link(bpf_program__fd(p[i].prog), path, offs, refs, cookies, cnt, p[i].ret,
				pid);
		if (fd < 0) {
			snprintf(err, errlen, "cannot attach %s (%u probe(s), first: %s) in %s: %s%s",
				 bpf_program__name(p[i].prog), cnt, p[i].what, path, strerror(-fd),
				 perm_hint(fd));
			return fd;
		}
		ls->fds[ls->nfds++] = fd;
	}
	return 0;
}

static int attach_perf(struct ulinks *ls, const char *path, int pid, const struct ulink_probe *p,
		       size_t n, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = p[i].ret,
			    .ref_ctr_offset = p[i].ref_ctr_off, .bpf_cookie = p[i].cookie);
		struct bpf_link *l;

		if (ls->nlinks >= ULINK_MAX) {
			snprintf(err, errlen, "too many probes");
			return -E2BIG;
		}
		l = bpf_program__attach_uprobe_opts(p[i].prog, pid, path, p[i].off, &opts);
		if (!l) {
			int e = -errno;

			snprintf(err, errlen, "cannot attach %s at %s+0x%lx: %s%s", p[i].what, path,
				 (unsigned long)p[i].off, strerror(-e), perm_hint(e));
			return e;
		}
		ls->links[ls->nlinks++] = l;
	}
	return 0;
}

int ulink__attach(struct ulinks *ls, const char *path, int pid, const struct ulink_probe *p,
		  size_t n, char *err, size_t errlen)
{
	struct ulinks added = { .multi = ls->multi };
	int ret, nfds = ls->nfds, nlinks = ls->nlinks, i;

	if (n > ULINK_MAX) {
		snprintf(err, errlen, "too many probes (%zu)", n);
		return -E2BIG;
	}
	ret = ls->multi ? attach_multi(ls, path, pid, p, n, err, errlen)
			: attach_perf(ls, path, pid, p, n, err, errlen);
	if (ret) {
		/* remove what this call attached; earlier calls' links stay */
		for (i = nfds; i < ls->nfds; i++)
			added.fds[added.nfds++] = ls->fds[i];
		for (i = nlinks; i < ls->nlinks; i++)
			added.links[added.nlinks++] = ls->links[i];
		ls->nfds = nfds;
		ls->nlinks = nlinks;
		ulink__detach(&added);
	}
	return ret;
}

struct detach_job {
	int fd;
	struct bpf_link *link;
};

static void *remove_link(void *arg)
{
	struct detach_job *j = arg;

	if (j->link)
		bpf_link__destroy(j->link);
	else
		close(j->fd);
	return NULL;
}

/*
 * Closing a uprobe link takes its breakpoints out at once, then waits for
 * an RCU tasks-trace grace period (40-70 ms here) before returning.  One
 * thread per link lets those waits overlap.
 */
int ulink__detach(struct ulinks *ls)
{
	struct detach_job jobs[2 * ULINK_MAX];
	pthread_t th[2 * ULINK_MAX];
	bool started[2 * ULINK_MAX] = { false };
	int i, n = 0;

	for (i = 0; i < ls->nfds; i++)
		jobs[n++] = (struct detach_job){ .fd = ls->fds[i] };
	for (i = 0; i < ls->nlinks; i++)
		jobs[n++] = (struct detach_job){ .fd = -1, .link = ls->links[i] };
	ls->nfds = ls->nlinks = 0;
	for (i = 0; i < n; i++)
		started[i] = n > 1 && !pthread_create(&th[i], NULL, remove_link, &jobs[i]);
	for (i = 0; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			remove_link(&jobs[i]);
	}
	return n;
}

void ulink__run_stats(const struct bpf_object *obj, uint64_t *runs, uint64_t *ns)
{
	struct bpf_program *prog;

	*runs = *ns = 0;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		*runs += info.run_cnt;
		*ns += info.run_time_ns;
	}
}
