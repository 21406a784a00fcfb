// SPDX-License-Identifier: MIT
#include "util/json.h"

#include <errno.h>
#include <stdlib.h>

int json_emit(FILE *out, cJSON *root, bool compact)
{
	char *txt = NULL;

	if (root)
		txt = compact ? cJSON_PrintUnformatted(root) : cJSON_Print(root);
	cJSON_Delete(root);
	if (!txt)
		return -ENOMEM;
	fprintf(out, "%s\n", txt);
	free(txt);
	return 0;
}
