// SPDX-License-Identifier: MIT
/*
 * pyscope serve: one tracing session per process (-p, or every process
 * --match finds in /proc as they start), driven step by step from one loop
 * that also serves /metrics.  An exited process's series stay until the
 * next scrape has shown its final counts, then go.
 */
#include "cmd/cmds.h"
#include "net/httpd.h"
#include "sink/prom.h"
#include "session/session.h"
#include "session/signals.h"
#include "util/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exited processes kept for a scrape that does not come, at most. */
#define MAX_EXITED	256
/*
 * Processes traced at once, at most: each has its own BPF programs and maps
 * (about 25 MB), and anyone can start processes with a matching name.
 */
#define MAX_TRACED	64
/* A matching process that could not be traced is retried this often, then left alone. */
#define MAX_TRIES	3

struct target {
	int pid;
	struct session *s;
	uint64_t starttime;	/* /proc/PID/stat starttime: tells a reused pid apart */
	bool exited;
};

/* A matching process that could not be traced. */
struct skip {
	int pid;
	uint64_t starttime;
	int tries;
	uint64_t next_ns;
};

struct serve {
	const struct config *cfg;
	struct session_opts so;		/* every session's, but the pid */
	struct httpd *h;
	struct target **t;
	size_t n, cap;
	struct skip *skip;
	size_t nskip, skipcap;
	uint64_t last_scan;
	bool full;		/* MAX_TRACED reached (said once) */
};

/* Field 22 of /proc/PID/stat, after the command name (which may hold ") "). */
static uint64_t proc_starttime(int pid)
{
	char path[64], *text = NULL, *p;
	unsigned long long v = 0;
	size_t len;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, 4096, &text, &len))
		return 0;
	/* the command name (field 2) ends at the last ')'; each space starts a field */
	p = strrchr(text, ')');
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	free(text);
	return v;
}

/* Is the process's command name or executable's base name `name`? */
static bool proc_matches(int pid, const char *name)
{
	char path[64], exe[PATH_MAX], *comm = NULL, *base;
	size_t len;
	ssize_t n;
	bool hit = false;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (!read_file(path, 64, &comm, &len)) {
		if (len && comm[len - 1] == '\n')
			comm[--len] = '\0';
		/* the kernel keeps 15 bytes of it */
		hit = len && (!strcmp(comm, name) || (len == 15 && !strncmp(comm, name, 15)));
		free(comm);
	}
	if (hit)
		return true;
	n = proc_exe(pid, exe, sizeof(exe));
	if (n <= 0)
		return false;
	if (str_ends(exe, " (deleted)"))
		exe[n - 10] = '\0';
	base = strrchr(exe, '/');
	return !strcmp(base ? base + 1 : exe, name);
}

static void target_free(struct target *t)
{
	if (!t)
		return;
	session__close(t->s);
	free(t);
}

static void drop(struct serve *sv, size_t i)
{
	target_free(sv->t[i]);
	memmove(&sv->t[i], &sv->t[i + 1], (sv->n - i - 1) * sizeof(*sv->t));
	sv->n--;
}

/* Start tracing pid; on failure one error line has been printed. */
static int attach(struct serve *sv, int pid)
{
	struct session_opts so;
	struct target *t = NULL, **v;
	int ret;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;

		v = realloc(sv->t, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		sv->t = v;
		sv->cap = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->pid = pid;
	t->starttime = proc_starttime(pid);
	so = sv->so;
	so.pid = pid;
	ret = session__open(&t->s, &so);
	if (!ret)
		ret = session__start(t->s);
	if (ret)
		goto cleanup;
	sv->t[sv->n++] = t;
	t = NULL;
cleanup:
	target_free(t);
	return ret;
}

static bool traced(const struct serve *sv, int pid, uint64_t starttime)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (sv->t[i]->pid == pid && sv->t[i]->starttime == starttime)
			return true;
	return false;
}

static struct skip *skipped(struct serve *sv, int pid, uint64_t starttime)
{
	size_t i;

	for (i = 0; i < sv->nskip; i++)
		if (sv->skip[i].pid == pid && sv->skip[i].starttime == starttime)
			return &sv->skip[i];
	return NULL;
}

static void note_failure(struct serve *sv, int pid, uint64_t starttime, uint64_t now)
{
	struct skip *k = skipped(sv, pid, starttime);

	if (!k) {
		if (sv->nskip == sv->skipcap) {
			size_t cap = sv->skipcap ? sv->skipcap * 2 : 16;
			struct skip *v = realloc(sv->skip, cap * sizeof(*v));

			if (!v)
				return;
			sv->skip = v;
			sv->skipcap = cap;
		}
		k = &sv->skip[sv->nskip++];
		*k = (struct skip){ .pid = pid, .starttime = starttime };
	}
	k->tries++;
	k->next_ns = now + 1000000000ull;
	if (k->tries == MAX_TRIES)
		warn("pid %d: not traced after %d tries; leaving it alone", pid, MAX_TRIES);
}

