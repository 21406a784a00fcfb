/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition format (version 0.0.4) from the model:
 * per pattern and traced process, a call counter and a latency histogram;
 * per process, lost events and whether the counts are exact.  Pure: reads
 * models and run metadata only (pyscope serve owns the sessions).
 */
#ifndef PYSCOPE_PROM_H
#define PYSCOPE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "sink/report.h"
#include "util/util.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Histogram bounds: 2^k ns for k = PROM_FIRST_LOG .. PROM_FIRST_LOG +
 * PROM_NBOUNDS - 1 (512 ns .. ~17.2 s), then +Inf.  Every bound is an edge
 * of the kernel's log2-linear buckets (include/pshist.h), so no kernel
 * bucket straddles one and the cumulative counts are exact.  The kernel's
 * buckets are half-open ([lower, upper) in whole ns), so a bucket counts
 * the calls that took less than its bound: it differs from Prometheus'
 * "<= le" only for a call of exactly 2^k ns.
 */
#define PROM_FIRST_LOG	9
#define PROM_NBOUNDS	26

uint64_t prom_bound_ns(unsigned i);
/*
 * cum[i] = calls shorter than prom_bound_ns(i), for the kernel buckets
 * hist[PS_NBUCKETS]; returns the total (the +Inf bucket).
 */
uint64_t prom_cumulative(const __u64 *hist, uint64_t cum[PROM_NBOUNDS]);
/* ns as an exact decimal number of seconds ("0.000000512", "17.179869184", "3"). */
void prom_seconds(char *buf, size_t n, uint64_t ns);
/*
 * A label value: backslash, double quote and newline escaped as the format
 * says; other control characters and bytes that are not well-formed UTF-8
 * become '?', so that a hostile name cannot break the exposition.
 */
void prom_escape(struct strbuf *sb, const char *s);

/* One traced process. */
struct prom_target {
	const struct model *m;
	const struct run_meta *meta;
};

/* The whole exposition for these processes, appended to sb. */
void prom_render(struct strbuf *sb, const struct prom_target *t, size_t n);

#endif
