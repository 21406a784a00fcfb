/* SPDX-License-Identifier: MIT */
/*
 * Which register holds the frame at an opcode handler's probe, so that the
 * kernel side reads it from the registers instead of from the thread
 * state.  Found with capstone in the handler's straight-line prefix.
 */
#ifndef PYSCOPE_FRAME_REG_H
#define PYSCOPE_FRAME_REG_H

#include <stddef.h>
#include <stdint.h>
#include "target/elf_file.h"
#include "target/probesite.h"

/*
 * Which register holds a pointer the handler dereferences at one of disps
 * (the frame's instruction-pointer or code field, whose displacements are
 * distinctive), provided that register is not written between the handler's
 * start and both that use and the probe at site->addr.  Scans the
 * straight-line prefix only.  Returns an enum ps_reg (PS_REG_NONE if none);
 * why says which instruction proved it, or why none did.
 */
int frame_reg_find(const struct elf_file *ef, const struct probe_site *site, const uint32_t *disps,
		   size_t ndisps, char *why, size_t whylen);

#endif
