/* SPDX-License-Identifier: MIT */
/*
 * The session's trace-file sink (pyscope record, trace --record): every
 * ring-buffer record the model takes, what the model made of each code,
 * a checkpoint of the statistics every second and at the end, a trailer.
 * Never waits for the disk (tfwriter.h).
 */
#ifndef PYSCOPE_RECORDER_H
#define PYSCOPE_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/meta.h"
#include "model/model.h"
#include "tracefile/replay.h"
#include "tracefile/tfbuild.h"

#define RECORD_CHECKPOINT_NS (1000ull * 1000000)

struct recorder;

/* Create the file (0600, O_EXCL unless force, never through a link); nothing written yet. */
int recorder__open(struct recorder **out, const char *path, bool force, char *err, size_t errlen);
/*
 * The header, when the run starts (run_meta complete).  src says how the
 * run was asked for (patterns, depth, arguments, captures); the host, the
 * kernel, the version and the pattern file's text are added here.
 */
int recorder__start(struct recorder *r, const struct tf_source *src, const struct model *m,
		    const struct run_meta *meta, char *err, size_t errlen);
/* A record the model has just taken. */
void recorder__event(struct recorder *r, const struct model *m, const void *data, size_t len);
/* The model learnt a code's names by walking the target (breakpoints). */
void recorder__resolved(struct recorder *r, uint64_t addr, const char *module, const char *qual);
/* Is a checkpoint due? */
bool recorder__due(const struct recorder *r, uint64_t now_ns);
void recorder__checkpoint(struct recorder *r, const struct model *m, const struct run_meta *meta,
			  uint64_t now_ns);
/* Final checkpoint and trailer; one summary line on stderr.  Returns a write error or 0. */
int recorder__finish(struct recorder *r, const struct model *m, const struct run_meta *meta);
/* failed: remove the file if nothing was written to it. */
void recorder__close(struct recorder *r, bool failed);

#endif
