// SPDX-License-Identifier: MIT
/* pyscope serve's request parser: what a scraper sends, and what it must refuse. */
#include "testutil.h"
#include "net/http.h"
#include "util/util.h"

static int parse(const char *s, struct http_request *req)
{
	return http_parse(s, strlen(s), req);
}

static void test_scrape(void **state)
{
	struct http_request req;
	const char *prom = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n"
			   "User-Agent: Prometheus/2.42.0\r\nAccept: application/openmetrics-text;"
			   "version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
			   "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";

	(void)state;
	assert_int_equal(parse(prom, &req), 0);
	assert_int_equal(req.method, HTTP_GET);
	assert_string_equal(req.path, "/metrics");
	assert_int_equal(req.head_len, strlen(prom));
	/* bare LF line ends, HTTP/1.0, HEAD, a query string */
	assert_int_equal(parse("HEAD /metrics?x=1&y HTTP/1.0\n\n", &req), 0);
	assert_int_equal(req.method, HTTP_HEAD);
	assert_string_equal(req.path, "/metrics");
	/* an empty line before the request line is tolerated */
	assert_int_equal(parse("\r\nGET / HTTP/1.1\r\n\r\n", &req), 0);
	assert_string_equal(req.path, "/");
}

static void test_incomplete(void **state)
{
	const char *full = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_request req;
	size_t n;

	(void)state;
	/* every proper prefix asks for more, never an error */
	for (n = 0; n < strlen(full); n++)
		assert_int_equal(http_parse(full, n, &req), HTTP_MORE);
	assert_int_equal(http_parse(full, strlen(full), &req), 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"GET\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n",
		"GET http://x/metrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\n\r\n",
		"GET /metrics HTTP/1\r\n\r\n",
		"GET /metrics FTP/1.1\r\n\r\n",
		"GET /met\x01rics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/1.1\rHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nNo colon\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nBad\x7fName: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nX: a\x01b\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\n\r\n",
	};
	struct http_request req;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = parse(bad[i], &req);

		if (r != 400)
			fail_msg("case %zu: %d, want 400", i, r);
	}
	/* an impossible start is refused before the line is complete */
	assert_int_equal(parse("\x16\x03\x01\x02\x00", &req), 400);	/* TLS hello */
	assert_int_equal(http_parse("GET /\0", 6, &req), 400);
}

static void test_statuses(void **state)
{
	struct http_request req;
	char big[HTTP_MAX_HEAD + 64], path[HTTP_MAX_PATH + 40];

	(void)state;
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &req), 405);
	assert_int_equal(parse("DELETE / HTTP/1.1\r\n\r\n", &req), 405);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &req), 505);
	assert_int_equal(parse("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &req), 400);
	/* a target too long for the path buffer */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	snprintf(big, sizeof(big), "GET %.*s HTTP/1.1\r\n\r\n", (int)sizeof(path), path);
	assert_int_equal(parse(big, &req), 414);
	/* a head that never ends, within the limit and past it */
	memset(big, 0, sizeof(big));
	strcpy(big, "GET / HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'y', HTTP_MAX_HEAD - 40);
	assert_int_equal(parse(big, &req), HTTP_MORE);
	memset(big + strlen(big), 'y', sizeof(big) - strlen(big) - 1);
	assert_int_equal(parse(big, &req), 431);
	/* too many headers */
	{
		char many[HTTP_MAX_HEAD];
		size_t n = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
		int k;

		for (k = 0; k <= HTTP_MAX_HEADERS; k++)
			n += (size_t)snprintf(many + n, sizeof(many) - n, "X%d: 1\r\n", k);
		snprintf(many + n, sizeof(many) - n, "\r\n");
		assert_int_equal(parse(many, &req), 431);
	}
	assert_string_equal(http_reason(400), "Bad Request");
	assert_string_equal(http_reason(404), "Not Found");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrape),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
