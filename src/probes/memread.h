/* SPDX-License-Identifier: MIT */
/*
 * Batched reads of a target's memory through the BPF task iterator in
 * bpf/memread.bpf.c.  One call of memread__batch() costs one iterator run
 * per 128 requests (or 28 KiB), whatever their addresses.
 */
#ifndef PYSCOPE_PROBES_MEMREAD_H
#define PYSCOPE_PROBES_MEMREAD_H

#include <stddef.h>
#include <stdint.h>
#include "target/memsrc.h"

struct memread;

int memread__open(struct memread **out, int pid, char *err, size_t errlen);
int memread__batch(struct memread *mr, struct memsrc_item *items, size_t n);
/* The memsrc_read_fn for a struct memread. */
int memread__read(void *ctx, struct memsrc_item *items, size_t n);
void memread__close(struct memread *mr);

#endif
