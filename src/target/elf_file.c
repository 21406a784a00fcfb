// SPDX-License-Identifier: MIT
#include "target/elf_file.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef R_X86_64_RELATIVE
#define R_X86_64_RELATIVE 8
#endif

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

struct elf_file {
	unsigned refs;			/* owners besides the first (elf_file__ref) */
	int fd;
	Elf *elf;
	const unsigned char *image;	/* whole file, for reads */
	size_t image_len;
	void *mapped;			/* owned private mapping when opened from a path */
	uint16_t e_type;
	bool has_symtab;
	struct elf_sym *syms;
	size_t nsyms;
	struct elf_sect *sects;
	size_t nsects;
	struct elf_seg *segs;
	size_t nsegs;
	struct elf_rel *rels;		/* sorted by where */
	size_t nrels;
	struct usdt_note *notes;
	size_t nnotes;
	char **needed;
	size_t nneeded;
};

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

static int load_symbols(struct elf_file *ef, Elf_Scn *scn, GElf_Shdr *sh, size_t *cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i;
	int err;

	if (!data || !sh->sh_entsize)
		return 0;
	n = data->d_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		struct elf_sym *s;
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		name = elf_strptr(ef->elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		err = grow((void **)&ef->syms, cap, ef->nsyms + 1, sizeof(*ef->syms));
		if (err)
			return err;
		s = &ef->syms[ef->nsyms];
		s->name = strdup(name);
		if (!s->name)
			return -ENOMEM;
		s->value = sym.st_value;
		s->size = sym.st_size;
		s->type = GELF_ST_TYPE(sym.st_info);
		s->bind = GELF_ST_BIND(sym.st_info);
		s->dynamic = sh->sh_type == SHT_DYNSYM;
		ef->nsyms++;
	}
	return 0;
}

static int load_relocs(struct elf_file *ef, Elf_Scn *scn, GElf_Shdr *sh, size_t *cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i;
	int err;

	if (!data || !sh->sh_entsize)
		return 0;
	n = data->d_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Rela r;

		if (!gelf_getrela(data, (int)i, &r))
			continue;
		if (GELF_R_TYPE(r.r_info) != R_X86_64_RELATIVE)
			continue;
		err = grow((void **)&ef->rels, cap, ef->nrels + 1, sizeof(*ef->rels));
		if (err)
			return err;
		ef->rels[ef->nrels].where = r.r_offset;
		ef->rels[ef->nrels].addend = (uint64_t)r.r_addend;
		ef->nrels++;
	}
	return 0;
}

/* Notes are {namesz, descsz, type, name (aligned 4), desc (aligned 4)}. */
static int load_usdt(struct elf_file *ef, Elf_Scn *scn, uint64_t base_addr, size_t *cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t offset = 0, name_off, desc_off;
	GElf_Nhdr nh;
	int err;

	if (!data)
		return 0;
	while ((offset = gelf_getnote(data, offset, &nh, &name_off, &desc_off)) > 0) {
		const char *desc = (const char *)data->d_buf + desc_off;
		const char *p, *end = desc + nh.n_descsz;
		struct usdt_note *u;
		uint64_t pc, base, sema;

		if (nh.n_type != 3 || nh.n_namesz != 8 ||
		    memcmp((const char *)data->d_buf + name_off, "stapsdt", 8) ||
		    nh.n_descsz < 3 * 8 + 3)
			continue;
		memcpy(&pc, desc, 8);
		memcpy(&base, desc + 8, 8);
		memcpy(&sema, desc + 16, 8);
		err = grow((void **)&ef->notes, cap, ef->nnotes + 1, sizeof(*ef->notes));
		if (err)
			return err;
		u = &ef->notes[ef->nnotes];
		memset(u, 0, sizeof(*u));
		/* prelink may have moved the binary: rebase on .stapsdt.base */
		if (base_addr && base) {
			pc += base_addr - base;
			if (sema)
				sema += base_addr - base;
		}
		u->pc = pc;
		u->sema = sema;
		p = desc + 24;
		str_copy(u->provider, p, MIN(sizeof(u->provider), (size_t)(end - p)));
		p += strnlen(p, (size_t)(end - p)) + 1;
		if (p >= end)
			continue;
		str_copy(u->name, p, MIN(sizeof(u->name), (size_t)(end - p)));
		p += strnlen(p, (size_t)(end - p)) + 1;
		if (p < end)
			str_copy(u->args, p, MIN(sizeof(u->args), (size_t)(end - p)));
		ef->nnotes++;
	}
	return 0;
}

