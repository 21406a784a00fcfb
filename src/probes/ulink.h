/* SPDX-License-Identifier: MIT */
/*
 * Attaching BPF programs as uprobes, and removing them fast.  With
 * uprobe_multi links (Linux 6.6+) each program is attached at all its
 * offsets by one bpf(BPF_LINK_CREATE) and removed by one close; otherwise
 * one perf-event uprobe per probe (libbpf).  Removal runs the links' closes
 * in parallel: each waits for an RCU grace period, and those overlap.
 */
#ifndef PYSCOPE_ULINK_H
#define PYSCOPE_ULINK_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ULINK_MAX 16

/* Does the running kernel have uprobe_multi links?  (Loads a probe program.) */
bool ulink__multi_supported(void);

/*
 * Programs attached with uprobe_multi links must be loaded for them: call
 * between open and load, on every program that will be attached.
 */
void ulink__prepare_multi(struct bpf_program *prog);

struct ulink_probe {
	struct bpf_program *prog;
	uint64_t off;		/* file offset */
	uint64_t ref_ctr_off;	/* USDT semaphore file offset, 0 if none */
	uint64_t cookie;	/* bpf_get_attach_cookie() */
	bool ret;		/* uretprobe */
	const char *what;	/* for messages */
};

struct ulinks {
	bool multi;
	int fds[ULINK_MAX];			/* uprobe_multi links */
	int nfds;
	struct bpf_link *links[ULINK_MAX];	/* perf-event uprobes */
	int nlinks;
};

/*
 * Attach every probe, grouped into one link per (program, return) pair when
 * multi, adding to the links already there.  On failure nothing of this call
 * stays attached and err says which probe failed.
 */
int ulink__attach(struct ulinks *ls, const char *path, int pid, const struct ulink_probe *p,
		  size_t n, char *err, size_t errlen);
/* Remove everything attached; returns the number of links removed. */
int ulink__detach(struct ulinks *ls);

/*
 * The kernel's run statistics of obj's programs, summed: runs and total run
 * time.  They are kept only while kernel.bpf_stats_enabled is 1 (its cost is
 * two clock reads per run); otherwise both are 0.
 */
void ulink__run_stats(const struct bpf_object *obj, uint64_t *runs, uint64_t *ns);

#endif
