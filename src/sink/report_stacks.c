// SPDX-License-Identifier: MIT
/*
 * Sinks built on call paths: collapsed stacks (flame graph tools),
 * speedscope files, and the migration report.  Read the model only.
 */
#include "sink/report.h"
#include "util/json.h"
#include "util/util.h"
#include "model/model_stacks.h"
#include "model/model_result.h"
#include "model/model_text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAME_TEXT (PS_QUAL_LEN + PS_FILE_LEN + 32)

/* Folded stacks separate frames with ';' and end with ' weight'. */
static void fold_clean(char *s)
{
	for (; *s; s++)
		if (*s == ';' || *s == '\n')
			*s = ',';
}

int report_folded(FILE *out, const struct model *m, bool by_latency)
{
	const struct patterns *ps = model__patterns(m);
	size_t i, j;

	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		struct pat_result r;
		int ret = model__result(m, i, &r);

		if (ret)
			return ret;
		for (j = 0; j < r.npaths; j++) {
			const struct stack_info *si = model__stack(m, r.paths[j].stack);
			uint64_t w = by_latency ? r.paths[j].sum_ns : r.paths[j].count;
			char fr[FRAME_TEXT];
			uint32_t k;

			if (!si || !w)
				continue;
			/* root first: the outermost caller, then inwards, then the pattern */
			for (k = si->n; k-- > 0;) {
				model__frame_text(m, &si->frames[k], fr, sizeof(fr));
				fold_clean(fr);
				fprintf(out, "%s;", fr);
			}
			str_copy(fr, p->name, sizeof(fr));
			fold_clean(fr);
			fprintf(out, "[%s] %s %" PRIu64 "\n", fr, p->qualname, w);
		}
		pat_result__free(&r);
	}
	return 0;
}

/* Index of a frame in the shared table, adding it if new. */
static int frame_index(cJSON *frames, const char *name, const char *file, int line)
{
	const cJSON *f;
	int i = 0;

	cJSON_ArrayForEach(f, frames) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
		const cJSON *fl = cJSON_GetObjectItemCaseSensitive(f, "file");
		const cJSON *ln = cJSON_GetObjectItemCaseSensitive(f, "line");

		if (!strcmp(n->valuestring, name) && !strcmp(fl->valuestring, file) &&
		    (int)ln->valuedouble == line)
			return i;
		i++;
	}
	f = cJSON_CreateObject();
	cJSON_AddStringToObject((cJSON *)f, "name", name);
	cJSON_AddStringToObject((cJSON *)f, "file", file);
	cJSON_AddNumberToObject((cJSON *)f, "line", line);
	cJSON_AddItemToArray(frames, (cJSON *)f);
	return i;
}

/* Split "file:line" into file and line. */
static int split_where(const char *where, char *file, size_t n)
{
	const char *colon = strrchr(where, ':');

	if (!colon) {
		str_copy(file, where, n);
		return 0;
	}
	str_copy(file, where, MIN(n, (size_t)(colon - where) + 1));
	return atoi(colon + 1);
}

/* One speedscope stack: frame indexes from the root to the leaf (the pattern's code). */
static cJSON *speedscope_stack(const struct model *m, const struct stack_info *si, cJSON *frames,
			       int leaf)
{
	cJSON *stack = cJSON_CreateArray();
	uint32_t k;

	for (k = si->n; k-- > 0;) {
		char func[PS_QUAL_LEN], where[PS_FILE_LEN + 16], file[PS_FILE_LEN + 16];
		int line;

		model__frame_parts(m, &si->frames[k], func, sizeof(func), where, sizeof(where));
		line = split_where(where, file, sizeof(file));
		cJSON_AddItemToArray(stack, cJSON_CreateNumber(frame_index(frames, func, file, line)));
	}
	cJSON_AddItemToArray(stack, cJSON_CreateNumber(leaf));
	return stack;
}

/* A pattern's sampled profile: one sample per call path, weighted. */
static cJSON *speedscope_profile(const struct model *m, const struct pattern *p,
				 const struct pat_result *r, cJSON *frames, bool by_latency)
{
	cJSON *prof = cJSON_CreateObject(), *samples, *weights;
	uint64_t total = 0;
	size_t j;
	int leaf;

	cJSON_AddStringToObject(prof, "type", "sampled");
	cJSON_AddStringToObject(prof, "name", p->name);
	cJSON_AddStringToObject(prof, "unit", by_latency ? "nanoseconds" : "none");
	cJSON_AddNumberToObject(prof, "startValue", 0);
	samples = cJSON_AddArrayToObject(prof, "samples");
	weights = cJSON_AddArrayToObject(prof, "weights");
	leaf = frame_index(frames, p->qualname, p->module, 0);
	for (j = 0; j < r->npaths; j++) {
		const struct stack_info *si = model__stack(m, r->paths[j].stack);
		uint64_t w = by_latency ? r->paths[j].sum_ns : r->paths[j].count;

		if (!si || !w)
			continue;
		cJSON_AddItemToArray(samples, speedscope_stack(m, si, frames, leaf));
		cJSON_AddItemToArray(weights, cJSON_CreateNumber((double)w));
		total += w;
	}
	cJSON_AddNumberToObject(prof, "endValue", (double)total);
	return prof;
}

