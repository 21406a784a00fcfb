// SPDX-License-Identifier: MIT
#include "target/elf_tables.h"
#include "util/util.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#ifndef R_X86_64_RELATIVE
#define R_X86_64_RELATIVE 8
#endif

static int rel_cmp(const void *a, const void *b)
{
	const struct elf_rel *x = a, *y = b;

	return x->where < y->where ? -1 : x->where > y->where;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	void *n;
	size_t c;

	if (need <= *cap)
		return 0;
	c = MAX(*cap * 2, need + 16);
	n = realloc(*arr, c * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = c;
	return 0;
}

/* Entry i of a table section into t; 0 when it is skipped. */
typedef int (*entry_fn)(struct elf_tables *t, Elf_Data *data, const GElf_Shdr *sh, int i);

/* Every entry of a table section: symbols, relocations, dynamic entries. */
static int load_table(struct elf_tables *t, Elf_Scn *scn, const GElf_Shdr *sh, entry_fn add)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i;
	int err = 0;

	if (!data || !sh->sh_entsize)
		return 0;
	n = data->d_size / sh->sh_entsize;
	for (i = 0; i < n && !err; i++)
		err = add(t, data, sh, (int)i);
	return err;
}

static int add_symbol(struct elf_tables *t, Elf_Data *data, const GElf_Shdr *sh, int i)
{
	struct elf_sym s;
	GElf_Sym sym;

	if (!gelf_getsym(data, i, &sym))
		return 0;
	s.name = elf_strptr(t->elf, sh->sh_link, sym.st_name);
	if (!s.name || !*s.name)
		return 0;
	s.value = sym.st_value;
	s.size = sym.st_size;
	s.type = GELF_ST_TYPE(sym.st_info);
	s.bind = GELF_ST_BIND(sym.st_info);
	s.dynamic = sh->sh_type == SHT_DYNSYM;
	return symtab__add(&t->syms, &s);
}

/* Only R_X86_64_RELATIVE: what a pointer in the image holds once loaded at 0. */
static int add_reloc(struct elf_tables *t, Elf_Data *data, const GElf_Shdr *sh, int i)
{
	GElf_Rela r;
	int err;

	(void)sh;
	if (!gelf_getrela(data, i, &r) || GELF_R_TYPE(r.r_info) != R_X86_64_RELATIVE)
		return 0;
	err = grow((void **)&t->rels, &t->caprels, t->nrels + 1, sizeof(*t->rels));
	if (err)
		return err;
	t->rels[t->nrels].where = r.r_offset;
	t->rels[t->nrels].addend = (uint64_t)r.r_addend;
	t->nrels++;
	return 0;
}

/* Only DT_NEEDED: the libraries the file links against. */
static int add_needed(struct elf_tables *t, Elf_Data *data, const GElf_Shdr *sh, int i)
{
	GElf_Dyn d;
	const char *s;
	int err;

	if (!gelf_getdyn(data, i, &d) || d.d_tag != DT_NEEDED)
		return 0;
	s = elf_strptr(t->elf, sh->sh_link, d.d_un.d_val);
	if (!s)
		return 0;
	err = grow((void **)&t->needed, &t->capneeded, t->nneeded + 1, sizeof(*t->needed));
	if (err)
		return err;
	t->needed[t->nneeded] = strdup(s);
	if (!t->needed[t->nneeded])
		return -ENOMEM;
	t->nneeded++;
	return 0;
}

/* The SystemTap probes in a .note.stapsdt section. */
static int load_usdt(struct elf_tables *t, Elf_Scn *scn, uint64_t base_addr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t offset = 0, name_off, desc_off;
	GElf_Nhdr nh;
	int err;

	if (!data)
		return 0;
	while ((offset = gelf_getnote(data, offset, &nh, &name_off, &desc_off)) > 0) {
		const char *buf = data->d_buf;

		if (!usdt_is_note(nh.n_type, buf + name_off, nh.n_namesz, nh.n_descsz))
			continue;
		err = grow((void **)&t->notes, &t->capnotes, t->nnotes + 1, sizeof(*t->notes));
		if (err)
			return err;
		if (!usdt_parse(buf + desc_off, nh.n_descsz, base_addr, &t->notes[t->nnotes]))
			t->nnotes++;
	}
	return 0;
}