static int load_dynamic(struct elf_file *ef, Elf_Scn *scn, GElf_Shdr *sh, size_t *cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i;
	int err;

	if (!data || !sh->sh_entsize)
		return 0;
	n = data->d_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Dyn d;
		const char *s;

		if (!gelf_getdyn(data, (int)i, &d) || d.d_tag != DT_NEEDED)
			continue;
		s = elf_strptr(ef->elf, sh->sh_link, d.d_un.d_val);
		if (!s)
			continue;
		err = grow((void **)&ef->needed, cap, ef->nneeded + 1, sizeof(*ef->needed));
		if (err)
			return err;
		ef->needed[ef->nneeded] = strdup(s);
		if (!ef->needed[ef->nneeded])
			return -ENOMEM;
		ef->nneeded++;
	}
	return 0;
}

static int parse(struct elf_file *ef)
{
	size_t shstrndx, phnum, i, symcap = 0, relcap = 0, notecap = 0, needcap = 0;
	uint64_t stapsdt_base = 0;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	int err = 0;

	if (elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &eh) ||
	    gelf_getclass(ef->elf) != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return -ENOEXEC;
	ef->e_type = eh.e_type;
	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		return -ENOEXEC;
	if (elf_getphdrnum(ef->elf, &phnum))
		phnum = 0;
	ef->segs = calloc(phnum ? phnum : 1, sizeof(*ef->segs));
	if (!ef->segs)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(ef->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		ef->segs[ef->nsegs++] = (struct elf_seg){ ph.p_vaddr, ph.p_memsz, ph.p_offset,
							  ph.p_filesz };
	}

	if (elf_getshdrnum(ef->elf, &ef->nsects))
		return -ENOEXEC;
	ef->sects = calloc(ef->nsects ? ef->nsects : 1, sizeof(*ef->sects));
	if (!ef->sects)
		return -ENOMEM;
	i = 0;
	while ((scn = elf_nextscn(ef->elf, scn)) && i < ef->nsects) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(ef->elf, shstrndx, sh.sh_name);
		ef->sects[i].name = strdup(name ? name : "");
		if (!ef->sects[i].name)
			return -ENOMEM;
		ef->sects[i].addr = sh.sh_addr;
		ef->sects[i].size = sh.sh_size;
		ef->sects[i].offset = sh.sh_offset;
		ef->sects[i].type = sh.sh_type;
		ef->sects[i].flags = sh.sh_flags;
		if (name && !strcmp(name, ".stapsdt.base"))
			stapsdt_base = sh.sh_addr;
		i++;
	}
	ef->nsects = i;

	scn = NULL;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(ef->elf, shstrndx, sh.sh_name);
		switch (sh.sh_type) {
		case SHT_SYMTAB:
			ef->has_symtab = true;
			/* fallthrough */
		case SHT_DYNSYM:
			err = load_symbols(ef, scn, &sh, &symcap);
			break;
		case SHT_RELA:
			err = load_relocs(ef, scn, &sh, &relcap);
			break;
		case SHT_NOTE:
			if (name && !strcmp(name, ".note.stapsdt"))
				err = load_usdt(ef, scn, stapsdt_base, &notecap);
			break;
		case SHT_DYNAMIC:
			err = load_dynamic(ef, scn, &sh, &needcap);
			break;
		default:
			break;
		}
		if (err)
			return err;
	}
	if (ef->nsyms)
		qsort(ef->syms, ef->nsyms, sizeof(*ef->syms), sym_cmp);
	if (ef->nrels)
		qsort(ef->rels, ef->nrels, sizeof(*ef->rels), rel_cmp);
	return 0;
}

static int open_common(struct elf_file *ef)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	ef->elf = elf_memory((char *)ef->image, ef->image_len);
	if (!ef->elf)
		return -ENOEXEC;
	return parse(ef);
}

/*
 * Map the file rather than read it: libpython with its symbols is 15-31 MiB
 * and only the symbol tables, a few sections and the eval loop's code are
 * ever touched, so only those pages become resident.
 */
