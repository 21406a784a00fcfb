// SPDX-License-Identifier: MIT
/* The report file: 0600, O_EXCL unless forced, never through a link. */
#include "testutil.h"
#include "sink/outfile.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/pyscope-outfile-XXXXXX");
	umask(0);	/* the 0600 must not depend on the caller's umask */
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	umask(022);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* A path in the test directory; the last four stay valid. */
static const char *in_dir(const char *name)
{
	static char path[4][128];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static char *get(const char *path)
{
	char *text = NULL;

	assert_int_equal(read_file(path, 1 << 16, &text, NULL), 0);
	return text;
}

static void test_new_file_is_private(void **state)
{
	struct outfile o;
	struct stat st;
	char err[256], *text;

	(void)state;
	assert_int_equal(outfile_open(&o, in_dir("new"), false, err, sizeof(err)), 0);
	fprintf(o.f, "report\n");
	assert_int_equal(outfile_close(&o, true), 0);	/* written: discard keeps it */
	assert_int_equal(stat(in_dir("new"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = get(in_dir("new"));
	assert_string_equal(text, "report\n");
	free(text);
	assert_int_equal(outfile_open(&o, NULL, false, err, sizeof(err)), 0);
	assert_ptr_equal(o.f, stdout);
	assert_int_equal(outfile_close(&o, true), 0);
}

static void test_existing_needs_force(void **state)
{
	struct outfile o;
	struct stat st;
	char err[256], *text;

	(void)state;
	put(in_dir("old"), "keep me", 0644);
	assert_int_equal(outfile_open(&o, in_dir("old"), false, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "--force"));
	assert_null(o.f);
	text = get(in_dir("old"));
	assert_string_equal(text, "keep me");
	free(text);

	assert_int_equal(outfile_open(&o, in_dir("old"), true, err, sizeof(err)), 0);
	fputs("new", o.f);
	assert_int_equal(outfile_close(&o, false), 0);
	text = get(in_dir("old"));
	assert_string_equal(text, "new");
	free(text);
	assert_int_equal(stat(in_dir("old"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_never_through_links(void **state)
{
	struct outfile o;
	char err[256], *text;
	struct stat st;
	int force;

	(void)state;
	put(in_dir("victim"), "secret", 0644);
	assert_int_equal(symlink(in_dir("victim"), in_dir("link")), 0);
	assert_int_equal(symlink(in_dir("nowhere"), in_dir("dangling")), 0);
	assert_int_equal(link(in_dir("victim"), in_dir("hard")), 0);
	for (force = 0; force <= 1; force++) {
		assert_int_equal(outfile_open(&o, in_dir("link"), force, err, sizeof(err)), -ELOOP);
		assert_non_null(strstr(err, "symbolic link"));
		assert_int_equal(outfile_open(&o, in_dir("dangling"), force, err, sizeof(err)),
				 -ELOOP);
		assert_int_equal(lstat(in_dir("nowhere"), &st), -1);
	}
	/* a second name for someone's file is not ours to truncate */
	assert_int_equal(outfile_open(&o, in_dir("hard"), true, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "hard links"));
	text = get(in_dir("victim"));
	assert_string_equal(text, "secret");
	free(text);
}

static void test_not_regular_or_not_ours(void **state)
{
	struct outfile o;
	char err[256], *text;

	(void)state;
	assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
	assert_int_equal(outfile_open(&o, in_dir("fifo"), true, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(outfile_open(&o, dir, true, err, sizeof(err)), -EEXIST);
	if (geteuid() == 0) {
		put(in_dir("theirs"), "theirs", 0644);
		assert_int_equal(chown(in_dir("theirs"), 65534, 65534), 0);
		assert_int_equal(outfile_open(&o, in_dir("theirs"), true, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "another user"));
		text = get(in_dir("theirs"));
		assert_string_equal(text, "theirs");
		free(text);
	}
	assert_int_equal(outfile_open(&o, "/nonexistent-dir/x", false, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent-dir/x: "));
}

static void test_failed_run_leaves_nothing(void **state)
{
	struct outfile o;
	struct stat st;
	char err[256];

	(void)state;
	assert_int_equal(outfile_open(&o, in_dir("empty"), false, err, sizeof(err)), 0);
	assert_int_equal(outfile_close(&o, true), 0);
	assert_int_equal(lstat(in_dir("empty"), &st), -1);
	/* but never a file it did not create, even an empty one */
	put(in_dir("preexisting"), "", 0600);
	assert_int_equal(outfile_open(&o, in_dir("preexisting"), true, err, sizeof(err)), 0);
	assert_int_equal(outfile_close(&o, true), 0);
	assert_int_equal(lstat(in_dir("preexisting"), &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_file_is_private),
		cmocka_unit_test(test_existing_needs_force),
		cmocka_unit_test(test_never_through_links),
		cmocka_unit_test(test_not_regular_or_not_ours),
		cmocka_unit_test(test_failed_run_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
