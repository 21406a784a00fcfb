// SPDX-License-Identifier: MIT
#include "session/session.h"
#include "target/caps.h"
#include "cmd/cmds.h"
#include "probes/hwbp.h"
#include "session/launch.h"
#include "probes/tracer.h"
#include "probes/breakpoints.h"
#include "probes/collector.h"
#include "probes/profiler.h"
#include "probes/memread.h"
#include "model/pattern.h"
#include "model/pattern_spec.h"
#include "model/pattern_json.h"
#include "plan/plan.h"
#include "target/pyrt.h"
#include "target/pywalk.h"
#include "sink/record.h"
#include "sink/outfile.h"
#include "target/srcfile.h"
#include "util/util.h"
#include "model/model_result.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_PENDING_NS	(50ull * 1000000)	/* look for late imports */
#define RESOLVE_ARMED_NS	(500ull * 1000000)	/* notice redefinitions */

/* The only global: set by SIGINT/SIGTERM, read by the event loop. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Per pattern: how breakpoints cover it. */
struct bp_state {
	bool want;		/* meant for breakpoints (else uprobes) */
	bool armed;
	uint64_t code, watch;
};

struct session {
	const struct config *cfg;
	struct patterns ps;
	struct pyrt *rt;
	struct model *m;
	struct tracer *t;
	struct memread *mr;
	struct pywalk walk;
	struct plan plan;
	struct run_meta meta;
	struct srcfiles sf;
	struct outfile of;
	struct bp_state *bp;
	struct recorder *rec;		/* record, trace --record */
	FILE *out;
	int pid, pidfd;
	bool failed;			/* remove an output file we created */
	bool ended;			/* the target exited or exec'd, or the loop stopped */
	bool launched, released, count_only;
	bool uprobes_on;		/* frame-start uprobes attached */
	bool exits_on;			/* frame-end probe attached: calls are timed */
	bool exits_lazy;		/* breakpoints only: attach it at their first hit */
	uint64_t t0, start, last_pending, last_armed;
	int64_t wall_minus_mono;
};

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
		ret = pattern_spec__add_expr(ps, cfg->exprs[i], err, errlen);
		if (ret)
			return ret;
	}
	if (cfg->pattern_file)
		return pattern_json__load(ps, cfg->pattern_file, err, errlen);
	return 0;
}

static uint64_t since(const struct session *s)
{
	return now_ns() - s->start;
}

static void set_cover(struct session *s, size_t i, enum cover_mech mech, bool timed,
		      const char *why)
{
	struct coverage c = { .mech = mech, .timed = timed };

	c.armed_ns = s->start ? since(s) : 0;
	c.partial = s->start && c.armed_ns > 0;
	str_copy(c.why, why ? why : "", sizeof(c.why));
	model__set_coverage(s->m, i, &c);
}

/*
 * The frame-end probe fires at every frame's end, hit or not.  With
 * breakpoints only it waits for their first hit: a never-called target then
 * costs nothing.  Calls seen before it is attached are counted, not timed.
 */
static int exits_now(struct session *s, char *err, size_t errlen)
{
	size_t i;
	int ret;

	if (!s->exits_lazy || s->exits_on)
		return 0;
	ret = tracer__attach(s->t, ATTACH_EXIT, err, errlen);
	if (ret)
		return ret;
	s->exits_on = true;
	for (i = 0; i < s->ps.n; i++) {
		struct coverage c = *model__coverage(s->m, i);
		size_t len = strlen(c.why);

		if (c.mech != COVER_BREAKPOINT || c.timed)
			continue;
		c.timed = true;
		snprintf(c.why + len, sizeof(c.why) - len, "; timed from %.3fs (the first hit)",
			 (double)since(s) / 1e9);
		model__set_coverage(s->m, i, &c);
	}
	debug(s->cfg->verbose, "first breakpoint hit: frame-end probe attached at %.3fs",
	      (double)since(s) / 1e9);
	return 0;
}

/* Attach the eval/resume uprobes (once), for patterns breakpoints cannot cover. */
static int uprobes_on(struct session *s, char *err, size_t errlen)
{
	int ret;

	if (s->uprobes_on)
		return 0;
	ret = exits_now(s, err, errlen);
	if (!ret)
		ret = tracer__attach(s->t, ATTACH_ENTRY, err, errlen);
	if (!ret)
		s->uprobes_on = true;
	return ret;
}

