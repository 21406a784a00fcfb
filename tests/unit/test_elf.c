// SPDX-License-Identifier: MIT
/* ELF reading and the interpreter model, on the real interpreters of this machine. */
#include "testutil.h"
#include "target/elf_file.h"
#include "target/opcode_table.h"
#include "target/pyrt.h"
#include "target/pyver.h"
#include "util/util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>

struct interp {
	const char *path;
	const char *version;
	bool stripped;
};

static const struct interp interps[] = {
	{ "/root/.pyenv/versions/3.8.18/lib/libpython3.8.so.1.0", "3.8.18", false },
	{ "/root/.pyenv/versions/3.9.18/lib/libpython3.9.so.1.0", "3.9.18", false },
	{ "/root/.pyenv/versions/3.10.13/lib/libpython3.10.so.1.0", "3.10.13", false },
	{ "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", "3.11.7", false },
	{ "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", "3.12.1", false },
	{ "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0", "3.13.0", false },
	{ "/usr/bin/python3.11", NULL, true },
};

static void test_versions_and_mechanisms(void **state)
{
	unsigned i, seen = 0;

	(void)state;
	for (i = 0; i < sizeof(interps) / sizeof(interps[0]); i++) {
		struct pyrt *rt = NULL;
		char err[256];

		if (access(interps[i].path, R_OK)) {
			fprintf(stderr, "skip: %s not present\n", interps[i].path);
			continue;
		}
		seen++;
		assert_int_equal(pyrt__from_file(interps[i].path, interps[i].path, &rt, err,
						 sizeof(err)), 0);
		if (interps[i].version)
			assert_string_equal(rt->version, interps[i].version);
		assert_int_equal(rt->stripped, interps[i].stripped);
		assert_true(rt->runtime != 0);
		assert_true(rt->eval != 0);
		assert_true(rt->code_dealloc != 0);
		if (rt->ver.minor <= 10) {
			assert_true(rt->mech[MECH_EVAL].ok);
			assert_false(rt->mech[MECH_RESUME].ok);
			assert_int_equal(rt->off.frame_kind, PYFRAME_OBJECT);
		} else {
			assert_false(rt->mech[MECH_EVAL].ok);
			assert_true(rt->mech[MECH_RESUME].ok);
			assert_true(rt->nhandlers >= 2);
			assert_int_equal(rt->off.frame_kind, PYFRAME_INTERP);
			/* every build can end frames: a symbol or the USDT probe */
			assert_true(rt->frame_clear || rt->has_usdt_return);
		}
		pyrt__free(rt);
	}
	assert_true(seen > 0);
}

/* The opcode-table scan must find what the symbol says, on unstripped builds. */
static void test_opcode_scan_matches_symbol(void **state)
{
	unsigned i, checked = 0;

	(void)state;
	for (i = 3; i < 6; i++) {
		struct pyrt *rt = NULL;
		uint64_t found = 0;
		char err[256];

		if (access(interps[i].path, R_OK))
			continue;
		assert_int_equal(pyrt__from_file(interps[i].path, interps[i].path, &rt, err,
						 sizeof(err)), 0);
		assert_true(strstr(rt->opcode_targets_how, "symbol") != NULL);
		assert_int_equal(opcode_table_scan(rt->ef, rt->off.op_defined, &found), 0);
		assert_int_equal(found, rt->opcode_targets);
		checked++;
		pyrt__free(rt);
	}
	assert_true(checked > 0);
}

static void test_debian_stripped(void **state)
{
	const char *p = "/usr/bin/python3.11";
	const struct usdt_note *u;
	struct pyrt *rt = NULL;
	char err[256];

	(void)state;
	REQUIRE_FILE(p);
	assert_int_equal(pyrt__from_file(p, p, &rt, err, sizeof(err)), 0);
	assert_int_equal(rt->ver.minor, 11);
	assert_true(strstr(rt->opcode_targets_how, "shape") != NULL);
	assert_true(rt->has_usdt_return);
	assert_true(rt->usdt_return.sema != 0);
	u = elf_file__usdt_find(rt->ef, "python", "function__entry");
	assert_non_null(u);
	assert_string_equal(u->provider, "python");
	assert_int_equal(rt->frame_clear, 0);
	pyrt__free(rt);
}