int report_speedscope(FILE *out, const struct model *m, const struct run_meta *meta,
		      bool by_latency)
{
	const struct patterns *ps = model__patterns(m);
	cJSON *root = cJSON_CreateObject(), *frames, *profiles;
	char name[256];
	size_t i;
	int ret = 0;

	if (!root)
		return -ENOMEM;
	cJSON_AddStringToObject(root, "$schema", "https://www.speedscope.app/file-format-schema.json");
	snprintf(name, sizeof(name), "pyscope: pid %d, Python %s, %s", meta->pid, meta->python,
		 by_latency ? "weighted by latency" : "weighted by calls");
	cJSON_AddStringToObject(root, "name", name);
	cJSON_AddStringToObject(root, "exporter", "pyscope");
	cJSON_AddNumberToObject(root, "activeProfileIndex", 0);
	frames = cJSON_AddArrayToObject(cJSON_AddObjectToObject(root, "shared"), "frames");
	profiles = cJSON_AddArrayToObject(root, "profiles");
	for (i = 0; i < ps->n; i++) {
		struct pat_result r;

		ret = model__result(m, i, &r);
		if (ret)
			break;
		cJSON_AddItemToArray(profiles, speedscope_profile(m, &ps->v[i], &r, frames,
								   by_latency));
		pat_result__free(&r);
	}
	if (ret) {
		cJSON_Delete(root);
		return ret;
	}
	return json_emit(out, root, true);
}

static void wall_text(const struct run_meta *meta, uint64_t mono, char *buf, size_t n)
{
	int64_t wall = report_wall_ns(meta, mono);
	time_t sec = (time_t)(wall / 1000000000);
	struct tm tm;
	size_t len;

	if (!mono) {
		str_copy(buf, "-", n);
		return;
	}
	/* a year out of range (a damaged trace file) */
	len = gmtime_r(&sec, &tm) ? strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) : 0;
	if (!len)
		str_copy(buf, "?", n);
}

void report_migration_text(FILE *out, const struct model *m, const struct run_meta *meta)
{
	const struct patterns *ps = model__patterns(m);
	size_t i, j;
	bool any = false;

	fprintf(out, "\nmigration: call sites still live (legacy and forbidden patterns)\n");
	for (i = 0; i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		struct pat_result r;

		if ((!p->legacy && !p->forbid) || model__result(m, i, &r))
			continue;
		any = true;
		fprintf(out, "\n%s  (%s): %" PRIu64 " calls from %zu site(s)\n", p->name, p->spec,
			r.count, r.nsites);
		for (j = 0; j < r.nsites; j++) {
			const struct site_row *s = &r.sites[j];
			const struct stack_info *si = model__stack(m, s->example_stack);
			char first[32], last[32];
			uint32_t k;

			wall_text(meta, s->first_ns, first, sizeof(first));
			wall_text(meta, s->last_ns, last, sizeof(last));
			fprintf(out, "  %8" PRIu64 "  %.60s%s%.30s\n", s->count, s->where,
				s->func[0] ? " in " : "", s->func);
			fprintf(out, "            first %s  last %s\n", first, last);
			for (k = 0; si && k < si->n && k < 8; k++) {
				char fr[FRAME_TEXT];

				model__frame_text(m, &si->frames[k], fr, sizeof(fr));
				fprintf(out, "            %s %.80s\n", k ? "  " : "<-", fr);
			}
			if (si && si->n > 8)
				fprintf(out, "              ... %u more frames\n", si->n - 8);
		}
		pat_result__free(&r);
	}
	if (!any)
		fprintf(out, "  (no pattern is marked \"legacy\" or \"forbid\")\n");
}

cJSON *report_migration_json(const struct model *m, const struct run_meta *meta)
{
	const struct patterns *ps = model__patterns(m);
	cJSON *arr = cJSON_CreateArray();
	size_t i, j;

	for (i = 0; arr && i < ps->n; i++) {
		const struct pattern *p = &ps->v[i];
		struct pat_result r;
		cJSON *po, *sites;

		if ((!p->legacy && !p->forbid) || model__result(m, i, &r))
			continue;
		po = cJSON_CreateObject();
		cJSON_AddStringToObject(po, "name", p->name);
		cJSON_AddStringToObject(po, "spec", p->spec);
		cJSON_AddNumberToObject(po, "count", (double)r.count);
		sites = cJSON_AddArrayToObject(po, "call_sites");
		for (j = 0; j < r.nsites; j++) {
			const struct site_row *s = &r.sites[j];
			const struct stack_info *si = model__stack(m, s->example_stack);
			cJSON *so = cJSON_CreateObject(), *fr = cJSON_CreateArray();
			uint32_t k;

			cJSON_AddStringToObject(so, "site", s->where);
			cJSON_AddStringToObject(so, "function", s->func);
			cJSON_AddNumberToObject(so, "count", (double)s->count);
			cJSON_AddNumberToObject(so, "first_seen_unix_s",
						report_wall_s(meta, s->first_ns));
			cJSON_AddNumberToObject(so, "last_seen_unix_s",
						report_wall_s(meta, s->last_ns));
			for (k = 0; si && k < si->n; k++) {
				char text[FRAME_TEXT];

				model__frame_text(m, &si->frames[k], text, sizeof(text));
				cJSON_AddItemToArray(fr, cJSON_CreateString(text));
			}
			cJSON_AddItemToObject(so, "example_path", fr);
			cJSON_AddItemToArray(sites, so);
		}
		cJSON_AddItemToArray(arr, po);
		pat_result__free(&r);
	}
	return arr;
}