/* The PT_LOAD segments: file offsets <-> virtual addresses. */
static int load_segments(struct elf_tables *t)
{
	size_t phnum, i;

	if (elf_getphdrnum(t->elf, &phnum))
		phnum = 0;
	t->segs = calloc(phnum ? phnum : 1, sizeof(*t->segs));
	if (!t->segs)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(t->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		t->segs[t->nsegs++] = (struct elf_seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset,
							ph.p_filesz };
	}
	return 0;
}

/* The section headers; *stapsdt_base: the address of .stapsdt.base, if any. */
static int load_sections(struct elf_tables *t, size_t shstrndx, uint64_t *stapsdt_base)
{
	Elf_Scn *scn = NULL;
	size_t i = 0;

	if (elf_getshdrnum(t->elf, &t->nsects))
		return -ENOEXEC;
	t->sects = calloc(t->nsects ? t->nsects : 1, sizeof(*t->sects));
	if (!t->sects)
		return -ENOMEM;
	while ((scn = elf_nextscn(t->elf, scn)) && i < t->nsects) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(t->elf, shstrndx, sh.sh_name);
		t->sects[i].name = strdup(name ? name : "");
		if (!t->sects[i].name)
			return -ENOMEM;
		t->sects[i].addr = sh.sh_addr;
		t->sects[i].size = sh.sh_size;
		t->sects[i].offset = sh.sh_offset;
		t->sects[i].type = sh.sh_type;
		t->sects[i].flags = sh.sh_flags;
		if (name && !strcmp(name, ".stapsdt.base"))
			*stapsdt_base = sh.sh_addr;
		i++;
	}
	t->nsects = i;
	return 0;
}

/* What the sections hold: symbols, relocations, USDT notes, DT_NEEDED entries. */
static int load_contents(struct elf_tables *t, size_t shstrndx, uint64_t stapsdt_base)
{
	Elf_Scn *scn = NULL;
	int err = 0;

	while (!err && (scn = elf_nextscn(t->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(t->elf, shstrndx, sh.sh_name);
		switch (sh.sh_type) {
		case SHT_SYMTAB:
			t->has_symtab = true;
			/* fallthrough */
		case SHT_DYNSYM:
			err = load_table(t, scn, &sh, add_symbol);
			break;
		case SHT_RELA:
			err = load_table(t, scn, &sh, add_reloc);
			break;
		case SHT_NOTE:
			if (name && !strcmp(name, ".note.stapsdt"))
				err = load_usdt(t, scn, stapsdt_base);
			break;
		case SHT_DYNAMIC:
			err = load_table(t, scn, &sh, add_needed);
			break;
		default:
			break;
		}
	}
	return err;
}

int elf_tables__load(struct elf_tables *t, const void *image, size_t len)
{
	size_t shstrndx;
	uint64_t stapsdt_base = 0;
	GElf_Ehdr eh;
	int err;

	memset(t, 0, sizeof(*t));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	t->elf = elf_memory((char *)image, len);
	if (!t->elf)
		return -ENOEXEC;
	if (elf_kind(t->elf) != ELF_K_ELF || !gelf_getehdr(t->elf, &eh) ||
	    gelf_getclass(t->elf) != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return -ENOEXEC;
	t->e_type = eh.e_type;
	if (elf_getshdrstrndx(t->elf, &shstrndx))
		return -ENOEXEC;
	err = load_segments(t);
	if (!err)
		err = load_sections(t, shstrndx, &stapsdt_base);
	if (!err)
		err = load_contents(t, shstrndx, stapsdt_base);
	if (err)
		return err;
	symtab__sort(&t->syms);
	if (t->nrels)
		qsort(t->rels, t->nrels, sizeof(*t->rels), rel_cmp);
	return 0;
}

const struct elf_rel *elf_tables__rel_at(const struct elf_tables *t, uint64_t where)
{
	struct elf_rel key = { .where = where };

	/* bsearch() must not see a NULL array, even an empty one */
	if (!t->nrels)
		return NULL;
	return bsearch(&key, t->rels, t->nrels, sizeof(*t->rels), rel_cmp);
}

void elf_tables__free(struct elf_tables *t)
{
	size_t i;

	for (i = 0; i < t->nsects; i++)
		free(t->sects[i].name);
	for (i = 0; i < t->nneeded; i++)
		free(t->needed[i]);
	free(t->needed);
	symtab__free(&t->syms);
	free(t->sects);
	free(t->segs);
	free(t->rels);
	free(t->notes);
	if (t->elf)
		elf_end(t->elf);
	memset(t, 0, sizeof(*t));
}

