// SPDX-License-Identifier: MIT
/*
 * psbench: measurements for tools/bench.py (make bench), never for tests.
 *
 *   psbench probes [--via eval|resume] -- CMD...
 *	the probe points pyscope would use on CMD's interpreter, as JSON
 *   psbench floor [--via eval|resume] -o FILE -- CMD...
 *	run CMD with a count-only BPF program at those probe points, attached
 *	as pyscope attaches; FILE gets the hits per probe, armed and detach times
 *   psbench flood -n N [--code-every K] [--codes C]
 *	fill a ring buffer like pyscope's from the kernel as fast as possible
 *	and consume it with pyscope's collector (model__add_record): events per
 *	second of consumer CPU, loss, and peak RSS after 1M and 10M events
 *   psbench tfwrite -i TRACEFILE -o OUT -n N
 *	the trace-file writer thread's work (64 KiB chunks, zlib, CRC, write)
 *	on N records taken in turn from TRACEFILE's events: records per second
 *	of one core, bytes per record on disk, compression ratio
 */
#include "session/launch.h"
#include "model/model.h"
#include "model/pattern.h"
#include "plan/plan.h"
#include "bench/psflood.skel.h"
#include "bench/psfloor.skel.h"
#include "target/pyrt.h"
#include "tracefile/tracefile.h"
#include "probes/ulink.h"
#include "util/util.h"
#include "probes/collector.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_SLOTS 16

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l;
	(void)f;
	(void)ap;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: psbench probes [--via eval|resume] -- CMD...\n"
			"       psbench floor [--via eval|resume] -o FILE -- CMD...\n"
			"       psbench flood -n N [--code-every K] [--codes C]\n"
			"       psbench tfwrite -i TRACEFILE -o OUT -n N\n");
	return 2;
}

struct target {
	int pid;
	struct pyrt *rt;
	struct plan plan;
	struct probe_point probes[PLAN_MAX_PROBES];
	size_t nprobes;
};

/* Launch CMD held before any Python runs, and plan its probes as pyscope would. */
static int target_start(char **argv, const char *via, struct target *t, char *err, size_t n)
{
	enum ps_via v = VIA_AUTO;
	int ret;

	memset(t, 0, sizeof(*t));
	if (via && !strcmp(via, "eval"))
		v = VIA_EVAL;
	else if (via && !strcmp(via, "resume"))
		v = VIA_RESUME;
	ret = launch_start(argv, &t->pid, err, n);
	if (ret)
		return ret;
	ret = pyrt__from_pid(t->pid, &t->rt, err, n);
	if (!ret)
		ret = plan_make(t->rt, v, &t->plan, err, n);
	if (!ret)
		t->nprobes = plan_probes(t->rt, &t->plan, t->probes);
	if (ret) {
		launch_abort(t->pid);
		pyrt__free(t->rt);
		t->rt = NULL;
	}
	return ret;
}

static const char *role_name(enum probe_role r)
{
	static const char *const names[PROBE_ROLES] = {
		"eval_entry", "eval_return", "resume", "frame_clear", "usdt_return",
		"code_dealloc", "type_dealloc",
	};
	return r < PROBE_ROLES ? names[r] : "?";
}

static bool symbol_starts_at(const struct elf_file *ef, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < elf_file__nsyms(ef); i++)
		if (elf_file__sym_at(ef, i)->value == vaddr)
			return true;
	return false;
}

/*
 * How bpftrace 0.17 (no bfd) can be told to probe there, or "" if it
 * cannot: it refuses any address inside a known symbol but its start.  An
 * address it cannot place in a symbol is taken as a file offset, which
 * works for non-PIE executables, whose file offsets lie below their
 * addresses.
 */
static void bpftrace_spec(const struct target *t, const struct probe_point *p, uint64_t off,
			  char *buf, size_t n)
{
	const char *kind = p->ret ? "uretprobe" : "uprobe";

	if (p->role == PROBE_USDT_RETURN)
		snprintf(buf, n, "usdt:%s:python:function__return", t->rt->path);
	else if (symbol_starts_at(t->rt->ef, p->vaddr))
		snprintf(buf, n, "%s:%s:0x%lx", kind, t->rt->path, (unsigned long)p->vaddr);
	else if (elf_file__is_exec(t->rt->ef) && off < p->vaddr)
		snprintf(buf, n, "%s:%s:0x%lx", kind, t->rt->path, (unsigned long)off);
	else
		buf[0] = '\0';
}

