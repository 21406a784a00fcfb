/* SPDX-License-Identifier: MIT */
/*
 * pyscope profile's samples (on-CPU stacks, off-CPU waits) and awaits,
 * copied from the kernel's maps at each refresh.
 */
#ifndef PYSCOPE_MODEL_SAMPLES_H
#define PYSCOPE_MODEL_SAMPLES_H

#include <stddef.h>
#include <stdint.h>
#include "model/model.h"

struct sample_row {
	struct ps_sample_key key;
	struct ps_sample_val val;
};

struct await_row {
	struct ps_await_key key;
	uint64_t count;
};

/* Replaced at each refresh: cleared, then added to. */
void model__clear_samples(struct model *m);
void model__add_sample(struct model *m, const struct ps_sample_key *k, const struct ps_sample_val *v);
void model__add_await(struct model *m, const struct ps_await_key *k, uint64_t n);
size_t model__samples(const struct model *m, const struct sample_row **rows);
size_t model__awaits(const struct model *m, const struct await_row **rows);

#endif
