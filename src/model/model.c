// SPDX-License-Identifier: MIT
#include "model/model_priv.h"
#include "target/srcscan.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct model *model__new(const struct patterns *ps, const struct model_interp *py)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pats = ps;
	m->py = *py;
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

/* A new code_info from the kernel's record, its text made printable; NULL without memory. */
static struct code_info *code_from_event(const struct ps_ev_code *ev)
{
	struct code_info *ci = calloc(1, sizeof(*ci));

	if (!ci)
		return NULL;
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
	return ci;
}

uint32_t model__add_code(struct model *m, const struct ps_ev_code *ev)
{
	struct code_info *ci = code_from_event(ev);
	size_t k;

	if (!ci)
		return ev->kind;
	if (m->py.qualnames) {
		ci->qual_known = true;
	} else if (ci->kind != PS_CODE_IGNORE || ev->kind == PS_CODE_IGNORE) {
		/* no co_qualname (<= 3.10): the qualified name comes from the source */
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
	return m->py.pyminor;
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
