// SPDX-License-Identifier: MIT
/* Source files are read inside the target's root, with its ids, regular files only. */
#include "testutil.h"
#include "target/srcfiles.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/fsuid.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static char root[64];
static bool have_openat2;	/* valgrind 3.19 does not know the syscall */

/* Without openat2 nothing can be resolved safely inside the root: nothing is read. */
#define REQUIRE_OPENAT2()                                                              \
	do {                                                                           \
		if (!have_openat2) {                                                   \
			char *t_ = NULL;                                               \
			assert_int_equal(read_as(geteuid(), "/proj/app.py", &t_), -ENOSYS); \
			assert_null(t_);                                               \
			fprintf(stderr, "skip: no openat2 here (a kernel before 5.6, or valgrind)\n"); \
			skip();                                                        \
		}                                                                      \
	} while (0)

static void put(const char *rel, const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int setup(void **state)
{
	char path[256];

	struct open_how how = { .flags = O_PATH };
	int fd;

	(void)state;
	fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	have_openat2 = fd >= 0 || errno != ENOSYS;
	if (fd >= 0)
		close(fd);
	strcpy(root, "/tmp/pyscope-srcfiles-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	chmod(root, 0755);
	snprintf(path, sizeof(path), "%s/proj", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proj/pkg", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/dir.py", root);
	mkdir(path, 0755);
	put("/proj/app.py", "def f(): pass\n", 0644);
	put("/proj/pkg/mod.py", "class K: pass\n", 0644);
	put("/etc/hostname", "inside\n", 0644);
	put("/secret.py", "class Secret:\n    def f(self): pass\n", 0600);
	snprintf(path, sizeof(path), "%s/proj/abs.py", root);
	symlink("/etc/hostname", path);
	snprintf(path, sizeof(path), "%s/proj/up.py", root);
	symlink("../../../../../../../etc/hostname", path);
	snprintf(path, sizeof(path), "%s/fifo.py", root);
	mkfifo(path, 0666);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static int read_as(uid_t uid, const char *file, char **text)
{
	struct srcfiles sf;
	size_t len;
	int ret;

	assert_int_equal(srcfiles__open_root(&sf, root, "/proj", uid, uid), 0);
	ret = srcfiles__read(&sf, file, text, &len);
	if (!ret)
		assert_int_equal(len, strlen(*text));
	srcfiles__close(&sf);
	return ret;
}

static void expect(uid_t uid, const char *file, const char *want)
{
	char *text = NULL;

	assert_int_equal(read_as(uid, file, &text), 0);
	assert_string_equal(text, want);
	free(text);
}

static void test_paths_stay_in_the_root(void **state)
{
	uid_t me = geteuid();
	char *text = NULL;

	(void)state;
	REQUIRE_OPENAT2();
	expect(me, "/proj/app.py", "def f(): pass\n");
	expect(me, "app.py", "def f(): pass\n");		/* relative to its cwd */
	expect(me, "pkg/mod.py", "class K: pass\n");
	/* links, absolute or climbing, end inside the target's root, not ours */
	expect(me, "/proj/abs.py", "inside\n");
	expect(me, "up.py", "inside\n");
	expect(me, "../../../../etc/hostname", "inside\n");
	assert_int_equal(read_as(me, "/nonexistent.py", &text), -ENOENT);
	assert_int_equal(read_as(me, "<frozen importlib._bootstrap>", &text), -ENOENT);
	assert_int_equal(read_as(me, "", &text), -ENOENT);
	assert_null(text);
}

static void test_only_regular_files(void **state)
{
	char *text = NULL;

	(void)state;
	REQUIRE_OPENAT2();
	alarm(10);	/* a FIFO must not block */
	assert_int_equal(read_as(geteuid(), "/fifo.py", &text), -EINVAL);
	alarm(0);
	assert_int_equal(read_as(geteuid(), "/dir.py", &text), -EINVAL);
	assert_null(text);
}

static void test_read_with_the_targets_ids(void **state)
{
	char *text = NULL;

	(void)state;
	REQUIRE_OPENAT2();
	if (geteuid() != 0)
		skip();
	/* root reads it; for a target running as nobody, pyscope does not */
	expect(0, "/secret.py", "class Secret:\n    def f(self): pass\n");
	assert_int_equal(read_as(65534, "/secret.py", &text), -EACCES);
	expect(65534, "/proj/app.py", "def f(): pass\n");
	/* and pyscope's own filesystem ids are back */
	assert_int_equal(setfsuid((uid_t)-1), 0);
	assert_int_equal(setfsgid((gid_t)-1), 0);
}

static void test_of_a_process(void **state)
{
	struct srcfiles sf;
	char *text = NULL, path[PATH_MAX];
	size_t len;

	(void)state;
	assert_int_equal(srcfiles__open(&sf, getpid()), 0);
	assert_non_null(getcwd(path, sizeof(path)));
	assert_string_equal(sf.cwd, path);
	assert_int_equal(sf.fsuid, geteuid());
	if (have_openat2) {
		assert_int_equal(srcfiles__read(&sf, SRCDIR "/tests/unit/test_srcfiles.c", &text,
						&len), 0);
		assert_non_null(strstr(text, "test_of_a_process"));
		free(text);
	}
	srcfiles__close(&sf);
	assert_int_equal(srcfiles__open(&sf, 0x3fffffff), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_stay_in_the_root),
		cmocka_unit_test(test_only_regular_files),
		cmocka_unit_test(test_read_with_the_targets_ids),
		cmocka_unit_test(test_of_a_process),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
