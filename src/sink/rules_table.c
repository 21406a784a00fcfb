// SPDX-License-Identifier: MIT
#include "sink/rules_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* The slot holding id, or t->cap if none. */
static size_t slot_of(const struct rules_table *t, uint64_t id)
{
	size_t i;

	if (!t->cap)
		return 0;
	for (i = mix(id) & (t->cap - 1); t->s[i].v; i = (i + 1) & (t->cap - 1))
		if (t->s[i].id == id)
			return i;
	return t->cap;
}

void **rules_table__find(struct rules_table *t, uint64_t id)
{
	size_t i = slot_of(t, id);

	return i < t->cap ? &t->s[i].v : NULL;
}

int rules_table__put(struct rules_table *t, uint64_t id, void *v)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64, k;
		struct rules_slot *ns = calloc(cap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (k = 0; k < t->cap; k++) {
			if (!t->s[k].v)
				continue;
			for (i = mix(t->s[k].id) & (cap - 1); ns[i].v; i = (i + 1) & (cap - 1))
				;
			ns[i] = t->s[k];
		}
		free(t->s);
		t->s = ns;
		t->cap = cap;
	}
	for (i = mix(id) & (t->cap - 1); t->s[i].v; i = (i + 1) & (t->cap - 1))
		;
	t->s[i].id = id;
	t->s[i].v = v;
	t->n++;
	return 0;
}

/* Remove slot i, moving later entries of its cluster back. */
void rules_table__del_at(struct rules_table *t, size_t i)
{
	size_t j = i, k;

	free(t->s[i].v);
	t->s[i].v = NULL;
	t->n--;
	for (;;) {
		j = (j + 1) & (t->cap - 1);
		if (!t->s[j].v)
			return;
		k = mix(t->s[j].id) & (t->cap - 1);
		/* can the entry at j move to the hole at i? (k not cyclically in (i, j]) */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			t->s[i] = t->s[j];
			t->s[j].v = NULL;
			i = j;
		}
	}
}

void rules_table__del(struct rules_table *t, uint64_t id)
{
	size_t i = slot_of(t, id);

	if (i < t->cap)
		rules_table__del_at(t, i);
}

void rules_table__free(struct rules_table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->s[i].v);
	free(t->s);
	memset(t, 0, sizeof(*t));
}
