/* SPDX-License-Identifier: MIT */
/*
 * SIGINT and SIGTERM end a run: they set a flag the loops read, so that
 * the report is still printed and every probe removed.
 */
#ifndef PYSCOPE_SIGNALS_H
#define PYSCOPE_SIGNALS_H

#include <stdbool.h>

/* Catch SIGINT and SIGTERM from now on. */
void signals__catch(void);
/* Has one of them arrived? */
bool signals__stop_requested(void);

#endif