static void test_not_python_and_garbage(void **state)
{
	struct elf_file *ef = NULL;
	struct pyrt *rt = NULL;
	char err[256], junk[4096];
	int fd;

	(void)state;
	assert_int_equal(pyrt__from_file("/bin/sh", "/bin/sh", &rt, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "not a CPython"));
	memset(junk, 0x7f, sizeof(junk));
	assert_int_equal(elf_file__open_mem(junk, sizeof(junk), &ef), -ENOEXEC);
	assert_null(ef);
	assert_true(elf_file__open("/nonexistent", &ef) < 0);
	/* a truncated real ELF: open must fail cleanly or succeed, never crash */
	fd = open("/bin/sh", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	if (!elf_file__open_mem(junk, sizeof(junk), &ef)) {
		(void)elf_file__sym(ef, "main");
		elf_file__free(ef);
	}
}

static void test_unsupported_versions(void **state)
{
	const char *old[] = {
		"/root/.pyenv/versions/3.7.16/lib/libpython3.7m.so.1.0",
		"/root/.pyenv/versions/3.6.15/lib/libpython3.6m.so.1.0",
		"/root/.pyenv/versions/2.7.18/lib/libpython2.7.so.1.0",
	};
	unsigned i, seen = 0;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct pyrt *rt = NULL;
		char err[256];

		if (access(old[i], R_OK))
			continue;
		seen++;
		assert_int_equal(pyrt__from_file(old[i], old[i], &rt, err, sizeof(err)), -ENOTSUP);
		assert_non_null(strstr(err, "not supported"));
	}
	if (!seen)
		skip();
}

#ifndef TESTBIN
#define TESTBIN "build/tests"
#endif

/*
 * A Py_DEBUG build (its object header has two more pointers) and a
 * free-threaded 3.13 (_Py_DebugOffsets.free_threaded) are refused with the
 * reason, in one line; the fixtures are built from tests/unit/fixtures.
 */
static void test_refused_builds(void **state)
{
	struct pyrt *rt = NULL;
	char err[256];

	(void)state;
	REQUIRE_FILE(TESTBIN "/fake_debug.so");
	assert_int_equal(pyrt__from_file(TESTBIN "/fake_debug.so", "libpython3.12d.so", &rt, err,
					 sizeof(err)), -ENOTSUP);
	assert_null(rt);
	assert_non_null(strstr(err, "3.12.1 is a debug build (Py_DEBUG)"));
	assert_null(strchr(err, '\n'));
	REQUIRE_FILE(TESTBIN "/fake_ft.so");
	assert_int_equal(pyrt__from_file(TESTBIN "/fake_ft.so", "libpython3.13t.so", &rt, err,
					 sizeof(err)), -ENOTSUP);
	assert_null(rt);
	assert_non_null(strstr(err, "3.13.0 is a free-threaded build"));
	assert_null(strchr(err, '\n'));
}

#define SEEDS SRCDIR "/tests/fuzz/corpus/elf/"

/* The fuzzers' trimmed interpreter images still have what pyscope reads. */
static void test_trimmed_images(void **state)
{
	static const struct {
		const char *file, *version, *how;
		uint64_t table;		/* opcode table the scan must find, 0: none */
		size_t notes;
	} seeds[] = {
		{ "debian3.11-stripped-usdt", "3.11.2", "Py_Version symbol", 0x73af00, 8 },
		{ "py3.8-getversion", "3.8.18", "Py_GetVersion string", 0, 0 },
		{ "py3.10-getversion", "3.10.13", "Py_GetVersion string", 0, 0 },
		{ "py3.12-symbols", "3.12.1", "Py_Version symbol", 0x4cef20, 0 },
		{ "py3.13-debugoffsets", "3.13.0", "_Py_DebugOffsets", 0x4a0d20, 0 },
	};
	const struct usdt_note *notes;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char path[512], how[48], ver[32];
		const struct py_offsets *tab;
		enum pyoff_source src;
		struct elf_file *ef;
		struct pyver v;
		uint64_t found = 0;

		snprintf(path, sizeof(path), SEEDS "%s", seeds[i].file);
		assert_int_equal(elf_file__open(path, &ef), 0);
		assert_int_equal(pyver_detect(ef, &v, how, sizeof(how)), 0);
		snprintf(ver, sizeof(ver), "%u.%u.%u", v.major, v.minor, v.micro);
		assert_string_equal(ver, seeds[i].version);
		assert_string_equal(how, seeds[i].how);
		tab = pyoff_lookup(v, &src);
		assert_non_null(tab);
		if (seeds[i].table) {
			assert_int_equal(opcode_table_scan(ef, tab->op_defined, &found), 0);
			assert_int_equal(found, seeds[i].table);
		}
		assert_int_equal(elf_file__usdt(ef, &notes), seeds[i].notes);
		assert_non_null(elf_file__needed(ef, "libc.so"));
		elf_file__free(ef);
	}
}

/* Found by tests/fuzz/fuzz_elf: bsearch() on the NULL relocation array of a
 * file that has none (undefined behaviour; `make asan` runs this test). */
static void test_read_ptrs_without_relocs(void **state)
{
	struct elf_file *ef;
	uint64_t raw[4], ptrs[4];

	(void)state;
	assert_int_equal(elf_file__open(SEEDS "debian3.11-stripped-usdt", &ef), 0);
	assert_int_equal(elf_file__read(ef, 0x73af00, raw, sizeof(raw)), 0);
	assert_int_equal(elf_file__read_ptrs(ef, 0x73af00, ptrs, 4), 0);
	assert_memory_equal(raw, ptrs, sizeof(raw));
	assert_true(elf_file__in_text(ef, ptrs[0]));
	elf_file__free(ef);
}

