/* SPDX-License-Identifier: MIT */
/* The session's run metadata (struct run_meta) as the run goes. */
#ifndef PYSCOPE_SESSION_META_H
#define PYSCOPE_SESSION_META_H

#include <stdbool.h>
#include <stdint.h>

struct session;

/* Armed: the target, the interpreter, the mechanism and how returns are seen. */
void meta__armed(struct session *s);
/* The target exited (code: its status when launched). */
void meta__exited(struct session *s, uint64_t now, int code);
/*
 * Has the target exec'd?  Its new program is not what the model describes
 * (the kernel stopped counting at the exec): true, with what it runs now.
 */
bool meta__execd(struct session *s, uint64_t now);
/* The traced time ends. */
void meta__stopped(struct session *s, bool by_signal);

#endif
