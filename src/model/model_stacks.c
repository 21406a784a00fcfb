// SPDX-License-Identifier: MIT
#include "model/model_priv.h"

#include <stdlib.h>
#include <string.h>

static size_t stack_slot(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

const struct stack_info *model__stack(const struct model *m, uint64_t id)
{
	size_t i;

	if (!id)
		return NULL;
	for (i = stack_slot(id, m->stacks_cap); m->stacks[i]; i = (i + 1) & (m->stacks_cap - 1))
		if (m->stacks[i]->id == id)
			return m->stacks[i];
	return NULL;
}

void model__add_stack(struct model *m, const struct ps_ev_stack *ev)
{
	struct stack_info *si;
	size_t i;

	if (!ev->stack || model__stack(m, ev->stack))
		return;
	if ((m->nstacks + 1) * 2 > m->stacks_cap) {
		size_t ncap = m->stacks_cap * 2, j;
		struct stack_info **ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return;
		for (j = 0; j < m->stacks_cap; j++) {
			if (!m->stacks[j])
				continue;
			for (i = stack_slot(m->stacks[j]->id, ncap); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = m->stacks[j];
		}
		free(m->stacks);
		m->stacks = ns;
		m->stacks_cap = ncap;
	}
	si = calloc(1, sizeof(*si));
	if (!si)
		return;
	si->id = ev->stack;
	si->n = ev->nframes > PS_MAX_DEPTH ? PS_MAX_DEPTH : ev->nframes;
	si->truncated = ev->truncated;
	memcpy(si->frames, ev->frames, si->n * sizeof(si->frames[0]));
	for (i = stack_slot(si->id, m->stacks_cap); m->stacks[i]; i = (i + 1) & (m->stacks_cap - 1))
		;
	m->stacks[i] = si;
	m->nstacks++;
}
