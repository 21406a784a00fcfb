// SPDX-License-Identifier: MIT
#include "target/symtab.h"
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int symtab__add(struct symtab *t, const struct elf_sym *s)
{
	if (t->n == t->cap) {
		size_t c = MAX(t->cap * 2, t->n + 1 + 16);
		struct elf_sym *v = realloc(t->v, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = c;
	}
	t->v[t->n] = *s;
	t->v[t->n].name = strdup(s->name);
	if (!t->v[t->n].name)
		return -ENOMEM;
	t->n++;
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	/* defined before undefined, symtab before dynsym */
	if ((x->value != 0) != (y->value != 0))
		return x->value ? -1 : 1;
	return (int)x->dynamic - (int)y->dynamic;
}

void symtab__sort(struct symtab *t)
{
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), sym_cmp);
}

/* Index of the first symbol whose name is >= name. */
static size_t lower_bound(const struct symtab *t, const char *name)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct elf_sym *symtab__find(const struct symtab *t, const char *name)
{
	size_t i = lower_bound(t, name);

	if (i < t->n && !strcmp(t->v[i].name, name))
		return &t->v[i];
	return NULL;
}

const struct elf_sym *symtab__find_local(const struct symtab *t, const char *name)
{
	size_t len = strlen(name), i;
	const struct elf_sym *s = symtab__find(t, name);

	if (s && s->value)
		return s;
	for (i = lower_bound(t, name); i < t->n; i++) {
		const char *n = t->v[i].name;

		if (strncmp(n, name, len))
			break;
		if (n[len] == '.' && n[len + 1] >= '0' && n[len + 1] <= '9' && t->v[i].value)
			return &t->v[i];
	}
	return NULL;
}

void symtab__free(struct symtab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof(*t));
}
