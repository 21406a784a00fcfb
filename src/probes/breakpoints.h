/* SPDX-License-Identifier: MIT */
/*
 * A tracer's hardware breakpoints (--via breakpoint): a watch on one byte
 * of the target's code object, on every CPU, runs on_breakpoint; the BPF
 * program filters the process.
 */
#ifndef PYSCOPE_BREAKPOINTS_H
#define PYSCOPE_BREAKPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tracer;

/* Watch the byte at addr; -ENOSPC when the debug registers are all taken. */
int breakpoints__watch(struct tracer *t, uint64_t addr, char *err, size_t errlen);
void breakpoints__unwatch(struct tracer *t, uint64_t addr);
void breakpoints__unwatch_all(struct tracer *t);
/* Tell the kernel code is counted by breakpoints (the uprobe programs then leave it alone). */
int breakpoints__set_code(struct tracer *t, uint64_t code, bool on);
/* Debug registers still free. */
int breakpoints__free_slots(const struct tracer *t);
/* Function starts the breakpoints have seen so far. */
uint64_t breakpoints__starts(const struct tracer *t);

#endif
