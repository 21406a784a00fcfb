// SPDX-License-Identifier: MIT
#include "target/caps.h"
#include "util/util.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Older uapi headers lack these (Linux 5.8). */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

int caps_effective(uint64_t *eff)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	return 0;
}

static bool has(uint64_t eff, int cap)
{
	return (eff >> cap) & 1;
}

int caps_check(uint64_t eff, const struct caps_need *need, char *err, size_t errlen)
{
	/* CAP_SYS_ADMIN still grants what CAP_BPF and CAP_PERFMON split off from it */
	bool admin = has(eff, CAP_SYS_ADMIN);
	const struct {
		bool missing;
		const char *name, *why;
	} caps[] = {
		{ need->bpf && !admin && !has(eff, CAP_BPF), "CAP_BPF", "to load BPF programs" },
		{ need->perfmon && !admin && !has(eff, CAP_PERFMON), "CAP_PERFMON",
		  "to trace and read the target's memory from BPF" },
		{ need->uprobes && !admin, "CAP_SYS_ADMIN",
		  "to create uprobes, which current kernels allow only to CAP_SYS_ADMIN" },
		{ need->ptrace && !has(eff, CAP_SYS_PTRACE), "CAP_SYS_PTRACE",
		  "to read a process of another user" },
	};
	struct strbuf sb;
	size_t i, n = 0;

	sb_init(&sb);
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		if (!caps[i].missing)
			continue;
		sb_printf(&sb, "%s%s (%s)", n ? ", " : "", caps[i].name, caps[i].why);
		n++;
	}
	if (n)
		snprintf(err, errlen, "missing %s %s; run as root or grant %s",
			 n > 1 ? "capabilities" : "capability", sb.oom ? "?" : sb.buf,
			 n > 1 ? "them" : "it");
	sb_free(&sb);
	return n ? -EPERM : 0;
}

/* "Uid:" or "Gid:" of /proc/PID/status: real, effective, saved, filesystem. */
static int status_ids(int pid, const char *key, unsigned ids[4])
{
	char val[128];

	if (proc_status(pid, key, val, sizeof(val)) ||
	    sscanf(val, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
		return -ENOENT;
	return 0;
}

bool caps_pid_needs_ptrace(int pid)
{
	unsigned uid[4], gid[4];
	char path[64];
	struct stat st;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (pid <= 0 || stat(path, &st) || status_ids(pid, "Uid", uid) ||
	    status_ids(pid, "Gid", gid))
		return false;
	/* the kernel's rule (ptrace_may_access): same ids throughout, and dumpable */
	for (i = 0; i < 3; i++)
		if (uid[i] != geteuid() || gid[i] != getegid())
			return true;
	/* the files in /proc/PID of a process that is not dumpable belong to root */
	return st.st_uid != geteuid();
}

/* Yama's ptrace_scope 2 ("admin only") covers PTRACE_TRACEME too. */
static bool launch_needs_ptrace(void)
{
	char *text = NULL;
	bool admin_only;

	if (read_file("/proc/sys/kernel/yama/ptrace_scope", 64, &text, NULL))
		return false;
	admin_only = atoi(text) >= 2;
	free(text);
	return admin_only;
}

int caps_require(bool tracing, int pid, char *err, size_t errlen)
{
	struct caps_need need = { tracing, tracing, tracing, false };
	uint64_t eff = 0;
	int ret;

	need.ptrace = pid ? caps_pid_needs_ptrace(pid) : launch_needs_ptrace();
	ret = caps_effective(&eff);
	if (ret) {
		snprintf(err, errlen, "cannot read this process's capabilities: %s", strerror(-ret));
		return ret;
	}
	return caps_check(eff, &need, err, errlen);
}