/*
 * The frame-end probe (unless lazy) and the deallocation probes: attached
 * once, before anything counts.
 */
static int base_probes(struct session *s, bool lazy, char *err, size_t errlen)
{
	unsigned what = ATTACH_DEALLOC | ATTACH_PROC;
	int ret;

	if (s->plan.exit != EXIT_NONE && !s->count_only) {
		if (lazy)
			s->exits_lazy = true;
		else
			what |= ATTACH_EXIT;
	}
	ret = tracer__attach(s->t, what, err, errlen);
	if (!ret)
		s->exits_on = what & ATTACH_EXIT;
	return ret;
}

/*
 * Put pattern i under a breakpoint on its code's start unit.  Returns 0, or
 * -ENOSPC when the debug registers are full, or another negative errno.
 */
static int arm(struct session *s, size_t i, const struct pw_target *t, bool rearm, char *err,
	       size_t errlen)
{
	struct bp_state *b = &s->bp[i];
	char how[320];
	int ret;

	ret = breakpoints__set_code(s->t, t->code, true);
	if (!ret)
		ret = breakpoints__watch(s->t, t->watch, err, errlen);
	if (ret) {
		breakpoints__set_code(s->t, t->code, false);
		return ret;
	}
	b->armed = true;
	b->code = t->code;
	b->watch = t->watch;
	if (s->ps.v[i].kind == PAT_FUNC) {
		model__set_resolved(s->m, t->code, s->ps.v[i].module, s->ps.v[i].qualname);
		if (s->rec)
			recorder__resolved(s->rec, t->code, s->ps.v[i].module, s->ps.v[i].qualname);
	}
	if (rearm)
		snprintf(how, sizeof(how), "breakpoint on %s at 0x%lx, re-armed at %.3fs after the "
			 "code was redefined (calls in between may be missed)", t->how,
			 (unsigned long)t->watch, (double)since(s) / 1e9);
	else
		snprintf(how, sizeof(how), "breakpoint on %s at 0x%lx", t->how,
			 (unsigned long)t->watch);
	/* <= 3.10 without the eval entry probe: a resumed generator is not found again */
	set_cover(s, i, COVER_BREAKPOINT, s->exits_on, how);
	debug(s->cfg->verbose, "pattern %s: %s", s->ps.v[i].name, how);
	return 0;
}

/* Is this watch address still needed by another armed pattern? */
static bool watch_used(const struct session *s, uint64_t addr, size_t except)
{
	size_t i;

	for (i = 0; i < s->ps.n; i++)
		if (i != except && s->bp[i].armed && s->bp[i].watch == addr)
			return true;
	return false;
}

static bool code_used(const struct session *s, uint64_t code, size_t except)
{
	size_t i;

	for (i = 0; i < s->ps.n; i++)
		if (i != except && s->bp[i].armed && s->bp[i].code == code)
			return true;
	return false;
}

static void disarm(struct session *s, size_t i)
{
	struct bp_state *b = &s->bp[i];

	if (!b->armed)
		return;
	b->armed = false;
	if (!watch_used(s, b->watch, i))
		breakpoints__unwatch(s->t, b->watch);
	if (!code_used(s, b->code, i))
		breakpoints__set_code(s->t, b->code, false);
}

/* A breakpoint pattern that cannot be watched goes to the uprobes. */
static int fall_back(struct session *s, size_t i, const char *why)
{
	char err[256], msg[200];
	int ret;

	s->bp[i].want = false;
	ret = uprobes_on(s, err, sizeof(err));
	if (ret) {
		report_error(s->cfg, err);
		return ret;
	}
	snprintf(msg, sizeof(msg), "%s: %s", mech_name(s->plan.mech), why);
	set_cover(s, i, COVER_UPROBE, s->exits_on, msg);
	warn("pattern %s: %s; using the %s mechanism", s->ps.v[i].name, why,
	     mech_name(s->plan.mech));
	return 0;
}

