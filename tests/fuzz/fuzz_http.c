// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: pyscope serve's request parser over arbitrary bytes
 * (the network is hostile), and the label escaping over the same bytes as a
 * string.  Checks what the server relies on: a known status, a complete
 * head within the bytes given and the size limit, a terminated path, and a
 * label value that cannot end its quotes or its line.
 */
#include "net/http.h"
#include "sink/prom.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_parse(const char *buf, size_t len)
{
	struct http_request req;
	int r = http_parse(buf, len, &req);

	switch (r) {
	case 0:
		if (req.method != HTTP_GET && req.method != HTTP_HEAD)
			abort();
		if (!req.head_len || req.head_len > len || req.head_len > HTTP_MAX_HEAD)
			abort();
		if (req.path[0] != '/' || !memchr(req.path, '\0', sizeof(req.path)) ||
		    strchr(req.path, '?'))
			abort();
		/* the same head cut short is incomplete, never an error */
		if (http_parse(buf, req.head_len - 1, &req) != HTTP_MORE)
			abort();
		break;
	case HTTP_MORE:
		if (len >= HTTP_MAX_HEAD)
			abort();	/* an endless head must be refused */
		break;
	case 400: case 405: case 414: case 431: case 505:
		break;
	default:
		abort();
	}
}

static void check_escape(const uint8_t *data, size_t size)
{
	struct strbuf sb;
	char *s = malloc(size + 1);
	size_t i;

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	sb_init(&sb);
	prom_escape(&sb, s);
	for (i = 0; sb.buf && i < sb.len; i++) {
		unsigned char c = (unsigned char)sb.buf[i];

		if (c < 0x20 || c == 0x7f)
			abort();
		if (c == '\\') {
			i++;	/* an escape: the next character is taken as it is */
			if (i >= sb.len || !strchr("\\\"n", sb.buf[i]))
				abort();
		} else if (c == '"') {
			abort();
		}
	}
	sb_free(&sb);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse((const char *)data, size);
	check_escape(data, size);
	return 0;
}
