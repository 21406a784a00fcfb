// SPDX-License-Identifier: MIT
#include "tracefile/tfbuild.h"
#include "model/cover_name.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* 64-bit values go in JSON as decimal strings: doubles would round them. */
static void add_u64(cJSON *o, const char *name, uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	cJSON_AddStringToObject(o, name, s);
}

static void add_i64(cJSON *o, const char *name, int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, v);
	cJSON_AddStringToObject(o, name, s);
}

/* The kernel's record layouts (include/pyscope.h) this file's records follow. */
static void add_records(cJSON *root)
{
	cJSON *o = cJSON_AddObjectToObject(root, "records");

	cJSON_AddNumberToObject(o, "code", sizeof(struct ps_ev_code));
	cJSON_AddNumberToObject(o, "aggregate", sizeof(struct ps_ev_agg));
	cJSON_AddNumberToObject(o, "stack", sizeof(struct ps_ev_stack));
	cJSON_AddNumberToObject(o, "buckets", PS_NBUCKETS);
	cJSON_AddNumberToObject(o, "counters", PS_CNT_MAX);
}

static void add_target(cJSON *root, const struct model *m, const struct run_meta *meta)
{
	cJSON *o = cJSON_AddObjectToObject(root, "target");

	cJSON_AddNumberToObject(o, "pid", meta->pid);
	cJSON_AddStringToObject(o, "python", meta->python);
	cJSON_AddNumberToObject(o, "python_minor", model__pyminor(m));
	cJSON_AddStringToObject(o, "interpreter", meta->interpreter);
	cJSON_AddBoolToObject(o, "launched", meta->launched);
}

static void add_run(cJSON *root, const struct tf_source *src, const struct run_meta *meta)
{
	cJSON *o = cJSON_AddObjectToObject(root, "run"), *a;
	size_t i;

	cJSON_AddStringToObject(o, "mechanism", meta->mechanism);
	cJSON_AddStringToObject(o, "returns", meta->returns);
	cJSON_AddBoolToObject(o, "timed", meta->timed);
	add_u64(o, "start_wall_ns", meta->start_wall_ns);
	add_i64(o, "wall_minus_mono_ns", meta->wall_minus_mono);
	cJSON_AddNumberToObject(o, "depth", src->depth);
	cJSON_AddBoolToObject(o, "no_args", src->no_args);
	cJSON_AddBoolToObject(o, "count_only", src->count_only);
	a = cJSON_AddArrayToObject(o, "capture");
	for (i = 0; i < src->ncapture; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(src->capture[i]));
}

static void add_patterns(cJSON *root, const struct tf_source *src)
{
	cJSON *o = cJSON_AddObjectToObject(root, "patterns");
	cJSON *a = cJSON_AddArrayToObject(o, "exprs");
	size_t i;

	for (i = 0; i < src->nexprs; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(src->exprs[i]));
	if (src->pattern_file) {
		cJSON_AddStringToObject(o, "file", src->pattern_file);
		cJSON_AddStringToObject(o, "file_text", src->pattern_text ? src->pattern_text : "");
	}
}

/* Informative: the mechanism each pattern started with (checkpoints follow changes). */
static void add_coverage(cJSON *root, const struct model *m)
{
	const struct patterns *ps = model__patterns(m);
	cJSON *a = cJSON_AddArrayToObject(root, "coverage");
	size_t i;

	for (i = 0; i < ps->n; i++) {
		const struct coverage *c = model__coverage(m, i);
		cJSON *co = cJSON_CreateObject();

		cJSON_AddStringToObject(co, "pattern", ps->v[i].name);
		cJSON_AddStringToObject(co, "mechanism", cover_mech_name(c->mech, COVER_TEXT_TRACEFILE));
		cJSON_AddBoolToObject(co, "timed", c->timed);
		cJSON_AddStringToObject(co, "detail", c->why);
		cJSON_AddItemToArray(a, co);
	}
}

char *tf_build__header(const struct tf_source *src, const struct model *m,
		       const struct run_meta *meta)
{
	cJSON *root = cJSON_CreateObject();
	char *txt;

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "format", "pyscope-trace");
	cJSON_AddNumberToObject(root, "format_major", TF_MAJOR);
	cJSON_AddNumberToObject(root, "format_minor", TF_MINOR);
	cJSON_AddStringToObject(root, "pyscope", src->version ? src->version : "");
	cJSON_AddStringToObject(root, "host", src->host ? src->host : "");
	cJSON_AddStringToObject(root, "kernel", src->kernel ? src->kernel : "");
	add_records(root);
	add_target(root, m, meta);
	add_run(root, src, meta);
	add_patterns(root, src);
	add_coverage(root, m);
	txt = cJSON_Print(root);
	cJSON_Delete(root);
	return txt;
}

