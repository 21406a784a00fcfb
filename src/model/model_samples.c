// SPDX-License-Identifier: MIT
#include "model/model_priv.h"

#include <stdlib.h>

void model__clear_samples(struct model *m)
{
	m->nsamples = 0;
	m->nawaits = 0;
}

void model__add_sample(struct model *m, const struct ps_sample_key *k, const struct ps_sample_val *v)
{
	if (m->nsamples == m->samples_cap) {
		size_t cap = m->samples_cap ? m->samples_cap * 2 : 256;
		struct sample_row *n = realloc(m->samples, cap * sizeof(*n));

		if (!n)
			return;
		m->samples = n;
		m->samples_cap = cap;
	}
	m->samples[m->nsamples].key = *k;
	m->samples[m->nsamples].val = *v;
	m->nsamples++;
}

void model__add_await(struct model *m, const struct ps_await_key *k, uint64_t n)
{
	if (m->nawaits == m->awaits_cap) {
		size_t cap = m->awaits_cap ? m->awaits_cap * 2 : 64;
		struct await_row *r = realloc(m->awaits, cap * sizeof(*r));

		if (!r)
			return;
		m->awaits = r;
		m->awaits_cap = cap;
	}
	m->awaits[m->nawaits].key = *k;
	m->awaits[m->nawaits].count = n;
	m->nawaits++;
}

size_t model__samples(const struct model *m, const struct sample_row **rows)
{
	*rows = m->samples;
	return m->nsamples;
}

size_t model__awaits(const struct model *m, const struct await_row **rows)
{
	*rows = m->awaits;
	return m->nawaits;
}
