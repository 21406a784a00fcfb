// SPDX-License-Identifier: MIT
#include "net/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* After the response, read and drop what the client still sends, this long at most. */
#define DRAIN_MS	1000

enum conn_state {
	CONN_READING,
	CONN_WRITING,
	CONN_DRAINING,	/* response sent, our side shut: closing without a reset */
};

struct conn {
	int fd;
	enum conn_state state;
	uint64_t accepted, deadline;	/* CLOCK_MONOTONIC ns */
	char in[HTTP_MAX_HEAD];
	size_t inlen;
	struct strbuf out;
	size_t sent;
};

struct httpd {
	int lfd;
	httpd_handler_fn fn;
	void *ctx;
	char addr[INET6_ADDRSTRLEN + 16];
	struct conn *c[HTTPD_MAX_CONNS];
	size_t n;
};

static int split_addr(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon, *h = addr;
	size_t n;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = addr + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || strchr(addr, ':') != colon)
			return -EINVAL;
		n = (size_t)(colon - addr);
	}
	if (!n || n >= hlen || !colon[1] || strlen(colon + 1) >= plen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	if (!strcmp(host, "localhost"))
		str_copy(host, "127.0.0.1", hlen);
	return 0;
}

static void name_of(struct httpd *h)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(h->lfd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
		snprintf(h->addr, sizeof(h->addr), "%s:%d", ip, port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
		snprintf(h->addr, sizeof(h->addr), "[%s]:%d", ip, port);
	}
}

int httpd__new(struct httpd **out, const char *addr, httpd_handler_fn fn, void *ctx, char *err,
	       size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[INET6_ADDRSTRLEN], port[8];
	struct httpd *h;
	int one = 1, ret, gai;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->lfd = -1;
	h->fn = fn;
	h->ctx = ctx;
	ret = split_addr(addr, host, sizeof(host), port, sizeof(port));
	if (ret) {
		snprintf(err, errlen, "--listen '%s': not HOST:PORT with a numeric host", addr);
		goto cleanup;
	}
	gai = getaddrinfo(host, port, &hints, &ai);
	if (gai) {
		snprintf(err, errlen, "--listen '%s': %s", addr, gai_strerror(gai));
		ret = -EINVAL;
		goto cleanup;
	}
	h->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->lfd < 0 || setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(h->lfd, ai->ai_addr, ai->ai_addrlen) || listen(h->lfd, 64)) {
		ret = -errno;
		snprintf(err, errlen, "--listen %s: %s", addr, strerror(errno));
		goto cleanup;
	}
	name_of(h);
	ret = 0;
cleanup:
	if (ai)
		freeaddrinfo(ai);
	if (ret)
		httpd__free(h);
	else
		*out = h;
	return ret;
}

const char *httpd__addr(const struct httpd *h)
{
	return h->addr;
}

static void conn_close(struct httpd *h, size_t i)
{
	struct conn *c = h->c[i];

	close(c->fd);
	sb_free(&c->out);
	free(c);
	h->c[i] = h->c[--h->n];
}

/* Queue the response; the connection then only writes, then drains. */
static void respond(struct conn *c, int status, const char *ctype, const struct strbuf *body,
		    bool head_only)
{
	size_t blen = body && body->buf ? body->len : 0;

	sb_free(&c->out);
	sb_init(&c->out);
	sb_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		  "Connection: close\r\n%s\r\n", status, http_reason(status), ctype, blen,
		  status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (blen && !head_only)
		sb_printf(&c->out, "%.*s", (int)blen, body->buf);
	c->sent = 0;
	c->state = CONN_WRITING;
	c->deadline = c->accepted + HTTPD_WRITE_TIMEOUT_MS * 1000000ull;
}

static void respond_error(struct conn *c, int status)
{
	struct strbuf body;

	sb_init(&body);
	sb_printf(&body, "%d %s\n", status, http_reason(status));
	respond(c, status, "text/plain; charset=utf-8", &body, false);
	sb_free(&body);
}

