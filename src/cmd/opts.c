// SPDX-License-Identifier: MIT
/* From the command line to a session's options: the part every tracing command shares. */
#include "cmd/cmds.h"
#include "session/session.h"

#include <string.h>

void cmd_session_opts(const struct config *cfg, struct session_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->pid = cfg->pid;
	o->argv = cfg->argv;
	o->exprs = cfg->exprs;
	o->nexprs = (size_t)cfg->nexprs;
	o->pattern_file = cfg->pattern_file;
	o->via = cfg->via;
	o->count_only = cfg->count_only;
	o->no_args = cfg->no_args;
	o->depth = cfg->depth;
	o->capture = cfg->capture;
	o->ncapture = (size_t)cfg->ncapture;
	/* given to the BPF side whatever the command, as it always was; only profile reads it */
	o->prof_all = cfg->prof_all;
	o->output = cfg->output;
	o->record = cfg->record;
	o->force = cfg->force;
	o->duration_ms = cfg->duration_ms;
	o->verbose = cfg->verbose;
	o->diag = cfg_diag(cfg);
}