static void print_probes(FILE *f, const struct target *t)
{
	size_t i;

	fprintf(f, "{\"pid\": %d, \"python\": \"%s\", \"mechanism\": \"%s\", \"path\": \"%s\", "
		"\"exec\": %s, \"probes\": [", t->pid, t->rt->version, mech_name(t->plan.mech),
		t->rt->path, elf_file__is_exec(t->rt->ef) ? "true" : "false");
	for (i = 0; i < t->nprobes; i++) {
		const struct probe_point *p = &t->probes[i];
		uint64_t off = 0, sema = 0;

		char bt[PATH_MAX + 64];

		elf_file__vaddr_to_off(t->rt->ef, p->vaddr, &off);
		if (p->sema)
			elf_file__vaddr_to_off(t->rt->ef, p->sema, &sema);
		bpftrace_spec(t, p, off, bt, sizeof(bt));
		fprintf(f, "%s{\"role\": \"%s\", \"what\": \"%s\", \"vaddr\": %lu, \"offset\": %lu, "
			"\"semaphore\": %lu, \"ret\": %s, \"bpftrace\": \"%s\"}", i ? ", " : "",
			role_name(p->role), p->what, (unsigned long)p->vaddr, (unsigned long)off,
			(unsigned long)sema, p->ret ? "true" : "false", bt);
	}
	fprintf(f, "]");
}

static int cmd_probes(char **argv, const char *via)
{
	struct target t;
	char err[512];

	if (target_start(argv, via, &t, err, sizeof(err))) {
		fprintf(stderr, "psbench: %s\n", err);
		return 2;
	}
	print_probes(stdout, &t);
	printf("}\n");
	launch_abort(t.pid);
	pyrt__free(t.rt);
	return 0;
}

static int cmd_floor(char **argv, const char *via, const char *outpath)
{
	struct ulink_probe up[PLAN_MAX_PROBES];
	struct ulinks links = { 0 };
	struct psfloor_bpf *skel = NULL;
	struct target t = { 0 };
	__u64 *per = NULL, hits[FLOOR_SLOTS] = { 0 }, total = 0;
	uint64_t t0 = now_ns(), armed = 0, d0, runs = 0, run_ns = 0;
	double detach_ms;
	char err[512] = "";
	int ncpu = libbpf_num_possible_cpus(), status = 2, code, ret;
	bool released = false;
	FILE *out = NULL;
	size_t i;

	if (target_start(argv, via, &t, err, sizeof(err)))
		goto fail;
	skel = psfloor_bpf__open();
	if (!skel) {
		snprintf(err, sizeof(err), "cannot open the floor program");
		goto fail;
	}
	skel->rodata->targ_tgid = (__u32)t.pid;
	links.multi = ulink__multi_supported();
	if (links.multi) {
		ulink__prepare_multi(skel->progs.floor_entry);
		ulink__prepare_multi(skel->progs.floor_return);
	}
	if (psfloor_bpf__load(skel)) {
		snprintf(err, sizeof(err), "cannot load the floor program");
		goto fail;
	}
	for (i = 0; i < t.nprobes; i++) {
		uint64_t off = 0, ref = 0;

		elf_file__vaddr_to_off(t.rt->ef, t.probes[i].vaddr, &off);
		if (t.probes[i].sema)
			elf_file__vaddr_to_off(t.rt->ef, t.probes[i].sema, &ref);
		up[i] = (struct ulink_probe){
			.prog = t.probes[i].ret ? skel->progs.floor_return : skel->progs.floor_entry,
			.off = off, .ref_ctr_off = ref, .cookie = i, .ret = t.probes[i].ret,
			.what = t.probes[i].what };
	}
	if (ulink__attach(&links, t.rt->open_path, t.pid, up, t.nprobes, err, sizeof(err)))
		goto fail;
	armed = now_ns() - t0;
	ret = launch_release(t.pid);
	if (ret) {
		snprintf(err, sizeof(err), "cannot resume the target: %s", strerror(-ret));
		goto fail;
	}
	released = true;
	code = launch_wait(t.pid);
	per = calloc((size_t)ncpu, sizeof(*per));
	for (i = 0; per && i < FLOOR_SLOTS; i++) {
		__u32 k = (__u32)i;
		int c;

		if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.hits), &k, per))
			continue;
		for (c = 0; c < ncpu; c++)
			hits[i] += per[c];
		total += hits[i];
	}
	ulink__run_stats(skel->obj, &runs, &run_ns);
	d0 = now_ns();
	ulink__detach(&links);
	detach_ms = (double)(now_ns() - d0) / 1e6;
	out = fopen(outpath, "w");
	if (!out) {
		snprintf(err, sizeof(err), "%s: %s", outpath, strerror(errno));
		goto fail;
	}
	print_probes(out, &t);
	fprintf(out, ", \"multi\": %s, \"armed_ms\": %.1f, \"detach_ms\": %.1f, \"exit\": %d, "
		"\"total_hits\": %llu, \"bpf_runs\": %llu, \"bpf_run_ns\": %llu, \"hits\": [",
		links.multi ? "true" : "false", (double)armed / 1e6, detach_ms, code,
		(unsigned long long)total, (unsigned long long)runs, (unsigned long long)run_ns);
	for (i = 0; i < t.nprobes; i++)
		fprintf(out, "%s%llu", i ? ", " : "", (unsigned long long)hits[i]);
	fprintf(out, "]}\n");
	fclose(out);
	status = code;
	goto cleanup;
