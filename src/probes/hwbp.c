// SPDX-License-Identifier: MIT
#include "probes/hwbp.h"
#include "target/pyrt.h"

#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HWBP_TOUCHES 3

bool hwbp_works(char *why, size_t whylen)
{
	/* the watched byte: on this thread's stack, touched through a volatile pointer */
	volatile uint8_t probe[8] = { 0 };
	struct perf_event_attr attr;
	uint64_t hits = 0;
	bool ok = false;
	int fd, i;

	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_BREAKPOINT;
	attr.size = sizeof(attr);
	attr.bp_type = HW_BREAKPOINT_RW;
	attr.bp_addr = (uintptr_t)&probe[0];
	attr.bp_len = HW_BREAKPOINT_LEN_1;
	attr.sample_period = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "hardware breakpoints unavailable: perf_event_open: %s",
			 strerror(errno));
		goto cleanup;
	}
	for (i = 0; i < HWBP_TOUCHES; i++)
		probe[0] = (uint8_t)(probe[0] + 1);
	if (read(fd, &hits, sizeof(hits)) != (ssize_t)sizeof(hits)) {
		snprintf(why, whylen, "hardware breakpoints unavailable: cannot read the test "
			 "event's count: %s", strerror(errno));
		goto cleanup;
	}
	if (hits == 0) {
		snprintf(why, whylen, "hardware breakpoints never fire on this machine: the kernel "
			 "accepts them, but a watch on pyscope's own memory saw 0 of %d touches "
			 "(the hypervisor does not virtualise the debug registers)", HWBP_TOUCHES);
		goto cleanup;
	}
	ok = true;
cleanup:
	if (fd >= 0)
		close(fd);
	return ok;
}

bool hwbp_check(struct pyrt *rt)
{
	char why[sizeof(rt->mech[MECH_BREAKPOINT].why)];
	const char *env = getenv("PYSCOPE_HWBP_UNCHECKED");

	if (!rt->mech[MECH_BREAKPOINT].ok || hwbp_works(why, sizeof(why)))
		return false;
	if (env && !strcmp(env, "1"))
		return true;
	rt->mech[MECH_BREAKPOINT].ok = false;
	memcpy(rt->mech[MECH_BREAKPOINT].why, why, sizeof(why));
	return false;
}
