// SPDX-License-Identifier: MIT
/* pyscope trace: count and time the calls that match the patterns. */
#include "cmd/cmds.h"
#include "sink/report.h"
#include "session/session.h"
#include "util/util.h"

#include <cJSON.h>
#include <stdlib.h>

struct live {
	const struct config *cfg;
	struct report_opts opts;
	uint64_t last;
};

/* Every -i: a live table (or one JSON object per line). */
static bool live_tick(void *ctx, struct session *s, uint64_t now)
{
	struct live *l = ctx;
	struct run_meta *meta = session__meta(s);
	FILE *out = session__out(s);

	if (!l->cfg->interval_ms)
		return false;
	if (!l->last)
		l->last = now;
	if (now - l->last < l->cfg->interval_ms * 1000000ull)
		return false;
	l->last = now;
	session__refresh(s);
	if (l->cfg->format != FMT_TEXT) {
		report_json_print(out, session__model(s), meta, &l->opts);
	} else {
		fprintf(out, "\n-- %.1fs --\n", (double)meta->duration_ns / 1e9);
		report_text(out, session__model(s), meta, &l->opts);
	}
	fflush(out);
	return false;
}

void trace_report(FILE *out, const struct model *m, const struct run_meta *meta,
		  const struct config *cfg)
{
	/* with -i in JSON, every report is one line so that the stream splits on lines */
	bool lines = cfg->format == FMT_NDJSON || (cfg->format == FMT_JSON && cfg->interval_ms);
	struct report_opts fin = { .final = true, .sigs = true, .sites = true,
				    .all_details = cfg->paths, .top = cfg->top, .compact = lines };

	switch (cfg->format) {
	case FMT_FOLDED:
		report_folded(out, m, cfg->weight_latency);
		break;
	case FMT_SPEEDSCOPE:
		report_speedscope(out, m, meta, cfg->weight_latency);
		break;
	case FMT_JSON:
	case FMT_NDJSON: {
		cJSON *root = report_json(m, meta, &fin);
		char *txt;

		if (root && cfg->migration)
			cJSON_AddItemToObject(root, "migration", report_migration_json(m, meta));
		txt = root ? (fin.compact ? cJSON_PrintUnformatted(root) : cJSON_Print(root)) : NULL;
		if (txt)
			fprintf(out, "%s\n", txt);
		free(txt);
		cJSON_Delete(root);
		break;
	}
	default:
		report_text(out, m, meta, &fin);
		if (cfg->migration)
			report_migration_text(out, m, meta);
		break;
	}
	fflush(out);
}

int cmd_trace(const struct config *cfg)
{
	struct live live = { .cfg = cfg, .opts = { .top = cfg->top, .compact = true } };
	struct session_opts so;
	struct session *s = NULL;
	int ret, status;

	if (cfg_multi(cfg))
		return cmd_trace_multi(cfg);
	cmd_session_opts(cfg, &so);
	ret = session__open(&s, &so);
	if (ret)
		return 2;
	ret = session__run(s, live_tick, &live);
	if (!ret) {
		/*
		 * Report first: the maps stay readable while the probes are removed,
		 * which takes a grace period per probe in the kernel.
		 */
		FILE *out = session__out(s);
		struct model *m = session__model(s);
		struct run_meta *meta = session__meta(s);

		session__finish(s);
		/* pyscope record: the file is the output */
		if (cfg->cmd != CMD_RECORD)
			trace_report(out, m, meta, cfg);
	}
	if (!ret)
		session__warn_unmatched(s);
	status = session__close(s);
	if (ret)
		return 2;
	return status;
}
