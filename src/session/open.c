// SPDX-License-Identifier: MIT
/*
 * Opening a session's target, step by step: what this process may do,
 * the patterns, the output files, the target (attached or launched), its
 * interpreter model, the plan, the model, the BPF side, the coverage.
 */
#include "session/internal.h"
#include "session/launch.h"
#include "session/meta.h"
#include "probes/hwbp.h"
#include "probes/tracer.h"
#include "sink/recorder.h"
#include "target/caps.h"
#include "target/pyrt.h"
#include "util/util.h"
#include "model/pattern_spec.h"
#include "model/pattern_json.h"
#include "probes/profiler.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The initial PID namespace's inode number (PROC_PID_INIT_INO). */
#define INIT_PIDNS_INO 0xEFFFFFFCull

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

static void ms_debug(const struct session *s, const char *what)
{
	debug(s->o.verbose, "%.1f ms: %s", (now_ns() - s->t0) / 1e6, what);
}

/*
 * The BPF programs see host pids (and the uprobe links take pids as we see
 * them): from inside a PID namespace the two differ, and nothing would be
 * counted.  Containers are traced from the host.
 */
static int check_host_pidns(char *err, size_t errlen)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) || st.st_ino == INIT_PIDNS_INO)
		return 0;
	snprintf(err, errlen, "cannot trace from inside a PID namespace (a container): run "
		 "pyscope on the host, where it traces processes in containers too");
	return -ENOTSUP;
}

static int load_patterns(const struct session_opts *o, struct patterns *ps, char *err,
			 size_t errlen)
{
	size_t i;
	int ret;

	for (i = 0; i < o->nexprs; i++) {
		ret = pattern_spec__add_expr(ps, o->exprs[i], err, errlen);
		if (ret)
			return ret;
	}
	if (o->pattern_file)
		return pattern_json__load(ps, o->pattern_file, err, errlen);
	return 0;
}

static struct tracer_opts tracer_opts_of(const struct session_opts *o)
{
	return (struct tracer_opts){ .capture_args = !o->no_args, .verbose = o->verbose,
				     .path_depth = o->depth, .ncapture = (int)o->ncapture,
				     .capture = o->capture,
				     .prof_hz = o->profile ? o->prof_hz : 0,
				     .prof_all = o->prof_all,
				     .prof_offcpu = o->profile && o->prof_offcpu,
				     .prof_sampled = o->profile && o->prof_sampled };
}

static void on_record(void *ctx, const void *data, size_t len)
{
	struct session *s = ctx;

	recorder__event(s->rec, s->m, data, len);
}

static struct session *session_new(const struct session_opts *o, const struct session_target *tg)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->o = *o;
	s->pid = tg->pid;
	s->pidfd = -1;
	s->sf.root_fd = -1;
	s->failed = true;
	s->t0 = now_ns();
	s->wall_minus_mono = (int64_t)(wall_ns() - now_ns());
	return s;
}

/* Before anything is launched, created or attached: may we, and what are the patterns? */
static int preflight(struct session *s, char *err, size_t errlen)
{
	int ret;

	ret = caps_require(true, s->pid, err, errlen);
	if (!ret)
		ret = check_host_pidns(err, errlen);
	if (!ret)
		ret = load_patterns(&s->o, &s->ps, err, errlen);
	if (ret)
		return ret;
	s->cov.ps = &s->ps;
	/* rules are judged by pyscope check only; trace and profile ignore them */
	s->cov.rules = s->o.rules && s->ps.nrules > 0;
	ret = cover__init(&s->cov);
	if (ret)
		snprintf(err, errlen, "out of memory");
	return ret;
}

/* The report file and the trace file, when this session has the run to itself. */
static int open_files(struct session *s, struct tracer_opts *topts, char *err, size_t errlen)
{
	int ret;

	ret = outfile_open(&s->of, s->o.output, s->o.force, err, errlen);
	if (ret)
		return ret;
	s->out = s->of.f;
	if (!s->o.record)
		return 0;
	ret = recorder__open(&s->rec, s->o.record, s->o.force, err, errlen);
	if (ret)
		return ret;
	topts->on_record = on_record;
	topts->record_ctx = s;
	return 0;
}

