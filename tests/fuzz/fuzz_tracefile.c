// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: pyscope report's reader.  A trace file is hostile
 * input (a crash, a full disk or anyone who can write the file): frame it,
 * check it, decompress it, replay it into a model, then build the reports.
 * Nothing may crash, leak or hang; the JSON must parse.
 *
 * An input starting with 'F' is a list of chunk payloads (u8 type, u32 length,
 * bytes) framed here with valid checksums, so that mutations reach the
 * replay of records and checkpoints instead of stopping at a checksum.
 * tests/fuzz/corpus/tracefile holds both kinds (mkcorpus_tracefile.py).
 */
#include "tracefile/replay.h"
#include "sink/report.h"
#include "tracefile/tracefile.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 'F' inputs: frame each payload as a chunk after a valid file header. */
static int frame(const uint8_t *data, size_t size, struct tf_buf *file)
{
	uint8_t hdr[TF_FILE_HDR];
	uint32_t seq = 0;
	size_t i = 1;

	tf_file__header(hdr);
	tf_buf__put(file, hdr, sizeof(hdr));
	while (i + 5 <= size) {
		uint32_t n = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8 |
			     (uint32_t)data[i + 3] << 16 | (uint32_t)data[i + 4] << 24;
		uint16_t type = data[i];
		uint8_t *ch;
		size_t clen;

		i += 5;
		if (n > size - i)
			n = (uint32_t)(size - i);
		if (tf_chunk__encode(type, seq++, data + i, n, 1, &ch, &clen))
			return -1;
		tf_buf__put(file, ch, clen);
		free(ch);
		i += n;
	}
	return file->oom ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tf_buf file = { 0 };

	struct report_opts o = { .final = true, .sigs = true, .sites = true, .all_details = true,
				 .top = 5 };
	struct replay *r = NULL;
	char err[512], sum[512], *text = NULL;
	size_t len = 0;
	cJSON *doc;
	FILE *f;

	if (size && data[0] == 'F') {
		if (frame(data, size, &file))
			goto out;
		data = file.p;
		size = file.len;
	}
	if (replay__load(&r, data, size, err, sizeof(err))) {
		if (!err[0] || strchr(err, '\n'))
			abort();	/* one error line */
		goto out;
	}
	replay__damaged(r, sum, sizeof(sum));
	f = open_memstream(&text, &len);
	if (!f)
		goto out;
	report_text(f, r->m, &r->meta, &o);
	report_migration_text(f, r->m, &r->meta);
	report_folded(f, r->m, false);
	fclose(f);
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	if (!f)
		goto out;
	if (report_json_print(f, r->m, &r->meta, &o))
		abort();
	fclose(f);
	doc = cJSON_Parse(text);
	if (!doc)
		abort();
	cJSON_Delete(doc);
out:
	free(text);
	replay__free(r);
	tf_buf__free(&file);
	return 0;
}