/* A string of a fixed-size field (at most max bytes), length-prefixed. */
static void put_str(struct tf_buf *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	tf_buf__put_u16(b, (uint16_t)n);
	tf_buf__put(b, s, n);
}

static void put_coverage(struct tf_buf *b, const struct model *m)
{
	const struct patterns *ps = model__patterns(m);
	size_t k;

	tf_buf__put_u32(b, (uint32_t)ps->n);
	for (k = 0; k < ps->n; k++) {
		const struct coverage *c = model__coverage(m, k);

		tf_buf__put_u8(b, (uint8_t)c->mech);
		tf_buf__put_u8(b, c->timed);
		tf_buf__put_u8(b, c->partial);
		tf_buf__put_u8(b, 0);
		tf_buf__put_u64(b, c->armed_ns);
		put_str(b, c->why, sizeof(c->why));
	}
}

/* Every known aggregate's statistics; histograms are sparse: (bucket, value) pairs. */
static void put_stats(struct tf_buf *b, const struct model *m)
{
	uint32_t i, n = model__max_agg(m), naggs = 0;
	uint16_t nb, j;

	for (i = 0; i < n; i++)
		naggs += model__agg(m, i) != NULL;
	tf_buf__put_u32(b, naggs);
	for (i = 0; i < n; i++) {
		const struct agg_info *a = model__agg(m, i);

		if (!a)
			continue;
		tf_buf__put_u32(b, i);
		tf_buf__put_u64(b, a->st.count);
		tf_buf__put_u64(b, a->st.last_ns);
		tf_buf__put_u64(b, a->st.timed);
		tf_buf__put_u64(b, a->st.sum_ns);
		tf_buf__put_u64(b, a->st.max_ns);
		for (nb = 0, j = 0; j < PS_NBUCKETS; j++)
			nb += a->st.hist[j] != 0;
		tf_buf__put_u16(b, nb);
		for (j = 0; j < PS_NBUCKETS; j++) {
			if (!a->st.hist[j])
				continue;
			tf_buf__put_u16(b, j);
			tf_buf__put_u64(b, a->st.hist[j]);
		}
	}
}

int tf_build__checkpoint(struct tf_buf *b, const struct model *m, const struct run_meta *meta,
			 const struct tf_wstats *ws)
{
	uint32_t i;

	tf_buf__put_u64(b, meta->duration_ns);
	tf_buf__put_u64(b, meta->exited_after_ns);
	tf_buf__put_u32(b, (uint32_t)meta->exit_code);
	tf_buf__put_u32(b, (meta->target_exited ? TF_CP_EXITED : 0) |
			   (meta->stopped_by_signal ? TF_CP_SIGNAL : 0));
	tf_buf__put_u64(b, ws ? ws->records : 0);
	tf_buf__put_u64(b, ws ? ws->records_dropped : 0);
	tf_buf__put_u32(b, PS_CNT_MAX);
	for (i = 0; i < PS_CNT_MAX; i++)
		tf_buf__put_u64(b, model__counter(m, i));
	put_coverage(b, m);
	put_stats(b, m);
	return b->oom ? -ENOMEM : 0;
}

int tf_build__trailer(struct tf_buf *b, const struct model *m, const struct run_meta *meta,
		      const struct tf_wstats *ws)
{
	tf_buf__put_u64(b, ws->records);
	tf_buf__put_u64(b, ws->records_dropped);
	/* chunks written before the trailer: the header, events and checkpoints */
	tf_buf__put_u64(b, ws->chunks);
	tf_buf__put_u64(b, model__lost(m));
	tf_buf__put_u64(b, meta->duration_ns);
	return b->oom ? -ENOMEM : 0;
}

void tf_build__code_name(struct tf_buf *b, const struct code_info *ci)
{
	tf_buf__put_u32(b, ci->id);
	tf_buf__put_u32(b, ci->kind);
	tf_buf__put_u8(b, ci->qual_known);
	put_str(b, ci->module, sizeof(ci->module));
	put_str(b, ci->qualname, sizeof(ci->qualname));
}

void tf_build__resolved(struct tf_buf *b, uint64_t addr, const char *module,
			const char *qualname)
{
	tf_buf__put_u64(b, addr);
	put_str(b, module, PS_QUAL_LEN);
	put_str(b, qualname, PS_QUAL_LEN);
}
