/* SPDX-License-Identifier: MIT */
/*
 * A source of the target's memory: batched reads of (address, length)
 * items.  The target layer reads through this interface only; in
 * production it is the BPF memory reader (probes/memread.h), in unit tests
 * a fake.  pyscope never reads a target's memory any other way.
 */
#ifndef PYSCOPE_TARGET_MEMSRC_H
#define PYSCOPE_TARGET_MEMSRC_H

#include <stddef.h>
#include <stdint.h>

struct memsrc_item {
	uint64_t addr;
	uint32_t len;
	void *dst;
	int status;		/* out: 0, or a negative errno (-EFAULT: not mapped) */
};

/* Reads items[i].len bytes at items[i].addr into items[i].dst, for each i. */
typedef int (*memsrc_read_fn)(void *ctx, struct memsrc_item *items, size_t n);

#endif
