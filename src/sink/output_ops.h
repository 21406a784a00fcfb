/* SPDX-License-Identifier: MIT */
/*
 * What an output format implements (sink/output.h), and the pieces its
 * implementations share.  Only the output*.c files include this.
 */
#ifndef PYSCOPE_OUTPUT_OPS_H
#define PYSCOPE_OUTPUT_OPS_H

#include <cJSON.h>
#include "sink/output.h"
#include "model/model_result.h"

struct output_ops {
	void (*report)(struct output *o, const struct model *m, const struct run_meta *meta,
		       const struct report_opts *ro);
	void (*interval)(struct output *o, const struct model *m, const struct run_meta *meta,
			 const struct report_opts *ro);
	void (*profile)(struct output *o, const struct model *m, const struct run_meta *meta,
			const struct report_opts *ro, const struct prof_opts *po);
	void (*multi)(struct output *o, const struct multi_report *mr,
		      const struct report_opts *ro);
	void (*hit)(struct output *o, const struct model *m, const struct run_meta *meta,
		    const struct pattern *p, const struct agg_info *a);
	void (*violation)(struct output *o, const struct model *m, const struct run_meta *meta,
			  const struct patterns *ps, const struct rule_violation *v);
	void (*verdict)(struct output *o, const struct pattern *p, const struct pat_result *r,
			const struct coverage *cv);
	void (*rule)(struct output *o, const struct rule *r, const struct rule_stats *st);
	void (*result)(struct output *o, const struct run_meta *meta,
		       const struct check_result *res);
};

struct output {
	struct output_ops ops;
	FILE *f;
	bool lines;
	/* JSON: pyscope check's document, built as the evidence comes */
	cJSON *check, *hits, *viols, *rules;
};

extern const struct output_ops output_text_ops, output_json_ops;
/*
 * The stack formats (folded, speedscope) are JSON but for their own final
 * report (and folded's profile): change those in ops, a copy of JSON's.
 */
void output_stacks_ops(struct output_ops *ops, enum output_format fmt);

/* Shared by the text and JSON forms of the same items (output.c). */

/* CLOCK_REALTIME ISO 8601 (UTC, microseconds) of a kernel CLOCK_MONOTONIC timestamp. */
void output_iso_time(const struct run_meta *meta, uint64_t mono, char *buf, size_t n);
/* "file:line" and function of an aggregate's call site ("?" and "-" when unknown). */
void output_site(const struct model *m, uint32_t agg_id, char *where, size_t wlen, char *func,
		 size_t flen);
/* A pattern's name by index, "-" for none. */
const char *output_pat_name(const struct patterns *ps, int pat);
/* Names of a set of patterns, comma-separated ("-" for none). */
void output_pat_set(const struct patterns *ps, const uint64_t *set, char *buf, size_t n);
/* A check hit's fields: when, where, in which function, with which arguments. */
struct hit_words {
	char when[80];
	char where[PS_FILE_LEN + 16];
	char func[PS_QUAL_LEN];
	char sig[512];
};
void output_hit_words(const struct model *m, const struct run_meta *meta, const struct pattern *p,
		      const struct agg_info *a, struct hit_words *w);
/*
 * Totals per pattern over several processes (count and timed, np each);
 * false if a process's counts are not exact.
 */
bool output_multi_totals(const struct multi_report *mr, uint64_t *count, uint64_t *timed,
			 size_t np);

#endif
