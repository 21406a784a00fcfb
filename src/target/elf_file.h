/* SPDX-License-Identifier: MIT */
/*
 * Read-only view of an ELF file: symbols (.symtab and .dynsym), sections,
 * loadable segments, relative relocations and SystemTap USDT notes.  Pure
 * file parsing (target/elf_tables.c reads the file with libelf); safe on
 * hostile input (fuzzed in tests/fuzz).
 */
#ifndef PYSCOPE_ELF_H
#define PYSCOPE_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/usdt.h"

struct elf_sym {
	char *name;
	uint64_t value;
	uint64_t size;
	uint8_t type;		/* STT_* */
	uint8_t bind;		/* STB_* */
	bool dynamic;		/* from .dynsym */
};

struct elf_file;

int elf_file__open(const char *path, struct elf_file **out);
/* Parse an in-memory image (the buffer must outlive the object). */
int elf_file__open_mem(const void *buf, size_t len, struct elf_file **out);
/* Drop one owner; the last one frees it. */
void elf_file__free(struct elf_file *ef);
/* One more owner of ef (single-threaded); returns ef. */
struct elf_file *elf_file__ref(struct elf_file *ef);

bool elf_file__has_symtab(const struct elf_file *ef);
bool elf_file__is_exec(const struct elf_file *ef);	/* ET_EXEC: not relocatable */
size_t elf_file__nsyms(const struct elf_file *ef);
const struct elf_sym *elf_file__sym_at(const struct elf_file *ef, size_t i);

/* Exact name; a defined symbol is preferred over an undefined one. */
const struct elf_sym *elf_file__sym(const struct elf_file *ef, const char *name);
/* A local static renamed by the compiler: "name" or "name.N". */
const struct elf_sym *elf_file__sym_local(const struct elf_file *ef, const char *name);

/* Bytes at a virtual address, from the file image (zero-filled for .bss). */
int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len);
/* n pointers at vaddr with R_X86_64_RELATIVE relocations applied (load base 0). */
int elf_file__read_ptrs(const struct elf_file *ef, uint64_t vaddr, uint64_t *out, size_t n);
/* Read a NUL-terminated string at vaddr (truncated to n-1 bytes). */
int elf_file__read_str(const struct elf_file *ef, uint64_t vaddr, char *buf, size_t n);
/* File offset of a virtual address, as uprobes want it. */
int elf_file__vaddr_to_off(const struct elf_file *ef, uint64_t vaddr, uint64_t *off);
/* Virtual address of a file offset inside a PT_LOAD segment. */
int elf_file__off_to_vaddr(const struct elf_file *ef, uint64_t off, uint64_t *vaddr);
/* Virtual address range of a named section. */
int elf_file__section(const struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size);
/*
 * The part of that range the file holds bytes for: empty for SHT_NOBITS,
 * clipped to the end of the image (a header may claim any size).
 */
int elf_file__section_data(const struct elf_file *ef, const char *name, uint64_t *addr,
			   uint64_t *size);
/* Is vaddr inside an executable section? */
bool elf_file__in_text(const struct elf_file *ef, uint64_t vaddr);
/*
 * The file's bytes from vaddr to the end of the executable section holding
 * it, without a copy (for disassembly).  -EFAULT if vaddr is not in one.
 */
int elf_file__text_bytes(const struct elf_file *ef, uint64_t vaddr, const uint8_t **p,
			 size_t *avail);

size_t elf_file__usdt(const struct elf_file *ef, const struct usdt_note **notes);
const struct usdt_note *elf_file__usdt_find(const struct elf_file *ef, const char *provider,
					    const char *name);
/* First DT_NEEDED entry starting with prefix, or NULL. */
const char *elf_file__needed(const struct elf_file *ef, const char *prefix);

#endif