/* The interpreter model (a forked child's from its parent), the plan, the model. */
static int build_model(struct session *s, const struct session_target *tg, bool *cloned,
		       char *err, size_t errlen)
{
	bool unchecked;
	int ret = 0;

	/* a forked child: its parent's model, once its memory map says it still fits */
	*cloned = tg->parent_rt && !pyrt__for_child(tg->parent_rt, s->pid, &s->rt);
	if (!*cloned)
		ret = pyrt__from_pid(s->pid, &s->rt, err, errlen);
	if (ret)
		return ret;
	unchecked = hwbp_check(s->rt);
	ms_debug(s, "interpreter model built");
	ret = plan_make(s->rt, s->o.via == VIA_BREAKPOINT ? VIA_AUTO : s->o.via, &s->plan, err,
			errlen);
	if (ret)
		return ret;
	if (s->o.count_only)
		s->plan.exit = EXIT_NONE;
	s->m = model__new(&s->ps, &(struct model_interp){ .pyminor = s->rt->ver.minor,
			  .qualnames = s->rt->off.co_qualname != PYOFF_NONE });
	if (!s->m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (unchecked) {
		warn("%s", HWBP_UNCHECKED_NOTE);
		model__set_note(s->m, HWBP_UNCHECKED_NOTE);
	}
	/* <= 3.10 qualified names: the target's sources, as the target reads them */
	if (!srcfiles__open(&s->sf, s->pid))
		model__set_source_reader(s->m, srcfiles__read, &s->sf);
	return 0;
}

/* The BPF side: a tracer loaded ahead for its parent's interpreter, or a new one. */
static int load_tracer(struct session *s, struct session_target *tg, bool cloned,
		       const struct tracer_opts *topts, char *err, size_t errlen)
{
	/* loaded ahead: no verification to wait for */
	if (cloned && tg->spare && !tracer__adopt(tg->spare, s->rt, s->m)) {
		s->t = tg->spare;
		tg->spare_used = true;
		debug(s->o.verbose, "pid %d: using a tracer loaded ahead", s->pid);
		return 0;
	}
	return tracer__open(&s->t, s->rt, &s->ps, &s->plan, s->m, topts, err, errlen);
}

/* Choose and arm each pattern's mechanism; the profiler's samplers. */
static int arm(struct session *s, char *err, size_t errlen)
{
	struct cover *c = &s->cov;
	int ret;

	c->t = s->t;
	c->m = s->m;
	c->rt = s->rt;
	c->plan = &s->plan;
	c->rec = s->rec;
	c->pid = s->pid;
	c->via = s->o.via;
	c->count_only = s->o.count_only;
	c->sampled = s->o.profile && s->o.prof_sampled;
	c->verbose = s->o.verbose;
	c->diag = s->o.diag;
	ret = cover__choose(c, err, errlen);
	if (ret && session__gone(s, false, NULL))
		snprintf(err, errlen, "pid %d exited while pyscope was attaching (%s); "
			 "nothing was left attached", s->pid, strerror(-ret));
	if (!ret && s->o.profile)
		ret = profiler__start(s->t, err, errlen);
	return ret;
}

static int open_target(struct session **out, const struct session_opts *o,
		       struct session_target *tg, char *err, size_t errlen)
{
	struct session *s;
	struct tracer_opts topts = tracer_opts_of(o);
	bool cloned;
	int ret;

	*out = NULL;
	s = session_new(o, tg);
	if (!s)
		return -ENOMEM;
	libbpf_set_print(o->verbose >= 2 ? libbpf_loud : libbpf_quiet);
	ret = preflight(s, err, errlen);
	topts.rules = s->cov.rules;
	if (!ret && tg->own_output)
		ret = open_files(s, &topts, err, errlen);
	if (!ret && !s->pid) {
		ret = launch_start(o->argv, &s->pid, err, errlen);
		s->launched = !ret;
	}
	if (ret)
		goto fail;
	ms_debug(s, "target ready");
	ret = build_model(s, tg, &cloned, err, errlen);
	if (!ret)
		ret = load_tracer(s, tg, cloned, &topts, err, errlen);
	if (ret)
		goto fail;
	ms_debug(s, "BPF loaded");
	ret = arm(s, err, errlen);
	if (ret)
		goto fail;
	ms_debug(s, "armed");
	meta__armed(s);
	*out = s;
	return 0;
fail:
	session__close(s);
	return ret ? ret : -EINVAL;
}

int session__open(struct session **out, const struct session_opts *o)
{
	struct session_target tg = { .pid = o->pid, .own_output = true };
	char err[768] = "";
	int ret;

	ret = open_target(out, o, &tg, err, sizeof(err));
	if (ret && err[0])
		diag_error(o->diag, err);
	return ret;
}

int session__open_target(struct session **out, const struct session_opts *o,
			 struct session_target *tg, char *err, size_t errlen)
{
	err[0] = '\0';
	return open_target(out, o, tg, err, errlen);
}

int session__spare(const struct session *s, struct tracer **out, char *err, size_t errlen)
{
	struct tracer_opts topts = tracer_opts_of(&s->o);

	return tracer__open(out, s->rt, &s->ps, &s->plan, NULL, &topts, err, errlen);
}
