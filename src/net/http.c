// SPDX-License-Identifier: MIT
#include "net/http.h"

#include <stdbool.h>
#include <string.h>

/* RFC 9110 tchar: the characters of a method or a header name. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * The next line of buf[pos..len): *end is where its terminator starts (CR or
 * LF), the return value where the following line starts, or 0 if no LF
 * came yet.  A CR not followed by LF is malformed: -1.
 */
static long next_line(const char *buf, size_t len, size_t pos, size_t *end)
{
	size_t i;

	for (i = pos; i < len; i++) {
		if (buf[i] == '\n') {
			*end = i;
			return (long)i + 1;
		}
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return 0;
			if (buf[i + 1] != '\n')
				return -1;
			*end = i;
			return (long)i + 2;
		}
	}
	return 0;
}

/* "METHOD SP TARGET SP HTTP/1.x": 0, or the status to answer with. */
static int parse_request_line(const char *l, size_t n, struct http_request *req)
{
	size_t i = 0, m, t0, tn, plen;
	const char *v;

	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	m = i;
	if (m == 0 || m > 16 || i >= n || l[i] != ' ')
		return 400;
	t0 = ++i;
	/* the target: visible ASCII, origin-form (the only form a scraper sends) */
	while (i < n && (unsigned char)l[i] > 0x20 && (unsigned char)l[i] < 0x7f)
		i++;
	tn = i - t0;
	if (tn == 0 || i >= n || l[i] != ' ')
		return 400;
	if (l[t0] != '/')
		return 400;
	v = l + i + 1;
	if ((size_t)(l + n - v) != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	if (tn >= HTTP_MAX_PATH)
		return 414;
	for (plen = 0; plen < tn && l[t0 + plen] != '?'; plen++)
		;
	memcpy(req->path, l + t0, plen);
	req->path[plen] = '\0';
	if (m == 3 && !memcmp(l, "GET", 3))
		req->method = HTTP_GET;
	else if (m == 4 && !memcmp(l, "HEAD", 4))
		req->method = HTTP_HEAD;
	else
		req->method = 0;	/* well-formed but not ours: 405 once the head is whole */
	return 0;
}

/* "Name: value": a token, a colon, then visible characters, blanks or obs-text. */
static bool header_ok(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && is_tchar((unsigned char)l[i]))
		i++;
	if (i == 0 || i >= n || l[i] != ':')
		return false;
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c < 0x20 && c != '\t')
			return false;
		if (c == 0x7f)
			return false;
	}
	return true;
}

int http_parse(const char *buf, size_t len, struct http_request *req)
{
	size_t pos = 0, end = 0, limit = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
	long next;
	int nhdr = 0, ret;

	memset(req, 0, sizeof(*req));
	/* RFC 9112 2.2: ignore empty lines before the request line (a few) */
	while (pos < limit && pos < 4 && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	next = next_line(buf, limit, pos, &end);
	if (next < 0)
		return 400;
	if (next == 0) {
		/* an impossible start is refused without waiting for the rest */
		size_t i;

		for (i = pos; i < limit; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\r' && i + 1 == limit)
				continue;	/* its LF may come next */
			if (c != ' ' && (c <= 0x20 || c >= 0x7f))
				return 400;
		}
		return len >= HTTP_MAX_HEAD ? 431 : HTTP_MORE;
	}
	ret = parse_request_line(buf + pos, end - pos, req);
	if (ret)
		return ret;
	pos = (size_t)next;
	for (;;) {
		next = next_line(buf, limit, pos, &end);
		if (next < 0)
			return 400;
		if (next == 0)
			return len >= HTTP_MAX_HEAD ? 431 : HTTP_MORE;
		if (end == pos)
			break;		/* the empty line: the head is complete */
		/* obs-fold (a continuation line) is refused, as RFC 9112 5.2 allows */
		if (++nhdr > HTTP_MAX_HEADERS || !header_ok(buf + pos, end - pos))
			return nhdr > HTTP_MAX_HEADERS ? 431 : 400;
		pos = (size_t)next;
	}
	req->head_len = (size_t)next;
	return req->method ? 0 : 405;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}