fail:
	fprintf(stderr, "psbench: %s\n", err);
	if (t.rt && !released)
		launch_abort(t.pid);
	else if (released)
		launch_wait(t.pid);
cleanup:
	ulink__detach(&links);
	psfloor_bpf__destroy(skel);
	pyrt__free(t.rt);
	free(per);
	return status;
}

/* -- flood --------------------------------------------------------------- */

struct flood_args {		/* as bpf/bench/psflood.bpf.c */
	__u64 seq;
	__u64 n;
	__u64 code_every;
	__u64 codes;
	__u64 done;
};

struct flood {
	int prog_fd;
	uint64_t target;
	uint32_t code_every, codes;
	_Atomic uint64_t produced;
	uint64_t retries;
	uint64_t consumed;
	struct model *m;
	int err;
};

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The producer: as many records as the ring takes, retrying when it is full. */
static void *produce(void *arg)
{
	struct flood *f = arg;
	uint64_t seq = 0;

	pin_to(1);
	while (seq < f->target) {
		struct flood_args a = { .seq = seq, .code_every = f->code_every,
					.codes = f->codes };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));

		a.n = MIN(4096, f->target - seq);
		if (bpf_prog_test_run_opts(f->prog_fd, &opts)) {
			f->err = -errno;
			break;
		}
		seq += a.done;
		atomic_store(&f->produced, seq);
		if (a.done < a.n) {
			f->retries++;
			sched_yield();
		}
	}
	return NULL;
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct flood *f = ctx;
	uint32_t kind;

	model__add_record(f->m, data, len, &kind);
	f->consumed++;
	return 0;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int cmd_flood(uint64_t n, uint32_t code_every, uint32_t codes)
{
	struct patterns ps = { 0 };
	struct psflood_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct flood f = { .target = n, .code_every = code_every, .codes = codes ? codes : 1 };
	const uint64_t marks[] = { 1000000, 10000000 };
	long rss_at[2] = { 0, 0 };
	pthread_t th;
	bool started = false;
	double c0, w0, cpu, wall;
	int status = 2;
	size_t k = 0;

	f.m = model__new(&ps, &(struct model_interp){ .pyminor = 13, .qualnames = true });
	skel = psflood_bpf__open_and_load();
	if (!f.m || !skel) {
		fprintf(stderr, "psbench: cannot set up the flood\n");
		goto cleanup;
	}
	f.prog_fd = bpf_program__fd(skel->progs.flood);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, &f, NULL);
	if (!rb)
		goto cleanup;
	pin_to(0);
	c0 = thread_cpu_s();
	w0 = (double)now_ns() / 1e9;
	started = !pthread_create(&th, NULL, produce, &f);
	if (!started)
		goto cleanup;
	/* the collector's loop, as in collector__poll: wait for data, consume it all */
	while (f.consumed < n && !f.err) {
		struct pollfd pfd = { .fd = ring_buffer__epoll_fd(rb), .events = POLLIN };

		poll(&pfd, 1, 100);
		if (ring_buffer__consume(rb) < 0)
			break;
		while (k < 2 && f.consumed >= marks[k])
			rss_at[k++] = maxrss_kib();
	}
	cpu = thread_cpu_s() - c0;
	wall = (double)now_ns() / 1e9 - w0;
	pthread_join(th, NULL);
	started = false;
	ring_buffer__consume(rb);
	printf("{\"events\": %llu, \"produced\": %llu, \"lost\": %lld, \"producer_retries\": %llu, "
	       "\"code_every\": %u, \"codes\": %u, \"wall_s\": %.3f, \"consumer_cpu_s\": %.3f, "
	       "\"events_per_cpu_s\": %.0f, \"events_per_wall_s\": %.0f, \"rss_kib_1M\": %ld, "
	       "\"rss_kib_10M\": %ld, \"rss_kib_end\": %ld}\n",
	       (unsigned long long)f.consumed, (unsigned long long)atomic_load(&f.produced),
	       (long long)atomic_load(&f.produced) - (long long)f.consumed,
	       (unsigned long long)f.retries, code_every, f.codes, wall, cpu,
	       cpu > 0 ? (double)f.consumed / cpu : 0, wall > 0 ? (double)f.consumed / wall : 0,
	       rss_at[0], rss_at[1], maxrss_kib());
	status = f.err ? 2 : 0;
cleanup:
	if (started)
		pthread_join(th, NULL);
	ring_buffer__free(rb);
	psflood_bpf__destroy(skel);
	model__free(f.m);
	return status;
}

