/* SPDX-License-Identifier: MIT */
/*
 * The call paths of the model: the kernel announces each distinct path
 * (PS_EV_STACK) once, and aggregates refer to it by id.
 */
#ifndef PYSCOPE_MODEL_STACKS_H
#define PYSCOPE_MODEL_STACKS_H

#include <stdbool.h>
#include <stdint.h>
#include "model/model.h"

/* Call paths, as announced by the kernel (innermost caller first). */
struct stack_info {
	uint64_t id;
	uint32_t n;
	bool truncated;
	struct ps_frame frames[PS_MAX_DEPTH];
};

void model__add_stack(struct model *m, const struct ps_ev_stack *ev);
const struct stack_info *model__stack(const struct model *m, uint64_t id);

#endif
