// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the Python source scanner that finds qualified names
 * for 3.8-3.10.  Input: first line number (2 bytes), the function name up
 * to the first newline, then the source.
 */
#include "target/srcscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	char name[80], out[256], tiny[8];
	size_t nlen, n;
	int line, ret;

	if (size < 3)
		return 0;
	line = data[0] | (data[1] << 8);
	data += 2;
	size -= 2;
	nl = memchr(data, '\n', size);
	nlen = nl ? (size_t)(nl - data) : size;
	if (nlen >= sizeof(name))
		return 0;
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	data += nl ? nlen + 1 : nlen;
	size -= nl ? nlen + 1 : nlen;

	ret = srcscan_qualname((const char *)data, size, line, name, out, sizeof(out));
	if (ret == 0) {
		/* the answer ends with the name it was asked for */
		nlen = strlen(name);
		n = strnlen(out, sizeof(out));
		if (n == sizeof(out) || n < nlen || strcmp(out + n - nlen, name))
			abort();
	}
	ret = srcscan_qualname((const char *)data, size, line, name, tiny, sizeof(tiny));
	if (ret == 0 && strnlen(tiny, sizeof(tiny)) == sizeof(tiny))
		abort();
	return 0;
}
