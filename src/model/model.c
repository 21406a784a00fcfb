// SPDX-License-Identifier: MIT
#include "model/model.h"
#include "target/linetable.h"
#include "target/srcscan.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRC_CACHE 64

struct src_ent {
	char *filename;
	char *text;		/* NULL: could not be read */
	size_t len;
};

struct model {
	const struct patterns *pats;
	unsigned pyminor;
	/* codes: open addressing on id */
	struct code_info **codes;
	size_t codes_cap, ncodes;
	struct agg_info **aggs;		/* PS_MAX_AGGS slots, each allocated when its id comes */
	uint32_t max_agg;		/* one past the highest known id */
	uint64_t counters[PS_CNT_MAX];
	source_reader_fn read_source;
	void *src_ctx;
	struct src_ent src[SRC_CACHE];
	size_t nsrc;
	struct coverage *cover;		/* one per pattern */
	agg_hook_fn hook;
	void *hook_ctx;
	call_hook_fn call_hook;
	void *call_ctx;
	struct sample_row *samples;
	size_t nsamples, samples_cap;
	struct await_row *awaits;
	size_t nawaits, awaits_cap;
	struct stack_info **stacks;	/* open addressing on id */
	size_t stacks_cap, nstacks;
	struct resolved {
		uint64_t addr;
		char module[PS_QUAL_LEN], qualname[PS_QUAL_LEN];
	} resolved[64];
	size_t nresolved;
	char *note;			/* an extra reason the counts are not exact */
};

struct model *model__new(const struct patterns *ps, unsigned pyminor)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pats = ps;
	m->pyminor = pyminor;
	m->codes_cap = 1024;
	m->codes = calloc(m->codes_cap, sizeof(*m->codes));
	/* ~3 KB each: allocated as ids come rather than 8192 of them up front */
	m->aggs = calloc(PS_MAX_AGGS, sizeof(*m->aggs));
	m->cover = calloc(ps->n ? ps->n : 1, sizeof(*m->cover));
	m->stacks_cap = 256;
	m->stacks = calloc(m->stacks_cap, sizeof(*m->stacks));
	if (!m->codes || !m->aggs || !m->cover || !m->stacks) {
		model__free(m);
		return NULL;
	}
	return m;
}

void model__free(struct model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->codes_cap && m->codes; i++) {
		if (m->codes[i]) {
			free(m->codes[i]->lt);
			free(m->codes[i]);
		}
	}
	for (i = 0; i < m->nsrc; i++) {
		free(m->src[i].filename);
		free(m->src[i].text);
	}
	free(m->samples);
	free(m->awaits);
	for (i = 0; i < m->stacks_cap && m->stacks; i++)
		free(m->stacks[i]);
	free(m->stacks);
	free(m->codes);
	for (i = 0; i < PS_MAX_AGGS && m->aggs; i++)
		free(m->aggs[i]);
	free(m->aggs);
	free(m->cover);
	free(m->note);
	free(m);
}

void model__set_note(struct model *m, const char *note)
{
	free(m->note);
	m->note = note ? strdup(note) : NULL;
	if (m->note)
		str_sanitize(m->note);
}

const char *model__note(const struct model *m)
{
	return m->note;
}

void model__clear_samples(struct model *m)
{
	m->nsamples = 0;
	m->nawaits = 0;
}

void model__add_sample(struct model *m, const struct ps_sample_key *k, const struct ps_sample_val *v)
{
	if (m->nsamples == m->samples_cap) {
		size_t cap = m->samples_cap ? m->samples_cap * 2 : 256;
		struct sample_row *n = realloc(m->samples, cap * sizeof(*n));

		if (!n)
			return;
		m->samples = n;
		m->samples_cap = cap;
	}
	m->samples[m->nsamples].key = *k;
	m->samples[m->nsamples].val = *v;
	m->nsamples++;
}

