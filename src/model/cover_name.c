// SPDX-License-Identifier: MIT
#include "model/cover_name.h"
#include "util/util.h"

#include <errno.h>
#include <string.h>

static const char *const names[][COVER_TEXTS] = {
	[COVER_NONE] = { "none", "not armed", "none" },
	[COVER_UPROBE] = { "uprobe", "uprobe", "uprobe" },
	[COVER_BREAKPOINT] = { "breakpoint", "breakpoint", "breakpoint" },
	[COVER_SAMPLED] = { "samples", "samples", NULL },
};

const char *cover_mech_name(enum cover_mech m, enum cover_text where)
{
	if ((size_t)m >= ARRAY_SIZE(names) || !names[m][where])
		m = COVER_NONE;
	return names[m][where];
}

int cover_mech_parse(const char *name, enum cover_text where, enum cover_mech *out)
{
	size_t m;

	*out = COVER_NONE;
	for (m = 0; name && m < ARRAY_SIZE(names); m++) {
		if (names[m][where] && !strcmp(names[m][where], name)) {
			*out = (enum cover_mech)m;
			return 0;
		}
	}
	return -EINVAL;
}

enum cover_mech cover_mech_from_file(unsigned v)
{
	if (v >= ARRAY_SIZE(names) || !names[v][COVER_TEXT_TRACEFILE])
		return COVER_NONE;
	return (enum cover_mech)v;
}