static size_t live(const struct serve *sv)
{
	size_t i, n = 0;

	for (i = 0; i < sv->n; i++)
		n += !sv->t[i]->exited;
	return n;
}

/* --match: attach to every new process of that name; forget the failures that are gone. */
static void scan(struct serve *sv, uint64_t now)
{
	DIR *d;
	struct dirent *e;
	size_t i;

	if (live(sv) >= MAX_TRACED) {
		if (!sv->full)
			warn("tracing %d processes, the most pyscope serve traces at once; "
			     "new ones wait for a place", MAX_TRACED);
		sv->full = true;
		return;
	}
	sv->full = false;
	d = opendir("/proc");
	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t st;
		struct skip *k;
		char *end;
		long pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT_MAX || pid == getpid())
			continue;
		if (live(sv) >= MAX_TRACED)
			break;
		if (!proc_matches((int)pid, sv->cfg->match))
			continue;
		st = proc_starttime((int)pid);
		if (!st || traced(sv, (int)pid, st))
			continue;
		k = skipped(sv, (int)pid, st);
		if (k && (k->tries >= MAX_TRIES || now < k->next_ns))
			continue;
		if (attach(sv, (int)pid))
			note_failure(sv, (int)pid, st, now);
	}
	closedir(d);
	for (i = 0; i < sv->nskip;) {
		if (proc_starttime(sv->skip[i].pid) != sv->skip[i].starttime)
			sv->skip[i] = sv->skip[--sv->nskip];
		else
			i++;
	}
}

/* Step every live session once, without waiting; note the ones that ended. */
static void step_all(struct serve *sv)
{
	size_t i, exited = 0;

	for (i = 0; i < sv->n; i++) {
		struct target *t = sv->t[i];
		int ret;

		if (t->exited) {
			exited++;
			continue;
		}
		ret = session__step(t->s, 0);
		if (!ret)
			continue;
		/* final counts into the model, then the probes go; the series stay */
		session__finish(t->s);
		session__stop(t->s);
		session__detach(t->s);
		t->exited = true;
		exited++;
		warn("pid %d %s; its series go after the next scrape", t->pid,
		     ret > 0 ? "exited" : "is no longer traced");
	}
	/* nobody scrapes: keep a bounded number, the oldest go first */
	for (i = 0; exited > MAX_EXITED && i < sv->n;) {
		if (sv->t[i]->exited) {
			drop(sv, i);
			exited--;
		} else {
			i++;
		}
	}
}

static int metrics(struct serve *sv, bool scrape, struct strbuf *body)
{
	struct prom_target *pt;
	size_t i;

	pt = calloc(sv->n ? sv->n : 1, sizeof(*pt));
	if (!pt)
		return 500;
	for (i = 0; i < sv->n; i++) {
		session__refresh(sv->t[i]->s);
		pt[i].m = session__model(sv->t[i]->s);
		pt[i].meta = session__meta(sv->t[i]->s);
	}
	prom_render(body, pt, sv->n);
	free(pt);
	/* a GET has shown the exited processes' final counts: their series go */
	for (i = 0; scrape && !body->oom && i < sv->n;) {
		if (sv->t[i]->exited)
			drop(sv, i);
		else
			i++;
	}
	return 200;
}

static int handler(void *ctx, const struct http_request *req, struct strbuf *body,
		   const char **ctype)
{
	struct serve *sv = ctx;

	if (!strcmp(req->path, "/metrics")) {
		*ctype = PROM_CONTENT_TYPE;
		return metrics(sv, req->method == HTTP_GET, body);
	}
	if (!strcmp(req->path, "/")) {
		sb_printf(body, "pyscope serve: Prometheus metrics at /metrics\n");
		return 200;
	}
	return 404;
}

int cmd_serve(const struct config *cfg)
{
	struct serve sv = { .cfg = cfg };
	char err[256];
	int i, ret, status = 2;

	cmd_session_opts(cfg, &sv.so);
	signals__catch();
	/* listen first: a port in use is found before anything is attached */
	ret = httpd__new(&sv.h, cfg->listen, handler, &sv, err, sizeof(err));
	if (ret) {
		diag_error(cfg_diag(cfg), err);
		goto cleanup;
	}
	for (i = 0; i < cfg->npids; i++) {
		ret = attach(&sv, cfg->pids[i]);
		if (ret)
			goto cleanup;
	}
	fprintf(stderr, "pyscope: serving http://%s/metrics%s%s; Ctrl-C to stop\n",
		httpd__addr(sv.h), cfg->match ? ", following processes named " : "",
		cfg->match ? cfg->match : "");
	while (!signals__stop_requested()) {
		uint64_t now;

		httpd__poll(sv.h, 50);
		step_all(&sv);
		now = now_ns();
		if (cfg->match && now - sv.last_scan >= cfg->interval_ms * 1000000ull) {
			sv.last_scan = now;
			scan(&sv, now);
		}
	}
	status = 0;
cleanup:
	while (sv.n)
		drop(&sv, sv.n - 1);
	free(sv.t);
	free(sv.skip);
	httpd__free(sv.h);
	return status;
}