void model__add_await(struct model *m, const struct ps_await_key *k, uint64_t n)
{
	if (m->nawaits == m->awaits_cap) {
		size_t cap = m->awaits_cap ? m->awaits_cap * 2 : 64;
		struct await_row *r = realloc(m->awaits, cap * sizeof(*r));

		if (!r)
			return;
		m->awaits = r;
		m->awaits_cap = cap;
	}
	m->awaits[m->nawaits].key = *k;
	m->awaits[m->nawaits].count = n;
	m->nawaits++;
}

size_t model__samples(const struct model *m, const struct sample_row **rows)
{
	*rows = m->samples;
	return m->nsamples;
}

size_t model__awaits(const struct model *m, const struct await_row **rows)
{
	*rows = m->awaits;
	return m->nawaits;
}

static size_t stack_slot(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

const struct stack_info *model__stack(const struct model *m, uint64_t id)
{
	size_t i;

	if (!id)
		return NULL;
	for (i = stack_slot(id, m->stacks_cap); m->stacks[i]; i = (i + 1) & (m->stacks_cap - 1))
		if (m->stacks[i]->id == id)
			return m->stacks[i];
	return NULL;
}

void model__add_stack(struct model *m, const struct ps_ev_stack *ev)
{
	struct stack_info *si;
	size_t i;

	if (!ev->stack || model__stack(m, ev->stack))
		return;
	if ((m->nstacks + 1) * 2 > m->stacks_cap) {
		size_t ncap = m->stacks_cap * 2, j;
		struct stack_info **ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return;
		for (j = 0; j < m->stacks_cap; j++) {
			if (!m->stacks[j])
				continue;
			for (i = stack_slot(m->stacks[j]->id, ncap); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = m->stacks[j];
		}
		free(m->stacks);
		m->stacks = ns;
		m->stacks_cap = ncap;
	}
	si = calloc(1, sizeof(*si));
	if (!si)
		return;
	si->id = ev->stack;
	si->n = ev->nframes > PS_MAX_DEPTH ? PS_MAX_DEPTH : ev->nframes;
	si->truncated = ev->truncated;
	memcpy(si->frames, ev->frames, si->n * sizeof(si->frames[0]));
	for (i = stack_slot(si->id, m->stacks_cap); m->stacks[i]; i = (i + 1) & (m->stacks_cap - 1))
		;
	m->stacks[i] = si;
	m->nstacks++;
}

/* Line of a byte offset in a code, or -1. */
static int code_line(const struct model *m, const struct code_info *c, uint32_t off)
{
	return linetable_line(m->pyminor, c->lt, c->lt_len, c->lt_len >= c->lt_total,
			      c->firstlineno, off);
}

void model__frame_parts(const struct model *m, const struct ps_frame *f, char *func, size_t flen,
			char *where, size_t wlen)
{
	const struct code_info *c = model__code(m, f->code_id);
	int line;

	if (!c) {
		str_copy(func, "?", flen);
		str_copy(where, "?", wlen);
		return;
	}
	line = code_line(m, c, f->offset);
	str_copy(func, c->qualname, flen);
	if (line > 0)
		snprintf(where, wlen, "%s:%d", c->filename, line);
	else
		snprintf(where, wlen, "%s:?", c->filename);
}

void model__frame_text(const struct model *m, const struct ps_frame *f, char *buf, size_t n)
{
	char func[PS_QUAL_LEN], where[PS_FILE_LEN + 16];

	model__frame_parts(m, f, func, sizeof(func), where, sizeof(where));
	snprintf(buf, n, "%s (%s)", func, where);
}

void model__set_coverage(struct model *m, size_t pidx, const struct coverage *c)
{
	if (pidx < m->pats->n)
		m->cover[pidx] = *c;
}

const struct coverage *model__coverage(const struct model *m, size_t pidx)
{
	return pidx < m->pats->n ? &m->cover[pidx] : NULL;
}

void model__set_source_reader(struct model *m, source_reader_fn fn, void *ctx)
{
	m->read_source = fn;
	m->src_ctx = ctx;
}

static size_t slot_of(uint32_t id, size_t cap)
{
	return ((size_t)id * 2654435761u) & (cap - 1);
}

const struct code_info *model__code(const struct model *m, uint32_t id)
{
	size_t i = slot_of(id, m->codes_cap);

	while (m->codes[i]) {
		if (m->codes[i]->id == id)
			return m->codes[i];
		i = (i + 1) & (m->codes_cap - 1);
	}
	return NULL;
}

static int codes_insert(struct model *m, struct code_info *ci)
{
	size_t i;

	if ((m->ncodes + 1) * 2 > m->codes_cap) {
		size_t ncap = m->codes_cap * 2, j;
		struct code_info **nc = calloc(ncap, sizeof(*nc));

		if (!nc)
			return -ENOMEM;
		for (j = 0; j < m->codes_cap; j++) {
			if (!m->codes[j])
				continue;
			i = slot_of(m->codes[j]->id, ncap);
			while (nc[i])
				i = (i + 1) & (ncap - 1);
			nc[i] = m->codes[j];
		}
		free(m->codes);
		m->codes = nc;
		m->codes_cap = ncap;
	}
	i = slot_of(ci->id, m->codes_cap);
	while (m->codes[i]) {
		if (m->codes[i]->id == ci->id) {
			free(m->codes[i]->lt);
			free(m->codes[i]);
			m->codes[i] = ci;
			return 0;
		}
		i = (i + 1) & (m->codes_cap - 1);
	}
	m->codes[i] = ci;
	m->ncodes++;
	return 0;
}

static const struct src_ent *source(struct model *m, const char *filename)
{
	struct src_ent *e;
	size_t i;

	for (i = 0; i < m->nsrc; i++)
		if (!strcmp(m->src[i].filename, filename))
			return &m->src[i];
	if (!m->read_source)
		return NULL;
	if (m->nsrc == SRC_CACHE) {
		/* drop the oldest */
		free(m->src[0].filename);
		free(m->src[0].text);
		memmove(&m->src[0], &m->src[1], (SRC_CACHE - 1) * sizeof(m->src[0]));
		m->nsrc--;
	}
	e = &m->src[m->nsrc];
	memset(e, 0, sizeof(*e));
	e->filename = strdup(filename);
	if (!e->filename)
		return NULL;
	if (m->read_source(m->src_ctx, filename, &e->text, &e->len))
		e->text = NULL;
	m->nsrc++;
	return e;
}

/* Could any function pattern match this code? */
static bool func_candidate(const struct model *m, const struct code_info *ci)
{
	size_t i;

	for (i = 0; i < m->pats->n; i++) {
		const struct pattern *p = &m->pats->v[i];

		if (p->kind != PAT_FUNC || strcmp(p->leaf, ci->name))
			continue;
		if (ci->qual_known && strcmp(p->qualname, ci->qualname))
			continue;
		if (ci->module[0] && strcmp(p->module, ci->module))
			continue;
		return true;
	}
	return false;
}

static void apply_resolved(const struct resolved *r, struct code_info *ci)
{
	str_copy(ci->module, r->module, sizeof(ci->module));
	str_copy(ci->qualname, r->qualname, sizeof(ci->qualname));
	ci->qual_known = true;
}

void model__set_resolved(struct model *m, uint64_t addr, const char *module, const char *qualname)
{
	struct resolved *r = NULL;
	size_t i;

	for (i = 0; i < m->nresolved; i++)
		if (m->resolved[i].addr == addr)
			r = &m->resolved[i];
	if (!r) {
		if (m->nresolved == ARRAY_SIZE(m->resolved))
			memmove(&m->resolved[0], &m->resolved[1],
				(ARRAY_SIZE(m->resolved) - 1) * sizeof(m->resolved[0]));
		else
			m->nresolved++;
		r = &m->resolved[m->nresolved - 1];
	}
	r->addr = addr;
	str_copy(r->module, module, sizeof(r->module));
	str_copy(r->qualname, qualname, sizeof(r->qualname));
	/* codes already announced at that address */
	for (i = 0; i < m->codes_cap; i++)
		if (m->codes[i] && m->codes[i]->addr == addr)
			apply_resolved(r, m->codes[i]);
}

uint32_t model__add_code(struct model *m, const struct ps_ev_code *ev)
{
	size_t k;
	struct code_info *ci = calloc(1, sizeof(*ci));

	if (!ci)
		return ev->kind;
	ci->id = ev->code_id;
	ci->addr = ev->code_addr;
	ci->kind = ev->kind;
	ci->firstlineno = (int)ev->firstlineno;
	ci->co_flags = ev->co_flags;
	ci->argcount = ev->argcount;
	str_copy(ci->name, ev->name, sizeof(ci->name));
	str_copy(ci->qualname, ev->qualname, sizeof(ci->qualname));
	str_copy(ci->module, ev->module, sizeof(ci->module));
	str_copy(ci->filename, ev->filename, sizeof(ci->filename));
	str_sanitize(ci->name);
	str_sanitize(ci->qualname);
	str_sanitize(ci->module);
	str_sanitize(ci->filename);
	ci->lt_total = ev->lt_total;
	if (ev->lt_len && ev->lt_len <= PS_LT_MAX) {
		ci->lt = malloc(ev->lt_len);
		if (ci->lt) {
			memcpy(ci->lt, ev->linetable, ev->lt_len);
			ci->lt_len = ev->lt_len;
		}
	}
	if (m->pyminor >= 11) {
		ci->qual_known = true;
	} else if (ci->kind != PS_CODE_IGNORE || ev->kind == PS_CODE_IGNORE) {
		/* <= 3.10: the qualified name comes from the source */
		const struct src_ent *s = source(m, ci->filename);
		char q[PS_QUAL_LEN];

		if (s && s->text &&
		    !srcscan_qualname(s->text, s->len, ci->firstlineno, ci->name, q, sizeof(q))) {
			str_copy(ci->qualname, q, sizeof(ci->qualname));
			ci->qual_known = true;
		}
	}
	for (k = 0; k < m->nresolved; k++)
		if (m->resolved[k].addr == ci->addr)
			apply_resolved(&m->resolved[k], ci);
	if ((ci->kind & PS_CODE_FUNC) && !func_candidate(m, ci))
		ci->kind &= ~(uint32_t)PS_CODE_FUNC;
	if (codes_insert(m, ci)) {
		uint32_t kind = ci->kind;

		free(ci->lt);
		free(ci);
		return kind;
	}
	return ci->kind;
}

void model__set_code_name(struct model *m, uint32_t id, const char *module, const char *qualname,
			  bool qual_known, uint32_t kind)
{
	struct code_info *ci = (struct code_info *)model__code(m, id);

	if (!ci)
		return;
	str_copy(ci->module, module, sizeof(ci->module));
	str_copy(ci->qualname, qualname, sizeof(ci->qualname));
	str_sanitize(ci->module);
	str_sanitize(ci->qualname);
	ci->qual_known = qual_known;
	ci->kind = kind & (PS_CODE_FUNC | PS_CODE_INIT | PS_CODE_NEW);
}

/* The slot of aggregate id, allocated (zeroed) on first use; NULL when out of range or memory. */
static struct agg_info *agg_slot(struct model *m, uint32_t id)
{
	if (id >= PS_MAX_AGGS)
		return NULL;
	if (!m->aggs[id])
		m->aggs[id] = calloc(1, sizeof(*m->aggs[id]));
	return m->aggs[id];
}

void model__add_agg(struct model *m, const struct ps_ev_agg *ev)
{
	struct agg_info *a;
	int i;

	a = agg_slot(m, ev->agg_id);
	if (!a)
		return;
	a->known = true;
	a->key = ev->key;
	if (a->key.nargs > PS_MAX_SIG)
		a->key.nargs = PS_MAX_SIG;
	for (i = 0; i < PS_MAX_SIG; i++) {
		str_copy(a->types[i], ev->type_names[i], PS_TYPE_LEN);
		str_sanitize(a->types[i]);
	}
	a->nkw = 0;
	for (i = 0; i < PS_MAX_KW && (uint32_t)i < ev->nkw; i++) {
		str_copy(a->kw[a->nkw], ev->kwnames[i], PS_KW_LEN);
		str_sanitize(a->kw[a->nkw++]);
	}
	a->first_tid = ev->tid;
	a->first_ns = ev->ts_ns;
	a->capture[0] = '\0';
	if (a->key.flags & PS_AGG_CAP_INT)
		snprintf(a->capture, sizeof(a->capture), "%lld", (long long)a->key.capval);
	else if (a->key.flags & PS_AGG_CAP_BIG)
		str_copy(a->capture, "<int too big>", sizeof(a->capture));
	else if (a->key.flags & PS_AGG_CAP_STR)
		snprintf(a->capture, sizeof(a->capture), "'%.*s'", PS_CAP_LEN - 1, ev->capture);
	else if (a->key.flags & PS_AGG_CAP_OTHER)
		snprintf(a->capture, sizeof(a->capture), "<%.*s>", PS_CAP_LEN - 1, ev->capture);
	str_sanitize(a->capture);
	if (ev->agg_id + 1 > m->max_agg)
		m->max_agg = ev->agg_id + 1;
	if (m->hook)
		m->hook(m->hook_ctx, m, ev->agg_id);
}

void model__set_agg_hook(struct model *m, agg_hook_fn fn, void *ctx)
{
	m->hook = fn;
	m->hook_ctx = ctx;
}

void model__set_call_hook(struct model *m, call_hook_fn fn, void *ctx)
{
	m->call_hook = fn;
	m->call_ctx = ctx;
}

int model__add_record(struct model *m, const void *data, size_t len, uint32_t *kind)
{
	__u32 type;

	if (len < sizeof(type))
		return -EINVAL;
	memcpy(&type, data, sizeof(type));
	if (type == PS_EV_CODE && len >= sizeof(struct ps_ev_code)) {
		const struct ps_ev_code *ev = data;

		*kind = model__add_code(m, ev);
		return *kind != ev->kind;
	}
	if (type == PS_EV_AGG && len >= sizeof(struct ps_ev_agg)) {
		model__add_agg(m, data);
		return 0;
	}
	if (type == PS_EV_STACK && len >= sizeof(struct ps_ev_stack)) {
		model__add_stack(m, data);
		return 0;
	}
	if (type == PS_EV_CALL && len >= sizeof(struct ps_ev_call)) {
		if (m->call_hook)
			m->call_hook(m->call_ctx, m, data);
		return 0;
	}
	return -EINVAL;
}

void model__set_stats(struct model *m, uint32_t agg_id, const struct ps_stats *st)
{
	struct agg_info *a = agg_slot(m, agg_id);

	if (a)
		a->st = *st;
}

void model__set_counter(struct model *m, unsigned which, uint64_t v)
{
	if (which < PS_CNT_MAX)
		m->counters[which] = v;
}

uint64_t model__counter(const struct model *m, unsigned which)
{
	return which < PS_CNT_MAX ? m->counters[which] : 0;
}

uint32_t model__max_agg(const struct model *m)
{
	return m->max_agg;
}

const struct agg_info *model__agg(const struct model *m, uint32_t id)
{
	return id < m->max_agg && m->aggs[id] && m->aggs[id]->known ? m->aggs[id] : NULL;
}

const struct patterns *model__patterns(const struct model *m)
{
	return m->pats;
}

unsigned model__pyminor(const struct model *m)
{
	return m->pyminor;
}

static void sig_of(const struct agg_info *a, struct call_sig *sig)
{
	int i;

	memset(sig, 0, sizeof(*sig));
	sig->ntypes = a->key.nargs;
	for (i = 0; i < PS_MAX_SIG; i++)
		sig->types[i] = a->types[i];
	sig->nkw = a->nkw;
	for (i = 0; i < a->nkw; i++)
		sig->kw[i] = a->kw[i];
	sig->kw_truncated = a->key.flags & PS_AGG_KW_TRUNC;
}

/* Is this aggregate a construction of p's class (before signature checks)? */
static bool class_call(const struct code_info *ci, const struct agg_info *a,
		       const struct pattern *p, bool is_new)
{
	size_t ql = strlen(p->qualname);

	if (strcmp(ci->name, is_new ? "__new__" : "__init__"))
		return false;
	if (is_new != !!(a->key.flags & PS_AGG_NEW))
		return false;
	if (a->key.flags & PS_AGG_CHAINED)
		return false;
	if (strcmp(a->types[0], p->qualname))
		return false;
	/* the class's own __init__: its module must be the pattern's */
	if (ci->qual_known && ci->module[0] && !strncmp(ci->qualname, p->qualname, ql) &&
	    ci->qualname[ql] == '.' && !strcmp(ci->qualname + ql + 1, ci->name) &&
	    strcmp(ci->module, p->module))
		return false;
	return true;
}

/* Did any __init__ of p's class run?  Then __new__ calls are not constructions. */
static bool class_has_init(const struct model *m, const struct pattern *p)
{
	uint32_t i;

	for (i = 0; i < m->max_agg; i++) {
		const struct agg_info *a = m->aggs[i];
		const struct code_info *ci;

		if (!a || !a->known || !(ci = model__code(m, a->key.code_id)))
			continue;
		if (class_call(ci, a, p, false))
			return true;
	}
	return false;
}

static bool agg_matches(const struct model *m, const struct agg_info *a, const struct pattern *p,
			bool has_init)
{
	const struct code_info *ci = model__code(m, a->key.code_id);
	struct call_sig sig;

	if (!ci)
		return false;
	sig_of(a, &sig);
	if (p->kind == PAT_FUNC) {
		if (!ci->qual_known || strcmp(ci->qualname, p->qualname) ||
		    strcmp(ci->name, p->leaf))
			return false;
		if (ci->module[0] && strcmp(ci->module, p->module))
			return false;
		return pattern__sig_matches(p, &sig);
	}
	if (!class_call(ci, a, p, false) && (has_init || !class_call(ci, a, p, true)))
		return false;
	return pattern__sig_matches(p, &sig);
}

bool model__pattern_matched_code(const struct model *m, size_t pidx)
{
	const struct pattern *p = &m->pats->v[pidx];
	uint32_t i;

	for (i = 0; i < m->max_agg; i++) {
		const struct agg_info *a = m->aggs[i];
		const struct code_info *ci;

		if (!a || !a->known || !(ci = model__code(m, a->key.code_id)))
			continue;
		if (p->kind == PAT_CLASS) {
			if (class_call(ci, a, p, false) || class_call(ci, a, p, true))
				return true;
			continue;
		}
		if (strcmp(ci->name, p->leaf) || (ci->module[0] && strcmp(ci->module, p->module)))
			continue;
		if (!ci->qual_known || !strcmp(ci->qualname, p->qualname))
			return true;
	}
	return false;
}

bool model__agg_matches(const struct model *m, const struct agg_info *a, const struct pattern *p)
{
	return agg_matches(m, a, p, p->kind == PAT_CLASS ? class_has_init(m, p) : true);
}

uint64_t model__unresolved(const struct model *m)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < m->max_agg; i++) {
		const struct agg_info *a = m->aggs[i];
		const struct code_info *ci;

		if (!a || !a->known)
			continue;
		ci = model__code(m, a->key.code_id);
		if (!ci || ((ci->kind & PS_CODE_FUNC) && !ci->qual_known))
			n += a->st.count;
	}
	return n;
}