/* Found by tests/fuzz/fuzz_elf (a timeout): the opcode-table scan walked the
 * size a section header claims, not the bytes the file has. */
static void test_scan_claimed_size(void **state)
{
	char *img = NULL;
	size_t len = 0, i;
	struct elf_file *ef;
	Elf64_Ehdr eh;
	uint64_t found = 0;
	enum pyoff_source src;
	struct pyver v = { 3, 11, 2, 0xf };
	const __u64 other[4] = { 1, 0, 0, 0 };

	(void)state;
	assert_int_equal(read_file(SEEDS "debian3.11-stripped-usdt", 1 << 20, &img, &len), 0);
	memcpy(&eh, img, sizeof(eh));
	for (i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh, str;

		memcpy(&sh, img + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		memcpy(&str, img + eh.e_shoff + eh.e_shstrndx * sizeof(sh), sizeof(str));
		if (strcmp(img + str.sh_offset + sh.sh_name, ".rodata"))
			continue;
		sh.sh_size = 1ull << 62;	/* the first .rodata: the opcode table's */
		memcpy(img + eh.e_shoff + i * sizeof(sh), &sh, sizeof(sh));
		break;
	}
	assert_true(i < eh.e_shnum);
	alarm(30);	/* the old scan would run for years */
	assert_int_equal(elf_file__open_mem(img, len, &ef), 0);
	assert_int_equal(opcode_table_scan(ef, pyoff_lookup(v, &src)->op_defined, &found), 0);
	assert_int_equal(found, 0x73af00);
	/* a table that is not there: the whole claimed range would be walked */
	assert_int_equal(opcode_table_scan(ef, other, &found), -ENOENT);
	alarm(0);
	elf_file__free(ef);
	free(img);
}

/*
 * Found by profiling tests/fuzz/fuzz_elf (600 inputs/s): when every pointer
 * lands in code, the scan compared each of the 256 entries with all the
 * others at every 8-byte step: 2 MB of such data took minutes.  An image
 * with a .text covering the address space and 2 MB of distinct pointers.
 */
static void test_scan_is_linear(void **state)
{
	const size_t data = 2 << 20;
	const char names[] = "\0.text\0.rodata\0.shstrtab";
	size_t shoff = (sizeof(Elf64_Ehdr) + data + sizeof(names) + 7) & ~(size_t)7;
	size_t len = shoff + 4 * sizeof(Elf64_Shdr);
	unsigned char *img = calloc(1, len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh;
	uint64_t *p, found;
	struct elf_file *ef;
	__u64 defined[4] = { ~0ull, ~0ull, ~0ull, ~0ull >> 8 };	/* 8 undefined */
	size_t i;

	(void)state;
	assert_non_null(img);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(Elf64_Shdr);
	eh->e_shnum = 4;
	eh->e_shstrndx = 3;
	eh->e_shoff = shoff;
	p = (uint64_t *)(img + sizeof(*eh));
	for (i = 0; i < data / 8; i++)
		p[i] = 0x1000 + i * 16;
	memcpy(img + sizeof(*eh) + data, names, sizeof(names));
	sh = (Elf64_Shdr *)(img + eh->e_shoff);
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_NOBITS, .sh_addr = 0,
			      .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_size = 1ull << 40 };
	sh[2] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
			      .sh_addr = 1ull << 41, .sh_offset = sizeof(*eh), .sh_size = data };
	sh[3] = (Elf64_Shdr){ .sh_name = 15, .sh_type = SHT_STRTAB,
			      .sh_offset = sizeof(*eh) + data, .sh_size = sizeof(names) };
	assert_int_equal(elf_file__open_mem(img, len, &ef), 0);
	alarm(20);
	assert_int_equal(opcode_table_scan(ef, defined, &found), -ENOENT);
	/* and a table planted at the end is still found */
	for (i = 0; i < 256; i++)
		p[data / 8 - 256 + i] = (defined[i / 64] >> (i % 64)) & 1 ? 0x2000 + i * 8 : 0x1008;
	assert_int_equal(opcode_table_scan(ef, defined, &found), 0);
	assert_int_equal(found, (1ull << 41) + data - 2048);
	alarm(0);
	elf_file__free(ef);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_and_mechanisms),
		cmocka_unit_test(test_opcode_scan_matches_symbol),
		cmocka_unit_test(test_debian_stripped),
		cmocka_unit_test(test_not_python_and_garbage),
		cmocka_unit_test(test_unsupported_versions),
		cmocka_unit_test(test_refused_builds),
		cmocka_unit_test(test_trimmed_images),
		cmocka_unit_test(test_read_ptrs_without_relocs),
		cmocka_unit_test(test_scan_claimed_size),
		cmocka_unit_test(test_scan_is_linear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
