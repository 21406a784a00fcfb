/* SPDX-License-Identifier: MIT */
/*
 * Trace files (pyscope record / report): the framing codec, pure.  A file
 * is a 16-byte file header, then chunks, each framed, zlib-compressed and
 * checksummed, so that a file cut short or damaged still yields every
 * complete chunk.  docs/trace-format.md is the byte layout.
 */
#ifndef PYSCOPE_TRACEFILE_H
#define PYSCOPE_TRACEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TF_FILE_MAGIC	"PSTRACE\n"
#define TF_FILE_HDR	16		/* magic[8], major u16, minor u16, crc32 u32 */
#define TF_MAJOR	1		/* a reader refuses a newer major */
#define TF_MINOR	0		/* additions a version-1 reader may ignore */
#define TF_CHUNK_MAGIC	0x4b435350u	/* "PSCK" in the file (little endian) */
#define TF_CHUNK_HDR	32
/* raw bytes of one chunk, at most: a checkpoint of PS_MAX_AGGS full histograms fits */
#define TF_MAX_RAW	(32u << 20)
#define TF_MAX_FILE	(1ull << 30)	/* files pyscope report reads, at most */
#define TF_FLAG_ZLIB	0x1		/* payload is zlib-compressed */

enum tf_chunk_type {
	TF_CH_HEADER = 1,	/* JSON: host, kernel, Python, patterns, mechanisms, start */
	TF_CH_EVENTS = 2,	/* records, in the order they came */
	TF_CH_CHECKPOINT = 3,	/* statistics of every aggregate, counters, coverage */
	TF_CH_TRAILER = 4,	/* totals; the last chunk of a complete file */
};

enum tf_rec_type {
	TF_REC_KERNEL = 1,	/* a ring-buffer record as the kernel sent it */
	TF_REC_CODE_NAME = 2,	/* what the model made of the code just announced */
	TF_REC_RESOLVED = 3,	/* a code address resolved by walking the target */
};

/* Little-endian building of payloads; bounded, sticky out-of-memory flag. */
struct tf_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

void tf_buf__put(struct tf_buf *b, const void *data, size_t n);
void tf_buf__put_u8(struct tf_buf *b, uint8_t v);
void tf_buf__put_u16(struct tf_buf *b, uint16_t v);
void tf_buf__put_u32(struct tf_buf *b, uint32_t v);
void tf_buf__put_u64(struct tf_buf *b, uint64_t v);
/* An events-chunk record: u16 type, u16 0, u32 len, bytes (trailing zero bytes dropped). */
void tf_buf__put_record(struct tf_buf *b, uint16_t type, const void *data, size_t n);
void tf_buf__free(struct tf_buf *b);

/* Reading payloads: every read is bounded; a short read sets bad and yields zeros. */
struct tf_cur {
	const uint8_t *p;
	size_t left;
	bool bad;
};

uint8_t tf_cur__get_u8(struct tf_cur *c);
uint16_t tf_cur__get_u16(struct tf_cur *c);
uint32_t tf_cur__get_u32(struct tf_cur *c);
uint64_t tf_cur__get_u64(struct tf_cur *c);
/* n bytes in place, or NULL (and bad) if fewer are left. */
const uint8_t *tf_cur__get_bytes(struct tf_cur *c, size_t n);

void tf_file__header(uint8_t out[TF_FILE_HDR]);
/* Frame one chunk (header + payload) in a new buffer. */
int tf_chunk__encode(uint16_t type, uint32_t seq, const void *raw, size_t raw_len, int level,
		     uint8_t **out, size_t *out_len);

/*
 * The same with one deflate stream kept between chunks: the writer thread's
 * way (setting up a stream costs ~270 KB of allocations per chunk otherwise).
 * *out stays valid until the next call or tf_zip__free().
 */
struct tf_zip;
struct tf_zip *tf_zip__new(int level);
int tf_zip__encode(struct tf_zip *z, uint16_t type, uint32_t seq, const void *raw, size_t raw_len,
		   const uint8_t **out, size_t *out_len);
void tf_zip__free(struct tf_zip *z);

struct tf_chunk {
	uint16_t type;
	uint32_t seq;
	uint64_t offset;		/* of its header in the file */
	const uint8_t *raw;		/* valid until the next call */
	size_t raw_len;
};

/* What the reader found wrong, so far. */
struct tf_damage {
	bool header_bad;		/* file header damaged (magic or checksum) */
	unsigned major, minor;		/* from the file header, if intact */
	uint64_t chunks_ok;
	uint64_t chunks_bad;		/* framed, but the payload fails its check */
	uint64_t bytes_skipped;		/* in no good chunk (garbage, damaged chunks) */
	uint64_t first_bad_off;		/* first damaged byte, UINT64_MAX if none */
	bool truncated;			/* the last chunk is cut off by the end of file */
	uint64_t truncated_at;		/* offset of that chunk */
	uint64_t last_good_end;		/* end of the last good chunk */
	uint32_t last_seq;		/* of the last good chunk */
	uint64_t seq_missing;		/* sequence numbers skipped between good chunks */
	bool too_big;			/* stopped: decompresses to more than the budget */
	uint64_t raw_total;		/* bytes decompressed */
};

/*
 * A file decompresses to at most 64 times its size in all (recorded files
 * compress about 6x), at least 256 MiB, at most 16 GiB: a zip bomb stops
 * there instead of taking hours.
 */
#define TF_RAW_MIN	(256ull << 20)
#define TF_RAW_MAX	(16ull << 30)

struct tf_reader;

/*
 * Open an in-memory file.  -EINVAL with err for an empty file or one that is
 * not a trace file, -EPROTONOSUPPORT for a newer major version.
 */
int tf_reader__new(struct tf_reader **out, const uint8_t *data, size_t len, char *err,
		   size_t errlen);
/* The next good chunk: 1, or 0 at the end of the file.  Skips what is damaged. */
int tf_reader__next(struct tf_reader *r, struct tf_chunk *ch);
const struct tf_damage *tf_reader__damage(const struct tf_reader *r);
void tf_reader__free(struct tf_reader *r);

#endif