uint64_t model__lost(const struct model *m)
{
	return m->counters[PS_CNT_RB_LOST] + m->counters[PS_CNT_AGG_FULL] +
	       m->counters[PS_CNT_TSTATE_MISS] + m->counters[PS_CNT_FREG_BAD];
}

void model__agg_sig(const struct agg_info *a, bool skip_self, char *buf, size_t n)
{
	struct strbuf sb;
	int i, first = skip_self ? 1 : 0;

	sb_init(&sb);
	sb_printf(&sb, "(");
	for (i = first; i < a->key.nargs && i < PS_MAX_SIG; i++)
		sb_printf(&sb, "%s%s", i > first ? ", " : "", a->types[i][0] ? a->types[i] : "?");
	if (a->nkw) {
		sb_printf(&sb, "%s**{", a->key.nargs > first ? ", " : "");
		for (i = 0; i < a->nkw; i++)
			sb_printf(&sb, "%s%s", i ? ", " : "", a->kw[i]);
		sb_printf(&sb, "%s}", (a->key.flags & PS_AGG_KW_TRUNC) ? ", ..." : "");
	}
	sb_printf(&sb, ")");
	str_copy(buf, sb.buf && !sb.oom ? sb.buf : "(?)", n);
	sb_free(&sb);
}

static void site_where(const struct model *m, const struct agg_info *a, struct site_row *r);

