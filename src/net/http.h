/* SPDX-License-Identifier: MIT */
/*
 * The request side of a minimal HTTP/1.x server (pyscope serve): parsing
 * one request head, bytes straight off the network, so hostile.  Pure: no
 * sockets here (src/httpd.c has them), fuzzed by tests/fuzz/fuzz_http.c.
 */
#ifndef PYSCOPE_HTTP_H
#define PYSCOPE_HTTP_H

#include <stddef.h>

/* A request head larger than this is refused (431): a scrape needs ~300 bytes. */
#define HTTP_MAX_HEAD	8192
#define HTTP_MAX_PATH	256
#define HTTP_MAX_HEADERS 64

enum http_method {
	HTTP_GET = 1,
	HTTP_HEAD,
};

struct http_request {
	enum http_method method;
	char path[HTTP_MAX_PATH];	/* the target up to '?', as sent (not decoded) */
	size_t head_len;		/* bytes of the head, final empty line included */
};

/* http_parse() returns this while the head is incomplete but valid so far. */
#define HTTP_MORE	1

/*
 * Parse the request head at buf[0..len).  Returns 0 with *req filled when a
 * whole head is there and it is a GET or HEAD, HTTP_MORE when more bytes are
 * needed, or the status to answer with: 400 (malformed), 405 (another
 * method), 414 (target too long), 431 (head too large), 505 (not HTTP/1.x).
 * An invalid request line is answered as soon as its line is complete.
 */
int http_parse(const char *buf, size_t len, struct http_request *req);

/* "OK", "Bad Request", ... for the statuses this server sends. */
const char *http_reason(int status);

#endif