/* Resolve breakpoint patterns: arm the new ones, follow redefinitions. */
static int resolve(struct session *s, bool armed_too)
{
	size_t i;
	int ret;

	for (i = 0; i < s->ps.n; i++) {
		struct bp_state *b = &s->bp[i];
		struct pw_target t;
		char why[256] = "", err[256];
		bool rearm;
		int st;

		if (!b->want || (b->armed && !armed_too))
			continue;
		st = pywalk_resolve(&s->walk, &s->ps.v[i], &t, why, sizeof(why));
		if (st < 0) {
			/* exiting, or caught mid-update: the loop notices an exit, else retry */
			debug(s->cfg->verbose, "resolving %s: %s", s->ps.v[i].name, strerror(-st));
			return 0;
		}
		if (st != PW_OK) {
			/*
			 * Not imported, or not defined yet: a module is in sys.modules
			 * while it still runs.  Keep looking; keep an armed watch.
			 */
			if (!b->armed)
				set_cover(s, i, COVER_NONE, false, why);
			continue;
		}
		if (t.unsafe) {
			if (b->armed)
				continue;
			ret = fall_back(s, i, "its first instruction is also a jump target");
			if (ret)
				return ret;
			continue;
		}
		if (b->armed && b->code == t.code)
			continue;
		rearm = b->armed;
		if (rearm) {
			debug(s->cfg->verbose, "pattern %s: code moved (redefined or reloaded)",
			      s->ps.v[i].name);
			disarm(s, i);
		}
		ret = arm(s, i, &t, rearm, err, sizeof(err));
		if (ret == -ENOSPC) {
			ret = fall_back(s, i, "no free hardware breakpoint");
			if (ret)
				return ret;
		} else if (ret) {
			report_error(s->cfg, err);
			return ret;
		}
	}
	return 0;
}

/* Has the target exited?  (A zombie counts: nothing is left to trace.) */
static bool target_gone(const struct session *s, bool pidfd_ready, int *code)
{
	char path[64];

	int dummy;

	if (s->launched)
		return launch_exited(s->pid, code ? code : &dummy);
	if (s->pidfd >= 0)
		return pidfd_ready;
	snprintf(path, sizeof(path), "/proc/%d/exe", s->pid);
	return access(path, F_OK) != 0 && (errno == ENOENT || errno == ESRCH);
}

/*
 * Which mechanism covers which pattern.  Breakpoints cost nothing until a
 * target runs but cannot time calls (here) and only watch code that exists:
 * --via breakpoint uses them for every pattern they can cover; --via auto
 * only when calls are not timed and every pattern resolves now and fits.
 */
static int cover(struct session *s, char *err, size_t errlen)
{
	const struct config *cfg = s->cfg;
	/*
	 * Rules need every call of their patterns from the start, in the order
	 * they start: with them, auto uses the uprobes.
	 */
	bool rules = cfg->cmd == CMD_CHECK && s->ps.nrules > 0;
	bool try_bp = cfg->via == VIA_BREAKPOINT ||
		      (cfg->via == VIA_AUTO && s->count_only && !rules);
	size_t i;
	int ret;

	if (cfg->cmd == CMD_PROFILE && cfg->prof_sampled) {
		/* no probe at calls: the samples find the pattern calls on the stack */
		ret = base_probes(s, false, err, errlen);
		for (i = 0; !ret && i < s->ps.n; i++)
			set_cover(s, i, COVER_SAMPLED, false,
				  "pattern calls found by the samples; calls not counted");
		return ret;
	}

	if (try_bp && !s->rt->mech[MECH_BREAKPOINT].ok) {
		if (cfg->via == VIA_BREAKPOINT) {
			snprintf(err, errlen, "--via breakpoint: %s", s->rt->mech[MECH_BREAKPOINT].why);
			return -ENOTSUP;
		}
		try_bp = false;
	}
	if (try_bp) {
		ret = memread__open(&s->mr, s->pid, err, errlen);
		if (ret) {
			if (cfg->via == VIA_BREAKPOINT)
				return ret;
			debug(cfg->verbose, "no breakpoints: %s", err);
			try_bp = false;
		} else {
			pyrt_walker(s->rt, &s->walk, memread__read, s->mr);
		}
	}
	if (try_bp && cfg->via == VIA_AUTO) {
		/* auto: all or nothing, so that every count is exact from the start */
		uint64_t addrs[8];
		size_t naddr = 0, k;

		for (i = 0; i < s->ps.n && try_bp; i++) {
			struct pw_target t;

			if (pywalk_resolve(&s->walk, &s->ps.v[i], &t, NULL, 0) != PW_OK || t.unsafe) {
				try_bp = false;
				break;
			}
			for (k = 0; k < naddr; k++)
				if (addrs[k] == t.watch)
					break;
			if (k == naddr) {
				if (naddr == 4) {
					try_bp = false;
					break;
				}
				addrs[naddr++] = t.watch;
			}
		}
		debug(cfg->verbose, "auto: %s", try_bp ? "every pattern fits in breakpoints" :
		      "using uprobes (a pattern does not resolve now or the breakpoints are too few)");
	}
	for (i = 0; i < s->ps.n; i++)
		s->bp[i].want = try_bp;
	ret = base_probes(s, try_bp, err, errlen);
	if (ret)
		return ret;
	if (!try_bp) {
		ret = uprobes_on(s, err, errlen);
		if (ret)
			return ret;
		for (i = 0; i < s->ps.n; i++)
			set_cover(s, i, COVER_UPROBE, s->exits_on, s->plan.desc);
		return 0;
	}
	ret = resolve(s, false);
	if (ret)
		snprintf(err, errlen, "cannot arm the breakpoints: %s", strerror(-ret));
	return ret;
}

