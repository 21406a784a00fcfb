// SPDX-License-Identifier: MIT
#include "tracefile/tracefile.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint32_t crc(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

void tf_buf__put(struct tf_buf *b, const void *data, size_t n)
{
	if (b->oom || !n)
		return;
	if (n > TF_MAX_RAW || b->len + n > TF_MAX_RAW) {
		b->oom = true;
		return;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

void tf_buf__put_u8(struct tf_buf *b, uint8_t v)
{
	tf_buf__put(b, &v, 1);
}

void tf_buf__put_u16(struct tf_buf *b, uint16_t v)
{
	uint8_t p[2];

	le16(p, v);
	tf_buf__put(b, p, sizeof(p));
}

void tf_buf__put_u32(struct tf_buf *b, uint32_t v)
{
	uint8_t p[4];

	le32(p, v);
	tf_buf__put(b, p, sizeof(p));
}

void tf_buf__put_u64(struct tf_buf *b, uint64_t v)
{
	tf_buf__put_u32(b, (uint32_t)v);
	tf_buf__put_u32(b, (uint32_t)(v >> 32));
}

void tf_buf__put_record(struct tf_buf *b, uint16_t type, const void *data, size_t n)
{
	const uint8_t *p = data;

	/* kernel records are fixed-size structs, mostly zero at the end (line tables) */
	while (n && !p[n - 1])
		n--;
	tf_buf__put_u16(b, type);
	tf_buf__put_u16(b, 0);
	tf_buf__put_u32(b, (uint32_t)n);
	tf_buf__put(b, data, n);
}

void tf_buf__free(struct tf_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

const uint8_t *tf_cur__get_bytes(struct tf_cur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || n > c->left) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return p;
}

uint8_t tf_cur__get_u8(struct tf_cur *c)
{
	const uint8_t *p = tf_cur__get_bytes(c, 1);

	return p ? p[0] : 0;
}

uint16_t tf_cur__get_u16(struct tf_cur *c)
{
	const uint8_t *p = tf_cur__get_bytes(c, 2);

	return p ? rd16(p) : 0;
}

uint32_t tf_cur__get_u32(struct tf_cur *c)
{
	const uint8_t *p = tf_cur__get_bytes(c, 4);

	return p ? rd32(p) : 0;
}

uint64_t tf_cur__get_u64(struct tf_cur *c)
{
	uint64_t lo = tf_cur__get_u32(c);

	return lo | (uint64_t)tf_cur__get_u32(c) << 32;
}

void tf_file__header(uint8_t out[TF_FILE_HDR])
{
	memcpy(out, TF_FILE_MAGIC, 8);
	le16(out + 8, TF_MAJOR);
	le16(out + 10, TF_MINOR);
	le32(out + 12, crc(out, 12));
}

/* The chunk header in front of a payload of clen bytes at buf + TF_CHUNK_HDR. */
static void frame(uint8_t *buf, uint16_t type, uint16_t flags, uint32_t seq, size_t clen,
		  size_t raw_len)
{
	le32(buf, TF_CHUNK_MAGIC);
	le16(buf + 4, type);
	le16(buf + 6, flags);
	le32(buf + 8, seq);
	le32(buf + 12, (uint32_t)clen);
	le32(buf + 16, (uint32_t)raw_len);
	le32(buf + 20, crc(buf + TF_CHUNK_HDR, clen));
	le32(buf + 24, 0);
	le32(buf + 28, crc(buf, 28));
}

struct tf_zip {
	z_stream zs;
	uint8_t *buf;
	size_t cap;
};

struct tf_zip *tf_zip__new(int level)
{
	struct tf_zip *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	if (deflateInit(&z->zs, level) != Z_OK) {
		free(z);
		return NULL;
	}
	return z;
}

void tf_zip__free(struct tf_zip *z)
{
	if (!z)
		return;
	deflateEnd(&z->zs);
	free(z->buf);
	free(z);
}

int tf_zip__encode(struct tf_zip *z, uint16_t type, uint32_t seq, const void *raw, size_t raw_len,
		   const uint8_t **out, size_t *out_len)
{
	size_t need, clen;
	uint16_t flags = TF_FLAG_ZLIB;
	int zr;

	if (raw_len > TF_MAX_RAW)
		return -E2BIG;
	need = TF_CHUNK_HDR + deflateBound(&z->zs, (uLong)raw_len);
	if (need > z->cap) {
		uint8_t *b = realloc(z->buf, need);

		if (!b)
			return -ENOMEM;
		z->buf = b;
		z->cap = need;
	}
	deflateReset(&z->zs);
	z->zs.next_in = (Bytef *)raw;
	z->zs.avail_in = (uInt)raw_len;
	z->zs.next_out = z->buf + TF_CHUNK_HDR;
	z->zs.avail_out = (uInt)(z->cap - TF_CHUNK_HDR);
	zr = deflate(&z->zs, Z_FINISH);
	clen = z->cap - TF_CHUNK_HDR - z->zs.avail_out;
	if (zr != Z_STREAM_END || clen >= raw_len) {
		/* incompressible (or tiny): stored as is */
		flags = 0;
		clen = raw_len;
		if (raw_len)
			memcpy(z->buf + TF_CHUNK_HDR, raw, raw_len);
	}
	frame(z->buf, type, flags, seq, clen, raw_len);
	*out = z->buf;
	*out_len = TF_CHUNK_HDR + clen;
	return 0;
}

int tf_chunk__encode(uint16_t type, uint32_t seq, const void *raw, size_t raw_len, int level,
		     uint8_t **out, size_t *out_len)
{
	struct tf_zip *z = tf_zip__new(level);
	const uint8_t *p;
	size_t n;
	int ret;

	*out = NULL;
	if (!z)
		return -ENOMEM;
	ret = tf_zip__encode(z, type, seq, raw, raw_len, &p, &n);
	if (!ret) {
		*out = malloc(n);
		if (*out) {
			memcpy(*out, p, n);
			*out_len = n;
		} else {
			ret = -ENOMEM;
		}
	}
	tf_zip__free(z);
	return ret;
}

struct tf_reader {
	const uint8_t *data;
	size_t len, pos;
	uint64_t budget;		/* raw bytes left to decompress */
	uint8_t *raw;
	size_t raw_cap;
	bool any_seq;
	struct tf_damage dmg;
};

/* Bytes of the magic that differ from ours. */
static int magic_diff(const uint8_t *p)
{
	int i, d = 0;

	for (i = 0; i < 8; i++)
		d += p[i] != (uint8_t)TF_FILE_MAGIC[i];
	return d;
}

int tf_reader__new(struct tf_reader **out, const uint8_t *data, size_t len, char *err,
		   size_t errlen)
{
	struct tf_reader *r;

	*out = NULL;
	if (!len) {
		snprintf(err, errlen, "empty file: not a pyscope trace");
		return -EINVAL;
	}
	/* a flipped byte or two is damage; anything else is another kind of file */
	if (len < TF_FILE_HDR || magic_diff(data) > 2) {
		snprintf(err, errlen, "not a pyscope trace file (no PSTRACE header)");
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->data = data;
	r->len = len;
	r->budget = MIN(MAX((uint64_t)len * 64, TF_RAW_MIN), TF_RAW_MAX);
	r->pos = TF_FILE_HDR;
	r->dmg.first_bad_off = UINT64_MAX;
	r->dmg.last_good_end = TF_FILE_HDR;
	if (magic_diff(data) || rd32(data + 12) != crc(data, 12)) {
		r->dmg.header_bad = true;
		r->dmg.first_bad_off = 0;
	} else {
		r->dmg.major = rd16(data + 8);
		r->dmg.minor = rd16(data + 10);
		if (r->dmg.major > TF_MAJOR) {
			snprintf(err, errlen, "trace format version %u.%u is newer than this pyscope "
				 "reads (%u.x): use a newer pyscope", r->dmg.major, r->dmg.minor,
				 TF_MAJOR);
			free(r);
			return -EPROTONOSUPPORT;
		}
	}
	*out = r;
	return 0;
}

static void damaged(struct tf_reader *r, uint64_t off, uint64_t n)
{
	if (r->dmg.first_bad_off == UINT64_MAX)
		r->dmg.first_bad_off = off;
	r->dmg.bytes_skipped += n;
}

/* Check and decompress the chunk whose header is at pos: 1 good, 0 bad payload. */
static int take(struct tf_reader *r, const uint8_t *h, struct tf_chunk *ch)
{
	uint32_t clen = rd32(h + 12), rlen = rd32(h + 16);
	const uint8_t *payload = h + TF_CHUNK_HDR;
	uLongf got = rlen;

	if (rd32(h + 20) != crc(payload, clen))
		return 0;
	if (rlen > r->raw_cap) {
		uint8_t *p = realloc(r->raw, rlen);

		if (!p)
			return 0;
		r->raw = p;
		r->raw_cap = rlen;
	}
	if (rd16(h + 6) & TF_FLAG_ZLIB) {
		if (!rlen || uncompress(r->raw, &got, payload, clen) != Z_OK || got != rlen)
			return 0;
	} else {
		if (clen != rlen)
			return 0;
		if (rlen)
			memcpy(r->raw, payload, rlen);
	}
	ch->type = rd16(h + 4);
	ch->seq = rd32(h + 8);
	ch->offset = (uint64_t)(h - r->data);
	ch->raw = r->raw;
	ch->raw_len = rlen;
	return 1;
}

/* A chunk header at h: our magic, its own checksum, sizes in bounds. */
static bool chunk_header(const uint8_t *h)
{
	return rd32(h) == TF_CHUNK_MAGIC && rd32(h + 28) == crc(h, 28) &&
	       rd32(h + 16) <= TF_MAX_RAW && rd32(h + 12) <= TF_MAX_RAW + TF_MAX_RAW / 100 + 64;
}

/* The rest of the file is damaged from the chunk at pos: the end. */
static int stop(struct tf_reader *r)
{
	damaged(r, r->pos, r->len - r->pos);
	r->pos = r->len;
	return 0;
}

/* Past a good chunk: its bytes, the budget, its sequence number. */
static void took(struct tf_reader *r, const struct tf_chunk *ch, uint32_t clen)
{
	r->pos += TF_CHUNK_HDR + clen;
	r->budget -= ch->raw_len;
	r->dmg.raw_total += ch->raw_len;
	if (r->any_seq && ch->seq > r->dmg.last_seq + 1)
		r->dmg.seq_missing += ch->seq - r->dmg.last_seq - 1;
	r->any_seq = true;
	r->dmg.last_seq = ch->seq;
	r->dmg.chunks_ok++;
	r->dmg.last_good_end = r->pos;
}

int tf_reader__next(struct tf_reader *r, struct tf_chunk *ch)
{
	size_t skip_from = r->pos;

	while (r->pos + TF_CHUNK_HDR <= r->len) {
		const uint8_t *h = r->data + r->pos;
		uint32_t clen;

		/* else resync byte by byte */
		if (!chunk_header(h)) {
			r->pos++;
			continue;
		}
		clen = rd32(h + 12);
		if (r->pos > skip_from)
			damaged(r, skip_from, r->pos - skip_from);
		if (rd32(h + 16) > r->budget) {
			r->dmg.too_big = true;
			return stop(r);
		}
		if (clen > r->len - r->pos - TF_CHUNK_HDR) {
			/* its header is intact: the file ends inside this chunk */
			r->dmg.truncated = true;
			r->dmg.truncated_at = r->pos;
			return stop(r);
		}
		if (!take(r, h, ch)) {
			r->dmg.chunks_bad++;
			damaged(r, r->pos, TF_CHUNK_HDR + (uint64_t)clen);
			r->pos += TF_CHUNK_HDR + clen;
			skip_from = r->pos;
			continue;
		}
		took(r, ch, clen);
		return 1;
	}
	if (r->len > skip_from) {
		damaged(r, skip_from, r->len - skip_from);
		/* too short for a chunk header: the file was cut inside one */
		if (r->len - skip_from < TF_CHUNK_HDR) {
			r->dmg.truncated = true;
			r->dmg.truncated_at = skip_from;
		}
	}
	r->pos = r->len;
	return 0;
}

const struct tf_damage *tf_reader__damage(const struct tf_reader *r)
{
	return &r->dmg;
}

void tf_reader__free(struct tf_reader *r)
{
	if (!r)
		return;
	free(r->raw);
	free(r);
}