int elf_file__open(const char *path, struct elf_file **out)
{
	struct elf_file *ef;
	struct stat st;
	void *map;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	/* Python binaries are tens of MiB at most; refuse absurd or empty files. */
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (1ll << 30)) {
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	/*
	 * elf_memory() works in ELF_C_READ_MMAP_PRIVATE mode and may convert
	 * data in place: writable, private (copy-on-write) pages.
	 */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	err = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (err)
		return err;
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		munmap(map, (size_t)st.st_size);
		return -ENOMEM;
	}
	ef->fd = -1;
	ef->mapped = map;
	ef->image = map;
	ef->image_len = (size_t)st.st_size;
	err = open_common(ef);
	if (err) {
		elf_file__free(ef);
		return err;
	}
	*out = ef;
	return 0;
}

int elf_file__open_mem(const void *buf, size_t len, struct elf_file **out)
{
	struct elf_file *ef;
	int err;

	*out = NULL;
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return -ENOMEM;
	ef->fd = -1;
	ef->image = buf;
	ef->image_len = len;
	err = open_common(ef);
	if (err) {
		elf_file__free(ef);
		return err;
	}
	*out = ef;
	return 0;
}

struct elf_file *elf_file__ref(struct elf_file *ef)
{
	if (ef)
		ef->refs++;
	return ef;
}

void elf_file__free(struct elf_file *ef)
{
	size_t i;

	if (!ef)
		return;
	if (ef->refs) {
		ef->refs--;
		return;
	}
	for (i = 0; i < ef->nsyms; i++)
		free(ef->syms[i].name);
	for (i = 0; i < ef->nsects; i++)
		free(ef->sects[i].name);
	for (i = 0; i < ef->nneeded; i++)
		free(ef->needed[i]);
	free(ef->needed);
	free(ef->syms);
	free(ef->sects);
	free(ef->segs);
	free(ef->rels);
	free(ef->notes);
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->mapped)
		munmap(ef->mapped, ef->image_len);
	free(ef);
}

bool elf_file__has_symtab(const struct elf_file *ef)
{
	return ef->has_symtab;
}

bool elf_file__is_exec(const struct elf_file *ef)
{
	return ef->e_type == ET_EXEC;
}

size_t elf_file__nsyms(const struct elf_file *ef)
{
	return ef->nsyms;
}

const struct elf_sym *elf_file__sym_at(const struct elf_file *ef, size_t i)
{
	return i < ef->nsyms ? &ef->syms[i] : NULL;
}

