// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the user side of the kernel's records.  Everything in
 * a PS_EV_CODE or PS_EV_AGG record comes from the traced process (names,
 * files, line tables, type names, ids, counts), so feed arbitrary ones to
 * the model, then build both reports.  The JSON report must parse, and no
 * report may hold a control character the target supplied.
 */
#include "model/model.h"
#include "model/model_result.h"
#include "model/pattern_spec.h"
#include "sink/report.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const exprs[] = {
	"f=m:f", "meth=app.mod:Cls.meth", "ctor=class:app:Engine", "new=class:m:Slotted",
	"loc=func:m:outer.<locals>.inner",
};

static void no_controls(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n' && text[i] != '\t')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patterns ps = { 0 };
	struct report_opts o = { .final = true, .sigs = true, .sites = true, .all_details = true,
				 .top = 5 };
	struct run_meta meta;
	struct model *m;
	char err[128], *text = NULL, *json;
	size_t i, len = 0;
	unsigned minor;
	FILE *f;
	cJSON *doc;

	if (size < 1)
		return 0;
	for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++)
		if (pattern_spec__add_expr(&ps, exprs[i], err, sizeof(err)))
			abort();
	minor = 8 + data[0] % 6;
	m = model__new(&ps, &(struct model_interp){ .pyminor = minor, .qualnames = minor >= 11 });
	if (!m)
		goto out;
	data++;
	size--;
	/* records: a type byte, then as many bytes of the record as there are */
	while (size > 1) {
		static struct ps_ev_code code;
		static struct ps_ev_agg agg;
		struct ps_stats st;
		size_t n;

		if (data[0] & 1) {
			n = size - 1 < sizeof(agg) ? size - 1 : sizeof(agg);
			memset(&agg, 0, sizeof(agg));
			memcpy(&agg, data + 1, n);
			/* mostly low ids (the model walks up to the highest), some out of range */
			agg.agg_id %= agg.agg_id & 0x8000 ? PS_MAX_AGGS + 2 : 256;
			model__add_agg(m, &agg);
			memset(&st, 0, sizeof(st));
			memcpy(&st, data + 1, n < sizeof(st) ? n : sizeof(st));
			st.hist[st.count % PS_NBUCKETS] += st.timed;
			model__set_stats(m, agg.agg_id, &st);
		} else {
			n = size - 1 < sizeof(code) ? size - 1 : sizeof(code);
			memset(&code, 0, sizeof(code));
			memcpy(&code, data + 1, n);
			code.code_id %= 64;		/* collide with the aggregates' ids */
			(void)model__add_code(m, &code);
		}
		data += n + 1;
		size -= n + 1;
	}
	for (i = 0; i < ps.n; i++) {
		struct pat_result r;

		if (!model__result(m, i, &r))
			pat_result__free(&r);
		(void)model__pattern_matched_code(m, i);
	}
	memset(&meta, 0, sizeof(meta));
	f = open_memstream(&text, &len);
	if (!f)
		goto out;
	report_text(f, m, &meta, &o);
	fputc('\0', f);
	if (report_json_print(f, m, &meta, &o))
		abort();
	fclose(f);
	json = text + strlen(text) + 1;
	if (json + strlen(json) != text + len)
		abort();	/* a NUL inside a report */
	no_controls(text, strlen(text));
	no_controls(json, strlen(json));
	doc = cJSON_Parse(json);
	if (!doc)
		abort();
	cJSON_Delete(doc);
	free(text);
out:
	model__free(m);
	patterns__free(&ps);
	return 0;
}
