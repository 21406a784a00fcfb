// SPDX-License-Identifier: MIT
/* pyscope trace: count and time the calls that match the patterns. */
#include "caps.h"
#include "cmds.h"
#include "launch.h"
#include "mech_uprobe.h"
#include "model.h"
#include "outfile.h"
#include "pattern.h"
#include "plan.h"
#include "pyrt.h"
#include "report.h"
#include "srcfile.h"
#include "util.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The only global: set by SIGINT/SIGTERM, read by the trace loop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int libbpf_loud(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static int load_patterns(const struct config *cfg, struct patterns *ps, char *err, size_t errlen)
{
	int i, ret;

	for (i = 0; i < cfg->nexprs; i++) {
		ret = patterns_add_expr(ps, cfg->exprs[i], err, errlen);
		if (ret)
			return ret;
	}
	if (cfg->pattern_file)
		return patterns_load_file(ps, cfg->pattern_file, err, errlen);
	return 0;
}

static bool target_gone(int pid, bool launched, int *code)
{
	char path[64];

	if (launched)
		return launch_exited(pid, code);
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK))
		return true;
	/* a zombie has no memory map left to trace */
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return access(path, F_OK) != 0 && errno == ENOENT;
}

int cmd_trace(const struct config *cfg)
{
	/* with -i in JSON, every report is one line so that the stream splits on lines */
	bool lines = cfg->format == FMT_NDJSON || (cfg->format == FMT_JSON && cfg->interval_ms);
	struct report_opts live = { .final = false, .top = cfg->top, .compact = true };
	struct report_opts fin = { .final = true, .sigs = true, .sites = true,
				    .all_details = cfg->paths, .top = cfg->top, .compact = lines };
	struct tracer_opts topts = { .capture_args = !cfg->no_args, .verbose = cfg->verbose };
	struct patterns ps = { 0 };
	struct run_meta meta;
	struct srcfiles sf = { .root_fd = -1 };
	struct pyrt *rt = NULL;
	struct model *m = NULL;
	struct tracer *t = NULL;
	struct outfile of = { 0 };
	struct plan plan;
	struct sigaction sa;
	uint64_t start, last_tick;
	FILE *out = NULL;
	char err[768] = "";
	bool launched = false, released = false;
	int pid = cfg->pid, status = 2, code = 0, ret, pidfd = -1;
	size_t i;

	uint64_t t0 = now_ns();

	libbpf_set_print(cfg->verbose >= 2 ? libbpf_loud : libbpf_quiet);
	memset(&meta, 0, sizeof(meta));
	/* before anything is launched, created or attached */
	ret = caps_require(true, pid, err, sizeof(err));
	if (ret)
		goto fail;
	ret = load_patterns(cfg, &ps, err, sizeof(err));
	if (ret)
		goto fail;
	ret = outfile_open(&of, cfg->output, cfg->force, err, sizeof(err));
	if (ret)
		goto fail;
	out = of.f;
	if (!pid) {
		ret = launch_start(cfg->argv, &pid, err, sizeof(err));
		if (ret)
			goto fail;
		launched = true;
	}
	debug(cfg->verbose, "%.1f ms: target ready", (now_ns() - t0) / 1e6);
	ret = pyrt__from_pid(pid, &rt, err, sizeof(err));
	if (ret)
		goto fail;
	debug(cfg->verbose, "%.1f ms: interpreter model built", (now_ns() - t0) / 1e6);
	ret = plan_make(rt, cfg->via, &plan, err, sizeof(err));
	if (ret)
		goto fail;
	m = model__new(&ps, rt->ver.minor);
	if (!m) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	/* <= 3.10 qualified names: the target's sources, as the target reads them */
	if (!srcfiles__open(&sf, pid))
		model__set_source_reader(m, srcfiles__read, &sf);
	ret = tracer__open(&t, rt, &ps, &plan, m, &topts, err, sizeof(err));
	if (ret)
		goto fail;
	debug(cfg->verbose, "%.1f ms: BPF loaded", (now_ns() - t0) / 1e6);
	ret = tracer__attach(t, err, sizeof(err));
	if (ret && target_gone(pid, launched, &code))
		snprintf(err, sizeof(err), "pid %d exited while pyscope was attaching (%s); "
			 "nothing was left attached", pid, strerror(-ret));
	if (ret)
		goto fail;
	debug(cfg->verbose, "%.1f ms: armed", (now_ns() - t0) / 1e6);

	meta.pid = pid;
	meta.launched = launched;
	str_copy(meta.python, rt->version, sizeof(meta.python));
	str_copy(meta.interpreter, rt->path, sizeof(meta.interpreter));
	str_copy(meta.mechanism, mech_name(plan.mech), sizeof(meta.mechanism));
	str_copy(meta.returns, plan_exit_str(plan.exit), sizeof(meta.returns));
	meta.timed = plan.exit != EXIT_NONE;
	meta.start_wall_ns = wall_ns();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "pyscope: tracing pid %d (Python %s, via %s) for %zu pattern(s)%s; "
		"Ctrl-C to stop\n", pid, rt->version, mech_name(plan.mech), ps.n,
		launched ? "" : "");
	debug(cfg->verbose, "plan: %s", plan.desc);
	/* a pidfd becomes readable when the target exits: no polling delay */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	start = last_tick = now_ns();
	if (launched) {
		ret = launch_release(pid);
		if (ret) {
			snprintf(err, sizeof(err), "cannot resume pid %d: %s", pid, strerror(-ret));
			goto fail;
		}
		released = true;
	}
	while (!stop_requested) {
		uint64_t now;

		ret = tracer__poll(t, 100, pidfd);
		if (ret < 0) {
			snprintf(err, sizeof(err), "reading events: %s", strerror(-ret));
			goto fail;
		}
		now = now_ns();
		if (target_gone(pid, launched, &code)) {
			meta.target_exited = true;
			meta.exited_after_ns = now - start;
			meta.exit_code = code;
			break;
		}
		if (cfg->duration_ms && now - start >= cfg->duration_ms * 1000000ull)
			break;
		if (cfg->interval_ms && now - last_tick >= cfg->interval_ms * 1000000ull) {
			last_tick = now;
			tracer__refresh(t);
			meta.duration_ns = now - start;
			if (cfg->format != FMT_TEXT) {
				report_json_print(out, m, &meta, &live);
			} else {
				fprintf(out, "\n-- %.1fs --\n", (double)meta.duration_ns / 1e9);
				report_text(out, m, &meta, &live);
			}
			fflush(out);
		}
	}
	meta.stopped_by_signal = stop_requested;
	meta.duration_ns = now_ns() - start;
	debug(cfg->verbose, "%.1f ms: stopping", (now_ns() - t0) / 1e6);
	/*
	 * Report first: the maps stay readable while the probes are removed,
	 * which takes a grace period per probe in the kernel.
	 */
	tracer__poll(t, 0, -1);
	tracer__refresh(t);
	if (cfg->format != FMT_TEXT)
		report_json_print(out, m, &meta, &fin);
	else
		report_text(out, m, &meta, &fin);
	fflush(out);
	/* not an error, but most often a misspelt pattern */
	for (i = 0; i < ps.n; i++)
		if (!model__pattern_matched_code(m, i))
			warn("warning: pattern %s matched no code: no call of %s was seen",
			     ps.v[i].name, ps.v[i].spec);
	tracer__detach(t);
	debug(cfg->verbose, "%.1f ms: detached", (now_ns() - t0) / 1e6);
	status = 0;
	if (launched) {
		/* exit with the command's status, waiting for it if still running */
		status = meta.target_exited ? meta.exit_code : launch_wait(pid);
	}
	goto cleanup;
fail:
	report_error(cfg, err);
	if (launched && !released)
		launch_abort(pid);
	else if (launched)
		launch_wait(pid);
	status = 2;
cleanup:
	if (pidfd >= 0)
		close(pidfd);
	tracer__close(t);
	model__free(m);
	pyrt__free(rt);
	srcfiles__close(&sf);
	patterns_free(&ps);
	/* a failed run removes the report file it created, if nothing was written */
	outfile_close(&of, status == 2);
	return status;
}
