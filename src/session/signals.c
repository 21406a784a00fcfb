// SPDX-License-Identifier: MIT
#include "session/signals.h"

#include <signal.h>
#include <string.h>

/* The only global: set by SIGINT/SIGTERM, read by the event loops. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void signals__catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool signals__stop_requested(void)
{
	return stop_requested;
}