/* Index of the first symbol whose name is >= name. */
static size_t lower_bound(const struct elf_file *ef, const char *name)
{
	size_t lo = 0, hi = ef->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ef->syms[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct elf_sym *elf_file__sym(const struct elf_file *ef, const char *name)
{
	size_t i = lower_bound(ef, name);

	if (i < ef->nsyms && !strcmp(ef->syms[i].name, name))
		return &ef->syms[i];
	return NULL;
}

const struct elf_sym *elf_file__sym_local(const struct elf_file *ef, const char *name)
{
	size_t len = strlen(name), i;
	const struct elf_sym *s = elf_file__sym(ef, name);

	if (s && s->value)
		return s;
	for (i = lower_bound(ef, name); i < ef->nsyms; i++) {
		const char *n = ef->syms[i].name;

		if (strncmp(n, name, len))
			break;
		if (n[len] == '.' && n[len + 1] >= '0' && n[len + 1] <= '9' && ef->syms[i].value)
			return &ef->syms[i];
	}
	return NULL;
}

int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	size_t i;

	for (i = 0; i < ef->nsects; i++) {
		const struct elf_sect *s = &ef->sects[i];

		if (!(s->flags & SHF_ALLOC) || vaddr < s->addr || len > s->size ||
		    vaddr - s->addr > s->size - len)
			continue;
		if (s->type == SHT_NOBITS) {
			memset(buf, 0, len);
			return 0;
		}
		if (s->offset > ef->image_len || vaddr - s->addr + len > ef->image_len - s->offset)
			return -EFAULT;
		memcpy(buf, ef->image + s->offset + (vaddr - s->addr), len);
		return 0;
	}
	return -EFAULT;
}

int elf_file__read_ptrs(const struct elf_file *ef, uint64_t vaddr, uint64_t *out, size_t n)
{
	size_t i;
	int err;

	err = elf_file__read(ef, vaddr, out, n * sizeof(*out));
	if (err)
		return err;
	/* bsearch() must not see a NULL array, even an empty one */
	for (i = 0; i < n && ef->nrels; i++) {
		struct elf_rel key = { .where = vaddr + i * 8 };
		struct elf_rel *r = bsearch(&key, ef->rels, ef->nrels, sizeof(*ef->rels), rel_cmp);

		if (r)
			out[i] = r->addend;
	}
	return 0;
}

int elf_file__read_str(const struct elf_file *ef, uint64_t vaddr, char *buf, size_t n)
{
	size_t i;

	if (!n)
		return -EINVAL;
	for (i = 0; i + 1 < n; i++) {
		if (elf_file__read(ef, vaddr + i, &buf[i], 1))
			return -EFAULT;
		if (!buf[i])
			return 0;
	}
	buf[i] = '\0';
	return 0;
}

int elf_file__vaddr_to_off(const struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	size_t i;

	for (i = 0; i < ef->nsegs; i++) {
		const struct elf_seg *s = &ef->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz) {
			*off = vaddr - s->vaddr + s->offset;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__off_to_vaddr(const struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	size_t i;

	for (i = 0; i < ef->nsegs; i++) {
		const struct elf_seg *s = &ef->segs[i];

		if (off >= s->offset && off - s->offset < s->filesz) {
			*vaddr = off - s->offset + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__section(const struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size)
{
	size_t i;

	for (i = 0; i < ef->nsects; i++) {
		if (!strcmp(ef->sects[i].name, name)) {
			*addr = ef->sects[i].addr;
			*size = ef->sects[i].size;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__section_data(const struct elf_file *ef, const char *name, uint64_t *addr,
			   uint64_t *size)
{
	size_t i;

	for (i = 0; i < ef->nsects; i++) {
		const struct elf_sect *s = &ef->sects[i];

		if (strcmp(s->name, name))
			continue;
		*addr = s->addr;
		if (s->type == SHT_NOBITS || s->offset >= ef->image_len)
			*size = 0;
		else
			*size = MIN(s->size, ef->image_len - s->offset);
		/* and addr + size must not wrap */
		*size = MIN(*size, UINT64_MAX - s->addr);
		return 0;
	}
	return -ENOENT;
}

bool elf_file__in_text(const struct elf_file *ef, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < ef->nsects; i++) {
		const struct elf_sect *s = &ef->sects[i];

		if ((s->flags & SHF_EXECINSTR) && vaddr >= s->addr && vaddr - s->addr < s->size)
			return true;
	}
	return false;
}

int elf_file__text_bytes(const struct elf_file *ef, uint64_t vaddr, const uint8_t **p,
			 size_t *avail)
{
	size_t i;

	for (i = 0; i < ef->nsects; i++) {
		const struct elf_sect *s = &ef->sects[i];

		if (!(s->flags & SHF_EXECINSTR) || s->type == SHT_NOBITS || vaddr < s->addr ||
		    vaddr - s->addr >= s->size)
			continue;
		if (s->offset > ef->image_len || s->size > ef->image_len - s->offset)
			return -EFAULT;
		*p = ef->image + s->offset + (vaddr - s->addr);
		*avail = (size_t)(s->size - (vaddr - s->addr));
		return 0;
	}
	return -EFAULT;
}

size_t elf_file__usdt(const struct elf_file *ef, const struct usdt_note **notes)
{
	*notes = ef->notes;
	return ef->nnotes;
}

const struct usdt_note *elf_file__usdt_find(const struct elf_file *ef, const char *provider,
					    const char *name)
{
	size_t i;

	for (i = 0; i < ef->nnotes; i++) {
		if (!strcmp(ef->notes[i].provider, provider) && !strcmp(ef->notes[i].name, name))
			return &ef->notes[i];
	}
	return NULL;
}

const char *elf_file__needed(const struct elf_file *ef, const char *prefix)
{
	size_t i;

	for (i = 0; i < ef->nneeded; i++) {
		if (str_starts(ef->needed[i], prefix))
			return ef->needed[i];
	}
	return NULL;
}
