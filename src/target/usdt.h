/* SPDX-License-Identifier: MIT */
/*
 * SystemTap SDT notes (.note.stapsdt): the USDT probes a binary declares.
 * Pure parsing of one note at a time; the ELF walk is target/elf_file.c's.
 */
#ifndef PYSCOPE_USDT_H
#define PYSCOPE_USDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct usdt_note {
	char provider[64];
	char name[64];
	char args[256];
	uint64_t pc;		/* virtual address of the probe site */
	uint64_t sema;		/* virtual address of the semaphore, 0 if none */
};

/* Is an ELF note of this type and name a stapsdt note, with room for a probe? */
bool usdt_is_note(uint32_t type, const char *name, size_t namesz, size_t descsz);

/*
 * The probe in a stapsdt note's desc: pc, base and semaphore (8 bytes each),
 * then provider, name and arguments.  base_addr: the address of this file's
 * .stapsdt.base (0: none).  -EINVAL if the desc ends within the name.
 */
int usdt_parse(const char *desc, size_t descsz, uint64_t base_addr, struct usdt_note *out);

#endif
