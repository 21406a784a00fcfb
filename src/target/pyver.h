/* SPDX-License-Identifier: MIT */
/*
 * Which CPython an ELF file holds: its version, read from the file (the
 * Py_Version symbol, the _Py_DebugOffsets cookie, or the string that
 * Py_GetVersion() formats).  Which versions pyscope knows is the offsets
 * layer's business (target/offsets.h).
 */
#ifndef PYSCOPE_PYVER_H
#define PYSCOPE_PYVER_H

#include <stddef.h>
#include <stdint.h>

struct elf_file;

struct pyver {
	unsigned major, minor, micro;
	unsigned level;		/* 0xA alpha, 0xB beta, 0xC rc, 0xF final */
};

static inline struct pyver pyver_from_hex(uint32_t hex)
{
	struct pyver v = { hex >> 24, (hex >> 16) & 0xff, (hex >> 8) & 0xff, (hex >> 4) & 0xf };
	return v;
}

static inline uint32_t pyver_key(struct pyver v)
{
	return (v.major << 16) | (v.minor << 8) | v.micro;
}

/* The version in ef, and how it was found (for `pyscope info`); -ENOENT if none. */
int pyver_detect(const struct elf_file *ef, struct pyver *v, char *how, size_t howlen);

#endif
