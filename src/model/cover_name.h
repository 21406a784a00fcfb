/* SPDX-License-Identifier: MIT */
/*
 * The words for enum cover_mech (model/model.h), from one table.  Three
 * places print them and each keeps the words its readers already parse,
 * so the table has a column per place; they differ only where noted.
 */
#ifndef PYSCOPE_COVER_NAME_H
#define PYSCOPE_COVER_NAME_H

#include "model/model.h"

enum cover_text {
	/* the report: JSON coverage.mechanism (docs/report-schema.json), text "coverage:" */
	COVER_TEXT_REPORT = 0,
	/* pyscope check's PATTERN lines and JSON (docs/pyscope.8): COVER_NONE is "not armed" */
	COVER_TEXT_CHECK,
	/*
	 * trace-file headers (docs/trace-format.md): none, uprobe, breakpoint.
	 * COVER_SAMPLED has no word there (profile cannot record): "none".
	 */
	COVER_TEXT_TRACEFILE,
	COVER_TEXTS,
};

const char *cover_mech_name(enum cover_mech m, enum cover_text where);
/* The mechanism name stands for in that place: 0, or -EINVAL and COVER_NONE. */
int cover_mech_parse(const char *name, enum cover_text where, enum cover_mech *out);
/* A trace-file checkpoint's mechanism number: one the format defines, else COVER_NONE. */
enum cover_mech cover_mech_from_file(unsigned v);

#endif