static int open_target(struct session **out, const struct config *cfg,
		       struct session_target *tg, bool count_only, char *err, size_t errlen);

static struct tracer_opts tracer_opts_of(const struct config *cfg)
{
	return (struct tracer_opts){ .capture_args = !cfg->no_args, .verbose = cfg->verbose,
				     .path_depth = cfg->depth, .ncapture = cfg->ncapture,
				     .capture = cfg->capture,
				     .prof_hz = cfg->cmd == CMD_PROFILE ? cfg->hz : 0,
				     .prof_all = cfg->prof_all,
				     .prof_offcpu = cfg->cmd == CMD_PROFILE && cfg->off_cpu,
				     .prof_sampled = cfg->cmd == CMD_PROFILE && cfg->prof_sampled };
}

static void on_record(void *ctx, const void *data, size_t len)
{
	struct session *s = ctx;

	recorder__event(s->rec, s->m, data, len);
}

/* The initial PID namespace's inode number (PROC_PID_INIT_INO). */
#define INIT_PIDNS_INO 0xEFFFFFFCull

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

int session__open(struct session **out, const struct config *cfg, bool count_only)
{
	struct session_target tg = { .pid = cfg->pid, .own_output = true };
	char err[768] = "";
	int ret;

	ret = open_target(out, cfg, &tg, count_only, err, sizeof(err));
	if (ret && err[0])
		report_error(cfg, err);
	return ret;
}

int session__open_target(struct session **out, const struct config *cfg,
			 struct session_target *tg, char *err, size_t errlen)
{
	err[0] = '\0';
	return open_target(out, cfg, tg, cfg->count_only, err, errlen);
}

