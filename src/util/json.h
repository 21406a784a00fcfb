/* SPDX-License-Identifier: MIT */
/* Printing a cJSON tree: the one place that does it. */
#ifndef PYSCOPE_JSON_H
#define PYSCOPE_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <cJSON.h>

/*
 * Print root and a newline to out, on one line when compact, then free
 * root (NULL is allowed).  -ENOMEM if root is NULL or could not be printed.
 */
int json_emit(FILE *out, cJSON *root, bool compact);

#endif
