// SPDX-License-Identifier: MIT
/* pyscope profile: where the time inside each pattern's calls goes. */
#include "cmd/cmds.h"
#include "session/session.h"
#include "sink/output.h"
#include "util/util.h"

static void profile_opts(const struct config *cfg, struct session_opts *so)
{
	cmd_session_opts(cfg, so);
	/*
	 * Timed windows: a sample belongs to the pattern call in flight, known from
	 * the call probes (exact, with counts and latency).  --sampled: no call
	 * probes; each sample finds the pattern frame on its stack itself.
	 */
	so->count_only = cfg->prof_sampled;
	so->profile = true;
	so->prof_hz = cfg->hz;
	so->prof_offcpu = cfg->off_cpu;
	so->prof_sampled = cfg->prof_sampled;
}

int cmd_profile(const struct config *cfg)
{
	struct report_opts fin = { .final = true, .top = cfg->top,
				   .by_latency = cfg->weight_latency };
	struct prof_opts po = { .hz = cfg->hz, .offcpu = cfg->off_cpu, .top = cfg->top,
				.sampled = cfg->prof_sampled };
	struct session_opts so;
	struct session *s = NULL;
	struct output *out = NULL;
	int ret, status;

	profile_opts(cfg, &so);
	ret = session__open(&s, &so);
	if (ret)
		return 2;
	ret = output__new(&out, cfg->format, session__out(s), false);
	if (!ret)
		ret = session__run(s, NULL, NULL);
	if (!ret) {
		session__finish(s);
		output__profile(out, session__model(s), session__meta(s), &fin, &po);
		session__warn_unmatched(s);
	}
	output__free(out);
	status = session__close(s);
	return ret ? 2 : status;
}
