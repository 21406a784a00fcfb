// SPDX-License-Identifier: MIT
#include "session/launch.h"
#include "target/pyrt.h"
#include "util/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STOPS 200000

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* Does the executable at exec time load libpython or embed the interpreter? */
static bool exe_wants_python(int pid)
{
	char exe[4096], path[4200];
	struct elf_file *ef;
	const struct elf_sym *s;
	bool ok = false;

	if (proc_exe(pid, exe, sizeof(exe)) <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, exe);
	if (elf_file__open(path, &ef))
		return false;
	s = elf_file__sym(ef, "Py_GetVersion");
	ok = (s && s->value) || elf_file__needed(ef, "libpython");
	elf_file__free(ef);
	return ok;
}

/* Fork argv under ptrace, stopped before it runs. */
static int spawn(char **argv, int *pidp, char *err, size_t errlen)
{
	int status, pid;

	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
			raise(SIGSTOP);
		execvp(argv[0], argv);
		fprintf(stderr, "pyscope: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	*pidp = pid;
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		snprintf(err, errlen, "'%s' did not start", argv[0]);
		return -ECHILD;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD))) {
		snprintf(err, errlen, "ptrace: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * One stop of the child: 1 once Python is mapped.  After an exec of a
 * program that is (or loads) Python, every system call stops it, so that
 * the interpreter is caught as soon as it is mapped; *sig gets a real
 * signal to deliver.
 */
static int on_stop(int pid, int status, bool *stepping, int *sig)
{
	if (!WIFSTOPPED(status))
		return 0;
	if ((status >> 8) == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
		*stepping = exe_wants_python(pid);
		return *stepping && pyrt_pid_has_python(pid);
	}
	if (WSTOPSIG(status) == (SIGTRAP | 0x80))
		return pyrt_pid_has_python(pid);
	if (WSTOPSIG(status) != SIGTRAP)
		*sig = WSTOPSIG(status);
	return 0;
}

/* Let the child run until its interpreter is mapped; *gone if it exited first. */
static int run_to_python(int pid, const char *name, bool *gone, char *err, size_t errlen)
{
	bool stepping = false;
	int status, stops, sig = 0, ret;

	for (stops = 0; stops < MAX_STOPS; stops++) {
		if (ptrace(stepping ? PTRACE_SYSCALL : PTRACE_CONT, pid, NULL, (void *)(long)sig)) {
			snprintf(err, errlen, "ptrace: %s", strerror(errno));
			return -errno;
		}
		sig = 0;
		if (waitpid(pid, &status, __WALL) != pid) {
			ret = -errno;
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return ret;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			*gone = true;
			snprintf(err, errlen, "'%s' exited (status %d) before starting Python", name,
				 exit_code(status));
			return -ECHILD;
		}
		if (on_stop(pid, status, &stepping, &sig))
			return 0;
	}
	snprintf(err, errlen, "'%s' did not map a Python interpreter", name);
	return -ENOEXEC;
}

int launch_start(char **argv, int *pidp, char *err, size_t errlen)
{
	bool gone = false;
	int pid = -1, ret;

	*pidp = -1;
	ret = spawn(argv, &pid, err, errlen);
	if (!ret)
		ret = run_to_python(pid, argv[0], &gone, err, errlen);
	if (!ret)
		*pidp = pid;
	else if (pid > 0 && !gone)
		launch_abort(pid);
	return ret;
}

int launch_release(int pid)
{
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL))
		return -errno;
	return 0;
}

void launch_abort(int pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
		;
}

bool launch_exited(int pid, int *code)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);

	if (r == pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
		*code = exit_code(status);
		return true;
	}
	return false;
}

int launch_wait(int pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return 2;
	}
	return exit_code(status);
}
