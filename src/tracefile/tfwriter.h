/* SPDX-License-Identifier: MIT */
/*
 * The trace-file writer: the event loop hands it records and checkpoints
 * and never waits for the disk.  Records collect into an events chunk; a
 * full chunk (or a checkpoint) goes to a bounded queue that a thread
 * compresses and writes.  When the queue is full the chunk is dropped and
 * its records are counted as lost, so memory stays bounded whatever the
 * disk does.
 */
#ifndef PYSCOPE_TFWRITER_H
#define PYSCOPE_TFWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tf_writer_opts {
	size_t chunk_raw;		/* seal an events chunk at this many bytes (0: 64 KiB) */
	size_t queue_max;		/* raw bytes queued or being written (0: 32 MiB) */
	unsigned delay_ms;		/* tests: sleep before each write (a slow disk) */
	int level;			/* zlib level (0: 6) */
};

struct tf_wstats {
	uint64_t records;		/* accepted */
	uint64_t records_dropped;	/* in chunks dropped: queue full or write failed */
	uint64_t chunks;		/* queued (the sequence numbers used) */
	uint64_t chunks_dropped;
	uint64_t bytes_raw;		/* payload bytes before compression, written */
	uint64_t bytes_written;		/* file bytes, headers included */
	int err;			/* first write error (negative errno), 0 if none */
};

struct tf_writer;

/* Write the file header on fd (left open) and start the writer thread. */
int tf_writer__new(struct tf_writer **out, int fd, const struct tf_writer_opts *o);
/* The header chunk (sequence 0); call first. */
int tf_writer__header(struct tf_writer *w, const void *json, size_t len);
void tf_writer__record(struct tf_writer *w, uint16_t type, const void *data, size_t len);
/* Seal the pending records, then queue a checkpoint payload. */
void tf_writer__checkpoint(struct tf_writer *w, const void *payload, size_t len);
void tf_writer__stats(struct tf_writer *w, struct tf_wstats *st);
/*
 * Seal, queue the trailer (if not NULL), wait for the thread to write
 * everything, free.  Returns the first write error or 0; st gets the totals.
 */
int tf_writer__close(struct tf_writer *w, const void *trailer, size_t len, struct tf_wstats *st);

#endif
