/* SPDX-License-Identifier: MIT */
/*
 * The privileges pyscope needs, checked up front so that a missing one is
 * one clear line before anything is launched, loaded or attached
 * (docs/security.md says why each is needed).
 */
#ifndef PYSCOPE_CAPS_H
#define PYSCOPE_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct caps_need {
	bool bpf;		/* load BPF programs and maps: CAP_BPF */
	bool perfmon;		/* tracing programs, reading user memory: CAP_PERFMON */
	bool uprobes;		/* create uprobes: CAP_SYS_ADMIN (Linux 6.16, and stable) */
	bool ptrace;		/* another user's process: CAP_SYS_PTRACE */
};

/* The calling thread's effective set, bit N for capability N. */
int caps_effective(uint64_t *eff);

/*
 * Do the capabilities in eff cover need?  If not, -EPERM and err gets one
 * line naming every missing capability and what it is for.
 */
int caps_check(uint64_t eff, const struct caps_need *need, char *err, size_t errlen);

/*
 * Does reading this process (its /proc files, perf events on it) take
 * CAP_SYS_PTRACE: is it another user's or not dumpable?  False when it
 * does not exist (the caller reports that on its own).
 */
bool caps_pid_needs_ptrace(int pid);

/*
 * What `trace` (tracing = true) or `info` needs for pid, or for launching a
 * command (pid 0), checked against the effective set.
 */
int caps_require(bool tracing, int pid, char *err, size_t errlen);

#endif
