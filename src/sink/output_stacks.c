// SPDX-License-Identifier: MIT
/*
 * The stack formats, folded (flame graph tools) and speedscope: their own
 * form of the final report (and folded's of the profile); JSON for the rest,
 * as a reader of a live stream or of pyscope check expects.
 */
#include "sink/output_ops.h"

static void folded_report(struct output *o, const struct model *m, const struct run_meta *meta,
			  const struct report_opts *ro)
{
	(void)meta;
	report_folded(o->f, m, ro->by_latency);
}

static void folded_profile(struct output *o, const struct model *m, const struct run_meta *meta,
			   const struct report_opts *ro, const struct prof_opts *po)
{
	(void)meta;
	report_profile_folded(o->f, m, po->offcpu && ro->by_latency);
}

static void speedscope_report(struct output *o, const struct model *m,
			      const struct run_meta *meta, const struct report_opts *ro)
{
	report_speedscope(o->f, m, meta, ro->by_latency);
}

void output_stacks_ops(struct output_ops *ops, enum output_format fmt)
{
	if (fmt == FMT_FOLDED) {
		ops->report = folded_report;
		ops->profile = folded_profile;
	} else if (fmt == FMT_SPEEDSCOPE) {
		ops->report = speedscope_report;
	}
}