void model__agg_site(const struct model *m, const struct agg_info *a, char *where, size_t wlen,
		     char *func, size_t flen)
{
	struct site_row r;

	site_where(m, a, &r);
	str_copy(where, r.where, wlen);
	str_copy(func, r.func, flen);
}

/* Rows with more calls first (the comparators' first key). */
static int most_first(uint64_t a, uint64_t b)
{
	return a == b ? 0 : a < b ? 1 : -1;
}

static int sig_cmp(const void *x, const void *y)
{
	const struct sig_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: strcmp(a->text, b->text);
}

static int path_cmp(const void *x, const void *y)
{
	const struct path_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: a->stack < b->stack ? -1 : a->stack > b->stack;
}

static int cap_cmp(const void *x, const void *y)
{
	const struct cap_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: strcmp(a->value, b->value);
}

static int site_cmp(const void *x, const void *y)
{
	const struct site_row *a = x, *b = y;

	return most_first(a->count, b->count) ?: strcmp(a->where, b->where);
}

static void site_where(const struct model *m, const struct agg_info *a, struct site_row *r)
{
	const struct code_info *c = model__code(m, a->key.caller_id);
	int line;

	if (a->key.flags & PS_AGG_NO_CALLER) {
		str_copy(r->where, "<called from C>", sizeof(r->where));
		r->func[0] = '\0';
		return;
	}
	if (!c) {
		str_copy(r->where, "<unknown caller>", sizeof(r->where));
		r->func[0] = '\0';
		return;
	}
	line = code_line(m, c, a->key.caller_off);
	if (line > 0)
		snprintf(r->where, sizeof(r->where), "%s:%d", c->filename, line);
	else
		snprintf(r->where, sizeof(r->where), "%s:?", c->filename);
	str_copy(r->func, c->qualname, sizeof(r->func));
}

