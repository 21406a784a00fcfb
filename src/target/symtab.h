/* SPDX-License-Identifier: MIT */
/*
 * An ELF file's symbols (.symtab and .dynsym together), sorted by name for
 * lookups.  Pure: target/elf_file.c fills it.
 */
#ifndef PYSCOPE_SYMTAB_H
#define PYSCOPE_SYMTAB_H

#include <stddef.h>
#include "target/elf_file.h"

struct symtab {
	struct elf_sym *v;
	size_t n, cap;
};

/* Add a copy of s (with its own copy of the name). */
int symtab__add(struct symtab *t, const struct elf_sym *s);
/* Sort for lookups: by name, then defined before undefined, .symtab before .dynsym. */
void symtab__sort(struct symtab *t);
/* Exact name; a defined symbol is preferred over an undefined one. */
const struct elf_sym *symtab__find(const struct symtab *t, const char *name);
/* A local static renamed by the compiler: "name" or "name.N". */
const struct elf_sym *symtab__find_local(const struct symtab *t, const char *name);
void symtab__free(struct symtab *t);

#endif
