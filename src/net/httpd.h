/* SPDX-License-Identifier: MIT */
/*
 * A small single-threaded HTTP/1.x server for pyscope serve: non-blocking
 * sockets, one request per connection, bounded requests (http.c parses
 * them), per-connection deadlines and a bounded number of connections, so
 * that a slow or silent client can never hold up the caller's loop.
 */
#ifndef PYSCOPE_HTTPD_H
#define PYSCOPE_HTTPD_H

#include <stddef.h>
#include "net/http.h"
#include "util/util.h"

/* Whole request head within this, or the connection is answered 408 and closed. */
#define HTTPD_READ_TIMEOUT_MS	5000
/* Whole response written within this, or the connection is dropped. */
#define HTTPD_WRITE_TIMEOUT_MS	10000
#define HTTPD_MAX_CONNS		32

/*
 * Answer one GET or HEAD request: append the body to *body, set *ctype (a
 * static string), and return the status.  For HEAD the body is computed
 * and not sent (its length is).
 */
typedef int (*httpd_handler_fn)(void *ctx, const struct http_request *req, struct strbuf *body,
				const char **ctype);

struct httpd;

/*
 * Listen on addr, "HOST:PORT" or "[IPv6]:PORT" with a numeric host (or
 * "localhost"); never a name lookup.  Negative errno with err filled.
 */
int httpd__new(struct httpd **out, const char *addr, httpd_handler_fn fn, void *ctx, char *err,
	       size_t errlen);
/* The address actually bound ("127.0.0.1:9464"), e.g. after port 0. */
const char *httpd__addr(const struct httpd *h);
/* Wait up to timeout_ms for network activity and serve what can be served now. */
void httpd__poll(struct httpd *h, int timeout_ms);
void httpd__free(struct httpd *h);

#endif
