// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the ELF reader (symbols, sections, reads with
 * relocations, USDT notes, DT_NEEDED) and the interpreter-model code that
 * runs on untrusted binaries before anything is attached: version
 * detection and the opcode-table scan.  Seeds are small real binaries and
 * trimmed interpreter images (tests/fuzz/trim_elf.py).
 */
#include "target/elf_file.h"
#include "target/offsets.h"
#include "target/opcode_table.h"
#include "target/pyver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const sections[] = {
	".text", ".rodata", ".data.rel.ro", ".data", ".bss", ".PyRuntime", ".stapsdt.base",
	".note.stapsdt", ".dynsym", "",
};

static void terminated(const char *s, size_t n)
{
	if (strnlen(s, n) == n)
		abort();
}

static void exercise(const struct elf_file *ef)
{
	const struct usdt_note *notes;
	uint64_t addr, size, off, va, ptrs[4], found;
	unsigned char buf[64];
	char str[32], how[48];
	struct pyver v;
	enum pyoff_source src;
	const struct py_offsets *tab;
	size_t i, n;

	n = elf_file__nsyms(ef);
	for (i = 0; i < n && i < 4096; i++) {
		const struct elf_sym *s = elf_file__sym_at(ef, i), *t;

		if (!s || !s->name)
			abort();
		/* lookup by name finds a symbol of that name */
		t = elf_file__sym(ef, s->name);
		if (!t || strcmp(t->name, s->name))
			abort();
		(void)elf_file__sym_local(ef, s->name);
		if (i % 7)
			continue;
		(void)elf_file__read(ef, s->value, buf, s->size < sizeof(buf) ? s->size : sizeof(buf));
		(void)elf_file__read_ptrs(ef, s->value, ptrs, 4);
		if (!elf_file__read_str(ef, s->value, str, sizeof(str)))
			terminated(str, sizeof(str));
		if (!elf_file__vaddr_to_off(ef, s->value, &off))
			(void)elf_file__off_to_vaddr(ef, off, &va);
		(void)elf_file__in_text(ef, s->value);
	}
	if (elf_file__sym_at(ef, n))
		abort();
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if (elf_file__section(ef, sections[i], &addr, &size))
			continue;
		(void)elf_file__read(ef, addr, buf, sizeof(buf));
		(void)elf_file__read(ef, addr + size - 8, buf, 8);
		(void)elf_file__read_ptrs(ef, addr, ptrs, 4);
		(void)elf_file__in_text(ef, addr);
	}
	n = elf_file__usdt(ef, &notes);
	for (i = 0; i < n; i++) {
		terminated(notes[i].provider, sizeof(notes[i].provider));
		terminated(notes[i].name, sizeof(notes[i].name));
		terminated(notes[i].args, sizeof(notes[i].args));
		if (!elf_file__usdt_find(ef, notes[i].provider, notes[i].name))
			abort();
	}
	(void)elf_file__needed(ef, "libpython");
	(void)elf_file__needed(ef, "");
	(void)elf_file__has_symtab(ef);
	(void)elf_file__is_exec(ef);

	if (pyver_detect(ef, &v, how, sizeof(how)))
		v.minor = 12;	/* still scan, with a mask from the table */
	else
		terminated(how, sizeof(how));
	tab = pyoff_lookup((struct pyver){ 3, v.minor, v.micro, 0xf }, &src);
	if (!tab)
		tab = &pyoff_table[pyoff_table_len - 1];
	if (!opcode_table_scan(ef, tab->op_defined, &found)) {
		uint64_t t[256];

		/* a table it reports is readable and points into code */
		if (elf_file__read_ptrs(ef, found, t, 256))
			abort();
		for (i = 0; i < 256; i++)
			if (!elf_file__in_text(ef, t[i]))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file *ef = NULL;
	void *copy;

	/* libelf wants an aligned, writable image, as elf_file__open gives it */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (!elf_file__open_mem(copy, size, &ef)) {
		exercise(ef);
		elf_file__free(ef);
	} else if (ef) {
		abort();	/* failure leaves nothing behind */
	}
	free(copy);
	return 0;
}
