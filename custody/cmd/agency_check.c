/*
 * agency_check.c - `custody agency-check --agency AGENCY.vkey NOTE`:
 * verify one of the agency's signed statements (agencynote.h) against
 * the agency vkey alone and print its fields, one "key value" per line.
 * Exit 0 valid, 1 not valid (signature, grammar, agency), 2 usage/file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agencynote.h"
#include "cmd.h"
#include "cosig.h"

static void print_time(const char *k, int64_t t)
{
	char s[AGN_TIME_LEN + 1];

	if (agn_time_format(t, s) == 0)
		printf("%s %s\n", k, s);
}

static int show(enum agn_kind kind, const char *note, size_t len, const struct ckpt_vkey *a)
{
	char vk[CKPT_MAX_VKEY];
	int r;

	if (kind == AGN_CERT) {
		struct agn_cert c;
		if ((r = agn_open_cert(note, len, a, &c)))
			return r;
		ckpt_vkey_format(&c.ckpt_key, vk, sizeof(vk));
		printf("type " AGN_CERT_TYPE "\nagency %s\ndock %s\norigin %s\n"
		       "checkpoint-key %s\ndock-key ", c.agency, c.dock, c.origin, vk);
		for (size_t i = 0; i < EDKEY_PUB_LEN; i++)
			printf("%02x", c.dock_key[i]);
		putchar('\n');
		print_time("not-before", c.not_before);
		print_time("not-after", c.not_after);
	} else if (kind == AGN_RECIPIENTS) {
		struct agn_recipients p;
		if ((r = agn_open_recipients(note, len, a, &p)))
			return r;
		printf("type " AGN_RECIPIENTS_TYPE "\nagency %s\nversion %llu\n", p.agency,
		       (unsigned long long)p.version);
		print_time("issued", p.issued);
		for (size_t i = 0; i < p.n; i++)
			printf("recipient %s %s\n", p.r[i].type, p.r[i].key_id);
	} else {
		struct agn_witnesses w;
		if ((r = agn_open_witnesses(note, len, a, &w)))
			return r;
		printf("type " AGN_WITNESSES_TYPE "\nagency %s\nversion %llu\nquorum %u\n",
		       w.agency, (unsigned long long)w.version, w.quorum);
		print_time("issued", w.issued);
		for (size_t i = 0; i < w.n; i++) {
			cosig_vkey_format(&w.w[i], vk, sizeof(vk));
			printf("witness %s\n", vk);
		}
	}
	return 0;
}

int cmd_agency_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct ckpt_vkey a;
	enum agn_kind kind;
	const char *vkf = NULL, *file = NULL;
	char note[AGN_MAX_NOTE + 1];
	size_t len;
	int r;

	(void)ctx;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--agency") && i + 1 < argc && !vkf)
			vkf = argv[++i];
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			file = vkf = NULL, i = argc;
	}
	if (!vkf || !file) {
		cmd_err("usage: custody agency-check --agency AGENCY.vkey NOTE");
		return CMD_ERROR;
	}
	if ((r = agn_vkey_file(vkf, &a))) {
		cmd_err("%s: not an agency vkey file: %s", vkf, checkpoint_strerror(r));
		return CMD_ERROR;
	}
	if ((r = agn_read_file(file, note, sizeof(note), &len))) {
		cmd_err("%s: %s", file, r == -EFBIG ? "larger than any statement" : strerror(-r));
		return CMD_ERROR;
	}
	if ((r = agn_kind(note, len, &kind)) == 0)
		r = show(kind, note, len, &a);
	if (r) {
		printf("FAILED: %s: %s\n", file, r == -EMEDIUMTYPE ? "not an agency statement" :
		       r == -EXDEV ? "names another agency than the key" :
		       checkpoint_strerror(r));
		return CMD_FINDINGS;
	}
	printf("OK: %s is signed by %s\n", file, a.name);
	return CMD_OK;
}
