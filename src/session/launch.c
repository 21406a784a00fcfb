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

int launch_start(char **argv, int *pidp, char *err, size_t errlen)
{
	bool stepping = false;
	int status, pid, stops, sig = 0, ret;

	*pidp = -1;
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
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		snprintf(err, errlen, "'%s' did not start", argv[0]);
		ret = -ECHILD;
		goto fail;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD))) {
		snprintf(err, errlen, "ptrace: %s", strerror(errno));
		ret = -errno;
		goto fail;
	}
	for (stops = 0; stops < MAX_STOPS; stops++) {
		if (ptrace(stepping ? PTRACE_SYSCALL : PTRACE_CONT, pid, NULL, (void *)(long)sig)) {
			snprintf(err, errlen, "ptrace: %s", strerror(errno));
			ret = -errno;
			goto fail;
		}
		sig = 0;
		if (waitpid(pid, &status, __WALL) != pid) {
			ret = -errno;
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			goto fail;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			snprintf(err, errlen, "'%s' exited (status %d) before starting Python", argv[0],
				 exit_code(status));
			return -ECHILD;
		}
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 8) == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
			/* a new program: follow it if it is (or loads) Python */
			stepping = exe_wants_python(pid);
			if (stepping && pyrt_pid_has_python(pid))
				break;
			continue;
		}
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			if (pyrt_pid_has_python(pid))
				break;
			continue;
		}
		if (WSTOPSIG(status) != SIGTRAP)
			sig = WSTOPSIG(status);		/* deliver real signals */
	}
	if (stops == MAX_STOPS) {
		snprintf(err, errlen, "'%s' did not map a Python interpreter", argv[0]);
		ret = -ENOEXEC;
		goto fail;
	}
	*pidp = pid;
	return 0;
fail:
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