static void handle(struct httpd *h, struct conn *c)
{
	struct http_request req;
	struct strbuf body;
	const char *ctype = "text/plain; charset=utf-8";
	int st;

	st = http_parse(c->in, c->inlen, &req);
	if (st == HTTP_MORE)
		return;
	if (st) {
		respond_error(c, st);
		return;
	}
	sb_init(&body);
	st = h->fn(h->ctx, &req, &body, &ctype);
	if (body.oom) {
		sb_free(&body);
		respond_error(c, 500);
		return;
	}
	if (st != 200 && !body.len)
		sb_printf(&body, "%d %s\n", st, http_reason(st));
	respond(c, st, ctype, &body, req.method == HTTP_HEAD);
	sb_free(&body);
}

/* Service connection i after poll; returns false when it was closed. */
static bool service(struct httpd *h, size_t i, short revents, uint64_t now)
{
	struct conn *c = h->c[i];
	ssize_t r;

	if (c->state == CONN_READING && (revents & (POLLIN | POLLHUP | POLLERR))) {
		r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(h, i);
			return false;
		}
		if (r > 0) {
			c->inlen += (size_t)r;
			handle(h, c);
		}
	}
	if (c->state == CONN_READING && now >= c->deadline)
		respond_error(c, 408);
	if (c->state == CONN_WRITING) {
		while (c->sent < c->out.len) {
			r = send(c->fd, c->out.buf + c->sent, c->out.len - c->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (r <= 0) {
				conn_close(h, i);
				return false;
			}
			c->sent += (size_t)r;
		}
		if (c->sent == c->out.len || c->out.oom) {
			/* closing with unread input would reset and lose the response: drain */
			shutdown(c->fd, SHUT_WR);
			c->state = CONN_DRAINING;
			c->deadline = now + DRAIN_MS * 1000000ull;
		} else if (now >= c->deadline) {
			conn_close(h, i);
			return false;
		}
	}
	if (c->state == CONN_DRAINING) {
		char sink[4096];
		int k = 0;

		/* bounded: a client that keeps sending cannot keep the loop here */
		do
			r = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		while (r > 0 && ++k < 16);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) || now >= c->deadline) {
			conn_close(h, i);
			return false;
		}
	}
	return true;
}

static void accept_all(struct httpd *h, uint64_t now)
{
	for (;;) {
		int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;		/* EAGAIN, or a transient error: poll again */
		if (h->n == HTTPD_MAX_CONNS) {
			/* full: the oldest connection still being read gives way */
			size_t i, old = HTTPD_MAX_CONNS;

			for (i = 0; i < h->n; i++)
				if (h->c[i]->state != CONN_WRITING &&
				    (old == HTTPD_MAX_CONNS || h->c[i]->accepted < h->c[old]->accepted))
					old = i;
			if (old == HTTPD_MAX_CONNS) {
				close(fd);
				continue;
			}
			conn_close(h, old);
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->state = CONN_READING;
		c->accepted = now;
		c->deadline = now + HTTPD_READ_TIMEOUT_MS * 1000000ull;
		sb_init(&c->out);
		h->c[h->n++] = c;
	}
}

void httpd__poll(struct httpd *h, int timeout_ms)
{
	struct pollfd pfd[HTTPD_MAX_CONNS + 1];
	size_t i, n;
	uint64_t now;

	pfd[0] = (struct pollfd){ .fd = h->lfd, .events = POLLIN };
	for (i = 0; i < h->n; i++)
		pfd[i + 1] = (struct pollfd){ .fd = h->c[i]->fd,
					      .events = h->c[i]->state == CONN_WRITING ? POLLOUT :
											 POLLIN };
	n = h->n;
	if (poll(pfd, n + 1, timeout_ms) < 0 && errno != EINTR)
		return;
	now = now_ns();
	/* backwards: closing i moves the last connection into its slot */
	for (i = n; i-- > 0;) {
		short rev = pfd[i + 1].revents;

		if (i < h->n && h->c[i]->fd == pfd[i + 1].fd)
			service(h, i, rev, now);
	}
	if (pfd[0].revents & POLLIN)
		accept_all(h, now);
}

void httpd__free(struct httpd *h)
{
	if (!h)
		return;
	while (h->n)
		conn_close(h, h->n - 1);
	if (h->lfd >= 0)
		close(h->lfd);
	free(h);
}
