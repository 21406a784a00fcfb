// SPDX-License-Identifier: MIT
/* Which capabilities pyscope asks for, and the one line that names them. */
#include "testutil.h"
#include "target/caps.h"
#include "util/util.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define BIT(c) (1ull << (c))

static const struct caps_need TRACE = { true, true, true, false };
static const struct caps_need TRACE_OTHER = { true, true, true, true };
static const struct caps_need INFO_OTHER = { false, false, false, true };

static void test_check(void **state)
{
	char err[512];

	(void)state;
	/* nothing at all: every tracing capability is named, in one line */
	assert_int_equal(caps_check(0, &TRACE, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "missing capabilities CAP_BPF ("));
	assert_non_null(strstr(err, "CAP_PERFMON ("));
	assert_non_null(strstr(err, "CAP_SYS_ADMIN ("));
	assert_null(strstr(err, "CAP_SYS_PTRACE"));
	assert_null(strchr(err, '\n'));
	/* CAP_BPF and CAP_PERFMON: uprobes still want CAP_SYS_ADMIN */
	assert_int_equal(caps_check(BIT(CAP_BPF) | BIT(CAP_PERFMON), &TRACE, err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "missing capability CAP_SYS_ADMIN ("));
	assert_null(strstr(err, "CAP_BPF"));
	/* CAP_SYS_ADMIN covers CAP_BPF and CAP_PERFMON */
	assert_int_equal(caps_check(BIT(CAP_SYS_ADMIN), &TRACE, err, sizeof(err)), 0);
	assert_int_equal(caps_check(BIT(CAP_SYS_ADMIN) | BIT(CAP_BPF) | BIT(CAP_PERFMON), &TRACE,
				    err, sizeof(err)), 0);
	/* another user's process */
	assert_int_equal(caps_check(BIT(CAP_SYS_ADMIN), &TRACE_OTHER, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "missing capability CAP_SYS_PTRACE ("));
	assert_int_equal(caps_check(BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_PTRACE), &TRACE_OTHER, err,
				    sizeof(err)), 0);
	assert_int_equal(caps_check(BIT(CAP_BPF), &INFO_OTHER, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "CAP_SYS_PTRACE"));
	assert_int_equal(caps_check(0, &(struct caps_need){ 0 }, err, sizeof(err)), 0);
	/* a short buffer is cut, still terminated */
	assert_int_equal(caps_check(0, &TRACE_OTHER, err, 16), -EPERM);
	assert_int_equal(strlen(err), 15);
}

/* The real effective set, compared with what the kernel shows in /proc. */
static void test_effective(void **state)
{
	char *text = NULL, *p;
	unsigned long long shown;
	uint64_t eff = 0;

	(void)state;
	assert_int_equal(caps_effective(&eff), 0);
	assert_int_equal(read_file("/proc/self/status", 1 << 16, &text, NULL), 0);
	p = strstr(text, "\nCapEff:");
	assert_non_null(p);
	assert_int_equal(sscanf(p + 8, "%llx", &shown), 1);
	assert_int_equal(eff, shown);
	free(text);
}

static void test_pid_needs_ptrace(void **state)
{
	pid_t child;
	int status;

	(void)state;
	assert_false(caps_pid_needs_ptrace(getpid()));
	assert_false(caps_pid_needs_ptrace(0x3fffffff));	/* no such process */
	/* pid 1 belongs to root: another user's, unless we are root */
	assert_int_equal(caps_pid_needs_ptrace(1), geteuid() != 0);
	if (geteuid() != 0)
		return;
	/* a process of another user */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		pause();
		_exit(0);
	}
	for (int i = 0; i < 200; i++) {
		char path[64], *text = NULL;
		bool moved;

		snprintf(path, sizeof(path), "/proc/%d/status", child);
		if (read_file(path, 1 << 16, &text, NULL))
			break;
		moved = strstr(text, "\nUid:\t65534") != NULL;
		free(text);
		if (moved)
			break;
		usleep(10000);
	}
	assert_true(caps_pid_needs_ptrace(child));
	kill(child, SIGKILL);
	waitpid(child, &status, 0);

	/*
	 * As nobody, of two processes of its own: the one that is not dumpable
	 * (as any process that changed its ids is) takes CAP_SYS_PTRACE, the
	 * one that exec'd a program (dumpable again) does not.
	 */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pid_t gc, gc2;
		int st, ok, i;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		gc = fork();
		if (gc == 0) {
			prctl(PR_SET_DUMPABLE, 0);
			pause();
			_exit(0);
		}
		gc2 = fork();
		if (gc2 == 0) {
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
			_exit(1);
		}
		for (i = 0; i < 300; i++) {
			char path[64], *comm = NULL;
			bool execd;

			snprintf(path, sizeof(path), "/proc/%d/comm", gc2);
			if (read_file(path, 64, &comm, NULL))
				break;
			execd = !strcmp(comm, "sleep\n");
			free(comm);
			if (execd && prctl(PR_GET_DUMPABLE) == 0)
				break;
			usleep(10000);
		}
		ok = caps_pid_needs_ptrace(gc) && !caps_pid_needs_ptrace(gc2);
		kill(gc, SIGKILL);
		kill(gc2, SIGKILL);
		waitpid(gc, &st, 0);
		waitpid(gc2, &st, 0);
		_exit(ok ? 0 : 12);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_effective),
		cmocka_unit_test(test_pid_needs_ptrace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
