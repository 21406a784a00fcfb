// SPDX-License-Identifier: MIT
/* pyscope trace (and record): count and time the calls that match the patterns. */
#include "cmd/cmds.h"
#include "session/session.h"
#include "sink/output.h"
#include "util/util.h"

struct live {
	const struct config *cfg;
	struct output *out;
	struct report_opts opts;
	uint64_t last;
};

/* Every -i: a live table (or one JSON object per line). */
static bool live_tick(void *ctx, struct session *s, uint64_t now)
{
	struct live *l = ctx;

	if (!l->cfg->interval_ms)
		return false;
	if (!l->last)
		l->last = now;
	if (now - l->last < l->cfg->interval_ms * 1000000ull)
		return false;
	l->last = now;
	session__refresh(s);
	output__interval(l->out, session__model(s), session__meta(s), &l->opts);
	return false;
}

struct report_opts trace_report_opts(const struct config *cfg)
{
	return (struct report_opts){ .final = true, .sigs = true, .sites = true,
				     .all_details = cfg->paths, .top = cfg->top,
				     .migration = cfg->migration,
				     .by_latency = cfg->weight_latency };
}

bool trace_json_lines(const struct config *cfg)
{
	/* with -i in JSON, every report is one line so that the stream splits on lines */
	return cfg->format == FMT_NDJSON || (cfg->format == FMT_JSON && cfg->interval_ms);
}

/* Trace until the target exits, -d or a signal, then the report. */
static int run(const struct config *cfg, struct session *s, struct output *out)
{
	struct live live = { .cfg = cfg, .out = out, .opts = { .top = cfg->top, .compact = true } };
	struct report_opts fin = trace_report_opts(cfg);
	int ret;

	ret = session__run(s, live_tick, &live);
	if (ret)
		return ret;
	/*
	 * Report first: the maps stay readable while the probes are removed,
	 * which takes a grace period per probe in the kernel.
	 */
	session__finish(s);
	/* pyscope record: the file is the output */
	if (cfg->cmd != CMD_RECORD)
		output__report(out, session__model(s), session__meta(s), &fin);
	session__warn_unmatched(s);
	return 0;
}

int cmd_trace(const struct config *cfg)
{
	struct session_opts so;
	struct session *s = NULL;
	struct output *out = NULL;
	int ret, status;

	if (cfg_multi(cfg))
		return cmd_trace_multi(cfg);
	cmd_session_opts(cfg, &so);
	ret = session__open(&s, &so);
	if (ret)
		return 2;
	ret = output__new(&out, cfg->format, session__out(s), trace_json_lines(cfg));
	if (!ret)
		ret = run(cfg, s, out);
	output__free(out);
	status = session__close(s);
	return ret ? 2 : status;
}