/* The records of a trace file's events chunks, as (type, bytes) in a tf_buf. */
static int tf_records(const char *path, struct tf_buf *recs, uint64_t *nrec)
{
	struct tf_reader *r = NULL;
	struct tf_chunk ch;
	char *data = NULL, err[256];
	size_t len;
	int ret;

	*nrec = 0;
	ret = read_file(path, 1u << 30, &data, &len);
	if (!ret)
		ret = tf_reader__new(&r, (const uint8_t *)data, len, err, sizeof(err));
	while (!ret && tf_reader__next(r, &ch) == 1) {
		struct tf_cur c = { .p = ch.raw, .left = ch.raw_len };

		if (ch.type != TF_CH_EVENTS)
			continue;
		tf_buf__put(recs, ch.raw, ch.raw_len);
		while (c.left && !c.bad) {
			tf_cur__get_u32(&c);
			tf_cur__get_bytes(&c, tf_cur__get_u32(&c));
			(*nrec)++;
		}
	}
	tf_reader__free(r);
	free(data);
	return ret ? ret : recs->oom ? -ENOMEM : 0;
}

static int cmd_tfwrite(const char *in, const char *out, uint64_t n)
{
	struct tf_buf recs = { 0 }, cur = { 0 };
	uint64_t have, done = 0, raw = 0, file = 0, t0, t1;
	struct timespec c0, c1;
	struct tf_zip *z = tf_zip__new(6);
	size_t off = 0;
	uint32_t seq = 0;
	int fd = -1, ret;

	ret = tf_records(in, &recs, &have);
	if (ret || !have) {
		fprintf(stderr, "psbench: %s: no records (%s)\n", in, strerror(ret ? -ret : EINVAL));
		return 2;
	}
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !z) {
		fprintf(stderr, "psbench: %s: %s\n", out, strerror(errno));
		ret = -errno;
		goto cleanup;
	}
	t0 = now_ns();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	while (done < n || cur.len) {
		bool last = done >= n;

		if (!last) {
			struct tf_cur c = { .p = recs.p + off, .left = recs.len - off };
			uint16_t type = tf_cur__get_u16(&c);
			uint32_t len;

			tf_cur__get_u16(&c);
			len = tf_cur__get_u32(&c);
			tf_buf__put_record(&cur, type, tf_cur__get_bytes(&c, len), len);
			off = recs.len - c.left;
			if (off >= recs.len)
				off = 0;
			done++;
		}
		if (cur.len >= (64u << 10) || last) {
			const uint8_t *chunk;
			size_t clen;

			ret = tf_zip__encode(z, TF_CH_EVENTS, seq++, cur.p, cur.len, &chunk, &clen);
			if (!ret && write(fd, chunk, clen) != (ssize_t)clen)
				ret = -EIO;
			if (ret)
				goto cleanup;
			raw += cur.len;
			file += clen;
			cur.len = 0;
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	t1 = now_ns();
	printf("{\"records\": %lu, \"wall_s\": %.3f, \"cpu_s\": %.3f, \"records_per_cpu_s\": %.0f, "
	       "\"bytes_raw\": %lu, \"bytes_file\": %lu, \"bytes_per_record\": %.1f, "
	       "\"ratio\": %.2f}\n", (unsigned long)done, (double)(t1 - t0) / 1e9,
	       (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9,
	       (double)done / ((double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9),
	       (unsigned long)raw, (unsigned long)file, (double)file / (double)done,
	       (double)raw / (double)file);
cleanup:
	if (fd >= 0)
		close(fd);
	tf_buf__free(&recs);
	tf_buf__free(&cur);
	tf_zip__free(z);
	return ret ? 2 : 0;
}

int main(int argc, char **argv)
{
	const char *via = NULL, *out = NULL, *in = NULL;
	uint64_t n = 1000000;
	uint32_t code_every = 0, codes = 4096;
	int i;

	libbpf_set_print(quiet);
	if (argc < 2)
		return usage();
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--via") && i + 1 < argc) {
			via = argv[++i];
		} else if (!strcmp(argv[i], "-i") && i + 1 < argc) {
			in = argv[++i];
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			n = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--codes") && i + 1 < argc) {
			codes = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--code-every") && i + 1 < argc) {
			code_every = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else {
			return usage();
		}
	}
	if (!strcmp(argv[1], "flood"))
		return cmd_flood(n, code_every, codes);
	if (!strcmp(argv[1], "tfwrite") && in && out)
		return cmd_tfwrite(in, out, n);
	if (i >= argc)
		return usage();
	if (!strcmp(argv[1], "probes"))
		return cmd_probes(argv + i, via);
	if (!strcmp(argv[1], "floor") && out)
		return cmd_floor(argv + i, via, out);
	return usage();
}
