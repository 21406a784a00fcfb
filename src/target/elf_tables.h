/* SPDX-License-Identifier: MIT */
/*
 * What libelf reads from an ELF image, copied into plain tables: sections,
 * PT_LOAD segments, symbols, R_X86_64_RELATIVE relocations, SystemTap notes
 * and DT_NEEDED entries.  The image is hostile input: every count and
 * offset is bounded by libelf's checks or ours.  target/elf_file.c answers
 * queries over these tables.
 */
#ifndef PYSCOPE_ELF_TABLES_H
#define PYSCOPE_ELF_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/symtab.h"
#include "target/usdt.h"

struct elf_sect {
	char *name;
	uint64_t addr, size, offset;
	uint32_t type;
	uint64_t flags;
};

struct elf_seg {
	uint64_t vaddr, memsz, offset, filesz;
};

struct elf_rel {
	uint64_t where, addend;
};

struct Elf;

struct elf_tables {
	struct Elf *elf;		/* kept until free: it may have converted the image */
	uint16_t e_type;
	bool has_symtab;
	struct symtab syms;
	struct elf_sect *sects;
	size_t nsects;
	struct elf_seg *segs;
	size_t nsegs;
	struct elf_rel *rels;		/* sorted by where */
	size_t nrels, caprels;
	struct usdt_note *notes;
	size_t nnotes, capnotes;
	char **needed;
	size_t nneeded, capneeded;
};

/*
 * Read the image (which must outlive t) into t: -ENOEXEC if it is not an
 * x86-64 ELF file, -EINVAL if libelf cannot start, -ENOMEM.  Free t on
 * failure too.
 */
int elf_tables__load(struct elf_tables *t, const void *image, size_t len);
/* The relocation at where, or NULL. */
const struct elf_rel *elf_tables__rel_at(const struct elf_tables *t, uint64_t where);
void elf_tables__free(struct elf_tables *t);

#endif
