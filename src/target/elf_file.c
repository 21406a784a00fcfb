// SPDX-License-Identifier: MIT
#include "target/elf_file.h"
#include "target/elf_tables.h"
#include "target/symtab.h"
#include "util/util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct elf_file {
	unsigned refs;			/* owners besides the first (elf_file__ref) */
	const unsigned char *image;	/* whole file, for reads */
	size_t image_len;
	void *mapped;			/* owned private mapping when opened from a path */
	struct elf_tables t;
};

/* An elf_file over image (owned when mapped is set). */
static int open_image(const void *image, size_t len, void *mapped, struct elf_file **out)
{
	struct elf_file *ef;
	int err;

	*out = NULL;
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		if (mapped)
			munmap(mapped, len);
		return -ENOMEM;
	}
	ef->mapped = mapped;
	ef->image = image;
	ef->image_len = len;
	err = elf_tables__load(&ef->t, image, len);
	if (err) {
		elf_file__free(ef);
		return err;
	}
	*out = ef;
	return 0;
}

/*
 * Map the file rather than read it: libpython with its symbols is 15-31 MiB
 * and only the symbol tables, a few sections and the eval loop's code are
 * ever touched, so only those pages become resident.
 */
int elf_file__open(const char *path, struct elf_file **out)
{
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
	return open_image(map, (size_t)st.st_size, map, out);
}

int elf_file__open_mem(const void *buf, size_t len, struct elf_file **out)
{
	return open_image(buf, len, NULL, out);
}

struct elf_file *elf_file__ref(struct elf_file *ef)
{
	if (ef)
		ef->refs++;
	return ef;
}

void elf_file__free(struct elf_file *ef)
{
	if (!ef)
		return;
	if (ef->refs) {
		ef->refs--;
		return;
	}
	elf_tables__free(&ef->t);
	if (ef->mapped)
		munmap(ef->mapped, ef->image_len);
	free(ef);
}

bool elf_file__has_symtab(const struct elf_file *ef)
{
	return ef->t.has_symtab;
}

bool elf_file__is_exec(const struct elf_file *ef)
{
	return ef->t.e_type == ET_EXEC;
}

size_t elf_file__nsyms(const struct elf_file *ef)
{
	return ef->t.syms.n;
}

const struct elf_sym *elf_file__sym_at(const struct elf_file *ef, size_t i)
{
	return i < ef->t.syms.n ? &ef->t.syms.v[i] : NULL;
}

const struct elf_sym *elf_file__sym(const struct elf_file *ef, const char *name)
{
	return symtab__find(&ef->t.syms, name);
}

const struct elf_sym *elf_file__sym_local(const struct elf_file *ef, const char *name)
{
	return symtab__find_local(&ef->t.syms, name);
}

int elf_file__read(const struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	size_t i;

	for (i = 0; i < ef->t.nsects; i++) {
		const struct elf_sect *s = &ef->t.sects[i];

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
	for (i = 0; i < n; i++) {
		const struct elf_rel *r = elf_tables__rel_at(&ef->t, vaddr + i * 8);

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

/* x through the PT_LOAD segment holding it: a virtual address to a file offset, or back. */
static int seg_translate(const struct elf_file *ef, uint64_t x, bool from_vaddr, uint64_t *out)
{
	size_t i;

	for (i = 0; i < ef->t.nsegs; i++) {
		const struct elf_seg *s = &ef->t.segs[i];
		uint64_t from = from_vaddr ? s->vaddr : s->offset;

		if (x >= from && x - from < s->filesz) {
			*out = x - from + (from_vaddr ? s->offset : s->vaddr);
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__vaddr_to_off(const struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	return seg_translate(ef, vaddr, true, off);
}

int elf_file__off_to_vaddr(const struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	return seg_translate(ef, off, false, vaddr);
}

/* The first section called name, or NULL. */
static const struct elf_sect *sect_named(const struct elf_file *ef, const char *name)
{
	size_t i;

	for (i = 0; i < ef->t.nsects; i++)
		if (!strcmp(ef->t.sects[i].name, name))
			return &ef->t.sects[i];
	return NULL;
}

int elf_file__section(const struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size)
{
	const struct elf_sect *s = sect_named(ef, name);

	if (!s)
		return -ENOENT;
	*addr = s->addr;
	*size = s->size;
	return 0;
}

int elf_file__section_data(const struct elf_file *ef, const char *name, uint64_t *addr,
			   uint64_t *size)
{
	const struct elf_sect *s = sect_named(ef, name);

	if (!s)
		return -ENOENT;
	*addr = s->addr;
	if (s->type == SHT_NOBITS || s->offset >= ef->image_len)
		*size = 0;
	else
		*size = MIN(s->size, ef->image_len - s->offset);
	/* and addr + size must not wrap */
	*size = MIN(*size, UINT64_MAX - s->addr);
	return 0;
}

bool elf_file__in_text(const struct elf_file *ef, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < ef->t.nsects; i++) {
		const struct elf_sect *s = &ef->t.sects[i];

		if ((s->flags & SHF_EXECINSTR) && vaddr >= s->addr && vaddr - s->addr < s->size)
			return true;
	}
	return false;
}

int elf_file__text_bytes(const struct elf_file *ef, uint64_t vaddr, const uint8_t **p,
			 size_t *avail)
{
	size_t i;

	for (i = 0; i < ef->t.nsects; i++) {
		const struct elf_sect *s = &ef->t.sects[i];

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
	*notes = ef->t.notes;
	return ef->t.nnotes;
}

const struct usdt_note *elf_file__usdt_find(const struct elf_file *ef, const char *provider,
					    const char *name)
{
	size_t i;

	for (i = 0; i < ef->t.nnotes; i++) {
		const struct usdt_note *u = &ef->t.notes[i];

		if (!strcmp(u->provider, provider) && !strcmp(u->name, name))
			return u;
	}
	return NULL;
}

const char *elf_file__needed(const struct elf_file *ef, const char *prefix)
{
	size_t i;

	for (i = 0; i < ef->t.nneeded; i++) {
		if (str_starts(ef->t.needed[i], prefix))
			return ef->t.needed[i];
	}
	return NULL;
}
