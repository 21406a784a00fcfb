// SPDX-License-Identifier: MIT
#include "target/x86dis.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int x86dis_open(csh *cs, bool att)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, cs) != CS_ERR_OK)
		return -ENOTSUP;
	cs_option(*cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (att)
		cs_option(*cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
	return 0;
}

bool x86dis_is_flow(csh cs, const cs_insn *in)
{
	switch (in->id) {
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
	case X86_INS_UD2:
	case X86_INS_HLT:
	case X86_INS_INT3:
	case X86_INS_XBEGIN:
	case X86_INS_XABORT:
	case X86_INS_XEND:
		return true;
	default:
		break;
	}
	return cs_insn_group(cs, in, CS_GRP_JUMP) || cs_insn_group(cs, in, CS_GRP_CALL) ||
	       cs_insn_group(cs, in, CS_GRP_RET) || cs_insn_group(cs, in, CS_GRP_INT) ||
	       cs_insn_group(cs, in, CS_GRP_IRET);
}

void x86dis_describe(const cs_insn *in, char *buf, size_t n)
{
	/* truncation is fine: it is for people */
	if (in->op_str[0])
		snprintf(buf, n, "%.16s %.46s", in->mnemonic, in->op_str);
	else
		snprintf(buf, n, "%.16s", in->mnemonic);
}

int x86dis_prefix__open(struct x86dis_prefix *px, const struct elf_file *ef, uint64_t start)
{
	int ret;

	memset(px, 0, sizeof(*px));
	px->start = px->a = start;
	if (elf_file__text_bytes(ef, start, &px->p, &px->avail))
		return -EFAULT;
	ret = x86dis_open(&px->cs, true);
	if (ret)
		return ret;
	px->in = cs_malloc(px->cs);
	if (!px->in) {
		cs_close(&px->cs);
		return -ENOMEM;
	}
	if (px->avail > X86DIS_PREFIX_MAX_BYTES)
		px->avail = X86DIS_PREFIX_MAX_BYTES;
	return 0;
}

const cs_insn *x86dis_prefix__next(struct x86dis_prefix *px)
{
	if (x86dis_prefix__at_limit(px) ||
	    !cs_disasm_iter(px->cs, &px->p, &px->avail, &px->a, px->in))
		return NULL;
	px->n++;
	return px->in;
}

bool x86dis_prefix__at_limit(const struct x86dis_prefix *px)
{
	return px->n >= X86DIS_PREFIX_MAX_INSNS;
}

void x86dis_prefix__close(struct x86dis_prefix *px)
{
	if (px->in)
		cs_free(px->in, 1);
	px->in = NULL;
	cs_close(&px->cs);
}