static int open_target(struct session **out, const struct config *cfg,
		       struct session_target *tg, bool count_only, char *err, size_t errlen)
{
	struct session *s;
	struct tracer_opts topts = tracer_opts_of(cfg);
	bool cloned = false, unchecked;
	int ret;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->pid = tg->pid;
	s->pidfd = -1;
	s->sf.root_fd = -1;
	s->failed = true;
	s->count_only = count_only;
	s->t0 = now_ns();
	s->wall_minus_mono = (int64_t)(wall_ns() - now_ns());
	libbpf_set_print(cfg->verbose >= 2 ? libbpf_loud : libbpf_quiet);
	/* before anything is launched, created or attached */
	ret = caps_require(true, s->pid, err, errlen);
	if (!ret)
		ret = check_host_pidns(err, errlen);
	if (ret)
		goto fail;
	ret = load_patterns(cfg, &s->ps, err, errlen);
	if (ret)
		goto fail;
	/* rules are judged by pyscope check only; trace and profile ignore them */
	topts.rules = cfg->cmd == CMD_CHECK && s->ps.nrules > 0;
	s->bp = calloc(s->ps.n ? s->ps.n : 1, sizeof(*s->bp));
	if (!s->bp) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (tg->own_output) {
		ret = outfile_open(&s->of, cfg->output, cfg->force, err, errlen);
		if (ret)
			goto fail;
		s->out = s->of.f;
	}
	if (cfg->record && tg->own_output) {
		ret = recorder__open(&s->rec, cfg->record, cfg->force, err, errlen);
		if (ret)
			goto fail;
		topts.on_record = on_record;
		topts.record_ctx = s;
	}
	if (!s->pid) {
		ret = launch_start(cfg->argv, &s->pid, err, errlen);
		if (ret)
			goto fail;
		s->launched = true;
	}
	debug(cfg->verbose, "%.1f ms: target ready", (now_ns() - s->t0) / 1e6);
	/* a forked child: its parent's model, once its memory map says it still fits */
	if (tg->parent_rt && !pyrt__for_child(tg->parent_rt, s->pid, &s->rt))
		cloned = true;
	else
		ret = pyrt__from_pid(s->pid, &s->rt, err, errlen);
	if (ret)
		goto fail;
	unchecked = hwbp_check(s->rt);
	debug(cfg->verbose, "%.1f ms: interpreter model built", (now_ns() - s->t0) / 1e6);
	ret = plan_make(s->rt, cfg->via == VIA_BREAKPOINT ? VIA_AUTO : cfg->via, &s->plan, err,
			errlen);
	if (ret)
		goto fail;
	if (count_only)
		s->plan.exit = EXIT_NONE;
	s->m = model__new(&s->ps, &(struct model_interp){ .pyminor = s->rt->ver.minor,
			  .qualnames = s->rt->off.co_qualname != PYOFF_NONE });
	if (!s->m) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (unchecked) {
		warn("%s", HWBP_UNCHECKED_NOTE);
		model__set_note(s->m, HWBP_UNCHECKED_NOTE);
	}
	/* <= 3.10 qualified names: the target's sources, as the target reads them */
	if (!srcfiles__open(&s->sf, s->pid))
		model__set_source_reader(s->m, srcfiles__read, &s->sf);
	/* a tracer loaded ahead for its parent's interpreter: no verification to wait for */
	if (cloned && tg->spare && !tracer__adopt(tg->spare, s->rt, s->m)) {
		s->t = tg->spare;
		tg->spare_used = true;
		debug(cfg->verbose, "pid %d: using a tracer loaded ahead", s->pid);
	} else {
		ret = tracer__open(&s->t, s->rt, &s->ps, &s->plan, s->m, &topts, err, errlen);
	}
	if (ret)
		goto fail;
	debug(cfg->verbose, "%.1f ms: BPF loaded", (now_ns() - s->t0) / 1e6);
	ret = cover(s, err, errlen);
	if (ret && target_gone(s, false, NULL))
		snprintf(err, errlen, "pid %d exited while pyscope was attaching (%s); "
			 "nothing was left attached", s->pid, strerror(-ret));
	if (ret)
		goto fail;
	if (cfg->cmd == CMD_PROFILE) {
		ret = profiler__start(s->t, err, errlen);
		if (ret)
			goto fail;
	}
	debug(cfg->verbose, "%.1f ms: armed", (now_ns() - s->t0) / 1e6);

	s->meta.pid = s->pid;
	s->meta.ns_pid = s->rt->ns_pid;
	s->meta.launched = s->launched;
	str_copy(s->meta.python, s->rt->version, sizeof(s->meta.python));
	str_copy(s->meta.interpreter, s->rt->path, sizeof(s->meta.interpreter));
	str_copy(s->meta.mechanism, s->uprobes_on ? mech_name(s->plan.mech) : "breakpoint",
		 sizeof(s->meta.mechanism));
	if (s->uprobes_on && s->mr)
		str_copy(s->meta.mechanism, "mixed", sizeof(s->meta.mechanism));
	if (cfg->cmd == CMD_PROFILE && cfg->prof_sampled)
		str_copy(s->meta.mechanism, "samples", sizeof(s->meta.mechanism));
	if (s->exits_lazy)
		snprintf(s->meta.returns, sizeof(s->meta.returns), "%s (attached at the first "
			 "breakpoint hit)", plan_exit_str(s->plan.exit));
	else
		str_copy(s->meta.returns, s->exits_on ? plan_exit_str(s->plan.exit) :
			 "none (count only)", sizeof(s->meta.returns));
	s->meta.timed = s->exits_on || s->exits_lazy;
	s->meta.wall_minus_mono = s->wall_minus_mono;
	*out = s;
	return 0;
fail:
	session__close(s);
	return ret ? ret : -EINVAL;
}

