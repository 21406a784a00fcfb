/* SPDX-License-Identifier: MIT */
/*
 * Capstone as the target layer uses it (x86-64, instruction details on),
 * and a walk over the straight-line prefix of code entered at an address:
 * its instructions in order, within fixed bounds.
 */
#ifndef PYSCOPE_X86DIS_H
#define PYSCOPE_X86DIS_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "target/elf_file.h"

/* Bounds of one prefix walk. */
#define X86DIS_PREFIX_MAX_INSNS 64
#define X86DIS_PREFIX_MAX_BYTES 512

/*
 * Open a handle with details.  att: AT&T syntax, as objdump prints it;
 * otherwise Intel, whose operand order the details follow.  -ENOTSUP if
 * capstone cannot.
 */
int x86dis_open(csh *cs, bool att);
/* Can control leave the straight line at in (jump, call, return, trap, transaction)? */
bool x86dis_is_flow(csh cs, const cs_insn *in);
/* "mnemonic operands", truncated to n: for people. */
void x86dis_describe(const cs_insn *in, char *buf, size_t n);

struct x86dis_prefix {
	csh cs;			/* AT&T syntax */
	cs_insn *in;
	uint64_t start;
	uint64_t a;		/* the next instruction's address */
	const uint8_t *p;
	size_t avail;
	unsigned n;		/* instructions decoded */
};

/*
 * Start a walk at start: -EFAULT if it is not in an executable section,
 * -ENOTSUP without capstone, -ENOMEM.  On success, close it.
 */
int x86dis_prefix__open(struct x86dis_prefix *px, const struct elf_file *ef, uint64_t start);
/*
 * The next instruction (valid until the next call), or NULL: at bytes that
 * do not decode (at px->a), or at the bound (x86dis_prefix__at_limit).
 */
const cs_insn *x86dis_prefix__next(struct x86dis_prefix *px);
bool x86dis_prefix__at_limit(const struct x86dis_prefix *px);
void x86dis_prefix__close(struct x86dis_prefix *px);

#endif
