/* SPDX-License-Identifier: MIT */
/* The subcommands; each returns the process exit status. */
#ifndef PYSCOPE_CMDS_H
#define PYSCOPE_CMDS_H

#include "cli/cli.h"
#include "sink/report.h"

int cmd_info(const struct config *cfg);
int cmd_trace(const struct config *cfg);
/* trace on several processes (-p repeated, --follow-forks): cmd/multi.c */
int cmd_trace_multi(const struct config *cfg);
int cmd_check(const struct config *cfg);
int cmd_profile(const struct config *cfg);
int cmd_serve(const struct config *cfg);
/* record: trace into a trace file; report: print a trace file as trace would have. */
int cmd_report(const struct config *cfg);

/* A session's options from the command line: what every tracing command shares. */
struct session_opts;
void cmd_session_opts(const struct config *cfg, struct session_opts *o);

/* The final report of pyscope trace (also pyscope report's): what it shows. */
struct report_opts trace_report_opts(const struct config *cfg);
/* Is every JSON report of pyscope trace (or report) one line? */
bool trace_json_lines(const struct config *cfg);

#endif
