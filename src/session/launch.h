/* SPDX-License-Identifier: MIT */
/*
 * Launch mode: start a command stopped, hold it until its Python
 * interpreter is mapped (before any Python code runs), let the tracer
 * attach, then release it.  Uses ptrace only to stop and resume; never
 * touches the child's memory.
 */
#ifndef PYSCOPE_LAUNCH_H
#define PYSCOPE_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

/* Fork and exec argv; return with the child stopped and Python mapped. */
int launch_start(char **argv, int *pid, char *err, size_t errlen);
/* Let the stopped child run (detaches ptrace). */
int launch_release(int pid);
/* Kill a child that was never released. */
void launch_abort(int pid);
/* Non-blocking: has the child exited?  Fills its exit code (128+sig if killed). */
bool launch_exited(int pid, int *code);
/* Blocking wait for the child's exit code. */
int launch_wait(int pid);

#endif
