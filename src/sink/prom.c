// SPDX-License-Identifier: MIT
#include "sink/prom.h"
#include "pshist.h"
#include "model/model_result.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t prom_bound_ns(unsigned i)
{
	return 1ull << (PROM_FIRST_LOG + i);
}

uint64_t prom_cumulative(const __u64 *hist, uint64_t cum[PROM_NBOUNDS])
{
	uint64_t total = 0;
	unsigned i, b = 0;

	memset(cum, 0, PROM_NBOUNDS * sizeof(*cum));
	/* buckets ascend; each lies wholly below or above every bound (an edge) */
	for (i = 0; i < PS_NBUCKETS; i++) {
		while (b < PROM_NBOUNDS && ps_hist_upper(i) > prom_bound_ns(b))
			cum[b++] = total;
		total += hist[i];
	}
	while (b < PROM_NBOUNDS)
		cum[b++] = total;
	return total;
}

void prom_seconds(char *buf, size_t n, uint64_t ns)
{
	uint64_t sec = ns / 1000000000ull, frac = ns % 1000000000ull;
	int digits = 9;

	if (!frac) {
		snprintf(buf, n, "%" PRIu64, sec);
		return;
	}
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, n, "%" PRIu64 ".%0*" PRIu64, sec, digits, frac);
}

void prom_escape(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t k = str_utf8_len(p);

		if (*p == '\\')
			sb_printf(sb, "\\\\");
		else if (*p == '"')
			sb_printf(sb, "\\\"");
		else if (*p == '\n')
			sb_printf(sb, "\\n");
		else if (k == 0 || (k == 1 && (*p < 0x20 || *p == 0x7f)))
			sb_printf(sb, "?");
		else
			sb_printf(sb, "%.*s", (int)k, (const char *)p);
		p += k ? k : 1;
	}
}

/* pid="..",python="..",mechanism=".." */
static void target_labels(struct strbuf *sb, const struct run_meta *meta)
{
	sb_printf(sb, "pid=\"%d\",python=\"", meta->pid);
	prom_escape(sb, meta->python);
	sb_printf(sb, "\",mechanism=\"");
	prom_escape(sb, meta->mechanism);
	sb_printf(sb, "\"");
}

static void pattern_labels(struct strbuf *sb, const struct prom_target *t, size_t i)
{
	sb_printf(sb, "pattern=\"");
	prom_escape(sb, model__patterns(t->m)->v[i].name);
	sb_printf(sb, "\",");
	target_labels(sb, t->meta);
}

/* One sample of a pattern's series: name{pattern labels[,le="le"]} value */
static void sample(struct strbuf *sb, const struct prom_target *t, size_t i, const char *name,
		   const char *le, const char *value)
{
	sb_printf(sb, "%s{", name);
	pattern_labels(sb, t, i);
	if (le)
		sb_printf(sb, ",le=\"%s\"", le);
	sb_printf(sb, "} %s\n", value);
}

/* One sample of a per-process series: name{target labels} v */
static void target_sample(struct strbuf *sb, const struct run_meta *meta, const char *name,
			  uint64_t v)
{
	sb_printf(sb, "%s{", name);
	target_labels(sb, meta);
	sb_printf(sb, "} %" PRIu64 "\n", v);
}

static void u64_str(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "%" PRIu64, v);
}

static void family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void calls(struct strbuf *sb, const struct prom_target *t, size_t n)
{
	size_t k, i;

	family(sb, "pyscope_calls_total", "counter",
	       "Calls that matched the pattern since pyscope attached to the process.");
	for (k = 0; k < n; k++) {
		const struct patterns *ps = model__patterns(t[k].m);

		for (i = 0; i < ps->n; i++) {
			struct pat_result r;
			char v[24];

			if (model__result(t[k].m, i, &r))
				continue;
			u64_str(v, sizeof(v), r.count);
			sample(sb, &t[k], i, "pyscope_calls_total", NULL, v);
			pat_result__free(&r);
		}
	}
}

static void histogram(struct strbuf *sb, const struct prom_target *t, size_t i)
{
	uint64_t cum[PROM_NBOUNDS], total;
	struct pat_result r;
	char le[32], v[32];
	unsigned b;

	if (model__result(t->m, i, &r))
		return;
	total = prom_cumulative(r.hist, cum);
	for (b = 0; b < PROM_NBOUNDS; b++) {
		prom_seconds(le, sizeof(le), prom_bound_ns(b));
		u64_str(v, sizeof(v), cum[b]);
		sample(sb, t, i, "pyscope_call_duration_seconds_bucket", le, v);
	}
	u64_str(v, sizeof(v), total);
	sample(sb, t, i, "pyscope_call_duration_seconds_bucket", "+Inf", v);
	prom_seconds(le, sizeof(le), r.lat.sum_ns);
	sample(sb, t, i, "pyscope_call_duration_seconds_sum", NULL, le);
	sample(sb, t, i, "pyscope_call_duration_seconds_count", NULL, v);
	pat_result__free(&r);
}

static void durations(struct strbuf *sb, const struct prom_target *t, size_t n)
{
	size_t k, i;

	family(sb, "pyscope_call_duration_seconds", "histogram",
	       "Latency of the timed calls. Bounds are kernel bucket edges (2^k ns); a bucket "
	       "counts the calls that took less than its bound.");
	for (k = 0; k < n; k++) {
		/* without return probes (count only) there is no latency to show */
		if (!t[k].meta->timed)
			continue;
		for (i = 0; i < model__patterns(t[k].m)->n; i++)
			histogram(sb, &t[k], i);
	}
}

void prom_render(struct strbuf *sb, const struct prom_target *t, size_t n)
{
	char reason[256];
	size_t k;

	calls(sb, t, n);
	durations(sb, t, n);
	family(sb, "pyscope_lost_events_total", "counter",
	       "Events the kernel side could not record (ring buffer full, aggregate table full, "
	       "no thread state); when not 0 the counts are lower bounds.");
	for (k = 0; k < n; k++)
		target_sample(sb, t[k].meta, "pyscope_lost_events_total", model__lost(t[k].m));
	family(sb, "pyscope_counts_exact", "gauge",
	       "1 when every count for the process is exact, 0 when events were lost or calls "
	       "could not be attributed.");
	for (k = 0; k < n; k++)
		target_sample(sb, t[k].meta, "pyscope_counts_exact",
			      report_exact(t[k].m, reason, sizeof(reason)) ? 1 : 0);
	family(sb, "pyscope_target_exited", "gauge",
	       "1 when the process has exited (its series go after this scrape), else 0.");
	for (k = 0; k < n; k++)
		target_sample(sb, t[k].meta, "pyscope_target_exited", t[k].meta->target_exited);
	family(sb, "pyscope_targets", "gauge", "Processes being traced.");
	sb_printf(sb, "pyscope_targets %zu\n", n);
}
