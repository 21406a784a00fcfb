// SPDX-License-Identifier: MIT
/* pyscope info: what the target runs and which mechanisms work on it. */
#include "caps.h"
#include "cmds.h"
#include "launch.h"
#include "pyrt.h"
#include "util.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static void print_text(const struct pyrt *rt, FILE *out)
{
	unsigned i;

	fprintf(out, "pid:             %d (%s)\n", rt->pid, rt->exe);
	fprintf(out, "interpreter:     %s%s\n", rt->path, rt->is_lib ? " (shared library)" : "");
	fprintf(out, "load bias:       0x%" PRIx64 "\n", rt->bias);
	fprintf(out, "python:          %s (from %s)\n", rt->version, rt->version_how);
	fprintf(out, "symbols:         %s\n",
		rt->stripped ? ".dynsym only (stripped)" : ".symtab and .dynsym");
	fprintf(out, "offsets:         %s\n", pyoff_source_str(rt->off_src));
	fprintf(out, "_PyRuntime:      0x%" PRIx64 "\n", rt->runtime + rt->bias);
	if (rt->eval)
		fprintf(out, "eval loop:       _PyEval_EvalFrameDefault at 0x%" PRIx64 "\n",
			rt->eval + rt->bias);
	if (rt->opcode_targets) {
		fprintf(out, "opcode table:    0x%" PRIx64 " (%s)\n", rt->opcode_targets + rt->bias,
			rt->opcode_targets_how);
		for (i = 0; i < rt->nhandlers; i++)
			fprintf(out, "  %-20s handler at 0x%" PRIx64 "\n", rt->handler_ops[i],
				rt->handlers[i] + rt->bias);
	}
	if (rt->frame_clear)
		fprintf(out, "frame end:       %s at 0x%" PRIx64 "\n", rt->frame_clear_sym,
			rt->frame_clear + rt->bias);
	if (rt->has_usdt_return)
		fprintf(out, "usdt:            %u probes; function__return at 0x%" PRIx64 "%s\n",
			rt->nusdt, rt->usdt_return.pc + rt->bias,
			rt->usdt_return.sema ? " (semaphore)" : "");
	else
		fprintf(out, "usdt:            %u probes\n", rt->nusdt);
	fprintf(out, "code dealloc:    %s\n", rt->code_dealloc ? "found (PyCode_Type.tp_dealloc)" :
							"not found");
	fprintf(out, "mechanisms:\n");
	for (i = 0; i < MECH_COUNT; i++)
		fprintf(out, "  %-11s %-4s %s\n", mech_name(i), rt->mech[i].ok ? "yes" : "no",
			rt->mech[i].why);
}

static cJSON *hex(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return cJSON_CreateString(buf);
}

static int print_json(const struct pyrt *rt, FILE *out)
{
	cJSON *root = cJSON_CreateObject(), *mechs, *h;
	char *s;
	unsigned i;
	int err = 0;

	if (!root)
		return -ENOMEM;
	cJSON_AddNumberToObject(root, "pid", rt->pid);
	cJSON_AddStringToObject(root, "exe", rt->exe);
	cJSON_AddStringToObject(root, "interpreter", rt->path);
	cJSON_AddBoolToObject(root, "shared_library", rt->is_lib);
	cJSON_AddItemToObject(root, "load_bias", hex(rt->bias));
	cJSON_AddStringToObject(root, "python_version", rt->version);
	cJSON_AddStringToObject(root, "version_source", rt->version_how);
	cJSON_AddBoolToObject(root, "stripped", rt->stripped);
	cJSON_AddStringToObject(root, "offsets_source", pyoff_source_str(rt->off_src));
	cJSON_AddItemToObject(root, "runtime", hex(rt->runtime + rt->bias));
	if (rt->eval)
		cJSON_AddItemToObject(root, "eval_frame", hex(rt->eval + rt->bias));
	if (rt->opcode_targets) {
		cJSON_AddItemToObject(root, "opcode_targets", hex(rt->opcode_targets + rt->bias));
		cJSON_AddStringToObject(root, "opcode_targets_source", rt->opcode_targets_how);
		h = cJSON_AddArrayToObject(root, "resume_handlers");
		for (i = 0; h && i < rt->nhandlers; i++) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "opcode", rt->handler_ops[i]);
			cJSON_AddItemToObject(o, "address", hex(rt->handlers[i] + rt->bias));
			cJSON_AddItemToArray(h, o);
		}
	}
	if (rt->frame_clear)
		cJSON_AddStringToObject(root, "frame_end", rt->frame_clear_sym);
	cJSON_AddNumberToObject(root, "usdt_probes", rt->nusdt);
	cJSON_AddBoolToObject(root, "usdt_function_return", rt->has_usdt_return);
	mechs = cJSON_AddObjectToObject(root, "mechanisms");
	for (i = 0; mechs && i < MECH_COUNT; i++) {
		cJSON *m = cJSON_CreateObject();

		cJSON_AddBoolToObject(m, "available", rt->mech[i].ok);
		cJSON_AddStringToObject(m, "why", rt->mech[i].why);
		cJSON_AddItemToObject(mechs, mech_name(i), m);
	}
	s = cJSON_Print(root);
	if (s) {
		fprintf(out, "%s\n", s);
		free(s);
	} else {
		err = -ENOMEM;
	}
	cJSON_Delete(root);
	return err;
}

int cmd_info(const struct config *cfg)
{
	struct pyrt *rt = NULL;
	char err[512] = "";
	int pid = cfg->pid, ret, status = 0;
	bool launched = false;

	ret = caps_require(false, pid, err, sizeof(err));
	if (ret) {
		report_error(cfg, err);
		return 2;
	}
	if (!pid) {
		ret = launch_start(cfg->argv, &pid, err, sizeof(err));
		if (ret) {
			report_error(cfg, err);
			return 2;
		}
		launched = true;
	}
	ret = pyrt__from_pid(pid, &rt, err, sizeof(err));
	if (ret) {
		report_error(cfg, err);
		status = 2;
		goto cleanup;
	}
	if (cfg->format != FMT_TEXT)
		print_json(rt, stdout);
	else
		print_text(rt, stdout);
cleanup:
	if (launched)
		launch_abort(pid);
	pyrt__free(rt);
	return status;
}
