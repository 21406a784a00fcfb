/* SPDX-License-Identifier: MIT */
/*
 * The name hash both sides agree on: 64-bit FNV-1a over the bytes of a
 * name, stopping at NUL or after PS_HASH_MAX bytes.  The kernel looks names
 * up by this hash; the user side checks the full name afterwards, so a
 * collision can cost time but never a wrong count.
 */
#ifndef PYSCOPE_PSHASH_H
#define PYSCOPE_PSHASH_H

#include "pyscope.h"

#define PS_HASH_MAX PS_QUAL_LEN
#define PS_FNV_OFFSET 0xcbf29ce484222325ULL
#define PS_FNV_PRIME 0x100000001b3ULL

/* The hash of at most n bytes of s (n <= PS_HASH_MAX). */
static inline __u64 ps_hash_strn(const char *s, int n)
{
	__u64 h = PS_FNV_OFFSET;

	for (int i = 0; i < PS_HASH_MAX; i++) {
		if (i >= n)
			break;
		if (!s[i])
			break;
		h ^= (__u8)s[i];
		h *= PS_FNV_PRIME;
	}
	return h;
}

static inline __u64 ps_hash_str(const char *s)
{
	return ps_hash_strn(s, PS_HASH_MAX);
}

#endif /* PYSCOPE_PSHASH_H */
