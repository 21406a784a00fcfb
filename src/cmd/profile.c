// SPDX-License-Identifier: MIT
/* pyscope profile: where the time inside each pattern's calls goes. */
#include "cmd/cmds.h"
#include "sink/report.h"
#include "sink/report_profile.h"
#include "session/session.h"
#include "util/util.h"

#include <cJSON.h>
#include <stdlib.h>

int cmd_profile(const struct config *cfg)
{
	struct report_opts fin = { .final = true, .top = cfg->top };
	struct prof_opts po = { .hz = cfg->hz, .offcpu = cfg->off_cpu, .top = cfg->top,
				.sampled = cfg->prof_sampled };
	struct session_opts so;
	struct session *s = NULL;
	int ret, status;

	/*
	 * Timed windows: a sample belongs to the pattern call in flight, known from
	 * the call probes (exact, with counts and latency).  --sampled: no call
	 * probes; each sample finds the pattern frame on its stack itself.
	 */
	cmd_session_opts(cfg, &so);
	so.count_only = cfg->prof_sampled;
	so.profile = true;
	so.prof_hz = cfg->hz;
	so.prof_offcpu = cfg->off_cpu;
	so.prof_sampled = cfg->prof_sampled;
	ret = session__open(&s, &so);
	if (ret)
		return 2;
	ret = session__run(s, NULL, NULL);
	if (!ret) {
		FILE *out = session__out(s);
		struct model *m = session__model(s);
		struct run_meta *meta = session__meta(s);

		session__finish(s);
		if (cfg->format == FMT_FOLDED) {
			report_profile_folded(out, m, cfg->off_cpu && cfg->weight_latency);
		} else if (cfg->format != FMT_TEXT) {
			cJSON *root = report_json(m, meta, &fin);
			char *txt;

			if (root && po.sampled) {
				/* calls were not counted: no count is better than a 0 */
				cJSON_DeleteItemFromObject(root, "patterns");
				cJSON_AddStringToObject(root, "windows", "sampled");
			} else if (root) {
				cJSON_AddStringToObject(root, "windows", "timed");
			}
			if (root)
				cJSON_AddItemToObject(root, "profile", report_profile_json(m, &po));
			txt = root ? cJSON_Print(root) : NULL;
			if (txt)
				fprintf(out, "%s\n", txt);
			free(txt);
			cJSON_Delete(root);
		} else if (po.sampled) {
			fprintf(out, "pyscope: pid %d, Python %s, %.1fs, pattern calls found by the "
				"samples (none counted or timed)\n", meta->pid, meta->python,
				(double)meta->duration_ns / 1e9);
			report_profile_text(out, m, &po);
		} else {
			report_text(out, m, meta, &fin);
			report_profile_text(out, m, &po);
		}
		fflush(out);
	}
	if (!ret)
		session__warn_unmatched(s);
	status = session__close(s);
	return ret ? 2 : status;
}