/*
 * Has the target exec'd?  Its new program is not what the model describes
 * (the kernel stopped counting at the exec): stop, and say what it runs now.
 */
static bool check_exec(struct session *s, uint64_t now)
{
	uint32_t nforks;
	bool execd;

	collector__procs(s->t, &nforks, &execd);
	s->meta.children = nforks;
	if (!execd)
		return false;
	s->meta.execd = true;
	s->meta.execd_after_ns = now - s->start;
	if (proc_exe(s->pid, s->meta.exec_path, sizeof(s->meta.exec_path)) <= 0)
		str_copy(s->meta.exec_path, "another program", sizeof(s->meta.exec_path));
	str_sanitize(s->meta.exec_path);
	warn("target pid %d exec'd %s: tracing stopped", s->pid, s->meta.exec_path);
	return true;
}

bool session__signalled(void)
{
	return stop_requested;
}

bool session__stopping(void)
{
	return stop_requested;
}

void session__catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int session__start(struct session *s)
{
	const struct config *cfg = s->cfg;
	bool pending = false;
	size_t i;
	int ret;

	session__catch_signals();
	for (i = 0; i < s->ps.n; i++)
		pending |= s->bp[i].want && !s->bp[i].armed;
	fprintf(stderr, "pyscope: tracing pid %d (Python %s, via %s) for %zu pattern(s)%s; "
		"Ctrl-C to stop\n", s->pid, s->rt->version, s->meta.mechanism, s->ps.n,
		pending ? ", some not imported yet" : "");
	/* a pidfd becomes readable when the target exits: no polling delay */
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	s->start = s->last_pending = s->last_armed = now_ns();
	s->meta.start_wall_ns = wall_ns();
	if (s->rec) {
		char err[PATH_MAX + 128];

		ret = recorder__start(s->rec, cfg, s->m, &s->meta, err, sizeof(err));
		if (ret) {
			report_error(cfg, err);
			return ret;
		}
	}
	if (s->launched) {
		ret = launch_release(s->pid);
		if (ret) {
			char err[128];

			snprintf(err, sizeof(err), "cannot resume pid %d: %s", s->pid, strerror(-ret));
			report_error(cfg, err);
			return ret;
		}
		s->released = true;
	}
	return 0;
}

int session__step(struct session *s, int timeout_ms)
{
	int ret, code = 0;
	uint64_t now;

	if (s->ended || !s->t)
		return 1;
	ret = collector__poll(s->t, timeout_ms, s->pidfd);
	if (ret < 0) {
		char err[128];

		snprintf(err, sizeof(err), "pid %d: reading events: %s", s->pid, strerror(-ret));
		report_error(s->cfg, err);
		return ret;
	}
	now = now_ns();
	if (target_gone(s, ret == 1, &code)) {
		s->meta.target_exited = true;
		s->meta.exited_after_ns = now - s->start;
		s->meta.exit_code = code;
		session__stop(s);
		return 1;
	}
	if (check_exec(s, now)) {
		session__stop(s);
		return 1;
	}
	if (s->exits_lazy && !s->exits_on && breakpoints__starts(s->t)) {
		char err[256];

		ret = exits_now(s, err, sizeof(err));
		if (ret) {
			report_error(s->cfg, err);
			return ret;
		}
	}
	if (s->mr && now - s->last_pending >= RESOLVE_PENDING_NS) {
		bool armed_too = now - s->last_armed >= RESOLVE_ARMED_NS;

		s->last_pending = now;
		if (armed_too)
			s->last_armed = now;
		ret = resolve(s, armed_too);
		if (ret)
			return ret;
	}
	if (s->rec && recorder__due(s->rec, now)) {
		session__refresh(s);
		recorder__checkpoint(s->rec, s->m, &s->meta, now);
	}
	return 0;
}

