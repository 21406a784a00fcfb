// SPDX-License-Identifier: MIT
#include "model/model_text.h"
#include "target/linetable.h"
#include "target/offsets.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

/* Line of a byte offset in a code, or -1. */
static int code_line(const struct model *m, const struct code_info *c, uint32_t off)
{
	return linetable_line(pyoff_linetable_fmt(model__pyminor(m)), c->lt, c->lt_len,
			      c->lt_len >= c->lt_total,
			      c->firstlineno, off);
}

/* qualname and file:line (file:? without a line) of code c at byte offset off. */
static void code_place(const struct model *m, const struct code_info *c, uint32_t off,
		       char *func, size_t flen, char *where, size_t wlen)
{
	int line = code_line(m, c, off);

	str_copy(func, c->qualname, flen);
	if (line > 0)
		snprintf(where, wlen, "%s:%d", c->filename, line);
	else
		snprintf(where, wlen, "%s:?", c->filename);
}

void model__frame_parts(const struct model *m, const struct ps_frame *f, char *func, size_t flen,
			char *where, size_t wlen)
{
	const struct code_info *c = model__code(m, f->code_id);

	if (!c) {
		str_copy(func, "?", flen);
		str_copy(where, "?", wlen);
		return;
	}
	code_place(m, c, f->offset, func, flen, where, wlen);
}

void model__frame_text(const struct model *m, const struct ps_frame *f, char *buf, size_t n)
{
	char func[PS_QUAL_LEN], where[PS_FILE_LEN + 16];

	model__frame_parts(m, f, func, sizeof(func), where, sizeof(where));
	snprintf(buf, n, "%s (%s)", func, where);
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

void model__agg_site(const struct model *m, const struct agg_info *a, char *where, size_t wlen,
		     char *func, size_t flen)
{
	const struct code_info *c = model__code(m, a->key.caller_id);
	/* as large as a site_row's: the same text, however large the caller's buffers */
	char w[PS_FILE_LEN + 16], fn[PS_QUAL_LEN] = "";

	if (a->key.flags & PS_AGG_NO_CALLER)
		str_copy(w, "<called from C>", sizeof(w));
	else if (!c)
		str_copy(w, "<unknown caller>", sizeof(w));
	else
		code_place(m, c, a->key.caller_off, fn, sizeof(fn), w, sizeof(w));
	str_copy(where, w, wlen);
	str_copy(func, fn, flen);
}
