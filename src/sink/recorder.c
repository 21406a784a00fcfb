// SPDX-License-Identifier: MIT
#include "sink/recorder.h"
#include "sink/outfile.h"
#include "tracefile/tfbuild.h"
#include "tracefile/tfwriter.h"
#include "util/util.h"
#include "util/version.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

struct recorder {
	struct outfile of;
	struct tf_writer *w;
	struct tf_buf tmp;
	uint64_t last_cp;
	uint64_t nkernel;		/* ring-buffer records (the rest: what the model made of them) */
	bool finished;
};

int recorder__open(struct recorder **out, const char *path, bool force, char *err, size_t errlen)
{
	struct recorder *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	ret = outfile_open(&r->of, path, force, err, errlen);
	if (ret) {
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

/* Test hooks: a slow disk and a small queue show what happens when events outrun it. */
static void writer_opts(struct tf_writer_opts *o)
{
	const char *v;

	memset(o, 0, sizeof(*o));
	if ((v = getenv("PYSCOPE_RECORD_DELAY_MS")))
		o->delay_ms = (unsigned)strtoul(v, NULL, 10) % 10000;
	if ((v = getenv("PYSCOPE_RECORD_QUEUE")))
		o->queue_max = strtoul(v, NULL, 10);
	if ((v = getenv("PYSCOPE_RECORD_CHUNK")))
		o->chunk_raw = strtoul(v, NULL, 10);
}

int recorder__start(struct recorder *r, const struct tf_source *req, const struct model *m,
		    const struct run_meta *meta, char *err, size_t errlen)
{
	struct tf_source src = *req;
	struct tf_writer_opts o;
	struct utsname u;
	char *text = NULL, *json = NULL;
	int ret = 0;

	src.version = PYSCOPE_VERSION;
	src.pattern_text = NULL;
	src.pattern_len = 0;
	src.host = src.kernel = NULL;
	if (!uname(&u)) {
		src.host = u.nodename;
		src.kernel = u.release;
	}
	/* the pattern file as it was parsed a moment ago */
	if (src.pattern_file) {
		ret = read_file(src.pattern_file, PAT_MAX_FILE, &text, &src.pattern_len);
		if (ret) {
			snprintf(err, errlen, "%s: %s", src.pattern_file, strerror(-ret));
			goto cleanup;
		}
		src.pattern_text = text;
	}
	json = tf_build__header(&src, m, meta);
	if (!json) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	writer_opts(&o);
	ret = tf_writer__new(&r->w, fileno(r->of.f), &o);
	if (!ret)
		ret = tf_writer__header(r->w, json, strlen(json));
	if (ret)
		snprintf(err, errlen, "%s: %s", r->of.path, strerror(-ret));
	r->last_cp = now_ns();
cleanup:
	free(text);
	free(json);
	return ret;
}

void recorder__event(struct recorder *r, const struct model *m, const void *data, size_t len)
{
	__u32 type;

	if (!r->w || len < sizeof(type))
		return;
	tf_writer__record(r->w, TF_REC_KERNEL, data, len);
	r->nkernel++;
	memcpy(&type, data, sizeof(type));
	if (type == PS_EV_CODE && len >= sizeof(struct ps_ev_code)) {
		const struct code_info *ci = model__code(m, ((const struct ps_ev_code *)data)->code_id);

		if (!ci)
			return;
		r->tmp.len = 0;
		r->tmp.oom = false;
		tf_build__code_name(&r->tmp, ci);
		if (!r->tmp.oom)
			tf_writer__record(r->w, TF_REC_CODE_NAME, r->tmp.p, r->tmp.len);
	}
}

void recorder__resolved(struct recorder *r, uint64_t addr, const char *module, const char *qual)
{
	if (!r->w)
		return;
	r->tmp.len = 0;
	r->tmp.oom = false;
	tf_build__resolved(&r->tmp, addr, module, qual);
	if (!r->tmp.oom)
		tf_writer__record(r->w, TF_REC_RESOLVED, r->tmp.p, r->tmp.len);
}

bool recorder__due(const struct recorder *r, uint64_t now)
{
	return r->w && now - r->last_cp >= RECORD_CHECKPOINT_NS;
}

void recorder__checkpoint(struct recorder *r, const struct model *m, const struct run_meta *meta,
			  uint64_t now)
{
	struct tf_wstats ws;

	if (!r->w)
		return;
	r->last_cp = now;
	tf_writer__stats(r->w, &ws);
	r->tmp.len = 0;
	r->tmp.oom = false;
	if (!tf_build__checkpoint(&r->tmp, m, meta, &ws))
		tf_writer__checkpoint(r->w, r->tmp.p, r->tmp.len);
}

int recorder__finish(struct recorder *r, const struct model *m, const struct run_meta *meta)
{
	struct tf_wstats ws;
	int ret;

	if (!r->w)
		return 0;
	recorder__checkpoint(r, m, meta, now_ns());
	tf_writer__stats(r->w, &ws);
	r->tmp.len = 0;
	r->tmp.oom = false;
	tf_build__trailer(&r->tmp, m, meta, &ws);
	ret = tf_writer__close(r->w, r->tmp.oom ? NULL : r->tmp.p, r->tmp.len, &ws);
	r->w = NULL;
	r->finished = true;
	if (ret)
		warn("%s: writing the trace: %s; %" PRIu64 " event(s) not recorded",
		     r->of.path, strerror(-ret), ws.records_dropped);
	else
		warn("recorded %" PRIu64 " event(s) (%" PRIu64 " records) in %" PRIu64 " chunk(s), %"
		     PRIu64 " bytes (%.1fx compressed) to %s%s", r->nkernel, ws.records, ws.chunks,
		     ws.bytes_written + TF_FILE_HDR,
		     ws.bytes_written ? (double)ws.bytes_raw / (double)ws.bytes_written : 0.0,
		     r->of.path, ws.records_dropped || model__lost(m) ? "" : "; no event lost");
	/* the kernel's own losses are in the file's counters and the report */
	if (model__lost(m))
		warn("%" PRIu64 " event(s) lost in the kernel: the report says which",
		     model__lost(m));
	if (!ret && ws.records_dropped)
		warn("%" PRIu64 " event(s) not recorded: the disk was slower than the events",
		     ws.records_dropped);
	return ret;
}

void recorder__close(struct recorder *r, bool failed)
{
	if (!r)
		return;
	/* a run that failed before it finished: what was written stays (it is readable) */
	tf_writer__close(r->w, NULL, 0, NULL);
	outfile_close(&r->of, failed && !r->finished);
	tf_buf__free(&r->tmp);
	free(r);
}
