// SPDX-License-Identifier: MIT
#include "tracefile/replay.h"
#include "model/cover_name.h"
#include "model/model_stacks.h"
#include "model/pattern_json.h"
#include "model/pattern_spec.h"
#include "target/offsets.h"
#include "tracefile/tfbuild.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest kernel record: the buffer a record from the file is copied into. */
union krec {
	__u32 type;
	struct ps_ev_code code;
	struct ps_ev_agg agg;
	struct ps_ev_stack stack;
};

/* A length-prefixed string from the file, bounded, NUL-terminated. */
static void get_str(struct tf_cur *c, char *dst, size_t n)
{
	uint16_t len = tf_cur__get_u16(c);
	const uint8_t *p = tf_cur__get_bytes(c, len);

	dst[0] = '\0';
	if (!p)
		return;
	if (len >= n)
		len = (uint16_t)(n - 1);
	memcpy(dst, p, len);
	dst[len] = '\0';
	/* a NUL inside is the end */
	dst[strnlen(dst, n - 1)] = '\0';
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *name, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static bool jbool(const cJSON *o, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static void jcopy(char *dst, const cJSON *o, const char *name, size_t n)
{
	const char *s = jstr(o, name);

	str_copy(dst, s ? s : "", n);
	str_sanitize(dst);
}

static uint64_t ju64(const cJSON *o, const char *name)
{
	const char *s = jstr(o, name);

	return s ? strtoull(s, NULL, 10) : 0;
}

/*
 * The interpreter as the live model knew it.  The header records its minor
 * version; what that version has, the offsets table says, as it did in the
 * live run (its nearest minor, for one it does not know).
 */
static struct model_interp recorded_interp(unsigned minor)
{
	const struct py_offsets *near = NULL;
	unsigned best = ~0u, i;

	for (i = 0; i < pyoff_table_len; i++) {
		struct pyver v = pyver_from_hex(pyoff_table[i].version_hex);
		unsigned d = v.minor > minor ? v.minor - minor : minor - v.minor;

		if (v.major == 3 && d < best) {
			best = d;
			near = &pyoff_table[i];
		}
	}
	return (struct model_interp){ .pyminor = minor,
				      .qualnames = near && near->co_qualname != PYOFF_NONE };
}

/* The file's format and record layouts: -EPROTONOSUPPORT for those this pyscope cannot read. */
static int check_format(struct replay *r, const cJSON *root, char *err, size_t errlen)
{
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(root, "records");

	if (!jstr(root, "format") || strcmp(jstr(root, "format"), "pyscope-trace")) {
		snprintf(err, errlen, "the header chunk is not a pyscope trace header");
		return -EINVAL;
	}
	r->major = (unsigned)jnum(root, "format_major", 0);
	r->minor = (unsigned)jnum(root, "format_minor", 0);
	if (r->major < 1) {
		snprintf(err, errlen, "the header chunk has no format version");
		return -EINVAL;
	}
	if (r->major > TF_MAJOR) {
		snprintf(err, errlen, "trace format version %u.%u is newer than this pyscope reads "
			 "(%u.x): use a newer pyscope", r->major, r->minor, TF_MAJOR);
		return -EPROTONOSUPPORT;
	}
	if (jnum(rec, "code", 0) != sizeof(struct ps_ev_code) ||
	    jnum(rec, "aggregate", 0) != sizeof(struct ps_ev_agg) ||
	    jnum(rec, "stack", 0) != sizeof(struct ps_ev_stack) ||
	    jnum(rec, "buckets", 0) != PS_NBUCKETS) {
		snprintf(err, errlen, "the file's kernel record layouts differ from this pyscope's "
			 "(recorded by pyscope %.20s)", jstr(root, "pyscope") ? jstr(root, "pyscope") : "?");
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* The target and the run, into r->meta. */
static void load_meta(struct replay *r, const cJSON *root, const cJSON *t, const cJSON *run)
{
	jcopy(r->host, root, "host", sizeof(r->host));
	jcopy(r->kernel, root, "kernel", sizeof(r->kernel));
	jcopy(r->version, root, "pyscope", sizeof(r->version));
	r->meta.pid = (int)jnum(t, "pid", 0);
	jcopy(r->meta.python, t, "python", sizeof(r->meta.python));
	jcopy(r->meta.interpreter, t, "interpreter", sizeof(r->meta.interpreter));
	r->meta.launched = jbool(t, "launched");
	jcopy(r->meta.mechanism, run, "mechanism", sizeof(r->meta.mechanism));
	jcopy(r->meta.returns, run, "returns", sizeof(r->meta.returns));
	r->meta.timed = jbool(run, "timed");
	r->meta.start_wall_ns = ju64(run, "start_wall_ns");
	r->meta.wall_minus_mono = jstr(run, "wall_minus_mono_ns") ?
		strtoll(jstr(run, "wall_minus_mono_ns"), NULL, 10) : 0;
}

/* The patterns, parsed again the way the live run parsed them. */
static int load_patterns(struct replay *r, const cJSON *pat, char *err, size_t errlen)
{
	const char *text = jstr(pat, "file_text");
	const cJSON *e;
	char perr[256] = "";
	int ret = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(pat, "exprs")) {
		if (!cJSON_IsString(e) || !e->valuestring) {
			snprintf(err, errlen, "a recorded pattern is not a string");
			return -EINVAL;
		}
		ret = pattern_spec__add_expr(&r->ps, e->valuestring, perr, sizeof(perr));
		if (ret)
			break;
	}
	if (!ret && jstr(pat, "file"))
		ret = pattern_json__parse(&r->ps, text ? text : "", text ? strlen(text) : 0,
					  "recorded pattern file", perr, sizeof(perr));
	if (ret) {
		str_sanitize(perr);
		snprintf(err, errlen, "a recorded pattern does not parse: %s", perr);
		return ret;
	}
	if (!r->ps.n) {
		snprintf(err, errlen, "the header chunk holds no pattern");
		return -EINVAL;
	}
	return 0;
}

/* How each pattern started; checkpoints replace it. */
static void load_coverage(struct replay *r, const cJSON *root)
{
	const cJSON *e;
	size_t i = 0;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "coverage")) {
		struct coverage cv = { 0 };
		const char *mech = jstr(e, "mechanism");

		if (i >= r->ps.n)
			break;
		cover_mech_parse(mech, COVER_TEXT_TRACEFILE, &cv.mech);
		cv.timed = jbool(e, "timed");
		jcopy(cv.why, e, "detail", sizeof(cv.why));
		model__set_coverage(r->m, i++, &cv);
	}
}

static int load_header(struct replay *r, const uint8_t *raw, size_t len, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength((const char *)raw, len);
	const cJSON *t, *run, *pat;
	struct model_interp py;
	double minor;
	int ret = -EINVAL;

	if (!root) {
		snprintf(err, errlen, "the header chunk is not valid JSON");
		goto cleanup;
	}
	ret = check_format(r, root, err, errlen);
	if (ret)
		goto cleanup;
	t = cJSON_GetObjectItemCaseSensitive(root, "target");
	run = cJSON_GetObjectItemCaseSensitive(root, "run");
	pat = cJSON_GetObjectItemCaseSensitive(root, "patterns");
	minor = jnum(t, "python_minor", -1);
	if (!cJSON_IsObject(t) || !cJSON_IsObject(run) || !cJSON_IsObject(pat) || minor < 0 ||
	    minor > 99) {
		ret = -EINVAL;
		snprintf(err, errlen, "the header chunk lacks the target, the run or the patterns");
		goto cleanup;
	}
	load_meta(r, root, t, run);
	ret = load_patterns(r, pat, err, errlen);
	if (ret)
		goto cleanup;
	py = recorded_interp((unsigned)minor);
	r->m = model__new(&r->ps, &py);
	if (!r->m) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	load_coverage(r, root);
cleanup:
	cJSON_Delete(root);
	return ret;
}

/* A kernel record (its trailing zeros left out in the file), within the model's budget. */
static void load_kernel_record(struct replay *r, union krec *k, const uint8_t *p, uint32_t n)
{
	uint32_t kind;

	if (n > sizeof(*k)) {
		r->records_bad++;
		return;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k, p, n);
	/* the live model is bounded by the kernel's maps; this one by a budget */
	if (k->type == PS_EV_CODE)
		r->model_bytes += sizeof(struct code_info) + MIN(k->code.lt_len, PS_LT_MAX);
	else if (k->type == PS_EV_STACK)
		r->model_bytes += sizeof(struct stack_info);
	if (r->model_bytes > REPLAY_MODEL_MAX) {
		r->over_limit++;
		return;
	}
	if (model__add_record(r->m, k, sizeof(*k), &kind) < 0)
		r->records_bad++;
}

/* TF_REC_CODE_NAME: what the live model made of a code. */
static void load_code_name(struct replay *r, const uint8_t *p, uint32_t n)
{
	struct tf_cur rc = { .p = p, .left = n };
	char module[PS_QUAL_LEN], qual[PS_QUAL_LEN];
	uint32_t id = tf_cur__get_u32(&rc), kind = tf_cur__get_u32(&rc);
	bool known = tf_cur__get_u8(&rc);

	get_str(&rc, module, sizeof(module));
	get_str(&rc, qual, sizeof(qual));
	if (rc.bad)
		r->records_bad++;
	else
		model__set_code_name(r->m, id, module, qual, known, kind);
}

/* TF_REC_RESOLVED: a code address resolved by walking the target. */
static void load_resolved(struct replay *r, const uint8_t *p, uint32_t n)
{
	struct tf_cur rc = { .p = p, .left = n };
	char module[PS_QUAL_LEN], qual[PS_QUAL_LEN];
	uint64_t addr = tf_cur__get_u64(&rc);

	get_str(&rc, module, sizeof(module));
	get_str(&rc, qual, sizeof(qual));
	if (rc.bad) {
		r->records_bad++;
		return;
	}
	str_sanitize(module);
	str_sanitize(qual);
	model__set_resolved(r->m, addr, module, qual);
}

static void load_events(struct replay *r, const uint8_t *raw, size_t len)
{
	struct tf_cur c = { .p = raw, .left = len };
	union krec *k = NULL;

	while (c.left && !c.bad) {
		uint16_t type = tf_cur__get_u16(&c);
		uint32_t n;
		const uint8_t *p;

		tf_cur__get_u16(&c);
		n = tf_cur__get_u32(&c);
		p = tf_cur__get_bytes(&c, n);
		if (!p) {
			r->records_bad++;
			break;
		}
		r->records++;
		if (type == TF_REC_KERNEL) {
			if (!k && !(k = malloc(sizeof(*k))))
				break;
			load_kernel_record(r, k, p, n);
		} else if (type == TF_REC_CODE_NAME) {
			load_code_name(r, p, n);
		} else if (type == TF_REC_RESOLVED) {
			load_resolved(r, p, n);
		}
		/* other record types: from a newer minor version, skipped */
	}
	free(k);
}

/* A checkpoint's coverage: the mechanism of each pattern, so far. */
static void load_cp_coverage(struct replay *r, struct tf_cur *c)
{
	uint32_t i, n = tf_cur__get_u32(c);

	for (i = 0; i < n && !c->bad; i++) {
		struct coverage cv = { 0 };
		uint8_t mech = tf_cur__get_u8(c);

		cv.mech = cover_mech_from_file(mech);
		cv.timed = tf_cur__get_u8(c);
		cv.partial = tf_cur__get_u8(c);
		tf_cur__get_u8(c);
		cv.armed_ns = tf_cur__get_u64(c);
		get_str(c, cv.why, sizeof(cv.why));
		str_sanitize(cv.why);
		if (!c->bad)
			model__set_coverage(r->m, i, &cv);
	}
}

/* A checkpoint's aggregates: statistics, with sparse histograms. */
static void load_cp_stats(struct replay *r, struct tf_cur *c)
{
	uint32_t i, n = tf_cur__get_u32(c);
	struct ps_stats *st = malloc(sizeof(*st));

	for (i = 0; st && i < n && !c->bad; i++) {
		uint32_t id = tf_cur__get_u32(c);
		uint16_t nb, j;

		memset(st, 0, sizeof(*st));
		st->count = tf_cur__get_u64(c);
		st->last_ns = tf_cur__get_u64(c);
		st->timed = tf_cur__get_u64(c);
		st->sum_ns = tf_cur__get_u64(c);
		st->max_ns = tf_cur__get_u64(c);
		nb = tf_cur__get_u16(c);
		for (j = 0; j < nb && !c->bad; j++) {
			uint16_t b = tf_cur__get_u16(c);
			uint64_t v = tf_cur__get_u64(c);

			if (b < PS_NBUCKETS)
				st->hist[b] = v;
		}
		if (!c->bad)
			model__set_stats(r->m, id, st);
	}
	free(st);
}

static void load_checkpoint(struct replay *r, const uint8_t *raw, size_t len)
{
	struct tf_cur c = { .p = raw, .left = len };
	uint32_t i, n, flags;
	int32_t code;

	r->meta.duration_ns = tf_cur__get_u64(&c);
	r->meta.exited_after_ns = tf_cur__get_u64(&c);
	code = (int32_t)tf_cur__get_u32(&c);
	r->meta.exit_code = code;
	flags = tf_cur__get_u32(&c);
	r->meta.target_exited = flags & TF_CP_EXITED;
	r->meta.stopped_by_signal = flags & TF_CP_SIGNAL;
	r->w_records = tf_cur__get_u64(&c);
	r->w_dropped = tf_cur__get_u64(&c);
	n = tf_cur__get_u32(&c);
	for (i = 0; i < n && !c.bad; i++) {
		uint64_t v = tf_cur__get_u64(&c);

		if (i < PS_CNT_MAX)
			model__set_counter(r->m, i, v);
	}
	load_cp_coverage(r, &c);
	load_cp_stats(r, &c);
	r->checkpoints++;
	r->cp_ns = r->meta.duration_ns;
	if (c.bad)
		r->records_bad++;
}

static void load_trailer(struct replay *r, const uint8_t *raw, size_t len)
{
	struct tf_cur c = { .p = raw, .left = len };
	uint64_t recs = tf_cur__get_u64(&c), dropped = tf_cur__get_u64(&c), chunks = tf_cur__get_u64(&c);

	if (c.bad)
		return;
	r->have_trailer = true;
	r->w_records = recs;
	r->w_dropped = dropped;
	r->t_chunks = chunks;
}

/* One good chunk; only a bad header is an error. */
static int load_chunk(struct replay *r, const struct tf_chunk *ch, char *err, size_t errlen)
{
	if (ch->type == TF_CH_HEADER)	/* one header per file; a copy is ignored */
		return r->m ? 0 : load_header(r, ch->raw, ch->raw_len, err, errlen);
	if (!r->m)
		return 0;		/* without the header nothing can be interpreted */
	switch (ch->type) {
	case TF_CH_EVENTS:
		load_events(r, ch->raw, ch->raw_len);
		break;
	case TF_CH_CHECKPOINT:
		load_checkpoint(r, ch->raw, ch->raw_len);
		break;
	case TF_CH_TRAILER:
		load_trailer(r, ch->raw, ch->raw_len);
		break;
	default:
		r->chunks_unknown++;
		break;
	}
	return 0;
}

int replay__load(struct replay **out, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	struct tf_reader *rd = NULL;
	struct replay *r;
	struct tf_chunk ch;
	char note[512];
	int ret;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ret = tf_reader__new(&rd, data, len, err, errlen);
	if (ret)
		goto fail;
	while (!ret && tf_reader__next(rd, &ch) == 1)
		ret = load_chunk(r, &ch, err, errlen);
	if (ret)
		goto fail;
	r->dmg = *tf_reader__damage(rd);
	if (!r->m) {
		ret = -EINVAL;
		snprintf(err, errlen, "no readable header chunk: %s",
			 r->dmg.chunks_ok ? "it is damaged" : "not a pyscope trace, or damaged");
		goto fail;
	}
	if (replay__damaged(r, note, sizeof(note)))
		model__set_note(r->m, note);
	tf_reader__free(rd);
	*out = r;
	return 0;
fail:
	tf_reader__free(rd);
	replay__free(r);
	return ret;
}

bool replay__damaged(const struct replay *r, char *summary, size_t n)
{
	const struct tf_damage *d = &r->dmg;
	bool bad = d->chunks_bad || d->bytes_skipped || d->truncated || d->seq_missing ||
		   !r->have_trailer || r->w_dropped || r->records_bad || r->over_limit;
	struct strbuf sb;

	sb_init(&sb);
	if (!bad) {
		str_copy(summary, "trace file complete", n);
		return false;
	}
	sb_printf(&sb, "trace file: recovered %" PRIu64 " of ", d->chunks_ok);
	if (r->have_trailer)
		sb_printf(&sb, "%" PRIu64, r->t_chunks + 1);
	else
		sb_printf(&sb, "?");
	sb_printf(&sb, " chunks");
	if (d->header_bad)
		sb_printf(&sb, "; file header damaged");
	if (d->chunks_bad)
		sb_printf(&sb, "; %" PRIu64 " damaged chunk(s) skipped", d->chunks_bad);
	/* a damaged chunk also leaves a gap in the sequence numbers */
	if (d->seq_missing > d->chunks_bad)
		sb_printf(&sb, "; %" PRIu64 " more chunk(s) missing", d->seq_missing - d->chunks_bad);
	if (d->too_big)
		sb_printf(&sb, "; stopped after %" PRIu64 " bytes decompressed (a zip bomb?)",
			  d->raw_total);
	else if (d->truncated)
		sb_printf(&sb, "; file truncated after chunk %u at byte %" PRIu64, d->last_seq,
			  d->truncated_at);
	else if (d->bytes_skipped)
		sb_printf(&sb, "; %" PRIu64 " byte(s) unreadable from byte %" PRIu64,
			  d->bytes_skipped, d->first_bad_off);
	if (r->records_bad)
		sb_printf(&sb, "; %" PRIu64 " malformed record(s)", r->records_bad);
	if (r->over_limit)
		sb_printf(&sb, "; %" PRIu64 " code or path record(s) past %llu MiB skipped",
			  r->over_limit, REPLAY_MODEL_MAX >> 20);
	if (!r->have_trailer) {
		if (r->checkpoints)
			sb_printf(&sb, "; no trailer: totals are from the last checkpoint at %.1fs",
				  (double)r->cp_ns / 1e9);
		else
			sb_printf(&sb, "; no trailer and no checkpoint: no totals");
	}
	if (r->w_dropped)
		sb_printf(&sb, "; %" PRIu64 " event(s) not recorded (the disk was slower than the "
			  "events)", r->w_dropped);
	str_copy(summary, sb.buf && !sb.oom ? sb.buf : "trace file damaged", n);
	sb_free(&sb);
	return true;
}

void replay__free(struct replay *r)
{
	if (!r)
		return;
	model__free(r->m);
	patterns__free(&r->ps);
	free(r);
}
