// SPDX-License-Identifier: MIT
/*
 * What one uprobe hit costs on this machine (make bench): calls a function
 * whose first instruction the kernel emulates (nop), or one whose first
 * instruction it must single-step (lea), N times, and prints the loop's own
 * time per call.  Run it untraced and under a probe on either symbol.
 *
 *   trapcost emulated|stepped N
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long trap_emulated(long x);
long trap_stepped(long x);

__asm__(".text\n"
	".globl trap_emulated\n"
	".type trap_emulated, @function\n"
	"trap_emulated:\n"
	"	nop\n"
	"	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size trap_emulated, .-trap_emulated\n"
	".globl trap_stepped\n"
	".type trap_stepped, @function\n"
	"trap_stepped:\n"
	"	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size trap_stepped, .-trap_stepped\n");

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long (*fn)(long) = NULL;
	volatile long sink = 0;
	long i, n;
	double t0;

	if (argc == 3 && !strcmp(argv[1], "emulated"))
		fn = trap_emulated;
	else if (argc == 3 && !strcmp(argv[1], "stepped"))
		fn = trap_stepped;
	n = argc == 3 ? atol(argv[2]) : 0;
	if (!fn || n <= 0) {
		fprintf(stderr, "usage: trapcost emulated|stepped N\n");
		return 2;
	}
	t0 = now_s();
	for (i = 0; i < n; i++)
		sink = fn(sink);
	fprintf(stderr, "elapsed: %.6f\n", now_s() - t0);
	return sink == n ? 0 : 1;
}
