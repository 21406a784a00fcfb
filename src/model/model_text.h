/* SPDX-License-Identifier: MIT */
/*
 * What the model knows, as text: a frame's function and file:line (from
 * the code's line table), an aggregate's call site and signature.
 */
#ifndef PYSCOPE_MODEL_TEXT_H
#define PYSCOPE_MODEL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include "model/model.h"

/* "qualname (file:line)" of frame i of a path. */
void model__frame_text(const struct model *m, const struct ps_frame *f, char *buf, size_t n);
/* qualname and file:line of a code at a byte offset, separately. */
void model__frame_parts(const struct model *m, const struct ps_frame *f, char *func, size_t flen,
			char *where, size_t wlen);
/* file:line and function of an aggregate's call site. */
void model__agg_site(const struct model *m, const struct agg_info *a, char *where, size_t wlen,
		     char *func, size_t flen);
/* "(T1, T2, **{k})" for an aggregate, leaving out self when skip_self. */
void model__agg_sig(const struct agg_info *a, bool skip_self, char *buf, size_t n);

#endif
