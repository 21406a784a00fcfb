// SPDX-License-Identifier: MIT
#include "util/diag.h"
#include "util/json.h"
#include "util/util.h"

#include <cJSON.h>
#include <stdio.h>

void diag_error(enum diag_mode mode, const char *msg)
{
	if (mode == DIAG_JSON) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "error", msg);
		json_emit(stdout, o, true);
	}
	warn("%s", msg);
}
