// SPDX-License-Identifier: MIT
#include "tracefile/tfwriter.h"
#include "tracefile/tracefile.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct item {
	struct item *next;
	uint16_t type;
	uint32_t seq;
	uint64_t nrec;			/* records in it (events chunks) */
	size_t len;
	uint8_t data[];
};

struct tf_writer {
	int fd;
	struct tf_writer_opts o;
	pthread_t thread;
	bool thread_on;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head, *tail;	/* under lock */
	size_t queued;			/* raw bytes queued or being written, under lock */
	bool closing;			/* under lock */
	struct tf_wstats st;		/* under lock */
	uint32_t seq;			/* next sequence number (event loop only) */
	struct tf_buf cur;		/* records not sealed yet (event loop only) */
	uint64_t cur_nrec;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct tf_writer *w = arg;
	struct tf_zip *z = tf_zip__new(w->o.level);

	for (;;) {
		struct item *it;
		const uint8_t *chunk = NULL;
		size_t clen = 0;
		int ret;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->closing)
			pthread_cond_wait(&w->cond, &w->lock);
		it = w->head;
		if (!it) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		w->head = it->next;
		if (!w->head)
			w->tail = NULL;
		ret = w->st.err;
		pthread_mutex_unlock(&w->lock);

		if (w->o.delay_ms) {
			struct timespec ts = { w->o.delay_ms / 1000, (long)(w->o.delay_ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		}
		/* after a write error (disk full), nothing more is written: counted as lost */
		if (!ret)
			ret = z ? tf_zip__encode(z, it->type, it->seq, it->data, it->len, &chunk,
						 &clen) : -ENOMEM;
		if (!ret)
			ret = write_all(w->fd, chunk, clen);
		pthread_mutex_lock(&w->lock);
		if (ret) {
			if (!w->st.err)
				w->st.err = ret;
			w->st.chunks_dropped++;
			w->st.records_dropped += it->nrec;
		} else {
			w->st.bytes_raw += it->len;
			w->st.bytes_written += clen;
		}
		w->queued -= it->len;
		pthread_mutex_unlock(&w->lock);
		free(it);
	}
	tf_zip__free(z);
	return NULL;
}

/* Queue a payload; force: even past the bound (the header and the trailer). */
static void enqueue(struct tf_writer *w, uint16_t type, const void *data, size_t len,
		    uint64_t nrec, bool force)
{
	struct item *it = malloc(sizeof(*it) + len);

	pthread_mutex_lock(&w->lock);
	if (!it || (!force && w->queued + len > w->o.queue_max)) {
		/* the disk is slower than the events: drop, and say so */
		w->st.chunks_dropped++;
		w->st.records_dropped += nrec;
		pthread_mutex_unlock(&w->lock);
		free(it);
		return;
	}
	it->next = NULL;
	it->type = type;
	it->seq = w->seq++;
	it->nrec = nrec;
	it->len = len;
	if (len)
		memcpy(it->data, data, len);
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->queued += len;
	w->st.chunks++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void seal(struct tf_writer *w)
{
	if (!w->cur.len && !w->cur_nrec)
		return;
	if (w->cur.oom) {
		pthread_mutex_lock(&w->lock);
		w->st.chunks_dropped++;
		w->st.records_dropped += w->cur_nrec;
		pthread_mutex_unlock(&w->lock);
	} else {
		enqueue(w, TF_CH_EVENTS, w->cur.p, w->cur.len, w->cur_nrec, false);
	}
	w->cur.len = 0;
	w->cur.oom = false;
	w->cur_nrec = 0;
}

int tf_writer__new(struct tf_writer **out, int fd, const struct tf_writer_opts *o)
{
	uint8_t hdr[TF_FILE_HDR];
	struct tf_writer *w;
	int ret;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = fd;
	if (o)
		w->o = *o;
	if (!w->o.chunk_raw)
		w->o.chunk_raw = 64 << 10;
	if (!w->o.queue_max)
		w->o.queue_max = 32 << 20;
	if (!w->o.level)
		w->o.level = 6;
	tf_file__header(hdr);
	ret = write_all(fd, hdr, sizeof(hdr));
	if (ret)
		goto fail;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	ret = -pthread_create(&w->thread, NULL, writer_main, w);
	if (ret) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		goto fail;
	}
	w->thread_on = true;
	*out = w;
	return 0;
fail:
	free(w);
	return ret;
}

int tf_writer__header(struct tf_writer *w, const void *json, size_t len)
{
	if (len > TF_MAX_RAW)
		return -E2BIG;
	enqueue(w, TF_CH_HEADER, json, len, 0, true);
	return 0;
}

void tf_writer__record(struct tf_writer *w, uint16_t type, const void *data, size_t len)
{
	tf_buf__put_record(&w->cur, type, data, len);
	w->cur_nrec++;
	pthread_mutex_lock(&w->lock);
	w->st.records++;
	pthread_mutex_unlock(&w->lock);
	if (w->cur.len >= w->o.chunk_raw || w->cur.oom)
		seal(w);
}

void tf_writer__checkpoint(struct tf_writer *w, const void *payload, size_t len)
{
	seal(w);
	enqueue(w, TF_CH_CHECKPOINT, payload, len, 0, false);
}

void tf_writer__stats(struct tf_writer *w, struct tf_wstats *st)
{
	pthread_mutex_lock(&w->lock);
	*st = w->st;
	pthread_mutex_unlock(&w->lock);
}

int tf_writer__close(struct tf_writer *w, const void *trailer, size_t len, struct tf_wstats *st)
{
	int ret;

	if (!w) {
		if (st)
			memset(st, 0, sizeof(*st));
		return 0;
	}
	seal(w);
	if (trailer)
		enqueue(w, TF_CH_TRAILER, trailer, len, 0, true);
	pthread_mutex_lock(&w->lock);
	w->closing = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->thread_on)
		pthread_join(w->thread, NULL);
	ret = w->st.err;
	if (st)
		*st = w->st;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	tf_buf__free(&w->cur);
	free(w);
	return ret;
}
