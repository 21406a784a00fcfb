/* SPDX-License-Identifier: MIT */
#ifndef PYSCOPE_UTIL_H
#define PYSCOPE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Leveled messages on stderr.  verbose is the caller's -v count. */
void ps_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ps_debug(int verbose, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define warn(...) ps_warn(__VA_ARGS__)
#define debug(v, ...) ps_debug((v), __VA_ARGS__)

/* Growable byte buffer for building text. */
struct strbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};
void sb_init(struct strbuf *sb);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
void sb_free(struct strbuf *sb);

/* Format a message into err (if err and errlen), as snprintf does. */
void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* The same from an open file descriptor (left open). */
int read_fd(int fd, size_t max, char **out, size_t *len);

/*
 * The value of a "Key:" line of a /proc/PID/status text (leading blanks
 * skipped, up to the end of the line) into val; -ENOENT if no such line.
 */
int status_value(const char *text, const char *key, char *val, size_t len);
/* The same, read from /proc/PID/status; -errno when it cannot be read. */
int proc_status(int pid, const char *key, char *val, size_t len);

/*
 * The path /proc/PID/exe links to, NUL-terminated (truncated to len - 1):
 * its length, or -errno (-ENOENT for a kernel thread or a zombie).
 */
ssize_t proc_exe(int pid, char *buf, size_t len);

/* Copy with truncation; always NUL-terminates when n > 0. */
void str_copy(char *dst, const char *src, size_t n);
/*
 * Make a string the target supplied safe to print and to put in JSON, in
 * place: C0 and C1 control characters, DEL and bytes that are not
 * well-formed UTF-8 become '?'.  A code object's name could otherwise carry
 * terminal escape sequences to the operator's screen.
 */
void str_sanitize(char *s);
/*
 * Length of the well-formed UTF-8 sequence at s (1-4), or 0 (malformed,
 * surrogate, overlong, or a C1 control).  Reads no further than a NUL.
 */
size_t str_utf8_len(const unsigned char *s);
bool str_starts(const char *s, const char *prefix);
bool str_ends(const char *s, const char *suffix);

/* Monotonic and wall clocks in nanoseconds. */
uint64_t now_ns(void);
uint64_t wall_ns(void);

/* Parse "10", "10s", "500ms", "2m", "1h" into milliseconds; -EINVAL if bad. */
int parse_duration_ms(const char *s, uint64_t *ms);

/* Format nanoseconds as a short human string ("12.3us"). */
void fmt_ns(char *buf, size_t n, double ns);

#endif