void session__stop(struct session *s)
{
	if (s->ended)
		return;
	s->ended = true;
	s->meta.stopped_by_signal = stop_requested;
	s->meta.duration_ns = now_ns() - s->start;
	debug(s->cfg->verbose, "%.1f ms: pid %d: stopping", (now_ns() - s->t0) / 1e6, s->pid);
}

int session__run(struct session *s, session_tick_fn tick, void *ctx)
{
	const struct config *cfg = s->cfg;
	int ret;

	ret = session__start(s);
	if (ret)
		return ret;
	while (!stop_requested) {
		ret = session__step(s, 50);
		if (ret < 0)
			return ret;
		if (ret)
			break;
		if (cfg->duration_ms && now_ns() - s->start >= cfg->duration_ms * 1000000ull)
			break;
		if (tick && tick(ctx, s, now_ns()))
			break;
	}
	session__stop(s);
	return 0;
}

size_t session__children(struct session *s, int *pids, uint64_t *ts, size_t max,
			 uint32_t *dropped)
{
	return collector__take_children(s->t, pids, ts, max, dropped);
}

int session__pid(const struct session *s)
{
	return s->pid;
}

const struct pyrt *session__rt(const struct session *s)
{
	return s->rt;
}

int session__spare(const struct session *s, struct tracer **out, char *err, size_t errlen)
{
	struct tracer_opts topts = tracer_opts_of(s->cfg);

	return tracer__open(out, s->rt, &s->ps, &s->plan, NULL, &topts, err, errlen);
}

void session__refresh(struct session *s)
{
	if (!s->t)
		return;		/* detached: the model keeps the final statistics */
	s->meta.duration_ns = now_ns() - s->start;
	collector__refresh(s->t);
}

void session__finish(struct session *s)
{
	bool execd;

	if (s->t) {
		collector__poll(s->t, 0, -1);
		collector__refresh(s->t);
		collector__procs(s->t, &s->meta.children, &execd);
	}
	if (s->rec)
		recorder__finish(s->rec, s->m, &s->meta);
	s->failed = false;
}

void session__detach(struct session *s)
{
	if (!s->t)
		return;
	tracer__close(s->t);
	s->t = NULL;
	memread__close(s->mr);
	s->mr = NULL;
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	debug(s->cfg->verbose, "pid %d: detached", s->pid);
}

void session__warn_unmatched(struct session *s)
{
	size_t i;

	/* not an error, but most often a misspelt pattern */
	for (i = 0; i < s->ps.n; i++)
		if (!model__pattern_matched_code(s->m, i))
			warn("warning: pattern %s matched no code: no call of %s was seen",
			     s->ps.v[i].name, s->ps.v[i].spec);
}

int session__close(struct session *s)
{
	int status = 0;

	if (!s)
		return 0;
	if (s->t) {
		tracer__close(s->t);
		debug(s->cfg->verbose, "%.1f ms: detached", (now_ns() - s->t0) / 1e6);
	}
	if (s->launched && !s->released)
		launch_abort(s->pid);
	else if (s->launched)
		status = s->meta.target_exited ? s->meta.exit_code : launch_wait(s->pid);
	if (s->pidfd >= 0)
		close(s->pidfd);
	memread__close(s->mr);
	srcfiles__close(&s->sf);
	model__free(s->m);
	pyrt__free(s->rt);
	patterns__free(&s->ps);
	free(s->bp);
	recorder__close(s->rec, s->failed);
	/* a failed run removes the report file it created */
	outfile_close(&s->of, s->failed);
	free(s);
	return status;
}

struct model *session__model(struct session *s)
{
	return s->m;
}

struct run_meta *session__meta(struct session *s)
{
	return &s->meta;
}

FILE *session__out(struct session *s)
{
	return s->out;
}

bool session__launched(const struct session *s)
{
	return s->launched;
}

uint64_t session__wall(const struct session *s, uint64_t mono_ns)
{
	return (uint64_t)((int64_t)mono_ns + s->wall_minus_mono);
}