int model__result(const struct model *m, size_t pidx, struct pat_result *out)
{
	const struct pattern *p = &m->pats->v[pidx];
	bool has_init = p->kind == PAT_CLASS ? class_has_init(m, p) : true;
	uint64_t sum = 0, max = 0;
	uint32_t i;
	size_t j;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < m->max_agg; i++) {
		const struct agg_info *a = m->aggs[i];
		struct site_row *site = NULL;
		char text[sizeof(out->sigs[0].text)];
		struct site_row tmp;

		if (!a || !a->known || !agg_matches(m, a, p, has_init))
			continue;
		out->count += a->st.count;
		out->timed += a->st.timed;
		sum += a->st.sum_ns;
		max = MAX(max, a->st.max_ns);
		hist_add(out->hist, a->st.hist);

		model__agg_sig(a, p->skip_self, text, sizeof(text));
		for (j = 0; j < out->nsigs; j++)
			if (!strcmp(out->sigs[j].text, text))
				break;
		if (j == out->nsigs) {
			struct sig_row *n = realloc(out->sigs, (out->nsigs + 1) * sizeof(*n));

			if (!n)
				goto oom;
			out->sigs = n;
			memset(&n[j], 0, sizeof(n[j]));
			str_copy(n[j].text, text, sizeof(n[j].text));
			out->nsigs++;
		}
		out->sigs[j].count += a->st.count;

		/* one row per file:line and function: a line may hold several calls */
		memset(&tmp, 0, sizeof(tmp));
		site_where(m, a, &tmp);
		for (j = 0; j < out->nsites; j++)
			if (!strcmp(out->sites[j].where, tmp.where) &&
			    !strcmp(out->sites[j].func, tmp.func))
				break;
		if (j == out->nsites) {
			struct site_row *n = realloc(out->sites, (out->nsites + 1) * sizeof(*n));

			if (!n)
				goto oom;
			out->sites = n;
			n[j] = tmp;
			n[j].caller_id = a->key.caller_id;
			n[j].caller_off = (a->key.flags & PS_AGG_NO_CALLER) ? ~0u : a->key.caller_off;
			out->nsites++;
		}
		site = &out->sites[j];
		if (!site->first_ns || a->first_ns < site->first_ns)
			site->first_ns = a->first_ns;
		if (a->st.last_ns > site->last_ns)
			site->last_ns = a->st.last_ns;
		if (!site->example_stack)
			site->example_stack = a->key.stack;
		site->count += a->st.count;
		site->timed += a->st.timed;
		site->sum_ns += a->st.sum_ns;
		site->max_ns = MAX(site->max_ns, a->st.max_ns);
		hist_add(site->hist, a->st.hist);

		if (a->key.stack) {
			for (j = 0; j < out->npaths; j++)
				if (out->paths[j].stack == a->key.stack)
					break;
			if (j == out->npaths) {
				struct path_row *n = realloc(out->paths, (j + 1) * sizeof(*n));

				if (!n)
					goto oom;
				out->paths = n;
				memset(&n[j], 0, sizeof(n[j]));
				n[j].stack = a->key.stack;
				out->npaths++;
			}
			out->paths[j].count += a->st.count;
			out->paths[j].timed += a->st.timed;
			out->paths[j].sum_ns += a->st.sum_ns;
			out->paths[j].max_ns = MAX(out->paths[j].max_ns, a->st.max_ns);
		}
		if (a->capture[0]) {
			for (j = 0; j < out->ncaps; j++)
				if (!strcmp(out->caps[j].value, a->capture))
					break;
			if (j == out->ncaps) {
				struct cap_row *n = realloc(out->caps, (j + 1) * sizeof(*n));

				if (!n)
					goto oom;
				out->caps = n;
				memset(&n[j], 0, sizeof(n[j]));
				str_copy(n[j].value, a->capture, sizeof(n[j].value));
				out->ncaps++;
			}
			out->caps[j].count += a->st.count;
		}
	}
	hist_summary(out->hist, sum, max, &out->lat);
	if (out->nsigs)
		qsort(out->sigs, out->nsigs, sizeof(*out->sigs), sig_cmp);
	if (out->nsites)
		qsort(out->sites, out->nsites, sizeof(*out->sites), site_cmp);
	if (out->npaths)
		qsort(out->paths, out->npaths, sizeof(*out->paths), path_cmp);
	if (out->ncaps)
		qsort(out->caps, out->ncaps, sizeof(*out->caps), cap_cmp);
	return 0;
oom:
	pat_result_free(out);
	return -ENOMEM;
}

void pat_result_free(struct pat_result *r)
{
	free(r->sigs);
	free(r->sites);
	free(r->paths);
	free(r->caps);
	r->sigs = NULL;
	r->sites = NULL;
	r->paths = NULL;
	r->caps = NULL;
	r->nsigs = r->nsites = r->npaths = r->ncaps = 0;
}
