// SPDX-License-Identifier: MIT
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ps_warn(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	/* messages quote paths and names the target chose: one clean line */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	str_sanitize(msg);
	fprintf(stderr, "pyscope: %s\n", msg);
}

void ps_debug(int verbose, const char *fmt, ...)
{
	va_list ap;

	if (verbose <= 0)
		return;
	va_start(ap, fmt);
	fputs("pyscope: debug: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void sb_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (sb->oom)
		return;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if (sb->len + (size_t)n + 1 > sb->cap) {
		size_t cap = MAX(sb->cap * 2, sb->len + (size_t)n + 256);
		char *nb = realloc(sb->buf, cap);

		if (!nb) {
			sb->oom = true;
			return;
		}
		sb->buf = nb;
		sb->cap = cap;
	}
	vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	sb->len += (size_t)n;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb_init(sb);
}

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = read_fd(fd, max, out, len);
	close(fd);
	return err;
}

int status_value(const char *text, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key), n;
	const char *p = text;

	if (len)
		val[0] = '\0';
	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			p += strspn(p, " \t");
			n = strcspn(p, "\n");
			if (len) {
				n = n < len - 1 ? n : len - 1;
				memcpy(val, p, n);
				val[n] = '\0';
			}
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

ssize_t proc_exe(int pid, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	if (!len)
		return -EINVAL;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, buf, len - 1);
	if (n < 0) {
		buf[0] = '\0';
		return -errno;
	}
	buf[n] = '\0';
	return n;
}

int proc_status(int pid, const char *key, char *val, size_t len)
{
	char path[64], *text = NULL;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ret = read_file(path, 1 << 16, &text, NULL);
	if (!ret)
		ret = status_value(text, key, val, len);
	free(text);
	return ret;
}

int read_fd(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	int err = 0;
	ssize_t r;

	*out = NULL;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= max + 1) {
				err = -EFBIG;
				goto cleanup;
			}
			cap = MIN(cap * 2, max + 1);
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = n;
cleanup:
	free(buf);
	return err;
}

void str_copy(char *dst, const char *src, size_t n)
{
	size_t l;

	if (!n)
		return;
	l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

size_t str_utf8_len(const unsigned char *s)
{
	unsigned c = s[0], need, cp, k;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		need = 1, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		need = 2, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		need = 3, cp = c & 0x07;
	else
		return 0;
	for (k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
	    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0x80 && cp <= 0x9f))		/* C1 controls */
		return 0;
	return need + 1;
}

void str_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t n = str_utf8_len(p);

		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

bool str_starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int parse_duration_ms(const char *s, uint64_t *ms)
{
	char *end = NULL;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || v > 1e9)
		return -EINVAL;
	if (!*end || !strcmp(end, "s"))
		v *= 1000;
	else if (!strcmp(end, "ms"))
		;
	else if (!strcmp(end, "m"))
		v *= 60000;
	else if (!strcmp(end, "h"))
		v *= 3600000;
	else
		return -EINVAL;
	*ms = (uint64_t)v;
	return 0;
}

void fmt_ns(char *buf, size_t n, double ns)
{
	if (ns < 1e3)
		snprintf(buf, n, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, n, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, n, "%.2fms", ns / 1e6);
	else
		snprintf(buf, n, "%.2fs", ns / 1e9);
}
