// SPDX-License-Identifier: MIT
/* pyscope report FILE: print a trace file as pyscope trace would have printed it live. */
#include "cmd/cmds.h"
#include "sink/outfile.h"
#include "sink/output.h"
#include "tracefile/replay.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A regular file only: a FIFO or a device could block or never end. */
static int slurp(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int fd, ret = 0;

	*data = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto cleanup;
	}
	ret = read_fd(fd, TF_MAX_FILE, data, len);
	if (ret)
		snprintf(err, errlen, "%s: %s", path,
			 ret == -EFBIG ? "larger than 1 GiB: not read" : strerror(-ret));
cleanup:
	close(fd);
	return ret;
}

int cmd_report(const struct config *cfg)
{
	struct report_opts fin = trace_report_opts(cfg);
	struct replay *r = NULL;
	struct outfile of = { 0 };
	struct output *out = NULL;
	char err[PATH_MAX + 256], summary[512], *data = NULL;
	size_t len = 0;
	int ret, status = 2;

	ret = slurp(cfg->input, &data, &len, err, sizeof(err));
	if (ret)
		goto fail;
	ret = replay__load(&r, (const uint8_t *)data, len, summary, sizeof(summary));
	if (ret) {
		snprintf(err, sizeof(err), "%s: %s", cfg->input, summary);
		goto fail;
	}
	debug(cfg->verbose, "%s: format %u.%u, recorded by pyscope %s on %s (Linux %s)",
	      cfg->input, r->major, r->minor, r->version, r->host, r->kernel);
	if (replay__damaged(r, summary, sizeof(summary)))
		warn("%s: %s", cfg->input, summary);
	else
		debug(cfg->verbose, "%s: %s", cfg->input, summary);
	ret = outfile_open(&of, cfg->output, cfg->force, err, sizeof(err));
	if (ret)
		goto fail;
	ret = output__new(&out, cfg->format, of.f, trace_json_lines(cfg));
	if (ret) {
		outfile_close(&of, true);
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	output__report(out, r->m, &r->meta, &fin);
	output__free(out);
	ret = outfile_close(&of, false);
	if (ret) {
		snprintf(err, sizeof(err), "%s: %s", cfg->output ? cfg->output : "stdout",
			 strerror(-ret));
		goto fail;
	}
	status = 0;
	goto cleanup;
fail:
	diag_error(cfg_diag(cfg), err);
cleanup:
	replay__free(r);
	free(data);
	return status;
}
